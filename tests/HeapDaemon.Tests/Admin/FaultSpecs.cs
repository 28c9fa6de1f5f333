using System.Net;
using System.Text;
using HeapDaemon.Tests.Support;
using Npgsql;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>Transient faults mid-run are retried by the courier, and the run still ends with exactly the file's rows.</summary>
public sealed class FaultSpecs : DaemonSpecs
{
    [Fact]
    public async Task Connections_reset_and_stalled_mid_object_are_resumed_where_they_broke_and_the_run_loads_exactly_the_files_rows()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "big.csv", UsersCsv(20_000));
        await using var proxy = new FaultyProxy(TestEnvironment.S3Endpoint, connection => connection switch
        {
            1 => new Fault.ResetAfter(300_000),
            2 => new Fault.StallAfter(500_000),
            _ => new Fault.None(),
        });
        await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/credentials", new { id = "flaky", kind = "s3", bucket = Bucket, endpointUrl = proxy.Endpoint, accessKeyId = "a", secretAccessKey = "b" });
        await Api.PostOkAsync("/api/couriers", new { id = "flaky", credentialId = "flaky", files = new[] { new { key = "big.csv", feedId = "heap-users" } } });

        var run = await Api.RunAsync("flaky");

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        // Three connections: the reset one, the stalled one, and the one that finished; the S3 client's own retry
        // or the resume picks up after the reset, depending on whether it came before or after the headers.
        Assert.Equal(3, proxy.Connections);
        Assert.True(run.GetProperty("files")[0].GetProperty("message").GetString()!.Contains("the download was resumed"), run.ToString());
        await AssertExactlyLoadedAsync(20_000);
    }

    [Fact]
    public async Task A_database_connection_lost_mid_run_is_retried_and_the_run_loads_exactly_the_files_rows()
    {
        const int rows = 150_000;
        await TestEnvironment.PutAsync(S3, Bucket, "big.csv", UsersCsv(rows));
        await CreateCourierAsync("pg", "big.csv");
        var accepted = await Api.PostOkAsync("/api/couriers/pg/runs");
        var runId = accepted.GetProperty("runId").GetGuid();

        await Api.WaitForProgressAsync(runId);
        await DropDaemonConnectionsAsync();
        var run = await Api.WaitForRunAsync(runId, TimeSpan.FromSeconds(120));

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        await AssertExactlyLoadedAsync(rows);
    }

    [Fact]
    public async Task After_the_database_drops_every_connection_the_couriers_history_still_matches_heapd_runs()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "big.csv", UsersCsv(150_000));
        await CreateCourierAsync("history", "big.csv");
        // One run loading, five queued behind it (they find the file loaded and skip it).
        var runIds = new List<Guid>();
        for (var i = 0; i < 6; i++) runIds.Add((await Api.PostOkAsync("/api/couriers/history/runs")).GetProperty("runId").GetGuid());
        await Api.WaitForProgressAsync(runIds[0]);

        // What a PostgreSQL restart does to the daemon: every pooled connection, the journal's too, is dead (57P01).
        await DropDaemonConnectionsAsync();
        foreach (var runId in runIds) await Api.WaitForRunAsync(runId, TimeSpan.FromSeconds(120));

        var expected = (await QueryAsync("""
            SELECT id FROM heapd.runs WHERE courier_id = 'history' AND status IN ('succeeded', 'failed', 'cancelled') ORDER BY finished_at DESC
            """)).Select(r => (Guid)r["id"]!).ToList();
        Assert.Equal(runIds.Order(), expected.Order());
        List<Guid> shown = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(200))
        {
            var courier = await GetWhenReachableAsync("/api/couriers/history");
            shown = courier.GetProperty("recentRuns").EnumerateArray().Select(r => r.GetProperty("runId").GetGuid()).ToList();
            if (shown.SequenceEqual(expected)) break;
        }
        Assert.Equal(expected, shown);
        await AssertExactlyLoadedAsync(150_000);
    }

    [Fact]
    public async Task After_the_database_drops_every_connection_the_next_journal_write_succeeds()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "a.csv", UsersCsv(10));
        await CreateCourierAsync("journal", "a.csv");
        Assert.Equal("succeeded", (await Api.RunAsync("journal")).GetProperty("status").GetString());

        await DropDaemonConnectionsAsync();
        // Deleting a courier writes the journal (the courier's, then the registry's) and nothing else before.
        var deleted = await Api.DeleteAsync("/api/couriers/journal");

        Assert.True(deleted.StatusCode == HttpStatusCode.NoContent, $"{(int)deleted.StatusCode} {await deleted.Content.ReadAsStringAsync()}");
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/api/couriers/journal")).StatusCode);
        Assert.Equal(["CourierConfigured", "CourierDeleted"],
            (await QueryAsync("SELECT manifest FROM akka.journal WHERE persistence_id = 'courier-journal' ORDER BY sequence_number")).Select(r => (string)r["manifest"]!));
    }

    [Fact]
    public async Task A_run_resumed_after_a_restart_reports_the_files_it_had_loaded_before_as_loaded_with_their_rows()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "small.csv", UsersCsv(10));
        await TestEnvironment.PutAsync(S3, Bucket, "big.csv", UsersCsv(150_000));
        await CreateCourierAsync("resumed", "small.csv", "big.csv");
        var runId = (await Api.PostOkAsync("/api/couriers/resumed/runs")).GetProperty("runId").GetGuid();
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(20))
        {
            var view = await Api.GetOkAsync($"/api/runs/{runId}");
            if (view.TryGetProperty("progress", out var progress) && progress.GetProperty("key").GetString() == "big.csv"
                && progress.GetProperty("rowsRead").GetInt64() > 0) break;
            Assert.True(DateTime.UtcNow < deadline, $"big.csv never started loading: {view}");
        }

        await RestartDaemonAsync();
        var run = await Api.WaitForRunAsync(runId, TimeSpan.FromSeconds(120));

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        var small = run.GetProperty("files")[0];
        Assert.Equal("loaded", small.GetProperty("status").GetString());
        Assert.Equal(10, small.GetProperty("rowsRead").GetInt64());
        Assert.Equal(10, small.GetProperty("rowsInserted").GetInt64());
        Assert.Contains("loaded by an earlier attempt of this run", small.GetProperty("message").GetString());
        Assert.Equal("loaded", run.GetProperty("files")[1].GetProperty("status").GetString());
        Assert.StartsWith("2 files: 2 loaded (1 by an earlier attempt), 0 skipped (already loaded), 0 failed", run.GetProperty("message").GetString());
    }

    /// <summary>Terminates every connection of the daemon to its database, as a PostgreSQL restart does, without disturbing other test classes.</summary>
    private async Task DropDaemonConnectionsAsync()
    {
        await using var admin = new NpgsqlConnection(ConnectionString);
        await admin.OpenAsync();
        await using var kill = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", admin);
        Assert.True((long)(await kill.ExecuteScalarAsync())! > 0);
    }

    /// <summary>A GET that a dead pooled connection may answer with 503 once per connection: asked again until it answers.</summary>
    private async Task<System.Text.Json.JsonElement> GetWhenReachableAsync(string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await Api.GetAsync(path);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 20) continue;
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
            return System.Text.Json.JsonDocument.Parse(text).RootElement;
        }
    }

    private async Task AssertExactlyLoadedAsync(int rows)
    {
        var summary = (await QueryAsync("SELECT count(*) AS n, count(DISTINCT user_id) AS ids, sum(user_id) AS total, min(user_id) AS lo, max(user_id) AS hi FROM heap.users"))[0];
        Assert.Equal((long)rows, summary["n"]);
        Assert.Equal((long)rows, summary["ids"]);
        Assert.Equal((decimal)rows * (rows + 1) / 2, summary["total"]);
        Assert.Single(await QueryAsync("SELECT 1 FROM heapd.load_ledger"));
    }

    internal static string UsersCsv(int rows)
    {
        var text = new StringBuilder("user_id,email,joined_at,score\n");
        for (var i = 1; i <= rows; i++) text.Append($"{i},user{i}@example.com,2026-11-01T00:00:00Z,{i % 1000}.25\n");
        return text.ToString();
    }
}
