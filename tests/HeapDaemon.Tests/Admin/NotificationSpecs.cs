using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>Webhooks for failures, delivered to a real HTTP listener inside the test: signed, retried, never in a run's way.</summary>
public sealed class NotificationSpecs : DaemonSpecs, IAsyncLifetime
{
    private const string PublicBaseUrl = "https://heapd.example.test";

    private WebhookListener _listener = null!;

    protected override IReadOnlyDictionary<string, string> DaemonSettings => new Dictionary<string, string>
    {
        ["Notifications:PublicBaseUrl"] = PublicBaseUrl,
        ["Notifications:MaxAttempts"] = "3",
        ["Notifications:RetryBaseDelay"] = "00:00:00.100",
        ["Notifications:RetryMaxDelay"] = "00:00:00.500",
        // Long: a listener that holds a request decides when the attempt ends, not a timer.
        ["Notifications:AttemptTimeout"] = "00:10:00",
        // Room to bring an S3 endpoint back between a run's attempts (1, 2, 2, ... s).
        ["Runs:MaxAttempts"] = "6",
        ["Runs:RetryBaseDelay"] = "00:00:01",
        ["Runs:RetryMaxDelay"] = "00:00:02",
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _listener = await WebhookListener.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await _listener.DisposeAsync();
        await DisposeAsync();
    }

    [Fact]
    public async Task A_failing_run_delivers_a_signed_body_with_its_courier_run_message_and_link_and_the_secret_is_shown_once()
    {
        var created = await Api.PostOkAsync("/api/notifications", new { url = _listener.Url("/hooks/ops"), events = new[] { "runFailed" }, description = "ops" });
        var (id, secret) = (created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
        Assert.StartsWith("whsec_", secret);
        await Api.PostOkAsync("/api/notifications", new { id = "stops-only", url = _listener.Url("/hooks/stops"), events = new[] { "courierStopped" } });

        var run = await FailingRunAsync("missing");

        var request = Assert.Single(await _listener.WaitForAsync("/hooks/ops", 1));
        AssertSigned(request, secret);
        var body = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal("runFailed", body.GetProperty("type").GetString());
        Assert.Equal(id, body.GetProperty("webhookId").GetString());
        Assert.Equal("missing", body.GetProperty("courierId").GetString());
        Assert.Equal(run.GetProperty("id").GetGuid(), body.GetProperty("runId").GetGuid());
        Assert.Equal(run.GetProperty("message").GetString(), body.GetProperty("message").GetString());
        Assert.Equal($"{PublicBaseUrl}/api/runs/{run.GetProperty("id").GetGuid()}", body.GetProperty("link").GetString());
        Assert.True(body.GetProperty("time").GetDateTimeOffset() >= run.GetProperty("startedAt").GetDateTimeOffset());
        Assert.Equal(body.GetProperty("id").GetString(), request.Headers["X-HeapDaemon-Delivery"]);
        Assert.Equal("runFailed", request.Headers["X-HeapDaemon-Event"]);
        var delivered = await LastDeliveryAsync(id);
        Assert.True(delivered.GetProperty("delivered").GetBoolean());
        Assert.Equal(1, delivered.GetProperty("attempts").GetInt32());

        // Write-only: never shown again, never stored in the clear.
        var shown = await Api.GetStringAsync("/api/notifications") + await Api.GetStringAsync($"/api/notifications/{id}");
        Assert.DoesNotContain(secret, shown);
        Assert.Contains("\"url\":", shown);
        var stored = await QueryAsync("SELECT encode(secret, 'escape') AS secret FROM heapd.webhooks");
        Assert.All(stored, row => Assert.DoesNotContain(secret, (string)row["secret"]!));
        Assert.DoesNotContain(_listener.Received, r => r.Path == "/hooks/stops");
    }

    [Fact]
    public async Task After_a_master_key_rotation_a_webhooks_secret_is_sealed_anew_and_still_signs()
    {
        const string secret = "rotate-me-0123456789";
        await Api.PostOkAsync("/api/notifications", new { id = "rotated", url = _listener.Url("/hooks/rotated"), events = new[] { "runFailed" }, secret });
        var sealedBefore = (byte[])(await QueryAsync("SELECT secret FROM heapd.webhooks"))[0]["secret"]!;
        var oldKey = MasterKey;
        MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

        await RestartDaemonAsync(oldKey);
        Assert.NotEqual(sealedBefore, (byte[])(await QueryAsync("SELECT secret FROM heapd.webhooks"))[0]["secret"]!);
        await RestartDaemonAsync();
        await FailingRunAsync("rotated");

        AssertSigned(Assert.Single(await _listener.WaitForAsync("/hooks/rotated", 1)), secret);
    }

    [Fact]
    public async Task A_listener_that_answers_500_twice_gets_the_event_on_the_third_try_each_attempt_signed_anew()
    {
        _listener.Answer("/hooks/flaky", attempt => attempt <= 2 ? 500 : 200);
        var created = await Api.PostOkAsync("/api/notifications", new
        {
            url = _listener.Url("/hooks/flaky"), events = new[] { "runFailed" }, secret = "a-secret-of-our-own-0123",
        });

        await FailingRunAsync("flaky");

        var attempts = await _listener.WaitForAsync("/hooks/flaky", 3);
        Assert.Equal([1, 2, 3], attempts.Select(a => a.Attempt));
        Assert.Single(attempts.Select(a => Encoding.UTF8.GetString(a.Body)).Distinct());
        Assert.Single(attempts.Select(a => a.Headers["X-HeapDaemon-Delivery"]).Distinct());
        Assert.All(attempts, a => AssertSigned(a, "a-secret-of-our-own-0123"));
        var delivery = await LastDeliveryAsync(created.GetProperty("id").GetString()!);
        Assert.True(delivery.GetProperty("delivered").GetBoolean());
        Assert.Equal(3, delivery.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task A_listener_that_never_answers_does_not_hold_up_the_run_which_ends_before_the_delivery_gives_up()
    {
        var release = new TaskCompletionSource();
        _listener.Hang("/hooks/dead", release.Task);
        var id = (await Api.PostOkAsync("/api/notifications", new { url = _listener.Url("/hooks/dead"), events = new[] { "runFailed" } }))
            .GetProperty("id").GetString()!;

        var run = await FailingRunAsync("dead");

        // The run has ended while the first attempt is still held by the listener, unanswered.
        var held = Assert.Single(await _listener.WaitForAsync("/hooks/dead", 1));
        Assert.False(held.Aborted.IsCompleted);
        Assert.Equal("failed", (await Api.GetOkAsync($"/api/runs/{run.GetProperty("id").GetGuid()}")).GetProperty("run").GetProperty("status").GetString());
        Assert.False((await Api.GetOkAsync($"/api/notifications/{id}")).TryGetProperty("lastDelivery", out _));

        // Released, the listener drops every connection: the delivery gives up after its three attempts, after the run.
        release.SetResult();
        var gaveUp = await LastDeliveryAsync(id);
        Assert.False(gaveUp.GetProperty("delivered").GetBoolean());
        Assert.Equal(3, gaveUp.GetProperty("attempts").GetInt32());
        Assert.True(gaveUp.GetProperty("at").GetDateTimeOffset() > run.GetProperty("finishedAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task Deleting_a_webhook_stops_its_delivery_in_flight_and_it_hears_no_later_event()
    {
        _listener.Hang("/hooks/gone", new TaskCompletionSource().Task);
        var id = (await Api.PostOkAsync("/api/notifications", new { url = _listener.Url("/hooks/gone"), events = new[] { "runFailed" } }))
            .GetProperty("id").GetString()!;
        await FailingRunAsync("gone");
        var inFlight = Assert.Single(await _listener.WaitForAsync("/hooks/gone", 1));

        Assert.Equal(HttpStatusCode.NoContent, (await Api.DeleteAsync($"/api/notifications/{id}")).StatusCode);

        await inFlight.Aborted.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync($"/api/notifications/{id}")).StatusCode);
        // A webhook made after the delete hears the next failure; the deleted one does not.
        await Api.PostOkAsync("/api/notifications", new { url = _listener.Url("/hooks/witness"), events = new[] { "runFailed" } });
        var next = await Api.RunAsync("gone");
        var witnessed = Assert.Single(await _listener.WaitForAsync("/hooks/witness", 1));
        Assert.Equal(next.GetProperty("id").GetGuid(), JsonDocument.Parse(witnessed.Body).RootElement.GetProperty("runId").GetGuid());
        Assert.Single(_listener.Received, r => r.Path == "/hooks/gone");
        Assert.Equal(HttpStatusCode.NotFound, (await Api.DeleteAsync($"/api/notifications/{id}")).StatusCode);
    }

    [Fact]
    public async Task A_run_that_succeeds_after_a_failed_attempt_sends_run_succeeded_after_retries_and_no_run_failed()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", "user_id,email,joined_at,score\n1,a@example.com,2026-11-01 10:00:00,1.50\n");
        await using var proxy = new FaultyProxy(TestEnvironment.S3Endpoint, _ => new Fault.None());
        await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/credentials", new { id = "proxied", kind = "s3", bucket = Bucket, endpointUrl = proxy.Endpoint, accessKeyId = "a", secretAccessKey = "b" });
        await Api.PostOkAsync("/api/couriers", new { id = "recovers", credentialId = "proxied", files = new[] { new { key = "users.csv", feedId = "heap-users" } } });
        await Api.PostOkAsync("/api/notifications", new { url = _listener.Url("/hooks/recovery"), events = new[] { "runSucceededAfterRetries", "runFailed" } });

        await proxy.StopAsync();
        var runId = (await Api.PostOkAsync("/api/couriers/recovers/runs")).GetProperty("runId").GetGuid();
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(50))
        {
            var waiting = (await Api.GetOkAsync($"/api/runs/{runId}")).GetProperty("run");
            if (waiting.GetProperty("status").GetString() == "queued" && waiting.TryGetProperty("message", out var m) && m.GetString()!.StartsWith("attempt 1 of ")) break;
            Assert.True(waiting.GetProperty("status").GetString() is "queued" or "running" && DateTime.UtcNow < deadline, waiting.ToString());
        }
        proxy.Start();
        var run = await Api.WaitForRunAsync(runId, TimeSpan.FromSeconds(120));
        Assert.Equal("succeeded", run.GetProperty("status").GetString());

        var body = JsonDocument.Parse(Assert.Single(await _listener.WaitForAsync("/hooks/recovery", 1)).Body).RootElement;
        Assert.Equal("runSucceededAfterRetries", body.GetProperty("type").GetString());
        Assert.Equal(runId, body.GetProperty("runId").GetGuid());
        Assert.Matches("^succeeded on attempt [2-6] of 6, after [1-5] failed: ", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_heap_dump_that_cannot_apply_sends_heap_dump_blocked_with_the_dump()
    {
        var export = new HeapExportGenerator(43, Bucket).Generate();
        var missing = export.ObjectsOf(export.DumpIds[0]).First(o => o.Key.Contains("/users/part-00000"));
        await export.UploadAsync(S3, export.ObjectsOf(export.DumpIds[0]).Where(o => o != missing));
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });
        await Api.PostOkAsync("/api/notifications", new { url = _listener.Url("/hooks/heap"), events = new[] { "heapDumpBlocked", "runFailed" } });

        var run = await Api.RunAsync("heap");

        var received = await _listener.WaitForAsync("/hooks/heap", 2);
        var bodies = received.Select(r => JsonDocument.Parse(r.Body).RootElement).ToDictionary(b => b.GetProperty("type").GetString()!);
        Assert.Equal(export.DumpIds[0], bodies["heapDumpBlocked"].GetProperty("dumpId").GetInt64());
        Assert.Equal(run.GetProperty("id").GetGuid(), bodies["heapDumpBlocked"].GetProperty("runId").GetGuid());
        Assert.Contains(missing.Key, bodies["heapDumpBlocked"].GetProperty("message").GetString());
        Assert.False(bodies["runFailed"].TryGetProperty("dumpId", out _));
    }

    [Theory]
    [InlineData("""{"url":"ftp://example.com/hook","events":["runFailed"]}""", "url 'ftp://example.com/hook' must be an absolute http or https URL")]
    [InlineData("""{"url":"http://169.254.169.254/latest","events":["runFailed"]}""", "url: the URL 'http://169.254.169.254/latest' points at 169.254.169.254, an instance-metadata address, which is blocked")]
    [InlineData("""{"url":"http://127.0.0.1:9/hook","events":["runFailed","runExploded"]}""", "events[1]: \"runExploded\" is not valid: expected one of: runFailed, runSucceededAfterRetries, courierStopped, heapDumpBlocked, stitchFailed")]
    [InlineData("""{"url":"http://127.0.0.1:9/hook"}""", "events: required, but missing")]
    [InlineData("""{"url":"http://127.0.0.1:9/hook","events":[]}""", "events is required: one or more of runFailed, runSucceededAfterRetries, courierStopped, heapDumpBlocked, stitchFailed")]
    [InlineData("""{"events":["runFailed"]}""", "url: required, but missing")]
    [InlineData("""{"url":"","events":["runFailed"]}""", "url is required")]
    [InlineData("""{"url":"http://127.0.0.1:9/hook","events":["runFailed"],"secret":"short"}""", "secret must be 16 to 256 characters")]
    [InlineData("""{"url":"http://127.0.0.1:9/hook","events":["runFailed"],"retries":3}""", "retries: not a property the daemon knows; the body takes: url, events, id, secret, description")]
    [InlineData("""{"url":42,"events":["runFailed"]}""", "url: 42 is not valid: expected a string")]
    [InlineData("""{"url":"http://127.0.0.1:9/hook","events":"runFailed"}""", "events: \"runFailed\" is not valid: expected a list")]
    [InlineData("""{"url":"http://127.0.0.1:9/hook",""", "the body is not valid JSON at line 1")]
    [InlineData("", "the request needs a JSON body")]
    public async Task Bad_input_is_a_400_naming_the_field_in_the_users_words(string body, string reason)
    {
        var response = await Api.PostAsync("/api/notifications", new StringContent(body, Encoding.UTF8, "application/json"));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Contains(reason, JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString());
        Assert.DoesNotContain("HeapDaemon.", text);
        Assert.DoesNotContain("System.", text);
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.webhooks"));
    }

    /// <summary>A courier whose one file does not exist: its run fails at once, and lasting, so it is not retried.</summary>
    private async Task<JsonElement> FailingRunAsync(string courierId)
    {
        await CreateCourierAsync(courierId, $"{courierId}/no-such-file.csv");
        var run = await Api.RunAsync(courierId);
        Assert.Equal("failed", run.GetProperty("status").GetString());
        return run;
    }

    /// <summary>The receiver's check: HMAC-SHA256 of "timestamp.body" with the secret, as the signature header says.</summary>
    private static void AssertSigned(ReceivedRequest request, string secret)
    {
        var timestamp = request.Headers["X-HeapDaemon-Timestamp"];
        Assert.True(long.TryParse(timestamp, out _), timestamp);
        byte[] signed = [.. Encoding.ASCII.GetBytes(timestamp + "."), .. request.Body];
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
        Assert.Equal("sha256=" + Convert.ToHexStringLower(expected), request.Headers["X-HeapDaemon-Signature"]);
    }

    private async Task<JsonElement> LastDeliveryAsync(string webhookId)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(50))
        {
            if ((await Api.GetOkAsync($"/api/notifications/{webhookId}")).TryGetProperty("lastDelivery", out var last)) return last;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"webhook {webhookId} has no delivery that ended");
        }
    }
}
