namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// A blocking rule: records whose keys under the rule are equal become candidate pairs. A record without every field
/// the rule needs (or with a value set aside) has no key under it.
/// </summary>
public sealed record BlockingRule(int Index, string Name, ProfileField[] Fields, Func<Usable, int, long> Key)
{
    public const long NoKey = -1;
}

/// <summary>
/// The rules, chosen so that two records of one person usually share at least one key even with typos in some fields
/// (each rule leaves out fields the others use), while a key is rare enough that blocks stay small.
/// </summary>
public static class BlockingRules
{
    public static readonly IReadOnlyList<BlockingRule> All = Build();

    private static IReadOnlyList<BlockingRule> Build()
    {
        var rules = new List<(string Name, ProfileField[] Fields, Func<Usable, int, long> Key)>
        {
            ("email", [ProfileField.Email], (u, r) => One(u.Key(ProfileField.Email, r))),
            ("phone", [ProfileField.Phone], (u, r) => One(u.Key(ProfileField.Phone, r))),
            // Given name and surname in either order (so swapped names still meet), within the first letter of the city
            // (or of the postal code): a common name alone makes blocks that grow with the data.
            ("given-name+surname+place initial", [ProfileField.GivenName, ProfileField.Surname], (u, r) =>
            {
                var (g, s) = (u.Key(ProfileField.GivenName, r), u.Key(ProfileField.Surname, r));
                if (g < 0 || s < 0) return BlockingRule.NoKey;
                var (low, high) = (Math.Min(g, s), Math.Max(g, s));
                return ((long)high << 40) ^ ((long)PlaceInitial(u, r) << 32) ^ (uint)low;
            }),
            // Birthdate with the first or the last of the name initials (in either order, so swapped names still meet, and
            // a typo in one initial leaves the other).
            ("birthdate+initial", [ProfileField.Birthdate, ProfileField.GivenName, ProfileField.Surname],
                (u, r) => Two(u.Key(ProfileField.Birthdate, r), Initials(u, r, first: true))),
            ("birthdate+other initial", [ProfileField.Birthdate, ProfileField.GivenName, ProfileField.Surname],
                (u, r) => Two(u.Key(ProfileField.Birthdate, r), Initials(u, r, first: false))),
            ("birthdate+city", [ProfileField.Birthdate, ProfileField.City], (u, r) => Two(u.Key(ProfileField.Birthdate, r), u.Key(ProfileField.City, r))),
            ("postal+surname", [ProfileField.Postal, ProfileField.Surname], (u, r) => Two(u.Key(ProfileField.Postal, r), u.Key(ProfileField.Surname, r))),
            ("postal+given-name", [ProfileField.Postal, ProfileField.GivenName], (u, r) => Two(u.Key(ProfileField.Postal, r), u.Key(ProfileField.GivenName, r))),
            ("postal+birthdate", [ProfileField.Postal, ProfileField.Birthdate], (u, r) => Two(u.Key(ProfileField.Postal, r), u.Key(ProfileField.Birthdate, r))),
            ("city+surname", [ProfileField.City, ProfileField.Surname], (u, r) => Two(u.Key(ProfileField.City, r), u.Key(ProfileField.Surname, r))),
            ("address", [ProfileField.Address], (u, r) => One(u.Key(ProfileField.Address, r))),
            // The house number and postal code, for a street name with typos or address lines written in another order.
            ("postal+house number", [ProfileField.Postal, ProfileField.Address], (u, r) => Two(u.Key(ProfileField.Postal, r), HouseNumber(u, r))),
        };
        return rules.Select((r, i) => new BlockingRule(i, r.Name, r.Fields, r.Key)).ToList();
    }

    private static long One(int key) => key < 0 ? BlockingRule.NoKey : key;

    private static long Two(int a, int b) => a < 0 || b < 0 ? BlockingRule.NoKey : ((long)a << 32) | (uint)b;

    /// <summary>The first letter of the city, else of the postal code; 0 without either.</summary>
    private static int PlaceInitial(Usable usable, int record)
    {
        var city = usable.Key(ProfileField.City, record);
        if (city >= 0) return usable.Records.KeyPools[(int)ProfileField.City][city][0] & 0xFF;
        var postal = usable.Key(ProfileField.Postal, record);
        return postal >= 0 ? usable.Records.KeyPools[(int)ProfileField.Postal][postal][0] & 0xFF : 0;
    }

    /// <summary>The smaller (or larger) of the given name's and surname's first letters; the one there when only one is.</summary>
    private static int Initials(Usable usable, int record, bool first)
    {
        var pool = usable.Records.KeyPools[(int)ProfileField.GivenName];
        var (g, s) = (usable.Key(ProfileField.GivenName, record), usable.Key(ProfileField.Surname, record));
        if (g < 0 && s < 0) return -1;
        if (g < 0 || s < 0) return pool[Math.Max(g, s)][0];
        var (x, y) = (pool[g][0], pool[s][0]);
        return first ? Math.Min(x, y) : Math.Max(x, y);
    }

    /// <summary>The first word of the address that starts with a digit (its number), as a small number; -1 without one.</summary>
    private static int HouseNumber(Usable usable, int record)
    {
        var key = usable.Key(ProfileField.Address, record);
        if (key < 0) return -1;
        foreach (var word in usable.Records.KeyPools[(int)ProfileField.Address][key].Split(' '))
        {
            var text = usable.Records.KeyPools[(int)ProfileField.Address][key][word];
            if (text.Length == 0 || !char.IsAsciiDigit(text[0])) continue;
            var number = 0;
            foreach (var c in text[..Math.Min(text.Length, 8)]) number = number * 37 + c;
            return number & int.MaxValue;
        }
        return -1;
    }
}

/// <summary>
/// The blocks of every rule: per rule, the records with a key, grouped by key. Within a block of at most
/// <see cref="StitchSettings.MaxBlockSize"/> records every pair is a candidate; a larger block is sorted by name and
/// birthdate and each record is paired with its <see cref="StitchSettings.BlockWindow"/> neighbours on each side, so
/// the candidates of one rule never exceed max(maxBlockSize / 2, blockWindow) per record.
/// </summary>
public sealed class BlockIndex
{
    private readonly BlockingRule[] _rules;
    private readonly long[][] _keys;
    private readonly int[][] _starts;
    private readonly int[][] _members;

    public BlockIndex(ProfileRecords records, Usable usable, int maxBlockSize, int window, IReadOnlyList<BlockingRule>? rules = null)
    {
        Records = records;
        Usable = usable;
        MaxBlockSize = maxBlockSize;
        Window = window;
        _rules = [.. rules ?? BlockingRules.All];
        _keys = new long[_rules.Length][];
        _starts = new int[_rules.Length][];
        _members = new int[_rules.Length][];
        _added = _rules.Select(_ => new Dictionary<long, List<int>>()).ToArray();
        Parallel.For(0, _rules.Length, r => Build(r));
    }

    public ProfileRecords Records { get; }

    public Usable Usable { get; }

    public int MaxBlockSize { get; }

    public int Window { get; }

    public IReadOnlyList<BlockingRule> Rules => _rules;

    /// <summary>The largest block of each rule, and how many blocks were windowed (for the run's statistics).</summary>
    public IEnumerable<(string Rule, int Blocks, int Largest, int Windowed)> Statistics() =>
        _rules.Select((rule, r) =>
        {
            var starts = _starts[r];
            var (largest, windowed) = (0, 0);
            for (var g = 0; g + 1 < starts.Length; g++)
            {
                var size = starts[g + 1] - starts[g];
                largest = Math.Max(largest, size);
                if (size > MaxBlockSize) windowed++;
            }
            return (rule.Name, starts.Length - 1, largest, windowed);
        });

    /// <summary>How many pairs of records share a key under the rule (every pair of each block, windowed or not).</summary>
    public double AgreeingPairs(int rule)
    {
        var starts = _starts[rule];
        double pairs = 0;
        for (var g = 0; g + 1 < starts.Length; g++)
        {
            double size = starts[g + 1] - starts[g];
            pairs += size * (size - 1) / 2;
        }
        return pairs;
    }

    /// <summary>
    /// The candidates of record <paramref name="record"/> with a larger index (each pair is found from its smaller
    /// record), with the rules that found them as bits, appended to <paramref name="partners"/>.
    /// </summary>
    public void PartnersAfter(int record, List<(int Partner, int Rules)> partners)
    {
        for (var r = 0; r < _rules.Length; r++)
        {
            var key = _rules[r].Key(Usable, record);
            if (key == BlockingRule.NoKey) continue;
            var g = Array.BinarySearch(_keys[r], key);
            if (g < 0) continue;
            var (start, end) = (_starts[r][g], _starts[r][g + 1]);
            var members = _members[r];
            var bit = 1 << r;
            if (end - start <= MaxBlockSize)
            {
                // Members are in record order: the partners after this record follow it.
                var p = Array.BinarySearch(members, start, end - start, record);
                for (var i = p + 1; i < end; i++) partners.Add((members[i], bit));
            }
            else
            {
                var p = Array.IndexOf(members, record, start, end - start);
                for (var i = Math.Max(start, p - Window); i < Math.Min(end, p + Window + 1); i++)
                    if (members[i] > record) partners.Add((members[i], bit));
            }
        }
    }

    /// <summary>The records of the block of <paramref name="key"/> under rule <paramref name="rule"/> (as built).</summary>
    public ReadOnlySpan<int> Block(int rule, long key)
    {
        var g = Array.BinarySearch(_keys[rule], key);
        return g < 0 ? [] : _members[rule].AsSpan(_starts[rule][g], _starts[rule][g + 1] - _starts[rule][g]);
    }

    /// <summary>Records added since the blocks were built (an incremental stitch's new and changed records), per rule and key.</summary>
    private readonly Dictionary<long, List<int>>[] _added;

    /// <summary>Adds a record to the blocks of its keys (its earlier version, deleted, drops out of its blocks by itself).</summary>
    public void Add(int record)
    {
        for (var r = 0; r < _rules.Length; r++)
        {
            var key = _rules[r].Key(Usable, record);
            if (key == BlockingRule.NoKey) continue;
            if (!_added[r].TryGetValue(key, out var list)) _added[r][key] = list = [];
            list.Add(record);
        }
    }

    /// <summary>
    /// Every live record that shares a block with <paramref name="record"/> (whatever its index), under the same rule
    /// for large blocks (the window around it in the block's order), for an incremental stitch.
    /// </summary>
    public void Partners(int record, List<(int Partner, int Rules)> partners)
    {
        var members = new List<int>();
        for (var r = 0; r < _rules.Length; r++)
        {
            var key = _rules[r].Key(Usable, record);
            if (key == BlockingRule.NoKey) continue;
            members.Clear();
            foreach (var member in Block(r, key))
                if (!Records.Deleted[member] && _rules[r].Key(Usable, member) == key) members.Add(member);
            if (_added[r].TryGetValue(key, out var added))
                foreach (var member in added)
                    if (!Records.Deleted[member] && !members.Contains(member)) members.Add(member);
            var bit = 1 << r;
            if (members.Count <= MaxBlockSize)
            {
                foreach (var member in members)
                    if (member != record) partners.Add((member, bit));
                continue;
            }
            members.Sort(WindowOrder);
            var p = members.IndexOf(record);
            for (var i = Math.Max(0, p - Window); i < Math.Min(members.Count, p + Window + 1); i++)
                if (i != p) partners.Add((members[i], bit));
        }
    }

    private void Build(int r)
    {
        var rule = _rules[r];
        var n = Records.Count;
        var keys = new long[n];
        var members = new int[n];
        var count = 0;
        for (var i = 0; i < n; i++)
        {
            if (Records.Deleted[i]) continue;
            var key = rule.Key(Usable, i);
            if (key == BlockingRule.NoKey) continue;
            keys[count] = key;
            members[count++] = i;
        }
        Array.Resize(ref keys, count);
        Array.Resize(ref members, count);
        // Stable for equal keys: members stay in record order within a block.
        Array.Sort(keys, members);
        var starts = new List<int>();
        var groupKeys = new List<long>();
        for (var i = 0; i < count; i++)
        {
            if (i > 0 && keys[i] == keys[i - 1]) continue;
            starts.Add(i);
            groupKeys.Add(keys[i]);
        }
        starts.Add(count);
        for (var g = 0; g + 1 < starts.Count; g++)
        {
            var (start, end) = (starts[g], starts[g + 1]);
            Array.Sort(members, start, end - start);
            if (end - start > MaxBlockSize) Array.Sort(members, start, end - start, Comparer<int>.Create(WindowOrder));
        }
        _keys[r] = [.. groupKeys];
        _starts[r] = [.. starts];
        _members[r] = members;
    }

    /// <summary>The order of a large block's sliding window: by surname, given name, birthdate, then record.</summary>
    public int WindowOrder(int a, int b)
    {
        foreach (var field in (ReadOnlySpan<ProfileField>)[ProfileField.Surname, ProfileField.GivenName, ProfileField.Birthdate])
        {
            var (x, y) = (Records.Key(field, a), Records.Key(field, b));
            if (x == y) continue;
            if (x < 0 || y < 0) return x < 0 ? 1 : -1;
            var order = Records.KeyPools[(int)field][x].SequenceCompareTo(Records.KeyPools[(int)field][y]);
            if (order != 0) return order;
        }
        return a.CompareTo(b);
    }
}
