using System.Security.Cryptography;
using System.Text;

namespace HeapDaemon.Actors.Feeds;

/// <summary>One record as a parser read it: its number in the file, its fields and its raw text for rejects.</summary>
public sealed record SourceRecord(long Line, string[] Fields, string Raw)
{
    /// <summary>Set when the parser could read the record but found it malformed; the record becomes a reject.</summary>
    public string? Problem { get; init; }
}

public abstract record ValidatedRow(long Line);

/// <param name="Values">Typed values in the order of the feed's fields.</param>
public sealed record AcceptedRow(long Line, string Pk, Guid UuidPk, object?[] Values) : ValidatedRow(Line);

public sealed record RejectedRow(long Line, string Raw, string Reason) : ValidatedRow(Line);

/// <summary>A file whose columns cannot be matched to its feed: the whole file fails, nothing loads.</summary>
public sealed class SchemaMismatchException(string message) : Exception(message);

/// <summary>Checks each record of one file against the feed, converting its values; bad rows become rejects.</summary>
public sealed class RowValidator
{
    private readonly FeedDefinition _feed;
    private readonly int[] _positions;
    private readonly int _expectedFieldCount;
    private readonly int[] _keyIndexes;
    private readonly bool[] _required;
    private readonly string[][] _dateFormats;
    private readonly byte[] _uuidNamespace;

    private RowValidator(FeedDefinition feed, int[] positions, int expectedFieldCount)
    {
        _feed = feed;
        _positions = positions;
        _expectedFieldCount = expectedFieldCount;
        _keyIndexes = feed.Fields.Select((f, i) => (f, i)).Where(x => x.f.PrimaryKey).Select(x => x.i).ToArray();
        _required = feed.Fields.Select(f => f.PrimaryKey || !f.Nullable || f.Name == feed.LastUpdatedField).ToArray();
        _dateFormats = feed.Fields.Select(f => DateFormats.For(f, feed.DatetimeFormat)).ToArray();
        _uuidNamespace = Encoding.UTF8.GetBytes($"{feed.Source}.{feed.Name}\n");
    }

    /// <summary>Matches a header to the feed by incoming name (case-insensitive, as Amperity does).</summary>
    /// <exception cref="SchemaMismatchException">
    /// a feed field is missing, a column is repeated, or the file has columns the feed does not know and the feed's
    /// <see cref="NewColumnPolicy"/> is not <see cref="NewColumnPolicy.Ignore"/> (the pipeline adds them for Add).
    /// </exception>
    public static RowValidator ForHeader(FeedDefinition feed, IReadOnlyList<string> header)
    {
        var columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var duplicates = new List<string>();
        for (var i = 0; i < header.Count; i++)
            if (!columns.TryAdd(header[i].Trim(), i)) duplicates.Add(header[i]);

        var missing = feed.Fields.Where(f => !columns.ContainsKey(f.Name)).Select(f => f.Name).ToList();
        var unexpected = feed.NewColumns == NewColumnPolicy.Ignore ? [] : UnknownColumns(feed, header);
        if (missing.Count > 0 || unexpected.Count > 0 || duplicates.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing {Names(missing)}");
            if (unexpected.Count > 0) parts.Add($"not in the feed {Names(unexpected)} (a feed with newColumns 'ignore' or 'add' accepts them)");
            if (duplicates.Count > 0) parts.Add($"repeated {Names(duplicates)}");
            throw new SchemaMismatchException($"the file's columns do not match feed '{feed.Id}': {string.Join("; ", parts)}");
        }
        return new RowValidator(feed, feed.Fields.Select(f => columns[f.Name]).ToArray(), header.Count);
    }

    /// <summary>Columns of a header that the feed has no field for.</summary>
    public static List<string> UnknownColumns(FeedDefinition feed, IReadOnlyList<string> header)
    {
        var known = feed.Fields.Select(f => f.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return header.Select(h => h.Trim()).Where(h => !known.Contains(h)).ToList();
    }

    /// <summary>A file without a header row: its columns are the feed's fields, in order.</summary>
    public static RowValidator ByPosition(FeedDefinition feed) =>
        new(feed, Enumerable.Range(0, feed.Fields.Length).ToArray(), feed.Fields.Length);

    public ValidatedRow Validate(SourceRecord record)
    {
        if (record.Problem is not null) return new RejectedRow(record.Line, record.Raw, record.Problem);
        if (record.Fields.Length != _expectedFieldCount)
            return new RejectedRow(record.Line, record.Raw, $"expected {_expectedFieldCount} fields, found {record.Fields.Length}");

        var values = new object?[_positions.Length];
        for (var i = 0; i < _positions.Length; i++)
        {
            var field = _feed.Fields[i];
            var text = record.Fields[_positions[i]];
            if (text.Length == 0)
            {
                if (_required[i]) return new RejectedRow(record.Line, record.Raw, $"field '{field.Name}' is required but empty");
                continue;
            }
            var error = FieldConverter.TryConvert(field, text, _dateFormats[i], out values[i]);
            if (error is not null) return new RejectedRow(record.Line, record.Raw, $"field '{field.Name}': {error}");
        }

        var pk = KeyOf(values);
        return new AcceptedRow(record.Line, pk, StableUuid(pk), values);
    }

    /// <summary>
    /// <c>_pk</c>: the key value's canonical text; several key fields are joined with '|', with '\' and '|'
    /// escaped so that no two different keys give the same text.
    /// </summary>
    private string KeyOf(object?[] values)
    {
        if (_keyIndexes.Length == 1) return FieldConverter.Canonical(values[_keyIndexes[0]]!);
        return string.Join('|', _keyIndexes.Select(i => FieldConverter.Canonical(values[i]!).Replace("\\", "\\\\").Replace("|", "\\|")));
    }

    /// <summary><c>_uuid_pk</c>: a name-based (version 5 style) UUID, so the same key gets the same UUID in every load.</summary>
    private Guid StableUuid(string pk)
    {
        var name = Encoding.UTF8.GetBytes(pk);
        var buffer = new byte[_uuidNamespace.Length + name.Length];
        _uuidNamespace.CopyTo(buffer, 0);
        name.CopyTo(buffer, _uuidNamespace.Length);
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(buffer, hash);
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }

    private static string Names(IEnumerable<string> names) => "[" + string.Join(", ", names.Select(n => $"'{n}'")) + "]";
}
