using System.Diagnostics;
using Akka.Event;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Metrics;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;
using Npgsql;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Actors.Heap;

/// <summary>
/// A Heap Connect courier (<see cref="CourierKind.Heap"/>). Its run lists <c>manifests/*.json</c> under its prefix,
/// and applies every dump not yet applied in ascending dump id. Per table of a dump: an incremental table upserts its
/// files one by one, in part order; a full one (<c>incremental: false</c>, and user_migrations always) replaces the
/// table with the dump's files in one transaction. A table part that a newer full dump replaces anyway (applied, or
/// named by a later manifest) is skipped and logged; a late dump's full table that a newer dump already changed is
/// upserted, not replaced, so the newer rows stay. Before anything of a dump loads, every file it names must exist and
/// every table must have a feed that fits (made or widened here): otherwise the dump fails, naming the cause, with
/// nothing of it applied, and later dumps wait. Only folders a manifest names are read.
/// </summary>
public sealed class HeapCourier(NpgsqlDataSource db, FeedCatalog feeds, RunStore runs, FileLoadPipeline pipeline, DaemonMetrics metrics,
    LoadingSettings settings)
    : ICourierKind
{
    public const string UserMigrations = "user_migrations";

    private const int MaxManifestBytes = 64 << 20;

    private readonly HeapProgress _progress = new(db);

    public CourierKind Kind => CourierKind.Heap;

    public IEnumerable<string> Validate(CourierConfig config)
    {
        if (!config.Files.IsDefaultOrEmpty) yield return "a Heap courier follows Heap's manifests and takes no files";
        if (config.Prefix is { } p && (p.Length > 900 || p.StartsWith('/') || p.Length > 0 && !p.EndsWith('/')))
            yield return "prefix must be empty or a folder ending in '/', not starting with '/', at most 900 characters";
        if (!Identifiers.IsSchemaOrTableName(config.HeapSource) || Identifiers.IsReservedSchema(config.HeapSource))
            yield return $"source '{config.HeapSource}' must be a name, {Identifiers.NameRule}, and not reserved";
    }

    /// <summary>Every manifest under the prefix, by dump id.</summary>
    /// <exception cref="FormatException">a manifest is malformed, or two name the same dump.</exception>
    public static async Task<IReadOnlyList<HeapManifest>> ReadManifestsAsync(IAmazonS3 s3, string bucket, string prefix, CancellationToken ct)
    {
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix + "manifests/", Delimiter = "/" };
        var keys = new List<string>();
        while (true)
        {
            var page = await s3.ListObjectsV2Async(request, ct);
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key).Where(k => k.EndsWith(".json", StringComparison.OrdinalIgnoreCase)));
            if (page.IsTruncated != true) break;
            request.ContinuationToken = page.NextContinuationToken;
        }
        var manifests = new List<HeapManifest>();
        foreach (var key in keys)
        {
            using var response = await s3.GetObjectAsync(bucket, key, ct);
            if (response.ContentLength > MaxManifestBytes) throw new FormatException($"manifest s3://{bucket}/{key} is larger than {MaxManifestBytes >> 20} MB");
            var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, ct);
            var manifest = HeapManifest.Parse(key, bucket, buffer.ToArray());
            if (manifests.FirstOrDefault(m => m.DumpId == manifest.DumpId) is { } twin)
                throw new FormatException($"manifests s3://{bucket}/{twin.ManifestKey} and s3://{bucket}/{key} both describe dump {manifest.DumpId}");
            manifests.Add(manifest);
        }
        return manifests.OrderBy(m => m.DumpId).ToList();
    }

    /// <summary>The table's feed, made (and activated) or widened to this dump's columns.</summary>
    /// <exception cref="HeapSchemaException">the table cannot be loaded as it is.</exception>
    public async Task<FeedRecord> EnsureFeedAsync(IAmazonS3 s3, string bucket, string source, HeapTable table, CancellationToken ct) =>
        await FitAsync(bucket, source, table, table.Files.Count == 0 ? null : await ReadSampleAsync(s3, bucket, table, ct),
            await feeds.GetAsync(HeapSchema.FeedId(source, table.Name), ct), null, ct);

    /// <summary>The start of the table's first file, which shows its columns' types (a round trip to S3).</summary>
    private async Task<HeapSchema.Sample> ReadSampleAsync(IAmazonS3 s3, string bucket, HeapTable table, CancellationToken ct)
    {
        var sampling = Stopwatch.GetTimestamp();
        var sample = await HeapSchema.ReadSampleAsync(s3, bucket, table.Files[0].Key, ct);
        metrics.FilePhase("fit-sample", Stopwatch.GetElapsedTime(sampling));
        return sample;
    }

    /// <param name="sample">The table's first file's start; null when the table has no files.</param>
    /// <param name="existing">The table's feed as stored; null when it has none yet.</param>
    /// <param name="changes">Held while the feed is changed: tables fitted at once make their feeds one at a time (two
    /// that make the source's schema at once would collide).</param>
    private async Task<FeedRecord> FitAsync(string bucket, string source, HeapTable table, HeapSchema.Sample? sample, FeedRecord? existing,
        SemaphoreSlim? changes, CancellationToken ct)
    {
        if (sample is null)
        {
            if (existing is not null) return existing;
            throw new HeapSchemaException($"table '{table.Name}' has no files yet, so its columns' types are unknown");
        }
        var feed = HeapSchema.FeedFor(source, table, sample, $"s3://{bucket}/{table.Files[0].Key}", existing?.Definition);
        if (existing is { Active: true } && ReferenceEquals(feed, existing.Definition)) return existing;
        if (changes is not null) await changes.WaitAsync(ct);
        try
        {
            return await ChangeFeedAsync(table, feed, existing, ct);
        }
        finally
        {
            changes?.Release();
        }
    }

    private async Task<FeedRecord> ChangeFeedAsync(HeapTable table, FeedDefinition feed, FeedRecord? existing, CancellationToken ct)
    {
        if (existing is null)
        {
            if (feed.Validate() is [var invalid, ..]) throw new HeapSchemaException($"table '{table.Name}': {invalid}");
            if (await feeds.AddAsync(feed, ct) is { } refused) throw new HeapSchemaException($"table '{table.Name}': {refused}");
        }
        else if (!ReferenceEquals(feed, existing.Definition) && await feeds.UpdateAsync(feed, purge: false, ct) is { } refused)
        {
            throw new HeapSchemaException($"table '{table.Name}': its new columns cannot be added: {refused}");
        }
        return existing is { Active: true } && ReferenceEquals(feed, existing.Definition)
            ? existing
            : await feeds.ActivateAsync(feed.Id, ct) ?? throw new InvalidOperationException($"feed '{feed.Id}' vanished");
    }

    /// <summary>Where a Heap courier loads into the feed: every table of its source goes to the feed made for it.</summary>
    public IEnumerable<string> FeedUses(CourierConfig config, FeedDefinition feed)
    {
        if (feed.Source == config.HeapSource && feed.Id == HeapSchema.FeedId(config.HeapSource, feed.Name))
            yield return $"Heap courier of source '{config.HeapSource}', table '{feed.Name}'";
    }

    /// <summary>A Heap courier shows its dumps: how many applied, and those that failed (blocking) or were skipped.</summary>
    public async Task<CourierView> DescribeAsync(CourierView view, CancellationToken ct) =>
        view with { HeapDumps = await _progress.DumpsAsync(view.Id, ct) };

    /// <summary>The source's identity views and all_events read its tables: dropped before one of them is, and made again after.</summary>
    public async Task<T> AroundTableDropAsync<T>(string source, Func<Task<T>> drop, CancellationToken ct)
    {
        var hadViews = await IdentityViews.DropAsync(db, source, ct);
        try
        {
            return await drop();
        }
        finally
        {
            if (hadViews) await IdentityViews.RefreshAsync(db, feeds, source, ct);
        }
    }

    /// <inheritdoc cref="HeapProgress.SkipDumpAsync"/>
    public Task<(string? Refused, bool NotFound)> SkipDumpAsync(Guid runId, long dumpId, CancellationToken ct) => _progress.SkipDumpAsync(runId, dumpId, ct);

    public async Task<RunOutcome> RunAsync(CourierRun run, CancellationToken ct)
    {
        var (prefix, source) = (run.Config.Prefix ?? "", run.Config.HeapSource);
        IReadOnlyList<HeapManifest> manifests;
        try
        {
            manifests = await ReadManifestsAsync(run.S3, run.Bucket, prefix, ct);
        }
        catch (FormatException e)
        {
            return new(RunStatus.Failed, $"{e.Message}; nothing was applied");
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            return new(RunStatus.Failed, $"could not read the manifests: {S3Errors.Describe(e, run.Bucket, prefix + "manifests/")}", Faults.Classify(e));
        }

        var progress = await _progress.LoadAsync(run.CourierId, ct);
        var pending = manifests.Where(m => !progress.Dumps.Contains(m.DumpId)).ToList();
        var state = new RunState();
        // An earlier attempt's files stay the run's: this attempt goes on after the files they applied.
        if (run.Resumed)
        {
            (state.Ordinal, state.Earlier) = await runs.KeepEarlierFilesAsync(run.RunId, ct);
            state.Count(loadedEarlier: state.Earlier.Values.Count(s => s == FileStatus.Loaded));
        }
        if (pending.Count == 0 && state.LoadedEarlier == 0)
            return new(RunStatus.Succeeded, $"no new dump: {manifests.Count} manifest(s) under s3://{run.Bucket}/{prefix}manifests/, all applied");

        // A skipped dump changes nothing, so it replaces no table part of an earlier dump either.
        var all = manifests.Where(m => !progress.Skipped.Contains(m.DumpId)).ToList();
        // progress is the run's snapshot from its start, so each dump's plan can be made once, before any dump applies.
        var plans = pending.Select(m => Plan(m, all, progress)).ToList();
        // While a dump's tables load, the next dump's reads from S3 (its listing and samples) go on: they change
        // nothing, so a dump that fails leaves the next as it was. Its feeds are fitted at its own start.
        using var ahead = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task<DumpReading>? next = null;
        try
        {
            for (var i = 0; i < pending.Count; i++)
            {
                var manifest = pending[i];
                // A reading's samples line up with its plan's tables: the dump's turn applies the plan it was read by.
                var reading = next ?? ReadDumpAsync(run, plans[i].Todo, progress, ct);
                next = null;
                var following = i + 1 < pending.Count && settings.ReadDumpAhead ? plans[i + 1] : null;
                Action readNext = () => next = following is null ? null : ReadDumpAsync(run, following.Todo, progress, ahead.Token);
                var failure = await ApplyDumpAsync(run, manifest, plans[i], progress, state, reading, readNext, ct);
                if (failure is not null)
                {
                    if (state.Changed) await IdentityViews.RefreshAsync(db, feeds, source, ct);
                    await _progress.DumpFailedAsync(run.CourierId, manifest, run.RunId, failure.Message, ct);
                    var waiting = pending.Count - state.Dumps.Count - 1;
                    return failure with
                    {
                        Message = $"{Applied(state)}. Dump {manifest.DumpId} ({manifest.ManifestKey}) failed: {failure.Message}" +
                                  (waiting > 0 ? $"; {waiting} later dump(s) wait for it" : "") +
                                  $". Once it is fixed the next run applies it; or skip it: POST /api/runs/{run.RunId}/dumps/{manifest.DumpId}/skip",
                        BlockedDump = manifest.DumpId,
                    };
                }
                await _progress.DumpDoneAsync(run.CourierId, manifest, run.RunId, ct);
                state.Dumps.Add(manifest.DumpId);
            }
        }
        finally
        {
            // A dump that failed (or a run that stops) drops the next dump's reads.
            if (next is not null)
            {
                await ahead.CancelAsync();
                try
                {
                    await next;
                }
                catch (Exception) when (ahead.IsCancellationRequested)
                {
                    // Whatever the dropped reads met, they changed nothing.
                }
            }
        }
        if (state.Changed) await IdentityViews.RefreshAsync(db, feeds, source, ct);
        return new(RunStatus.Succeeded, Applied(state));
    }

    private static string Applied(RunState state) =>
        $"{state.Dumps.Count} dump(s) applied{(state.Dumps.Count > 0 ? $" ({string.Join(", ", state.Dumps)})" : "")}: " +
        $"{state.Loaded + state.LoadedEarlier} file(s) loaded{(state.LoadedEarlier > 0 ? $" ({state.LoadedEarlier} by an earlier attempt)" : "")}, " +
        $"{state.Skipped} already loaded, {state.Superseded.Count} table part(s) superseded by a newer full dump" +
        (state.Superseded.Count > 0 ? $" ({string.Join(", ", state.Superseded)})" : "");

    /// <summary>A dump's tables still to apply, and those a newer full dump replaces (with its id).</summary>
    private sealed record DumpPlan(List<HeapTable> Todo, List<(HeapTable Table, long NewerFull)> Superseded);

    private static DumpPlan Plan(HeapManifest manifest, IReadOnlyList<HeapManifest> all, HeapProgressState progress)
    {
        var (todo, superseded) = (new List<HeapTable>(), new List<(HeapTable, long)>());
        foreach (var table in Ordered(manifest.Tables).Where(t => !progress.Tables.Contains((manifest.DumpId, t.Name))))
        {
            var newerFull = all.Where(m => m.DumpId > manifest.DumpId && m.Tables.Any(t => t.Name == table.Name && t.ReplacesTable))
                .Select(m => m.DumpId).Append(progress.LastFull.GetValueOrDefault(table.Name, -1)).Max();
            if (newerFull > manifest.DumpId) superseded.Add((table, newerFull));
            else todo.Add(table);
        }
        return new DumpPlan(todo, superseded);
    }

    /// <summary>What a dump's preparation reads from S3, and only that: it changes nothing, so it may run before the dump's turn.</summary>
    /// <param name="Listed">Every object under the dump's folder, with its ETag; null when the listing failed.</param>
    /// <param name="Failure">Why the listing failed.</param>
    /// <param name="Missing">The first file (in the tables' order) the dump still needs that is not there.</param>
    /// <param name="Samples">Per table of the plan, the start of its first file, when read ahead (up to <see cref="AheadBudget"/> bytes of them).</param>
    /// <param name="SampleFailures">Per table, why its sample could not be read.</param>
    private sealed record DumpReading(Dictionary<string, string>? Listed, Exception? Failure, (string Table, string Key)? Missing,
        HeapSchema.Sample?[] Samples, Exception?[] SampleFailures);

    /// <summary>The most bytes of samples a dump's reading keeps for its fitting; the fitting reads the others itself.</summary>
    private const long AheadBudget = 32L << 20;

    /// <summary>Lists the dump's folder and, when every file it needs is there, reads its tables' samples (up to
    /// <see cref="LoadingSettings.Parallelism"/> at once). Failures are kept for the dump's turn, which reports them.</summary>
    private async Task<DumpReading> ReadDumpAsync(CourierRun run, IReadOnlyList<HeapTable> todo, HeapProgressState progress, CancellationToken ct)
    {
        var (samples, failures) = (new HeapSchema.Sample?[todo.Count], new Exception?[todo.Count]);
        Dictionary<string, string> listed;
        try
        {
            var listing = Stopwatch.GetTimestamp();
            listed = await ListAsync(run, todo, ct);
            metrics.FilePhase("list", Stopwatch.GetElapsedTime(listing));
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            return new DumpReading(null, e, null, samples, failures);
        }
        var missing = todo.SelectMany(t => t.Files.Where(f => t.ReplacesTable || Pending(progress, listed, t, f)).Select(f => (Table: t.Name, f.Key)))
            .FirstOrDefault(f => !listed.ContainsKey(f.Key));
        if (missing.Key is not null) return new DumpReading(listed, null, missing, samples, failures);
        long kept = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = settings.Parallelism, CancellationToken = ct };
        await Parallel.ForEachAsync(Enumerable.Range(0, todo.Count).Where(i => todo[i].Files.Count > 0), options, async (i, tableCt) =>
        {
            if (Interlocked.Read(ref kept) >= AheadBudget) return;
            try
            {
                var sample = await ReadSampleAsync(run.S3, run.Bucket, todo[i], tableCt);
                if (Interlocked.Add(ref kept, sample.Bytes) <= AheadBudget) samples[i] = sample;
            }
            catch (Exception e) when (!tableCt.IsCancellationRequested)
            {
                failures[i] = e;
            }
        });
        return new DumpReading(listed, null, null, samples, failures);
    }

    /// <returns>null when the dump is applied; otherwise why not.</returns>
    /// <param name="reading">The dump's reads from S3 (<see cref="ReadDumpAsync"/>), started now or while the dump before loaded.</param>
    /// <param name="readNext">Starts the next dump's reads: called once this dump's tables begin to load.</param>
    private async Task<RunOutcome?> ApplyDumpAsync(CourierRun run, HeapManifest manifest, DumpPlan plan,
        HeapProgressState progress, RunState state, Task<DumpReading> reading, Action readNext, CancellationToken ct)
    {
        var source = run.Config.HeapSource;
        var (todo, superseded) = plan;
        foreach (var (table, newerFull) in superseded)
        {
            var message = $"table '{table.Name}' of dump {manifest.DumpId} skipped: full dump {newerFull} replaces it";
            run.Log.Info("Heap courier {CourierId}: {Message}", run.CourierId, message);
            await _progress.TableDoneAsync(run.CourierId, manifest.DumpId, table, "superseded", message, ct);
            state.Superseded.Add($"{table.Name}@{manifest.DumpId}");
        }

        // Nothing of the dump loads unless all of it can: every file it still needs is there and every table has a
        // feed that fits.
        var feedsOf = new Dictionary<string, FeedRecord>(StringComparer.Ordinal);
        Dictionary<string, string> listed;
        Dictionary<string, FetchedObject> fetched;
        var preparing = Stopwatch.GetTimestamp();
        try
        {
            var read = await reading;
            if (read.Failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(read.Failure);
            listed = read.Listed!;
            if (read.Missing is var (missingTable, missingKey))
            {
                var message = $"it names s3://{run.Bucket}/{missingKey} ({missingTable}), which does not exist; nothing of dump {manifest.DumpId} was applied";
                await runs.RecordFileAsync(run.RunId, state.Ordinal++, run.Bucket, missingKey, HeapSchema.FeedId(source, missingTable),
                    new FileOutcome(FileStatus.Missing, Message: $"s3://{run.Bucket}/{missingKey}: no such object; dump {manifest.DumpId} names it"), ct);
                return new(RunStatus.Failed, message);
            }
            var fitting = Stopwatch.GetTimestamp();
            (var fitted, fetched) = await FitFeedsAsync(run, todo, read, ct);
            foreach (var (table, feed) in todo.Zip(fitted)) feedsOf[table.Name] = feed;
            metrics.FilePhase("fit", Stopwatch.GetElapsedTime(fitting));
            metrics.FilePhase("dump", Stopwatch.GetElapsedTime(preparing));
        }
        catch (HeapSchemaException e)
        {
            return new(RunStatus.Failed, $"{e.Message}; nothing of dump {manifest.DumpId} was applied");
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            return new(RunStatus.Failed, S3Errors.Describe(e, run.Bucket, null), Faults.Classify(e));
        }
        readNext();

        // Tables of a dump are independent: they load at the same time, each table's files in part order. The dump
        // ends (and the next begins) once every table has, so a later dump's files of a table never commit before this
        // one's. The run's ordinals follow the tables' order, whichever loads first.
        var tables = new List<TableLoad>();
        var parts = new Dictionary<string, (HeapTable Table, FeedDefinition Feed, IReadOnlyList<HeapFile> Files)>(StringComparer.Ordinal);
        foreach (var table in todo)
        {
            var feed = feedsOf[table.Name].Definition;
            // A late full dump (newer dumps of the table are applied already) must not wipe their rows: it upserts, and
            // the feed's last-updated column keeps the newer rows.
            var replace = table.ReplacesTable && progress.LastApplied.GetValueOrDefault(table.Name, -1) < manifest.DumpId;
            var files = replace ? table.Files : table.Files.Where(f => Pending(progress, listed, table, f)).ToList();
            foreach (var file in files.Where(f => progress.Files.ContainsKey((table.Name, f.Key))))
                run.Log.Info("Heap courier {CourierId}: s3://{Bucket}/{Key} was delivered again with other content since it was applied; it is applied again",
                    run.CourierId, run.Bucket, file.Key);
            tables.Add(new TableLoad(run.RunId, run.CourierId, run.Bucket, feed.Id, replace, files.Select(f => new TableLoadFile(state.Ordinal++, f.Key)).ToList()));
            parts[feed.Id] = (table, feed, files);
        }
        var results = await TableLanes.RunAsync(tables, settings.Parallelism,
            (load, tableCt) => LoadTableAsync(run, manifest, load, parts[load.FeedId], fetched, state, tableCt), ct);
        return results.FirstOrDefault(r => r?.Stop is not null)?.Stop is { } stop ? new RunOutcome(RunStatus.Failed, stop.Message, stop.Fault) : null;
    }

    /// <summary>
    /// A part file is still to load unless it was applied with the content the bucket has now (<paramref name="listed"/>);
    /// one delivered again with other content (a newer delivery, or an earlier one's again) goes through the load ledger's rule.
    /// </summary>
    private static bool Pending(HeapProgressState progress, IReadOnlyDictionary<string, string> listed, HeapTable table, HeapFile file) =>
        !progress.Files.TryGetValue((table.Name, file.Key), out var applied) ||
        applied is not null && listed.TryGetValue(file.Key, out var now) && now != applied;

    /// <summary>
    /// Every table's feed made or widened for the dump, each from its first file's start: read ahead
    /// (<paramref name="read"/>), or read here, up to <see cref="LoadingSettings.Parallelism"/> tables at once (a round
    /// trip to S3 each). A first file a read got whole is kept for its load (up to <see cref="FetchedBudget"/> bytes of them).
    /// </summary>
    /// <exception cref="HeapSchemaException">the first table, in the dump's order, that cannot be loaded as it is.</exception>
    private async Task<(FeedRecord[] Feeds, Dictionary<string, FetchedObject> Fetched)> FitFeedsAsync(CourierRun run, IReadOnlyList<HeapTable> tables,
        DumpReading read, CancellationToken ct)
    {
        var source = run.Config.HeapSource;
        var looking = Stopwatch.GetTimestamp();
        var stored = (await feeds.ListAsync(ct)).ToDictionary(f => f.Definition.Id, StringComparer.Ordinal);
        metrics.FilePhase("fit-feed", Stopwatch.GetElapsedTime(looking));
        var fitted = new FeedRecord[tables.Count];
        var fetched = new Dictionary<string, FetchedObject>(StringComparer.Ordinal);
        long fetchedBytes = 0;
        var errors = new Exception?[tables.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = settings.Parallelism, CancellationToken = ct };
        using var changes = new SemaphoreSlim(1, 1);
        await Parallel.ForEachAsync(Enumerable.Range(0, tables.Count), options, async (i, tableCt) =>
        {
            try
            {
                if (read.SampleFailures[i] is { } failed) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failed);
                var sample = read.Samples[i] ?? (tables[i].Files.Count == 0 ? null : await ReadSampleAsync(run.S3, run.Bucket, tables[i], tableCt));
                fitted[i] = await FitAsync(run.Bucket, source, tables[i], sample, stored.GetValueOrDefault(HeapSchema.FeedId(source, tables[i].Name)),
                    changes, tableCt);
                lock (fetched)
                {
                    if (sample?.Whole is { } first && fetchedBytes + first.Content.Length <= FetchedBudget)
                    {
                        fetched[tables[i].Files[0].Key] = first;
                        fetchedBytes += first.Content.Length;
                    }
                }
            }
            catch (Exception e) when (!tableCt.IsCancellationRequested)
            {
                // Kept for its table's place: the same table is named whichever finished first.
                errors[i] = e;
            }
        });
        if (errors.FirstOrDefault(e => e is not null) is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        return (fitted, fetched);
    }

    /// <summary>The most bytes of first files a dump keeps from its samples for their loads.</summary>
    private const long FetchedBudget = 32L << 20;

    /// <summary>One table of a dump: replaced with its files in one transaction, or upserted with them one by one, in part order.</summary>
    /// <param name="parts">The table as the dump's manifest has it, its feed, and the part files the load names.</param>
    /// <param name="fetched">Files read whole already, by key (see <see cref="FitFeedsAsync"/>).</param>
    private async Task<TableLoadResult> LoadTableAsync(CourierRun run, HeapManifest manifest, TableLoad load,
        (HeapTable Table, FeedDefinition Feed, IReadOnlyList<HeapFile> Files) parts, IReadOnlyDictionary<string, FetchedObject> fetched, RunState state,
        CancellationToken ct)
    {
        var (table, feed, files) = parts;
        var replace = load.Replace;
        var recorded = new List<TableLoadFileResult>();
        var jobs = load.Files.Zip(files).Select(f =>
        {
            var (ordinal, part) = (f.First.Ordinal, f.Second);
            // The run's file row, and an upserted part's record as applied, commit with the file's rows.
            return new FileLoadJob(run.RunId, ordinal, run.S3, run.Bucket, part.Key, new FileSettings(FileFormat.Avro), null, feed,
                run.Plan.Request.ForceReload, MissingColumnsAreNull: true, CommitWith: outcome => replace
                    ? [RunStore.FileCommand(run.RunId, ordinal, run.Bucket, part.Key, feed.Id, outcome)]
                    : [RunStore.FileCommand(run.RunId, ordinal, run.Bucket, part.Key, feed.Id, outcome),
                       HeapProgress.FileAppliedCommand(run.CourierId, table.Name, part, run.RunId, outcome.ETag!)],
                Fetched: fetched.GetValueOrDefault(part.Key));
        }).ToList();
        foreach (var job in jobs)
        {
            // A file an earlier attempt recorded but did not finish applying (a crash in between): this row replaces it.
            if (state.TakeEarlier(job.Key) is { } earlier)
            {
                await runs.DropFileAsync(run.RunId, job.Key, job.Ordinal, ct);
                if (earlier == FileStatus.Loaded) state.Count(loadedEarlier: -1);
            }
        }
        var running = Stopwatch.GetTimestamp();
        await runs.RecordRunningAsync(run.RunId, jobs.Select(j => (j.Ordinal, run.Bucket, j.Key, j.Feed.Id)), ct);
        metrics.FilePhase("running", Stopwatch.GetElapsedTime(running));
        var started = DateTime.UtcNow;
        if (replace && jobs.Count == 0)
        {
            await EmptyAsync(feed, ct);
        }
        else if (replace)
        {
            var outcomes = await pipeline.ReplaceAsync(jobs, run.Materializer, run.Report.Progress, ct);
            if (await RecordAsync(run, jobs, outcomes, started, state, recorded, ct) is { } failed) return new TableLoadResult(load, recorded, failed);
        }
        else
        {
            TableStop? failure = null;
            var fileOf = jobs.Zip(files).ToDictionary(f => f.First, f => f.Second);
            await pipeline.RunInOrderAsync(jobs, run.Materializer, run.Report.Progress, async (job, outcome) =>
            {
                var recording = Stopwatch.GetTimestamp();
                failure = await RecordAsync(run, [job], [outcome], DateTime.UtcNow, state, recorded, ct);
                if (failure is not null) return false;
                // A loaded file's part was recorded applied with its rows; one already loaded is recorded here.
                if (outcome.Status != FileStatus.Loaded)
                    await _progress.FileAppliedAsync(run.CourierId, table.Name, fileOf[job], run.RunId, outcome.ETag!, ct);
                metrics.FilePhase("record", Stopwatch.GetElapsedTime(recording));
                return true;
            }, ct);
            if (failure is not null) return new TableLoadResult(load, recorded, failure);
        }
        state.Changed = true;
        await _progress.TableDoneAsync(run.CourierId, manifest.DumpId, table, "applied",
            $"{(replace ? "replaced with" : table.ReplacesTable ? "a late full dump, upserted" : "upserted")} {table.Files.Count} file(s)", ct);
        return new TableLoadResult(load, recorded);
    }

    /// <returns>Why the dump stops here, when a file failed; null otherwise.</returns>
    private async Task<TableStop?> RecordAsync(CourierRun run, IReadOnlyList<FileLoadJob> jobs, IReadOnlyList<FileOutcome> outcomes,
        DateTime started, RunState state, List<TableLoadFileResult> recorded, CancellationToken ct)
    {
        foreach (var (job, result) in jobs.Zip(outcomes))
        {
            // The metrics count what this attempt did: an earlier attempt counted its own loads.
            metrics.FileFinished(result, (DateTime.UtcNow - started) / jobs.Count);
            EarlierLoad? load = null;
            var loadedEarlier = result is { Status: FileStatus.Skipped, ETag: { } etag } &&
                                run.EarlierLoads.TryGetValue((run.Bucket, job.Key, job.Feed.Id, etag), out load);
            // A loaded file's row was written with its commit (FileLoadJob.CommitWith).
            if (result.Status != FileStatus.Loaded)
                await runs.RecordFileAsync(run.RunId, job.Ordinal, run.Bucket, job.Key, job.Feed.Id, loadedEarlier ? load!.Outcome(job.SourceFile) : result, ct);
            run.Report.FileEnded(job.Ordinal);
            recorded.Add(new TableLoadFileResult(job.Ordinal, loadedEarlier ? load!.Outcome(job.SourceFile) : result, loadedEarlier));
            if (loadedEarlier) state.Count(loadedEarlier: 1);
            else if (result.Status == FileStatus.Loaded) state.Count(loaded: 1);
            else if (result.Status == FileStatus.Skipped) state.Count(skipped: 1);
        }
        var failed = outcomes.Where(o => o.Status == FileStatus.Failed).ToList();
        if (failed.Count == 0) return null;
        run.Log.Warning("Heap courier {CourierId}: {Message}", run.CourierId, failed[0].Message);
        return new TableStop(failed[0].Message ?? "a file failed", failed.Max(o => o.Fault));
    }

    /// <summary>A full dump with no files: the table is empty now.</summary>
    private async Task EmptyAsync(FeedDefinition feed, CancellationToken ct)
    {
        // DELETE, not TRUNCATE: readers keep seeing the old rows until it commits.
        await using var cmd = db.CreateCommand($"DELETE FROM {feed.Table.Qualified}");
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Every object, with its ETag, under the deepest folder that holds all the tables' files (a dump's own folder, as
    /// Heap writes them): one listing for the dump, not one for each table's folder.
    /// </summary>
    private static async Task<Dictionary<string, string>> ListAsync(CourierRun run, IReadOnlyList<HeapTable> tables, CancellationToken ct)
    {
        var listed = new Dictionary<string, string>(StringComparer.Ordinal);
        var keys = tables.SelectMany(t => t.Files).Select(f => f.Key).ToList();
        if (keys.Count == 0) return listed;
        var request = new ListObjectsV2Request { BucketName = run.Bucket, Prefix = CommonFolder(keys) };
        while (true)
        {
            var page = await run.S3.ListObjectsV2Async(request, ct);
            foreach (var o in page.S3Objects ?? []) listed[o.Key] = o.ETag.Trim('"');
            if (page.IsTruncated != true) break;
            request.ContinuationToken = page.NextContinuationToken;
        }
        return listed;
    }

    /// <summary>The deepest folder (ending in '/', or "" for the bucket's root) that every key is in.</summary>
    internal static string CommonFolder(IReadOnlyList<string> keys)
    {
        var common = keys[0][..(keys[0].LastIndexOf('/') + 1)];
        foreach (var key in keys)
            while (common.Length > 0 && !key.StartsWith(common, StringComparison.Ordinal))
                common = common[..(common[..^1].LastIndexOf('/') + 1)];
        return common;
    }

    /// <summary>users first (events refer to them), user_migrations last, the others by name.</summary>
    private static IEnumerable<HeapTable> Ordered(IEnumerable<HeapTable> tables) =>
        tables.OrderBy(t => t.Name == "users" ? 0 : t.Name == UserMigrations ? 2 : 1).ThenBy(t => t.Name, StringComparer.Ordinal);

    /// <summary>What the run has done so far; its tables' lanes count into it from several threads.</summary>
    private sealed class RunState
    {
        private readonly Lock _lock = new();
        private int _loaded, _loadedEarlier, _skipped;

        public List<long> Dumps { get; } = [];
        public List<string> Superseded { get; } = [];
        public int Ordinal { get; set; }
        public int Loaded => Volatile.Read(ref _loaded);
        public int LoadedEarlier => Volatile.Read(ref _loadedEarlier);
        public int Skipped => Volatile.Read(ref _skipped);
        /// <summary>The run's files that earlier attempts recorded and this one keeps, by key.</summary>
        public Dictionary<string, FileStatus> Earlier { get; set; } = [];
        public bool Changed { get; set; }

        public void Count(int loaded = 0, int loadedEarlier = 0, int skipped = 0)
        {
            Interlocked.Add(ref _loaded, loaded);
            Interlocked.Add(ref _loadedEarlier, loadedEarlier);
            Interlocked.Add(ref _skipped, skipped);
        }

        /// <summary>Takes the earlier attempt's file of this key off the list, if it had one.</summary>
        public FileStatus? TakeEarlier(string key)
        {
            lock (_lock) return Earlier.Remove(key, out var status) ? status : null;
        }
    }
}
