using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// One run of one courier. Owns the stream of the file being loaded (its materializer is scoped to this actor, so
/// stopping the actor tears the stream down), reports progress and its result to the courier by messages, then
/// stops. The work runs as one detached task piped back to the actor; the mailbox stays free for progress.
/// </summary>
public sealed class CourierRunActor : ReceiveActor
{
    /// <param name="Attempt">1 for the first attempt; retries of a transient failure count up.</param>
    public sealed record RunPlan(Guid RunId, string CourierId, DateOnly RunDate, RunRequest Request, CourierConfig Config, int Attempt = 1);

    public sealed record RunProgressed(Guid RunId, FileProgress Progress);

    /// <param name="RetryAfter">
    /// Set when the run failed for a reason that may pass and attempts remain: the run is queued again (in
    /// heapd.runs too) and the courier starts the next attempt after this delay.
    /// </param>
    public sealed record RunEnded(RunSummary Summary, TimeSpan? RetryAfter = null);

    /// <summary>Aborts the stream: the file in flight rolls back; files already committed stay.</summary>
    public sealed class Cancel
    {
        public static readonly Cancel Instance = new();
        private Cancel() { }
    }

    /// <summary>The result of the run's task.</summary>
    private sealed record Outcome(RunSummary Summary, TimeSpan? RetryAfter);

    private readonly RunPlan _plan;
    private readonly CourierServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IMaterializer _materializer = Context.Materializer();
    private readonly CancellationTokenSource _cancellation = new();
    private readonly DateTime _started = DateTime.UtcNow;
    private bool _cancelled;

    public CourierRunActor(RunPlan plan, CourierServices services)
    {
        _plan = plan;
        _services = services;
        Receive<FileProgress>(progress => Context.Parent.Tell(new RunProgressed(_plan.RunId, progress)));
        Receive<Outcome>(outcome => End(outcome.Summary, outcome.RetryAfter));
        Receive<Cancel>(_ =>
        {
            _cancelled = true;
            _cancellation.Cancel();
        });
        Receive<Status.Failure>(failure =>
        {
            var (status, message, transient) = _cancelled
                ? (RunStatus.Cancelled, "cancelled by request; files loaded before the cancel stay loaded, the file in flight was rolled back", false)
                : (RunStatus.Failed, $"the run failed: {failure.Cause.Message}", Faults.IsTransient(failure.Cause));
            // Not an expected failure of a file (those are outcomes): a cancel, or a fault in the daemon or its database.
            if (!_cancelled) _log.Error(failure.Cause, "Run {RunId} of courier {CourierId} failed", _plan.RunId, _plan.CourierId);
            var retryAfter = RetryAfter(status, transient);
            // Best effort: if the database is what failed, this fails too, and recovery finds the run unfinished.
            (retryAfter is { } delay
                    ? _services.Runs.MarkRetryingAsync(_plan.RunId, RetryMessage(delay, message), CancellationToken.None)
                    : _services.Runs.FinishAsync(_plan.RunId, status, message, CancellationToken.None))
                .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            End(new RunSummary(_plan.RunId, _plan.RunDate, status, DateTimeOffset.UtcNow, message), retryAfter);
        });
    }

    public static Props Props(RunPlan plan, CourierServices services) =>
        Akka.Actor.Props.Create(() => new CourierRunActor(plan, services));

    protected override void PreStart()
    {
        var self = Self;
        ExecuteAsync(progress => self.Tell(progress), _cancellation.Token).PipeTo(self);
    }

    protected override void PostStop()
    {
        _cancellation.Cancel();
        _cancellation.Dispose();
    }

    private void End(RunSummary summary, TimeSpan? retryAfter)
    {
        Context.Parent.Tell(new RunEnded(summary, retryAfter));
        Context.Stop(Self);
    }

    /// <summary>The delay before the next attempt, when this failure is worth one and attempts remain.</summary>
    private TimeSpan? RetryAfter(RunStatus status, bool transient) =>
        status == RunStatus.Failed && transient && _plan.Attempt < _services.RunSettings.MaxAttempts
            ? _services.RunSettings.RetryDelay(_plan.Attempt)
            : null;

    private string RetryMessage(TimeSpan delay, string failure) =>
        $"attempt {_plan.Attempt} of {_services.RunSettings.MaxAttempts} failed for a reason that may pass; " +
        $"retrying in {delay.TotalSeconds:0.#} s. {failure}";

    private async Task<Outcome> ExecuteAsync(Action<FileProgress> report, CancellationToken ct)
    {
        var (runId, courierId, runDate, request, config, _) = _plan;
        await _services.Runs.MarkRunningAsync(runId, ct);
        _log.Info("Run {RunId} of courier {CourierId} started for {RunDate} ({FileCount} files)", runId, courierId, runDate, config.Files.Length);

        var access = await _services.Credentials.GetAccessAsync(config.CredentialId, ct);
        if (access is null)
            return await FinishAsync(RunStatus.Failed, $"credential '{config.CredentialId}' does not exist", ct);

        using var s3 = _services.S3.Create(access);
        var bucket = access.Credential.Bucket;
        var outcomes = new List<FileOutcome>();
        foreach (var group in LoadGroups(config))
        {
            var feedId = group[0].File.FeedId;
            var feed = await _services.Feeds.GetAsync(feedId, ct);
            IReadOnlyList<FileOutcome> results;
            var started = DateTime.UtcNow;
            if (feed is not { Active: true })
            {
                var why = feed is null ? $"feed '{feedId}' does not exist" : $"feed '{feedId}' is not active; activate it first";
                results = group.Select(g => FileOutcome.Failed($"s3://{bucket}/{g.File.Key}: {why}")).ToList();
            }
            else
            {
                var jobs = group.Select(g => new FileLoadJob(runId, g.Ordinal, s3, bucket, g.File.Key, g.File.CsvOrDefault, feed.Definition, request.ForceReload)).ToList();
                foreach (var job in jobs)
                    await _services.Runs.RecordFileAsync(runId, job.Ordinal, bucket, job.Key, feedId, new FileOutcome(FileStatus.Running), ct);
                results = config.LoadType == LoadType.TruncateAndUpsert
                    ? await _services.Pipeline.ReplaceAsync(jobs, _materializer, report, ct)
                    : [await _services.Pipeline.RunAsync(jobs[0], _materializer, report, ct)];
            }
            foreach (var ((ordinal, file), outcome) in group.Zip(results))
            {
                // A truncate load's files share one transaction; their time is split evenly between them.
                _services.Metrics.FileFinished(outcome, (DateTime.UtcNow - started) / group.Count);
                await _services.Runs.RecordFileAsync(runId, ordinal, bucket, file.Key, feedId, outcome, ct);
                if (outcome.Status == FileStatus.Failed)
                    _log.Warning("Run {RunId} of courier {CourierId}: {Message}", runId, courierId, outcome.Message);
                outcomes.Add(outcome);
            }
        }

        var failed = outcomes.Where(o => o.Status == FileStatus.Failed).ToList();
        var summary = $"{outcomes.Count} files: {outcomes.Count(o => o.Status == FileStatus.Loaded)} loaded, " +
                      $"{outcomes.Count(o => o.Status == FileStatus.Skipped)} skipped (already loaded), {failed.Count} failed";
        return failed.Count == 0
            ? await FinishAsync(RunStatus.Succeeded, summary, ct)
            : await FinishAsync(RunStatus.Failed, $"{summary}. {failed[0].Message}", ct, transient: failed.Any(f => f.Transient));
    }

    /// <summary>
    /// The files loaded together, in the courier's order: each file on its own for upsert; for truncate and upsert,
    /// every file of a feed together, since together they replace its table.
    /// </summary>
    private static IEnumerable<List<(int Ordinal, CourierFile File)>> LoadGroups(CourierConfig config)
    {
        var files = config.Files.Select((file, ordinal) => (ordinal, file)).ToList();
        return config.LoadType == LoadType.TruncateAndUpsert
            ? files.GroupBy(f => f.file.FeedId).Select(g => g.ToList())
            : files.Select(f => new List<(int, CourierFile)> { f });
    }

    private async Task<Outcome> FinishAsync(RunStatus status, string message, CancellationToken ct, bool transient = false)
    {
        if (RetryAfter(status, transient) is { } delay)
        {
            // Queued again, not failed: a status request must not see a failure that is about to be retried.
            await _services.Runs.MarkRetryingAsync(_plan.RunId, RetryMessage(delay, message), ct);
            return new Outcome(new RunSummary(_plan.RunId, _plan.RunDate, status, DateTimeOffset.UtcNow, message), delay);
        }
        await _services.Runs.FinishAsync(_plan.RunId, status, message, ct);
        _services.Metrics.RunFinished(status, DateTime.UtcNow - _started);
        _log.Info("Run {RunId} of courier {CourierId} {Status}: {Message}", _plan.RunId, _plan.CourierId, status, message);
        return new Outcome(new RunSummary(_plan.RunId, _plan.RunDate, status, DateTimeOffset.UtcNow, message), null);
    }
}
