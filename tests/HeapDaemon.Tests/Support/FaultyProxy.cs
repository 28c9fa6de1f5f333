using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace HeapDaemon.Tests.Support;

/// <summary>What the proxy does to one connection's responses.</summary>
public abstract record Fault
{
    public sealed record None : Fault;

    /// <summary>Forwards this many response bytes, then resets the connection (TCP RST).</summary>
    public sealed record ResetAfter(long Bytes) : Fault;

    /// <summary>Forwards this many response bytes, then holds the connection open and sends nothing more.</summary>
    public sealed record StallAfter(long Bytes) : Fault;
}

/// <summary>
/// A TCP proxy between the daemon and an S3 endpoint that breaks connections on purpose: the faults a real network
/// has (resets and stalls mid-object) without mocking the S3 client. Connections are numbered from 1 as accepted.
/// <see cref="StopAsync"/> and <see cref="Start"/> make an outage, as a restart of MinIO or of a proxy does: open
/// connections are reset and new ones refused until it listens again, on the same port.
/// </summary>
public sealed class FaultyProxy : IAsyncDisposable
{
    private readonly Uri _target;
    private readonly Func<int, Fault> _faultFor;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly int _port;
    private TcpListener _listener;
    private Task _accepting;
    private int _connections;

    public FaultyProxy(string targetEndpoint, Func<int, Fault> faultFor)
    {
        _target = new Uri(targetEndpoint);
        _faultFor = faultFor;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync(_listener);
    }

    public string Endpoint => $"http://127.0.0.1:{_port}";

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Stops listening and resets every open connection: connections are refused until <see cref="Start"/>.</summary>
    public async Task StopAsync()
    {
        _listener.Stop();
        try { await _accepting; } catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        foreach (var socket in _open.Keys)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (ObjectDisposedException) { }
        }
    }

    /// <summary>Listens again on the same port.</summary>
    public void Start()
    {
        _listener = new TcpListener(IPAddress.Loopback, _port);
        _listener.Start();
        _accepting = AcceptAsync(_listener);
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            _open.TryAdd(client, 0);
            _ = HandleAsync(client, _faultFor(Interlocked.Increment(ref _connections)))
                .ContinueWith(_ => _open.TryRemove(client, out byte _), TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(Socket client, Fault fault)
    {
        using var server = new TcpClient();
        try
        {
            await server.ConnectAsync(_target.Host, _target.Port, _stop.Token);
            await using var clientStream = new NetworkStream(client, ownsSocket: false);
            await using var serverStream = server.GetStream();
            var requests = clientStream.CopyToAsync(serverStream, _stop.Token);
            var responses = ForwardAsync(serverStream, clientStream, fault);
            if (await Task.WhenAny(requests, responses) == responses && fault is Fault.None)
            {
                // Pass the server's close on as a FIN and let the client finish reading: closing outright while the
                // client still reads would reset the connection, a fault this connection is not meant to have.
                client.Shutdown(SocketShutdown.Send);
                await requests.WaitAsync(TimeSpan.FromSeconds(30), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            try
            {
                if (fault is Fault.ResetAfter) client.LingerState = new LingerOption(true, 0); // close with RST, not FIN
                client.Close();
            }
            catch (ObjectDisposedException) { } // closed by StopAsync
        }
    }

    private async Task ForwardAsync(Stream from, Stream to, Fault fault)
    {
        var limit = fault switch { Fault.ResetAfter r => r.Bytes, Fault.StallAfter s => s.Bytes, _ => long.MaxValue };
        var buffer = new byte[16 * 1024];
        long sent = 0;
        while (sent < limit)
        {
            var read = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, limit - sent)), _stop.Token);
            if (read == 0) return;
            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            sent += read;
        }
        if (fault is Fault.StallAfter) await Task.Delay(Timeout.Infinite, _stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _accepting; } catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        _stop.Dispose();
    }
}
