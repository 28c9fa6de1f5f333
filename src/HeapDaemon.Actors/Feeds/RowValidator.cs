using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Org.BouncyCastle.Crypto.Digests;

namespace HeapDaemon.Actors.Feeds;

/// <summary>
/// One record as a reader read it: its number in the file (line for text, record for Avro, Parquet and JSON arrays),
/// its fields and its raw text for rejects. Text formats give strings; typed formats give typed values (long,
/// double, decimal, bool, DateTime, ...) or null, and <see cref="Names"/>.
/// </summary>
/// <param name="Raw">The record as written, or null when the format has no text for it (a reject then shows its values as JSON).</param>
public sealed record SourceRecord(long Line, object?[] Fields, string? Raw)
{
    /// <summary>Set when the parser could read the record but found it malformed; the record becomes a reject.</summary>
    public string? Problem { get; init; }

    /// <summary>
    /// The record's last physical line, where it spans several: a quoted field with line breaks, or a stray quote
    /// that folded the lines up to the next quote into one record. <see cref="Line"/> is its first.
    /// </summary>
    public long LineEnd { get => field == 0 ? Line : field; init; }

    public string? Raw { get => field ?? (JoinedBy is { } delimiter ? string.Join(delimiter, Fields) : null); init; } = Raw;

    /// <summary>
    /// Set instead of <see cref="Raw"/> by delimited text whose record was exactly its fields joined by this delimiter
    /// (nothing quoted): its raw text is then built only when asked for, for a reject, rather than for every record.
    /// </summary>
    public string? JoinedBy { get; init; }

    /// <summary>
    /// The names of <see cref="Fields"/>, when the format names them (a schema, a JSON object's keys). Readers hand the
    /// same array again while the names do not change, so a validator is built once per schema, not per record.
    /// </summary>
    public string[]? Names { get; init; }
}

/// <summary>A value a typed format nests (object, array, map); only flat values load, so it is a reject.</summary>
public sealed record NestedValue(string Kind, string Text)
{
    public override string ToString() => Text;
}

public abstract record ValidatedRow(long Line);

/// <param name="Values">Typed values in the order of the feed's fields.</param>
public sealed record AcceptedRow(long Line, string Pk, Guid UuidPk, object?[] Values) : ValidatedRow(Line);

public sealed record RejectedRow(long Line, string Raw, string Reason) : ValidatedRow(Line)
{
    /// <summary>The last physical line of the record; every line from <see cref="ValidatedRow.Line"/> to it counts against the error threshold.</summary>
    public long LineEnd { get; init; } = Line;

    public long Lines => LineEnd - Line + 1;

    /// <summary>Where and why, for a message: the reason of a record over several lines names them already.</summary>
    public string Described => LineEnd > Line ? Reason : $"line {Line}: {Reason}";

    /// <summary>A reject of the whole record; one over several lines says which, since it may hide rows a stray quote folded in.</summary>
    public static RejectedRow Of(SourceRecord record, string raw, string reason) => record.LineEnd > record.Line
        ? new(record.Line, raw, $"lines {record.Line}-{record.LineEnd}, read as one record: {reason}") { LineEnd = record.LineEnd }
        : new(record.Line, raw, reason);
}

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

    // Managed and reused, so one short hash costs about 0.2 µs; SHA1.HashData paid about 0.75 µs a row in OpenSSL's
    // per-call setup. A validator serves one file's stage, never two threads at once.
    private readonly Sha1Digest _sha1 = new();
    private readonly string[]? _names;

    /// <param name="names">Set for typed formats: their records have no text, so rejects show these names with the values.</param>
    private RowValidator(FeedDefinition feed, int[] positions, int expectedFieldCount, string[]? names = null)
    {
        _feed = feed;
        _positions = positions;
        _expectedFieldCount = expectedFieldCount;
        _names = names;
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
    public static RowValidator ForHeader(FeedDefinition feed, IReadOnlyList<string> header) =>
        new(feed, Match(feed, header, allowMissing: false), header.Count);

    /// <summary>
    /// For typed formats, whose records name their fields: an Avro or Parquet schema must have every feed field, as
    /// a header must; a JSON object may leave fields out (they are null), since JSON omits what it does not have.
    /// </summary>
    /// <exception cref="SchemaMismatchException">a feed field is missing (where not allowed), or a name is not in the feed.</exception>
    public static RowValidator ForNames(FeedDefinition feed, string[] names, bool allowMissing) =>
        new(feed, Match(feed, names, allowMissing), names.Length, names);

    /// <returns>For each feed field, its position among the names, or -1 when it is missing and that is allowed.</returns>
    private static int[] Match(FeedDefinition feed, IReadOnlyList<string> header, bool allowMissing)
    {
        var columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var duplicates = new List<string>();
        for (var i = 0; i < header.Count; i++)
            if (!columns.TryAdd(header[i].Trim(), i)) duplicates.Add(header[i]);

        var missing = allowMissing ? [] : feed.Fields.Where(f => !columns.ContainsKey(f.Name)).Select(f => f.Name).ToList();
        var unexpected = feed.NewColumns == NewColumnPolicy.Ignore ? [] : UnknownColumns(feed, header);
        if (missing.Count > 0 || unexpected.Count > 0 || duplicates.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing {Names(missing)}");
            if (unexpected.Count > 0) parts.Add($"not in the feed {Names(unexpected)} (a feed with newColumns 'ignore' or 'add' accepts them)");
            if (duplicates.Count > 0) parts.Add($"repeated {Names(duplicates)}");
            throw new SchemaMismatchException($"the file's columns do not match feed '{feed.Id}': {string.Join("; ", parts)}");
        }
        return feed.Fields.Select(f => columns.GetValueOrDefault(f.Name, -1)).ToArray();
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
        if (record.Problem is not null) return Reject(record, record.Problem);
        if (record.Fields.Length != _expectedFieldCount)
            return Reject(record, $"expected {_expectedFieldCount} fields, found {record.Fields.Length}");

        var values = new object?[_positions.Length];
        for (var i = 0; i < _positions.Length; i++)
        {
            var field = _feed.Fields[i];
            var value = _positions[i] < 0 ? null : record.Fields[_positions[i]];
            // Empty text is no value, as in CSV; a typed format's empty string is kept for a String field, where it
            // is a value of its own, and is no value for any other type.
            if (value is null || value is string { Length: 0 } && (_names is null || field.Type != FieldType.String))
            {
                if (_required[i]) return Reject(record, $"field '{field.Name}' is required but empty");
                continue;
            }
            var error = FieldConverter.TryConvertValue(field, value, _dateFormats[i], out values[i]);
            if (error is not null) return Reject(record, $"field '{field.Name}': {error}");
        }

        var pk = KeyOf(values);
        return new AcceptedRow(record.Line, pk, StableUuid(pk), values);
    }

    private RejectedRow Reject(SourceRecord record, string reason) => RejectedRow.Of(record, record.Raw ?? RawOf(record), reason);

    /// <summary>A typed record as one JSON object, so a reject shows what the file held.</summary>
    private string RawOf(SourceRecord record)
    {
        var names = record.Names ?? _names;
        var shown = new Dictionary<string, object?>();
        for (var i = 0; i < record.Fields.Length; i++)
        {
            var value = record.Fields[i];
            shown.TryAdd(names is not null && i < names.Length ? names[i] : $"#{i + 1}",
                value is NestedValue or DateOnly or TimeSpan ? value.ToString() : value);
        }
        return JsonSerializer.Serialize(shown, RawJson);
    }

    private static readonly JsonSerializerOptions RawJson = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

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
        // On the stack for usual keys: this runs once per row.
        var length = _uuidNamespace.Length + Encoding.UTF8.GetByteCount(pk);
        var buffer = length <= 512 ? stackalloc byte[length] : new byte[length];
        _uuidNamespace.CopyTo(buffer);
        Encoding.UTF8.GetBytes(pk, buffer[_uuidNamespace.Length..]);
        Span<byte> hash = stackalloc byte[20];
        _sha1.BlockUpdate(buffer);
        _sha1.DoFinal(hash);
        var bytes = hash[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }

    private static string Names(IEnumerable<string> names) => "[" + string.Join(", ", names.Select(n => $"'{n}'")) + "]";
}
