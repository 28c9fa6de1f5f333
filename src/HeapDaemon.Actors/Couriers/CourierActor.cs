using System.Collections.Immutable;
using Akka;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Pattern;
using Akka.Event;
using Akka.Persistence;
using HeapDaemon.Actors.Failures;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Notifications;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Runs;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// One courier: its configuration and how far its schedule has run, persisted. Runs one run at a time, each in a
/// <see cref="CourierRunActor"/> child; runs asked for meanwhile wait in a queue. Runs themselves live in
/// <c>heapd.runs</c>: the queue's truth is there (status queued or running), so runs that a stop or crash interrupted
/// start again on recovery, and the load ledger makes the files already loaded skip; and the courier's recent runs
/// and last run date are read from there whenever it is shown, so they always match the runs. A run that fails for a
/// transient reason is run again after an exponential backoff, up to <see cref="RunSettings.MaxAttempts"/>. A courier
/// with a schedule keeps one single timer to its next tick, set again after each; the last tick it ran is journalled,
/// so after downtime it runs once, for the latest tick it missed.
/// </summary>
public sealed class CourierActor : ReceivePersistentActor, IWithTimers
{
    private const int SnapshotEvery = 50;

    private static readonly ExponentialBackoff Restarts = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2));

    /// <summary>A courier that stays up this long is healthy again: its next crash starts the backoff over.</summary>
    private static readonly TimeSpan StableAfter = TimeSpan.FromMinutes(5);
    private const string ScheduleTimer = "schedule";

    /// <summary>The schedule timer wakes at least this often, so a clock that jumps (suspend, NTP) is noticed.</summary>
    private static readonly TimeSpan MaxScheduleSleep = TimeSpan.FromMinutes(1);

    private readonly CourierServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<QueuedRun> _queue = new();
    private CourierState _state;
    private ActiveRun? _active;
    private DateTimeOffset? _schedulingTick;

    public CourierActor(string courierId, CourierServices services)
    {
        _services = services;
        _state = new CourierState(courierId);
        PersistenceId = PersistenceIds.Courier(courierId);

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is CourierState state) _state = state;
        });
        Recover<ICourierEvent>(e => _state = _state.Apply(e));

        Command<ConfigureCourier>(configure => Persist(new CourierConfigured(configure.Config, _services.Clock.GetUtcNow()), e =>
        {
            Apply(e);
            ReplyWithView(Sender);
            CheckSchedule();
        }));
        Command<GetCourier>(_ =>
        {
            if (_state.Exists) ReplyWithView(Sender);
            else Sender.Tell(new CourierNotFound(_state.Id));
        });
        Command<DeleteCourier>(_ => Delete());
        // Started by the message: nothing else to do.
        Command<WakeCourier>(_ => { });
        Command<StartRun>(RecordRun);
        Command<RunRecorded>(recorded =>
        {
            recorded.ReplyTo.Tell(new RunAccepted(recorded.Run.RunId));
            _queue.Enqueue(recorded.Run);
            StartNextRun();
        });
        Command<RunNotRecorded>(failed => failed.ReplyTo.Tell(new Status.Failure(failed.Cause)));
        Command<UnfinishedRuns>(ResumeUnfinished);
        Command<LoadUnfinishedRuns>(_ => LoadUnfinished());
        Command<UnfinishedRunsNotLoaded>(failed =>
        {
            _log.Warning(failed.Cause, "Courier {CourierId}: could not read its unfinished runs; trying again in 10 s", _state.Id);
            Timers.StartSingleTimer(nameof(LoadUnfinishedRuns), LoadUnfinishedRuns.Instance, TimeSpan.FromSeconds(10));
        });
        Command<GetRunProgress>(get => Sender.Tell(_active?.RunId == get.RunId
            ? new RunProgressReply(get.RunId, _active.InFlight.LastOrDefault(), _active.InFlight)
            : new RunProgressReply(get.RunId, null, [])));
        Command<CancelRun>(Cancel);
        Command<RetryRun>(retry =>
        {
            if (_active?.RunId == retry.RunId && _active.Actor is null) StartRunActor(_active.Run, _active.Attempt + 1, _active.Failures);
        });
        Command<CourierRunActor.RunProgressed>(progressed =>
        {
            if (_active?.RunId == progressed.RunId)
                _active = _active with { InFlight = _active.InFlight.RemoveAll(f => f.Ordinal == progressed.Progress.Ordinal).Add(progressed.Progress) };
        });
        Command<CourierRunActor.RunFileEnded>(ended =>
        {
            if (_active?.RunId == ended.RunId) _active = _active with { InFlight = _active.InFlight.RemoveAll(f => f.Ordinal == ended.Ordinal) };
        });
        Command<CourierRunActor.RunEnded>(ended =>
        {
            if (_active?.RunId != ended.Summary.RunId) return;
            if (ended.RetryAfter is { } delay)
            {
                RetryLater(ended, delay);
                return;
            }
            Notify(ended, _active.Attempt);
            Finish(ended.Summary.RunId);
        });
        // Plain Watch, not WatchWith: a Terminated stashed while persisting is redelivered as a Terminated.
        Command<Terminated>(terminated =>
        {
            // The run actor reports before it stops, so reaching here with its run still active means it crashed.
            if (_active?.Actor is null || !_active.Actor.Equals(terminated.ActorRef)) return;
            const string crashed = "the run stopped unexpectedly; see the daemon log";
            _services.Runs.FinishAsync(_active.RunId, RunStatus.Failed, crashed, CancellationToken.None)
                .PipeTo(Self, success: () => Done.Instance, failure: e => new Status.Failure(e));
            Context.System.EventStream.Publish(new Notification(NotificationEvent.RunFailed, _state.Id, _active.RunId, crashed, _services.Clock.GetUtcNow()));
            Finish(_active.RunId);
        });
        Command<CheckScheduleNow>(_ => CheckSchedule());
        Command<ScheduledRunRecorded>(recorded => Persist(new ScheduledRunStarted(recorded.Tick, recorded.Run.RunId), e =>
        {
            Apply(e);
            _schedulingTick = null;
            _log.Info("Courier {CourierId}: schedule tick {Tick} queued run {RunId} for {Window}", _state.Id, e.Tick, e.RunId, recorded.Run.Window);
            _queue.Enqueue(recorded.Run);
            StartNextRun();
            CheckSchedule();
        }));
        Command<ScheduledRunNotRecorded>(failed =>
        {
            _schedulingTick = null;
            _log.Warning(failed.Cause, "Courier {CourierId}: could not record a scheduled run; trying again in 10 s", _state.Id);
            Timers.StartSingleTimer(ScheduleTimer, CheckScheduleNow.Instance, TimeSpan.FromSeconds(10));
        });
        Command<Done>(_ => { });
        Command<Status.Failure>(failure => _log.Error(failure.Cause, "Courier {CourierId}: recording a run failed", _state.Id));
        Command<SaveSnapshotSuccess>(success =>
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(failure => _log.Warning(failure.Cause, "Courier {CourierId}: snapshot failed", _state.Id));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure => _log.Warning(failure.Cause, "Courier {CourierId}: deleting old snapshots failed", _state.Id));
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string courierId, CourierServices services) =>
        Akka.Actor.Props.Create(() => new CourierActor(courierId, services));

    /// <summary>
    /// The courier as a sharded entity: under Akka's <see cref="BackoffSupervisor"/>, because a courier stops when its
    /// journal fails (persistence stops a persistent actor rather than restart it) and must come back after a backoff that
    /// grows while it keeps failing, so a database outage is not hammered; meanwhile what is sent to it is answered with
    /// <see cref="CourierRestartingException"/>. The supervisor passes what the courier tells its parent on to the shard
    /// as its own (so <see cref="Passivate"/> names the entity).
    /// </summary>
    public static Props Entity(string courierId, CourierServices services) =>
        BackoffSupervisor.Props(Backoff.OnStop(Props(courierId, services), "courier", Restarts.Min, Restarts.Max, Restarts.RandomFactor, maxNrOfRetries: -1)
            .WithAutoReset(StableAfter)
            .WithReplyWhileStopped(new Status.Failure(new CourierRestartingException(courierId))));

    /// <summary>A run that throws is a failed run, not a reason to restart it: its child is stopped.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => Akka.Actor.SupervisorStrategy.StoppingStrategy;

    /// <summary>Its journal failed: persistence stops the courier, and its supervisor starts it again after a backoff.</summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        NotifyStopped(cause);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <inheritdoc cref="OnPersistFailure"/>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        NotifyStopped(reason);
        base.OnRecoveryFailure(reason, message);
    }

    protected override void OnReplaySuccess()
    {
        if (!_state.Exists) return;
        LoadUnfinished();
        CheckSchedule();
    }

    /// <summary>
    /// Starts the run of the latest tick that is due and not yet run, or sleeps until the next tick. Only the latest
    /// due tick runs: a courier that was down for several ticks catches up once.
    /// </summary>
    private void CheckSchedule()
    {
        Timers.Cancel(ScheduleTimer);
        if (_state.Config?.Schedule is not { Active: true } schedule || _schedulingTick is not null) return;
        var now = _services.Clock.GetUtcNow();
        if (schedule.LatestDue(_state.ScheduledThrough ?? now, now) is { } tick)
        {
            StartScheduledRun(schedule, tick);
            return;
        }
        // A cron that never fires again (30 February) has no next tick.
        if (schedule.NextAfter(now) is not { } next) return;
        Timers.StartSingleTimer(ScheduleTimer, CheckScheduleNow.Instance, next - now < MaxScheduleSleep ? next - now : MaxScheduleSleep);
    }

    /// <summary>
    /// The run's row is written before the tick is journalled: a crash in between runs that date twice (the ledger
    /// skips what the first loaded) rather than not at all.
    /// </summary>
    private void StartScheduledRun(CourierSchedule schedule, DateTimeOffset tick)
    {
        _schedulingTick = tick;
        var window = RunWindow.Day(schedule.RunDateFor(tick));
        var run = new QueuedRun(Guid.NewGuid(), window, new RunRequest(window.From));
        _services.Runs.CreateAsync(run.RunId, _state.Id, window, run.Request, RunTrigger.Schedule, null, CancellationToken.None).PipeTo(Self,
            success: () => new ScheduledRunRecorded(run, tick),
            failure: e => new ScheduledRunNotRecorded(e));
    }

    private void LoadUnfinished() =>
        _services.Runs.UnfinishedAsync(_state.Id, CancellationToken.None).PipeTo(Self,
            success: runs => new UnfinishedRuns(runs.Select(r => new QueuedRun(r.RunId, r.Window, r.Request)).ToList()),
            failure: e => new UnfinishedRunsNotLoaded(e));

    private void ResumeUnfinished(UnfinishedRuns unfinished)
    {
        foreach (var run in unfinished.Runs.Where(r => r.RunId != _active?.RunId && _queue.All(q => q.RunId != r.RunId)))
        {
            _log.Info("Courier {CourierId}: resuming run {RunId} that a stop interrupted", _state.Id, run.RunId);
            _queue.Enqueue(run);
        }
        StartNextRun();
    }

    private void RecordRun(StartRun start)
    {
        if (!_state.Exists)
        {
            Sender.Tell(new CourierNotFound(_state.Id));
            return;
        }
        var (window, refused) = RunWindow.Of(start.Request, DateOnly.FromDateTime(_services.Clock.GetUtcNow().UtcDateTime));
        if (window is null)
        {
            Sender.Tell(new RunRefused(refused!));
            return;
        }
        var run = new QueuedRun(Guid.NewGuid(), window, start.Request);
        var replyTo = Sender;
        // The run's row exists before the caller hears its id, so a status request never finds nothing.
        var trigger = start.RetryOf is null ? RunTrigger.Api : RunTrigger.Retry;
        _services.Runs.CreateAsync(run.RunId, _state.Id, window, run.Request, trigger, start.RetryOf, CancellationToken.None).PipeTo(Self,
            success: () => new RunRecorded(run, replyTo),
            failure: e => new RunNotRecorded(replyTo, e));
    }

    private void StartNextRun()
    {
        if (_active is null && _queue.Count > 0 && _state.Exists) StartRunActor(_queue.Dequeue(), attempt: 1, failures: null);
        // Every change of the queue passes here (or through Cancel), so the gauge follows it.
        _services.Metrics.QueueLength(_state.Id, _queue.Count);
    }

    private void StartRunActor(QueuedRun run, int attempt, FailedAttempts? failures)
    {
        var plan = new RunPlan(run.RunId, _state.Id, run.Window, run.Request, _state.Config!, attempt, failures);
        // The attempt is in the name: the previous attempt's actor may still be stopping.
        var actor = Context.ActorOf(CourierRunActor.Props(plan, _services), $"run-{run.RunId:N}-{attempt}");
        Context.Watch(actor);
        _active = new ActiveRun(run, attempt, actor, [], failures);
    }

    /// <summary>The run stays this courier's active run while it waits, so runs queued behind it keep their order.</summary>
    private void RetryLater(CourierRunActor.RunEnded failed, TimeSpan delay)
    {
        _log.Warning("Courier {CourierId}: run {RunId} attempt {Attempt} failed for a reason that may pass; retrying in {Delay}. {Message}",
            _state.Id, failed.Summary.RunId, _active!.Attempt, delay, failed.Summary.Message);
        _active = _active with { Actor = null, InFlight = [], Failures = failed.Failures };
        Timers.StartSingleTimer(RetryTimer(failed.Summary.RunId), new RetryRun(failed.Summary.RunId), delay);
    }

    private void Cancel(CancelRun cancel)
    {
        if (_active?.RunId == cancel.RunId && _active.Actor is { } actor)
        {
            actor.Tell(CourierRunActor.Cancel.Instance);
            Sender.Tell(new RunCancelling(cancel.RunId));
            return;
        }
        QueuedRun? run = _active?.RunId == cancel.RunId ? _active.Run : _queue.FirstOrDefault(q => q.RunId == cancel.RunId);
        if (run is null)
        {
            Sender.Tell(new RunNotActive(cancel.RunId));
            return;
        }
        // Not running now (queued, or waiting to retry): it ends here.
        Timers.Cancel(RetryTimer(run.RunId));
        var remaining = _queue.Where(q => q.RunId != run.RunId).ToList();
        _queue.Clear();
        foreach (var q in remaining) _queue.Enqueue(q);
        _services.Metrics.QueueLength(_state.Id, _queue.Count);
        const string message = "cancelled by request before it ran";
        _services.Runs.FinishAsync(run.RunId, RunStatus.Cancelled, message, CancellationToken.None)
            .PipeTo(Self, success: () => Done.Instance, failure: e => new Status.Failure(e));
        Sender.Tell(new RunCancelling(run.RunId));
        if (_active?.RunId == run.RunId) Finish(run.RunId);
    }

    private static string RetryTimer(Guid runId) => $"retry-{runId:N}";

    /// <summary>Tells webhooks (through the event stream, without waiting) that a run failed, or succeeded after failed attempts.</summary>
    private void Notify(CourierRunActor.RunEnded ended, int attempt)
    {
        var (summary, now) = (ended.Summary, _services.Clock.GetUtcNow());
        var events = Context.System.EventStream;
        if (summary.Status == RunStatus.Failed)
            events.Publish(new Notification(NotificationEvent.RunFailed, _state.Id, summary.RunId, summary.Message ?? "the run failed", now));
        else if (summary.Status == RunStatus.Succeeded && attempt > 1)
            events.Publish(new Notification(NotificationEvent.RunSucceededAfterRetries, _state.Id, summary.RunId,
                $"succeeded on attempt {attempt} of {_services.RunSettings.MaxAttempts}, after {attempt - 1} failed: {summary.Message}", now));
        if (ended.BlockedDump is { } dump)
            events.Publish(new Notification(NotificationEvent.HeapDumpBlocked, _state.Id, summary.RunId,
                $"Heap dump {dump} cannot apply, and the dumps after it wait for it: {summary.Message}", now, dump));
    }

    private void NotifyStopped(Exception cause) =>
        Context.System.EventStream.Publish(new Notification(NotificationEvent.CourierStopped, _state.Id, null,
            $"courier '{_state.Id}' stopped unexpectedly (its journal failed: {FailureText.Of(cause)}); it is started again after a backoff " +
            "that grows while it keeps failing", _services.Clock.GetUtcNow()));

    /// <summary>The run has ended and says so in heapd.runs, where the courier's history is read from: nothing to journal.</summary>
    private void Finish(Guid runId)
    {
        if (_active?.RunId != runId) return;
        _active = null;
        StartNextRun();
    }

    private void Delete()
    {
        if (!_state.Exists)
        {
            Sender.Tell(new CourierNotFound(_state.Id));
            return;
        }
        if (_active is not null || _queue.Count > 0)
        {
            Sender.Tell(new CourierBusy(_state.Id, "the courier has a run in progress or queued; wait for it to end"));
            return;
        }
        Persist(new CourierDeleted(_services.Clock.GetUtcNow()), e =>
        {
            Apply(e);
            Timers.Cancel(ScheduleTimer);
            Sender.Tell(new CourierRemoved(_state.Id));
            _services.Metrics.CourierGone(_state.Id);
            if (ActorRegistry.For(Context.System).TryGet<CourierRegistryActor>(out var registry))
                registry.Tell(new CourierRegistryActor.CourierRetired(_state.Id));
            // Passivated, so sharding forgets it rather than start it again; a courier of this id created anew starts fresh.
            Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        });
    }

    private void Apply(ICourierEvent e)
    {
        _state = _state.Apply(e);
        if (LastSequenceNr % SnapshotEvery == 0) SaveSnapshot(_state);
    }

    /// <summary>The courier as it is now, with its recent runs as heapd.runs has them; a database failure is the answer's failure.</summary>
    private void ReplyWithView(IActorRef replyTo)
    {
        var (id, config, current, queued) = (_state.Id, _state.Config!, _active?.RunId, _queue.Count);
        var next = config.Schedule is { Active: true } schedule ? schedule.NextAfter(_services.Clock.GetUtcNow()) : null;
        ViewAsync().PipeTo(replyTo, success: view => view, failure: e => new Status.Failure(e));

        async Task<CourierView> ViewAsync()
        {
            var history = await _services.Runs.HistoryAsync(id, CourierState.RecentRunsShown, CancellationToken.None);
            var view = new CourierView(id, config, history.LastRunDate, [.. history.Recent], current, queued, next);
            return await _services.Kinds[config.Kind].DescribeAsync(view, CancellationToken.None);
        }
    }

    private sealed record QueuedRun(Guid RunId, RunWindow Window, RunRequest Request);

    /// <param name="Actor">The run actor of the current attempt; null while the run waits to be retried.</param>
    /// <param name="InFlight">The files being loaded, each as far as it last reported, the latest report last.</param>
    /// <param name="Failures">How its earlier attempts failed, for the attempt that gives up to say.</param>
    private sealed record ActiveRun(QueuedRun Run, int Attempt, IActorRef? Actor, ImmutableList<FileProgress> InFlight, FailedAttempts? Failures)
    {
        public Guid RunId => Run.RunId;
    }

    private sealed record RetryRun(Guid RunId);

    private sealed record RunRecorded(QueuedRun Run, IActorRef ReplyTo);

    private sealed record RunNotRecorded(IActorRef ReplyTo, Exception Cause);

    private sealed record UnfinishedRuns(IReadOnlyList<QueuedRun> Runs);

    private sealed record UnfinishedRunsNotLoaded(Exception Cause);

    private sealed record ScheduledRunRecorded(QueuedRun Run, DateTimeOffset Tick);

    private sealed record ScheduledRunNotRecorded(Exception Cause);

    private sealed class CheckScheduleNow
    {
        public static readonly CheckScheduleNow Instance = new();
        private CheckScheduleNow() { }
    }

    private sealed class LoadUnfinishedRuns
    {
        public static readonly LoadUnfinishedRuns Instance = new();
        private LoadUnfinishedRuns() { }
    }
}
