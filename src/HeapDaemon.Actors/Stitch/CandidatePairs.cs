namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// Compared pairs, column by column, in chunks (each written by one worker): records a &lt; b, the comparison vector,
/// the blocking rules that found the pair (bits) and, once scored, the match weight.
/// </summary>
public sealed class PairChunk
{
    public int[] A = new int[1024];
    public int[] B = new int[1024];
    public long[] Gamma = new long[1024];
    public int[] Rules = new int[1024];
    public float[] Weight = [];
    public int Count;

    /// <summary>Gives back the room the arrays grew into beyond the pairs they hold.</summary>
    public void Trim()
    {
        Array.Resize(ref A, Count);
        Array.Resize(ref B, Count);
        Array.Resize(ref Gamma, Count);
        Array.Resize(ref Rules, Count);
    }

    public void Add(int a, int b, long gamma, int rules)
    {
        if (Count == A.Length)
        {
            var size = A.Length * 2;
            Array.Resize(ref A, size);
            Array.Resize(ref B, size);
            Array.Resize(ref Gamma, size);
            Array.Resize(ref Rules, size);
        }
        (A[Count], B[Count], Gamma[Count], Rules[Count]) = (a, b, gamma, rules);
        Count++;
    }
}

public sealed class CandidatePairs
{
    private const int RecordsPerChunk = 4096;

    public List<PairChunk> Chunks { get; } = [];

    public long Count => Chunks.Sum(c => (long)c.Count);

    /// <summary>
    /// Forgets the pairs under <paramref name="threshold"/>, and the comparisons and rules of the others, once they are
    /// written: what a result keeps in memory for the next incremental stitch is its links, not every pair it compared.
    /// </summary>
    public void KeepMatched(float threshold)
    {
        var kept = new PairChunk();
        var count = Chunks.Sum(c => Enumerable.Range(0, c.Count).Count(p => c.Weight[p] >= threshold));
        (kept.A, kept.B, kept.Gamma, kept.Weight, kept.Rules) = (new int[count], new int[count], [], new float[count], []);
        foreach (var chunk in Chunks)
            for (var p = 0; p < chunk.Count; p++)
            {
                if (chunk.Weight[p] < threshold) continue;
                (kept.A[kept.Count], kept.B[kept.Count], kept.Weight[kept.Count]) = (chunk.A[p], chunk.B[p], chunk.Weight[p]);
                kept.Count++;
            }
        Chunks.Clear();
        Chunks.Add(kept);
    }

    /// <summary>
    /// Every candidate pair of the blocks, compared: each record's partners after it under every rule, merged so a
    /// pair found by several rules is compared once. Records are split between workers in fixed ranges, so the pairs
    /// come out in the same order however many cores there are.
    /// </summary>
    public static CandidatePairs Compare(BlockIndex blocks, PairComparer comparer, Action<long>? progress, CancellationToken ct)
    {
        var n = blocks.Records.Count;
        var chunkCount = (n + RecordsPerChunk - 1) / RecordsPerChunk;
        var chunks = new PairChunk[chunkCount];
        long done = 0;
        Parallel.For(0, chunkCount, new ParallelOptions { CancellationToken = ct }, () => new List<(int Partner, int Rules)>(), (c, _, partners) =>
        {
            var chunk = new PairChunk();
            var end = Math.Min(n, (c + 1) * RecordsPerChunk);
            for (var i = c * RecordsPerChunk; i < end; i++)
            {
                if (blocks.Records.Deleted[i]) continue;
                partners.Clear();
                blocks.PartnersAfter(i, partners);
                AddMerged(chunk, i, partners, comparer);
            }
            chunk.Trim();
            chunks[c] = chunk;
            progress?.Invoke(Interlocked.Add(ref done, end - c * RecordsPerChunk));
            return partners;
        }, _ => { });
        var pairs = new CandidatePairs();
        pairs.Chunks.AddRange(chunks);
        return pairs;
    }

    /// <summary>Compares a record with its partners, once per partner whatever number of rules found it.</summary>
    public static void AddMerged(PairChunk chunk, int record, List<(int Partner, int Rules)> partners, PairComparer comparer)
    {
        if (partners.Count == 0) return;
        partners.Sort((x, y) => x.Partner.CompareTo(y.Partner));
        var (partner, rules) = partners[0];
        for (var k = 1; k <= partners.Count; k++)
        {
            if (k < partners.Count && partners[k].Partner == partner)
            {
                rules |= partners[k].Rules;
                continue;
            }
            var (a, b) = record < partner ? (record, partner) : (partner, record);
            chunk.Add(a, b, comparer.Compare(a, b), rules);
            if (k < partners.Count) (partner, rules) = partners[k];
        }
    }
}
