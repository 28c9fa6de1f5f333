using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using HeapDaemon.Tests.Support;

namespace HeapDaemon.Console.Tests.Support;

/// <summary>
/// The daemon as users run it, its own process on a port of its own with a database of its own, started from its
/// build output (where its console's styles and scripts are), with an admin token and a viewer token.
/// </summary>
public sealed class ConsoleDaemon : IAsyncDisposable
{
    public const string AdminToken = "console-admin-token-0123456789";
    public const string ViewerToken = "console-viewer-token-9876543210";

    private readonly int _port = FreePort();
    private readonly StringBuilder _log = new();
    private readonly Process _process;

    private ConsoleDaemon(string connectionString, string pathBase, IReadOnlyDictionary<string, string> settings)
    {
        ConnectionString = connectionString;
        PathBase = pathBase;
        var start = new ProcessStartInfo("dotnet", [DaemonDll()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ConnectionStrings__Postgres"] = connectionString;
        start.Environment["HEAPD__Admin__Token"] = AdminToken;
        start.Environment["HEAPD__Admin__ViewerTokens__0"] = ViewerToken;
        start.Environment["HEAPD__Secrets__MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        start.Environment["HEAPD__Http__PathBase"] = pathBase;
        start.Environment["HEAPD__S3__MaxErrorRetry"] = "1";
        start.Environment["HEAPD__Runs__RetryBaseDelay"] = "00:00:00.200";
        start.Environment["Urls"] = $"http://127.0.0.1:{_port}";
        foreach (var (key, value) in settings) start.Environment[key] = value;
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, line) => Append(line.Data);
        _process.ErrorDataReceived += (_, line) => Append(line.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string ConnectionString { get; }

    public string PathBase { get; }

    /// <summary>Where the daemon listens, its path base included, with a trailing '/'.</summary>
    public string Url => $"http://127.0.0.1:{_port}{PathBase}/";

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <param name="pathBase">E.g. <c>/heapd</c>, as a reverse proxy that forwards a path to the daemon sets it up.</param>
    public static async Task<ConsoleDaemon> StartAsync(string pathBase = "", IReadOnlyDictionary<string, string>? settings = null)
    {
        var daemon = new ConsoleDaemon(await TestEnvironment.CreateDatabaseAsync(), pathBase, settings ?? new Dictionary<string, string>());
        await daemon.WaitReadyAsync();
        return daemon;
    }

    /// <summary>The admin API with the admin token, to set up what a test does not walk through.</summary>
    public HttpClient Api()
    {
        var client = new HttpClient { BaseAddress = new Uri(Url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return client;
    }

    private async Task WaitReadyAsync()
    {
        using var client = new HttpClient { BaseAddress = new Uri(Url) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the daemon exited with {_process.ExitCode}:\n{Log}");
            try
            {
                if ((await client.GetAsync("readyz")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the daemon was not ready within 90 s:\n{Log}");
    }

    /// <summary>src/HeapDaemon/bin/{configuration}/{framework}/HeapDaemon.dll, for the configuration these tests were built in.</summary>
    private static string DaemonDll()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = here.Name;
        var configuration = here.Parent!.Name;
        var root = here.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(root, "src", "HeapDaemon", "bin", configuration, framework, "HeapDaemon.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"the daemon is not built at {dll}: build the solution first");
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        await TestEnvironment.DropDatabaseAsync(ConnectionString);
    }
}
