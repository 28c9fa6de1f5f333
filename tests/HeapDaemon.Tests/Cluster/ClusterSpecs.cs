using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.S3;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Heap;
using HeapDaemon.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace HeapDaemon.Tests.Cluster;

/// <summary>
/// Three daemon processes on loopback ports, one PostgreSQL database, one cluster: killed, stopped and restarted while
/// runs load. The three processes are shared by the class's cases; each case has couriers and tables of its own.
/// </summary>
public sealed class ClusterSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Files = 6, RowsPerFile = 6_000, Overlap = 2_000;
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(240);
    private readonly string _masterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private string _connectionString = "";
    private IAmazonS3 _s3 = null!;
    private string _bucket = "";
    private IReadOnlyList<DaemonProcess> _nodes = [];

    public async Task InitializeAsync()
    {
        _connectionString = await TestEnvironment.CreateDatabaseAsync();
        _s3 = TestEnvironment.S3Client();
        _bucket = await TestEnvironment.CreateBucketAsync(_s3);
        _nodes = DaemonProcess.Cluster(3, _connectionString, _masterKey, new Dictionary<string, string>
        {
            // A dead node is downed 3 s after the others stop hearing it, so its couriers move on quickly.
            ["HEAPD__Cluster__DownAfter"] = "00:00:03",
            ["HEAPD__Logging__LogLevel__Default"] = "Warning",
        });
        await _nodes[0].StartAsync();
        await Task.WhenAll(_nodes.Skip(1).Select(n => n.StartAsync()));
        await SendAsync(_nodes[0], HttpMethod.Post, "/api/credentials",
            new { id = "moto", kind = "s3", bucket = _bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "a", secretAccessKey = "b" });
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            output.WriteLine($"--- {node.ClusterAddress}, last lines of its log:\n{string.Join('\n', node.Log.Split('\n').TakeLast(40))}");
            await node.DisposeAsync();
        }
        _s3.Dispose();
        await TestEnvironment.DropDatabaseAsync(_connectionString);
    }

    [Fact]
    public async Task Three_nodes_form_one_cluster_and_every_node_shows_every_member_up()
    {
        await RestartExitedAsync();
        foreach (var node in _nodes)
        {
            var cluster = await WaitForClusterAsync(node, AllUp);
            Assert.Equal(node.ClusterAddress, cluster.GetProperty("self").GetString());
            Assert.Equal(_nodes.Select(n => n.ClusterAddress).Order(), cluster.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("address").GetString()).Order());
        }
    }

    [Fact]
    public async Task Killed_at_random_moments_while_a_heap_run_and_a_files_run_load_every_table_ends_as_a_clean_run_leaves_it()
    {
        // The ten kills of issue 18; HEAPD_CLUSTER_KILLS changes the number (README, "More than one node").
        var kills = int.TryParse(Environment.GetEnvironmentVariable("HEAPD_CLUSTER_KILLS"), out var asked) && asked > 0 ? asked : 10;
        await UploadOverlappingFilesAsync("kills");
        await ConfigureFilesCourierAsync("kills");
        // A dump for every round after the first, which gets the first three: a Heap run to kill in every round.
        var export = new HeapExportGenerator(31, _bucket).Generate(moreDumps: kills - 1);
        var undelivered = new Queue<long>(export.DumpIds);
        await SendAsync(_nodes[0], HttpMethod.Post, "/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });
        var random = new Random(20261204);
        var watch = System.Diagnostics.Stopwatch.StartNew();

        for (var kill = 1; kill <= kills; kill++)
        {
            // One node of three at a time: the node started again is up in every node's view, or the kill would leave a
            // survivor without its majority. Waited for before the loads are asked for, which on a quiet machine end
            // within a second or two.
            await RestartExitedAsync();
            foreach (var node in _nodes) await WaitForClusterAsync(node, AllUp);
            // Keep a files load going, so the kill lands in one: a forced reload rewrites nothing but runs every step.
            if (!await LoadingOrQueuedAsync("kills"))
                await SendAsync(Any(), HttpMethod.Post, "/api/couriers/kills/runs", new { forceReload = kill > 1 });
            // And a Heap load: the next dump delivered, as Heap's next sync would be.
            if (!await LoadingOrQueuedAsync("heap") && undelivered.Count > 0)
            {
                await DeliverAsync(export, undelivered, kill == 1 ? 3 : 1);
                await SendAsync(Any(), HttpMethod.Post, "/api/couriers/heap/runs", new { });
            }
            // Both runs are picked up by their couriers a moment after they are asked for; the kill lands a random while
            // after that, within the shorter load's time.
            await WaitUntilLoadingAsync("heap", "kills");
            await Task.Delay(random.Next(0, 500));
            var victim = _nodes[random.Next(_nodes.Count)];
            var loading = await RunningCouriersAsync();
            output.WriteLine($"{watch.Elapsed.TotalSeconds,6:0.0} s: kill {kill} ({victim.ClusterAddress}) while loading: {string.Join(", ", loading)}" +
                string.Concat(new[] { "heap", "kills" }.Except(loading).Select(c => $"; the {c} run was not loading (queued, or ended)")));
            await victim.KillAsync();
            await RestartExitedAsync();
            output.WriteLine($"{watch.Elapsed.TotalSeconds,6:0.0} s: {victim.ClusterAddress} back up");
        }

        if (undelivered.Count > 0)
        {
            await DeliverAsync(export, undelivered, undelivered.Count);
            await SendAsync(Any(), HttpMethod.Post, "/api/couriers/heap/runs", new { });
        }
        await WaitForRunsAsync();
        await RestartExitedAsync();
        output.WriteLine($"end: runs {await DescribeRunsAsync()}");
        output.WriteLine("runs, seconds from asked to ended: " + string.Join(", ", (await QueryAsync(
            "SELECT courier_id || ' ' || round(extract(epoch FROM finished_at - requested_at)::numeric, 1) AS d FROM heapd.runs WHERE courier_id IN ('kills', 'heap') ORDER BY requested_at"))
            .Select(r => r["d"])));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM heapd.runs WHERE courier_id IN ('kills', 'heap') AND status <> 'succeeded'"));
        await AssertFilesTableAsync("kills");
        // Every dump was delivered, so the tables are those of a clean run of all of them, computed by the generator.
        Assert.Equal(export.DumpIds.Count, await CountAsync("SELECT count(*) FROM heapd.heap_dumps WHERE courier_id = 'heap'"));
        foreach (var (table, expected) in export.Expected) await HeapTables.AssertAsync(QueryAsync, table, expected);
        Assert.Equal(Files, await CountAsync("SELECT count(*) FROM heapd.load_ledger WHERE object_key LIKE 'kills/%'"));
    }

    /// <summary>Puts the next <paramref name="count"/> dumps in the bucket, each manifest after its files.</summary>
    private async Task DeliverAsync(HeapExport export, Queue<long> undelivered, int count)
    {
        for (var i = 0; i < count; i++) await export.UploadAsync(_s3, export.ObjectsOf(undelivered.Dequeue()));
    }

    private async Task<bool> LoadingOrQueuedAsync(string courier) =>
        await CountAsync($"SELECT count(*) FROM heapd.runs WHERE courier_id = '{courier}' AND status IN ('queued', 'running')") > 0;

    /// <summary>
    /// Until the couriers' runs are running, or half a minute has passed (the kill's line then says which was not). A
    /// run the last kill cut off waits queued until its courier has started on another node, which on a machine as
    /// busy as CI's took more than 10 s.
    /// </summary>
    private async Task WaitUntilLoadingAsync(params string[] couriers)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(50))
            if (couriers.Except(await RunningCouriersAsync()).Any() is false) return;
    }

    private async Task<List<string>> RunningCouriersAsync() =>
        (await QueryAsync("SELECT DISTINCT courier_id FROM heapd.runs WHERE status = 'running' ORDER BY courier_id")).Select(r => (string)r["courier_id"]!).ToList();

    [Fact]
    public async Task A_node_left_alone_when_the_other_two_die_downs_itself_and_exits_with_1_so_that_a_restart_policy_brings_it_back()
    {
        var survivor = _nodes[0];
        await WaitForClusterAsync(survivor, AllUp);

        await Task.WhenAll(_nodes.Skip(1).Select(n => n.KillAsync()));

        // Keep-majority: one of three is the minority, which downs itself once the others are unreachable for DownAfter.
        Assert.True(await survivor.ExitsWithinAsync(Generous), "the node left alone was still running");
        output.WriteLine($"{survivor.ClusterAddress} exited with {survivor.ExitCode}");
        Assert.Equal(1, survivor.ExitCode);
        Assert.Contains("its actor system stopped (ClusterDowningReason), not because it was asked to", survivor.Log);
    }

    [Fact]
    public async Task A_rolling_restart_of_all_three_while_runs_go_on_loses_and_repeats_nothing_and_marks_nothing_failed()
    {
        await UploadOverlappingFilesAsync("rolling");
        await ConfigureFilesCourierAsync("rolling");

        foreach (var node in _nodes)
        {
            if (await CountAsync("SELECT count(*) FROM heapd.runs WHERE courier_id = 'rolling' AND status IN ('queued', 'running')") == 0)
                await SendAsync(Any(except: node), HttpMethod.Post, "/api/couriers/rolling/runs", new { forceReload = true });
            await Task.Delay(700);
            var took = await node.TerminateAsync(TimeSpan.FromSeconds(60));
            output.WriteLine($"SIGTERM {node.ClusterAddress}: exited with {node.ExitCode} after {took}; runs {await DescribeRunsAsync()}");
            Assert.Equal(0, node.ExitCode);
            await RestartExitedAsync();
        }

        await WaitForRunsAsync();
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM heapd.runs WHERE courier_id = 'rolling' AND status <> 'succeeded'"));
        await AssertFilesTableAsync("rolling");
        Assert.Equal(Files, await CountAsync("SELECT count(*) FROM heapd.load_ledger WHERE object_key LIKE 'rolling/%'"));
    }

    [Fact]
    public async Task A_courier_asked_to_run_on_one_node_while_it_lives_on_another_runs_once()
    {
        await UploadOverlappingFilesAsync("solo");
        // Several couriers, so some live away from node 0 (sharding spreads them by id).
        var couriers = Enumerable.Range(1, 6).Select(i => $"solo-{i}").ToList();
        await ConfigureFilesCourierAsync("solo", couriers);
        var cluster = await WaitForClusterAsync(_nodes[0], c => couriers.All(id => HolderOf(c, id) is not null));
        // Every courier lives on exactly one node.
        foreach (var id in couriers)
            Assert.Single(cluster.GetProperty("members").EnumerateArray(), m => m.GetProperty("couriers").EnumerateArray().Any(c => c.GetString() == id));
        var away = couriers.First(id => HolderOf(cluster, id) != _nodes[0].ClusterAddress);

        var accepted = await SendAsync(_nodes[0], HttpMethod.Post, $"/api/couriers/{away}/runs", new { });
        using (var api = _nodes[0].Api())
        {
            var run = await api.WaitForRunAsync(accepted.GetProperty("runId").GetGuid(), Generous);
            Assert.Equal("succeeded", run.GetProperty("status").GetString());
        }
        Assert.Equal(1, await CountAsync($"SELECT count(*) FROM heapd.runs WHERE courier_id = '{away}'"));
        Assert.Equal(Files, await CountAsync($"SELECT count(*) FROM heapd.run_files WHERE run_id = '{accepted.GetProperty("runId").GetGuid()}'"));
        Assert.Equal(Files, await CountAsync("SELECT count(*) FROM heapd.load_ledger WHERE object_key LIKE 'solo/%'"));
        await AssertFilesTableAsync("solo");
    }

    [Fact]
    public async Task Stitch_is_one_for_the_cluster_a_stitch_asked_of_every_node_at_once_runs_at_most_twice_one_after_the_other()
    {
        await RestartExitedAsync();
        // Each node's request reaches the one Stitch (a singleton): the first starts a stitch, those made meanwhile join
        // the one waiting behind it. A Stitch per node would start three, two of them refused the database's stitch lock.
        var accepted = await Task.WhenAll(_nodes.Select(node => SendAsync(node, HttpMethod.Post, "/api/stitch/runs", new { })));
        var ids = accepted.Select(a => a.GetProperty("runId").GetGuid()).Distinct().ToList();
        Assert.InRange(ids.Count, 1, 2);

        var deadline = DateTime.UtcNow + Generous;
        while (await CountAsync("SELECT count(*) FROM heapd.stitch_runs WHERE status IN ('queued', 'running')") > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("stitches still unfinished");
            await Task.Delay(200);
        }
        // Stitches after loads (another case's) are not this case's.
        var runs = await QueryAsync("SELECT id, status, message FROM heapd.stitch_runs WHERE trigger <> 'load'");
        Assert.Subset(runs.Select(r => (Guid)r["id"]!).ToHashSet(), ids.ToHashSet());
        Assert.All(runs, r => Assert.True((string)r["status"]! == "succeeded", $"stitch {r["id"]}: {r["status"]}, {r["message"]}"));
    }

    [Fact]
    public async Task A_run_that_ends_on_any_node_is_followed_by_a_stitch_of_its_records()
    {
        await RestartExitedAsync();
        await SendAsync(_nodes[0], HttpMethod.Post, "/api/stitch/settings", new { runAfterLoads = true, debounceSeconds = 0 });
        await SendAsync(_nodes[0], HttpMethod.Post, "/api/feeds", new
        {
            source = "files", name = "people",
            fields = new object[] { new { name = "person_id", type = "integer", primaryKey = true }, new { name = "email", type = "string", tags = new[] { "email" } } },
        });
        await SendAsync(_nodes[0], HttpMethod.Post, "/api/feeds/files-people/activate", new { });
        // Nine couriers, one file of ten people each, so that couriers live on every node (sharding spreads them by id)
        // and some runs end away from the node Stitch lives on: that node hears of them only through its relay.
        var couriers = Enumerable.Range(1, 9).Select(i => $"people-{i}").ToList();
        foreach (var (id, i) in couriers.Select((id, i) => (id, i)))
        {
            await TestEnvironment.PutAsync(_s3, _bucket, $"people/{id}.csv",
                "person_id,email\n" + string.Concat(Enumerable.Range(i * 10, 10).Select(p => $"{p},person{p}@example.com\n")));
            await SendAsync(_nodes[0], HttpMethod.Post, "/api/couriers", new { id, credentialId = "moto", files = new[] { new { key = $"people/{id}.csv", feedId = "files-people" } } });
        }
        var cluster = await WaitForClusterAsync(_nodes[0], c => couriers.All(id => HolderOf(c, id) is not null));
        var onePerNode = couriers.GroupBy(id => HolderOf(cluster, id)).Select(g => g.First()).ToList();
        Assert.True(onePerNode.Count >= 2, "the nine couriers all live on one node");

        foreach (var courier in onePerNode)
        {
            var accepted = await SendAsync(Any(), HttpMethod.Post, $"/api/couriers/{courier}/runs", new { });
            using (var api = Any().Api())
                Assert.Equal("succeeded", (await api.WaitForRunAsync(accepted.GetProperty("runId").GetGuid(), Generous)).GetProperty("status").GetString());
            var first = couriers.IndexOf(courier) * 10;
            var stitched = $"SELECT count(*) FROM stitch.unified_coalesced WHERE source = 'files' AND feed = 'people' AND pk::int BETWEEN {first} AND {first + 9}";
            for (var deadline = DateTime.UtcNow + Generous; await CountStitchedAsync(stitched) < 10; await Task.Delay(250))
                Assert.True(DateTime.UtcNow < deadline, $"{courier}'s people were never stitched (it lives on {HolderOf(cluster, courier)})");
        }
        await SendAsync(_nodes[0], HttpMethod.Post, "/api/stitch/settings", new { runAfterLoads = false });
        Assert.Empty(await QueryAsync("SELECT id FROM heapd.stitch_runs WHERE trigger = 'load' AND status IN ('failed', 'cancelled')"));
    }

    /// <summary>A count of Stitch's result, 0 while no stitch has made it.</summary>
    private async Task<long> CountStitchedAsync(string sql) =>
        await CountAsync("SELECT count(*) FROM pg_tables WHERE schemaname = 'stitch' AND tablename = 'unified_coalesced'") == 0 ? 0 : await CountAsync(sql);

    private static bool AllUp(JsonElement cluster) =>
        cluster.GetProperty("members").EnumerateArray().Count(m => m.GetProperty("status").GetString() == "up") == 3;

    private static string? HolderOf(JsonElement cluster, string courierId) =>
        cluster.GetProperty("members").EnumerateArray()
            .Where(m => m.GetProperty("couriers").ValueKind == JsonValueKind.Array && m.GetProperty("couriers").EnumerateArray().Any(c => c.GetString() == courierId))
            .Select(m => m.GetProperty("address").GetString())
            .FirstOrDefault();

    private DaemonProcess Any(DaemonProcess? except = null) => _nodes.First(n => n.Running && n != except);

    /// <summary>
    /// What an orchestrator does: a node that exited (a node the split-brain resolver downed exits; on a machine as
    /// loaded as CI's, a node starved of CPU for longer than the failure detector allows can be one) is started again.
    /// </summary>
    private async Task RestartExitedAsync()
    {
        foreach (var node in _nodes.Where(n => !n.Running))
            for (var attempt = 1; ; attempt++)
            {
                output.WriteLine($"{node.ClusterAddress} had exited; starting it again");
                try
                {
                    await node.StartAsync();
                    break;
                }
                catch (InvalidOperationException) when (!node.Running && attempt < 3)
                {
                    // Downed while it joined (it and a node it had not yet heard from for long enough took each other
                    // for unreachable, on a starved machine), as an orchestrator would see it: it exits, and is started again.
                }
            }
    }

    private async Task<JsonElement> WaitForClusterAsync(DaemonProcess node, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow + Generous;
        using var api = node.Api();
        while (true)
        {
            var cluster = await api.GetOkAsync("/api/cluster");
            if (condition(cluster)) return cluster;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the cluster never reached the condition: {cluster}");
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Sends until the daemon answers with success: while a node is being replaced, the registry singleton or a shard
    /// may be moving, and the answer is 503 (try again), not a lost request.
    /// </summary>
    private async Task<JsonElement> SendAsync(DaemonProcess node, HttpMethod method, string path, object body)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (true)
        {
            using var api = node.Api();
            HttpResponseMessage response;
            try
            {
                response = await api.SendAsync(new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) });
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                // The node is going: downed by the others (it exits, as it would for its orchestrator to restart it).
                await RestartExitedAsync();
                node = Any();
                continue;
            }
            var text = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode) return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement;
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
            await Task.Delay(250);
        }
    }

    private async Task ConfigureFilesCourierAsync(string name, IReadOnlyList<string>? couriers = null)
    {
        await RestartExitedAsync();
        await SendAsync(_nodes[0], HttpMethod.Post, "/api/feeds", new
        {
            source = "files", name, lastUpdatedField = "joined_at",
            fields = new object[]
            {
                new { name = "user_id", type = "integer", primaryKey = true }, new { name = "email", type = "string" },
                new { name = "joined_at", type = "datetime" }, new { name = "score", type = "decimal", precision = 10, scale = 2 },
            },
        });
        await SendAsync(_nodes[0], HttpMethod.Post, $"/api/feeds/files-{name}/activate", new { });
        foreach (var id in couriers ?? [name])
            await SendAsync(_nodes[0], HttpMethod.Post, "/api/couriers",
                new { id, credentialId = "moto", files = Enumerable.Range(0, Files).Select(f => new { key = $"{name}/part-{f}.csv", feedId = $"files-{name}" }).ToArray() });
    }

    /// <summary>File f holds users [f*4000, f*4000+6000): each overlaps the next, whose rows are newer.</summary>
    private async Task UploadOverlappingFilesAsync(string name)
    {
        for (var f = 0; f < Files; f++)
        {
            var text = new StringBuilder("user_id,email,joined_at,score\n");
            for (var id = f * (RowsPerFile - Overlap); id < f * (RowsPerFile - Overlap) + RowsPerFile; id++)
                text.Append($"{id},u{id}-f{f}@example.com,2026-11-{f + 1:00}T00:00:00Z,{f}\n");
            await TestEnvironment.PutAsync(_s3, _bucket, $"{name}/part-{f}.csv", text.ToString());
        }
    }

    /// <summary>Computed from the files' layout, not from the daemon: each user's row is the newest file's.</summary>
    private async Task AssertFilesTableAsync(string name)
    {
        var expected = new Dictionary<long, string>();
        for (var f = 0; f < Files; f++)
            for (long id = f * (RowsPerFile - Overlap); id < f * (RowsPerFile - Overlap) + RowsPerFile; id++)
                expected[id] = $"u{id}-f{f}@example.com|{f}";
        var actual = new Dictionary<long, string>();
        foreach (var row in await QueryAsync($"SELECT user_id, email, score FROM files.{name}"))
            Assert.True(actual.TryAdd((long)row["user_id"]!, $"{row["email"]}|{(decimal)row["score"]!:0}"));
        Assert.Equal(expected.Count, actual.Count);
        Assert.Empty(expected.Where(e => actual.GetValueOrDefault(e.Key) != e.Value).Take(5));
    }

    private async Task WaitForRunsAsync()
    {
        var deadline = DateTime.UtcNow + Generous;
        while (await CountAsync("SELECT count(*) FROM heapd.runs WHERE status IN ('queued', 'running')") > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"runs still unfinished: {await DescribeRunsAsync()}");
            await Task.Delay(200);
        }
    }

    private async Task<string> DescribeRunsAsync()
    {
        var rows = await QueryAsync("SELECT courier_id || ' ' || status || coalesce(': ' || left(message, 120), '') AS d FROM heapd.runs ORDER BY requested_at");
        return string.Join("; ", rows.Select(r => r["d"]));
    }

    private async Task<long> CountAsync(string sql) => (long)(await QueryAsync(sql))[0].Values.Single()!;

    private Task<List<Dictionary<string, object?>>> QueryAsync(string sql) => TestEnvironment.QueryAsync(_connectionString, sql);
}
