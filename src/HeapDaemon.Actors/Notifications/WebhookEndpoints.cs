using System.Net;
using System.Net.Sockets;
using HeapDaemon.Actors.Credentials;

namespace HeapDaemon.Actors.Notifications;

/// <summary>A webhook connection the endpoint policy refused; nothing was sent, and another attempt would be refused too.</summary>
public sealed class WebhookBlockedException(string message) : Exception(message);

/// <summary>
/// The one place webhooks meet <see cref="EndpointPolicy"/>, the rule that keeps S3 endpoints off instance-metadata
/// addresses and the daemon's own PostgreSQL: a URL is checked when the webhook is made (a clear 400), and every
/// connection a delivery opens is checked again on the addresses it really connects to, so a name that resolves
/// elsewhere later (DNS rebinding) is refused too.
/// </summary>
/// <remarks>
/// Written against the policy's <c>CheckAsync(url)</c>, each resolved address passed as a literal URL. Where the policy
/// offers a connect-time check of its own (resolving and judging the addresses a socket may use), <see cref="ConnectAsync"/>
/// should call that instead, which also honours host names listed in <c>Security:AllowedEndpointHosts</c>.
/// </remarks>
public sealed class WebhookEndpoints(EndpointPolicy policy)
{
    /// <returns>null when the URL may be used; otherwise why not.</returns>
    public Task<string?> CheckUrlAsync(string url, CancellationToken ct) => policy.CheckAsync(url, ct);

    /// <summary>The primary handler of the webhook client: connects only to addresses the policy lets through, never via a proxy, and follows no redirect.</summary>
    public SocketsHttpHandler Handler() => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        ConnectCallback = ConnectAsync,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    };

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var (host, port) = (context.DnsEndPoint.Host.Trim('[', ']'), context.DnsEndPoint.Port);
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        foreach (var address in addresses)
        {
            // Each address as a literal URL: the policy judges the address this socket would reach.
            var literalUrl = $"http://{(address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString())}:{port}/";
            if (await policy.CheckAsync(literalUrl, ct) is { } refused)
                throw new WebhookBlockedException($"webhook host {host}:{port} resolves to {address}, which is blocked ({refused})");
        }
        if (!Socket.OSSupportsIPv6) addresses = [.. addresses.Where(a => a.AddressFamily == AddressFamily.InterNetwork)];
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
