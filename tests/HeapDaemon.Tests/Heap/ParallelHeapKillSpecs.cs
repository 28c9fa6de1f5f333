using System.Net.Http.Json;
using System.Security.Cryptography;
using Amazon.S3;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace HeapDaemon.Tests.Heap;

/// <summary>The daemon process, loading several tables at once, killed mid-load: the resumed run ends as a clean one.</summary>
public sealed class ParallelHeapKillSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private string _connectionString = "";
    private IAmazonS3 _s3 = null!;
    private string _bucket = "";
    private DaemonProcess _daemon = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await TestEnvironment.CreateDatabaseAsync();
        _s3 = TestEnvironment.S3Client();
        _bucket = await TestEnvironment.CreateBucketAsync(_s3);
        _daemon = new DaemonProcess(_connectionString, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            new Dictionary<string, string> { ["HEAPD__Loading__Parallelism"] = "4" });
        await _daemon.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _daemon.DisposeAsync();
        _s3.Dispose();
        await TestEnvironment.DropDatabaseAsync(_connectionString);
    }

    [Fact]
    public async Task Killed_mid_load_while_several_tables_load_the_resumed_run_ends_with_exactly_the_tables_of_a_clean_run()
    {
        // Three parts a table and dump: a kill lands in a group of small files as often as between them.
        var export = new HeapExportGenerator(13, _bucket).GenerateWide(eventTables: 10, dumps: 4, parts: 3);
        await export.UploadAsync(_s3);
        using (var api = _daemon.Api())
        {
            (await api.PostAsJsonAsync("/api/credentials", new { id = "moto", kind = "s3", bucket = _bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "a", secretAccessKey = "b" }))
                .EnsureSuccessStatusCode();
            (await api.PostAsJsonAsync("/api/couriers", new { id = "wide", credentialId = "moto", kind = "heap" })).EnsureSuccessStatusCode();
            (await api.PostAsJsonAsync("/api/couriers/wide/runs", new { })).EnsureSuccessStatusCode();
        }
        var random = new Random(20261204);
        for (var kill = 1; kill <= 4; kill++)
        {
            // Land the kill in the load: once some files of this start have been recorded.
            var before = await CountAsync("SELECT count(*) FROM heapd.run_files");
            for (var deadline = DateTime.UtcNow.AddSeconds(60); await CountAsync("SELECT count(*) FROM heapd.run_files") == before && DateTime.UtcNow < deadline;)
                await Task.Delay(20);
            await Task.Delay(random.Next(0, 400));
            output.WriteLine($"kill {kill}: {await CountAsync("SELECT count(*) FROM heapd.load_ledger")} files loaded, unfinished runs {await CountAsync(Unfinished)}");
            await _daemon.KillAsync();
            await _daemon.StartAsync();
        }

        for (var deadline = DateTime.UtcNow.AddSeconds(240); await CountAsync(Unfinished) > 0; await Task.Delay(200))
            Assert.True(DateTime.UtcNow < deadline, "the run did not end after the restarts");
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM heapd.runs WHERE status <> 'succeeded'"));
        Assert.Equal(export.DumpIds.Count, await CountAsync("SELECT count(*) FROM heapd.heap_dumps WHERE status = 'applied'"));
        foreach (var (table, expected) in export.Expected) await HeapTables.AssertAsync(QueryAsync, table, expected);
        // Exactly once: every part file is in the ledger once, loaded by one attempt.
        Assert.Equal(export.Objects.Count(o => o.Key.EndsWith(".avro", StringComparison.Ordinal)), await CountAsync("SELECT count(*) FROM heapd.load_ledger"));
    }

    private const string Unfinished = "SELECT count(*) FROM heapd.runs WHERE status IN ('queued', 'running')";

    private async Task<long> CountAsync(string sql) => (long)(await QueryAsync(sql))[0].Values.Single()!;

    private Task<List<Dictionary<string, object?>>> QueryAsync(string sql) => TestEnvironment.QueryAsync(_connectionString, sql);
}
