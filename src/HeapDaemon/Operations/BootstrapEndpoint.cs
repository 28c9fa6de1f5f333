using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using HeapDaemon.Actors.Cluster;
using HeapDaemon.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Newtonsoft.Json;
using ClusterSettings = HeapDaemon.Actors.Cluster.ClusterSettings;
using static Akka.Management.Cluster.Bootstrap.ContactPoint.HttpBootstrapJsonProtocol;

namespace HeapDaemon.Operations;

/// <summary>
/// The node's <c>/bootstrap/seed-nodes</c> on <c>Cluster:ManagementPort</c>, what the cluster bootstrap of the other nodes
/// asks (config or kubernetes discovery only): this node's address and the members it knows up, in Akka.Management's own
/// types and JSON, as its HTTP server would answer (that server cannot start with the packages served here; see
/// <see cref="ClusterHosting"/>). Its own small server, so the admin API's port, proxies and authentication stay apart
/// from what the nodes say to each other; it is read-only and tells only the members' addresses, ids and status.
/// </summary>
public sealed class BootstrapEndpoint(IOptions<ClusterSettings> settings, IServiceProvider services, ILogger<BootstrapEndpoint> log) : IHostedService
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken ct)
    {
        var cluster = settings.Value;
        if (cluster.DiscoveryMethod == ClusterDiscovery.Seeds) return;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(new UriBuilder("http", cluster.Hostname, cluster.ManagementPort).Uri.ToString());
        _app = builder.Build();
        _app.MapGet("/bootstrap/seed-nodes", () => Results.Text(SeedNodesJson(services.GetRequiredService<ActorSystem>()), "application/json"));
        try
        {
            await _app.StartAsync(ct);
        }
        catch (IOException e) when (e.InnerException is AddressInUseException)
        {
            throw new StartFailure($"Cluster:ManagementPort {cluster.ManagementPort} is in use by another process (the cluster bootstrap endpoint listens there)");
        }
        log.LogInformation("Cluster bootstrap endpoint on {Url}", ClusterHosting.SelfContactPoint(cluster));
    }

    public async Task StopAsync(CancellationToken ct)
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    /// <summary>As Akka.Management's <c>HttpClusterBootstrapRoutes</c>: a node on its way out offers no seeds.</summary>
    private static string SeedNodesJson(ActorSystem system)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var self = cluster.SelfMember;
        if (self.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Leaving or MemberStatus.Removed)
            return JsonConvert.SerializeObject(new SeedNodes(self.UniqueAddress.Address, ImmutableList<ClusterMember>.Empty));
        var state = cluster.State;
        var members = state.Members
            .Where(m => !state.Unreachable.Contains(m) && m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
            .Take(5) // Akka.Management's max-seed-nodes-to-expose: enough to join by
            .Select(m => new ClusterMember(m.UniqueAddress.Address, m.UniqueAddress.Uid, m.Status, m.Roles))
            .ToImmutableList();
        return JsonConvert.SerializeObject(new SeedNodes(self.UniqueAddress.Address, members));
    }
}
