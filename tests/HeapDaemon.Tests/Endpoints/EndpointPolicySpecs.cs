using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using HeapDaemon.Actors.Endpoints;
using Xunit;

namespace HeapDaemon.Tests.Endpoints;

/// <summary>The policy judges the address a connection would reach, whatever the spelling; names through a resolver of the test's own.</summary>
public sealed class EndpointPolicySpecs
{
    private static readonly Dictionary<string, IPAddress[]> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["localhost"] = [IPAddress.Loopback, IPAddress.IPv6Loopback],
        ["metadata.example"] = [IPAddress.Parse("169.254.169.254")],
        ["rebind.example"] = [IPAddress.Parse("192.0.2.10"), IPAddress.Parse("::ffff:169.254.169.254")],
        ["minio.example"] = [IPAddress.Parse("192.0.2.20")],
        ["db.example"] = [IPAddress.Parse("192.0.2.30")],
    };

    private static Task<IPAddress[]> Resolve(string host, CancellationToken ct) =>
        Names.TryGetValue(host, out var addresses) ? Task.FromResult(addresses) : throw new SocketException((int)SocketError.HostNotFound);

    private static EndpointPolicy Policy(string databaseHost = "127.0.0.1", params string[] allowed) =>
        new(EndpointPolicy.Databases(databaseHost, 5432), allowed, Resolve);

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/", "points at 169.254.169.254, an instance-metadata address")]
    [InlineData("http://[::ffff:169.254.169.254]/", "points at 169.254.169.254, an instance-metadata address")]
    [InlineData("http://[::ffff:a9fe:a9fe]/", "points at 169.254.169.254, an instance-metadata address")]
    [InlineData("http://[::169.254.169.254]/", "points at 169.254.169.254, an instance-metadata address")]
    [InlineData("http://[64:ff9b::a9fe:a9fe]/", "points at 169.254.169.254, an instance-metadata address")]
    [InlineData("http://2852039166/", "points at 169.254.169.254, an instance-metadata address")]
    [InlineData("http://0251.0376.0251.0376/", "points at 169.254.169.254, an instance-metadata address")]
    [InlineData("http://0xa9fea9fe/", "points at 169.254.169.254, an instance-metadata address")]
    [InlineData("http://0xa9.0xfe.0xa9.0xfe/", "points at 169.254.169.254, an instance-metadata address")]
    [InlineData("http://169.254.43518/", "points at 169.254.169.254, an instance-metadata address")]
    [InlineData("http://169.254.169.254./", "points at 169.254.169.254, an instance-metadata address")]
    [InlineData("http://[fd00:ec2::254]/", "points at fd00:ec2::254, an instance-metadata address")]
    [InlineData("http://169.254.170.2/", "points at 169.254.170.2, an instance-metadata address")]
    [InlineData("http://100.100.100.200/", "points at 100.100.100.200, an instance-metadata address")]
    [InlineData("http://169.254.1.1:9000/", "points at 169.254.1.1, a link-local address")]
    [InlineData("http://[fe80::1%25eth0]/", "points at fe80::1, a link-local address")]
    [InlineData("http://0.0.0.0/", "points at 0.0.0.0, the unspecified address")]
    [InlineData("http://0/", "points at 0.0.0.0, the unspecified address")]
    [InlineData("http://[::]:9000/", "points at ::, the unspecified address")]
    [InlineData("http://127.0.0.1:5432/", "points at 127.0.0.1, the daemon's own PostgreSQL (127.0.0.1:5432)")]
    [InlineData("http://127.0.0.2:5432/", "points at 127.0.0.2, the daemon's own PostgreSQL (127.0.0.1:5432)")]
    [InlineData("http://127.1:5432/", "points at 127.0.0.1, the daemon's own PostgreSQL (127.0.0.1:5432)")]
    [InlineData("http://[::1]:5432/", "points at ::1, the daemon's own PostgreSQL (127.0.0.1:5432)")]
    [InlineData("http://[::ffff:127.0.0.2]:5432/", "points at 127.0.0.2, the daemon's own PostgreSQL (127.0.0.1:5432)")]
    [InlineData("http://localhost:5432/", "resolves to 127.0.0.1, the daemon's own PostgreSQL (127.0.0.1:5432)")]
    [InlineData("http://metadata.example/", "resolves to 169.254.169.254, an instance-metadata address")]
    [InlineData("http://rebind.example/", "resolves to 169.254.169.254, an instance-metadata address")]
    public async Task A_blocked_address_is_refused_in_every_spelling(string url, string reason)
    {
        var refused = await Policy().CheckUrlAsync(url, CancellationToken.None);

        Assert.NotNull(refused);
        Assert.Contains(reason, refused);
        Assert.Contains("which is blocked; list '", refused);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9000/")]
    [InlineData("http://127.0.0.2:9000/")]
    [InlineData("http://localhost:9000/")]
    [InlineData("http://[::1]:9000/")]
    [InlineData("http://minio.example:5432/")]
    [InlineData("https://s3.example.invalid/")] // does not resolve now: judged when it connects
    public async Task Other_addresses_are_allowed(string url) =>
        Assert.Null(await Policy().CheckUrlAsync(url, CancellationToken.None));

    [Fact]
    public async Task A_database_on_another_host_blocks_its_own_addresses_at_its_port_and_not_this_machines()
    {
        var policy = Policy("db.example");

        Assert.Contains("the daemon's own PostgreSQL (db.example:5432)", await policy.CheckUrlAsync("http://[::ffff:192.0.2.30]:5432/", CancellationToken.None));
        Assert.Null(await policy.CheckUrlAsync("http://127.0.0.1:5432/", CancellationToken.None));
        Assert.Null(await policy.CheckUrlAsync("http://192.0.2.30:9000/", CancellationToken.None));
    }

    [Fact]
    public async Task A_database_on_this_machine_is_blocked_at_its_port_on_every_address_of_the_machine()
    {
        var own = NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

        Assert.Contains("the daemon's own PostgreSQL", await Policy("/var/run/postgresql").CheckUrlAsync("http://127.0.0.9:5432/", CancellationToken.None));
        // A machine with only a loopback interface has no other address to try.
        if (own is not null)
            Assert.Contains("the daemon's own PostgreSQL", await Policy("localhost").CheckUrlAsync($"http://{own}:5432/", CancellationToken.None));
    }

    [Fact]
    public async Task Allowed_hosts_are_let_through_however_their_address_is_spelled()
    {
        var policy = Policy(allowed: ["169.254.169.254", "localhost"]);

        Assert.Null(await policy.CheckUrlAsync("http://[::ffff:169.254.169.254]/", CancellationToken.None));
        Assert.Null(await policy.CheckUrlAsync("http://LOCALHOST:5432/", CancellationToken.None));
        Assert.NotNull(await policy.CheckUrlAsync("http://169.254.170.2/", CancellationToken.None));
        Assert.Single(await policy.ConnectAddressesAsync("::ffff:169.254.169.254", 80, CancellationToken.None));
    }

    [Fact]
    public async Task At_connect_time_every_address_a_name_resolves_to_is_checked_and_the_message_says_which()
    {
        var blocked = await Assert.ThrowsAsync<EndpointBlockedException>(() => Policy().ConnectAddressesAsync("rebind.example", 443, CancellationToken.None));
        var literal = await Assert.ThrowsAsync<EndpointBlockedException>(() => Policy().ConnectAddressesAsync("::ffff:169.254.169.254", 80, CancellationToken.None));

        Assert.Equal("endpoint rebind.example:443 resolves to 169.254.169.254, an instance-metadata address, which is blocked; " +
                     "list 'rebind.example' in Security:AllowedEndpointHosts if the daemon should reach it", blocked.Message);
        Assert.StartsWith("endpoint [::ffff:169.254.169.254]:80 is 169.254.169.254, an instance-metadata address, which is blocked", literal.Message);
        Assert.Equal([IPAddress.Parse("192.0.2.20")], await Policy().ConnectAddressesAsync("minio.example", 5432, CancellationToken.None));
    }

    [Theory]
    [InlineData("db", "db:5432")]
    [InlineData("db:6543", "db:6543")]
    [InlineData("a:1,b", "a:1 b:5432")]
    [InlineData("::1", "::1:5432")]
    [InlineData("[::1]:6543", "::1:6543")]
    [InlineData("/var/run/postgresql", "/var/run/postgresql:5432")]
    public void The_databases_are_read_from_the_connection_strings_hosts(string hosts, string expected) =>
        Assert.Equal(expected, string.Join(" ", EndpointPolicy.Databases(hosts, 5432).Select(d => $"{d.Host}:{d.Port}")));
}
