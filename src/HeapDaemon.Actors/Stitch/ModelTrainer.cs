namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// Learns a <see cref="MatchModel"/> without labels, as Splink does: u from random pairs (nearly all of them two
/// people), m by expectation-maximisation over the candidate pairs of each blocking rule (the fields the rule blocks on
/// agree by construction there, so each rule estimates only the other fields' m; estimates of a field from several
/// rules are averaged, weighted by the matches each rule found), then the share of matches among all candidates, which
/// gives the prior λ for a random pair.
/// </summary>
public static class ModelTrainer
{
    private const int MaxIterations = 40;
    private const double Converged = 1e-6;

    /// <summary>u per field and level from <paramref name="samples"/> random pairs (fixed seeds: the same records give the same u).</summary>
    public static double[][] EstimateU(ProfileRecords records, PairComparer comparer, int samples)
    {
        const int Streams = 8;
        var counts = new long[Streams][][];
        var n = records.Count;
        Parallel.For(0, Streams, s =>
        {
            var random = new Random(17 + s);
            var local = NewTable();
            if (n >= 2)
                for (var k = 0; k < samples / Streams; k++)
                {
                    var (a, b) = (random.Next(n), random.Next(n));
                    if (a == b || records.Deleted[a] || records.Deleted[b]) continue;
                    Count(local, comparer.Compare(a, b), 1, null);
                }
            counts[s] = local;
        });
        var total = NewTable();
        foreach (var stream in counts)
            for (var f = 0; f < total.Length; f++)
                for (var l = 0; l < total[f].Length; l++) total[f][l] += stream[f][l];
        return Smooth(total);
    }

    /// <summary>m per field and level, by EM over each rule's candidate pairs (<paramref name="patterns"/>: rule → gamma → pairs).</summary>
    public static double[][] EstimateM(IReadOnlyList<BlockingRule> rules, IReadOnlyList<Dictionary<long, long>> patterns, double[][] u)
    {
        var sum = NewDoubleTable();
        var weights = new double[ProfileFields.Compared];
        for (var r = 0; r < rules.Count; r++)
        {
            var pairs = patterns[r].Values.Sum();
            if (pairs < 50) continue;
            var excluded = new bool[ProfileFields.Compared];
            foreach (var field in rules[r].Fields) excluded[(int)field] = true;
            var (m, observed) = Em(patterns[r], u, excluded);
            for (var f = 0; f < ProfileFields.Compared; f++)
            {
                if (excluded[f] || observed[f] < 1) continue;
                var weight = observed[f];
                for (var l = 1; l < m[f].Length; l++) sum[f][l] += weight * m[f][l];
                weights[f] += weight;
            }
        }
        var result = NewDoubleTable();
        for (var f = 0; f < ProfileFields.Compared; f++)
            for (var l = 1; l < result[f].Length; l++)
                result[f][l] = weights[f] > 0 ? sum[f][l] / weights[f] : DefaultM(f, l);
        return result;
    }

    /// <summary>
    /// u of an exact agreement on an identifier (email, phone, address line), which random pairs cannot estimate: two
    /// random records that share an email are nearly always one person, so counting them as two people overstates u,
    /// and term frequencies count one person's records as if they were several people. The rule that blocks on the
    /// field alone holds every pair that shares a value; EM over it (on the other fields) says which share of those are
    /// two people. u is those pairs over every pair of records with a value (at least half a pair).
    /// </summary>
    public static double IdentifierU(double shareOfMatches, double agreeingPairs, long recordsWithValue)
    {
        var possible = recordsWithValue * (double)(recordsWithValue - 1) / 2;
        if (possible < 1) return 1;
        var others = double.IsNaN(shareOfMatches) ? agreeingPairs : (1 - shareOfMatches) * agreeingPairs;
        return Math.Clamp(Math.Max(others, 0.5) / possible, 1e-15, 1);
    }

    /// <summary>
    /// The share of matches among one rule's pairs, judged by the fields the rule does not block on, with m and u fixed
    /// (works with a handful of pairs, where a rule's own EM does not run).
    /// </summary>
    public static double ShareOfMatches(BlockingRule rule, Dictionary<long, long> patterns, double[][] m, double[][] u)
    {
        long pairs = patterns.Values.Sum();
        if (pairs == 0) return double.NaN;
        var excluded = new bool[ProfileFields.Compared];
        foreach (var field in rule.Fields) excluded[(int)field] = true;
        var share = 0.5;
        for (var iteration = 0; iteration < MaxIterations; iteration++)
        {
            double matches = 0;
            foreach (var (gamma, count) in patterns) matches += count * Posterior(gamma, m, u, share, excluded);
            var next = Math.Clamp(matches / pairs, 1e-6, 1 - 1e-6);
            var done = Math.Abs(next - share) < Converged;
            share = next;
            if (done) break;
        }
        return share;
    }

    /// <summary>The prior λ: the share of matches among the candidates (EM with m and u fixed), over all possible pairs.</summary>
    public static double EstimatePrior(Dictionary<long, long> patterns, double[][] m, double[][] u, long records)
    {
        long pairs = patterns.Values.Sum();
        if (pairs == 0 || records < 2) return 1e-6;
        var share = 0.1;
        for (var iteration = 0; iteration < MaxIterations; iteration++)
        {
            double matches = 0;
            foreach (var (gamma, count) in patterns) matches += count * Posterior(gamma, m, u, share, null);
            var next = matches / pairs;
            var done = Math.Abs(next - share) < Converged;
            share = next;
            if (done) break;
        }
        var possible = records * (double)(records - 1) / 2;
        return Math.Clamp(share * pairs / possible, 1e-12, 0.5);
    }

    /// <summary>Records a pair's comparison vector under each rule that found it.</summary>
    public static void AddPattern(Dictionary<long, long>[] patterns, long gamma, int rules)
    {
        var key = gamma & ~PairComparer.Swapped;
        for (var r = 0; r < patterns.Length; r++)
            if ((rules & (1 << r)) != 0) patterns[r][key] = patterns[r].GetValueOrDefault(key) + 1;
    }

    private static (double[][] M, double[] Observed) Em(Dictionary<long, long> patterns, double[][] u, bool[] excluded)
    {
        var m = NewDoubleTable();
        for (var f = 0; f < m.Length; f++)
            for (var l = 1; l < m[f].Length; l++) m[f][l] = DefaultM(f, l);
        var share = 0.5;
        var observed = new double[ProfileFields.Compared];
        for (var iteration = 0; iteration < MaxIterations; iteration++)
        {
            var numerator = NewDoubleTable();
            Array.Clear(observed);
            double matches = 0;
            long total = 0;
            foreach (var (gamma, count) in patterns)
            {
                var weight = count * Posterior(gamma, m, u, share, excluded);
                matches += weight;
                total += count;
                for (var f = 0; f < ProfileFields.Compared; f++)
                {
                    var level = PairComparer.Level(gamma, (ProfileField)f);
                    if (level == 0 || excluded[f]) continue;
                    numerator[f][level] += weight;
                    observed[f] += weight;
                }
            }
            var change = Math.Abs(matches / total - share);
            share = Math.Clamp(matches / total, 1e-9, 1 - 1e-9);
            for (var f = 0; f < m.Length; f++)
            {
                if (observed[f] <= 0) continue;
                var levels = m[f].Length - 1;
                for (var l = 1; l <= levels; l++)
                {
                    // A little smoothing keeps a level never seen among matches possible.
                    var next = (numerator[f][l] + 0.01) / (observed[f] + 0.01 * levels);
                    change = Math.Max(change, Math.Abs(next - m[f][l]));
                    m[f][l] = next;
                }
            }
            if (change < Converged) break;
        }
        return (m, observed);
    }

    private static double Posterior(long gamma, double[][] m, double[][] u, double share, bool[]? excluded)
    {
        double logMatch = Math.Log(share), logOther = Math.Log(1 - share);
        for (var f = 0; f < ProfileFields.Compared; f++)
        {
            var level = PairComparer.Level(gamma, (ProfileField)f);
            if (level == 0 || excluded?[f] == true) continue;
            logMatch += Math.Log(m[f][level]);
            logOther += Math.Log(u[f][level]);
        }
        return 1 / (1 + Math.Exp(logOther - logMatch));
    }

    /// <summary>A starting m: most matches agree exactly, the rest spread over the lower levels.</summary>
    private static double DefaultM(int field, int level)
    {
        var levels = PairComparer.Levels[field];
        if (level == levels) return 0.8;
        var lower = levels - 1;
        return 0.2 / lower;
    }

    private static void Count(long[][] table, long gamma, long count, bool[]? excluded)
    {
        for (var f = 0; f < ProfileFields.Compared; f++)
        {
            var level = PairComparer.Level(gamma, (ProfileField)f);
            if (level == 0 || excluded?[f] == true) continue;
            table[f][level] += count;
        }
    }

    private static double[][] Smooth(long[][] counts)
    {
        var u = NewDoubleTable();
        for (var f = 0; f < counts.Length; f++)
        {
            var levels = counts[f].Length - 1;
            double total = counts[f].Skip(1).Sum();
            for (var l = 1; l <= levels; l++) u[f][l] = (counts[f][l] + 1) / (total + levels);
        }
        return u;
    }

    private static long[][] NewTable() => PairComparer.Levels.Select(l => new long[l + 1]).ToArray();

    private static double[][] NewDoubleTable() => PairComparer.Levels.Select(l => new double[l + 1]).ToArray();
}
