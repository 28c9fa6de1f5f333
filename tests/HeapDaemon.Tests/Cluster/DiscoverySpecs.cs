using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using HeapDaemon.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace HeapDaemon.Tests.Cluster;

/// <summary>
/// Two daemon processes with no seed nodes that find each other by Akka.Management's cluster bootstrap and config
/// discovery (the Kubernetes API cannot run here: <see cref="DiscoveryConfigurationSpecs"/> checks what it is given).
/// </summary>
public sealed class DiscoverySpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(180);
    private string _connectionString = "";
    private IReadOnlyList<DaemonProcess> _nodes = [];
    private IReadOnlyList<string> _managementEndpoints = [];

    public async Task InitializeAsync()
    {
        _connectionString = await TestEnvironment.CreateDatabaseAsync();
        (_nodes, _managementEndpoints) = DaemonProcess.ClusterByConfigDiscovery(2, _connectionString, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            new Dictionary<string, string> { ["HEAPD__Logging__LogLevel__Default"] = "Warning" });
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            output.WriteLine($"--- {node.ClusterAddress}, last lines of its log:\n{string.Join('\n', node.Log.Split('\n').TakeLast(40))}");
            await node.DisposeAsync();
        }
        await TestEnvironment.DropDatabaseAsync(_connectionString);
    }

    [Fact]
    public async Task Two_nodes_with_config_discovery_and_no_seed_nodes_form_one_cluster_and_each_shows_both_up()
    {
        // Together: neither is ready (joined) before the other answers its bootstrap, as all contact points must.
        await Task.WhenAll(_nodes.Select(n => n.StartAsync()));

        foreach (var node in _nodes)
        {
            using var api = node.Api();
            var deadline = DateTime.UtcNow + Generous;
            JsonElement cluster;
            while (true)
            {
                cluster = await api.GetOkAsync("/api/cluster");
                if (cluster.GetProperty("members").EnumerateArray().Count(m => m.GetProperty("status").GetString() == "up") == 2) break;
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"not both up: {cluster}");
                await Task.Delay(250);
            }
            Assert.Equal(node.ClusterAddress, cluster.GetProperty("self").GetString());
            Assert.Equal(_nodes.Select(n => n.ClusterAddress).Order(),
                cluster.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("address").GetString()).Order());
        }

        // Each node's bootstrap endpoint answers the others' bootstrap with itself and the members it knows up.
        using var http = new HttpClient();
        for (var i = 0; i < _nodes.Count; i++)
        {
            var seeds = await http.GetFromJsonAsync<JsonElement>($"http://{_managementEndpoints[i]}/bootstrap/seed-nodes");
            output.WriteLine($"{_managementEndpoints[i]}: {seeds}");
            Assert.Equal(_nodes[i].ClusterAddress, Address(seeds.GetProperty("SelfNode")));
            Assert.Equal(_nodes.Select(n => n.ClusterAddress).Order(), seeds.GetProperty("Nodes").EnumerateArray().Select(m => Address(m.GetProperty("Node"))).Order());
        }
    }

    private static string Address(JsonElement address) =>
        $"{address.GetProperty("Protocol").GetString()}://{address.GetProperty("System").GetString()}@{address.GetProperty("Host").GetString()}:{address.GetProperty("Port").GetInt32()}";
}
