using System.Net.Sockets;
using Amazon.Runtime;

namespace HeapDaemon.Actors.Endpoints;

/// <summary>
/// The HTTP client of every S3 and STS client the daemon makes: each connection it opens goes through
/// <see cref="EndpointPolicy.ConnectAddressesAsync"/> (the name resolved and every address checked, then the socket
/// connected to those addresses only), and it follows no redirect itself, so a 30x towards a blocked host meets the same
/// check when the SDK follows it. One connection pool serves every client.
/// </summary>
/// <remarks>
/// Requests do not go through an HTTP proxy: the check has to see the address the daemon connects to. Webhook
/// deliveries use the same handler (<see cref="NewHandler"/>) as the primary handler of their IHttpClientFactory client.
/// </remarks>
public sealed class GuardedHttpClientFactory(EndpointPolicy policy) : HttpClientFactory, IDisposable
{
    private readonly SocketsHttpHandler _handler = NewHandler(policy);

    /// <summary>A handler that connects only to addresses the policy lets through, never via a proxy, and follows no redirect.</summary>
    /// <remarks>A refused connection fails with an <see cref="HttpRequestException"/> whose inner exception is an <see cref="EndpointBlockedException"/>.</remarks>
    public static SocketsHttpHandler NewHandler(EndpointPolicy policy) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        ConnectCallback = async (context, ct) =>
        {
            var addresses = await policy.ConnectAddressesAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct);
            if (!Socket.OSSupportsIPv6) addresses = [.. addresses.Where(a => a.AddressFamily == AddressFamily.InterNetwork)];
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    public override HttpClient CreateHttpClient(IClientConfig clientConfig) =>
        new(_handler, disposeHandler: false) { Timeout = clientConfig.Timeout ?? TimeSpan.FromSeconds(100) };

    // A client per request over the one shared handler: nothing for the SDK to cache, and disposing it keeps the pool.
    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => true;

    public void Dispose() => _handler.Dispose();
}
