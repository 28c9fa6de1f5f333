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
        await foreach (var record in ReadSeekableAsync(spool, ct)) yield return record;
    }

    /// <summary>The records of a seekable Parquet file (a spool, or ranged reads of an S3 object).</summary>
    public static async IAsyncEnumerable<SourceRecord> ReadSeekableAsync(Stream file, [EnumeratorCancellation] CancellationToken ct = default)
    {
        int rowGroups;
        string[] names;
        try
        {
            await using var reader = await ParquetReader.CreateAsync(file, Options, leaveStreamOpen: true, ct);
            rowGroups = reader.RowGroupCount;
            names = reader.Schema.Fields.Select(f => f.Name).ToArray();
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
                file.Position = 0;
                rows = (await ParquetSerializer.DeserializeUntypedAsync(file, Options, group, ct)).Data;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new UnreadableFileException($"damaged Parquet data in row group {group + 1} of {rowGroups}, after record {number} ({e.Message})", e);
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
