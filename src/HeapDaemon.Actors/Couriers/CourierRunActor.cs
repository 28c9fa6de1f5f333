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
    public sealed record RunPlan(Guid RunId, string CourierId, RunWindow Window, RunRequest Request, CourierConfig Config);

    public sealed record RunProgressed(Guid RunId, FileProgress Progress);

    public sealed record RunEnded(RunSummary Summary);

    private readonly RunPlan _plan;
    private readonly CourierServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IMaterializer _materializer = Context.Materializer();
    private readonly CancellationTokenSource _cancellation = new();

    public CourierRunActor(RunPlan plan, CourierServices services)
    {
        _plan = plan;
        _services = services;
        Receive<FileProgress>(progress => Context.Parent.Tell(new RunProgressed(_plan.RunId, progress)));
        Receive<RunSummary>(summary => End(summary));
        Receive<Status.Failure>(failure =>
        {
            // Not an expected failure of a file (those are outcomes): a fault in the daemon or its database.
            _log.Error(failure.Cause, "Run {RunId} of courier {CourierId} failed", _plan.RunId, _plan.CourierId);
            var message = $"the run failed: {failure.Cause.Message}";
            // Best effort: if the database is what failed, this fails too, and recovery finds the run unfinished.
            _services.Runs.FinishAsync(_plan.RunId, RunStatus.Failed, message, CancellationToken.None)
                .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            End(new RunSummary(_plan.RunId, _plan.Window.From, RunStatus.Failed, DateTimeOffset.UtcNow, message));
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

    private void End(RunSummary summary)
    {
        Context.Parent.Tell(new RunEnded(summary));
        Context.Stop(Self);
    }

    private async Task<RunSummary> ExecuteAsync(Action<FileProgress> report, CancellationToken ct)
    {
        var (runId, courierId, window, request, config) = _plan;
        await _services.Runs.MarkRunningAsync(runId, ct);
        _log.Info("Run {RunId} of courier {CourierId} started for {Window} ({EntryCount} file entries)", runId, courierId, window, config.Files.Length);

        var access = await _services.Credentials.GetAccessAsync(config.CredentialId, ct);
        if (access is null)
            return await FinishAsync(RunStatus.Failed, $"credential '{config.CredentialId}' does not exist", ct);

        using var s3 = _services.S3.Create(access);
        var bucket = access.Credential.Bucket;
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
        for (var ordinal = 0; ordinal < found.Files.Count; ordinal++)
        {
            var (_, file, _, key) = found.Files[ordinal];
            var feed = await _services.Feeds.GetAsync(file.FeedId, ct);
            FileOutcome outcome;
            if (feed is not { Active: true })
            {
                outcome = FileOutcome.Failed(feed is null
                    ? $"s3://{bucket}/{key}: feed '{file.FeedId}' does not exist"
                    : $"s3://{bucket}/{key}: feed '{file.FeedId}' is not active; activate it first");
            }
            else
            {
                await _services.Runs.RecordFileAsync(runId, ordinal, bucket, key, file.FeedId, new FileOutcome(FileStatus.Running), ct);
                var job = new FileLoadJob(runId, ordinal, s3, bucket, key, file.CsvOrDefault, feed.Definition, request.ForceReload);
                outcome = await _services.Pipeline.RunAsync(job, _materializer, report, ct);
            }
            await _services.Runs.RecordFileAsync(runId, ordinal, bucket, key, file.FeedId, outcome, ct);
            if (outcome.Status == FileStatus.Failed)
                _log.Warning("Run {RunId} of courier {CourierId}: {Message}", runId, courierId, outcome.Message);
            outcomes.Add(outcome);
        }

        var failed = outcomes.Where(o => o.Status == FileStatus.Failed).ToList();
        var summary = $"{outcomes.Count} files: {outcomes.Count(o => o.Status == FileStatus.Loaded)} loaded, " +
                      $"{outcomes.Count(o => o.Status == FileStatus.Skipped)} skipped (already loaded), {failed.Count} failed" +
                      (found.Missing.Count > 0 ? $"; {found.Missing.Count} not found ({MissingSummary(found)})" : "");
        return failed.Count == 0
            ? await FinishAsync(RunStatus.Succeeded, summary, ct)
            : await FinishAsync(RunStatus.Failed, $"{summary}. {failed[0].Message}", ct);
    }

    /// <summary>
    /// Records each entry that found nothing (after the files found, in run_files) and says whether that stops the
    /// run: a required file is missing, or every entry is optional and none found anything (Amperity's rule), unless
    /// the run was asked to skip missing files.
    /// </summary>
    /// <returns>The run's failure message, or null to go on loading.</returns>
    private async Task<string?> RecordMissingAsync(FileSet found, string bucket, CancellationToken ct)
    {
        var (runId, _, window, request, config) = _plan;
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

    private async Task<RunSummary> FinishAsync(RunStatus status, string message, CancellationToken ct)
    {
        await _services.Runs.FinishAsync(_plan.RunId, status, message, ct);
        _log.Info("Run {RunId} of courier {CourierId} {Status}: {Message}", _plan.RunId, _plan.CourierId, status, message);
        return new RunSummary(_plan.RunId, _plan.Window.From, status, DateTimeOffset.UtcNow, message);
    }
}
