using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using HeapDaemon.Actors.Failures;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// One attempt of one run of a courier. Its courier kind does the work (<see cref="CourierRunner"/>, then the
/// <see cref="ICourierKind"/>) as one detached task piped back to the actor, so the mailbox stays free for progress;
/// the actor owns the streams (its materializer is scoped to it, so stopping it tears them down), cancels, passes
/// progress to the courier, decides whether a failure is retried, reports the end by a message, and stops.
/// </summary>
public sealed class CourierRunActor : ReceiveActor
{
    public sealed record RunProgressed(Guid RunId, FileProgress Progress);

    public sealed record RunFileEnded(Guid RunId, int Ordinal);

    /// <param name="RetryAfter">
    /// Set when the run failed for a reason that may pass and attempts remain: the run is queued again (in
    /// heapd.runs too) and the courier starts the next attempt after this delay.
    /// </param>
    /// <param name="Failures">With <paramref name="RetryAfter"/>: the failed attempts so far, this one included, for the next.</param>
    /// <param name="BlockedDump">A Heap run that ended failed at a dump: that dump, which the later dumps wait for.</param>
    public sealed record RunEnded(RunSummary Summary, TimeSpan? RetryAfter = null, FailedAttempts? Failures = null, long? BlockedDump = null);

    /// <summary>Aborts the streams: the file in flight rolls back; files already committed stay.</summary>
    public sealed class Cancel
    {
        public static readonly Cancel Instance = new();
        private Cancel() { }
    }

    /// <summary>The run's end is written to heapd.runs: the courier can be told.</summary>
    private sealed record Concluded(RunSummary Summary, TimeSpan? RetryAfter, FailedAttempts? Failures, long? BlockedDump = null);

    private readonly RunPlan _plan;
    private readonly CourierServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IMaterializer _materializer = Context.Materializer();
    private readonly CancellationTokenSource _cancellation = new();

    /// <summary>The run's lease once the work holds it, for <see cref="PostStop"/> to let go.</summary>
    private readonly TaskCompletionSource<IAsyncDisposable> _lease = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DateTime _started = DateTime.UtcNow;
    private bool _cancelled;

    public CourierRunActor(RunPlan plan, CourierServices services)
    {
        _plan = plan;
        _services = services;
        Receive<FileProgress>(progress => Context.Parent.Tell(new RunProgressed(_plan.RunId, progress)));
        Receive<FileEnded>(ended => Context.Parent.Tell(new RunFileEnded(_plan.RunId, ended.Ordinal)));
        Receive<RunOutcome>(Conclude);
        Receive<Concluded>(concluded =>
        {
            if (concluded.RetryAfter is null)
            {
                _services.Metrics.RunFinished(_plan.CourierId, concluded.Summary.Status, DateTime.UtcNow - _started, DateTimeOffset.UtcNow);
                _log.Info("Run {RunId} of courier {CourierId} {Status}: {Message}", _plan.RunId, _plan.CourierId, concluded.Summary.Status, concluded.Summary.Message);
            }
            End(concluded.Summary, concluded.RetryAfter, concluded.Failures, concluded.BlockedDump);
        });
        Receive<Cancel>(_ =>
        {
            _cancelled = true;
            _cancellation.Cancel();
        });
        Receive<Status.Failure>(failure =>
        {
            var (status, message, fault) = _cancelled
                ? (RunStatus.Cancelled, "cancelled by request; files loaded before the cancel stay loaded, the file in flight was rolled back", FaultKind.Lasting)
                : (RunStatus.Failed, $"the run failed: {FailureText.Of(failure.Cause)}", Faults.Classify(failure.Cause));
            // Not an expected failure of a file (those are outcomes): a cancel, or a fault in the daemon or its database.
            if (!_cancelled) _log.Error(failure.Cause, "Run {RunId} of courier {CourierId} failed", _plan.RunId, _plan.CourierId);
            var now = DateTimeOffset.UtcNow;
            var retryAfter = RetryAfter(status, fault);
            if (retryAfter is null && status == RunStatus.Failed && fault != FaultKind.Lasting)
                message = FailedAttempts.GaveUp(_plan.Failures, fault, now, null, message);
            // Best effort: if the database is what failed, this fails too, and recovery finds the run unfinished.
            (retryAfter is { } delay
                    ? _services.Runs.MarkRetryingAsync(_plan.RunId, RetryMessage(delay, message), CancellationToken.None)
                    : _services.Runs.FinishAsync(_plan.RunId, status, message, CancellationToken.None))
                .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            End(new RunSummary(_plan.RunId, _plan.Window.From, status, now, message), retryAfter,
                retryAfter is null ? null : FailedAttempts.After(_plan.Failures, fault, now));
        });
    }

    public static Props Props(RunPlan plan, CourierServices services) =>
        Akka.Actor.Props.Create(() => new CourierRunActor(plan, services));

    protected override void PreStart()
    {
        _services.Memory.RunStarted();
        LeasedAsync().PipeTo(Self);
    }

    /// <summary>
    /// The attempt under the run's lease, held while this actor lives and its work goes on: a node cut off from the
    /// cluster but still running keeps it, and the node that took its couriers over waits. It is let go when the work
    /// ends or the actor stops (a hand-over), whichever comes first, so work that hangs after its actor is gone cannot
    /// hold the run forever: its file in flight is cancelled and rolls back, and one caught committing merges the same
    /// version's rows the next attempt would.
    /// </summary>
    private async Task<RunOutcome> LeasedAsync()
    {
        // Read before the first await: Self needs the actor's context, which the continuations do not run in.
        var (log, plan, report) = (_log, _plan, new ReportToActor(Self));
        await using var lease = await _services.Leases.AcquireAsync(plan.RunId,
            () => log.Info("Run {RunId} of courier {CourierId} is still held by another node; waiting for it to let go", plan.RunId, plan.CourierId),
            _cancellation.Token);
        _lease.TrySetResult(lease);
        return await _services.Runner.RunAsync(plan, _materializer, report, log, _cancellation.Token);
    }

    protected override void PostStop()
    {
        if (_lease.Task.IsCompletedSuccessfully) _ = _lease.Task.Result.DisposeAsync().AsTask();
        _cancellation.Cancel();
        _cancellation.Dispose();
        _services.Memory.RunEnded();
    }

    /// <summary>
    /// The attempt is over. A failure that may pass, while attempts remain, queues the run again; anything else ends
    /// it. Either is written to heapd.runs before the courier hears (a status request must not see a failure that is
    /// about to be retried); a write that fails makes the actor fail the run as a fault (<see cref="Status.Failure"/>).
    /// </summary>
    private void Conclude(RunOutcome outcome)
    {
        var (status, message, fault) = (outcome.Status, outcome.Message, outcome.Fault);
        var now = DateTimeOffset.UtcNow;
        if (RetryAfter(status, fault) is { } delay)
        {
            var retrying = new Concluded(new RunSummary(_plan.RunId, _plan.Window.From, status, now, message), delay,
                FailedAttempts.After(_plan.Failures, fault, now));
            _services.Runs.MarkRetryingAsync(_plan.RunId, RetryMessage(delay, message), CancellationToken.None).PipeTo(Self, success: () => retrying);
            return;
        }
        if (status == RunStatus.Failed && fault != FaultKind.Lasting) message = FailedAttempts.GaveUp(_plan.Failures, fault, now, outcome.Endpoint, message);
        // A dump blocks once the run gives up on it: an attempt still to come may apply it.
        var ended = new Concluded(new RunSummary(_plan.RunId, _plan.Window.From, status, now, message), null, null, outcome.BlockedDump);
        _services.Runs.FinishAsync(_plan.RunId, status, message, CancellationToken.None).PipeTo(Self, success: () => ended);
    }

    private void End(RunSummary summary, TimeSpan? retryAfter, FailedAttempts? failures, long? blockedDump = null)
    {
        Context.Parent.Tell(new RunEnded(summary, retryAfter, failures, blockedDump));
        Context.System.EventStream.Publish(new CourierRunEnded(_plan.CourierId, _plan.RunId, summary.Status));
        Context.Stop(Self);
    }

    /// <summary>The delay before the next attempt, when this failure is worth one and attempts remain.</summary>
    private TimeSpan? RetryAfter(RunStatus status, FaultKind fault) =>
        status == RunStatus.Failed && fault != FaultKind.Lasting && _plan.Attempt < _services.RunSettings.MaxAttempts
            ? _services.RunSettings.RetryDelay(_plan.Attempt)
            : null;

    private string RetryMessage(TimeSpan delay, string failure) =>
        $"attempt {_plan.Attempt} of {_services.RunSettings.MaxAttempts} failed for a reason that may pass; " +
        $"retrying in {delay.TotalSeconds:0.#} s. {failure}";

    private sealed record FileEnded(int Ordinal);

    /// <summary>The run's reports, from whatever thread its streams run on, as messages to the run actor.</summary>
    private sealed class ReportToActor(IActorRef self) : IRunReport
    {
        public void Progress(FileProgress progress) => self.Tell(progress);

        public void FileEnded(int ordinal) => self.Tell(new FileEnded(ordinal));
    }
}
