using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HeapDaemon.Operations;

/// <summary>Ready only once this node is an Up member of the cluster: before that, its couriers and registry cannot be reached.</summary>
public sealed class ClusterJoinedCheck(ActorSystem system) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var self = Cluster.Get(system).SelfMember;
        return Task.FromResult(self.Status is MemberStatus.Up or MemberStatus.WeaklyUp
            ? HealthCheckResult.Healthy($"member {self.Address} is {self.Status.ToString().ToLowerInvariant()}")
            : HealthCheckResult.Unhealthy($"member {self.Address} is {self.Status.ToString().ToLowerInvariant()}, not yet up in the cluster (see Cluster:SeedNodes)"));
    }
}
