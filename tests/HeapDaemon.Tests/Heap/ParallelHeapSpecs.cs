using System.Globalization;
using System.Text.RegularExpressions;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Heap;

/// <summary>Heap exports loaded with several tables at once (Loading:Parallelism above 1) end as one table at a time leaves them.</summary>
public sealed class ParallelHeapSpecs : DaemonSpecs
{
    protected override IReadOnlyDictionary<string, string> DaemonSettings => new Dictionary<string, string> { ["Loading:Parallelism"] = "4" };

    [Fact]
    public async Task The_sample_export_of_several_dumps_ends_with_the_expected_tables()
    {
        var export = new HeapExportGenerator(11, Bucket).Generate();
        await export.UploadAsync(S3);
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });

        var run = await Api.RunAsync("heap");

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        foreach (var (table, expected) in export.Expected) await HeapTables.AssertAsync(QueryAsync, table, expected);
    }

    [Fact]
    public async Task A_wide_export_of_many_tables_and_dumps_ends_with_the_expected_tables_and_every_file_once_in_its_order()
    {
        var export = new HeapExportGenerator(12, Bucket).GenerateWide(eventTables: 8, dumps: 3);
        await export.UploadAsync(S3);
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "wide", credentialId = "moto", kind = "heap" });

        var run = await Api.RunAsync("wide", new { });

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        foreach (var (table, expected) in export.Expected) await HeapTables.AssertAsync(QueryAsync, table, expected);
        var parts = export.Objects.Count(o => o.Key.EndsWith(".avro", StringComparison.Ordinal));
        Assert.Equal(parts, (await QueryAsync("SELECT 1 FROM heapd.load_ledger")).Count);
        // Within a table, the files committed in dump and part order.
        var order = await QueryAsync("SELECT feed_id, object_key FROM heapd.load_ledger ORDER BY load_seq");
        foreach (var table in order.GroupBy(r => (string)r["feed_id"]!))
        {
            var loaded = table.Select(r => DumpAndPart((string)r["object_key"]!)).ToList();
            Assert.Equal(loaded.Order(), loaded);
        }
    }

    [Fact]
    public async Task A_loaded_file_commits_its_ledger_row_run_file_row_and_applied_part_in_the_transaction_of_its_rows()
    {
        var export = new HeapExportGenerator(13, Bucket).GenerateWide(eventTables: 2, dumps: 3);
        await export.UploadAsync(S3);
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "once", credentialId = "moto", kind = "heap" });

        var run = await Api.RunAsync("once", new { });

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        // A row's xmin is the transaction that wrote its current version: one transaction a file.
        var files = await QueryAsync("""
            SELECT l.object_key, l.xmin::text AS ledger, f.xmin::text AS run_file, f.status, h.xmin::text AS applied
            FROM heapd.load_ledger l
            JOIN heapd.run_files f ON f.run_id = l.run_id AND f.object_key = l.object_key
            LEFT JOIN heapd.heap_files h ON h.object_key = l.object_key
            """);
        Assert.Equal(export.Objects.Count(o => o.Key.EndsWith(".avro", StringComparison.Ordinal)), files.Count);
        Assert.All(files, f =>
        {
            Assert.Equal("loaded", f["status"]);
            Assert.Equal(f["ledger"], f["run_file"]);
        });
        // The incremental dumps' parts are upserted, and each is recorded applied with its rows.
        var upserted = files.Where(f => f["applied"] is not null).ToList();
        Assert.NotEmpty(upserted);
        Assert.All(upserted, f => Assert.Equal(f["ledger"], f["applied"]));
    }

    /// <summary>sync_&lt;dump&gt;/&lt;table&gt;/part-&lt;part&gt;-…: the dump, then the part, as numbers.</summary>
    private static (long Dump, int Part) DumpAndPart(string key)
    {
        var match = Regex.Match(key, @"sync_(\d+)/[^/]+/part-(\d+)-");
        Assert.True(match.Success, key);
        return (long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
    }
}
