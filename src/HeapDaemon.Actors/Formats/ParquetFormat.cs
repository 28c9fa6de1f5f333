using System.Reflection;
using System.Runtime.CompilerServices;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Streams;
using ParquetSharp;
using ParquetSharp.Schema;
using HeapDaemon.Actors.Failures;

namespace HeapDaemon.Actors.Formats;

/// <summary>
/// Parquet, whose footer (the schema and where each row group is) sits at the end of the file: the content is
/// spooled to a temporary file, then read through Apache Arrow's Parquet reader (ParquetSharp) a few thousand rows at
/// a time across all columns. Memory holds those rows and, per column, a read buffer and the page being decoded, not
/// a row group: a file written with 128 MB row groups (and the usual 1 MB pages) loads in the memory of a small one.
/// </summary>
public static class ParquetFormat
{
    /// <summary>Rows decoded per step in every column before they are handed on as records.</summary>
    private const int BatchRows = 4_096;

    /// <summary>
    /// Each column chunk is read through its own buffer of this size instead of whole: a row group's columns are
    /// all open at once, and whole chunks would hold the row group's compressed bytes.
    /// </summary>
    private const long ColumnBufferBytes = 256 << 10;

    /// <summary>Records numbered from 1 across row groups.</summary>
    public static async IAsyncEnumerable<SourceRecord> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var spool = await TempSpool.CopyAsync(stream, ct);
        await foreach (var record in ReadSeekableAsync(spool, ct)) yield return record;
    }

    /// <summary>
    /// The records of a seekable Parquet file (a spool, or ranged reads of an S3 object). Arrow's reader reads its
    /// input synchronously, so it runs on a dedicated thread.
    /// </summary>
    public static IAsyncEnumerable<SourceRecord> ReadSeekableAsync(Stream file, CancellationToken ct = default) =>
        DedicatedThreadEnumerable.Run(token => Read(file, token), capacity: 1024, ct);

    private static IEnumerable<SourceRecord> Read(Stream file, CancellationToken ct)
    {
        // The C allocator, which the daemon has hand large blocks back as soon as they are freed (GlibcMalloc).
        // Arrow's default (mimalloc) and jemalloc keep freed pages, per thread or for a while: peak RSS of a 1 M-row
        // load 485-541 MB with mimalloc, 375-394 with jemalloc, 315-334 with this (scripts/bench.sh).
        using var properties = ReaderProperties.WithMemoryPool(MemoryPool.SystemMemoryPool());
        properties.EnableBufferedStream();
        properties.BufferSize = ColumnBufferBytes;
        ParquetFileReader reader;
        Field[] fields;
        try
        {
            file.Position = 0;
            reader = new ParquetFileReader(file, properties, leaveOpen: true);
            fields = Field.ForTopLevel(reader.FileMetaData.Schema);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new UnreadableFileException($"it is not a Parquet file, or its footer is missing or damaged ({FailureText.Of(e)})", e);
        }

        using (reader)
        {
            var names = fields.Select(f => f.Name).ToArray();
            var groups = reader.FileMetaData.NumRowGroups;
            long number = 0;
            for (var group = 0; group < groups; group++)
            {
                using var columns = OpenRowGroup(reader, group, groups, fields, number);
                for (var done = 0; done < columns.RowCount;)
                {
                    ct.ThrowIfCancellationRequested();
                    var values = columns.Read(Math.Min(BatchRows, columns.RowCount - done), number);
                    var count = values[0].Length;
                    for (var r = 0; r < count; r++)
                    {
                        var row = new object?[values.Length];
                        for (var c = 0; c < row.Length; c++) row[c] = values[c][r];
                        yield return new SourceRecord(++number, row, null) { Names = names };
                    }
                    done += count;
                }
            }
        }
    }

    private static RowGroupColumns OpenRowGroup(ParquetFileReader reader, int group, int groups, Field[] fields, long before)
    {
        var where = $"row group {group + 1} of {groups}";
        try
        {
            return new RowGroupColumns(reader.RowGroup(group), fields, where);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Damaged(where, before, e);
        }
    }

    private static UnreadableFileException Damaged(string where, long before, Exception e) =>
        e as UnreadableFileException ?? new UnreadableFileException($"damaged Parquet data in {where}, after record {before} ({FailureText.Of(e)})", e);

    /// <summary>A top-level field of the schema: a flat value in one column, or a nested one over several.</summary>
    private sealed record Field(string Name, int FirstColumn, string? NestedKind, bool Optional)
    {
        public static Field[] ForTopLevel(SchemaDescriptor schema)
        {
            using var root = schema.GroupNode;
            var fields = new List<Field>();
            var column = 0;
            foreach (var node in root.Fields)
            {
                using (node)
                {
                    var nested = node switch
                    {
                        PrimitiveNode { Repetition: Repetition.Repeated } => "list",
                        PrimitiveNode => null,
                        _ when node.LogicalType is ListLogicalType || node.ConvertedType == ConvertedType.List => "list",
                        _ when node.LogicalType is MapLogicalType || node.ConvertedType is ConvertedType.Map or ConvertedType.MapKeyValue => "map",
                        _ => "struct",
                    };
                    fields.Add(new Field(node.Name, column, nested, node.Repetition != Repetition.Required));
                    column += Leaves(node);
                }
            }
            return fields.Count > 0 ? [.. fields] : throw new InvalidDataException("the schema has no columns");
        }

        private static int Leaves(Node node)
        {
            if (node is not GroupNode group) return 1;
            var count = 0;
            foreach (var child in group.Fields)
            {
                using (child) count += Leaves(child);
            }
            return count;
        }
    }

    /// <summary>One row group's columns, open together and read in step.</summary>
    private sealed class RowGroupColumns : IDisposable
    {
        private readonly RowGroupReader _rowGroup;
        private readonly Field[] _fields;
        private readonly ColumnSource[] _columns;
        private readonly string _where;

        /// <summary>Takes the row group reader over, also when a column fails to open.</summary>
        public RowGroupColumns(RowGroupReader rowGroup, Field[] fields, string where)
        {
            _rowGroup = rowGroup;
            _fields = fields;
            _where = where;
            _columns = new ColumnSource[fields.Length];
            try
            {
                RowCount = checked((int)rowGroup.MetaData.NumRows);
                for (var c = 0; c < fields.Length; c++) _columns[c] = Open(rowGroup, fields[c], RowCount);
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public int RowCount { get; }

        private static ColumnSource Open(RowGroupReader rowGroup, Field field, int rowCount)
        {
            var column = rowGroup.Column(field.FirstColumn);
            try
            {
                if (field.NestedKind is not { } kind) return column.LogicalReader().Apply(new FlatColumnOpener(column.ColumnDescriptor));
                using (column) return new NestedColumn(column, kind, field.Optional, rowCount);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                column.Dispose();
                throw new InvalidDataException($"column '{field.Name}': {e.Message}", e);
            }
        }

        /// <summary>The next <paramref name="count"/> values of every column.</summary>
        public object?[][] Read(int count, long before)
        {
            var values = new object?[_columns.Length][];
            for (var c = 0; c < values.Length; c++)
            {
                try
                {
                    values[c] = _columns[c].Read(count);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw Damaged(_where, before, new InvalidDataException($"column '{_fields[c].Name}': {e.Message}", e));
                }
            }
            return values;
        }

        public void Dispose()
        {
            foreach (var column in _columns) column?.Dispose();
            _rowGroup.Dispose();
        }
    }

    private abstract class ColumnSource : IDisposable
    {
        public abstract object?[] Read(int count);

        public abstract void Dispose();
    }

    /// <summary>Picks each flat column's converter once, from the element type Arrow reads it as.</summary>
    private sealed class FlatColumnOpener(ColumnDescriptor descriptor) : ILogicalColumnReaderVisitor<ColumnSource>
    {
        public ColumnSource OnLogicalColumnReader<TElement>(LogicalColumnReader<TElement> reader) =>
            new FlatColumn<TElement>(reader, Converters.For<TElement>(descriptor.LogicalType), descriptor.Name);
    }

    private sealed class FlatColumn<TElement>(LogicalColumnReader<TElement> reader, Func<TElement, object?> convert, string name) : ColumnSource
    {
        private readonly TElement[] _buffer = new TElement[BatchRows];

        public override object?[] Read(int count)
        {
            var read = 0;
            while (read < count)
            {
                var n = reader.ReadBatch(_buffer.AsSpan(read, count - read));
                if (n == 0) throw new InvalidDataException($"column '{name}' ends after {read} of the row group's values");
                read += n;
            }
            var values = new object?[count];
            for (var i = 0; i < count; i++) values[i] = convert(_buffer[i]);
            // References left in the buffer would keep the last batch's texts alive until the next read.
            if (RuntimeHelpers.IsReferenceOrContainsReferences<TElement>()) Array.Clear(_buffer);
            return values;
        }

        public override void Dispose() => reader.Dispose();
    }

    /// <summary>
    /// Values as the feed converters take them: integers widen to long (ulong stays), float to double, dates to
    /// DateOnly, timestamps to DateTime (UTC when the column says so), times of day to their integer in the column's
    /// unit; text, bytes, decimals, booleans and UUIDs as they come.
    /// </summary>
    private static class Converters
    {
        private static readonly int UnixEpochDay = DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;

        public static Func<T, object?> For<T>(LogicalType logical)
        {
            var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
            return ForValue(type, logical) switch
            {
                null => v => v,
                Func<T, object?> exact => exact,
                var convert => Lift<T>(type, convert),
            };
        }

        /// <summary>A Func&lt;TValue, object?&gt; for the column's values, or null when they are handed on as they are.</summary>
        private static Delegate? ForValue(Type type, LogicalType logical)
        {
            var utc = logical is TimestampLogicalType { IsAdjustedToUtc: true };
            var millis = logical is TimeLogicalType { TimeUnit: TimeUnit.Millis };
            if (type == typeof(int)) return Of<int>(v => (long)v);
            if (type == typeof(short)) return Of<short>(v => (long)v);
            if (type == typeof(sbyte)) return Of<sbyte>(v => (long)v);
            if (type == typeof(byte)) return Of<byte>(v => (long)v);
            if (type == typeof(ushort)) return Of<ushort>(v => (long)v);
            if (type == typeof(uint)) return Of<uint>(v => (long)v);
            if (type == typeof(float)) return Of<float>(v => (double)v);
            if (type == typeof(Half)) return Of<Half>(v => (double)v);
            if (type == typeof(Date)) return Of<Date>(v => DateOnly.FromDayNumber(UnixEpochDay + v.Days));
            if (type == typeof(DateTime)) return Of<DateTime>(v => utc ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : v);
            if (type == typeof(DateTimeNanos)) return Of<DateTimeNanos>(v => utc ? DateTime.SpecifyKind(v.DateTime, DateTimeKind.Utc) : v.DateTime);
            if (type == typeof(Int96)) return Of<Int96>(FromInt96);
            if (type == typeof(TimeSpan)) return Of<TimeSpan>(v => millis ? v.Ticks / TimeSpan.TicksPerMillisecond : v.Ticks / 10);
            if (type == typeof(TimeSpanNanos)) return Of<TimeSpanNanos>(v => v.Ticks);
            return null;
        }

        private static Func<TValue, object?> Of<TValue>(Func<TValue, object?> convert) => convert;

        /// <summary>The same conversion for the column's nullable form, where null stays null.</summary>
        private static Func<T, object?> Lift<T>(Type type, Delegate convert) =>
            (Func<T, object?>)typeof(Converters).GetMethod(nameof(LiftNullable), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(type).Invoke(null, [convert])!;

        private static Func<TValue?, object?> LiftNullable<TValue>(Func<TValue, object?> convert) where TValue : struct =>
            v => v is { } value ? convert(value) : null;

        /// <summary>Impala's timestamps: nanoseconds of the day, then the Julian day.</summary>
        private static object? FromInt96(Int96 v)
        {
            const int julianDayOfUnixEpoch = 2_440_588;
            var nanos = (long)(((ulong)(uint)v.B << 32) | (uint)v.A);
            return DateTime.SpecifyKind(DateTime.UnixEpoch.AddDays(v.C - julianDayOfUnixEpoch).AddTicks(nanos / 100), DateTimeKind.Utc);
        }
    }

    /// <summary>
    /// A struct, list or map (or a repeated value): only flat values load, so each present one is a reject, and no
    /// row needs its content. Its first leaf column's levels, read for the whole row group up front (two small
    /// integers per value), say where each row's value starts and whether it is there.
    /// </summary>
    private sealed class NestedColumn : ColumnSource
    {
        private readonly NestedValue _value;
        private readonly bool[] _present;
        private int _next;

        public NestedColumn(ColumnReader leaf, string kind, bool optional, int rowCount)
        {
            _value = new NestedValue(kind, $"(a Parquet {kind})");
            _present = leaf.Apply(new LevelsReader(rowCount, optional, leaf.ColumnDescriptor.MaxRepetitionLevel > 0));
        }

        public override object?[] Read(int count)
        {
            var values = new object?[count];
            for (var i = 0; i < count; i++) values[i] = _present[_next++] ? _value : null;
            return values;
        }

        public override void Dispose() { }

        private sealed class LevelsReader(int rowCount, bool optional, bool repeated) : IColumnReaderVisitor<bool[]>
        {
            public bool[] OnColumnReader<TValue>(ColumnReader<TValue> reader) where TValue : unmanaged
            {
                var present = new bool[rowCount];
                var definitions = new short[BatchRows];
                var repetitions = new short[BatchRows];
                var values = new TValue[BatchRows];
                var row = -1;
                while (reader.HasNext)
                {
                    var levels = reader.ReadBatch(BatchRows, definitions, repetitions, values, out _);
                    for (var i = 0; i < levels; i++)
                    {
                        // A row's value starts where the repetition level is 0; the top-level field is absent at definition level 0.
                        if (repeated && repetitions[i] != 0) continue;
                        if (++row == rowCount) throw new InvalidDataException($"the nested column has more than the row group's {rowCount} rows");
                        present[row] = !optional || definitions[i] > 0;
                    }
                }
                if (row != rowCount - 1) throw new InvalidDataException($"the nested column has {row + 1} of the row group's {rowCount} rows");
                return present;
            }
        }
    }
}
