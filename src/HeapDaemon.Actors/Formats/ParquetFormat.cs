using System.Reflection;
using System.Runtime.CompilerServices;
using HeapDaemon.Actors.Feeds;
using Parquet.Data;
using Parquet;
using Parquet.Schema;

namespace HeapDaemon.Actors.Formats;

/// <summary>
/// Parquet, whose footer (the schema and where each row group is) sits at the end of the file: the content is
/// spooled to a temporary file, then read one row group at a time, so memory holds one row group, whatever the
/// file's size. A row group is read column by column into typed arrays (Parquet's own layout), then turned into rows.
/// </summary>
public static class ParquetFormat
{
    private static readonly ParquetOptions Options = new()
    {
        UseDateOnlyTypeForDates = true,
        // Parquet.Net keeps up to 16 + 64 MB of freed page buffers for reuse, for the life of the process, beyond the
        // reach of the collection that hands memory back after a run (IdleMemory); a few buffers serve one column chunk.
        MaximumSmallPoolFreeBytes = 2 << 20,
        MaximumLargePoolFreeBytes = 8 << 20,
    };

    private static readonly MethodInfo ReadColumn = typeof(ParquetFormat).GetMethod(nameof(ReadColumnAsync), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>Records numbered from 1 across row groups.</summary>
    public static async IAsyncEnumerable<SourceRecord> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var spool = await TempSpool.CopyAsync(stream, ct);
        await foreach (var record in ReadSeekableAsync(spool, null, ct)) yield return record;
    }

    /// <summary>The records of a seekable Parquet file (a spool, or ranged reads of an S3 object).</summary>
    /// <param name="prefetch">Called with each row group's byte range before it is read (Parquet.Net reads column chunks synchronously).</param>
    public static async IAsyncEnumerable<SourceRecord> ReadSeekableAsync(Stream file, Func<long, long, CancellationToken, Task>? prefetch = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        ParquetReader reader;
        Field[] fields;
        string[] names;
        List<(long Start, long Length)> ranges;
        try
        {
            reader = await ParquetReader.CreateAsync(file, Options, leaveStreamOpen: true, ct);
            fields = reader.Schema.Fields.ToArray();
            names = fields.Select(f => f.Name).ToArray();
            ranges = reader.Metadata!.RowGroups.Select(g =>
            {
                var start = g.Columns.Min(c => ChunkStart(c.MetaData!));
                var end = g.Columns.Max(c => ChunkStart(c.MetaData!) + c.MetaData!.TotalCompressedSize);
                return (start, end - start);
            }).ToList();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new UnreadableFileException($"it is not a Parquet file, or its footer is missing or damaged ({e.Message})", e);
        }

        await using (reader)
        {
            long number = 0;
            for (var group = 0; group < reader.RowGroupCount; group++)
            {
                object?[][] columns;
                try
                {
                    if (prefetch is not null) await prefetch(ranges[group].Start, ranges[group].Length, ct);
                    columns = await ReadRowGroupAsync(reader.OpenRowGroupReader(group), fields, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new UnreadableFileException($"damaged Parquet data in row group {group + 1} of {reader.RowGroupCount}, after record {number} ({Messages(e)})", e);
                }
                for (var r = 0; r < columns[0].Length; r++)
                {
                    var row = new object?[columns.Length];
                    for (var c = 0; c < row.Length; c++) row[c] = columns[c][r];
                    yield return new SourceRecord(++number, row, null) { Names = names };
                }
                // Hoisted into the iterator, the variable would keep this row group alive while the next one is read.
                columns = null!;
            }
        }
    }

    /// <summary>A column chunk starts at its dictionary page when it has one, else at its first data page.</summary>
    private static long ChunkStart(Parquet.Meta.ColumnMetaData column) =>
        column.DictionaryPageOffset is { } dictionary && dictionary > 0 ? Math.Min(dictionary, column.DataPageOffset) : column.DataPageOffset;

    /// <summary>Parquet.Net wraps the cause ("failed to read column 'x'"); both halves say where and why.</summary>
    private static string Messages(Exception e) => e.InnerException is { } inner ? $"{e.Message}: {Messages(inner)}" : e.Message;

    private static async Task<object?[][]> ReadRowGroupAsync(ParquetRowGroupReader group, Field[] fields, CancellationToken ct)
    {
        // Column-major until the rows are handed on: a few large arrays, not a small one per row, live as long as the row group.
        var columns = new object?[fields.Length][];
        for (var c = 0; c < fields.Length; c++)
        {
            columns[c] = new object?[group.RowCount];
            if (fields[c] is DataField { IsArray: false } data)
                await (Task)ReadColumn.MakeGenericMethod(data.ClrType).Invoke(null, [group, data, columns[c], ct])!;
            else
                await ReadNestedColumnAsync(group, fields[c], columns[c], ct);
        }
        return columns;
    }

    /// <summary>
    /// The column's values hold no nulls; a nullable column's definition levels say which rows have one. (Parquet.Net's
    /// own nullable reads are not used: for a required column they scattered stray nulls and shifted the values.)
    /// </summary>
    private static async Task ReadColumnAsync<T>(ParquetRowGroupReader group, DataField field, object?[] column, CancellationToken ct)
        where T : struct
    {
        using var raw = (RawColumnData<T>)await group.ReadRawColumnDataBaseAsync(field, ct);
        var values = raw.Values;
        var texts = new Texts();
        if (field.MaxDefinitionLevel == 0)
        {
            for (var r = 0; r < column.Length; r++) column[r] = Value(values[r], texts);
        }
        else
        {
            var defined = raw.DefinitionLevels;
            for (int r = 0, v = 0; r < column.Length; r++) column[r] = defined[r] == 0 ? null : Value(values[v++], texts);
        }
        // The array goes back to a shared pool as it is; text values still pointing at their characters would keep a
        // row group's worth of them alive there (500 000 char arrays in a heap dump taken after a load).
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>()) values.Clear();
    }

    /// <summary>Text and bytes as string and byte[]; integers widen to long and float to double, as the feed converters expect.</summary>
    private static object Value<T>(T value, Texts texts) where T : struct => value switch
    {
        ReadOnlyMemory<char> text => texts.Get(text.Span),
        ReadOnlyMemory<byte> bytes => bytes.ToArray(),
        int i => (long)i,
        short s => (long)s,
        sbyte b => (long)b,
        byte b => (long)b,
        ushort u => (long)u,
        uint u => (long)u,
        float f => (double)f,
        _ => value,
    };

    /// <summary>
    /// One string per distinct text of a column chunk, while it has few: exports repeat a handful of values (country,
    /// browser, campaign) in every row, and a string per row, held for the whole row group, cost more than decoding it.
    /// </summary>
    private sealed class Texts
    {
        private const int MaxDistinct = 4_096;
        private Dictionary<string, string>? _seen = [];

        public string Get(ReadOnlySpan<char> text)
        {
            if (_seen is null) return text.ToString();
            if (_seen.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out var known)) return known;
            var created = text.ToString();
            _seen.Add(created, created);
            if (_seen.Count == MaxDistinct) _seen = null; // mostly distinct: looking up would only add work
            return created;
        }
    }

    /// <summary>
    /// A struct, list or map (or a repeated value): only flat values load, so each present one is a reject, and no
    /// row needs its content. Its first leaf column's levels say where each row's value starts and whether it is null.
    /// </summary>
    private static async Task ReadNestedColumnAsync(ParquetRowGroupReader group, Field field, object?[] column, CancellationToken ct)
    {
        var (kind, shown) = field.SchemaType switch
        {
            SchemaType.Struct => ("struct", "(a Parquet struct)"),
            SchemaType.Map => ("map", "(a Parquet map)"),
            _ => ("list", "(a Parquet list)"),
        };
        var leaf = FirstLeaf(field);
        using var levels = await group.ReadRawColumnDataBaseAsync(leaf, ct);
        var repeated = leaf.MaxRepetitionLevel > 0;
        var count = repeated ? levels.RepetitionLevels.Length : column.Length;
        var row = 0;
        for (var i = 0; i < count && row < column.Length; i++)
        {
            // A row's value starts where the repetition level is 0; its top-level field is absent at definition level 0.
            if (repeated && levels.RepetitionLevels[i] != 0) continue;
            var absent = field.IsNullable && levels.DefinitionLevels[i] == 0;
            column[row++] = absent ? null : new NestedValue(kind, shown);
        }
    }

    private static DataField FirstLeaf(Field field) => field switch
    {
        DataField data => data,
        StructField structure => FirstLeaf(structure.Fields[0]),
        ListField list => FirstLeaf(list.Item),
        MapField map => FirstLeaf(map.Key),
        _ => throw new NotSupportedException($"Parquet field '{field.Name}' of kind {field.SchemaType}"),
    };
}
