using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace HeapDaemon.Tests.Support;

/// <summary>
/// The daemon as its own operating-system process (the build output beside the tests), for what an in-process
/// host cannot show: SIGKILL at any instant, SIGTERM, and everything it writes to its logs.
/// </summary>
/// <param name="settings">Extra environment for the daemon, e.g. <c>HEAPD__Logging__Format</c>.</param>
/// <param name="clusterPort">The port it listens on for other nodes; 0 for any (a daemon alone).</param>
public sealed class DaemonProcess(string connectionString, string masterKey, IReadOnlyDictionary<string, string>? settings = null, int clusterPort = 0)
    : IAsyncDisposable
{
    private readonly int _port = FreePort();

    /// <summary>
    /// Every daemon started and not yet disposed of, killed when the test run ends: xUnit does not dispose of a class
    /// whose InitializeAsync failed, and its nodes would otherwise outlive the run, holding their ports.
    /// </summary>
    private static readonly HashSet<Process> Started = [];

    static DaemonProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            lock (Started)
                foreach (var process in Started)
                    try
                    {
                        process.Kill(entireProcessTree: true);
                    }
                    catch (InvalidOperationException)
                    {
                        // It has exited.
                    }
        };
    }

    /// <summary>
    /// <paramref name="count"/> daemons on one database that form one cluster: each names all of them as seed nodes (the
    /// first starts the cluster), on ports fixed for their life, so a node restarted is the same address.
    /// </summary>
    public static IReadOnlyList<DaemonProcess> Cluster(int count, string connectionString, string masterKey, IReadOnlyDictionary<string, string>? settings = null)
    {
        var ports = Enumerable.Range(0, count).Select(_ => FreePort()).ToList();
        return ports.Select(port =>
        {
            var all = new Dictionary<string, string>(settings ?? new Dictionary<string, string>()) { ["HEAPD__Cluster__Port"] = port.ToString() };
            for (var i = 0; i < count; i++) all[$"HEAPD__Cluster__SeedNodes__{i}"] = $"akka.tcp://heapdaemon@127.0.0.1:{ports[i]}";
            return new DaemonProcess(connectionString, masterKey, all, port);
        }).ToList();
    }

    /// <summary>
    /// <paramref name="count"/> daemons on one database that find each other by Akka.Management's cluster bootstrap with
    /// config discovery: no seed nodes, each lists every node's management endpoint, and all must answer before the
    /// lowest starts the cluster.
    /// </summary>
    /// <returns>The daemons and their management endpoints (host:port).</returns>
    public static (IReadOnlyList<DaemonProcess> Nodes, IReadOnlyList<string> ManagementEndpoints) ClusterByConfigDiscovery(
        int count, string connectionString, string masterKey, IReadOnlyDictionary<string, string>? settings = null)
    {
        var ports = Enumerable.Range(0, count).Select(_ => (Cluster: FreePort(), Management: FreePort())).ToList();
        var endpoints = ports.Select(p => $"127.0.0.1:{p.Management}").ToList();
        var nodes = ports.Select(port =>
        {
            var all = new Dictionary<string, string>(settings ?? new Dictionary<string, string>())
            {
                ["HEAPD__Cluster__Discovery"] = "config",
                ["HEAPD__Cluster__Port"] = port.Cluster.ToString(),
                ["HEAPD__Cluster__ManagementPort"] = port.Management.ToString(),
                ["HEAPD__Cluster__RequiredContactPoints"] = count.ToString(),
            };
            for (var i = 0; i < count; i++) all[$"HEAPD__Cluster__ContactPoints__{i}"] = endpoints[i];
            return new DaemonProcess(connectionString, masterKey, all, port.Cluster);
        }).ToList();
        return (nodes, endpoints);
    }

    /// <summary>The node's address in the cluster (as <c>GET /api/cluster</c> shows members).</summary>
    public string ClusterAddress => $"akka.tcp://heapdaemon@127.0.0.1:{clusterPort}";

    public bool Running => _process is { HasExited: false };
    private readonly StringBuilder _log = new();
    private Process? _process;

    public string Url => $"http://127.0.0.1:{_port}";

    /// <summary>Everything every incarnation wrote to stdout and stderr.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public HttpClient Api()
    {
        var client = new HttpClient { BaseAddress = new Uri(Url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DaemonHost.Token);
        return client;
    }

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "HeapDaemon.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ConnectionStrings__Postgres"] = connectionString;
        start.Environment["HEAPD__Admin__Token"] = DaemonHost.Token;
        start.Environment["HEAPD__Secrets__MasterKey"] = masterKey;
        start.Environment["Urls"] = Url;
        start.Environment["HEAPD__Runs__RetryBaseDelay"] = "00:00:00.200";
        start.Environment["HEAPD__S3__MaxErrorRetry"] = "1";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) start.Environment[key] = value;
        lock (Started)
        {
            if (_process is not null) Started.Remove(_process); // an earlier incarnation, exited
            _process = Process.Start(start)!;
            Started.Add(_process);
        }
        _process.OutputDataReceived += (_, line) => Append(line.Data);
        _process.ErrorDataReceived += (_, line) => Append(line.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try
        {
            await WaitReadyAsync();
        }
        catch
        {
            // A daemon that never got ready is not left running.
            if (!_process.HasExited) await KillAsync();
            throw;
        }
    }

    /// <summary>SIGKILL: no shutdown hook runs, nothing is flushed.</summary>
    public async Task KillAsync()
    {
        _process!.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as Docker and systemd stop a service.</summary>
    /// <returns>How long the daemon took to exit.</returns>
    public async Task<TimeSpan> TerminateAsync(TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        Process.Start("kill", ["-TERM", _process!.Id.ToString()])!.WaitForExit();
        using var timeout = new CancellationTokenSource(limit);
        await _process.WaitForExitAsync(timeout.Token);
        return watch.Elapsed;
    }

    public int ExitCode => _process!.ExitCode;

    /// <summary>
    /// Waits for the daemon to exit on its own and for the last of its output to be read (<see cref="Running"/> turns
    /// false before the lines it wrote last reach <see cref="Log"/>).
    /// </summary>
    /// <returns>false if it was still running after <paramref name="limit"/>.</returns>
    public async Task<bool> ExitsWithinAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await _process!.WaitForExitAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task WaitReadyAsync()
    {
        using var client = new HttpClient { BaseAddress = new Uri(Url) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited) throw new InvalidOperationException($"the daemon exited with {_process.ExitCode}:\n{Log}");
            try
            {
                if ((await client.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the daemon was not ready within 60 s:\n{Log}");
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }

    private static readonly HashSet<int> GivenPorts = [];

    /// <summary>
    /// A free port below Linux's ephemeral range (32768-60999), where outgoing connections take theirs: a node keeps its
    /// ports across restarts, and one taken from that range could be held by a connection while the node is down.
    /// </summary>
    private static int FreePort()
    {
        lock (GivenPorts)
            while (true)
            {
                var port = Random.Shared.Next(20_000, 32_768);
                if (!GivenPorts.Add(port)) continue;
                try
                {
                    using var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                    return port;
                }
                catch (SocketException)
                {
                    // In use by something else: another.
                }
            }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false }) await KillAsync();
        if (_process is not null)
            lock (Started) Started.Remove(_process);
        _process?.Dispose();
    }
}
