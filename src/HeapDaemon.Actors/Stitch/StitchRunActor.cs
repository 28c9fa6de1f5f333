using Akka.Actor;
using System.Diagnostics;
using Akka.Event;
using HeapDaemon.Actors.Failures;
using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// One attempt of a stitch. Runs the work as one task piped back to itself (the mailbox stays free for progress and
/// cancel), records the outcome in <c>heapd.stitch_runs</c> (or, for a failure that may pass while attempts remain,
/// that the run waits for its next attempt), reports to the <see cref="StitchActor"/>, and stops.
/// </summary>
public sealed class StitchRunActor : ReceiveActor
{
    public sealed record Progressed(Guid RunId, StitchProgress Progress);

    /// <param name="RetryAfter">Set when the run is to be tried again after this delay (it is not over).</param>
    /// <param name="Failures">The attempts that failed so far, for the next one; set with <paramref name="RetryAfter"/>.</param>
    public sealed record Ended(Guid RunId, StitchOutcome Outcome, TimeSpan? RetryAfter = null, FailedAttempts? Failures = null);

    public sealed class Cancel
    {
        public static readonly Cancel Instance = new();
        private Cancel() { }
    }

    private sealed record Concluded(StitchOutcome Outcome, TimeSpan? RetryAfter, FailedAttempts? Failures);

    private readonly StitchPlan _plan;
    private readonly StitchServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _cancellation = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private bool _cancelled;

    public StitchRunActor(StitchPlan plan, StitchServices services)
    {
        _plan = plan;
        _services = services;
        Receive<StitchProgress>(progress => Context.Parent.Tell(new Progressed(_plan.RunId, progress)));
        Receive<StitchOutcome>(Conclude);
        Receive<Concluded>(End);
        Receive<Cancel>(_ =>
        {
            _cancelled = true;
            _cancellation.Cancel();
        });
        Receive<Status.Failure>(failure =>
        {
            if (!_cancelled) _log.Error(failure.Cause, "Stitch {RunId} attempt {Attempt} failed", _plan.RunId, _plan.Attempt);
            Conclude(_cancelled
                ? new StitchOutcome(RunStatus.Cancelled, "cancelled by request; the previous result stays in place", null, null)
                : new StitchOutcome(RunStatus.Failed, $"the stitch failed: {FailureText.Of(failure.Cause)}; the previous result stays in place", null, null,
                    Faults.Classify(failure.Cause)));
        });
    }

    public static Props Props(StitchPlan plan, StitchServices services) => Akka.Actor.Props.Create(() => new StitchRunActor(plan, services));

    protected override void PreStart()
    {
        _services.Memory.RunStarted();
        var self = Self;
        RunAsync(progress => self.Tell(progress), _cancellation.Token).PipeTo(self);
    }

    protected override void PostStop()
    {
        _cancellation.Cancel();
        _cancellation.Dispose();
        _services.Memory.RunEnded();
    }

    private async Task<StitchOutcome> RunAsync(Action<StitchProgress> report, CancellationToken ct)
    {
        await _services.Runs.MarkRunningAsync(_plan.RunId, _plan.Attempt, ct);
        _log.Info("Stitch {RunId} ({Kind}, asked by {Trigger}) attempt {Attempt} started", _plan.RunId, _plan.Kind, _plan.Trigger, _plan.Attempt);
        return await _services.Runner.RunAsync(_plan, report, ct);
    }

    /// <summary>
    /// The attempt is over. A failure that may pass (see <see cref="Faults"/>), while attempts remain, leaves the run
    /// queued for its next attempt, as a courier's run; anything else ends it. Either is written before the
    /// <see cref="StitchActor"/> hears, so a reader who sees the next run start sees this one ended; best effort: if the
    /// database is what failed, the write fails too, and the next start finds the run unfinished.
    /// </summary>
    private void Conclude(StitchOutcome outcome)
    {
        var (settings, now) = (_services.RunSettings, _services.Clock.GetUtcNow());
        var passing = outcome.Status == RunStatus.Failed && outcome.Fault != FaultKind.Lasting;
        if (passing && _plan.Attempt < settings.MaxAttempts)
        {
            var delay = settings.RetryDelay(_plan.Attempt);
            var message = $"attempt {_plan.Attempt} of {settings.MaxAttempts} failed for a reason that may pass; retrying in {delay.TotalSeconds:0.#} s. {outcome.Message}";
            var retrying = new Concluded(outcome with { Message = message }, delay, FailedAttempts.After(_plan.Failures, outcome.Fault, now));
            _services.Runs.MarkRetryingAsync(_plan.RunId, message, CancellationToken.None).PipeTo(Self, success: () => retrying, failure: _ => retrying);
            return;
        }
        if (passing) outcome = outcome with { Message = FailedAttempts.GaveUp(_plan.Failures, outcome.Fault, now, null, outcome.Message) };
        var ended = new Concluded(outcome, null, null);
        _services.Runs.FinishAsync(_plan.RunId, outcome.Status, outcome.Message, outcome.Statistics, CancellationToken.None)
            .PipeTo(Self, success: () => ended, failure: _ => ended);
    }

    private void End(Concluded concluded)
    {
        var outcome = concluded.Outcome;
        _log.Info("Stitch {RunId} attempt {Attempt} {Status}: {Message}", _plan.RunId, _plan.Attempt, outcome.Status, outcome.Message);
        if (concluded.RetryAfter is null)
        {
            var ran = outcome.Statistics?.GetValueOrDefault("ran") is string what ? what : _plan.Kind.ToString();
            _services.Metrics.StitchFinished(outcome.Status, ran.StartsWith("full", StringComparison.OrdinalIgnoreCase) ? "full" : "incremental", _clock.Elapsed,
                Count(outcome, "records"), Count(outcome, "people"));
        }
        Context.Parent.Tell(new Ended(_plan.RunId, outcome, concluded.RetryAfter, concluded.Failures));
        Context.Stop(Self);
    }

    private static long? Count(StitchOutcome outcome, string statistic) =>
        outcome.Status == RunStatus.Succeeded && outcome.Statistics?.GetValueOrDefault(statistic) is { } value ? Convert.ToInt64(value) : null;
}
