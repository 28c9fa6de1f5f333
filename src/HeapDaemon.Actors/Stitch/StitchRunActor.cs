using Akka.Actor;
using System.Diagnostics;
using Akka.Event;
using HeapDaemon.Actors.Failures;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// One stitch. Runs the work as one task piped back to itself (the mailbox stays free for progress and cancel),
/// records the outcome in <c>heapd.stitch_runs</c>, reports to the <see cref="StitchActor"/>, and stops.
/// </summary>
public sealed class StitchRunActor : ReceiveActor
{
    public sealed record Progressed(Guid RunId, StitchProgress Progress);

    public sealed record Ended(Guid RunId, StitchOutcome Outcome);

    public sealed class Cancel
    {
        public static readonly Cancel Instance = new();
        private Cancel() { }
    }

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
        Receive<StitchOutcome>(outcome => End(outcome, recorded: true));
        Receive<Cancel>(_ =>
        {
            _cancelled = true;
            _cancellation.Cancel();
        });
        Receive<Status.Failure>(failure =>
        {
            if (!_cancelled) _log.Error(failure.Cause, "Stitch {RunId} failed", _plan.RunId);
            End(_cancelled
                ? new StitchOutcome(RunStatus.Cancelled, "cancelled by request; the previous result stays in place", null, null)
                : new StitchOutcome(RunStatus.Failed, $"the stitch failed: {FailureText.Of(failure.Cause)}; the previous result stays in place", null, null),
                recorded: false);
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
        await _services.Runs.MarkRunningAsync(_plan.RunId, ct);
        _log.Info("Stitch {RunId} ({Kind}, asked by {Trigger}) started", _plan.RunId, _plan.Kind, _plan.Trigger);
        var outcome = await _services.Runner.RunAsync(_plan, report, ct);
        // Recorded before the actor hears of it, so a reader who sees the next run start sees this one ended.
        await _services.Runs.FinishAsync(_plan.RunId, outcome.Status, outcome.Message, outcome.Statistics, CancellationToken.None);
        return outcome;
    }

    private void End(StitchOutcome outcome, bool recorded)
    {
        // Best effort: if the database is what failed, this fails too, and the next start finds the run unfinished.
        if (!recorded)
            _services.Runs.FinishAsync(_plan.RunId, outcome.Status, outcome.Message, outcome.Statistics, CancellationToken.None)
                .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        _log.Info("Stitch {RunId} {Status}: {Message}", _plan.RunId, outcome.Status, outcome.Message);
        var ran = outcome.Statistics?.GetValueOrDefault("ran") is string what ? what : _plan.Kind.ToString();
        _services.Metrics.StitchFinished(outcome.Status, ran.StartsWith("full", StringComparison.OrdinalIgnoreCase) ? "full" : "incremental", _clock.Elapsed,
            Count(outcome, "records"), Count(outcome, "people"));
        Context.Parent.Tell(new Ended(_plan.RunId, outcome));
        Context.Stop(Self);
    }

    private static long? Count(StitchOutcome outcome, string statistic) =>
        outcome.Status == RunStatus.Succeeded && outcome.Statistics?.GetValueOrDefault(statistic) is { } value ? Convert.ToInt64(value) : null;
}
