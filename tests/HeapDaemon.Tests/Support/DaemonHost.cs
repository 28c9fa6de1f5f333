using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDaemon.Actors.Json;
using HeapDaemon.Actors.Runs;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace HeapDaemon.Tests.Support;

/// <summary>
/// The real daemon (its Program, actor system and SQL journal) in process, on a test database, reached over HTTP.
/// Disposing it stops the actor system; a new host on the same database is a daemon restart.
/// </summary>
/// <param name="clock">The daemon's clock, for tests that move time (schedules); the real one when null.</param>
/// <param name="settings">Extra configuration for this daemon, e.g. a lower limit a test can reach, or previous master keys.</param>
public sealed class DaemonHost(string connectionString, string masterKey, TimeProvider? clock = null, IReadOnlyDictionary<string, string>? settings = null)
    : WebApplicationFactory<Program>
{
    public const string Token = "test-token-0123456789abcdef";

    public static readonly JsonSerializerOptions Json = HeapJson.Options;

    public string ConnectionString { get; } = connectionString;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // As users run it: WebApplicationFactory's default, Development, changes how the framework answers some errors.
        builder.UseEnvironment("Production");
        builder.UseSetting("ConnectionStrings:Postgres", ConnectionString);
        builder.UseSetting("Admin:Token", Token);
        builder.UseSetting("Secrets:MasterKey", masterKey);
        builder.UseSetting("S3:MaxErrorRetry", "1");
        builder.UseSetting("S3:RequestTimeout", "00:00:20");
        builder.UseSetting("S3:ReadStallTimeout", "00:00:02");
        builder.UseSetting("Runs:RetryBaseDelay", "00:00:00.200");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        // The daemon's own AWS identity may assume the test role but read nothing itself, so a role-mode read proves the role.
        builder.UseSetting("Aws:AccessKeyId", TestEnvironment.S3AuthDeniedKeyId);
        builder.UseSetting("Aws:SecretAccessKey", TestEnvironment.S3AuthDeniedSecret);
        if (clock is not null) builder.ConfigureServices(services => services.AddSingleton(clock));
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) builder.UseSetting(key, value);
    }

    /// <summary>A client with the admin token whose every answer is checked for the daemon's internals (<see cref="Internals"/>).</summary>
    public HttpClient Api()
    {
        var client = CreateDefaultClient(new InternalsCheckingHandler());
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return client;
    }
}

public static class ApiExtensions
{
    public static async Task<JsonElement> PostOkAsync(this HttpClient client, string path, object? body = null)
    {
        var response = await client.PostAsJsonAsync(path, body ?? new { }, DaemonHost.Json);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    public static async Task<JsonElement> GetOkAsync(this HttpClient client, string path)
    {
        var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>Starts a run and waits for it to end; returns the run as GET /api/runs/{id} shows it.</summary>
    public static async Task<JsonElement> RunAsync(this HttpClient client, string courierId, object? request = null)
    {
        var accepted = await client.PostOkAsync($"/api/couriers/{courierId}/runs", request);
        return await client.WaitForRunAsync(accepted.GetProperty("runId").GetGuid());
    }

    public static async Task<JsonElement> WaitForRunAsync(this HttpClient client, Guid runId, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            // A database that just restarted answers 503 once per dead pooled connection; keep asking.
            var response = await client.GetAsync($"/api/runs/{runId}");
            if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
                continue;
            }
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"GET /api/runs/{runId}: {(int)response.StatusCode} {text}");
            var run = JsonDocument.Parse(text).RootElement.GetProperty("run");
            var status = Enum.Parse<RunStatus>(run.GetProperty("status").GetString()!, true);
            if (status is not (RunStatus.Queued or RunStatus.Running)) return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {runId} still {status}: {run}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits until a run has loaded some rows of a file, so a fault or a cancel lands mid-load.</summary>
    public static async Task WaitForProgressAsync(this HttpClient client, Guid runId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var view = await client.GetOkAsync($"/api/runs/{runId}");
            if (view.TryGetProperty("progress", out var progress) && progress.GetProperty("rowsRead").GetInt64() > 0) return;
            await Task.Delay(20);
        }
        throw new TimeoutException($"run {runId} loaded no rows within 60 s");
    }
}
