namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// A Fellegi-Sunter model: per compared field and level, m (the probability of that level for two records of one
/// person) and u (for two records of different people), and the prior λ that two random records are one person. A
/// pair's match weight is log2(λ/(1-λ)) plus log2(m/u) of each field's level; an exact agreement on a field with term
/// frequencies uses the value's own frequency for u, so a shared rare surname counts for more than a shared common one.
/// </summary>
public sealed class MatchModel
{
    /// <summary>
    /// Comparisons whose exact agreement is weighed by the agreed value's frequency: names, birthdates and places, which
    /// many people share. Not identifiers (email, phone, address line: see <see cref="ModelTrainer.IdentifierU"/>), nor
    /// gender (too few values).
    /// </summary>
    public static readonly bool[] TermFrequencyFields = ProfileFields.All.Take(ProfileFields.Compared)
        .Select(f => PairComparer.Levels[(int)f] > 0 && !IsIdentifier(f) && f != ProfileField.Gender).ToArray();

    public static bool IsIdentifier(ProfileField field) => field is ProfileField.Email or ProfileField.Phone or ProfileField.Address;

    private readonly double[][] _weights;
    private readonly double[] _logTopM;

    public MatchModel(double[][] m, double[][] u, double prior)
    {
        M = m;
        U = u;
        Prior = prior;
        _weights = new double[ProfileFields.Compared][];
        _logTopM = new double[ProfileFields.Compared];
        for (var f = 0; f < ProfileFields.Compared; f++)
        {
            _weights[f] = new double[PairComparer.Levels[f] + 1];
            if (PairComparer.Levels[f] == 0) continue;
            for (var l = 1; l <= PairComparer.Levels[f]; l++) _weights[f][l] = Math.Log2(m[f][l] / u[f][l]);
            _logTopM[f] = Math.Log2(m[f][PairComparer.Levels[f]]);
        }
        PriorWeight = Math.Log2(prior / (1 - prior));
    }

    /// <summary>m per field and level (index = level; 0, "missing", is unused).</summary>
    public double[][] M { get; }

    public double[][] U { get; }

    public double Prior { get; }

    public double PriorWeight { get; }

    public static double Probability(double weight) => 1 / (1 + Math.Pow(2, -weight));

    public static double WeightOf(double probability) => Math.Log2(probability / (1 - probability));

    /// <summary>The weight a field's level adds, with the term-frequency adjustment for an exact agreement.</summary>
    public double FieldWeight(ProfileField field, int level, int value, TermFrequencies frequencies)
    {
        var f = (int)field;
        if (level == 0) return 0;
        if (level == PairComparer.Levels[f] && TermFrequencyFields[f] && value >= 0)
            return _logTopM[f] - Math.Log2(frequencies.Of(field, value));
        return _weights[f][level];
    }

    public double Weight(long gamma, int a, int b, ProfileRecords records, TermFrequencies frequencies)
    {
        var weight = PriorWeight;
        for (var f = 0; f < ProfileFields.Compared; f++)
        {
            var level = PairComparer.Level(gamma, (ProfileField)f);
            if (level == 0) continue;
            var field = (ProfileField)f;
            // Crosswise names agree on a's given name with b's surname: a's value is the agreed one either way.
            weight += FieldWeight(field, level, records.Key(field, a), frequencies);
        }
        return weight;
    }

    /// <summary>The model as numbers a person can read (for the run's record).</summary>
    public object Describe() => new
    {
        prior = Prior,
        comparisons = PairComparer.Comparisons.Select(field => (field, f: (int)field)).Select(x => new
        {
            comparison = PairComparer.Name(x.field),
            levels = Enumerable.Range(1, PairComparer.Levels[x.f]).Select(l => new
            {
                level = PairComparer.Label(x.field, l),
                m = Math.Round(M[x.f][l], 6),
                u = Math.Round(U[x.f][l], 8),
                weight = Math.Round(_weights[x.f][l], 2),
            }),
        }),
    };
}

/// <summary>How often each compared value occurs, per field, among the records of a stitch.</summary>
public sealed class TermFrequencies
{
    private readonly int[][] _counts = new int[ProfileFields.Compared][];
    private readonly long[] _totals = new long[ProfileFields.Compared];

    public TermFrequencies(ProfileRecords records)
    {
        for (var f = 0; f < ProfileFields.Compared; f++)
        {
            var counts = new int[Math.Max(records.KeyPools[f].Count, 1)];
            var column = records.KeyColumn((ProfileField)f);
            long total = 0;
            for (var i = 0; i < records.Count; i++)
            {
                if (records.Deleted[i] || column[i] < 0) continue;
                counts[column[i]]++;
                total++;
            }
            _counts[f] = counts;
            _totals[f] = total;
        }
    }

    public int Count(ProfileField field, int value) => value < _counts[(int)field].Length ? _counts[(int)field][value] : 0;

    /// <summary>The value's share of the field's values, at least one record's.</summary>
    public double Of(ProfileField field, int value)
    {
        var total = Math.Max(_totals[(int)field], 1);
        return Math.Max(Count(field, value), 1) / (double)total;
    }

    /// <summary>An incremental stitch adds and removes a changed record's values.</summary>
    public void Add(ProfileRecords records, int record, int delta)
    {
        for (var f = 0; f < ProfileFields.Compared; f++)
        {
            var value = records.Key((ProfileField)f, record);
            if (value < 0) continue;
            if (value >= _counts[f].Length) Array.Resize(ref _counts[f], Math.Max(records.KeyPools[f].Count, value + 1) * 2);
            _counts[f][value] += delta;
            _totals[f] += delta;
        }
    }
}
