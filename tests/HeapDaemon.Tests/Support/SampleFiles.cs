using System.Text;
using Avro;
using Avro.File;
using Avro.Generic;
using HeapDaemon.Actors.Formats;
using Parquet;
using Parquet.Serialization;

namespace HeapDaemon.Tests.Support;

/// <summary>The same users in every format, written by the formats' own libraries.</summary>
public static class SampleFiles
{
    public sealed record User(long user_id, string email, DateTime joined_at, decimal? score);

    public static readonly User[] Users =
    [
        new(1, "ada@example.com", new DateTime(2026, 11, 1, 10, 0, 0, DateTimeKind.Utc), 1.50m),
        new(2, "grace, hopper@example.com", new DateTime(2026, 11, 2, 10, 0, 0, DateTimeKind.Utc), 2.00m),
        new(3, "alan@example.com", new DateTime(2026, 11, 3, 10, 0, 0, DateTimeKind.Utc), null),
    ];

    public const string AvroSchema = """
        {"type":"record","name":"User","fields":[
          {"name":"user_id","type":"long"},
          {"name":"email","type":["null","string"]},
          {"name":"joined_at","type":{"type":"long","logicalType":"timestamp-millis"}},
          {"name":"score","type":["null",{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}]}]}
        """;

    public static byte[] Ndjson(IEnumerable<User>? users = null) => Encoding.UTF8.GetBytes(string.Join("\n",
        (users ?? Users).Select(u => $$"""{"user_id":{{u.user_id}},"email":"{{u.email}}","joined_at":"{{u.joined_at:yyyy-MM-dd'T'HH:mm:ss'Z'}}","score":{{(u.score is { } s ? s.ToString(System.Globalization.CultureInfo.InvariantCulture) : "null")}}}""")));

    public static byte[] JsonArray() => Encoding.UTF8.GetBytes("[\n" + Encoding.UTF8.GetString(Ndjson()).Replace("\n", ",\n") + "\n]");

    /// <param name="codec">null, deflate or snappy.</param>
    public static byte[] Avro(string codec, IEnumerable<User>? users = null, int syncInterval = 1 << 16)
    {
        var schema = (RecordSchema)Schema.Parse(AvroSchema);
        var output = new MemoryStream();
        var chosen = codec == "snappy" ? new AvroFormat.SnappyCodec() : Codec.CreateCodecFromString(codec);
        using (var writer = DataFileWriter<GenericRecord>.OpenWriter(new GenericDatumWriter<GenericRecord>(schema), output, chosen, leaveOpen: true))
        {
            writer.SetSyncInterval(syncInterval);
            foreach (var user in users ?? Users)
            {
                var record = new GenericRecord(schema);
                record.Add("user_id", user.user_id);
                record.Add("email", user.email);
                record.Add("joined_at", user.joined_at);
                record.Add("score", user.score is { } s ? new AvroDecimal(s) : null);
                writer.Append(record);
            }
        }
        return output.ToArray();
    }

    /// <summary>A Parquet file with a row group every <paramref name="rowGroupSize"/> rows.</summary>
    public static async Task<byte[]> ParquetAsync(int rowGroupSize = 1, IEnumerable<User>? users = null)
    {
        var output = new MemoryStream();
        await ParquetSerializer.SerializeAsync(users ?? Users, output, new ParquetOptions { RowGroupSize = rowGroupSize });
        return output.ToArray();
    }
}
