using System.Net;
using System.Net.Sockets;

namespace HeapDaemon.Actors.Credentials;

/// <summary>
/// Keeps a credential's endpoint URL from turning the daemon into a proxy to what it can reach and users should
/// not: its own PostgreSQL, and cloud instance-metadata services (which hand out the host's credentials).
/// Hosts listed in <c>Security:AllowedEndpointHosts</c> are let through.
/// </summary>
public sealed class EndpointPolicy(string? databaseHost, int databasePort, IReadOnlyCollection<string> allowedHosts)
{
    private static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"), IPAddress.Parse("169.254.170.2"), IPAddress.Parse("fd00:ec2::254"),
    ];

    /// <returns>null when the endpoint may be used; otherwise why not.</returns>
    public async Task<string?> CheckAsync(string endpointUrl, CancellationToken ct)
    {
        var uri = new Uri(endpointUrl);
        if (allowedHosts.Contains(uri.Host, StringComparer.OrdinalIgnoreCase)) return null;
        var addresses = await ResolveAsync(uri.Host, ct);
        if (uri.Host.Equals("metadata.google.internal", StringComparison.OrdinalIgnoreCase) ||
            addresses.Any(a => MetadataAddresses.Contains(a) || IsLinkLocal(a)))
            return $"endpointUrl '{endpointUrl}' points at an instance-metadata or link-local address; allow it in Security:AllowedEndpointHosts if you mean it";
        if (databaseHost is not null && uri.Port == databasePort)
        {
            var database = await ResolveAsync(databaseHost, ct);
            if (addresses.Any(a => database.Contains(a) || (IPAddress.IsLoopback(a) && database.Any(IPAddress.IsLoopback))))
                return $"endpointUrl '{endpointUrl}' points at the daemon's own database; allow it in Security:AllowedEndpointHosts if you mean it";
        }
        return null;
    }

    private static bool IsLinkLocal(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork ? address.GetAddressBytes() is [169, 254, ..] : address.IsIPv6LinkLocal;

    private static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal)) return [literal];
        try
        {
            return await Dns.GetHostAddressesAsync(host, ct);
        }
        catch (SocketException)
        {
            return []; // an endpoint that does not resolve reaches nothing; the connection test says so
        }
    }
}
