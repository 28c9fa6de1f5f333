using Akka.Configuration;
using Akka.Hosting;
using HeapDaemon.Actors.Cluster;
using HeapDaemon.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace HeapDaemon.Tests.Cluster;

/// <summary>
/// What the Cluster settings make of Akka's configuration for each way of finding the other nodes, and which settings
/// are refused. Kubernetes cannot run here, so its discovery is checked by the configuration it is given (the
/// manifest in docs/kubernetes was checked by reading). That the bootstrap starts with the actor system (an extension
/// Akka.Hosting loads, not HOCON) is shown by <see cref="DiscoverySpecs"/>, whose nodes form a cluster through it.
/// </summary>
public sealed class DiscoveryConfigurationSpecs
{
    [Fact]
    public void Kubernetes_discovery_lists_the_labelled_pods_of_one_namespace_and_probes_their_management_port()
    {
        var config = HoconOf(new ClusterSettings
        {
            Discovery = "Kubernetes", Hostname = "0.0.0.0", PublicHostname = "10.1.2.3", Port = 4053, ManagementPort = 8558,
            KubernetesNamespace = "ingest", KubernetesLabelSelector = "app.kubernetes.io/name={0}", RequiredContactPoints = 3,
        });

        Assert.Equal("kubernetes-api", config.GetString("akka.discovery.method"));
        Assert.StartsWith("Akka.Discovery.KubernetesApi.KubernetesApiServiceDiscovery, Akka.Discovery.KubernetesApi",
            config.GetString("akka.discovery.kubernetes-api.class"));
        Assert.Equal("ingest", config.GetString("akka.discovery.kubernetes-api.pod-namespace"));
        Assert.False(config.GetBoolean("akka.discovery.kubernetes-api.all-namespaces"));
        Assert.Equal("app.kubernetes.io/name={0}", config.GetString("akka.discovery.kubernetes-api.pod-label-selector"));
        // The service account's files, as Kubernetes mounts them (the library's defaults, kept).
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/token", config.GetString("akka.discovery.kubernetes-api.api-token-path"));
        AssertBootstrap(config, serviceName: "heapdaemon", requiredContactPoints: 3);
        // The pod's address (the discovery's raw IP), not the 0.0.0.0 it listens on: the bootstrap finds itself among the pods by it.
        Assert.Equal(new Uri("http://10.1.2.3:8558/"), ClusterHosting.SelfContactPoint(new ClusterSettings { Hostname = "0.0.0.0", PublicHostname = "10.1.2.3", ManagementPort = 8558 }));
    }

    [Fact]
    public void Kubernetes_discovery_without_a_namespace_asks_the_pods_own()
    {
        var config = HoconOf(new ClusterSettings { Discovery = "kubernetes" });

        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/namespace", config.GetString("akka.discovery.kubernetes-api.pod-namespace-path"));
        Assert.Equal("<pod-namespace>", config.GetString("akka.discovery.kubernetes-api.pod-namespace"));
        Assert.Equal("app={0}", config.GetString("akka.discovery.kubernetes-api.pod-label-selector"));
    }

    [Fact]
    public void Config_discovery_lists_the_contact_points_under_the_service_name()
    {
        var config = HoconOf(new ClusterSettings
        {
            Discovery = "config", ServiceName = "ingest", ContactPoints = ["node-1:8558", "node-2:8558", "node-3:8558"], RequiredContactPoints = 3,
        });

        Assert.Equal("config", config.GetString("akka.discovery.method"));
        Assert.Equal(["node-1:8558", "node-2:8558", "node-3:8558"], config.GetStringList("akka.discovery.config.services.ingest.endpoints"));
        AssertBootstrap(config, serviceName: "ingest", requiredContactPoints: 3);
    }

    [Fact]
    public void Seed_nodes_start_no_bootstrap_and_no_discovery()
    {
        var config = HoconOf(new ClusterSettings());

        Assert.False(config.HasPath("akka.management.cluster.bootstrap"));
        Assert.False(config.HasPath("akka.discovery.method"));
    }

    [Theory]
    [InlineData("seeds")]
    [InlineData("config")]
    [InlineData("kubernetes")]
    public void A_node_turned_away_while_its_old_incarnation_is_removed_asks_to_join_again_after_2_s(string discovery)
    {
        var config = HoconOf(new ClusterSettings { Discovery = discovery, ContactPoints = ["node-1:8558"], RequiredContactPoints = 1 });

        Assert.Equal(TimeSpan.FromSeconds(2), config.GetTimeSpan("akka.cluster.retry-unsuccessful-join-after"));
    }

    [Theory]
    [InlineData("Discovery=dns", "Cluster:Discovery must be seeds, config or kubernetes")]
    [InlineData("Discovery=config", "Cluster:ContactPoints must list each node's Akka.Management endpoint as host:port")]
    [InlineData("Discovery=config;ContactPoints:0=node-1;RequiredContactPoints=1", "Cluster:ContactPoints must list each node's Akka.Management endpoint")]
    [InlineData("Discovery=config;ContactPoints:0=http://node-1:8558;RequiredContactPoints=1", "Cluster:ContactPoints must list each node's Akka.Management endpoint")]
    [InlineData("Discovery=config;ContactPoints:0=node-1:8558;RequiredContactPoints=2", "Cluster:RequiredContactPoints must not exceed the number of Cluster:ContactPoints")]
    [InlineData("Discovery=config;ContactPoints:0=node-1:8558;RequiredContactPoints=1;SeedNodes:0=akka.tcp://heapdaemon@node-1:4053",
        "Cluster:SeedNodes must be empty when Cluster:Discovery is config or kubernetes")]
    [InlineData("Discovery=kubernetes;ManagementPort=0", "Cluster:ManagementPort must be 1-65535")]
    [InlineData("Discovery=kubernetes;ManagementPort=4053;Port=4053", "Cluster:ManagementPort must differ from Cluster:Port")]
    [InlineData("Discovery=kubernetes;ServiceName=heap.daemon", "Cluster:ServiceName must be 1-63 lowercase letters")]
    [InlineData("Discovery=kubernetes;RequiredContactPoints=0", "Cluster:RequiredContactPoints must be 1-1000")]
    [InlineData("Discovery=kubernetes;KubernetesNamespace=Ingest_1", "Cluster:KubernetesNamespace must be empty (the pod's own) or a namespace name")]
    [InlineData("Discovery=kubernetes;KubernetesLabelSelector= ", "Cluster:KubernetesLabelSelector must not be empty")]
    public void A_bad_discovery_setting_is_refused_naming_the_key(string settings, string failure)
    {
        var exception = Assert.Throws<OptionsValidationException>(() => Checked(settings));
        Assert.Contains(exception.Failures, f => f.StartsWith(failure, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Discovery=config;ContactPoints:0=node-1:8558;ContactPoints:1=[::1]:8559;RequiredContactPoints=2")]
    [InlineData("Discovery=KUBERNETES;KubernetesNamespace=ingest")]
    // Settings a discovery method does not use are not checked with it (the seed default's port 8558 is never opened).
    [InlineData("ManagementPort=0;ContactPoints:0=anything")]
    public void Good_discovery_settings_are_taken(string settings) => Checked(settings);

    private static void AssertBootstrap(Config config, string serviceName, int requiredContactPoints)
    {
        Assert.Empty(config.GetStringList("akka.cluster.seed-nodes") ?? []);
        Assert.Equal(serviceName, config.GetString("akka.management.cluster.bootstrap.contact-point-discovery.service-name"));
        Assert.Equal("management", config.GetString("akka.management.cluster.bootstrap.contact-point-discovery.port-name"));
        Assert.Equal(requiredContactPoints, config.GetInt("akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
    }

    private static Config HoconOf(ClusterSettings settings)
    {
        var builder = new AkkaConfigurationBuilder(new ServiceCollection(), ClusterSettings.SystemName);
        builder.AddDaemonCluster(settings);
        return builder.Configuration.Value;
    }

    private static ClusterSettings Checked(string settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(
            settings.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(s => s.Split('=', 2)).Select(kv => KeyValuePair.Create("Cluster:" + kv[0], (string?)kv[1]))).Build();
        var services = new ServiceCollection();
        services.AddCheckedSettings(configuration);
        return services.BuildServiceProvider().GetRequiredService<IOptions<ClusterSettings>>().Value;
    }
}
