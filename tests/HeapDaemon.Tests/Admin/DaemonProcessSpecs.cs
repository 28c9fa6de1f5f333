using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.S3;
using HeapDaemon.Tests.Support;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace HeapDaemon.Tests.Admin;

/// <summary>The real daemon process: killed at random moments, stopped with SIGTERM, and read for leaked secrets.</summary>
public sealed class DaemonProcessSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Files = 6, RowsPerFile = 12_000, Overlap = 4_000;
    private readonly string _masterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private string _connectionString = "";
    private IAmazonS3 _s3 = null!;
    private string _bucket = "";
    private DaemonProcess _daemon = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await TestEnvironment.CreateDatabaseAsync();
        _s3 = TestEnvironment.S3Client();
        _bucket = await TestEnvironment.CreateBucketAsync(_s3);
        _daemon = new DaemonProcess(_connectionString, _masterKey);
        await _daemon.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _daemon.DisposeAsync();
        _s3.Dispose();
        await TestEnvironment.DropDatabaseAsync(_connectionString);
    }

    [Fact]
    public async Task Killed_ten_times_at_random_moments_the_daemon_ends_with_exactly_the_rows_of_a_clean_run()
    {
        await UploadOverlappingFilesAsync();
        using (var api = _daemon.Api()) await ConfigureAsync(api, Enumerable.Range(0, Files).Select(f => $"part-{f}.csv"));
        var random = new Random(20261127);

        for (var kill = 1; kill <= 10; kill++)
        {
            using (var api = _daemon.Api())
            {
                // Keep a load going, so the kill lands in one: a forced reload rewrites nothing but runs every step.
                if (await CountAsync("SELECT count(*) FROM heapd.runs WHERE status IN ('queued', 'running')") == 0)
                    (await api.PostAsJsonAsync("/api/couriers/parts/runs", new { forceReload = kill > 1 })).EnsureSuccessStatusCode();
            }
            await Task.Delay(random.Next(100, 1500));
            output.WriteLine($"kill {kill}: runs {await DescribeRunsAsync()}");
            await _daemon.KillAsync();
            await _daemon.StartAsync();
        }

        await WaitForRunsAsync();
        output.WriteLine($"end: runs {await DescribeRunsAsync()}");
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM heapd.runs WHERE status <> 'succeeded'"));
        await AssertTableIsExactlyTheExpectedAsync();
        Assert.Equal(Files, await CountAsync("SELECT count(*) FROM heapd.load_ledger"));
    }

    [Fact]
    public async Task SIGTERM_stops_the_daemon_within_its_shutdown_time_and_the_interrupted_run_completes_after_a_restart()
    {
        await UploadOverlappingFilesAsync();
        using (var api = _daemon.Api())
        {
            await ConfigureAsync(api, Enumerable.Range(0, Files).Select(f => $"part-{f}.csv"));
            (await api.PostAsJsonAsync("/api/couriers/parts/runs", new { })).EnsureSuccessStatusCode();
        }
        await Task.Delay(700);

        var took = await _daemon.TerminateAsync(TimeSpan.FromSeconds(40));
        output.WriteLine($"SIGTERM: exited with {_daemon.ExitCode} after {took}; runs {await DescribeRunsAsync()}");
        Assert.Equal(0, _daemon.ExitCode);
        await _daemon.StartAsync();

        await WaitForRunsAsync();
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM heapd.runs WHERE status <> 'succeeded'"));
        await AssertTableIsExactlyTheExpectedAsync();
    }

    [Fact]
    public async Task Secrets_never_appear_in_logs_api_answers_or_the_database_except_sealed()
    {
        const string secret = "SeCrEt-9f8e7d6c5b4a-never-print-me";
        using var api = _daemon.Api();
        var answers = new StringBuilder();
        async Task Call(HttpResponseMessage response) => answers.Append(await response.Content.ReadAsStringAsync());

        await Call(await api.PostAsJsonAsync("/api/credentials", new
        {
            id = "leaky", kind = "s3", bucket = _bucket, endpointUrl = TestEnvironment.S3AuthEndpoint,
            accessKeyId = TestEnvironment.S3AuthKeyId, secretAccessKey = secret,
        }));
        await Call(await api.PostAsJsonAsync("/api/feeds", new
        {
            source = "heap", name = "users", lastUpdatedField = "joined_at",
            fields = new object[] { new { name = "user_id", type = "integer", primaryKey = true }, new { name = "joined_at", type = "datetime" } },
        }));
        await Call(await api.PostAsync("/api/feeds/heap-users/activate", null));
        await Call(await api.PostAsJsonAsync("/api/couriers", new { id = "leaky", credentialId = "leaky", files = new[] { new { key = "x.csv", feedId = "heap-users" } } }));
        var accepted = await api.PostAsJsonAsync("/api/couriers/leaky/runs", new { });
        await Call(accepted);
        var runId = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("runId").GetGuid();
        await WaitForRunsAsync();
        foreach (var path in new[] { $"/api/runs/{runId}", "/api/credentials", "/api/credentials/leaky", "/api/couriers/leaky", $"/api/runs/{runId}/rejects" })
            await Call(await api.GetAsync(path));
        await _daemon.KillAsync();

        Assert.Contains("SignatureDoesNotMatch", answers.ToString());
        Assert.DoesNotContain(secret, answers.ToString());
        Assert.DoesNotContain(secret, _daemon.Log);
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var dump = new NpgsqlCommand("""
            SELECT string_agg(convert_from(message, 'UTF8'), '') FROM akka.journal
            UNION ALL SELECT string_agg(settings::text || encode(secret, 'escape'), '') FROM heapd.credentials
            UNION ALL SELECT string_agg(coalesce(message, ''), '') FROM heapd.runs
            UNION ALL SELECT string_agg(coalesce(message, ''), '') FROM heapd.run_files
            """, connection);
        await using var reader = await dump.ExecuteReaderAsync();
        while (await reader.ReadAsync()) Assert.DoesNotContain(secret, reader.IsDBNull(0) ? "" : reader.GetString(0));
    }

    /// <summary>File f holds users [f*8000, f*8000+12000): each overlaps the next, whose rows are newer.</summary>
    private async Task UploadOverlappingFilesAsync()
    {
        for (var f = 0; f < Files; f++)
        {
            var text = new StringBuilder("user_id,email,joined_at,score\n");
            for (var id = f * (RowsPerFile - Overlap); id < f * (RowsPerFile - Overlap) + RowsPerFile; id++)
                text.Append($"{id},u{id}-f{f}@example.com,2026-11-{f + 1:00}T00:00:00Z,{f}\n");
            await TestEnvironment.PutAsync(_s3, _bucket, $"part-{f}.csv", text.ToString());
        }
    }

    /// <summary>Computed from the files' layout, not from the daemon: each user's row is the newest file's.</summary>
    private async Task AssertTableIsExactlyTheExpectedAsync()
    {
        var expected = new Dictionary<long, string>();
        for (var f = 0; f < Files; f++)
            for (long id = f * (RowsPerFile - Overlap); id < f * (RowsPerFile - Overlap) + RowsPerFile; id++)
                expected[id] = $"u{id}-f{f}@example.com|{f}";
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT user_id, email, score FROM heap.users", connection);
        await using var reader = await cmd.ExecuteReaderAsync();
        var actual = new Dictionary<long, string>();
        while (await reader.ReadAsync()) Assert.True(actual.TryAdd(reader.GetInt64(0), $"{reader.GetString(1)}|{reader.GetDecimal(2):0}"));
        Assert.Equal(expected.Count, actual.Count);
        Assert.Empty(expected.Where(e => actual.GetValueOrDefault(e.Key) != e.Value).Take(5));
    }

    private async Task ConfigureAsync(HttpClient api, IEnumerable<string> keys)
    {
        (await api.PostAsJsonAsync("/api/credentials", new { id = "moto", kind = "s3", bucket = _bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "a", secretAccessKey = "b" })).EnsureSuccessStatusCode();
        (await api.PostAsJsonAsync("/api/feeds", new
        {
            source = "heap", name = "users", lastUpdatedField = "joined_at",
            fields = new object[]
            {
                new { name = "user_id", type = "integer", primaryKey = true }, new { name = "email", type = "string" },
                new { name = "joined_at", type = "datetime" }, new { name = "score", type = "decimal", precision = 10, scale = 2 },
            },
        })).EnsureSuccessStatusCode();
        (await api.PostAsync("/api/feeds/heap-users/activate", null)).EnsureSuccessStatusCode();
        (await api.PostAsJsonAsync("/api/couriers", new { id = "parts", credentialId = "moto", files = keys.Select(k => new { key = k, feedId = "heap-users" }).ToArray() }))
            .EnsureSuccessStatusCode();
    }

    private async Task WaitForRunsAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (await CountAsync("SELECT count(*) FROM heapd.runs WHERE status IN ('queued', 'running')") > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"runs still unfinished: {await DescribeRunsAsync()}");
            await Task.Delay(200);
        }
    }

    private async Task<string> DescribeRunsAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT coalesce(string_agg(status || coalesce(': ' || left(message, 120), ''), '; ' ORDER BY requested_at), '') FROM heapd.runs", connection);
        return (string)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
