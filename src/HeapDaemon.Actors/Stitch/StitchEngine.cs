namespace HeapDaemon.Actors.Stitch;

/// <summary>What an incremental stitch changed, for the writer.</summary>
/// <param name="Records">
/// Records whose rows are replaced: the new, the removed (only deleted) and those whose person's id changed; a touched
/// person's other records keep their rows.
/// </param>
/// <param name="Removed">Records whose pairs are removed (replaced versions and deleted records).</param>
/// <param name="RetiredIds">Ids of the people whose customer rows and keys are replaced.</param>
/// <param name="Clusters">The people written anew (their customer rows and keys).</param>
public sealed record IncrementalChange(IReadOnlyCollection<int> Records, IReadOnlyCollection<int> Removed, IReadOnlyCollection<Guid> RetiredIds,
    IReadOnlyList<int> Clusters, IReadOnlyList<(PairChunk Chunk, int Start, int End)> Pairs);

/// <summary>How far a stitch has got: its phase and, where countable, how much of it is done.</summary>
public sealed record StitchProgress(string Phase, long Done = 0, long Total = 0);

/// <summary>
/// The result of a stitch in memory: the records, the pairs compared and their weights, the model, the people and
/// their ids. The writer turns it into tables; the next incremental stitch starts from it.
/// </summary>
public sealed class StitchResult
{
    public required ProfileRecords Records { get; init; }
    /// <summary>The settings it matched with; an incremental stitch takes the current ones (they match the same way, or it would be full).</summary>
    public required StitchSettings Settings { get; set; }
    public required IReadOnlyList<ForeignKeyTable> ForeignKeyTables { get; init; }
    public required string Fingerprint { get; init; }
    public required Usable Usable { get; init; }
    public required TermFrequencies Frequencies { get; init; }
    public required MatchModel Model { get; init; }
    public required BlockIndex Blocks { get; init; }
    public required CandidatePairs Pairs { get; init; }
    public required double ThresholdWeight { get; init; }
    public required HashSet<long> SetAsideKeys { get; init; }
    /// <summary>Each person's records (deleted records are in none; a person an incremental stitch retired has none).</summary>
    public required Clusters Clusters { get; set; }
    public required List<Guid> ClusterIds { get; init; }
    /// <summary>Each record's person (index into <see cref="Clusters"/>), -1 for a deleted record.</summary>
    public required int[] ClusterOf { get; set; }

    /// <summary>The record's amperity_id, <see cref="Guid.Empty"/> for a deleted record.</summary>
    public Guid IdOf(int record) => ClusterOf[record] is var c and >= 0 ? ClusterIds[c] : Guid.Empty;
    /// <summary>The run that made this result (what <c>heapd.stitch_state</c> names when the stored result is this one).</summary>
    public Guid RunId { get; set; }
    /// <summary>Rows loaded from this time on are new to this result (see <see cref="StitchRunner"/>).</summary>
    public DateTimeOffset Watermark { get; set; }
    public List<string> Notices { get; } = [];
    public Dictionary<string, object> Statistics { get; } = [];
}

/// <summary>
/// The matching itself, in memory: values shared too widely are set aside, records are blocked and compared, the
/// model is learnt, pairs are scored, and links (pairs over the threshold, shared customer and foreign keys) are
/// closed into people, who get stable ids.
/// </summary>
public static class StitchEngine
{
    /// <summary>Random pairs for u: twenty per record, at least 200 000 and at most 600 000 (steady estimates of rare levels).</summary>
    public static int RandomPairs(int records) => Math.Clamp(records * 20, 200_000, 600_000);

    public static StitchResult Full(ProfileRecords records, StitchSettings settings, StitchInputSet inputs, Guid[] previousIds,
        HashSet<Guid> previousAll, Action<StitchProgress> progress, CancellationToken ct)
    {
        var notices = new List<string>();
        var timings = new Dictionary<string, double>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Progress(StitchProgress next)
        {
            timings[next.Phase] = Math.Round(clock.Elapsed.TotalSeconds, 3);
            progress(next);
        }
        var live = Enumerable.Range(0, records.Count).Count(r => !records.Deleted[r]);
        Progress(new StitchProgress("blocking", 0, live));
        var frequencies = new TermFrequencies(records);
        var compared = ProfileFields.All.Take(ProfileFields.Compared).Select(settings.Compares).ToArray();
        var setAside = SetAside(records, frequencies, compared, settings.MaxRecordsPerValue, notices);
        var usable = new Usable(records, compared, setAside);
        var comparer = new PairComparer(records, usable);
        var blocks = new BlockIndex(records, usable, settings.MaxBlockSize, settings.BlockWindow);
        ct.ThrowIfCancellationRequested();

        Progress(new StitchProgress("comparing", 0, records.Count));
        var pairs = CandidatePairs.Compare(blocks, comparer, done => progress(new StitchProgress("comparing", done, records.Count)), ct);

        Progress(new StitchProgress("training"));
        var rules = blocks.Rules;
        var patterns = rules.Select(_ => new Dictionary<long, long>()).ToArray();
        var all = new Dictionary<long, long>();
        foreach (var chunk in pairs.Chunks)
            for (var p = 0; p < chunk.Count; p++)
            {
                ModelTrainer.AddPattern(patterns, chunk.Gamma[p], chunk.Rules[p]);
                var key = chunk.Gamma[p] & ~PairComparer.Swapped;
                all[key] = all.GetValueOrDefault(key) + 1;
            }
        var u = ModelTrainer.EstimateU(records, comparer, RandomPairs(live));
        var m = ModelTrainer.EstimateM(rules, patterns, u);
        foreach (var rule in rules.Where(r => r.Fields is [var only] && MatchModel.IsIdentifier(only)))
        {
            var field = rule.Fields[0];
            var withValue = Enumerable.Range(0, records.Count).LongCount(r => !records.Deleted[r] && usable.Key(field, r) >= 0);
            var share = ModelTrainer.ShareOfMatches(rule, patterns[rule.Index], m, u);
            u[(int)field][PairComparer.Levels[(int)field]] = ModelTrainer.IdentifierU(share, blocks.AgreeingPairs(rule.Index), withValue);
        }
        var model = new MatchModel(m, u, ModelTrainer.EstimatePrior(all, m, u, live));
        ct.ThrowIfCancellationRequested();

        Progress(new StitchProgress("scoring", 0, pairs.Count));
        Score(pairs.Chunks, model, records, frequencies, ct);

        // Comparing and training leave their buffers behind; returned now, they are not resident under clustering's.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Progress(new StitchProgress("clustering"));
        var links = new UnionFind(records.Count);
        var setAsideKeys = LinkKeys(records, Enumerable.Range(0, records.Count), links, settings.MaxRecordsPerValue, notices);
        var threshold = MatchModel.WeightOf(settings.MatchThreshold);
        long matched = 0;
        foreach (var chunk in pairs.Chunks)
            for (var p = 0; p < chunk.Count; p++)
                if (chunk.Weight[p] >= threshold)
                {
                    links.Union(chunk.A[p], chunk.B[p]);
                    matched++;
                }
        var clusterOf = new int[records.Count];
        var clusters = Clusters.Components(links, records.Deleted, records.Count, clusterOf);
        var ids = StableIds.Assign(clusters, r => previousIds[r], records.CompareKeys);
        var taken = new HashSet<Guid>(previousAll);
        foreach (var id in ids) if (id != Guid.Empty) taken.Add(id);
        StableIds.Fill(ids, clusters, records.CompareKeys, r => RecordName(records, r), taken);
        ReportLargeClusters(clusters, records, settings.MaxClusterSize, notices);

        var result = new StitchResult
        {
            Records = records, Settings = settings, ForeignKeyTables = inputs.ForeignKeyTables, Fingerprint = Fingerprint(inputs, settings),
            Usable = usable, Frequencies = frequencies, Model = model, Blocks = blocks, Pairs = pairs, ThresholdWeight = threshold,
            SetAsideKeys = setAsideKeys, Clusters = clusters, ClusterIds = [.. ids], ClusterOf = clusterOf,
        };
        result.Notices.AddRange(notices);
        result.Statistics["records"] = live;
        result.Statistics["pairsCompared"] = pairs.Count;
        result.Statistics["pairsMatched"] = matched;
        result.Statistics["people"] = clusters.Count;
        result.Statistics["idsKept"] = ids.Count(id => previousAll.Contains(id));
        result.Statistics["blocks"] = blocks.Statistics().Select(s => new { rule = s.Rule, blocks = s.Blocks, largest = s.Largest, windowed = s.Windowed }).ToList();
        result.Statistics["threshold"] = settings.MatchThreshold;
        timings["done"] = Math.Round(clock.Elapsed.TotalSeconds, 3);
        result.Statistics["matchPhasesStartedAt"] = timings;
        return result;
    }

    /// <summary>
    /// An incremental stitch, on the result of the last one: <paramref name="added"/> are records read since (new, or
    /// new versions of changed records, at new indices), <paramref name="removed"/> the versions they replace and records
    /// deleted from their tables. Only the added records are compared, with the records of the blocks they fall in, by
    /// the last full stitch's model; links are closed again and the people touched get their ids by the same rule.
    /// </summary>
    /// <returns>What the writer must replace; null when only a full stitch can be right (a value became too common or common no more).</returns>
    public static IncrementalChange? Incremental(StitchResult result, IReadOnlyList<int> added, IReadOnlyList<int> removed,
        IReadOnlyDictionary<int, int> previousVersion, Action<StitchProgress> progress, CancellationToken ct)
    {
        var records = result.Records;
        var settings = result.Settings;
        foreach (var r in removed) result.Frequencies.Add(records, r, -1);
        foreach (var r in added) result.Frequencies.Add(records, r, +1);
        if (SetAsideChanged(result, added, removed)) return null;
        foreach (var r in added) result.Blocks.Add(r);
        var comparer = new PairComparer(records, result.Usable);

        progress(new StitchProgress("comparing", 0, added.Count));
        var isAdded = new HashSet<int>(added);
        var chunks = added.Chunk(1024).ToArray();
        var compared = new PairChunk[chunks.Length];
        Parallel.For(0, chunks.Length, new ParallelOptions { CancellationToken = ct }, c =>
        {
            var chunk = new PairChunk();
            var partners = new List<(int Partner, int Rules)>();
            foreach (var record in chunks[c])
            {
                partners.Clear();
                result.Blocks.Partners(record, partners);
                // A pair of two added records is compared once, from the larger index.
                partners.RemoveAll(p => isAdded.Contains(p.Partner) && p.Partner > record);
                CandidatePairs.AddMerged(chunk, record, partners, comparer);
            }
            compared[c] = chunk;
        });
        Score(compared, result.Model, records, result.Frequencies, ct);
        result.Pairs.Chunks.AddRange(compared);

        progress(new StitchProgress("clustering"));
        var notices = new List<string>();
        var links = new UnionFind(records.Count);
        var setAsideKeys = LinkKeys(records, Enumerable.Range(0, records.Count), links, settings.MaxRecordsPerValue, notices);
        result.SetAsideKeys.Clear();
        result.SetAsideKeys.UnionWith(setAsideKeys);
        foreach (var chunk in result.Pairs.Chunks)
            for (var p = 0; p < chunk.Count; p++)
                if (chunk.Weight[p] >= result.ThresholdWeight && !records.Deleted[chunk.A[p]] && !records.Deleted[chunk.B[p]])
                    links.Union(chunk.A[p], chunk.B[p]);

        // The people touched: those of the added records, and those the replaced records belonged to.
        var clusterOf = result.ClusterOf;
        if (clusterOf.Length < records.Count)
        {
            var old = clusterOf.Length;
            Array.Resize(ref clusterOf, records.Count);
            Array.Fill(clusterOf, -1, old, records.Count - old);
            result.ClusterOf = clusterOf;
        }
        var roots = new HashSet<int>(added.Select(links.Find));
        var retired = new HashSet<int>();
        foreach (var r in removed)
        {
            if (clusterOf[r] < 0) continue;
            retired.Add(clusterOf[r]);
            foreach (var member in result.Clusters[clusterOf[r]])
                if (!records.Deleted[member]) roots.Add(links.Find(member));
        }
        // The touched people, numbered by their smallest record (a component's root: deleted records are never linked).
        var touchedOf = new int[records.Count];
        var components = new Dictionary<int, int>();
        for (var r = 0; r < records.Count; r++)
        {
            touchedOf[r] = -1;
            if (records.Deleted[r]) continue;
            var root = links.Find(r);
            if (!roots.Contains(root)) continue;
            if (!components.TryGetValue(root, out var component)) components[root] = component = components.Count;
            touchedOf[r] = component;
            if (clusterOf[r] >= 0) retired.Add(clusterOf[r]);
        }
        var touched = new Clusters(touchedOf, components.Count, records.Count);
        var assigned = StableIds.Assign(touched, r => result.IdOf(previousVersion.TryGetValue(r, out var before) ? before : r), records.CompareKeys);
        var retiredIds = retired.Select(c => result.ClusterIds[c]).ToHashSet();
        var taken = new HashSet<Guid>(result.ClusterIds);
        foreach (var id in assigned) if (id != Guid.Empty) taken.Add(id);
        StableIds.Fill(assigned, touched, records.CompareKeys, r => RecordName(records, r), taken);
        var rewritten = new HashSet<int>(removed);
        foreach (var r in removed) clusterOf[r] = -1;
        var created = new List<int>();
        for (var c = 0; c < touched.Count; c++)
        {
            var index = result.ClusterIds.Count;
            result.ClusterIds.Add(assigned[c]);
            created.Add(index);
            foreach (var r in touched[c])
            {
                // A new record (in no person yet), or one whose person's id changed.
                if (clusterOf[r] < 0 || result.ClusterIds[clusterOf[r]] != assigned[c]) rewritten.Add(r);
                clusterOf[r] = index;
            }
        }
        result.Clusters = new Clusters(clusterOf, result.ClusterIds.Count, records.Count);
        ReportLargeClusters(touched, records, settings.MaxClusterSize, notices);

        result.Notices.Clear();
        result.Notices.AddRange(notices);
        var pairs = compared.Sum(c => (long)c.Count);
        result.Statistics["records"] = (long)Enumerable.Range(0, records.Count).Count(r => !records.Deleted[r]);
        result.Statistics["recordsChanged"] = added.Count;
        result.Statistics["recordsRemoved"] = removed.Count - previousVersion.Count;
        result.Statistics["pairsCompared"] = pairs;
        result.Statistics["pairsMatched"] = compared.Sum(c => Enumerable.Range(0, c.Count).LongCount(p => c.Weight[p] >= result.ThresholdWeight));
        result.Statistics["people"] = Enumerable.Range(0, result.Clusters.Count).Count(c => result.Clusters[c].Count > 0);
        result.Statistics["peopleTouched"] = touched.Count;
        result.Statistics["idsKept"] = assigned.Count(retiredIds.Contains);
        return new IncrementalChange(rewritten, removed, retiredIds, created, compared.Select(c => (c, 0, c.Count)).ToList());
    }

    /// <summary>Whether an incremental change moved a value across maxRecordsPerValue (set aside, or no longer): blocks and links then differ everywhere.</summary>
    private static bool SetAsideChanged(StitchResult result, IEnumerable<int> added, IEnumerable<int> removed)
    {
        var max = result.Settings.MaxRecordsPerValue;
        foreach (var field in (ReadOnlySpan<ProfileField>)[ProfileField.Email, ProfileField.Phone, ProfileField.Address])
        {
            var f = (int)field;
            if (!result.Usable.Compared[f]) continue;
            foreach (var r in added.Concat(removed))
            {
                var value = result.Records.Key(field, r);
                if (value >= 0 && result.Frequencies.Count(field, value) > max != result.Usable.SetAside[f].Contains(value)) return true;
            }
        }
        return false;
    }

    public static string Fingerprint(StitchInputSet inputs, StitchSettings settings) => inputs.Fingerprint + settings.ResultFingerprint;

    /// <summary>"source.table:pk", the name a new id is derived from.</summary>
    public static string RecordName(ProfileRecords records, int record)
    {
        var table = records.Tables[records.Table[record]];
        return $"{table.Source}\n{table.Feed}\n{records.PkText(record)}";
    }

    public static void Score(IEnumerable<PairChunk> chunks, MatchModel model, ProfileRecords records, TermFrequencies frequencies, CancellationToken ct)
    {
        Parallel.ForEach(chunks, new ParallelOptions { CancellationToken = ct }, chunk =>
        {
            chunk.Weight = new float[chunk.Count];
            for (var p = 0; p < chunk.Count; p++)
                chunk.Weight[p] = (float)model.Weight(chunk.Gamma[p], chunk.A[p], chunk.B[p], records, frequencies);
        });
    }

    /// <summary>
    /// Values of a compared field held by more than <paramref name="max"/> records: one email on 100 000 records is a
    /// placeholder or a shared mailbox, not a person, so it neither blocks nor links (and the run says so).
    /// </summary>
    private static HashSet<int>[] SetAside(ProfileRecords records, TermFrequencies frequencies, bool[] compared, int max, List<string> notices)
    {
        var setAside = new HashSet<int>[ProfileFields.Compared];
        for (var f = 0; f < ProfileFields.Compared; f++)
        {
            setAside[f] = [];
            var field = (ProfileField)f;
            // Names, dates, cities and the like are shared by many people by nature; only identifiers are set aside.
            if (!compared[f] || field is not (ProfileField.Email or ProfileField.Phone or ProfileField.Address)) continue;
            for (var value = 0; value < records.KeyPools[f].Count; value++)
            {
                var count = frequencies.Count(field, value);
                if (count <= max) continue;
                setAside[f].Add(value);
                notices.Add($"{field.Column()} '{Truncate(records.KeyPools[f].ToString(value))}' is shared by {count} records " +
                            $"(more than maxRecordsPerValue, {max}): it is not used to block or link; add it to badValues if it is a placeholder");
            }
        }
        return setAside;
    }

    /// <summary>Links records that share a customer or foreign key; a key on more than <paramref name="max"/> records is set aside.</summary>
    public static HashSet<long> LinkKeys(ProfileRecords records, IEnumerable<int> which, UnionFind links, int max, List<string> notices)
    {
        var first = new Dictionary<long, int>();
        var counts = new Dictionary<long, int>();
        foreach (var r in which)
        {
            if (records.Deleted[r] || records.Keys[r] is not { } keys) continue;
            foreach (var key in keys) counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        var setAside = new HashSet<long>();
        foreach (var (key, count) in counts.Where(kv => kv.Value > max))
        {
            setAside.Add(key);
            notices.Add($"{records.KeyNamespaces.ToString((int)(key >> 32))} '{Truncate(records.KeyValues.ToString((int)(key & 0xFFFFFFFF)))}' " +
                        $"is on {count} records (more than maxRecordsPerValue, {max}): they are not linked by it");
        }
        foreach (var r in which)
        {
            if (records.Deleted[r] || records.Keys[r] is not { } keys) continue;
            foreach (var key in keys)
            {
                if (setAside.Contains(key)) continue;
                if (first.TryGetValue(key, out var other)) links.Union(r, other);
                else first[key] = r;
            }
        }
        return setAside;
    }

    public static void ReportLargeClusters(Clusters clusters, ProfileRecords records, int max, List<string> notices)
    {
        for (var c = 0; c < clusters.Count; c++)
        {
            var members = clusters[c];
            if (members.Count <= max) continue;
            var smallest = members.Min();
            notices.Add($"a person has {members.Count} records (more than maxClusterSize, {max}), e.g. {RecordName(records, smallest).Replace('\n', ':')}: " +
                        "check for a value shared by different people");
        }
    }

    private static string Truncate(string value) => value.Length > 60 ? value[..60] + "…" : value;
}
