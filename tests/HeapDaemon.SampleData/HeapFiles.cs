using System.Text.Json;
using Avro;
using Avro.File;
using Avro.Generic;
using HeapDaemon.Actors.Formats;

namespace HeapDaemon.SampleData;

/// <summary>The two kinds of object Heap writes: Avro part files (snappy) and manifests; also for tests that need odd ones.</summary>
public static class HeapFiles
{
    /// <param name="columns">name and Avro type; a type starting with '?' is nullable.</param>
    /// <param name="record">the Avro record's name; Heap uses the table's, which must then be a valid Avro name.</param>
    public static byte[] Avro(string table, IEnumerable<(string Name, string Type)> columns, IEnumerable<Row> rows, string? record = null)
    {
        var schema = (RecordSchema)Schema.Parse(JsonSerializer.Serialize(new
        {
            type = "record",
            name = record ?? table,
            fields = columns.Select(c => new { name = c.Name, type = c.Type.StartsWith('?') ? (object)new[] { "null", c.Type[1..] } : c.Type }),
        }));
        var output = new MemoryStream();
        using (var writer = DataFileWriter<GenericRecord>.OpenWriter(new GenericDatumWriter<GenericRecord>(schema), output,
                   new AvroFormat.SnappyCodec(), leaveOpen: true))
        {
            foreach (var row in rows)
            {
                var avro = new GenericRecord(schema);
                foreach (var field in schema.Fields) avro.Add(field.Name, row.GetValueOrDefault(field.Name));
                writer.Append(avro);
            }
        }
        return output.ToArray();
    }

    /// <summary>A manifest, with a field Heap may add that a reader must ignore.</summary>
    /// <param name="tables">objects with Heap's fields: name, columns, files (s3:// URIs), incremental.</param>
    public static byte[] Manifest(long dumpId, IEnumerable<object> tables) =>
        JsonSerializer.SerializeToUtf8Bytes(new { dump_id = dumpId, tables, property_definitions = new { } });
}
