using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using HeapDaemon.Actors.Feeds;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Loading;

/// <summary>
/// Rows encoded in PostgreSQL's binary COPY format, ready to be sent as they are. Encoding happens while the batch
/// before is being written or merged; writing it is then only a copy to the socket, where Npgsql's importer spent
/// about 1.8 s of the daemon's CPU per million 25-column rows on the connection's critical path.
/// </summary>
/// <param name="Columns">The quoted column list the rows were encoded for (it grows when a file brings new columns).</param>
/// <param name="Keys">The rows' keys, so the first batch of a file can tell whether they are new to the table.</param>
public sealed class CopyBatch(string columns, byte[] data, int length, string[] keys)
{
    /// <summary>The binary COPY signature, flags and header extension length.</summary>
    public static readonly byte[] Header = [.. "PGCOPY\n"u8, 0xFF, .. "\r\n\0"u8, 0, 0, 0, 0, 0, 0, 0, 0];

    public static readonly byte[] Trailer = [0xFF, 0xFF];

    public string Columns { get; } = columns;

    public ReadOnlyMemory<byte> Data => data.AsMemory(0, length);

    public string[] Keys { get; } = keys;

    public int Rows => Keys.Length;

    /// <summary>Gives the buffer back to the pool once the batch is written.</summary>
    public void Release() => ArrayPool<byte>.Shared.Return(data);

    /// <summary>Encodes accepted rows: the feed's values in <paramref name="types"/>' order, then the key, its UUID, _updated and the source file.</summary>
    public static CopyBatch Encode(string columns, IReadOnlyList<AcceptedRow> rows, NpgsqlDbType[] types, Func<long, long> updatedOf, string sourceFile)
    {
        var writer = new CopyWriter(Math.Max(4096, rows.Count * 16 * (types.Length + 4)));
        var keys = new string[rows.Count];
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            keys[r] = row.Pk;
            writer.Int16((short)(types.Length + 4));
            for (var i = 0; i < types.Length; i++) writer.Value(row.Values[i], types[i]);
            writer.Text(row.Pk);
            writer.Uuid(row.UuidPk);
            writer.Length(8);
            writer.Int64(updatedOf(row.Line));
            writer.Text(sourceFile);
        }
        return new CopyBatch(columns, writer.Buffer, writer.Position, keys);
    }

    /// <summary>Appends to a pooled buffer that grows as needed; every number big-endian, as COPY wants.</summary>
    private struct CopyWriter(int capacity)
    {
        private static readonly long TimestampEpochTicks = new DateTime(2000, 1, 1).Ticks;
        private static readonly int DateEpochDay = new DateOnly(2000, 1, 1).DayNumber;

        public byte[] Buffer = ArrayPool<byte>.Shared.Rent(capacity);
        public int Position;

        public void Value(object? value, NpgsqlDbType type)
        {
            if (value is null)
            {
                Length(-1);
                return;
            }
            switch (type)
            {
                case NpgsqlDbType.Text: Text(value as string ?? Convert.ToString(value, CultureInfo.InvariantCulture)!); break;
                case NpgsqlDbType.Bigint: Length(8); Int64(value as long? ?? Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
                case NpgsqlDbType.Double:
                    Length(8);
                    Int64(BitConverter.DoubleToInt64Bits(value as double? ?? Convert.ToDouble(value, CultureInfo.InvariantCulture)));
                    break;
                case NpgsqlDbType.Boolean: Length(1); Span(1)[0] = (bool)value ? (byte)1 : (byte)0; break;
                case NpgsqlDbType.Numeric: Numeric(value as decimal? ?? Convert.ToDecimal(value, CultureInfo.InvariantCulture)); break;
                case NpgsqlDbType.Date: Length(4); Int32(Days((DateOnly)value)); break;
                case NpgsqlDbType.TimestampTz: Length(8); Int64(Microseconds((DateTime)value)); break;
                default: throw new ArgumentOutOfRangeException(nameof(type), type, "no binary COPY encoding for this column type");
            }
        }

        public void Text(string text)
        {
            var span = Span(4 + Encoding.UTF8.GetMaxByteCount(text.Length));
            var written = Encoding.UTF8.GetBytes(text, span[4..]);
            BinaryPrimitives.WriteInt32BigEndian(span, written);
            Position -= span.Length - 4 - written;
        }

        public void Uuid(Guid uuid)
        {
            Length(16);
            uuid.TryWriteBytes(Span(16), bigEndian: true, out _);
        }

        public void Length(int length) => Int32(length);

        public void Int16(short value) => BinaryPrimitives.WriteInt16BigEndian(Span(2), value);

        public void Int32(int value) => BinaryPrimitives.WriteInt32BigEndian(Span(4), value);

        public void Int64(long value) => BinaryPrimitives.WriteInt64BigEndian(Span(8), value);

        /// <summary>
        /// numeric as PostgreSQL sends it: base-10000 digits from the most significant, the weight (power of 10000)
        /// of the first, the sign, and the display scale, here the decimal's own scale.
        /// </summary>
        private void Numeric(decimal value)
        {
            Span<int> bits = stackalloc int[4];
            decimal.GetBits(value, bits);
            var scale = (bits[3] >> 16) & 0xFF;
            var mantissa = ((UInt128)(uint)bits[2] << 64) | ((UInt128)(uint)bits[1] << 32) | (uint)bits[0];
            // Base-10000 fraction digits need a scale that is a multiple of 4.
            var padding = (4 - scale % 4) % 4;
            for (var i = 0; i < padding; i++) mantissa *= 10;
            Span<short> groups = stackalloc short[10]; // least significant first; 28 digits and padding fit in 8
            var count = 0;
            for (; mantissa != 0; mantissa /= 10000) groups[count++] = (short)(mantissa % 10000);
            var lowest = 0;
            while (lowest < count && groups[lowest] == 0) lowest++;
            var digits = count - lowest;
            var weight = digits == 0 ? 0 : count - (scale + padding) / 4 - 1;
            Length(8 + 2 * digits);
            Int16((short)digits);
            Int16((short)weight);
            Int16(digits > 0 && bits[3] < 0 ? (short)0x4000 : (short)0);
            Int16((short)scale);
            for (var i = count - 1; i >= lowest; i--) Int16(groups[i]);
        }

        /// <summary>Microseconds since 2000-01-01 UTC; DateTime's extremes are PostgreSQL's infinities, as Npgsql writes them.</summary>
        private static long Microseconds(DateTime moment)
        {
            if (moment.Kind != DateTimeKind.Utc && moment != DateTime.MinValue && moment != DateTime.MaxValue)
                throw new ArgumentException($"a timestamptz value must be UTC, not {moment.Kind}", nameof(moment));
            return moment == DateTime.MaxValue ? long.MaxValue
                : moment == DateTime.MinValue ? long.MinValue
                : (moment.Ticks - TimestampEpochTicks) / 10;
        }

        private static int Days(DateOnly date) =>
            date == DateOnly.MaxValue ? int.MaxValue : date == DateOnly.MinValue ? int.MinValue : date.DayNumber - DateEpochDay;

        private Span<byte> Span(int length)
        {
            if (Position + length > Buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(Buffer.Length * 2, Position + length));
                Buffer.AsSpan(0, Position).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(Buffer);
                Buffer = larger;
            }
            var span = Buffer.AsSpan(Position, length);
            Position += length;
            return span;
        }
    }
}
