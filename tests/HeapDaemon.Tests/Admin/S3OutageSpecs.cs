using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Heap;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>
/// An S3 endpoint that refuses connections for a while, as one does while MinIO or a proxy restarts: a run waits it
/// out with its backoff, and says how long it tried when the outage outlasts it; interactive calls answer at once.
/// </summary>
public sealed partial class S3OutageSpecs : DaemonSpecs
{
    private const int MaxAttempts = 6;

    /// <summary>Backoffs of 1, 2, 2, 2, 2 s (±20%): an outage of several seconds is ridden out, a run that gives up does so soon.</summary>
    protected override IReadOnlyDictionary<string, string> DaemonSettings => new Dictionary<string, string>
    {
        ["Runs:MaxAttempts"] = $"{MaxAttempts}",
        ["Runs:RetryBaseDelay"] = "00:00:01",
        ["Runs:RetryMaxDelay"] = "00:00:02",
    };

    [Fact]
    public async Task A_files_run_whose_endpoint_goes_down_mid_object_waits_for_it_and_loads_exactly_the_files_rows()
    {
        const int rows = 150_000;
        await TestEnvironment.PutAsync(S3, Bucket, "big.csv", FaultSpecs.UsersCsv(rows));
        await using var proxy = new FaultyProxy(TestEnvironment.S3Endpoint, _ => new Fault.None());
        await CreateProxiedCourierAsync(proxy, new { id = "outage", credentialId = "proxied", files = new[] { new { key = "big.csv", feedId = "heap-users" } } });
        var runId = (await Api.PostOkAsync("/api/couriers/outage/runs")).GetProperty("runId").GetGuid();
        await Api.WaitForProgressAsync(runId);

        await proxy.StopAsync();
        var waiting = await WaitForRetryAsync(runId);
        proxy.Start();
        var run = await Api.WaitForRunAsync(runId, TimeSpan.FromSeconds(120));

        Assert.Contains("Connection refused", waiting.GetProperty("message").GetString());
        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        var summary = (await QueryAsync("SELECT count(*) AS n, count(DISTINCT user_id) AS ids FROM heap.users"))[0];
        Assert.Equal((long)rows, summary["n"]);
        Assert.Equal((long)rows, summary["ids"]);
        Assert.Single(await QueryAsync("SELECT 1 FROM heapd.load_ledger"));
    }

    [Fact]
    public async Task A_heap_run_whose_endpoint_refuses_connections_at_first_waits_for_it_and_applies_the_dumps()
    {
        var export = new HeapExportGenerator(3, Bucket).Generate();
        await export.UploadAsync(S3);
        await using var proxy = new FaultyProxy(TestEnvironment.S3Endpoint, _ => new Fault.None());
        await CreateProxiedCourierAsync(proxy, new { id = "heap", credentialId = "proxied", kind = "heap" }, heap: true);

        await proxy.StopAsync();
        var runId = (await Api.PostOkAsync("/api/couriers/heap/runs")).GetProperty("runId").GetGuid();
        var waiting = await WaitForRetryAsync(runId);
        proxy.Start();
        var run = await Api.WaitForRunAsync(runId, TimeSpan.FromSeconds(120));

        Assert.Contains("could not read the manifests", waiting.GetProperty("message").GetString());
        Assert.True(run.GetProperty("status").GetString() == "succeeded", run.ToString());
        foreach (var (table, expected) in export.Expected) await HeapTables.AssertAsync(QueryAsync, table, expected);
    }

    [Fact]
    public async Task A_run_gives_up_when_the_outage_outlasts_its_attempts_saying_how_long_it_tried_and_interactive_calls_answer_at_once()
    {
        await using var proxy = new FaultyProxy(TestEnvironment.S3Endpoint, _ => new Fault.None());
        await CreateProxiedCourierAsync(proxy, new { id = "down", credentialId = "proxied", files = new[] { new { key = "users.csv", feedId = "heap-users" } } });
        await proxy.StopAsync();

        var run = await Api.RunAsync("down");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("message").GetString()!;
        var tried = TriedFor().Match(message);
        Assert.True(tried.Success, message);
        Assert.Equal(proxy.Endpoint, tried.Groups["endpoint"].Value);
        Assert.Equal($"{MaxAttempts}", tried.Groups["attempts"].Value);
        // The backoffs between the attempts alone take at least 0.8 × (1 + 2 + 2 + 2 + 2) s.
        Assert.True(Seconds(tried.Groups["duration"].Value) >= 7, message);
        Assert.Contains($"s3://{Bucket}/users.csv: endpoint unreachable (Connection refused)", message);

        // The connection test and the browser are for a person waiting: they say so at once and do not retry.
        var test = await Api.PostOkAsync("/api/credentials/proxied/test");
        Assert.False(test.GetProperty("ok").GetBoolean());
        Assert.Contains("Connection refused", test.GetProperty("message").GetString());
        var browse = await Api.GetAsync("/api/credentials/proxied/browse");
        Assert.False(browse.IsSuccessStatusCode);
        Assert.Contains("Connection refused", await browse.Content.ReadAsStringAsync());
    }

    /// <summary>A courier reading through the proxy; a files courier loads into the users feed (a Heap courier makes its own).</summary>
    private async Task CreateProxiedCourierAsync(FaultyProxy proxy, object courier, bool heap = false)
    {
        if (!heap) await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/credentials", new { id = "proxied", kind = "s3", bucket = Bucket, endpointUrl = proxy.Endpoint, accessKeyId = "a", secretAccessKey = "b" });
        await Api.PostOkAsync("/api/couriers", courier);
    }

    /// <summary>
    /// Waits until the run failed an attempt and is queued to be tried again; returns the run as it was then. Any attempt
    /// but the last will do: on a loaded machine a poll can miss the first backoff's second.
    /// </summary>
    private async Task<JsonElement> WaitForRetryAsync(Guid runId)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(50))
        {
            var run = (await Api.GetOkAsync($"/api/runs/{runId}")).GetProperty("run");
            if (run.GetProperty("status").GetString() == "queued" && run.TryGetProperty("message", out var message)
                && message.GetString()!.StartsWith("attempt ", StringComparison.Ordinal)
                && !message.GetString()!.StartsWith($"attempt {MaxAttempts - 1} of ", StringComparison.Ordinal))
                return run;
            Assert.True(run.GetProperty("status").GetString() is "queued" or "running", $"the run ended instead of waiting for the endpoint: {run}");
            Assert.True(DateTime.UtcNow < deadline, $"the run never failed an attempt: {run}");
        }
    }

    /// <summary>"1 min 10 s", "7 s", "1 h 2 min" as seconds.</summary>
    private static double Seconds(string duration) =>
        DurationPart().Matches(duration).Sum(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) *
            m.Groups[2].Value switch { "h" => 3600, "min" => 60, _ => 1 });

    [GeneratedRegex(@"^S3 endpoint (?<endpoint>\S+) refused connections for (?<duration>.+?) over (?<attempts>\d+) attempts; ")]
    private static partial Regex TriedFor();

    [GeneratedRegex(@"([\d.]+) (h|min|s)\b")]
    private static partial Regex DurationPart();
}
