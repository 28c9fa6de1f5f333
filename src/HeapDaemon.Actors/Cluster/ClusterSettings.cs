namespace HeapDaemon.Actors.Cluster;

/// <summary>
/// <c>Cluster</c>: how this daemon takes part in a cluster of daemons. Every setting has a default that makes a daemon
/// alone a cluster of one (it joins itself), so a single daemon needs none of them.
/// </summary>
public sealed class ClusterSettings
{
    /// <summary>The actor system's name: part of every node's address, so seed nodes name it.</summary>
    public const string SystemName = "heapdaemon";

    /// <summary>The address the node listens on for the other nodes.</summary>
    public string Hostname { get; set; } = "127.0.0.1";

    /// <summary>The address the other nodes reach it at (behind NAT or in a container); <see cref="Hostname"/> when empty.</summary>
    public string? PublicHostname { get; set; }

    /// <summary>The port the node listens on; 0 takes any free one (fine for a node that no other node names as a seed).</summary>
    public int Port { get; set; }

    /// <summary>
    /// Nodes to join, as <c>akka.tcp://heapdaemon@host:port</c>. Empty: the node joins itself, a cluster of one. The
    /// first seed that lists itself first starts the cluster when no other seed answers.
    /// </summary>
    public string[] SeedNodes { get; set; } = [];

    /// <summary>
    /// How the node finds the others: <c>seeds</c> (<see cref="SeedNodes"/>, or itself alone), <c>config</c> (Akka.Management's
    /// cluster bootstrap asks the <see cref="ContactPoints"/> listed here) or <c>kubernetes</c> (the bootstrap asks the
    /// Kubernetes API for the pods that match <see cref="KubernetesLabelSelector"/>).
    /// </summary>
    public string Discovery { get; set; } = "seeds";

    /// <summary><see cref="Discovery"/> parsed; the setting is checked at start, so an unknown name never gets here.</summary>
    public ClusterDiscovery DiscoveryMethod => Enum.Parse<ClusterDiscovery>(Discovery, ignoreCase: true);

    /// <summary>
    /// The port of Akka.Management's HTTP endpoint, which the bootstrap of the other nodes asks for this node's cluster
    /// (<c>/bootstrap/seed-nodes</c>). Opened only with <c>config</c> or <c>kubernetes</c> discovery.
    /// </summary>
    public int ManagementPort { get; set; } = 8558;

    /// <summary>The name the nodes are looked up by: the config discovery's service, and the Kubernetes label selector's <c>{0}</c>.</summary>
    public string ServiceName { get; set; } = SystemName;

    /// <summary>
    /// How many nodes discovery must find, and all of them answer, before the lowest of them starts a new cluster (a node
    /// that finds a cluster already formed joins it at once). Set it to the number of nodes, so a partial start cannot
    /// form a second cluster.
    /// </summary>
    public int RequiredContactPoints { get; set; } = 2;

    /// <summary><c>config</c> discovery: every node's Akka.Management endpoint, as <c>host:port</c> (itself included).</summary>
    public string[] ContactPoints { get; set; } = [];

    /// <summary><c>kubernetes</c> discovery: the namespace to list pods in; empty, the pod's own (its service account's).</summary>
    public string? KubernetesNamespace { get; set; }

    /// <summary><c>kubernetes</c> discovery: the pods that are nodes; <c>{0}</c> stands for <see cref="ServiceName"/>.</summary>
    public string KubernetesLabelSelector { get; set; } = "app={0}";

    /// <summary>
    /// How long the split-brain resolver waits for the membership to stay unchanged before it downs the unreachable
    /// nodes (keep-majority): the larger part of the cluster keeps running and takes over their couriers.
    /// </summary>
    public TimeSpan DownAfter { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>How a node finds the other nodes of its cluster (<see cref="ClusterSettings.Discovery"/>).</summary>
public enum ClusterDiscovery
{
    Seeds,
    Config,
    Kubernetes,
}
