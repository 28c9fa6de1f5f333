using System.Collections.Concurrent;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence.Hosting;
using Akka.TestKit.Xunit2;
using HeapDaemon.Actors.Cluster;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Memory;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Configuration;
using HeapDaemon.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Xunit;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Tests.Couriers;

/// <summary>
/// The courier actors as the daemon starts them, without its HTTP edge: each test hosts the daemon's services
/// (<see cref="DaemonSetup.AddCourierServices"/>) and actors (<see cref="CourierHostingExtensions.AddCourierActors"/>), with
/// the in-memory journal, in a cluster of one, on the class's database in PostgreSQL. Its runs use a credential that does not exist, so each
/// ends quickly and deterministically in a failure the test reads.
/// </summary>
public sealed class CourierActorSpecs(CourierActorSpecs.Database database) : IClassFixture<CourierActorSpecs.Database>, IAsyncLifetime
{
    private static readonly CourierConfig Config = new("no-such-credential", [new CourierFile("a.csv", "heap-users")]);
    private readonly ConcurrentQueue<int> _trims = new();
    private IdleMemory _memory = null!;
    private IHost _host = null!;
    private TestKit _kit = null!;
    private CourierServices _services = null!;

    private ActorSystem Sys => _kit.Sys;

    private TimeSpan RemainingOrDefault => _kit.RemainingOrDefault;

    /// <summary>The class's database, with the daemon's schema; the tests use couriers of their own in it.</summary>
    public sealed class Database : IAsyncLifetime
    {
        public string ConnectionString { get; private set; } = "";

        public async Task InitializeAsync()
        {
            ConnectionString = await TestEnvironment.CreateDatabaseAsync();
            await using var db = NpgsqlDataSource.Create(ConnectionString);
            await MetadataSchema.EnsureAsync(db, CancellationToken.None);
        }

        public Task DisposeAsync() => TestEnvironment.DropDatabaseAsync(ConnectionString);
    }

    public async Task InitializeAsync()
    {
        _memory = new IdleMemory(() => _trims.Enqueue(_memory.Running));
        _host = new HostBuilder()
            .ConfigureAppConfiguration(config => config.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Postgres"] = database.ConnectionString,
                ["Admin:Token"] = DaemonHost.Token,
                ["Secrets:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            }))
            .ConfigureServices((context, services) =>
            {
                services.AddCourierServices(context.Configuration);
                services.AddSingleton(_memory);
                services.AddAkka("courier-specs", (akka, _) => akka
                    .WithInMemoryJournal()
                    .WithInMemorySnapshotStore()
                    .AddDaemonCluster(new ClusterSettings())
                    .AddCourierActors());
            })
            .Build();
        await _host.StartAsync();
        // A cluster of one, as a daemon alone is: sharding and the registry singleton start once it is up.
        var up = new TaskCompletionSource();
        Akka.Cluster.Cluster.Get(_host.Services.GetRequiredService<ActorSystem>()).RegisterOnMemberUp(up.SetResult);
        await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
        _services = _host.Services.GetRequiredService<CourierServices>();
        _kit = new TestKit(_host.Services.GetRequiredService<ActorSystem>());
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task A_recreated_courier_recovers_its_configuration_from_the_journal_and_shows_its_runs_from_heapd_runs()
    {
        var courier = Sys.ActorOf(CourierActor.Props("c1", _services));
        await courier.Ask<CourierView>(new ConfigureCourier("c1", Config, Create: true), RemainingOrDefault);
        var accepted = await courier.Ask<RunAccepted>(new StartRun("c1", new RunRequest(new DateOnly(2026, 11, 26))), RemainingOrDefault);
        await AwaitRunAsync(accepted.RunId);
        await _kit.AwaitAssertAsync(async () =>
            Assert.Single((await courier.Ask<CourierView>(new GetCourier("c1"), RemainingOrDefault)).RecentRuns));
        await StopAsync(courier);

        var recreated = Sys.ActorOf(CourierActor.Props("c1", _services));
        var view = await recreated.Ask<CourierView>(new GetCourier("c1"), RemainingOrDefault);

        Assert.Equal(Config.CredentialId, view.Config.CredentialId);
        Assert.Equal(Config.Files, view.Config.Files);
        var run = Assert.Single(view.RecentRuns);
        Assert.Equal(accepted.RunId, run.RunId);
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Null(view.LastRunDate);
    }

    [Fact]
    public async Task A_courier_that_was_never_configured_refuses_runs()
    {
        var courier = Sys.ActorOf(CourierActor.Props("ghost", _services));

        Assert.IsType<CourierNotFound>(await courier.Ask<object>(new StartRun("ghost", new RunRequest()), RemainingOrDefault));
        Assert.IsType<CourierNotFound>(await courier.Ask<object>(new GetCourier("ghost"), RemainingOrDefault));
    }

    [Fact]
    public async Task Runs_asked_for_while_one_is_running_are_queued_and_run_one_after_another()
    {
        var ids = await StartRunsAsync("c2", 3);

        var runs = new List<RunRecord>();
        foreach (var accepted in ids) runs.Add(await AwaitRunAsync(accepted.RunId));
        Assert.All(runs, r => Assert.Equal("credential 'no-such-credential' does not exist", r.Message));
        var ordered = runs.OrderBy(r => r.StartedAt).ToList();
        for (var i = 1; i < ordered.Count; i++) Assert.True(ordered[i].StartedAt >= ordered[i - 1].FinishedAt, "runs of one courier overlapped");
    }

    [Fact]
    public async Task Memory_is_handed_back_once_the_last_run_in_flight_has_ended_and_not_while_one_runs()
    {
        var ids = await StartRunsAsync("c5", 3);
        foreach (var accepted in ids) await AwaitRunAsync(accepted.RunId);

        // A queued run may start before the one before has quite stopped; then that end trims nothing. The last always does.
        await _kit.AwaitConditionAsync(() => Task.FromResult(!_trims.IsEmpty), TimeSpan.FromSeconds(5));
        Assert.InRange(_trims.Count, 1, 3);
        Assert.All(_trims, running => Assert.Equal(0, running));
        Assert.Equal(0, _memory.Running);
    }

    [Fact]
    public async Task A_run_that_a_stop_interrupted_is_run_again_when_the_courier_recovers()
    {
        var courier = Sys.ActorOf(CourierActor.Props("c3", _services));
        await courier.Ask<CourierView>(new ConfigureCourier("c3", Config, Create: true), RemainingOrDefault);
        await StopAsync(courier);
        var interrupted = Guid.NewGuid();
        await _services.Runs.CreateAsync(interrupted, "c3", RunWindow.Day(new DateOnly(2026, 11, 26)), new RunRequest(), RunTrigger.Api, null, CancellationToken.None);
        await _services.Runs.MarkRunningAsync(interrupted, CancellationToken.None);

        Sys.ActorOf(CourierActor.Props("c3", _services));

        var run = await AwaitRunAsync(interrupted);
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("credential 'no-such-credential' does not exist", run.Message);
    }

    [Fact]
    public async Task A_courier_that_stops_unexpectedly_is_brought_back_by_its_supervisor_and_resumes_its_work()
    {
        var registry = await _host.Services.GetRequiredService<ActorRegistry>().GetAsync<CourierRegistryActor>();
        // The registry configures couriers only with credentials that exist; this one goes behind its back, so runs fail fast.
        await _services.Credentials.AddAsync(new S3Credential(Config.CredentialId, "bucket", "us-east-1", null, S3AuthMode.Default, null), null, CancellationToken.None);
        await registry.Ask<CourierView>(new ConfigureCourier("c4", Config, Create: true), TimeSpan.FromSeconds(30)); // the singleton starts once the node is up
        await _services.Credentials.DeleteAsync(Config.CredentialId, CancellationToken.None);
        // The courier itself, as sharding runs it: under its backoff supervisor, the entity, in whichever shard holds it.
        const string path = "/system/sharding/" + CourierHostingExtensions.RegionName + "/*/c4/courier";
        var courier = await Sys.ActorSelection(path).ResolveOne(RemainingOrDefault);
        var killed = courier.WatchAsync();

        courier.Tell(Kill.Instance);
        Assert.True(await killed.WaitAsync(TimeSpan.FromSeconds(30)));

        // Nothing is sent to it: its backoff supervisor brings it back, a new actor at the same place.
        await _kit.AwaitAssertAsync(async () => Assert.NotEqual(courier, await Sys.ActorSelection(path).ResolveOne(TimeSpan.FromSeconds(1))),
            TimeSpan.FromSeconds(10));
        Assert.IsType<CourierView>(await registry.Ask<object>(new GetCourier("c4"), RemainingOrDefault));
        var accepted = await registry.Ask<RunAccepted>(new StartRun("c4", new RunRequest()), RemainingOrDefault);
        Assert.Equal(RunStatus.Failed, (await AwaitRunAsync(accepted.RunId)).Status);
    }

    /// <summary>A new courier, asked for <paramref name="count"/> runs at once.</summary>
    private async Task<RunAccepted[]> StartRunsAsync(string courierId, int count)
    {
        var courier = Sys.ActorOf(CourierActor.Props(courierId, _services));
        await courier.Ask<CourierView>(new ConfigureCourier(courierId, Config, Create: true), RemainingOrDefault);
        return await Task.WhenAll(Enumerable.Range(0, count).Select(_ =>
            courier.Ask<RunAccepted>(new StartRun(courierId, new RunRequest()), RemainingOrDefault)));
    }

    private async Task<RunRecord> AwaitRunAsync(Guid runId)
    {
        RunRecord? run = null;
        await _kit.AwaitConditionAsync(async () =>
        {
            run = await _services.Runs.GetAsync(runId, CancellationToken.None);
            return run?.Status is RunStatus.Succeeded or RunStatus.Failed;
        }, TimeSpan.FromSeconds(20));
        return run!;
    }

    private async Task StopAsync(IActorRef actor)
    {
        var stopped = actor.WatchAsync();
        Sys.Stop(actor);
        Assert.True(await stopped.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
