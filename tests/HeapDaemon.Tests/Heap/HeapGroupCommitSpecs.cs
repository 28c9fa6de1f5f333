using Amazon.S3.Model;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Heap;

/// <summary>
/// Consecutive small part files of a table commit together (Loading:GroupFiles): each with its own ledger, run-file and
/// applied-part rows in the transaction of its rows, and a file that fails in a group ends it as one commit a file would.
/// </summary>
public sealed class HeapGroupCommitSpecs : DaemonSpecs
{
    protected override IReadOnlyDictionary<string, string> DaemonSettings => new Dictionary<string, string>
    {
        ["Loading:Parallelism"] = "1",
        ["Loading:GroupFiles"] = "3",
    };

    [Fact]
    public async Task Consecutive_small_parts_of_a_table_commit_in_groups_of_at_most_GroupFiles_each_file_recorded_once_with_its_rows()
    {
        var export = new HeapExportGenerator(41, Bucket).GenerateWide(eventTables: 1, dumps: 2, parts: 5, rowsPerPart: 10);
        await export.UploadAsync(S3);
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "groups", credentialId = "moto", kind = "heap" });

        var run = await Api.RunAsync("groups", new { });

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        foreach (var (table, expected) in export.Expected) await HeapTables.AssertAsync(QueryAsync, table, expected);
        var files = await QueryAsync($"""
            SELECT l.feed_id, l.object_key, l.xmin::text AS ledger, f.xmin::text AS run_file, f.status, h.xmin::text AS applied
            FROM heapd.load_ledger l
            JOIN heapd.run_files f ON f.run_id = l.run_id AND f.object_key = l.object_key
            JOIN heapd.heap_files h ON h.object_key = l.object_key
            WHERE l.object_key LIKE 'sync_{export.DumpIds[1]}/%'
            ORDER BY l.load_seq
            """);
        // Every part of the incremental dump once, recorded in the transaction of its rows.
        Assert.Equal(export.ObjectsOf(export.DumpIds[1]).Count(o => o.Key.EndsWith(".avro", StringComparison.Ordinal)), files.Count);
        Assert.All(files, f =>
        {
            Assert.Equal("loaded", f["status"]);
            Assert.Equal(f["ledger"], f["run_file"]);
            Assert.Equal(f["ledger"], f["applied"]);
        });
        // A table's five parts: two transactions, of three parts and of two, in part order.
        foreach (var table in files.GroupBy(f => (string)f["feed_id"]!))
            Assert.Equal([3, 2], table.GroupBy(f => (string)f["ledger"]!).Select(g => g.Count()));
    }

    [Fact]
    public async Task A_corrupt_part_in_a_group_fails_alone_the_parts_before_it_stay_loaded_and_once_fixed_the_rest_loads_exactly_once()
    {
        var export = new HeapExportGenerator(42, Bucket).GenerateWide(eventTables: 1, dumps: 2, parts: 5, rowsPerPart: 10);
        var incremental = export.DumpIds[1];
        var parts = export.ObjectsOf(incremental).Where(o => o.Key.Contains("/pageviews/", StringComparison.Ordinal) && o.Key.EndsWith(".avro", StringComparison.Ordinal))
            .OrderBy(o => o.Key, StringComparer.Ordinal).ToList();
        Assert.Equal(5, parts.Count);
        var broken = parts[2];
        await export.UploadAsync(S3, export.Objects.Where(o => o != broken));
        await S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = broken.Key, ContentBody = "not avro at all" });
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "corrupt", credentialId = "moto", kind = "heap" });

        var failed = await Api.RunAsync("corrupt", new { });

        Assert.Equal("failed", failed.GetProperty("status").GetString());
        var statuses = failed.GetProperty("files").EnumerateArray()
            .ToDictionary(f => f.GetProperty("key").GetString()!, f => (Status: f.GetProperty("status").GetString(), Message: f.GetProperty("message").GetString()));
        Assert.Equal("loaded", statuses[parts[0].Key].Status);
        Assert.Equal("loaded", statuses[parts[1].Key].Status);
        Assert.Equal("failed", statuses[broken.Key].Status);
        Assert.StartsWith($"s3://{Bucket}/{broken.Key}: ", statuses[broken.Key].Message);
        Assert.Contains(statuses[broken.Key].Message!, failed.GetProperty("message").GetString());
        Assert.All(parts.Skip(3), p => Assert.NotEqual("loaded", statuses.GetValueOrDefault(p.Key).Status));
        // The parts before the corrupt one are committed, rows and records; the ones after it are not.
        var ledger = (await QueryAsync($"SELECT object_key FROM heapd.load_ledger WHERE object_key LIKE 'sync_{incremental}/pageviews/%'"))
            .Select(r => (string)r["object_key"]!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([parts[0].Key, parts[1].Key], ledger);
        var sources = (await QueryAsync($"SELECT DISTINCT _source_file FROM heap.pageviews WHERE _source_file LIKE '%/sync_{incremental}/%'"))
            .Select(r => (string)r["_source_file"]!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([$"s3://{Bucket}/{parts[0].Key}", $"s3://{Bucket}/{parts[1].Key}"], sources);
        Assert.Empty(await QueryAsync("SELECT 1 FROM heapd.heap_dumps WHERE status = 'applied' AND dump_id = " + incremental));

        await export.UploadAsync(S3, [broken]);
        var next = await Api.RunAsync("corrupt", new { });

        Assert.True(next.GetProperty("status").GetString() == "succeeded", next.ToString());
        foreach (var (table, expected) in export.Expected) await HeapTables.AssertAsync(QueryAsync, table, expected);
        // Exactly once: every part in the ledger once, the ones loaded before the failure not again.
        Assert.Equal(export.Objects.Count(o => o.Key.EndsWith(".avro", StringComparison.Ordinal)), (await QueryAsync("SELECT 1 FROM heapd.load_ledger")).Count);
        var again = next.GetProperty("files").EnumerateArray()
            .Where(f => f.GetProperty("key").GetString() is var k && (k == parts[0].Key || k == parts[1].Key))
            .Select(f => f.GetProperty("status").GetString());
        Assert.All(again, s => Assert.NotEqual("loaded", s));
    }
}
