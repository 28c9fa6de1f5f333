namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// Interned strings of one kind (names, emails, ...) kept as characters in large shared chunks, each known by a dense
/// int id. A value is stored once however many records carry it, comparisons of equal values are comparisons of ids,
/// and a million values cost their characters plus a few bytes each instead of a string object apiece.
/// </summary>
public sealed class ValuePool
{
    private const int ChunkChars = 1 << 20;

    private readonly List<char[]> _chunks = [new char[ChunkChars]];
    private int _used;
    /// <summary>Per id: chunk (high 20 bits of the upper half), offset and length.</summary>
    private long[] _spans = new long[1024];
    private int[] _hashes = new int[1024];
    /// <summary>Open addressing: id + 1, 0 for empty.</summary>
    private int[] _slots = new int[2048];

    public int Count { get; private set; }

    public ReadOnlySpan<char> this[int id]
    {
        get
        {
            var span = _spans[id];
            var chunk = (int)(span >> 44);
            var offset = (int)((span >> 20) & 0xFFFFFF);
            var length = (int)(span & 0xFFFFF);
            return _chunks[chunk].AsSpan(offset, length);
        }
    }

    public string ToString(int id) => new(this[id]);

    /// <summary>The id of the value, adding it when new.</summary>
    public int Intern(ReadOnlySpan<char> value)
    {
        var hash = Hash(value);
        var mask = _slots.Length - 1;
        for (var slot = hash & mask; ; slot = (slot + 1) & mask)
        {
            var entry = _slots[slot];
            if (entry == 0)
            {
                var id = Add(value, hash);
                _slots[slot] = id + 1;
                if (Count * 2 > _slots.Length) Grow();
                return id;
            }
            if (_hashes[entry - 1] == hash && this[entry - 1].SequenceEqual(value)) return entry - 1;
        }
    }

    /// <summary>The id of the value, or -1 when the pool does not hold it.</summary>
    public int Find(ReadOnlySpan<char> value)
    {
        var hash = Hash(value);
        var mask = _slots.Length - 1;
        for (var slot = hash & mask; ; slot = (slot + 1) & mask)
        {
            var entry = _slots[slot];
            if (entry == 0) return -1;
            if (_hashes[entry - 1] == hash && this[entry - 1].SequenceEqual(value)) return entry - 1;
        }
    }

    private int Add(ReadOnlySpan<char> value, int hash)
    {
        if (value.Length > 0xFFFFF) value = value[..0xFFFFF];
        if (_used + value.Length > ChunkChars)
        {
            _chunks.Add(new char[Math.Max(ChunkChars, value.Length)]);
            _used = 0;
        }
        var chunk = _chunks.Count - 1;
        value.CopyTo(_chunks[chunk].AsSpan(_used));
        if (Count == _spans.Length)
        {
            Array.Resize(ref _spans, _spans.Length * 2);
            Array.Resize(ref _hashes, _hashes.Length * 2);
        }
        _spans[Count] = ((long)chunk << 44) | ((long)_used << 20) | (long)value.Length;
        _hashes[Count] = hash;
        _used += value.Length;
        return Count++;
    }

    private void Grow()
    {
        _slots = new int[_slots.Length * 2];
        var mask = _slots.Length - 1;
        for (var id = 0; id < Count; id++)
        {
            var slot = _hashes[id] & mask;
            while (_slots[slot] != 0) slot = (slot + 1) & mask;
            _slots[slot] = id + 1;
        }
    }

    private static int Hash(ReadOnlySpan<char> value) => string.GetHashCode(value) & int.MaxValue;
}
