using Akka.Actor;
using Akka.Cluster.Sharding;

namespace HeapDaemon.Actors.Cluster;

/// <param name="Address">The node's address, as seed nodes name it.</param>
/// <param name="Status">Akka's member status in lowercase: joining, up, leaving, exiting, down, removed, weaklyup.</param>
/// <param name="Reachable">false while the failure detector does not hear the node: the split-brain resolver downs it after Cluster:DownAfter.</param>
/// <param name="Couriers">The couriers running on the node; null when the node did not answer in time.</param>
public sealed record ClusterMemberView(string Address, string Status, bool Reachable, bool IsSelf, bool IsLeader, IReadOnlyList<string>? Couriers);

/// <param name="Self">The address of the node that answered.</param>
public sealed record ClusterView(string Self, string? Leader, IReadOnlyList<ClusterMemberView> Members);

/// <summary>The cluster as this node sees it, and which couriers each member's shard region holds (asked of each region).</summary>
public sealed class ClusterStatus(ActorSystem system)
{
    private static readonly TimeSpan RegionTimeout = TimeSpan.FromSeconds(3);

    public async Task<ClusterView> GetAsync(string regionName, CancellationToken ct)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = await Task.WhenAll(state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).Select(async m =>
            new ClusterMemberView(m.Address.ToString(), m.Status.ToString().ToLowerInvariant(), !unreachable.Contains(m.Address),
                m.Address.Equals(cluster.SelfAddress), m.Address.Equals(state.Leader),
                unreachable.Contains(m.Address) ? null : await CouriersAtAsync(m.Address, regionName, ct))));
        return new ClusterView(cluster.SelfAddress.ToString(), state.Leader?.ToString(), members);
    }

    private async Task<IReadOnlyList<string>?> CouriersAtAsync(Address node, string regionName, CancellationToken ct)
    {
        try
        {
            var region = system.ActorSelection(new RootActorPath(node) / "system" / "sharding" / regionName);
            var held = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, RegionTimeout, ct);
            return held.Shards.SelectMany(s => s.EntityIds).Select(Uri.UnescapeDataString).Order(StringComparer.Ordinal).ToList();
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }
}
