using System.Security.Cryptography;
using System.Text;

namespace HeapDaemon.Actors.Stitch;

/// <summary>Disjoint sets of records (path halving, union by smaller index so roots do not depend on pair order).</summary>
public sealed class UnionFind
{
    private int[] _parent;

    public UnionFind(int count)
    {
        _parent = new int[count];
        for (var i = 0; i < count; i++) _parent[i] = i;
    }

    public int Find(int x)
    {
        while (_parent[x] != x)
        {
            _parent[x] = _parent[_parent[x]];
            x = _parent[x];
        }
        return x;
    }

    public void Union(int a, int b)
    {
        var (x, y) = (Find(a), Find(b));
        if (x == y) return;
        if (x < y) _parent[y] = x;
        else _parent[x] = y;
    }
}

/// <summary>
/// The records of each person, as two arrays rather than a list per person: person <c>c</c>'s records are
/// <c>Members[Offsets[c]..Offsets[c + 1]]</c>, in record order. A person may have none (one an incremental stitch retired).
/// </summary>
public sealed class Clusters
{
    private readonly int[] _offsets;
    private readonly int[] _members;

    /// <param name="clusterOf">Each record's person, in [0, <paramref name="count"/>), or -1 for a record in none.</param>
    public Clusters(int[] clusterOf, int count, int records)
    {
        _offsets = new int[count + 1];
        for (var r = 0; r < records; r++)
            if (clusterOf[r] >= 0) _offsets[clusterOf[r] + 1]++;
        for (var c = 0; c < count; c++) _offsets[c + 1] += _offsets[c];
        _members = new int[_offsets[count]];
        var next = _offsets[..count];
        for (var r = 0; r < records; r++)
            if (clusterOf[r] is var c and >= 0) _members[next[c]++] = r;
    }

    /// <summary>
    /// The connected components of <paramref name="links"/> over the records not deleted, numbered by their smallest
    /// record; each record's component goes into <paramref name="clusterOf"/> (-1 for a deleted record).
    /// </summary>
    public static Clusters Components(UnionFind links, bool[] deleted, int records, int[] clusterOf)
    {
        var indexOfRoot = new int[records];
        Array.Fill(indexOfRoot, -1);
        var count = 0;
        for (var r = 0; r < records; r++)
        {
            if (deleted[r])
            {
                clusterOf[r] = -1;
                continue;
            }
            var root = links.Find(r);
            if (indexOfRoot[root] < 0) indexOfRoot[root] = count++;
            clusterOf[r] = indexOfRoot[root];
        }
        return new Clusters(clusterOf, count, records);
    }

    public int Count => _offsets.Length - 1;

    public ArraySegment<int> this[int cluster] => new(_members, _offsets[cluster], _offsets[cluster + 1] - _offsets[cluster]);
}

/// <summary>
/// Amperity IDs that survive reruns. An id follows the larger share of its previous cluster's records: every
/// (previous id, new cluster) overlap is ranked by how many records it holds, and the largest overlaps are honoured
/// first, each previous id and each new cluster once. Ties go to the overlap holding the smallest record (by source,
/// table, then primary key), so nothing depends on the order rows were read in. A cluster that inherits no id gets a
/// name-based UUID of its smallest record (again if that one is taken, with a counter).
/// </summary>
public static class StableIds
{
    private static readonly Guid Namespace = new("6f4b5d0e-2a8c-4c1e-9a55-3c7d1e0b8f21");

    /// <param name="previous">Each record's id in the previous stitch, or <see cref="Guid.Empty"/>.</param>
    /// <returns>Each cluster's inherited id, or <see cref="Guid.Empty"/> (see <see cref="Fill"/>).</returns>
    public static Guid[] Assign(Clusters clusters, Func<int, Guid> previous, Comparison<int> recordOrder)
    {
        var overlaps = new List<(int Cluster, Guid Id, int Count, int Smallest)>();
        var smallest = new int[clusters.Count];
        for (var c = 0; c < clusters.Count; c++)
        {
            var counts = new Dictionary<Guid, (int Count, int Smallest)>();
            smallest[c] = clusters[c][0];
            foreach (var record in clusters[c])
            {
                if (recordOrder(record, smallest[c]) < 0) smallest[c] = record;
                var id = previous(record);
                if (id == Guid.Empty) continue;
                var (count, min) = counts.GetValueOrDefault(id, (0, record));
                counts[id] = (count + 1, recordOrder(record, min) < 0 ? record : min);
            }
            overlaps.AddRange(counts.Select(kv => (c, kv.Key, kv.Value.Count, kv.Value.Smallest)));
        }
        overlaps.Sort((x, y) => x.Count != y.Count ? y.Count.CompareTo(x.Count) : recordOrder(x.Smallest, y.Smallest));
        var ids = new Guid[clusters.Count];
        var used = new HashSet<Guid>();
        foreach (var (cluster, id, _, _) in overlaps)
        {
            if (ids[cluster] != Guid.Empty || used.Contains(id)) continue;
            ids[cluster] = id;
            used.Add(id);
        }
        return ids;
    }

    /// <summary>Gives each cluster without an id the name-based id of its smallest record.</summary>
    /// <param name="taken">Ids a new cluster may not get (every id in use, and the previous stitch's, so a retired id is not reused for someone else).</param>
    public static void Fill(Guid[] ids, Clusters clusters, Comparison<int> recordOrder, Func<int, string> recordName, ISet<Guid> taken)
    {
        for (var c = 0; c < clusters.Count; c++)
        {
            if (ids[c] != Guid.Empty) continue;
            var smallest = clusters[c][0];
            foreach (var record in clusters[c])
                if (recordOrder(record, smallest) < 0) smallest = record;
            var name = recordName(smallest);
            var id = NameBased(name);
            for (var attempt = 1; taken.Contains(id); attempt++) id = NameBased($"{name}#{attempt}");
            ids[c] = id;
            taken.Add(id);
        }
    }

    /// <summary>A version-5 (SHA-1, name-based) UUID.</summary>
    public static Guid NameBased(string name)
    {
        var size = 16 + Encoding.UTF8.GetMaxByteCount(name.Length);
        Span<byte> input = size <= 1024 ? stackalloc byte[size] : new byte[size];
        Namespace.TryWriteBytes(input, bigEndian: true, out _);
        var length = 16 + Encoding.UTF8.GetBytes(name, input[16..]);
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input[..length], hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
