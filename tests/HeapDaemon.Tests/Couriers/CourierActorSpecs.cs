using System.Collections.Concurrent;
using System.Security.Cryptography;
using Akka.Actor;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Endpoints;
using HeapDaemon.Actors.Heap;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Memory;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Metrics;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;
using HeapDaemon.Tests.Support;
using Npgsql;
using Xunit;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Tests.Couriers;

/// <summary>
/// The courier actor on the plain TestKit with the in-memory journal, and the real run store in PostgreSQL. Its
/// runs use a credential that does not exist, so each ends quickly and deterministically in a failure the test reads.
/// </summary>
public sealed class CourierActorSpecs() : Akka.TestKit.Xunit2.TestKit("""
    akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
    """), IAsyncLifetime
{
    private static readonly CourierConfig Config = new("no-such-credential", [new CourierFile("a.csv", "heap-users")]);
    private string _connectionString = "";
    private NpgsqlDataSource _db = null!;
    private CourierServices _services = null!;
    private readonly ConcurrentQueue<int> _trims = new();
    private IdleMemory _memory = null!;
    private static readonly GuardedHttpClientFactory Guard = new(new EndpointPolicy([], []));

    public async Task InitializeAsync()
    {
        _connectionString = await TestEnvironment.CreateDatabaseAsync();
        _db = NpgsqlDataSource.Create(_connectionString);
        await MetadataSchema.EnsureAsync(_db, CancellationToken.None);
        var protector = new SecretProtector(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var (feeds, runs, metrics) = (new FeedCatalog(_db), new RunStore(_db), new DaemonMetrics());
        var credentials = new CredentialCatalog(_db, protector);
        var pipeline = new FileLoadPipeline(_db, feeds, new LoadingSettings(), new S3Settings(), new PgpKeyCatalog(_db, protector));
        var s3 = new S3ClientFactory(new S3Settings(), new AwsCredentialsResolver(new AwsSettings(), TimeProvider.System, Guard), Guard);
        var kinds = new CourierKinds([new FilesCourier(feeds, runs, pipeline, metrics), new HeapCourier(_db, feeds, runs, pipeline, metrics)]);
        _memory = new IdleMemory(() => _trims.Enqueue(_memory.Running));
        _services = new CourierServices(credentials, feeds, runs, kinds, new CourierRunner(runs, credentials, s3, kinds), metrics, _memory,
            new RunSettings(), TimeProvider.System, new RunLeases(_db));
    }

    public async Task DisposeAsync()
    {
        await Sys.Terminate();
        await _db.DisposeAsync();
        await TestEnvironment.DropDatabaseAsync(_connectionString);
    }

    [Fact]
    public async Task A_recreated_courier_recovers_its_configuration_from_the_journal_and_shows_its_runs_from_heapd_runs()
    {
        var courier = Sys.ActorOf(CourierActor.Props("c1", _services));
        await courier.Ask<CourierView>(new ConfigureCourier("c1", Config, Create: true), RemainingOrDefault);
        var accepted = await courier.Ask<RunAccepted>(new StartRun("c1", new RunRequest(new DateOnly(2026, 11, 26))), RemainingOrDefault);
        await AwaitRunAsync(accepted.RunId);
        await AwaitAssertAsync(async () =>
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
        await AwaitConditionAsync(() => Task.FromResult(!_trims.IsEmpty), TimeSpan.FromSeconds(5));
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
        // The courier as sharding runs it: under its backoff supervisor.
        var entity = Sys.ActorOf(CourierActor.Entity("c4", _services), "c4");
        await entity.Ask<CourierView>(new ConfigureCourier("c4", Config, Create: true), RemainingOrDefault);
        const string path = "/user/c4/courier";
        var courier = await Sys.ActorSelection(path).ResolveOne(RemainingOrDefault);
        Watch(courier);

        courier.Tell(Kill.Instance);
        await ExpectTerminatedAsync(courier);

        // Nothing is sent to it: its backoff supervisor brings it back, a new actor at the same place.
        await AwaitAssertAsync(async () => Assert.NotEqual(courier, await Sys.ActorSelection(path).ResolveOne(TimeSpan.FromSeconds(1))),
            TimeSpan.FromSeconds(10));
        Assert.IsType<CourierView>(await entity.Ask<object>(new GetCourier("c4"), RemainingOrDefault));
        var accepted = await entity.Ask<RunAccepted>(new StartRun("c4", new RunRequest()), RemainingOrDefault);
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
        await AwaitConditionAsync(async () =>
        {
            run = await _services.Runs.GetAsync(runId, CancellationToken.None);
            return run?.Status is RunStatus.Succeeded or RunStatus.Failed;
        }, TimeSpan.FromSeconds(20));
        return run!;
    }

    private async Task StopAsync(IActorRef actor)
    {
        Watch(actor);
        Sys.Stop(actor);
        await ExpectTerminatedAsync(actor);
    }
}
