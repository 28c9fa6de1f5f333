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
    public sealed record RunPlan(Guid RunId, string CourierId, DateOnly RunDate, RunRequest Request, CourierConfig Config);

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
            End(new RunSummary(_plan.RunId, _plan.RunDate, RunStatus.Failed, DateTimeOffset.UtcNow, message));
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
        var (runId, courierId, runDate, request, config) = _plan;
        await _services.Runs.MarkRunningAsync(runId, ct);
        _log.Info("Run {RunId} of courier {CourierId} started for {RunDate} ({FileCount} files)", runId, courierId, runDate, config.Files.Length);

        var access = await _services.Credentials.GetAccessAsync(config.CredentialId, ct);
        if (access is null)
            return await FinishAsync(RunStatus.Failed, $"credential '{config.CredentialId}' does not exist", ct);

        using var s3 = _services.S3.Create(access);
        var bucket = access.Credential.Bucket;
        var outcomes = new List<FileOutcome>();
        for (var ordinal = 0; ordinal < config.Files.Length; ordinal++)
        {
            var file = config.Files[ordinal];
            var feed = await _services.Feeds.GetAsync(file.FeedId, ct);
            FileOutcome outcome;
            if (feed is not { Active: true })
            {
                outcome = FileOutcome.Failed(feed is null
                    ? $"s3://{bucket}/{file.Key}: feed '{file.FeedId}' does not exist"
                    : $"s3://{bucket}/{file.Key}: feed '{file.FeedId}' is not active; activate it first");
            }
            else
            {
                await _services.Runs.RecordFileAsync(runId, ordinal, bucket, file.Key, file.FeedId, new FileOutcome(FileStatus.Running), ct);
                var job = new FileLoadJob(runId, ordinal, s3, bucket, file.Key, file.SettingsOrDefault, file.PgpCredentialId, feed.Definition, request.ForceReload);
                outcome = await _services.Pipeline.RunAsync(job, _materializer, report, ct);
            }
            await _services.Runs.RecordFileAsync(runId, ordinal, bucket, file.Key, file.FeedId, outcome, ct);
            if (outcome.Status == FileStatus.Failed)
                _log.Warning("Run {RunId} of courier {CourierId}: {Message}", runId, courierId, outcome.Message);
            outcomes.Add(outcome);
        }

        var failed = outcomes.Where(o => o.Status == FileStatus.Failed).ToList();
        var summary = $"{outcomes.Count} files: {outcomes.Count(o => o.Status == FileStatus.Loaded)} loaded, " +
                      $"{outcomes.Count(o => o.Status == FileStatus.Skipped)} skipped (already loaded), {failed.Count} failed";
        return failed.Count == 0
            ? await FinishAsync(RunStatus.Succeeded, summary, ct)
            : await FinishAsync(RunStatus.Failed, $"{summary}. {failed[0].Message}", ct);
    }

    private async Task<RunSummary> FinishAsync(RunStatus status, string message, CancellationToken ct)
    {
        await _services.Runs.FinishAsync(_plan.RunId, status, message, ct);
        _log.Info("Run {RunId} of courier {CourierId} {Status}: {Message}", _plan.RunId, _plan.CourierId, status, message);
        return new RunSummary(_plan.RunId, _plan.RunDate, status, DateTimeOffset.UtcNow, message);
    }
}
