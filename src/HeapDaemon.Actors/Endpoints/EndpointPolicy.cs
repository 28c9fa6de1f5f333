using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace HeapDaemon.Actors.Endpoints;

/// <summary>A connection the endpoint policy refused; nothing was sent, and another attempt would be refused too.</summary>
public sealed class EndpointBlockedException(string message) : Exception(message);

/// <summary>
/// Keeps a credential's endpoint URL from turning the daemon into a proxy to what it can reach and users should not:
/// cloud instance-metadata services (which hand out the host's credentials) and the daemon's own PostgreSQL. It judges
/// addresses, not spellings: every IPv4 spelling (decimal, octal, hex, short forms), IPv4 inside IPv6 (mapped,
/// compatible, NAT64) and every address a name resolves to is brought to the one address a socket would reach.
/// Hosts listed in <c>Security:AllowedEndpointHosts</c> are let through.
/// </summary>
/// <remarks>
/// <see cref="ConnectAddressesAsync"/> is the rule's enforcement: <see cref="GuardedHttpClientFactory"/> calls it for
/// every connection an S3 or STS client opens (connection test, browser, previews, runs, redirects), resolving the
/// name itself and connecting only to the addresses it checked, so DNS cannot answer differently between check and
/// connect. <see cref="CheckUrlAsync"/> is the same rule when a credential is saved, for a clear 400.
/// </remarks>
/// <param name="databases">The daemon's PostgreSQL servers, as its connection string names them.</param>
/// <param name="resolve">DNS; tests give names of their own.</param>
public sealed class EndpointPolicy(
    IReadOnlyList<(string Host, int Port)> databases,
    IReadOnlyCollection<string> allowedHosts,
    Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
{
    /// <summary>AWS, GCP, Azure, OpenStack, Oracle (169.254.169.254), ECS task and EKS pod-identity agents, AWS IMDS over IPv6, Alibaba Cloud.</summary>
    private static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"), IPAddress.Parse("169.254.170.2"), IPAddress.Parse("169.254.170.23"),
        IPAddress.Parse("fd00:ec2::254"), IPAddress.Parse("fd00:ec2::23"), IPAddress.Parse("100.100.100.200"),
    ];

    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve = resolve ?? Dns.GetHostAddressesAsync;

    /// <summary>The databases named in a PostgreSQL connection string's Host (Npgsql allows several, <c>host:port</c> each).</summary>
    public static IReadOnlyList<(string Host, int Port)> Databases(string? hosts, int defaultPort) =>
        (hosts ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(host =>
        {
            var colon = host.LastIndexOf(':');
            // "[::1]:5433" or "db:5433"; a bare IPv6 address has colons of its own and no port.
            return colon > 0 && (host.StartsWith('[') ? host[colon - 1] == ']' : host.IndexOf(':') == colon) && int.TryParse(host[(colon + 1)..], out var port)
                ? (host[..colon].Trim('[', ']'), port)
                : (host.Trim('[', ']'), defaultPort);
        }).ToList();

    /// <summary>When a credential is saved: the URL's host, a literal address or what a name resolves to now.</summary>
    /// <returns>null when the endpoint may be used; otherwise why not.</returns>
    public async Task<string?> CheckUrlAsync(string endpointUrl, CancellationToken ct)
    {
        var uri = new Uri(endpointUrl);
        var host = uri.IdnHost.Trim('[', ']');
        if (IsAllowed(host)) return null;
        // "169.254.169.254." is a name to Uri, and the address to a resolver.
        var literal = IPAddress.TryParse(host.TrimEnd('.'), out var parsed) ? parsed : null;
        IPAddress[] addresses;
        try
        {
            addresses = literal is not null ? [literal] : await _resolve(host, ct);
        }
        catch (SocketException)
        {
            return null; // not resolvable now; every connection is checked when it is made
        }
        foreach (var address in addresses)
            if (await RefusalAsync(address, uri.Port, ct) is { } why)
                return $"endpointUrl '{endpointUrl}' {(literal is null ? "resolves to" : "points at")} {why}, which is blocked; " +
                       $"list '{host}' in Security:AllowedEndpointHosts if the daemon should reach it";
        return null;
    }

    /// <summary>
    /// When a connection is made: the addresses to connect to for <paramref name="host"/>, every one of them checked.
    /// </summary>
    /// <exception cref="EndpointBlockedException">the host is, or resolves to, an address that is blocked.</exception>
    public async Task<IPAddress[]> ConnectAddressesAsync(string host, int port, CancellationToken ct)
    {
        host = host.Trim('[', ']');
        var literal = IPAddress.TryParse(host, out var parsed) ? parsed : null;
        var addresses = literal is not null ? [literal] : await _resolve(host, ct);
        if (IsAllowed(host)) return addresses;
        foreach (var address in addresses)
            if (await RefusalAsync(address, port, ct) is { } why)
                throw new EndpointBlockedException(
                    $"endpoint {(host.Contains(':') ? $"[{host}]" : host)}:{port} {(literal is null ? "resolves to" : "is")} {why}, which is blocked; " +
                    $"list '{host}' in Security:AllowedEndpointHosts if the daemon should reach it");
        return addresses;
    }

    /// <returns>null when a connection to the address and port may be made; otherwise what the address is.</returns>
    private async Task<string?> RefusalAsync(IPAddress address, int port, CancellationToken ct)
    {
        var a = Canonical(address);
        if (MetadataAddresses.Contains(a)) return $"{a}, an instance-metadata address";
        if (a.AddressFamily == AddressFamily.InterNetwork ? a.GetAddressBytes() is [169, 254, ..] : a.IsIPv6LinkLocal)
            return $"{a}, a link-local address (where instance-metadata services answer)";
        if (IsUnspecified(a)) return $"{a}, the unspecified address (a connection to it reaches this machine)";
        foreach (var (host, dbPort) in databases.Where(d => d.Port == port))
            if (await ReachesDatabaseAsync(host, a, ct))
                return $"{a}, the daemon's own PostgreSQL ({host}:{dbPort})";
        return null;
    }

    /// <summary>
    /// Whether a connection to <paramref name="address"/> at the database's port reaches it: its own addresses, and
    /// when it runs on this machine, any loopback address and any address of this machine.
    /// </summary>
    private async Task<bool> ReachesDatabaseAsync(string host, IPAddress address, CancellationToken ct)
    {
        IPAddress[] database;
        if (host.StartsWith('/')) database = [IPAddress.Loopback]; // a Unix socket: the server is on this machine
        else if (IPAddress.TryParse(host, out var literal)) database = [literal];
        else
        {
            try { database = await _resolve(host, ct); }
            catch (SocketException) { database = []; }
        }
        database = [.. database.Select(Canonical)];
        if (database.Contains(address)) return true;
        var local = LocalAddresses();
        return database.Any(d => IPAddress.IsLoopback(d) || IsUnspecified(d) || local.Contains(d)) &&
               (IPAddress.IsLoopback(address) || local.Contains(address));
    }

    private bool IsAllowed(string host) =>
        allowedHosts.Any(allowed => string.Equals(allowed.Trim('[', ']'), host, StringComparison.OrdinalIgnoreCase) ||
                                    (IPAddress.TryParse(allowed.Trim('[', ']'), out var a) && IPAddress.TryParse(host, out var h) && Canonical(a).Equals(Canonical(h))));

    private static bool IsUnspecified(IPAddress a) =>
        a.AddressFamily == AddressFamily.InterNetwork ? a.GetAddressBytes()[0] == 0 : a.Equals(IPAddress.IPv6Any);

    private static HashSet<IPAddress> LocalAddresses() =>
        [.. NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => Canonical(u.Address))];

    /// <summary>
    /// The address a socket reaches: IPv4 for IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64
    /// (64:ff9b::a.b.c.d) IPv6 addresses, without a scope id.
    /// </summary>
    public static IPAddress Canonical(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address;
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        var bytes = address.GetAddressBytes();
        var compatible = bytes.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0 && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.IPv6Loopback);
        var nat64 = bytes.AsSpan(0, 12).SequenceEqual((ReadOnlySpan<byte>)[0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]);
        return compatible || nat64 ? new IPAddress(bytes.AsSpan(12)) : new IPAddress(bytes);
    }
}
