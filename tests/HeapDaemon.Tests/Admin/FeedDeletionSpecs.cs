using System.Net;
using System.Text.Json;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>DELETE /api/feeds/{id}: refused while a courier uses the feed; the table kept unless asked to drop it.</summary>
public sealed class FeedDeletionSpecs : DaemonSpecs
{
    private const string Users = "user_id,email,joined_at,score\n1,a@example.com,2026-11-01 10:00:00,1.50\n2,b@example.com,2026-11-01 11:00:00,2.00\n";

    [Fact]
    public async Task A_feed_a_courier_uses_is_refused_naming_the_courier_and_once_unused_goes_with_its_ledger_rows_keeping_its_table()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", Users);
        await CreateCourierAsync("users", "users.csv");
        Assert.Equal("succeeded", (await Api.RunAsync("users")).GetProperty("status").GetString());

        var refused = await Api.DeleteAsync("/api/feeds/heap-users");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("courier 'users' (files[0].feedId)", problem.GetProperty("detail").GetString());
        Assert.Equal(["users"], problem.GetProperty("couriers").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await Api.GetAsync("/api/feeds/heap-users")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await Api.DeleteAsync("/api/couriers/users")).StatusCode);
        var deleted = JsonDocument.Parse(await (await Api.DeleteAsync("/api/feeds/heap-users")).Content.ReadAsStringAsync()).RootElement;

        Assert.Equal("heap.users", deleted.GetProperty("domainTable").GetString());
        Assert.False(deleted.GetProperty("tableDropped").GetBoolean());
        Assert.Equal(1, deleted.GetProperty("ledgerRowsDeleted").GetInt64());
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/api/feeds/heap-users")).StatusCode);
        Assert.Equal(2, (await QueryAsync("SELECT * FROM heap.users")).Count);
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.load_ledger"));
        // Run history stays: it is the record of what was loaded.
        Assert.Single(await QueryAsync("SELECT * FROM heapd.run_files WHERE feed_id = 'heap-users'"));

        // The same feed made again loads into the kept table; with no ledger rows, the file loads again.
        await CreateCourierAsync("again", "users.csv");
        var again = await Api.RunAsync("again");
        Assert.Equal("loaded", again.GetProperty("files")[0].GetProperty("status").GetString());
        Assert.Equal(2, (await QueryAsync("SELECT * FROM heap.users")).Count);
    }

    [Fact]
    public async Task With_drop_table_the_domain_table_goes_too_and_an_unknown_feed_is_not_found()
    {
        await EnsureUsersFeedAsync();

        var deleted = JsonDocument.Parse(await (await Api.DeleteAsync("/api/feeds/heap-users?dropTable=true")).Content.ReadAsStringAsync()).RootElement;

        Assert.True(deleted.GetProperty("tableDropped").GetBoolean());
        Assert.Empty(await QueryAsync("SELECT * FROM pg_tables WHERE schemaname = 'heap' AND tablename = 'users'"));
        var unknown = await Api.DeleteAsync("/api/feeds/heap-users");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no feed 'heap-users'", await unknown.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_table_that_a_users_view_reads_is_not_dropped_and_nothing_changes()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", Users);
        await CreateCourierAsync("users", "users.csv");
        Assert.Equal("succeeded", (await Api.RunAsync("users")).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await Api.DeleteAsync("/api/couriers/users")).StatusCode);
        await QueryAsync("CREATE VIEW public.my_users AS SELECT user_id FROM heap.users");

        var refused = await Api.DeleteAsync("/api/feeds/heap-users?dropTable=true");

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("my_users", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await Api.GetAsync("/api/feeds/heap-users")).StatusCode);
        Assert.Single(await QueryAsync("SELECT * FROM heapd.load_ledger"));
        Assert.Equal(2, (await QueryAsync("SELECT * FROM heap.users")).Count);
    }

    [Fact]
    public async Task A_heap_table_is_refused_while_its_heap_courier_exists_and_dropping_it_later_rebuilds_the_sources_views_without_it()
    {
        var export = new HeapExportGenerator(41, Bucket).Generate();
        await export.UploadAsync(S3, export.ObjectsOf(export.DumpIds[0]));
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });
        Assert.Equal("succeeded", (await Api.RunAsync("heap")).GetProperty("status").GetString());

        var refused = await Api.DeleteAsync("/api/feeds/heap-click_button");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("courier 'heap' (Heap courier of source 'heap', table 'click_button')", await refused.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await Api.DeleteAsync("/api/couriers/heap")).StatusCode);
        var deleted = await Api.DeleteAsync("/api/feeds/heap-click_button?dropTable=true");
        Assert.True(deleted.IsSuccessStatusCode, await deleted.Content.ReadAsStringAsync());

        Assert.Empty(await QueryAsync("SELECT * FROM pg_class WHERE relname IN ('click_button', 'click_button_resolved')"));
        Assert.Equal(["pageviews"], (await QueryAsync("SELECT DISTINCT event_table_name FROM heap.all_events")).Select(r => (string)r["event_table_name"]!));
        Assert.NotEmpty(await QueryAsync("SELECT * FROM heap.pageviews_resolved"));
        Assert.NotEmpty(await QueryAsync("SELECT * FROM heap.all_events_resolved"));
    }
}
