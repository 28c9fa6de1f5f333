using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using HeapDaemon.Actors.Heap;
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
    public sealed record RunPlan(Guid RunId, string CourierId, RunWindow Window, RunRequest Request, CourierConfig Config, int Attempt = 1);

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
            End(new RunSummary(_plan.RunId, _plan.Window.From, status, DateTimeOffset.UtcNow, message), retryAfter);
        });
    }

    public static Props Props(RunPlan plan, CourierServices services) =>
        Akka.Actor.Props.Create(() => new CourierRunActor(plan, services));

    protected override void PreStart()
    {
        _services.Memory.RunStarted();
        var self = Self;
        ExecuteAsync(progress => self.Tell(progress), _cancellation.Token).PipeTo(self);
    }

    protected override void PostStop()
    {
        _cancellation.Cancel();
        _cancellation.Dispose();
        _services.Memory.RunEnded();
    }

    private void End(RunSummary summary, TimeSpan? retryAfter)
    {
        Context.Parent.Tell(new RunEnded(summary, retryAfter));
        Context.System.EventStream.Publish(new CourierRunEnded(_plan.CourierId, _plan.RunId, summary.Status));
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
        var (runId, courierId, window, request, config, _) = _plan;
        await _services.Runs.MarkRunningAsync(runId, ct);
        _log.Info("Run {RunId} of courier {CourierId} started for {Window} ({EntryCount} file entries)", runId, courierId, window, config.Files.Length);

        var access = await _services.Credentials.GetAccessAsync(config.CredentialId, ct);
        if (access is null)
            return await FinishAsync(RunStatus.Failed, $"credential '{config.CredentialId}' does not exist", ct);

        using var s3 = _services.S3.Create(access);
        var bucket = access.Credential.Bucket;
        if (config.Kind == CourierKind.Heap)
        {
            var heap = await _services.Heap.RunAsync(new HeapRunContext(runId, courierId, config, request, s3, bucket, _materializer, report, _log), ct);
            return await FinishAsync(heap.Status, heap.Message, ct, heap.Transient);
        }
        // Every file is found before any loads, so a missing required file stops the run with nothing half-loaded.
        var found = await FileResolver.ResolveAsync(s3, bucket, config.Files, window, ct);
        if (found.Failure is { } listing)
        {
            await _services.Runs.RecordFileAsync(runId, 0, bucket, listing.Expected, listing.File.FeedId, FileOutcome.Failed(listing.Message), ct);
            return await FinishAsync(RunStatus.Failed, $"could not list the courier's files, so nothing was loaded: {listing.Message}", ct);
        }
        var blocking = await RecordMissingAsync(found, bucket, ct);
        if (blocking is not null) return await FinishAsync(RunStatus.Failed, blocking, ct);

        var outcomes = new List<FileOutcome>();
        foreach (var group in LoadGroups(found.Files, config.LoadType))
        {
            var feedId = group[0].File.File.FeedId;
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
                var jobs = group.Select(g =>
                    new FileLoadJob(runId, g.Ordinal, s3, bucket, g.File.Key, g.File.File.SettingsOrDefault, g.File.File.PgpCredentialId,
                        feed.Definition, request.ForceReload)).ToList();
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
                      $"{outcomes.Count(o => o.Status == FileStatus.Skipped)} skipped (already loaded), {failed.Count} failed" +
                      (found.Missing.Count > 0 ? $"; {found.Missing.Count} not found ({MissingSummary(found)})" : "");
        return failed.Count == 0
            ? await FinishAsync(RunStatus.Succeeded, summary, ct)
            : await FinishAsync(RunStatus.Failed, $"{summary}. {failed[0].Message}", ct, transient: failed.Any(f => f.Transient));
    }

    /// <summary>
    /// The files loaded together, in the run's order: each file on its own for upsert; for truncate and upsert, every
    /// file of a feed together, since together they replace its table.
    /// </summary>
    private static IEnumerable<List<(int Ordinal, PlannedFile File)>> LoadGroups(IReadOnlyList<PlannedFile> files, LoadType loadType)
    {
        var numbered = files.Select((file, ordinal) => (ordinal, file)).ToList();
        return loadType == LoadType.TruncateAndUpsert
            ? numbered.GroupBy(f => f.file.File.FeedId).Select(g => g.ToList())
            : numbered.Select(f => new List<(int, PlannedFile)> { f });
    }

    /// <summary>
    /// Records each entry that found nothing (after the files found, in run_files) and says whether that stops the
    /// run: a required file is missing, or every entry is optional and none found anything (Amperity's rule), unless
    /// the run was asked to skip missing files.
    /// </summary>
    /// <returns>The run's failure message, or null to go on loading.</returns>
    private async Task<string?> RecordMissingAsync(FileSet found, string bucket, CancellationToken ct)
    {
        var (runId, _, window, request, config, _) = _plan;
        var missingRequired = found.Missing.Where(m => !m.File.Optional).ToList();
        var noneOfAllOptional = found.Files.Count == 0 && config.Files.All(f => f.Optional);
        var stops = !request.SkipMissingFiles && (missingRequired.Count > 0 || noneOfAllOptional);
        for (var i = 0; i < found.Missing.Count; i++)
        {
            var missing = found.Missing[i];
            var note = !missing.File.Optional && request.SkipMissingFiles ? " (skipped: skipMissingFiles)" : "";
            await _services.Runs.RecordFileAsync(runId, found.Files.Count + i, bucket, missing.Expected, missing.File.FeedId,
                new FileOutcome(FileStatus.Missing, Message: MissingMessage(missing, bucket) + note), ct);
        }
        if (!stops) return null;
        return missingRequired.Count > 0
            ? $"{missingRequired.Count} required file(s) missing, so nothing was loaded: {MissingMessage(missingRequired[0], bucket)}" +
              (missingRequired.Count > 1 ? $" (and {missingRequired.Count - 1} more; see the run's files)" : "") +
              ". Run with skipMissingFiles to load what is there."
            : $"none of the courier's files was found for {window} (all are optional, and at least one must be there)";
    }

    private static string MissingMessage(MissingFile missing, string bucket) =>
        (missing.File.Optional ? "optional file not found: " : "required file missing: ") +
        (missing.File.Key is not null
            ? $"s3://{bucket}/{missing.Expected}: no such object"
            : $"no object matches {missing.File.Describe}{(missing.Day is { } day ? $" for {day:yyyy-MM-dd}" : "")} (s3://{bucket}/{missing.Expected})");

    private static string MissingSummary(FileSet found) =>
        $"{found.Missing.Count(m => m.File.Optional)} optional, {found.Missing.Count(m => !m.File.Optional)} required skipped";

    private async Task<Outcome> FinishAsync(RunStatus status, string message, CancellationToken ct, bool transient = false)
    {
        if (RetryAfter(status, transient) is { } delay)
        {
            // Queued again, not failed: a status request must not see a failure that is about to be retried.
            await _services.Runs.MarkRetryingAsync(_plan.RunId, RetryMessage(delay, message), ct);
            return new Outcome(new RunSummary(_plan.RunId, _plan.Window.From, status, DateTimeOffset.UtcNow, message), delay);
        }
        await _services.Runs.FinishAsync(_plan.RunId, status, message, ct);
        _services.Metrics.RunFinished(status, DateTime.UtcNow - _started);
        _log.Info("Run {RunId} of courier {CourierId} {Status}: {Message}", _plan.RunId, _plan.CourierId, status, message);
        return new Outcome(new RunSummary(_plan.RunId, _plan.Window.From, status, DateTimeOffset.UtcNow, message), null);
    }
}
