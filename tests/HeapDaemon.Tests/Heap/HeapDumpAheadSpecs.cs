using System.Net;
using System.Text;
using Amazon.S3.Model;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Heap;

/// <summary>
/// A Heap run reads the next dump's listing and samples while a dump's tables load; the next dump's feeds are still
/// fitted, and its files loaded, only at its own turn, after the dump before it applied.
/// </summary>
public sealed class HeapDumpAheadSpecs : DaemonSpecs
{
    private static readonly long Noon = new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static readonly (string Name, string Type)[] PageviewColumns = [("event_id", "long"), ("user_id", "long"), ("time", "long"), ("path", "?string")];
    private static readonly (string Name, string Type)[] UserColumns = [("user_id", "long"), ("joindate", "long"), ("last_modified", "long")];

    private static Row Pageview(long id, params (string Column, string Value)[] more)
    {
        var row = new Row { ["event_id"] = id, ["user_id"] = 1L, ["time"] = Noon + id, ["path"] = $"/p/{id}" };
        foreach (var (column, value) in more) row[column] = value;
        return row;
    }

    /// <summary>One part file of a table in a dump (its content given, or Avro of the rows); returns its s3:// URI.</summary>
    private async Task<string> PutPartAsync(long dump, string table, int part, byte[] content)
    {
        var key = $"sync_{dump}/{table}/part-{part:D5}-test-c000.avro";
        await S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(content) });
        return $"s3://{Bucket}/{key}";
    }

    private Task PutManifestAsync(long dump, params object[] tables) =>
        S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = $"manifests/sync_{dump}.json", InputStream = new MemoryStream(HeapFiles.Manifest(dump, tables)) });

    private static object Table(string name, IEnumerable<(string Name, string Type)> columns, bool incremental, params string[] files) =>
        new { name, columns = columns.Select(c => c.Name), files, incremental };

    private async Task<System.Text.Json.JsonElement> RunAsync()
    {
        await EnsureMotoCredentialAsync();
        if ((await Api.GetAsync("/api/couriers/heap")).StatusCode == HttpStatusCode.NotFound)
            await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });
        return await Api.RunAsync("heap");
    }

    /// <summary>The table's columns from the export (not the daemon's own, which start with '_').</summary>
    private async Task<string[]> ColumnsAsync(string table) =>
        (await QueryAsync($"SELECT column_name FROM information_schema.columns WHERE table_schema = 'heap' AND table_name = '{table}' AND column_name NOT LIKE '\\_%' ORDER BY 1"))
        .Select(r => (string)r["column_name"]!).ToArray();

    [Fact]
    public async Task A_dump_that_fails_while_its_tables_load_leaves_the_next_dump_read_ahead_unapplied_with_no_feed_made_or_widened_for_it()
    {
        // Dump 998's second pageviews part is not Avro: its sample (the first part) fits, and it fails while loading,
        // when dump 999 is read already. 999 brings a new table (users) and a new pageviews column (referrer).
        await PutManifestAsync(998, Table("pageviews", PageviewColumns, true,
            await PutPartAsync(998, "pageviews", 0, HeapFiles.Avro("pageviews", PageviewColumns, [Pageview(1)], record: "row")),
            await PutPartAsync(998, "pageviews", 1, Encoding.UTF8.GetBytes("not avro at all"))));
        var widened = PageviewColumns.Append(("referrer", "?string")).ToArray();
        await PutManifestAsync(999,
            Table("users", UserColumns, true, await PutPartAsync(999, "users", 0, HeapFiles.Avro("users", UserColumns,
                [new Row { ["user_id"] = 1L, ["joindate"] = Noon, ["last_modified"] = Noon }], record: "row"))),
            Table("pageviews", widened, true, await PutPartAsync(999, "pageviews", 0, HeapFiles.Avro("pageviews", widened,
                [Pageview(2, ("referrer", "search"))], record: "row"))));

        var run = await RunAsync();

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("message").GetString()!;
        Assert.Contains("Dump 998", message);
        Assert.Contains("1 later dump(s) wait for it", message);
        Assert.Equal(["heap-pageviews"], (await QueryAsync("SELECT id FROM heapd.feeds ORDER BY id")).Select(r => (string)r["id"]!));
        Assert.Equal(["event_id", "path", "time", "user_id"], await ColumnsAsync("pageviews"));
        Assert.Empty(await ColumnsAsync("users"));
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.heap_tables WHERE dump_id = 999"));
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.heap_dumps WHERE dump_id = 999"));
        Assert.DoesNotContain(run.GetProperty("files").EnumerateArray(), f => f.GetProperty("key").GetString()!.StartsWith("sync_999/"));
        Assert.Equal([1L], (await QueryAsync("SELECT event_id FROM heap.pageviews")).Select(r => (long)r["event_id"]!));
    }

    [Fact]
    public async Task Dumps_that_widen_a_feed_one_after_another_in_one_run_keep_every_column_each_added()
    {
        // 999 is read while 998 loads, before 998's widening: its feed is fitted to the feed as 998 left it.
        var withReferrer = PageviewColumns.Append(("referrer", "?string")).ToArray();
        var withBoth = withReferrer.Append(("campaign", "?string")).ToArray();
        await PutManifestAsync(997, Table("pageviews", PageviewColumns, true,
            await PutPartAsync(997, "pageviews", 0, HeapFiles.Avro("pageviews", PageviewColumns, [Pageview(1)], record: "row"))));
        await PutManifestAsync(998, Table("pageviews", withReferrer, true,
            await PutPartAsync(998, "pageviews", 0, HeapFiles.Avro("pageviews", withReferrer, [Pageview(2, ("referrer", "search"))], record: "row"))));
        await PutManifestAsync(999, Table("pageviews", withBoth, true,
            await PutPartAsync(999, "pageviews", 0, HeapFiles.Avro("pageviews", withBoth, [Pageview(3, ("referrer", "ad"), ("campaign", "winter"))], record: "row"))));

        var run = await RunAsync();

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        Assert.StartsWith("3 dump(s) applied (997, 998, 999)", run.GetProperty("message").GetString());
        Assert.Equal(["campaign", "event_id", "path", "referrer", "time", "user_id"], await ColumnsAsync("pageviews"));
        Assert.Equal(["1:-:-", "2:search:-", "3:ad:winter"],
            (await QueryAsync("SELECT event_id, coalesce(referrer, '-') AS referrer, coalesce(campaign, '-') AS campaign FROM heap.pageviews ORDER BY 1"))
            .Select(r => $"{r["event_id"]}:{r["referrer"]}:{r["campaign"]}"));
    }
}
