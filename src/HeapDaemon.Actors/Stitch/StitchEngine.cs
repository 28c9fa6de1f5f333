namespace HeapDaemon.Actors.Stitch;

/// <summary>How far a stitch has got: its phase and, where countable, how much of it is done.</summary>
public sealed record StitchProgress(string Phase, long Done = 0, long Total = 0);

/// <summary>
/// The result of a stitch in memory: the records, the pairs compared and their weights, the model, the people and
/// their ids. The writer turns it into tables; the next incremental stitch starts from it.
/// </summary>
public sealed class StitchResult
{
    public required ProfileRecords Records { get; init; }
    public required StitchSettings Settings { get; init; }
    public required IReadOnlyList<ForeignKeyTable> ForeignKeyTables { get; init; }
    public required string Fingerprint { get; init; }
    public required Usable Usable { get; init; }
    public required TermFrequencies Frequencies { get; init; }
    public required MatchModel Model { get; init; }
    public required BlockIndex Blocks { get; init; }
    public required CandidatePairs Pairs { get; init; }
    public required double ThresholdWeight { get; init; }
    public required HashSet<long> SetAsideKeys { get; init; }
    /// <summary>Each person's records (deleted records are in none).</summary>
    public required List<List<int>> Clusters { get; init; }
    public required Guid[] ClusterIds { get; init; }
    /// <summary>Each record's person (index into <see cref="Clusters"/>), -1 for a deleted record.</summary>
    public required int[] ClusterOf { get; init; }
    public required Guid[] IdOf { get; init; }
    /// <summary>The run that made this result (what <c>heapd.stitch_state</c> names when the stored result is this one).</summary>
    public Guid RunId { get; set; }
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
    /// <summary>Random pairs for u: twenty per record, at least 200 000 and at most a million (steady estimates of rare levels).</summary>
    public static int RandomPairs(int records) => Math.Clamp(records * 20, 200_000, 1_000_000);

    public static StitchResult Full(ProfileRecords records, StitchSettings settings, StitchInputSet inputs, Guid[] previousIds,
        HashSet<Guid> previousAll, Action<StitchProgress> progress, CancellationToken ct)
    {
        var notices = new List<string>();
        var live = Enumerable.Range(0, records.Count).Count(r => !records.Deleted[r]);
        progress(new StitchProgress("blocking", 0, live));
        var frequencies = new TermFrequencies(records);
        var compared = ProfileFields.All.Take(ProfileFields.Compared).Select(settings.Compares).ToArray();
        var setAside = SetAside(records, frequencies, compared, settings.MaxRecordsPerValue, notices);
        var usable = new Usable(records, compared, setAside);
        var comparer = new PairComparer(records, usable);
        var blocks = new BlockIndex(records, usable, settings.MaxBlockSize, settings.BlockWindow);
        ct.ThrowIfCancellationRequested();

        progress(new StitchProgress("comparing", 0, records.Count));
        var pairs = CandidatePairs.Compare(blocks, comparer, done => progress(new StitchProgress("comparing", done, records.Count)), ct);

        progress(new StitchProgress("training"));
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
        var model = new MatchModel(m, u, ModelTrainer.EstimatePrior(all, m, u, live));
        ct.ThrowIfCancellationRequested();

        progress(new StitchProgress("scoring", 0, pairs.Count));
        Score(pairs.Chunks, model, records, frequencies, ct);

        progress(new StitchProgress("clustering"));
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
        for (var r = 0; r < records.Count; r++) clusterOf[r] = links.Find(r);
        var clusters = new Clusters(clusterOf, Enumerable.Range(0, records.Count).Where(r => !records.Deleted[r])).Members.ToList();
        var ids = StableIds.Assign(clusters, r => previousIds[r], records.CompareKeys);
        var taken = new HashSet<Guid>(previousAll);
        foreach (var id in ids) if (id != Guid.Empty) taken.Add(id);
        StableIds.Fill(ids, clusters, records.CompareKeys, r => RecordName(records, r), taken);
        var idOf = new Guid[records.Count];
        Array.Fill(clusterOf, -1);
        for (var c = 0; c < clusters.Count; c++)
            foreach (var r in clusters[c])
            {
                clusterOf[r] = c;
                idOf[r] = ids[c];
            }
        ReportLargeClusters(clusters, records, settings.MaxClusterSize, notices);

        var result = new StitchResult
        {
            Records = records, Settings = settings, ForeignKeyTables = inputs.ForeignKeyTables, Fingerprint = Fingerprint(inputs, settings),
            Usable = usable, Frequencies = frequencies, Model = model, Blocks = blocks, Pairs = pairs, ThresholdWeight = threshold,
            SetAsideKeys = setAsideKeys, Clusters = clusters, ClusterIds = ids, ClusterOf = clusterOf, IdOf = idOf,
        };
        result.Notices.AddRange(notices);
        result.Statistics["records"] = live;
        result.Statistics["pairsCompared"] = pairs.Count;
        result.Statistics["pairsMatched"] = matched;
        result.Statistics["people"] = clusters.Count;
        result.Statistics["idsKept"] = ids.Count(id => previousAll.Contains(id));
        result.Statistics["blocks"] = blocks.Statistics().Select(s => new { rule = s.Rule, blocks = s.Blocks, largest = s.Largest, windowed = s.Windowed }).ToList();
        result.Statistics["threshold"] = settings.MatchThreshold;
        return result;
    }

    public static string Fingerprint(StitchInputSet inputs, StitchSettings settings) => inputs.Fingerprint + settings.MatchingFingerprint;

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

    public static void ReportLargeClusters(IEnumerable<List<int>> clusters, ProfileRecords records, int max, List<string> notices)
    {
        foreach (var members in clusters.Where(c => c.Count > max))
        {
            var smallest = members.Min(r => r);
            notices.Add($"a person has {members.Count} records (more than maxClusterSize, {max}), e.g. {RecordName(records, smallest).Replace('\n', ':')}: " +
                        "check for a value shared by different people");
        }
    }

    private static string Truncate(string value) => value.Length > 60 ? value[..60] + "…" : value;
}
