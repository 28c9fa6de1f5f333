using System.Buffers.Binary;
using System.Collections;
using System.Globalization;
using System.Net.Sockets;
using Avro;
using Avro.File;
using Avro.Generic;
using Avro.IO;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Streams;
using ICSharpCode.SharpZipLib.Checksum;
using Snappier;
using HeapDaemon.Actors.Failures;

namespace HeapDaemon.Actors.Formats;

/// <summary>
/// Avro object container files, each read with its own writer schema (the one in its header), forward only. The
/// null and deflate codecs are Apache.Avro's; snappy is registered here. Nullable unions come out as null or the
/// value; logical types as their CLR values (decimal, DateTime, Guid...).
/// </summary>
public static class AvroFormat
{
    static AvroFormat() => Codec.RegisterResolver(name => name == SnappyCodec.Name ? new SnappyCodec() : null!);

    /// <summary>Records numbered from 1. Apache.Avro reads synchronously, so it runs on a dedicated thread.</summary>
    public static IAsyncEnumerable<SourceRecord> ReadAsync(Stream stream, CancellationToken ct) =>
        DedicatedThreadEnumerable.Run(token => Read(stream, token), capacity: 1024, ct);

    private static IEnumerable<SourceRecord> Read(Stream stream, CancellationToken ct)
    {
        IFileReader<object?[]> reader;
        try
        {
            reader = DataFileReader<object?[]>.OpenReader(stream, null, (writer, _) => new FlatRecordReader(writer), leaveOpen: true);
        }
        catch (Exception e) when (IsDataError(e))
        {
            throw new UnreadableFileException($"it is not an Avro object container file, or its header is damaged ({FailureText.Of(e)})", e);
        }
        using (reader)
        {
            var names = ((RecordSchema)reader.GetSchema()).Fields.Select(f => f.Name).ToArray();
            long number = 0;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                object?[] values;
                try
                {
                    if (!reader.HasNext()) break;
                    values = reader.Next();
                }
                catch (Exception e) when (IsDataError(e))
                {
                    throw new UnreadableFileException($"damaged Avro data after record {number} ({FailureText.Of(e)})", e);
                }
                yield return new SourceRecord(++number, values, null) { Names = names };
            }
        }
    }

    /// <summary>A read error of the data itself, not of the network beneath it (that keeps its own type and message).</summary>
    private static bool IsDataError(Exception e) =>
        e is not (OperationCanceledException or UnreadableFileException or HttpIOException) && e.InnerException is not (SocketException or HttpIOException);

    private static object? Value(object? value) => value switch
    {
        null or string or bool or long or double or byte[] or DateTime or Guid => value,
        int i => (long)i,
        float f => (double)f,
        AvroDecimal d => decimal.TryParse(d.ToString(null, CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture, out var m)
            ? m : d.ToString(null, CultureInfo.InvariantCulture),
        GenericEnum e => e.Value,
        GenericFixed f => f.Value,
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        GenericRecord r => new NestedValue("record", r.ToString()),
        IDictionary => new NestedValue("map", value.ToString() ?? ""),
        IEnumerable => new NestedValue("array", value.ToString() ?? ""),
        _ => value,
    };

    /// <summary>
    /// Reads a record straight into its values, one reader per field made from the writer schema: nulls, booleans,
    /// numbers, strings and bytes are decoded here, without a GenericRecord per record; logical types, enums, fixed
    /// and nested values go through Apache.Avro's own reader for their schema, so they keep its CLR values.
    /// </summary>
    private sealed class FlatRecordReader : DatumReader<object?[]>
    {
        private readonly Func<Decoder, object?>[] _fields;

        public FlatRecordReader(Schema writer)
        {
            if (writer is not RecordSchema record)
                throw new UnreadableFileException($"its Avro schema is a {writer.Tag}, not a record; only records load");
            WriterSchema = ReaderSchema = writer;
            _fields = record.Fields.Select(f => FieldReader(f.Schema)).ToArray();
        }

        public Schema ReaderSchema { get; }

        public Schema WriterSchema { get; }

        public object?[] Read(object?[] reuse, Decoder decoder)
        {
            var values = new object?[_fields.Length];
            for (var i = 0; i < values.Length; i++) values[i] = _fields[i](decoder);
            return values;
        }

        private static Func<Decoder, object?> FieldReader(Schema schema)
        {
            switch (schema.Tag)
            {
                case Schema.Type.Null: return d => { d.ReadNull(); return null; };
                case Schema.Type.Boolean: return d => d.ReadBoolean();
                case Schema.Type.Int: return d => (long)d.ReadInt();
                case Schema.Type.Long: return d => d.ReadLong();
                case Schema.Type.Float: return d => (double)d.ReadFloat();
                case Schema.Type.Double: return d => d.ReadDouble();
                case Schema.Type.String: return d => d.ReadString();
                case Schema.Type.Bytes: return d => d.ReadBytes();
                case Schema.Type.Union:
                    var branches = ((UnionSchema)schema).Schemas.Select(FieldReader).ToArray();
                    return d => branches[d.ReadUnionIndex()](d);
                default:
                    var generic = new GenericDatumReader<object>(schema, schema);
                    return d => Value(generic.Read(null!, d));
            }
        }
    }

    /// <summary>Avro's snappy: each block compressed with Snappy and followed by the big-endian CRC-32 of its uncompressed bytes.</summary>
    public sealed class SnappyCodec : Codec
    {
        public const string Name = "snappy";

        public override byte[] Compress(byte[] uncompressedData)
        {
            var compressed = Snappy.CompressToArray(uncompressedData);
            var output = new byte[compressed.Length + 4];
            compressed.CopyTo(output, 0);
            BinaryPrimitives.WriteUInt32BigEndian(output.AsSpan(compressed.Length), Crc(uncompressedData, uncompressedData.Length));
            return output;
        }

        public override void Compress(MemoryStream inputStream, MemoryStream outputStream)
        {
            outputStream.SetLength(0);
            outputStream.Write(Compress(inputStream.ToArray()));
        }

        public override byte[] Decompress(byte[] compressedData, int length)
        {
            if (length < 4) throw new AvroRuntimeException("snappy block shorter than its checksum");
            var data = Snappy.DecompressToArray(compressedData.AsSpan(0, length - 4));
            if (Crc(data, data.Length) != BinaryPrimitives.ReadUInt32BigEndian(compressedData.AsSpan(length - 4, 4)))
                throw new AvroRuntimeException("snappy block checksum mismatch");
            return data;
        }

        public override string GetName() => Name;

        public override bool Equals(object? other) => other is SnappyCodec;

        public override int GetHashCode() => Name.GetHashCode(StringComparison.Ordinal);

        private static uint Crc(byte[] data, int length)
        {
            var crc = new Crc32();
            crc.Update(new ArraySegment<byte>(data, 0, length));
            return (uint)crc.Value;
        }
    }
}
