using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using HeapDaemon.Actors.Memory;
using HeapDaemon.Actors.Metrics;
using HeapDaemon.Actors.Notifications;
using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Runs;
using Microsoft.Extensions.DependencyInjection;
using static HeapDaemon.Actors.Stitch.StitchCommands;
using static HeapDaemon.Actors.Stitch.StitchReplies;

namespace HeapDaemon.Actors.Stitch;

/// <summary>What Stitch's actors use outside the actor system, built once by DI.</summary>
public sealed record StitchServices(
    StitchRunner Runner,
    StitchRunStore Runs,
    StitchSettingsStore Settings,
    StitchInputs Inputs,
    IdleMemory Memory,
    DaemonMetrics Metrics,
    TimeProvider Clock,
    RunSettings RunSettings);

/// <summary>
/// The cluster's one Stitch (a cluster singleton: it alone records stitch runs and fails the ones a stop interrupted).
/// Runs one stitch at a time in a <see cref="StitchRunActor"/> child; a request made meanwhile waits, and further
/// requests join it (a full one makes it full). A stitch that failed for a reason that may pass is tried again after
/// the daemon's backoff (<see cref="RunSettings"/>, as courier runs), and one that ends failed is told to the webhooks
/// (<see cref="NotificationEvent.StitchFailed"/>). Keeps the last result in memory, which is what an incremental stitch
/// starts from (after a restart, a move to another node, or a failed stitch, the next one is full). Starts stitches by
/// itself: after a courier run on any node that changed a tagged table (heard through each node's
/// <see cref="StitchLoadRelay"/>, once <see cref="StitchSettings.DebounceSeconds"/> have passed since the first such
/// run), on the settings' schedule, and once at start when a stitch was interrupted.
/// </summary>
public sealed class StitchActor : ReceiveActor, IWithTimers
{
    private const string DebounceTimer = "debounce";
    private const string ScheduleTimer = "schedule";
    private const string RetryTimer = "retry";
    private static readonly TimeSpan MaxScheduleSleep = TimeSpan.FromMinutes(1);

    private readonly StitchServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private StitchSettings _settings = new();
    private StitchResult? _last;
    /// <summary>Counts the loads heard and the stitches started, to tell which came first.</summary>
    private long _events;
    private long _lastStart;
    /// <summary>The latest load heard that no stitch has read yet, which the pending debounce is for.</summary>
    private long _latestLoad;
    private DateTimeOffset? _debounceSince;
    private Active? _active;
    private Waiting? _waiting;

    public StitchActor(StitchServices services)
    {
        _services = services;
        Receive<StartStitch>(start => Request(start.Kind, start.Trigger, Sender));
        Receive<Recorded>(recorded =>
        {
            if (_waiting?.RunId != recorded.RunId) return;
            _waiting = _waiting with { Recorded = true };
            foreach (var asker in _waiting.Askers) asker.Tell(new StitchAccepted(recorded.RunId, _active is not null));
            _waiting = _waiting with { Askers = [] };
            StartNext();
        });
        Receive<NotRecorded>(failed =>
        {
            if (_waiting?.RunId != failed.RunId) return;
            foreach (var asker in _waiting.Askers) asker.Tell(new Status.Failure(failed.Cause));
            _waiting = null;
        });
        Receive<GetStitchProgress>(get => Sender.Tell(new StitchProgressReply(get.RunId, _active?.RunId == get.RunId ? _active.Progress : null)));
        Receive<CancelStitch>(Cancel);
        Receive<StitchRunActor.Progressed>(progressed =>
        {
            if (_active?.RunId == progressed.RunId) _active = _active with { Progress = progressed.Progress };
        });
        Receive<StitchRunActor.Ended>(ended =>
        {
            if (_active?.RunId != ended.RunId || _active.Actor is not { } actor) return;
            Context.Unwatch(actor);
            // A failed incremental may have changed the result in memory without writing it: start over from the tables.
            _last = ended.Outcome.Result;
            if (ended.RetryAfter is { } delay)
            {
                // The run stays the active one while it waits, so a request meanwhile waits behind it.
                _log.Warning("Stitch {RunId}: {Message}", ended.RunId, ended.Outcome.Message);
                _active = _active with { Actor = null, Progress = null, Failures = ended.Failures };
                Timers.StartSingleTimer(RetryTimer, new RetryStitch(ended.RunId), delay);
                return;
            }
            if (ended.Outcome.Status == RunStatus.Failed) NotifyFailed(ended.RunId, ended.Outcome.Message);
            _active = null;
            StartNext();
        });
        Receive<RetryStitch>(retry =>
        {
            if (_active is not { Actor: null } waiting || waiting.RunId != retry.RunId) return;
            StartRunActor(new StitchPlan(waiting.RunId, waiting.Kind, waiting.Trigger, null, waiting.Attempt + 1, waiting.Failures));
        });
        Receive<Terminated>(terminated =>
        {
            if (_active?.Actor is null || !_active.Actor.Equals(terminated.ActorRef)) return;
            const string message = "the stitch stopped unexpectedly; see the daemon log";
            _services.Runs.FinishAsync(_active.RunId, RunStatus.Failed, message, null, CancellationToken.None)
                .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            NotifyFailed(_active.RunId, message);
            _last = null;
            _active = null;
            StartNext();
        });
        Receive<CourierRunEnded>(ended =>
        {
            if (!_settings.RunAfterLoads) return;
            var heard = ++_events;
            _services.Inputs.RunChangedInputsAsync(ended.RunId, CancellationToken.None).PipeTo(Self,
                success: changed => new LoadChecked(ended.RunId, heard, changed),
                failure: e => new LoadChecked(ended.RunId, heard, false, e));
        });
        Receive<LoadChecked>(checkedRun =>
        {
            if (checkedRun.Failure is { } failure) _log.Warning(failure, "Stitch: could not tell whether run {RunId} changed a tagged table", checkedRun.RunId);
            if (!checkedRun.Changed || !_settings.RunAfterLoads) return;
            // A stitch that has not started yet, or started after this run ended (and so after its rows committed),
            // reads them: no other is needed for this run.
            if (_waiting is not null || _lastStart > checkedRun.Heard) return;
            _latestLoad = Math.Max(_latestLoad, checkedRun.Heard);
            if (Timers.IsTimerActive(DebounceTimer)) return;
            _debounceSince = _services.Clock.GetUtcNow();
            Timers.StartSingleTimer(DebounceTimer, Debounced.Instance, TimeSpan.FromSeconds(_settings.DebounceSeconds));
        });
        Receive<Debounced>(_ =>
        {
            _debounceSince = null;
            // The loads it waited for may have been read meanwhile by a stitch asked for otherwise (the API, the schedule).
            if (_lastStart > _latestLoad) return;
            Request(StitchKind.Incremental, StitchTrigger.Load, null);
        });
        Receive<SettingsChanged>(_ => LoadSettings());
        Receive<StitchSettings>(settings =>
        {
            _settings = settings;
            CheckSchedule(null);
            RedoDebounce();
        });
        Receive<ScheduleTick>(tick => CheckSchedule(tick.At));
        Receive<Interrupted>(interrupted =>
        {
            if (interrupted.Count == 0) return;
            _log.Info("Stitch: {Count} stitch(es) were interrupted by a stop; stitching again", interrupted.Count);
            Request(StitchKind.Incremental, StitchTrigger.Recovery, null);
        });
        Receive<Status.Failure>(failure => _log.Warning(failure.Cause, "Stitch: reading its settings or runs failed"));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(StitchServices services) => Akka.Actor.Props.Create(() => new StitchActor(services));

    /// <summary>A stitch that throws is a failed stitch, not a reason to restart it.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => Akka.Actor.SupervisorStrategy.StoppingStrategy;

    protected override void PreStart()
    {
        LoadSettings();
        _services.Runs.FailInterruptedAsync(CancellationToken.None).PipeTo(Self, success: count => new Interrupted(count));
    }

    private void LoadSettings() => _services.Settings.GetAsync(CancellationToken.None).PipeTo(Self);

    private void Request(StitchKind kind, StitchTrigger trigger, IActorRef? asker)
    {
        if (_waiting is { } waiting)
        {
            if (kind == StitchKind.Full) _waiting = waiting with { Kind = StitchKind.Full };
            if (!waiting.Recorded) _waiting = _waiting with { Askers = asker is null ? waiting.Askers : [.. waiting.Askers, asker] };
            else asker?.Tell(new StitchAccepted(waiting.RunId, _active is not null));
            return;
        }
        var runId = Guid.NewGuid();
        _waiting = new Waiting(runId, kind, trigger, false, asker is null ? [] : [asker]);
        _services.Runs.CreateAsync(runId, kind, trigger, CancellationToken.None).PipeTo(Self,
            success: () => new Recorded(runId),
            failure: e => new NotRecorded(runId, e));
    }

    private void StartNext()
    {
        if (_active is not null || _waiting is not { Recorded: true } next) return;
        _waiting = null;
        // The previous result goes to an incremental run, which changes it; a full stitch replaces it, so it lets go of it
        // first and memory holds one result, not two.
        var plan = new StitchPlan(next.RunId, next.Kind, next.Trigger, next.Kind == StitchKind.Incremental ? _last : null);
        _last = null;
        StartRunActor(plan);
    }

    private void StartRunActor(StitchPlan plan)
    {
        // The attempt is in the name: the previous attempt's actor may still be stopping.
        var actor = Context.ActorOf(StitchRunActor.Props(plan, _services), $"stitch-{plan.RunId:N}-{plan.Attempt}");
        _lastStart = ++_events;
        Context.Watch(actor);
        _active = new Active(plan.RunId, plan.Kind, plan.Trigger, plan.Attempt, actor, null, plan.Failures);
    }

    /// <summary>Tells webhooks (through the event stream, without waiting) that a stitch ended failed, after its retries.</summary>
    private void NotifyFailed(Guid runId, string message) =>
        Context.System.EventStream.Publish(new Notification(NotificationEvent.StitchFailed, null, runId, message, _services.Clock.GetUtcNow()));

    private void Cancel(CancelStitch cancel)
    {
        if (_active?.RunId == cancel.RunId && _active.Actor is { } actor)
        {
            actor.Tell(StitchRunActor.Cancel.Instance);
            Sender.Tell(new StitchCancelling(cancel.RunId));
            return;
        }
        if (_active?.RunId == cancel.RunId)
        {
            // Waiting for its next attempt: it ends here.
            Timers.Cancel(RetryTimer);
            _active = null;
            _services.Runs.FinishAsync(cancel.RunId, RunStatus.Cancelled, "cancelled by request while it waited to be tried again; the previous result stays in place",
                    null, CancellationToken.None)
                .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            Sender.Tell(new StitchCancelling(cancel.RunId));
            StartNext();
            return;
        }
        if (_waiting is { Recorded: true } waiting && waiting.RunId == cancel.RunId)
        {
            _waiting = null;
            _services.Runs.FinishAsync(cancel.RunId, RunStatus.Cancelled, "cancelled by request before it ran", null, CancellationToken.None)
                .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            Sender.Tell(new StitchCancelling(cancel.RunId));
            return;
        }
        Sender.Tell(new StitchNotActive(cancel.RunId));
    }

    /// <summary>
    /// New settings apply to a stitch pending after loads: with loads no longer stitched after it is dropped, and a new
    /// debounce counts from the first load it waits for (0 stitches at once).
    /// </summary>
    private void RedoDebounce()
    {
        if (_debounceSince is not { } since || !Timers.IsTimerActive(DebounceTimer)) return;
        Timers.Cancel(DebounceTimer);
        if (!_settings.RunAfterLoads)
        {
            _debounceSince = null;
            return;
        }
        var left = since + TimeSpan.FromSeconds(_settings.DebounceSeconds) - _services.Clock.GetUtcNow();
        Timers.StartSingleTimer(DebounceTimer, Debounced.Instance, left > TimeSpan.Zero ? left : TimeSpan.Zero);
    }

    /// <summary>Starts the scheduled stitch when its tick has come, and sleeps until the next tick (waking each minute, for clock jumps).</summary>
    private void CheckSchedule(DateTimeOffset? due)
    {
        Timers.Cancel(ScheduleTimer);
        if (_settings.Schedule is not { Active: true } schedule) return;
        var now = _services.Clock.GetUtcNow();
        if (due is { } tick && tick <= now)
        {
            Request(StitchKind.Incremental, StitchTrigger.Schedule, null);
            due = null;
        }
        var next = due ?? schedule.NextAfter(now);
        if (next is null) return;
        var sleep = next.Value - now;
        Timers.StartSingleTimer(ScheduleTimer, new ScheduleTick(next.Value), sleep < MaxScheduleSleep ? sleep : MaxScheduleSleep);
    }

    /// <param name="Actor">The attempt running; null while the run waits to be tried again.</param>
    private sealed record Active(Guid RunId, StitchKind Kind, StitchTrigger Trigger, int Attempt, IActorRef? Actor, StitchProgress? Progress,
        FailedAttempts? Failures);

    private sealed record RetryStitch(Guid RunId);

    private sealed record Waiting(Guid RunId, StitchKind Kind, StitchTrigger Trigger, bool Recorded, IActorRef[] Askers);

    private sealed record Recorded(Guid RunId);

    private sealed record NotRecorded(Guid RunId, Exception Cause);

    /// <param name="Heard">When, among the actor's events, the run's end was heard.</param>
    private sealed record LoadChecked(Guid RunId, long Heard, bool Changed, Exception? Failure = null);

    private sealed record ScheduleTick(DateTimeOffset At);

    private sealed record Interrupted(int Count);

    private sealed class Debounced
    {
        public static readonly Debounced Instance = new();
    }
}

public static class StitchHostingExtensions
{
    /// <summary>
    /// The <see cref="StitchActor"/> as a cluster singleton (registered as itself: its proxy, which reaches it from any
    /// node), and on every node the <see cref="StitchLoadRelay"/> that tells it of the node's courier runs. Needs the cluster.
    /// </summary>
    public static AkkaConfigurationBuilder AddStitchActors(this AkkaConfigurationBuilder builder) =>
        builder
            .WithSingleton<StitchActor>("stitch", (_, _, resolver) => StitchActor.Props(resolver.GetService<StitchServices>()),
                new ClusterSingletonOptions(), createProxyToo: true)
            .WithActors((system, registry) => system.ActorOf(StitchLoadRelay.Props(registry.Get<StitchActor>()), "stitch-loads"));
}
