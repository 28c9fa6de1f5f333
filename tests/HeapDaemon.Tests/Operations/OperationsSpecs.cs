using System.Net;
using System.Text.Json;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Operations;

/// <summary>Health, readiness and metrics, as an orchestrator and Prometheus read them.</summary>
public sealed class OperationsSpecs : DaemonSpecs
{
    protected override IReadOnlyDictionary<string, string> DaemonSettings => new Dictionary<string, string>
    {
        ["Health:S3CheckInterval"] = "00:00:10",
    };

    [Fact]
    public async Task Ready_needs_PostgreSQL_and_the_journal_and_an_unreachable_customer_endpoint_only_degrades_it()
    {
        using var anonymous = Daemon.CreateClient();
        // A daemon that has just started is not ready yet: it joins its cluster (of one), and persistence makes the
        // journal's tables when sharding first starts. What it needs is read once it says it is ready.
        await WaitUntilReadyAsync(anonymous);
        var ready = await ReadJsonAsync(anonymous, "/readyz", HttpStatusCode.OK);
        Assert.Equal("healthy", ready.GetProperty("status").GetString());
        Assert.Equal("healthy", ready.GetProperty("checks").GetProperty("postgresql").GetProperty("status").GetString());
        Assert.Equal("healthy", ready.GetProperty("checks").GetProperty("journal").GetProperty("status").GetString());

        // A courier whose customer's endpoint is down: its runs will fail, the daemon serves every other courier.
        await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/credentials", new { id = "down", kind = "s3", bucket = Bucket, endpointUrl = "http://127.0.0.1:9", accessKeyId = "a", secretAccessKey = "b" });
        await Api.PostOkAsync("/api/couriers", new { id = "down", credentialId = "down", files = new[] { new { key = "users.csv", feedId = "heap-users" } } });
        await RestartDaemonAsync(); // the S3 check keeps its last answer for a while; a new daemon asks afresh
        using var again = Daemon.CreateClient();
        await WaitUntilReadyAsync(again); // degraded is ready (200) as well

        var degraded = await ReadJsonAsync(again, "/readyz", HttpStatusCode.OK);
        var s3 = degraded.GetProperty("checks").GetProperty("s3-endpoints");
        Assert.Equal("degraded", degraded.GetProperty("status").GetString());
        Assert.Equal("degraded", s3.GetProperty("status").GetString());
        Assert.Contains("credential 'down'", s3.GetProperty("description").GetString());
        Assert.Contains("endpoint unreachable", s3.GetProperty("description").GetString());
        Assert.Equal("healthy", (await ReadJsonAsync(again, "/healthz", HttpStatusCode.OK)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Not_ready_without_the_journal_and_alive_all_the_same()
    {
        using var anonymous = Daemon.CreateClient();
        await WaitUntilReadyAsync(anonymous);
        await QueryAsync("ALTER TABLE akka.journal RENAME TO journal_gone");

        var ready = await ReadJsonAsync(anonymous, "/readyz", HttpStatusCode.ServiceUnavailable);
        var alive = await anonymous.GetAsync("/healthz");

        Assert.Equal("unhealthy", ready.GetProperty("checks").GetProperty("journal").GetProperty("status").GetString());
        Assert.Equal("healthy", ready.GetProperty("checks").GetProperty("postgresql").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        await QueryAsync("ALTER TABLE akka.journal_gone RENAME TO journal");
    }

    [Fact]
    public async Task Metrics_show_each_couriers_last_success_and_its_queue_and_the_last_success_survives_a_restart()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", "user_id,email,joined_at,score\n1,a@example.com,2026-11-01T00:00:00Z,1\n");
        await CreateCourierAsync("metered", "users.csv");
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var run = await Api.RunAsync("metered");

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        var metrics = await Daemon.CreateClient().GetStringAsync("/metrics");
        Assert.Contains("heapd_run_queue_length{courier=\"metered\"} 0\n", metrics);
        var lastSuccess = Sample(metrics, "heapd_courier_last_success_timestamp_seconds{courier=\"metered\"}");
        Assert.InRange(lastSuccess, before - 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.Contains("heapd_files_total{status=\"loaded\"} 1\n", metrics);

        await RestartDaemonAsync();

        var afterRestart = await Daemon.CreateClient().GetStringAsync("/metrics");
        // heapd.runs keeps microseconds, the gauge milliseconds.
        Assert.InRange(Sample(afterRestart, "heapd_courier_last_success_timestamp_seconds{courier=\"metered\"}"), lastSuccess - 0.01, lastSuccess + 0.01);
    }

    private static async Task WaitUntilReadyAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await client.GetAsync("/readyz")).StatusCode != HttpStatusCode.OK)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the daemon was not ready within 60 s");
            await Task.Delay(100);
        }
    }

    /// <summary>The value of one series in Prometheus text.</summary>
    internal static double Sample(string metrics, string series)
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        Assert.True(line is not null, $"no {series} in:\n{metrics}");
        return double.Parse(line![(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpClient client, string path, HttpStatusCode status)
    {
        var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }
}
