using Akka.Event;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Metrics;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// A courier of file entries (<see cref="CourierKind.Files"/>): exact keys and dated filename patterns. A run finds
/// every file of its days before it loads any (<see cref="FileResolver"/>), so a missing required file stops it with
/// nothing half-loaded; then it loads each feed's files in order, each file on its own for upsert, and all of them together
/// for truncate and upsert, since together they replace its table; different feeds load at the same time
/// (<see cref="TableLanes"/>).
/// </summary>
public sealed class FilesCourier(FeedCatalog feeds, RunStore runs, FileLoadPipeline pipeline, DaemonMetrics metrics, LoadingSettings settings) : ICourierKind
{
    public CourierKind Kind => CourierKind.Files;

    public IEnumerable<string> Validate(CourierConfig config)
    {
        if (config.Prefix is not null || config.Source is not null) yield return "prefix and source are for Heap couriers (kind \"heap\")";
        if (config.Files.IsDefaultOrEmpty)
        {
            yield return "a courier needs at least one file";
            yield break;
        }
        for (var i = 0; i < config.Files.Length; i++)
            foreach (var error in config.Files[i].Validate(i))
                yield return error;
    }

    public IEnumerable<string> FeedUses(CourierConfig config, FeedDefinition feed)
    {
        for (var i = 0; i < config.Files.Length; i++)
            if (config.Files[i].FeedId == feed.Id) yield return $"files[{i}].feedId";
    }

    public async Task<RunOutcome> RunAsync(CourierRun run, CancellationToken ct)
    {
        var (runId, bucket, config) = (run.RunId, run.Bucket, run.Config);
        var found = await FileResolver.ResolveAsync(run.S3, bucket, config.Files, run.Plan.Window, ct);
        if (found.Failure is { } listing)
        {
            await runs.RecordFileAsync(runId, 0, bucket, listing.Expected, listing.File.FeedId,
                FileOutcome.Failed(listing.Message) with { Fault = listing.Fault }, ct);
            return RunOutcome.Failed($"could not list the courier's files, so nothing was loaded: {listing.Message}", listing.Fault);
        }
        if (await RecordMissingAsync(run, found, ct) is { } blocking) return RunOutcome.Failed(blocking);

        // Each feed's files load in the run's order; different feeds load at the same time.
        var numbered = found.Files.Select((file, ordinal) => (Ordinal: ordinal, File: file)).ToList();
        var planned = numbered.ToDictionary(f => f.Ordinal, f => f.File);
        var tables = numbered.GroupBy(f => f.File.File.FeedId)
            .Select(g => new TableLoad(runId, run.CourierId, bucket, g.Key, config.LoadType == LoadType.TruncateAndUpsert,
                g.Select(f => new TableLoadFile(f.Ordinal, f.File.Key)).ToList()))
            .ToList();
        var results = await TableLanes.RunAsync(tables, settings.Parallelism, (table, tableCt) => LoadTableAsync(run, table, planned, tableCt), ct);
        var ended = results.SelectMany(r => r!.Files).OrderBy(f => f.Ordinal).ToList();
        var outcomes = ended.Select(o => o.Outcome).ToList();
        var loadedEarlier = ended.Count(o => o.Earlier);

        var failed = outcomes.Where(o => o.Status == FileStatus.Failed).ToList();
        var summary = $"{outcomes.Count} files: {outcomes.Count(o => o.Status == FileStatus.Loaded)} loaded" +
                      (loadedEarlier > 0 ? $" ({loadedEarlier} by an earlier attempt)" : "") +
                      $", {outcomes.Count(o => o.Status == FileStatus.Skipped)} skipped (already loaded), {failed.Count} failed" +
                      (found.Missing.Count > 0 ? $"; {found.Missing.Count} not found ({MissingSummary(found)})" : "");
        return failed.Count == 0
            ? RunOutcome.Succeeded(summary)
            : RunOutcome.Failed($"{summary}. {failed[0].Message}", failed.Max(f => f.Fault));
    }

    /// <summary>
    /// One feed's files: each on its own for upsert, one after another; for truncate and upsert, all of them
    /// together, since together they replace its table. Each is recorded as it ends.
    /// </summary>
    /// <param name="planned">The run's files by ordinal: how each is read.</param>
    private async Task<TableLoadResult> LoadTableAsync(CourierRun run, TableLoad table, IReadOnlyDictionary<int, PlannedFile> planned, CancellationToken ct)
    {
        var (runId, bucket) = (run.RunId, run.Bucket);
        var outcomes = new List<TableLoadFileResult>();
        var files = table.Files.Select(f => (f.Ordinal, File: planned[f.Ordinal])).ToList();
        IEnumerable<List<(int Ordinal, PlannedFile File)>> groups = table.Replace ? [files] : files.Select(f => new List<(int, PlannedFile)> { f });
        var feedId = table.FeedId;
        foreach (var group in groups)
        {
            var feed = await feeds.GetAsync(feedId, ct);
            IReadOnlyList<FileOutcome> results;
            var started = DateTime.UtcNow;
            if (feed is not { Active: true })
            {
                var why = feed is null ? $"feed '{feedId}' does not exist" : $"feed '{feedId}' is not active; activate it first";
                results = group.Select(g => FileOutcome.Failed($"s3://{bucket}/{g.File.Key}: {why}")).ToList();
            }
            else
            {
                // The run's file row commits with the file's rows.
                var jobs = group.Select(g =>
                    new FileLoadJob(runId, g.Ordinal, run.S3, bucket, g.File.Key, g.File.File.SettingsOrDefault, g.File.File.PgpCredentialId,
                        feed.Definition, run.Plan.Request.ForceReload, AllowEmpty: g.File.File.AllowEmpty,
                        CommitWith: outcome => [RunStore.FileCommand(runId, g.Ordinal, bucket, g.File.Key, feedId, outcome)])).ToList();
                await runs.RecordRunningAsync(runId, jobs.Select(j => (j.Ordinal, bucket, j.Key, feedId)), ct);
                results = table.Replace
                    ? await pipeline.ReplaceAsync(jobs, run.Materializer, run.Report.Progress, ct)
                    : [await pipeline.RunAsync(jobs[0], run.Materializer, run.Report.Progress, ct)];
            }
            foreach (var ((ordinal, file), result) in group.Zip(results))
            {
                // A truncate load's files share one transaction; their time is split evenly between them. The metrics
                // count what this attempt did: an earlier attempt counted its own loads.
                metrics.FileFinished(result, (DateTime.UtcNow - started) / group.Count);
                var outcome = result;
                var earlier = false;
                if (result is { Status: FileStatus.Skipped, ETag: { } etag } && run.EarlierLoads.TryGetValue((bucket, file.Key, feedId, etag), out var load))
                {
                    outcome = load.Outcome($"s3://{bucket}/{file.Key}");
                    earlier = true;
                }
                if (result.Status != FileStatus.Loaded) await runs.RecordFileAsync(runId, ordinal, bucket, file.Key, feedId, outcome, ct);
                run.Report.FileEnded(ordinal);
                if (outcome.Status == FileStatus.Failed)
                    run.Log.Warning("Run {RunId} of courier {CourierId}: {Message}", runId, run.CourierId, outcome.Message);
                outcomes.Add(new TableLoadFileResult(ordinal, outcome, earlier));
            }
        }
        return new TableLoadResult(table, outcomes);
    }

    /// <summary>
    /// Records each entry that found nothing (after the files found, in run_files) and says whether that stops the
    /// run: a required file is missing, or every entry is optional and none found anything (Amperity's rule), unless
    /// the run was asked to skip missing files.
    /// </summary>
    /// <returns>The run's failure message, or null to go on loading.</returns>
    private async Task<string?> RecordMissingAsync(CourierRun run, FileSet found, CancellationToken ct)
    {
        var (request, bucket) = (run.Plan.Request, run.Bucket);
        var missingRequired = found.Missing.Where(m => !m.File.Optional).ToList();
        var noneOfAllOptional = found.Files.Count == 0 && run.Config.Files.All(f => f.Optional);
        var stops = !request.SkipMissingFiles && (missingRequired.Count > 0 || noneOfAllOptional);
        for (var i = 0; i < found.Missing.Count; i++)
        {
            var missing = found.Missing[i];
            var note = !missing.File.Optional && request.SkipMissingFiles ? " (skipped: skipMissingFiles)" : "";
            await runs.RecordFileAsync(run.RunId, found.Files.Count + i, bucket, missing.Expected, missing.File.FeedId,
                new FileOutcome(FileStatus.Missing, Message: MissingMessage(missing, bucket) + note), ct);
        }
        if (!stops) return null;
        return missingRequired.Count > 0
            ? $"{missingRequired.Count} required file(s) missing, so nothing was loaded: {MissingMessage(missingRequired[0], bucket)}" +
              (missingRequired.Count > 1 ? $" (and {missingRequired.Count - 1} more; see the run's files)" : "") +
              ". Run with skipMissingFiles to load what is there."
            : $"none of the courier's files was found for {run.Plan.Window} (all are optional, and at least one must be there)";
    }

    private static string MissingMessage(MissingFile missing, string bucket) =>
        (missing.File.Optional ? "optional file not found: " : "required file missing: ") +
        (missing.File.Key is not null
            ? $"s3://{bucket}/{missing.Expected}: no such object"
            : $"no object matches {missing.File.Describe}{(missing.Day is { } day ? $" for {day:yyyy-MM-dd}" : "")} (s3://{bucket}/{missing.Expected})");

    private static string MissingSummary(FileSet found) =>
        $"{found.Missing.Count(m => m.File.Optional)} optional, {found.Missing.Count(m => !m.File.Optional)} required skipped";
}
