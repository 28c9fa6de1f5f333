using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Discovery.Config.Hosting;
using Akka.Discovery.KubernetesApi;
using Akka.Hosting;
using Akka.Management.Dsl;
using Akka.Management.Cluster.Bootstrap;
using Akka.Remote.Hosting;

namespace HeapDaemon.Actors.Cluster;

public static class ClusterHosting
{
    /// <summary>
    /// Remoting and Akka.Cluster with the keep-majority split-brain resolver, and the way the node finds the others
    /// (<see cref="ClusterSettings.Discovery"/>). With seeds and none named the node joins itself: a daemon alone is a
    /// cluster of one, which is what sharding and the registry singleton run on.
    /// </summary>
    public static AkkaConfigurationBuilder AddDaemonCluster(this AkkaConfigurationBuilder builder, ClusterSettings settings)
    {
        builder
            .WithRemoting(new RemoteOptions
            {
                HostName = settings.Hostname,
                PublicHostName = PublicHostname(settings),
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
            // A node restarted at its old address is not let in until the others have removed its old incarnation (its
            // first join only starts that removal), so it joins on the retry: Akka's default would keep it out of the
            // cluster for ten seconds more than the removal takes.
            .AddHocon("akka.cluster.retry-unsuccessful-join-after = 2s", HoconAddMode.Prepend);
        return settings.DiscoveryMethod switch
        {
            ClusterDiscovery.Config => builder.AddClusterBootstrap(settings).WithConfigDiscovery(new ConfigServiceDiscoveryOptions
            {
                Services = [new Service { Name = settings.ServiceName, Endpoints = settings.ContactPoints }],
            }),
            ClusterDiscovery.Kubernetes => builder.AddClusterBootstrap(settings).WithKubernetesDiscovery(new KubernetesDiscoveryOptions
            {
                PodNamespace = string.IsNullOrWhiteSpace(settings.KubernetesNamespace) ? null : settings.KubernetesNamespace,
                // Only the namespace asked for (the pod's own when none is): the pod-reader role the manifest grants is
                // namespaced, and pods of other namespaces are not nodes of this cluster.
                AllNamespaces = false,
                PodLabelSelector = settings.KubernetesLabelSelector,
            }),
            _ => builder.AddStartup((system, _) =>
            {
                if (settings.SeedNodes.Length > 0) return;
                var cluster = Akka.Cluster.Cluster.Get(system);
                cluster.Join(cluster.SelfAddress);
            }),
        };
    }

    /// <summary>
    /// Akka.Management's cluster bootstrap, started with the actor system. It looks the nodes up until it has found
    /// <see cref="ClusterSettings.RequiredContactPoints"/> and the list stays the same for a few seconds, asks each
    /// node's <c>/bootstrap/seed-nodes</c>, then joins the cluster one of them reports, or, when none reports one and all
    /// answered, the lowest of them starts it. The daemon serves this node's <c>/bootstrap/seed-nodes</c> itself on
    /// <see cref="ClusterSettings.ManagementPort"/> (<c>BootstrapEndpoint</c>): Akka.Management's own HTTP server
    /// (Akka.Http.Shim 1.5.73) is built against Ceen.Httpd 0.9.9, and the 0.9.10 served here changed the method it binds
    /// with (MissingMethodException at start), so it is not started.
    /// </summary>
    private static AkkaConfigurationBuilder AddClusterBootstrap(this AkkaConfigurationBuilder builder, ClusterSettings settings) =>
        builder
            .WithClusterBootstrap(new ClusterBootstrapOptions
            {
                ContactPointDiscovery =
                {
                    ServiceName = settings.ServiceName,
                    RequiredContactPointsNr = settings.RequiredContactPoints,
                    // With a port name, each contact point's own port is taken as found: the config's host:port, or the
                    // pod's container port named "management". Without one, the bootstrap keeps only the contact points
                    // on its own management port, so two nodes on one host could not find each other.
                    PortName = "management",
                },
            }, autoStart: false)
            .AddStartup(async (system, _) =>
            {
                var bootstrap = ClusterBootstrap.Get(system);
                // Tells the bootstrap where the others reach this node (which of the contact points found is itself); the
                // routes it returns are Akka.Http's and are not served.
                bootstrap.Routes(ManagementRouteProviderSettings.Create(SelfContactPoint(settings), readOnly: true));
                await bootstrap.Start();
            });

    /// <summary>Where the other nodes' bootstrap reaches this node's <c>/bootstrap/seed-nodes</c>.</summary>
    public static Uri SelfContactPoint(ClusterSettings settings) => new UriBuilder("http", PublicHostname(settings), settings.ManagementPort).Uri;

    private static string PublicHostname(ClusterSettings settings) =>
        string.IsNullOrWhiteSpace(settings.PublicHostname) ? settings.Hostname : settings.PublicHostname;
}
