using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Remote.Hosting;

namespace HeapDaemon.Actors.Cluster;

public static class ClusterHosting
{
    /// <summary>
    /// Remoting and Akka.Cluster with the keep-majority split-brain resolver. With no seed nodes the node joins itself:
    /// a daemon alone is a cluster of one, which is what sharding and the registry singleton run on.
    /// </summary>
    public static AkkaConfigurationBuilder AddDaemonCluster(this AkkaConfigurationBuilder builder, ClusterSettings settings) =>
        builder
            .WithRemoting(new RemoteOptions
            {
                HostName = settings.Hostname,
                PublicHostName = string.IsNullOrWhiteSpace(settings.PublicHostname) ? settings.Hostname : settings.PublicHostname,
                Port = settings.Port,
            })
            .WithClustering(new ClusterOptions
            {
                SeedNodes = settings.SeedNodes,
                // Keep-majority needs no other system (a lease would need one: the database is the only shared thing,
                // and a lease in it would fail the cluster with it). A minority side downs itself and exits.
                SplitBrainResolver = new KeepMajorityOption(),
            })
            .AddHocon($"akka.cluster.split-brain-resolver.stable-after = {(int)settings.DownAfter.TotalMilliseconds}ms", HoconAddMode.Prepend)
            .AddStartup((system, _) =>
            {
                if (settings.SeedNodes.Length > 0) return;
                var cluster = Akka.Cluster.Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            });
}
