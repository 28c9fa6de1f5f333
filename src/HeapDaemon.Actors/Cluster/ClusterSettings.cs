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
    /// How long the split-brain resolver waits for the membership to stay unchanged before it downs the unreachable
    /// nodes (keep-majority): the larger part of the cluster keeps running and takes over their couriers.
    /// </summary>
    public TimeSpan DownAfter { get; set; } = TimeSpan.FromSeconds(20);
}
