namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// Every profile record of a stitch, column by column: for each field the id of its compared value (key) and of its
/// shown value (display) in that field's <see cref="ValuePool"/>, plus the record's table, primary key, update time and
/// customer/foreign keys. A record is a row index; nothing is allocated per record but its key list, if it has keys.
/// </summary>
public sealed class ProfileRecords
{
    public const int None = -1;

    /// <summary>A display id meaning "shown as compared" (emails, phones, dates), so such values are stored once.</summary>
    private const int SameAsKey = -2;

    private readonly int[][] _key = new int[ProfileFields.Count][];
    private readonly int[][] _display = new int[ProfileFields.Count][];
    /// <summary>Room added at a time once the records are in canonical order (see <see cref="Add"/>).</summary>
    private const int SettledGrowth = 1 << 16;

    private readonly int[][] _current;
    private int _capacity;
    private bool _settled;

    public ProfileRecords(IReadOnlyList<InputTable> tables, int capacity = 1024)
    {
        Tables = tables;
        Pks = tables.Select(_ => new ValuePool()).ToArray();
        _current = tables.Select(_ => Array.Empty<int>()).ToArray();
        var names = new ValuePool();
        for (var f = 0; f < ProfileFields.Count; f++)
        {
            KeyPools[f] = ((ProfileField)f).IsName() ? names : new ValuePool();
            DisplayPools[f] = new ValuePool();
        }
        Grow(capacity);
    }

    public IReadOnlyList<InputTable> Tables { get; }

    public int Count { get; private set; }

    /// <summary>Compared values per field; given name and surname share one pool.</summary>
    public ValuePool[] KeyPools { get; } = new ValuePool[ProfileFields.Count];

    public ValuePool[] DisplayPools { get; } = new ValuePool[ProfileFields.Count];

    /// <summary>Primary keys (<c>_pk</c>) per table.</summary>
    public ValuePool[] Pks { get; }

    /// <summary>Namespaces (<c>ck</c>, <c>fk-heap-user</c>) and values of customer and foreign keys.</summary>
    public ValuePool KeyNamespaces { get; } = new();

    public ValuePool KeyValues { get; } = new();

    public short[] Table { get; private set; } = [];

    public int[] Pk { get; private set; } = [];

    /// <summary>The record's <c>update-dt</c> as a sortable number (seconds since 1970 for dates); NaN when none.</summary>
    public double[] Updated { get; private set; } = [];

    /// <summary>(namespace id &lt;&lt; 32 | value id) of each key the record carries; null without keys.</summary>
    public long[]?[] Keys { get; private set; } = [];

    /// <summary>Records deleted from their table since they were read (incremental stitches); they belong to no one.</summary>
    public bool[] Deleted { get; private set; } = [];

    public int Key(ProfileField field, int record) => _key[(int)field][record];

    public int[] KeyColumn(ProfileField field) => _key[(int)field];

    public ReadOnlySpan<char> KeyText(ProfileField field, int record) => KeyPools[(int)field][_key[(int)field][record]];

    /// <summary>The shown value, or null.</summary>
    public string? Display(ProfileField field, int record)
    {
        var display = _display[(int)field][record];
        return display switch
        {
            None => null,
            SameAsKey => KeyPools[(int)field].ToString(_key[(int)field][record]),
            _ => DisplayPools[(int)field].ToString(display),
        };
    }

    public int Add(int table, ReadOnlySpan<char> pk)
    {
        // A full stitch's read doubles; a kept result's columns grow by a step: doubling them for the few changed
        // records of an incremental stitch would hold twice the records' memory until the next full stitch.
        if (Count == _capacity) Grow(_settled ? _capacity + SettledGrowth : _capacity * 2);
        var record = Count++;
        Table[record] = (short)table;
        Pk[record] = Pks[table].Intern(pk);
        for (var f = 0; f < ProfileFields.Count; f++)
        {
            _key[f][record] = None;
            _display[f][record] = None;
        }
        Updated[record] = double.NaN;
        Keys[record] = null;
        Deleted[record] = false;
        return record;
    }

    public void Set(int record, ProfileField field, Normalized value)
    {
        var f = (int)field;
        _key[f][record] = value.Key is null ? None : KeyPools[f].Intern(value.Key);
        _display[f][record] = value.Display is null ? None
            : value.Display == value.Key ? SameAsKey
            : DisplayPools[f].Intern(value.Display);
    }

    public void SetKeys(int record, long[]? keys) => Keys[record] = keys;

    public long KeyOf(string ns, string value) => ((long)KeyNamespaces.Intern(ns) << 32) | (uint)KeyValues.Intern(value);

    public void MarkDeleted(int record) => Deleted[record] = true;

    /// <summary>Forgets the last record added (a re-read row that did not change).</summary>
    public void RemoveLast() => Count--;

    /// <summary>The record now holding each primary key of a table (a changed record moves to a new index), -1 for none.</summary>
    public int Current(int table, int pk) => pk < _current[table].Length ? _current[table][pk] : -1;

    public void SetCurrent(int table, int pk, int record)
    {
        if (pk >= _current[table].Length)
        {
            var size = Math.Max(pk + 1, _current[table].Length * 2);
            var old = _current[table].Length;
            Array.Resize(ref _current[table], size);
            Array.Fill(_current[table], -1, old, size - old);
        }
        _current[table][pk] = record;
    }

    /// <summary>Indexes every record by its primary key (once the records are in their final order).</summary>
    public void IndexPks()
    {
        for (var t = 0; t < _current.Length; t++) _current[t] = Enumerable.Repeat(-1, Pks[t].Count).ToArray();
        for (var r = 0; r < Count; r++) _current[Table[r]][Pk[r]] = r;
    }

    /// <summary>Whether two records carry the same values, keys and update time (an unchanged re-read).</summary>
    public bool SameAs(int a, int b)
    {
        for (var f = 0; f < ProfileFields.Count; f++)
            if (_key[f][a] != _key[f][b] || _display[f][a] != _display[f][b]) return false;
        if (!(Updated[a].Equals(Updated[b]))) return false;
        var (ka, kb) = (Keys[a] ?? [], Keys[b] ?? []);
        return ka.AsSpan().SequenceEqual(kb);
    }

    public bool IsEmpty(int record)
    {
        for (var f = 0; f < ProfileFields.Compared; f++)
            if (_key[f][record] != None) return false;
        return Keys[record] is null;
    }

    /// <summary>Orders records by table, then primary key (ordinal): the canonical order nothing downstream may depend on input order for.</summary>
    public int CompareKeys(int a, int b)
    {
        var byTable = Table[a].CompareTo(Table[b]);
        return byTable != 0 ? byTable : Pks[Table[a]][Pk[a]].SequenceCompareTo(Pks[Table[b]][Pk[b]]);
    }

    public string PkText(int record) => Pks[Table[record]].ToString(Pk[record]);

    /// <summary>Reorders the records (a full stitch puts them in canonical order once read).</summary>
    public void Permute(int[] order)
    {
        for (var f = 0; f < ProfileFields.Count; f++)
        {
            _key[f] = Reorder(_key[f], order);
            _display[f] = Reorder(_display[f], order);
        }
        Table = Reorder(Table, order);
        Pk = Reorder(Pk, order);
        Updated = Reorder(Updated, order);
        Keys = Reorder(Keys, order);
        Deleted = Reorder(Deleted, order);
        _capacity = Count;
        _settled = true;
    }

    private T[] Reorder<T>(T[] column, int[] order)
    {
        var result = new T[Count];
        for (var i = 0; i < Count; i++) result[i] = column[order[i]];
        return result;
    }

    private void Grow(int capacity)
    {
        for (var f = 0; f < ProfileFields.Count; f++)
        {
            Array.Resize(ref _key[f], capacity);
            Array.Resize(ref _display[f], capacity);
        }
        var table = Table; Array.Resize(ref table, capacity); Table = table;
        var pk = Pk; Array.Resize(ref pk, capacity); Pk = pk;
        var updated = Updated; Array.Resize(ref updated, capacity); Updated = updated;
        var keys = Keys; Array.Resize(ref keys, capacity); Keys = keys;
        var deleted = Deleted; Array.Resize(ref deleted, capacity); Deleted = deleted;
        _capacity = capacity;
    }
}
