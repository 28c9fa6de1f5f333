using System.Collections;
using System.Runtime.CompilerServices;
using HeapDaemon.Actors.Feeds;
using Parquet;
using Parquet.Serialization;

namespace HeapDaemon.Actors.Formats;

/// <summary>
/// Parquet, whose footer (the schema and where each row group is) sits at the end of the file: the content is
/// spooled to a temporary file, then read one row group at a time, so memory holds one row group, whatever the
/// file's size.
/// </summary>
public static class ParquetFormat
{
    private static readonly ParquetOptions Options = new() { UseDateOnlyTypeForDates = true };

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
        int rowGroups;
        string[] names;
        List<(long Start, long Length)> ranges;
        try
        {
            await using var reader = await ParquetReader.CreateAsync(file, Options, leaveStreamOpen: true, ct);
            rowGroups = reader.RowGroupCount;
            names = reader.Schema.Fields.Select(f => f.Name).ToArray();
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

        long number = 0;
        for (var group = 0; group < rowGroups; group++)
        {
            IList<Dictionary<string, object>> rows;
            try
            {
                if (prefetch is not null) await prefetch(ranges[group].Start, ranges[group].Length, ct);
                file.Position = 0;
                rows = (await ParquetSerializer.DeserializeUntypedAsync(file, Options, group, ct)).Data;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new UnreadableFileException($"damaged Parquet data in row group {group + 1} of {rowGroups}, after record {number} ({Messages(e)})", e);
            }
            foreach (var row in rows)
            {
                number++;
                var values = new object?[names.Length];
                for (var i = 0; i < names.Length; i++) values[i] = row.TryGetValue(names[i], out var value) ? Value(value) : null;
                yield return new SourceRecord(number, values, null) { Names = names };
            }
        }
    }

    /// <summary>A column chunk starts at its dictionary page when it has one, else at its first data page.</summary>
    private static long ChunkStart(Parquet.Meta.ColumnMetaData column) =>
        column.DictionaryPageOffset is { } dictionary && dictionary > 0 ? Math.Min(dictionary, column.DataPageOffset) : column.DataPageOffset;

    /// <summary>Parquet.Net wraps the cause ("failed to read column 'x'"); both halves say where and why.</summary>
    private static string Messages(Exception e) => e.InnerException is { } inner ? $"{e.Message}: {Messages(inner)}" : e.Message;

    private static object? Value(object? value) => value switch
    {
        null or string or bool or long or double or decimal or byte[] or DateTime or DateOnly or DateTimeOffset or Guid => value,
        int or short or sbyte or byte or ushort or uint => Convert.ToInt64(value),
        float f => (double)f,
        TimeSpan or TimeOnly => value.ToString(),
        IDictionary => new NestedValue("struct or map", value.ToString() ?? ""),
        IEnumerable => new NestedValue("list", value.ToString() ?? ""),
        _ => value,
    };
}
