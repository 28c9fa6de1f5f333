using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HeapDaemon.Tests.Support;

/// <summary>
/// A bare HTTP listener on an address and port of the test's choosing that counts the connections it accepts and
/// answers every request with one canned response (<paramref name="respond"/> gets the request's path): where a
/// test must see that no connection reached an address, or send a client somewhere else (a redirect).
/// </summary>
public sealed class HttpStub : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<string, string> _respond;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _connections;

    public HttpStub(IPAddress address, int port = 0, Func<string, string>? respond = null)
    {
        _listener = new TcpListener(address, port);
        _listener.Start();
        _respond = respond ?? (_ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Endpoint => $"http://{((IPEndPoint)_listener.LocalEndpoint).Address}:{Port}";

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>A 307 to <paramref name="target"/> with the request's path, as S3 answers a request sent to the wrong place.</summary>
    public static Func<string, string> RedirectTo(string target) => path =>
        $"HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            Interlocked.Increment(ref _connections);
            _ = AnswerAsync(client);
        }
    }

    private async Task AnswerAsync(Socket client)
    {
        try
        {
            await using var stream = new NetworkStream(client, ownsSocket: true);
            var head = new StringBuilder();
            var buffer = new byte[4096];
            while (!head.ToString().Contains("\r\n\r\n"))
            {
                var read = await stream.ReadAsync(buffer, _stop.Token);
                if (read == 0) return;
                head.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
            var path = head.ToString().Split(' ', 3) is [_, var target, _] ? target : "/";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(_respond(path)), _stop.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
