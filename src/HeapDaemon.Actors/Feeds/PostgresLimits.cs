using HeapDaemon.Actors.Ids;
namespace HeapDaemon.Actors.Feeds;

/// <summary>
/// What PostgreSQL refuses of a domain table, checked before a feed is saved or widened: a feed it cannot hold would
/// otherwise be saved and then fail at activation, or at every row it loads.
/// </summary>
/// <remarks>
/// Identifier length (63 bytes) needs no check of its own: column, source and feed names are at most 63 ASCII
/// characters (see <see cref="Identifiers"/>), so never longer in UTF-8, and never truncated into each other.
/// </remarks>
public static class PostgresLimits
{
    /// <summary>Columns in a table (PostgreSQL's MaxHeapAttributeNumber).</summary>
    public const int MaxColumns = 1600;

    /// <summary>Bytes in one stored row with 8 kB pages (MaxHeapTupleSize); only variable-width values can move out of it (TOAST).</summary>
    public const int MaxRowBytes = 8160;

    /// <summary>A row's header before its values, with no null bitmap (every column set): 23 bytes, aligned to 8.</summary>
    private const int RowHeaderBytes = 24;

    public static int MaxFields => MaxColumns - Identifiers.SystemColumns.Length;

    public static IEnumerable<string> Problems(FeedDefinition feed)
    {
        if (feed.Fields.Length > MaxFields)
            yield return $"a feed has at most {MaxFields} fields: PostgreSQL allows {MaxColumns} columns in a table and the domain table adds " +
                         $"{Identifiers.SystemColumns.Length} system columns; this one has {feed.Fields.Length}";
        else if (MinimumRowBytes(feed.Fields) is var bytes and > MaxRowBytes)
            yield return $"a row with every field set takes at least {bytes} bytes; PostgreSQL stores at most {MaxRowBytes} in a row, and " +
                         "Integer, Float and Datetime values take 8 bytes each, Date 4, Boolean 1, always in the row: " +
                         "make some fields String or Decimal (stored apart when large), or split the feed";
    }

    /// <summary>
    /// The smallest row of the domain table with every column set, laid out as PostgreSQL lays it out: fixed-width
    /// values aligned to their size, variable-width values (text, numeric) at their smallest, unaligned (one length
    /// byte), feed columns in order, then the system columns. A row a file sends can only be larger.
    /// </summary>
    public static int MinimumRowBytes(IEnumerable<FeedField> fields)
    {
        var offset = 0;
        foreach (var (bytes, align) in fields.Select(f => Layout(f.Type)).Concat(SystemColumnLayout))
            offset = (align == 0 ? offset : (offset + align - 1) / align * align) + bytes;
        return RowHeaderBytes + offset;
    }

    /// <summary>Size and alignment of a column's smallest value; alignment 0: variable width, unaligned in its short form.</summary>
    private static (int Bytes, int Align) Layout(FieldType type) => type switch
    {
        FieldType.Boolean => (1, 1),
        FieldType.Date => (4, 4),
        FieldType.Integer or FieldType.Float or FieldType.Datetime => (8, 8),
        FieldType.Decimal => (3, 0), // 0: a length byte and a two-byte numeric header
        FieldType.String => (1, 0), // '': the length byte alone
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown field type"),
    };

    /// <summary>_pk (text, a key of at least one character), _uuid_pk (uuid), _updated (bigint), _source_file (text), _loaded_at (timestamptz).</summary>
    private static readonly (int Bytes, int Align)[] SystemColumnLayout = [(2, 0), (16, 1), (8, 8), (2, 0), (8, 8)];
}
