using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using HeapDaemon.Actors.Heap;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Failures;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// One run of one courier. Owns the stream of the file being loaded (its materializer is scoped to this actor, so
/// stopping the actor tears the stream down), reports progress and its result to the courier by messages, then
/// stops. The work runs as one detached task piped back to the actor; the mailbox stays free for progress.
/// </summary>
public sealed class CourierRunActor : ReceiveActor
{
    /// <param name="Attempt">1 for the first attempt; retries of a transient failure count up.</param>
    /// <param name="Failures">How the earlier attempts failed; null for the first.</param>
    public sealed record RunPlan(Guid RunId, string CourierId, RunWindow Window, RunRequest Request, CourierConfig Config, int Attempt = 1,
        FailedAttempts? Failures = null);

    public sealed record RunProgressed(Guid RunId, FileProgress Progress);

    /// <param name="RetryAfter">
    /// Set when the run failed for a reason that may pass and attempts remain: the run is queued again (in
    /// heapd.runs too) and the courier starts the next attempt after this delay.
    /// </param>
    /// <param name="Failures">With <paramref name="RetryAfter"/>: the failed attempts so far, this one included, for the next.</param>
    /// <param name="BlockedDump">A Heap run that ended failed at a dump: that dump, which the later dumps wait for.</param>
    public sealed record RunEnded(RunSummary Summary, TimeSpan? RetryAfter = null, FailedAttempts? Failures = null, long? BlockedDump = null);

    /// <summary>Aborts the stream: the file in flight rolls back; files already committed stay.</summary>
    public sealed class Cancel
    {
        public static readonly Cancel Instance = new();
        private Cancel() { }
    }

    /// <summary>The result of the run's task.</summary>
    private sealed record Outcome(RunSummary Summary, TimeSpan? RetryAfter, FailedAttempts? Failures, long? BlockedDump = null);

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
        Receive<Outcome>(outcome => End(outcome.Summary, outcome.RetryAfter, outcome.Failures, outcome.BlockedDump));
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
        var self = Self;
        ExecuteAsync(progress => self.Tell(progress), _cancellation.Token).PipeTo(self);
    }

    protected override void PostStop()
    {
        _cancellation.Cancel();
        _cancellation.Dispose();
        _services.Memory.RunEnded();
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

    private async Task<Outcome> ExecuteAsync(Action<FileProgress> report, CancellationToken ct)
    {
        var (runId, courierId, window, request, config, _, _) = _plan;
        var resumed = await _services.Runs.MarkRunningAsync(runId, ct);
        _log.Info("Run {RunId} of courier {CourierId} started for {Window} ({EntryCount} file entries)", runId, courierId, window, config.Files.Length);
        // Files that an earlier attempt of this run committed (before a restart, or before a failure that may pass): the
        // ledger skips them now, and the run reports them as that attempt's loads, rows included.
        var earlier = resumed ? await _services.Runs.EarlierLoadsAsync(runId, ct) : NoEarlierLoads;

        var access = await _services.Credentials.GetAccessAsync(config.CredentialId, ct);
        if (access is null)
            return await FinishAsync(RunStatus.Failed, $"credential '{config.CredentialId}' does not exist", ct);

        using var s3 = _services.S3.Create(access);
        var bucket = access.Credential.Bucket;
        var endpoint = access.Credential.EndpointUrl ?? $"https://s3.{access.Credential.Region}.amazonaws.com";
        if (config.Kind == CourierKind.Heap)
        {
            var heap = await _services.Heap.RunAsync(
                new HeapRunContext(runId, courierId, config, request, s3, bucket, _materializer, report, _log, resumed, earlier), ct);
            var finished = await FinishAsync(heap.Status, heap.Message, ct, heap.Fault, endpoint);
            // The dump blocks once the run gives up on it; an attempt still to come may apply it.
            return finished.RetryAfter is null ? finished with { BlockedDump = heap.BlockedDump?.DumpId } : finished;
        }
        // Every file is found before any loads, so a missing required file stops the run with nothing half-loaded.
        var found = await FileResolver.ResolveAsync(s3, bucket, config.Files, window, ct);
        if (found.Failure is { } listing)
        {
            await _services.Runs.RecordFileAsync(runId, 0, bucket, listing.Expected, listing.File.FeedId,
                FileOutcome.Failed(listing.Message) with { Fault = listing.Fault }, ct);
            return await FinishAsync(RunStatus.Failed, $"could not list the courier's files, so nothing was loaded: {listing.Message}", ct,
                listing.Fault, endpoint);
        }
        var blocking = await RecordMissingAsync(found, bucket, ct);
        if (blocking is not null) return await FinishAsync(RunStatus.Failed, blocking, ct);

        var outcomes = new List<FileOutcome>();
        var loadedEarlier = 0;
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
                        feed.Definition, request.ForceReload, AllowEmpty: g.File.File.AllowEmpty)).ToList();
                foreach (var job in jobs)
                    await _services.Runs.RecordFileAsync(runId, job.Ordinal, bucket, job.Key, feedId, new FileOutcome(FileStatus.Running), ct);
                results = config.LoadType == LoadType.TruncateAndUpsert
                    ? await _services.Pipeline.ReplaceAsync(jobs, _materializer, report, ct)
                    : [await _services.Pipeline.RunAsync(jobs[0], _materializer, report, ct)];
            }
            foreach (var ((ordinal, file), result) in group.Zip(results))
            {
                // A truncate load's files share one transaction; their time is split evenly between them. The metrics
                // count what this attempt did: an earlier attempt counted its own loads.
                _services.Metrics.FileFinished(result, (DateTime.UtcNow - started) / group.Count);
                var outcome = result;
                if (result is { Status: FileStatus.Skipped, ETag: { } etag } && earlier.TryGetValue((bucket, file.Key, feedId, etag), out var load))
                {
                    outcome = load.Outcome($"s3://{bucket}/{file.Key}");
                    loadedEarlier++;
                }
                await _services.Runs.RecordFileAsync(runId, ordinal, bucket, file.Key, feedId, outcome, ct);
                if (outcome.Status == FileStatus.Failed)
                    _log.Warning("Run {RunId} of courier {CourierId}: {Message}", runId, courierId, outcome.Message);
                outcomes.Add(outcome);
            }
        }

        var failed = outcomes.Where(o => o.Status == FileStatus.Failed).ToList();
        var summary = $"{outcomes.Count} files: {outcomes.Count(o => o.Status == FileStatus.Loaded)} loaded" +
                      (loadedEarlier > 0 ? $" ({loadedEarlier} by an earlier attempt)" : "") +
                      $", {outcomes.Count(o => o.Status == FileStatus.Skipped)} skipped (already loaded), {failed.Count} failed" +
                      (found.Missing.Count > 0 ? $"; {found.Missing.Count} not found ({MissingSummary(found)})" : "");
        return failed.Count == 0
            ? await FinishAsync(RunStatus.Succeeded, summary, ct)
            : await FinishAsync(RunStatus.Failed, $"{summary}. {failed[0].Message}", ct, failed.Max(f => f.Fault), endpoint);
    }

    private static readonly IReadOnlyDictionary<(string Bucket, string Key, string FeedId, string ETag), EarlierLoad> NoEarlierLoads =
        new Dictionary<(string, string, string, string), EarlierLoad>();

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
        var (runId, _, window, request, config, _, _) = _plan;
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

    /// <param name="fault">For a failure: whether another attempt may pass (then one is made, while attempts remain).</param>
    /// <param name="endpoint">The S3 endpoint, named when the run gives up on one that refused connections.</param>
    private async Task<Outcome> FinishAsync(RunStatus status, string message, CancellationToken ct, FaultKind fault = FaultKind.Lasting,
        string? endpoint = null)
    {
        var now = DateTimeOffset.UtcNow;
        if (RetryAfter(status, fault) is { } delay)
        {
            // Queued again, not failed: a status request must not see a failure that is about to be retried.
            await _services.Runs.MarkRetryingAsync(_plan.RunId, RetryMessage(delay, message), ct);
            return new Outcome(new RunSummary(_plan.RunId, _plan.Window.From, status, now, message), delay, FailedAttempts.After(_plan.Failures, fault, now));
        }
        if (status == RunStatus.Failed && fault != FaultKind.Lasting) message = FailedAttempts.GaveUp(_plan.Failures, fault, now, endpoint, message);
        await _services.Runs.FinishAsync(_plan.RunId, status, message, ct);
        _services.Metrics.RunFinished(_plan.CourierId, status, DateTime.UtcNow - _started, DateTimeOffset.UtcNow);
        _log.Info("Run {RunId} of courier {CourierId} {Status}: {Message}", _plan.RunId, _plan.CourierId, status, message);
        return new Outcome(new RunSummary(_plan.RunId, _plan.Window.From, status, now, message), null, null);
    }
}
