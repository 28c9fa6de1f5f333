using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Operations;

/// <summary>The daemon as users start it (its own process): a bad setting stops the start with one line.</summary>
public sealed class DaemonStartSpecs
{
    [Theory]
    [InlineData("HEAPD__Loading__BatchRows", "0", "Loading:BatchRows must be 1-1000000 (rows per COPY batch)")]
    [InlineData("HEAPD__Loading__BatchRows", "many", "Loading:BatchRows 'many' is not valid: expected a whole number")]
    [InlineData("HEAPD__Runs__RetryMaxDelay", "00:00:01", "Runs:RetryMaxDelay must be at least Runs:RetryBaseDelay")]
    [InlineData("HEAPD__Admin__ViewerTokens__0", "short", "Admin:ViewerTokens must each be at least 16 characters")]
    [InlineData("HEAPD__Secrets__MasterKey", "bm90LWEta2V5", "Secrets:MasterKey must be 32 random bytes in base64")]
    [InlineData("HEAPD__Logging__Format", "xml", "Logging:Format 'xml' is not valid: use simple or json")]
    [InlineData("HEAPD__S3__ReadStallTimeout", "00:00:00", "S3:ReadStallTimeout must be a duration above zero")]
    [InlineData("HEAPD__Notifications__PublicBaseUrl", "heapd.example.com", "Notifications:PublicBaseUrl must be an absolute http(s) URL")]
    [InlineData("HEAPD__Notifications__RetryMaxDelay", "00:00:01", "Notifications:RetryMaxDelay must be at least Notifications:RetryBaseDelay")]
    [InlineData("HEAPD__Loading__MergeWorkMem", "lots", "Loading:MergeWorkMem 'lots' must be a PostgreSQL memory size like 256MB")]
    [InlineData("HEAPD__Loading__Parallelism", "0", "Loading:Parallelism must be 1-64")]
    [InlineData("HEAPD__Cluster__SeedNodes__0", "http://127.0.0.1:4053", "Cluster:SeedNodes must each be akka.tcp://heapdaemon@host:port")]
    [InlineData("HEAPD__Cluster__SeedNodes__0", "akka.tcp://other@127.0.0.1:4053", "Cluster:SeedNodes must each be akka.tcp://heapdaemon@host:port")]
    [InlineData("HEAPD__Cluster__Port", "70000", "Cluster:Port must be 0-65535")]
    [InlineData("HEAPD__Cluster__DownAfter", "00:00:00.100", "Cluster:DownAfter must be at least 00:00:01")]
    [InlineData("HEAPD__Cluster__Discovery", "dns", "Cluster:Discovery must be seeds, config or kubernetes")]
    public async Task A_bad_setting_stops_the_start_with_one_line_naming_the_key_and_the_rule(string variable, string value, string line)
    {
        var (exitCode, output) = await RunAsync(new Dictionary<string, string> { [variable] = value });

        Assert.Equal(1, exitCode);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, "expected one line, got:\n" + output);
        Assert.StartsWith("HeapDaemon cannot start: ", lines[0]);
        Assert.Contains(line, lines[0]);
    }

    [Fact]
    public async Task Several_bad_settings_are_all_named_in_the_one_line()
    {
        var (exitCode, output) = await RunAsync(new Dictionary<string, string>
        {
            ["HEAPD__Loading__BatchRows"] = "0",
            ["HEAPD__S3__MaxResumes"] = "-1",
        });

        Assert.Equal(1, exitCode);
        Assert.Contains("Loading:BatchRows must be 1-1000000", output);
        Assert.Contains("S3:MaxResumes must be 0-100", output);
    }

    /// <remarks>
    /// A size of the right form that PostgreSQL refuses is found when the daemon first asks it, at start. In its own
    /// process because in process (WebApplicationFactory) a start that fails this fast could dispose the host before
    /// the factory read its services, failing with ObjectDisposedException instead of the reason.
    /// </remarks>
    [Fact]
    public Task A_merge_work_mem_PostgreSQL_refuses_stops_the_start_with_one_line_naming_the_setting() =>
        StopsWithAsync(new Dictionary<string, string> { ["HEAPD__Loading__MergeWorkMem"] = "99999999TB" },
            "Loading:MergeWorkMem '99999999TB' is not a work_mem PostgreSQL accepts");

    [Fact]
    public async Task The_admin_address_in_use_stops_the_start_with_one_line_naming_it()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";
        var output = await StopsWithAsync(new Dictionary<string, string> { ["Urls"] = url },
            $"the admin API's address {url} (Urls) is in use by another process");
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task The_cluster_management_port_in_use_stops_the_start_with_one_line_naming_the_setting()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var output = await StopsWithAsync(new Dictionary<string, string>
        {
            ["HEAPD__Cluster__Discovery"] = "config",
            ["HEAPD__Cluster__ManagementPort"] = port.ToString(),
            ["HEAPD__Cluster__ContactPoints__0"] = $"127.0.0.1:{port}",
            ["HEAPD__Cluster__RequiredContactPoints"] = "1",
        }, $"Cluster:ManagementPort {port} is in use by another process");
        Assert.DoesNotContain("   at ", output);
    }

    /// <summary>A start that gets as far as asking its database stops with exit code 1 and this in its one line.</summary>
    /// <returns>Everything the daemon wrote.</returns>
    private static async Task<string> StopsWithAsync(IReadOnlyDictionary<string, string> settings, string reason)
    {
        var database = await TestEnvironment.CreateDatabaseAsync();
        try
        {
            var (exitCode, output) = await RunAsync(settings, database);

            Assert.Equal(1, exitCode);
            var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                l => l.StartsWith("HeapDaemon cannot start: ", StringComparison.Ordinal));
            Assert.Contains(reason, line);
            return output;
        }
        finally
        {
            await TestEnvironment.DropDatabaseAsync(database);
        }
    }

    /// <summary>Starts the daemon's build output with valid settings plus these; it stops by itself on a bad one.</summary>
    /// <param name="database">The database it may reach; by default none (the start stops before anything connects).</param>
    private static async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyDictionary<string, string> settings, string database = "Host=127.0.0.1;Port=1;Database=none")
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "HeapDaemon.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ConnectionStrings__Postgres"] = database;
        start.Environment["HEAPD__Admin__Token"] = DaemonHost.Token;
        start.Environment["HEAPD__Secrets__MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        start.Environment["Urls"] = "http://127.0.0.1:0";
        foreach (var (key, value) in settings) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the daemon did not stop on a bad setting:\n{await stdout}{await stderr}");
        }
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}

/// <summary><c>Logging:Format=json</c>: one JSON object per line, with a run's courier and run ids as fields.</summary>
public sealed class JsonLogSpecs : DaemonSpecs
{
    [Fact]
    public async Task Json_logs_carry_the_courier_and_run_ids_as_fields()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", "user_id,email,joined_at,score\n1,a@example.com,2026-11-01T00:00:00Z,1\n");
        await CreateCourierAsync("logged", "users.csv");
        await using var process = new DaemonProcess(ConnectionString, MasterKey, new Dictionary<string, string> { ["HEAPD__Logging__Format"] = "json" });
        await Daemon.DisposeAsync(); // one daemon at a time on the database
        await process.StartAsync();
        using var api = process.Api();

        var run = await api.RunAsync("logged");

        var runId = run.GetProperty("id").GetString();
        var entries = process.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var started = entries.Single(e => e.GetProperty("State").TryGetProperty("{OriginalFormat}", out var format) &&
                                          format.GetString()!.StartsWith("Run {RunId} of courier {CourierId} started", StringComparison.Ordinal));
        Assert.Equal(runId, started.GetProperty("State").GetProperty("RunId").GetString());
        Assert.Equal("logged", started.GetProperty("State").GetProperty("CourierId").GetString());
        StartDaemon(); // DaemonSpecs disposes the in-process daemon at the end
    }
}
