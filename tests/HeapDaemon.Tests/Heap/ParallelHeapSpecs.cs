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

    /// <summary>sync_&lt;dump&gt;/&lt;table&gt;/part-&lt;part&gt;-…: the dump, then the part, as numbers.</summary>
    private static (long Dump, int Part) DumpAndPart(string key)
    {
        var match = Regex.Match(key, @"sync_(\d+)/[^/]+/part-(\d+)-");
        Assert.True(match.Success, key);
        return (long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
    }
}
