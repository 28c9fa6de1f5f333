using System.Text.RegularExpressions;
using Amazon.S3.Model;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Npgsql;
using Xunit;

namespace HeapDaemon.Tests.Heap;

/// <summary>Heap Connect exports made by the sample generator, loaded through the Heap courier against moto and PostgreSQL.</summary>
public sealed class HeapCourierSpecs : DaemonSpecs
{
    private HeapExport Export(int seed = 7) => new HeapExportGenerator(seed, Bucket).Generate();


    [Fact]
    public async Task The_heap_source_creates_every_feed_and_one_run_ends_with_the_expected_tables_and_resolved_identities()
    {
        var export = Export();
        await export.UploadAsync(S3);
        await EnsureMotoCredentialAsync();

        var source = await Api.PostOkAsync("/api/sources/heap", new { credentialId = "moto" });
        var run = await Api.WaitForRunAsync(source.GetProperty("runId").GetGuid());

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(export.Tables.Select(t => $"heap-{t}").Order(), source.GetProperty("feeds").EnumerateArray().Select(f => f.GetString()).Order());
        Assert.Equal("0 * * * *", source.GetProperty("courier").GetProperty("config").GetProperty("schedule").GetProperty("cron").GetString());
        foreach (var (table, expected) in export.Expected) await HeapTables.AssertAsync(QueryAsync, table, expected);

        // Every event of a merged user belongs to the final user, chains followed to their end.
        foreach (var table in new[] { "pageviews", "sessions", "click_button", "sign_up" })
        {
            var rows = await QueryAsync($"SELECT user_id, resolved_user_id FROM heap.{table}_resolved");
            Assert.Equal(export.Expected[table].Count, rows.Count);
            foreach (var row in rows)
                Assert.Equal(export.FinalUser.GetValueOrDefault((long)row["user_id"]!, (long)row["user_id"]!), (long)row["resolved_user_id"]!);
        }
        Assert.Contains(export.FinalUser.Values, final => export.FinalUser.ContainsKey(final) is false);
        Assert.True(export.FinalUser.Count(f => export.FinalUser.ContainsKey(export.Expected["user_migrations"][f.Key].Long("to_user_id"))) >= 2, "the export has chains");
        var resolvedUsers = await QueryAsync("SELECT user_id, merged_user_ids FROM heap.users_resolved");
        var expectedUsers = export.Expected["users"].Keys.Select(u => export.FinalUser.GetValueOrDefault(u, u)).Distinct().Order();
        Assert.Equal(expectedUsers, resolvedUsers.Select(r => (long)r["user_id"]!).Order());

        // Nothing new: the next poll applies nothing.
        var again = await Api.RunAsync(source.GetProperty("courier").GetProperty("id").GetString()!);
        Assert.Equal("succeeded", again.GetProperty("status").GetString());
        Assert.Contains("no new dump", again.GetProperty("message").GetString());
    }

    [Fact]
    public async Task All_events_unions_every_event_table_with_their_common_columns_and_a_new_event_table_joins_it_when_it_appears()
    {
        var export = Export(31);
        await export.UploadAsync(S3, export.ObjectsOf(export.DumpIds[0]));
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });
        Assert.Equal("succeeded", (await Api.RunAsync("heap")).GetProperty("status").GetString());

        // Dump 998 has pageviews and click_button: their common columns, Heap's four first; 'type' is click_button's alone.
        Assert.Equal(["event_id", "user_id", "session_id", "time", "library", "event_table_name"], await ColumnsAsync("all_events"));
        await AssertAllEventsAsync(["click_button", "pageviews"]);

        await export.UploadAsync(S3, export.Objects.Where(o => !o.Key.Contains($"sync_{export.DumpIds[0]}")));
        Assert.Equal("succeeded", (await Api.RunAsync("heap")).GetProperty("status").GetString());

        // Dump 999 brings the event table sign_up; sessions, users and user_migrations are not events.
        await AssertAllEventsAsync(["click_button", "pageviews", "sign_up"]);
        var resolved = await QueryAsync("SELECT user_id, resolved_user_id, event_table_name FROM heap.all_events_resolved");
        Assert.Equal((await QueryAsync("SELECT 1 FROM heap.all_events")).Count, resolved.Count);
        Assert.All(resolved, row => Assert.Equal(export.FinalUser.GetValueOrDefault((long)row["user_id"]!, (long)row["user_id"]!), (long)row["resolved_user_id"]!));
        Assert.Contains(resolved, row => (long)row["user_id"]! != (long)row["resolved_user_id"]!);
    }

    private async Task<List<string>> ColumnsAsync(string view) =>
        (await QueryAsync($"SELECT column_name FROM information_schema.columns WHERE table_schema = 'heap' AND table_name = '{view}' ORDER BY ordinal_position"))
        .Select(r => (string)r["column_name"]!).ToList();

    /// <summary>all_events holds exactly the rows of these tables, each under its table's name.</summary>
    private async Task AssertAllEventsAsync(string[] tables)
    {
        var names = (await QueryAsync("SELECT DISTINCT event_table_name FROM heap.all_events ORDER BY 1")).Select(r => (string)r["event_table_name"]!);
        Assert.Equal(tables, names);
        foreach (var table in tables)
        {
            var difference = await QueryAsync($"""
                (SELECT event_id, user_id, session_id, "time", library FROM heap.all_events WHERE event_table_name = '{table}'
                 EXCEPT ALL SELECT event_id, user_id, session_id, "time", library FROM heap.{table})
                UNION ALL
                (SELECT event_id, user_id, session_id, "time", library FROM heap.{table}
                 EXCEPT ALL SELECT event_id, user_id, session_id, "time", library FROM heap.all_events WHERE event_table_name = '{table}')
                """);
            Assert.Empty(difference);
        }
    }

    [Fact]
    public async Task A_manifest_naming_a_missing_file_fails_its_dump_naming_the_key_and_applies_nothing_of_it()
    {
        var export = Export(11);
        var missing = export.ObjectsOf(export.DumpIds[0]).First(o => o.Key.Contains("/pageviews/part-00001"));
        await export.UploadAsync(S3, export.ObjectsOf(export.DumpIds[0]).Where(o => o != missing));
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });

        var failed = await Api.RunAsync("heap");

        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Contains($"s3://{Bucket}/{missing.Key}", failed.GetProperty("message").GetString());
        Assert.Contains("nothing of dump 998 was applied", failed.GetProperty("message").GetString());
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.load_ledger"));
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.heap_tables"));

        await export.UploadAsync(S3, [missing]);
        var fixedRun = await Api.RunAsync("heap");
        Assert.Equal("succeeded", fixedRun.GetProperty("status").GetString());
        Assert.Equal(export.ObjectsOf(export.DumpIds[0]).Count() - 1, (await QueryAsync("SELECT * FROM heapd.load_ledger")).Count);
    }

    [Fact]
    public async Task A_retry_of_a_failed_heap_run_repeats_its_options_and_applies_the_dump()
    {
        var export = Export(13);
        var missing = export.ObjectsOf(export.DumpIds[0]).First(o => o.Key.Contains("/users/part-00000"));
        await export.UploadAsync(S3, export.ObjectsOf(export.DumpIds[0]).Where(o => o != missing));
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });
        var failed = await Api.RunAsync("heap", new { forceReload = true });
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        await export.UploadAsync(S3, [missing]);

        var accepted = await Api.PostOkAsync($"/api/runs/{failed.GetProperty("id").GetGuid()}/retry");
        var retry = await Api.WaitForRunAsync(accepted.GetProperty("runId").GetGuid());

        Assert.True(retry.GetProperty("status").GetString() == "succeeded", retry.ToString());
        Assert.True(retry.GetProperty("request").GetProperty("forceReload").GetBoolean());
        Assert.Equal("retry", retry.GetProperty("trigger").GetString());
        Assert.Equal(failed.GetProperty("id").GetGuid(), retry.GetProperty("retryOf").GetGuid());
        Assert.Contains($"1 dump(s) applied ({export.DumpIds[0]})", retry.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_heap_run_retried_mid_dump_keeps_the_files_its_first_attempt_applied_and_counts_them_as_loaded()
    {
        var export = Export(29);
        await export.UploadAsync(S3, export.ObjectsOf(export.DumpIds[0]));
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });
        Assert.Equal("succeeded", (await Api.RunAsync("heap")).GetProperty("status").GetString());
        await export.UploadAsync(S3, export.Objects.Where(o => !o.Key.Contains($"sync_{export.DumpIds[0]}")));

        // Dump 999 loads users and pageviews, then waits for sessions, which this test holds; there the attempt loses
        // its database connection and fails for a reason that may pass. The next attempt goes on after those files.
        await using var holder = new NpgsqlConnection(ConnectionString);
        await holder.OpenAsync();
        var hold = await holder.BeginTransactionAsync();
        await new NpgsqlCommand("LOCK TABLE heap.sessions IN ACCESS EXCLUSIVE MODE", holder, hold).ExecuteNonQueryAsync();
        var runId = (await Api.PostOkAsync("/api/couriers/heap/runs")).GetProperty("runId").GetGuid();
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(50))
        {
            await using var waiting = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", holder, hold);
            if ((long)(await waiting.ExecuteScalarAsync())! > 0) break;
            Assert.True(DateTime.UtcNow < deadline, "the run never reached the sessions table");
        }
        await new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
            holder, hold).ExecuteNonQueryAsync();
        await hold.RollbackAsync();
        var run = await Api.WaitForRunAsync(runId, TimeSpan.FromSeconds(120));

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        var files = run.GetProperty("files").EnumerateArray().ToList();
        var keys = files.Select(f => f.GetProperty("key").GetString()!).ToList();
        Assert.Equal(keys.Distinct().Count(), keys.Count);
        Assert.All(files, f => Assert.Equal("loaded", f.GetProperty("status").GetString()));
        Assert.Contains(keys, k => k.Contains($"sync_{export.DumpIds[1]}/users/"));
        var earlier = Regex.Match(run.GetProperty("message").GetString()!, @"(\d+) file\(s\) loaded \((\d+) by an earlier attempt\)");
        Assert.True(earlier.Success, run.GetProperty("message").GetString());
        Assert.Equal(files.Count, int.Parse(earlier.Groups[1].Value));
        // users and pageviews' two parts of dump 999 at least, and not what the second attempt loaded itself.
        Assert.True(int.Parse(earlier.Groups[2].Value) is var before && before >= 3 && before < files.Count, run.ToString());
        foreach (var (table, expected) in export.Expected) await HeapTables.AssertAsync(QueryAsync, table, expected);
    }

    [Fact]
    public async Task A_run_that_stops_in_the_middle_of_a_dump_resumes_after_a_restart_without_loading_a_file_twice()
    {
        var export = Export(23);
        var broken = export.ObjectsOf(export.DumpIds[1]).First(o => o.Key.Contains("/pageviews/part-00001"));
        await export.UploadAsync(S3, export.Objects.Where(o => o != broken));
        await S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = broken.Key, ContentBody = "not avro at all" });
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });

        var first = await Api.RunAsync("heap");
        Assert.Equal("failed", first.GetProperty("status").GetString());
        Assert.Contains(broken.Key, first.GetProperty("message").GetString());
        var loadedBefore = (await QueryAsync("SELECT object_key FROM heapd.load_ledger")).Select(r => (string)r["object_key"]!).ToList();
        Assert.Contains(loadedBefore, k => k.Contains($"sync_{export.DumpIds[1]}/pageviews/part-00000"));

        await RestartDaemonAsync();
        await export.UploadAsync(S3, [broken]);
        var second = await Api.RunAsync("heap");

        Assert.Equal("succeeded", second.GetProperty("status").GetString());
        var secondFiles = second.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("key").GetString()!).ToList();
        Assert.Empty(secondFiles.Intersect(loadedBefore.Where(k => !k.Contains("user_migrations") && !k.Contains($"sync_{export.DumpIds[0]}"))));
        var ledger = await QueryAsync("SELECT object_key, count(*) AS n FROM heapd.load_ledger GROUP BY object_key");
        Assert.All(ledger, row => Assert.Equal(1L, row["n"]));
        foreach (var (table, expected) in export.Expected) await HeapTables.AssertAsync(QueryAsync, table, expected);
    }
}
