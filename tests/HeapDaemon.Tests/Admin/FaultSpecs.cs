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
        await using (var admin = new NpgsqlConnection(ConnectionString))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", admin);
            Assert.True((long)(await kill.ExecuteScalarAsync())! > 0);
        }
        var run = await Api.WaitForRunAsync(runId, TimeSpan.FromSeconds(120));

        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        await AssertExactlyLoadedAsync(rows);
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
