using System.Diagnostics;
using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Runs;
using Npgsql;

namespace HeapDaemon.Actors.Stitch;

/// <summary>One attempt of a stitch to run.</summary>
/// <param name="previous">The last stitch's result, kept in memory: what an incremental stitch starts from.</param>
/// <param name="attempt">1 for the first attempt; a stitch that failed for a reason that may pass is tried again.</param>
/// <param name="failures">The earlier attempts that failed so (null on the first).</param>
public sealed class StitchPlan(Guid runId, StitchKind kind, StitchTrigger trigger, StitchResult? previous, int attempt = 1, FailedAttempts? failures = null)
{
    private StitchResult? _previous = previous;

    public Guid RunId { get; } = runId;

    public StitchKind Kind { get; } = kind;

    public StitchTrigger Trigger { get; } = trigger;

    public int Attempt { get; } = attempt;

    public FailedAttempts? Failures { get; } = failures;

    public StitchResult? Previous => _previous;

    /// <summary>Lets go of the previous result, so a full stitch does not hold two results in memory.</summary>
    public void ForgetPrevious() => _previous = null;
}

/// <param name="Result">The new result (null when the run failed; the previous one stays).</param>
/// <param name="Fault">For a failed stitch, whether another attempt may pass.</param>
public sealed record StitchOutcome(RunStatus Status, string Message, StitchResult? Result, Dictionary<string, object>? Statistics,
    FaultKind Fault = FaultKind.Lasting);

/// <summary>
/// One stitch: reads the tagged tables, matches, and writes the result, full or incremental. At most one runs per
/// database at a time, across daemons (a session advisory lock).
/// </summary>
public sealed class StitchRunner(NpgsqlDataSource db, StitchInputs inputs, StitchWriter writer, StitchSettingsStore settingsStore)
{
    public async Task<StitchOutcome> RunAsync(StitchPlan plan, Action<StitchProgress> progress, CancellationToken ct)
    {
        await using var lockConnection = await db.OpenConnectionAsync(ct);
        await using (var take = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtext('heapd.stitch-run'))", lockConnection))
            if (!(bool)(await take.ExecuteScalarAsync(ct))!)
                return new StitchOutcome(RunStatus.Failed, "another daemon is stitching this database", null, null, FaultKind.Passing);
        try
        {
            var clock = Stopwatch.StartNew();
            var timings = new Dictionary<string, double>();
            void Phase(string name)
            {
                timings[name] = Math.Round(clock.Elapsed.TotalSeconds, 3);
                clock.Restart();
            }
            var settings = await settingsStore.GetAsync(ct);
            var inputSet = await inputs.DiscoverAsync(ct);
            var watermark = await WatermarkAsync(lockConnection, ct);
            var fingerprint = StitchEngine.Fingerprint(inputSet, settings);
            var why = plan.Kind == StitchKind.Full ? "asked for" : await WhyFullAsync(plan.Previous, fingerprint, ct);
            StitchResult? result = null;
            var ran = "incremental";
            if (why is null) result = await IncrementalAsync(plan, settings, inputSet, watermark, progress, Phase, reason => why = reason, ct);
            if (result is null)
            {
                // An incremental stitch that turned out to need a full one leaves the result in memory half-changed: read again.
                plan.ForgetPrevious();
                result = await FullAsync(plan, settings, inputSet, watermark, progress, Phase, ct);
                ran = plan.Kind == StitchKind.Full ? "full" : $"full ({why})";
            }
            var notices = inputSet.Notices.Concat(result.Notices).ToList();
            var statistics = new Dictionary<string, object>(result.Statistics)
            {
                ["ran"] = ran,
                ["seconds"] = timings,
                ["notices"] = notices,
                ["model"] = result.Model.Describe(),
            };
            var message = $"{ran}: {result.Statistics["records"]} records, {result.Statistics["people"]} people, " +
                          $"{result.Statistics["pairsCompared"]} pairs compared, {result.Statistics["pairsMatched"]} matched" +
                          (notices.Count > 0 ? $"; {notices.Count} notice(s): {notices[0]}" : "");
            return new StitchOutcome(RunStatus.Succeeded, message, result, statistics);
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtext('heapd.stitch-run'))", lockConnection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private async Task<StitchResult> FullAsync(StitchPlan plan, StitchSettings settings, StitchInputSet inputSet, DateTimeOffset watermark,
        Action<StitchProgress> progress, Action<string> phase, CancellationToken ct)
    {
        // The previous result was let go of just now; collected before the next is built, the two are never resident
        // together (the collector would otherwise wait for the new one's pressure).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var normalizer = new ProfileNormalizer(settings.DefaultPhoneRegion, settings.StripPlusAddressing);
        var records = new ProfileRecords(inputSet.Tables);
        var reader = new RecordReader(records, normalizer, new BadValues(settings.BadValues, normalizer));
        progress(new StitchProgress("reading"));
        await inputs.ReadAsync(inputSet.Tables, reader, null, rows => progress(new StitchProgress("reading", rows)), ct);
        var order = Enumerable.Range(0, records.Count).ToArray();
        Array.Sort(order, records.CompareKeys);
        records.Permute(order);
        records.IndexPks();
        var previous = await writer.PreviousIdsAsync(records, ct);
        phase("read");
        var result = await Task.Run(() => StitchEngine.Full(records, settings, inputSet, previous.Ids, previous.All, progress, ct), ct);
        // The previous stitch's ids serve matching only: dropped here, they are not resident during the write.
        previous = default;
        (result.RunId, result.Watermark) = (plan.RunId, watermark);
        phase("match");
        // Matching leaves its blocks, comparison buffers and clustering's work arrays behind; returned before the
        // write, they do not stay resident under the result while four tables are filled.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        progress(new StitchProgress("writing", 0, records.Count));
        await writer.WriteFullAsync(result, new StitchState(plan.RunId, watermark, result.Fingerprint, result.Model.Describe()), ct);
        result.Pairs.KeepMatched((float)result.ThresholdWeight);
        phase("write");
        return result;
    }

    /// <summary>
    /// Reads the rows loaded since the last stitch's watermark; a row that is the same as its record is dropped, a new
    /// or changed one becomes a new record (the version it replaces is removed). Rows deleted from a table are found by
    /// its row count, and then its keys. Then matches only what changed, and writes only the people it touched.
    /// </summary>
    /// <returns>null when it must be a full stitch after all (the reason is in <paramref name="why"/>).</returns>
    private async Task<StitchResult?> IncrementalAsync(StitchPlan plan, StitchSettings settings, StitchInputSet inputSet, DateTimeOffset watermark,
        Action<StitchProgress> progress, Action<string> phase, Action<string> why, CancellationToken ct)
    {
        var result = plan.Previous!;
        result.Settings = settings;
        var records = result.Records;
        var normalizer = new ProfileNormalizer(result.Settings.DefaultPhoneRegion, result.Settings.StripPlusAddressing);
        var reader = new RecordReader(records, normalizer, new BadValues(result.Settings.BadValues, normalizer));
        var (added, removed, previousVersion) = (new List<int>(), new List<int>(), new Dictionary<int, int>());
        reader.Placed = record =>
        {
            var (table, pk) = (records.Table[record], records.Pk[record]);
            var current = records.Current(table, pk);
            if (current >= 0 && !records.Deleted[current] && records.SameAs(current, record))
            {
                records.RemoveLast();
                return;
            }
            if (current >= 0 && !records.Deleted[current])
            {
                records.MarkDeleted(current);
                removed.Add(current);
                previousVersion[record] = current;
            }
            records.SetCurrent(table, pk, record);
            added.Add(record);
        };
        progress(new StitchProgress($"reading rows loaded since {result.Watermark:u}"));
        // Counted while the changed rows are read, on connections of their own. A load committing meanwhile can make a
        // count differ from what was read either way: more rows make the stitch full, fewer only look for deleted keys.
        var counts = inputSet.Tables.Select(table => inputs.CountAsync(table, ct)).ToArray();
        await inputs.ReadAsync(inputSet.Tables, reader, result.Watermark, null, ct);
        var liveOf = new int[records.Tables.Count];
        for (var r = 0; r < records.Count; r++)
            if (!records.Deleted[r]) liveOf[records.Table[r]]++;
        foreach (var table in inputSet.Tables)
        {
            var live = liveOf[table.Index];
            var count = await counts[table.Index];
            if (count > live)
            {
                why($"{table.Table} has rows the last stitch did not see");
                return null;
            }
            if (count == live) continue;
            var keys = await inputs.KeysAsync(table, ct);
            for (var r = 0; r < records.Count; r++)
                if (records.Table[r] == table.Index && !records.Deleted[r] && !keys.Contains(records.PkText(r)))
                {
                    records.MarkDeleted(r);
                    removed.Add(r);
                }
        }
        phase("read");
        var change = await Task.Run(() => StitchEngine.Incremental(result, added, removed, previousVersion, progress, ct), ct);
        if (change is null)
        {
            why("a value became shared by more records than maxRecordsPerValue, or by fewer");
            return null;
        }
        phase("match");
        progress(new StitchProgress("writing", 0, change.Records.Count));
        (result.RunId, result.Watermark) = (plan.RunId, watermark);
        await writer.WriteIncrementalAsync(result, change, new StitchState(plan.RunId, watermark, result.Fingerprint, result.Model.Describe()), ct);
        result.Pairs.KeepMatched((float)result.ThresholdWeight);
        phase("write");
        return result;
    }

    /// <summary>Why an incremental stitch cannot be one, or null when it can.</summary>
    private async Task<string?> WhyFullAsync(StitchResult? previous, string fingerprint, CancellationToken ct)
    {
        if (previous is null) return "no earlier result in this daemon's memory";
        if (previous.Fingerprint != fingerprint) return "tags, tables or settings that shape the result changed";
        await using var cmd = db.CreateCommand("SELECT run_id FROM heapd.stitch_state WHERE id = 1");
        return await cmd.ExecuteScalarAsync(ct) is Guid runId && runId == previous.RunId ? null : "the stored result is not the one in memory";
    }

    /// <summary>
    /// The time from which rows count as new for the next stitch: now, or the start of the oldest transaction still open
    /// (a load that began earlier and commits after this read stamps its rows with its own start).
    /// </summary>
    private static async Task<DateTimeOffset> WatermarkAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT least(now(), coalesce(min(xact_start), now())) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
            """, connection);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return reader.GetFieldValue<DateTimeOffset>(0);
    }
}
