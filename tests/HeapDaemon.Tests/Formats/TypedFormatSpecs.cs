using System.Text;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Streams;
using HeapDaemon.Tests.Support;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;
using Xunit;

namespace HeapDaemon.Tests.Formats;

/// <summary>NDJSON, JSON arrays, Avro and Parquet read as typed records, streamed from a forward-only stream.</summary>
public sealed class TypedFormatSpecs
{
    [Fact]
    public async Task Ndjson_skips_blank_lines_takes_a_last_line_without_newline_and_keeps_json_types()
    {
        var text = "\uFEFF{\"id\":1,\"name\":\"ada\",\"score\":1.5,\"ok\":true}\r\n\n   \n{\"name\":\"grace\",\"id\":2,\"tags\":[1,2],\"ok\":null}";

        var records = await ReadAsync(Encoding.UTF8.GetBytes(text), FileFormat.Ndjson);

        Assert.Equal([1L, 4L], records.Select(r => r.Line));
        Assert.Equal(["id", "name", "score", "ok"], records[0].Names!);
        Assert.Equal([1L, "ada", 1.5m, true], records[0].Fields);
        Assert.Equal(["name", "id", "tags", "ok"], records[1].Names!);
        Assert.Equal("array", Assert.IsType<NestedValue>(records[1].Fields[2]).Kind);
        Assert.Null(records[1].Fields[3]);
        Assert.Equal("{\"id\":1,\"name\":\"ada\",\"score\":1.5,\"ok\":true}", records[0].Raw);
    }

    [Fact]
    public async Task Records_with_the_same_keys_share_one_names_array()
    {
        var records = await ReadAsync(Encoding.UTF8.GetBytes("{\"a\":1,\"b\":2}\n{\"a\":3,\"b\":4}\n{\"b\":5}\n"), FileFormat.Ndjson);

        Assert.Same(records[0].Names, records[1].Names!);
        Assert.NotSame(records[1].Names, records[2].Names!);
    }

    [Fact]
    public async Task A_line_that_is_not_a_json_object_is_a_reject_not_a_failed_file()
    {
        var records = await ReadAsync(Encoding.UTF8.GetBytes("{\"id\":1}\n{\"id\":\n[1,2]\n{\"id\":4}\n"), FileFormat.Ndjson);

        Assert.Equal([null, "malformed JSON", "a JSON array, not an object", null], records.Select(r => r.Problem?.Split(':')[0]));
        Assert.Equal("{\"id\":", records[1].Raw);
    }

    [Fact]
    public async Task Invalid_utf8_in_ndjson_fails_the_file_naming_the_line()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"id\":1}\n{\"id\":\"x\"}\n").ToList();
        bytes.Insert(16, 0xFF);

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(bytes.ToArray(), FileFormat.Ndjson));

        Assert.Equal("line 2 is not valid UTF-8", error.Message);
    }

    [Fact]
    public async Task A_json_array_streams_its_objects_numbered_by_place()
    {
        var records = await ReadAsync(SampleFiles.JsonArray(), FileFormat.Json);

        Assert.Equal([1L, 2L, 3L], records.Select(r => r.Line));
        Assert.Equal(["user_id", "email", "joined_at", "score"], records[2].Names!);
        Assert.Equal([3L, "alan@example.com", "2026-11-03T10:00:00Z", null], records[2].Fields);
    }

    [Theory]
    [InlineData("{\"id\":1}", "it is not a JSON array of objects")]
    [InlineData("[{\"id\":1},\n{\"id\":2},\n{\"id\" 3}]", "malformed JSON at line 3, byte 7")]
    [InlineData("[{\"id\":1},\n{\"id\":2}", "malformed JSON at line 2")]
    public async Task A_json_array_that_breaks_fails_the_file_saying_where(string json, string reason)
    {
        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(Encoding.UTF8.GetBytes(json), FileFormat.Json));

        Assert.StartsWith(reason, error.Message);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("deflate")]
    [InlineData("snappy")]
    public async Task Avro_reads_typed_values_with_each_codec(string codec)
    {
        var records = await ReadAsync(SampleFiles.Avro(codec), FileFormat.Avro);

        Assert.Equal([1L, 2L, 3L], records.Select(r => r.Line));
        Assert.Equal(["user_id", "email", "joined_at", "score"], records[0].Names!);
        Assert.Equal([1L, "ada@example.com", new DateTime(2026, 11, 1, 10, 0, 0, DateTimeKind.Utc), 1.50m], records[0].Fields);
        Assert.Null(records[2].Fields[3]);
    }

    [Fact]
    public async Task Each_avro_file_is_read_with_its_own_writer_schema()
    {
        var schema = """{"type":"record","name":"U","fields":[{"name":"email","type":"string"},{"name":"user_id","type":"int"}]}""";
        var parsed = (Avro.RecordSchema)Avro.Schema.Parse(schema);
        var output = new MemoryStream();
        using (var writer = Avro.File.DataFileWriter<Avro.Generic.GenericRecord>.OpenWriter(new Avro.Generic.GenericDatumWriter<Avro.Generic.GenericRecord>(parsed), output, leaveOpen: true))
        {
            var record = new Avro.Generic.GenericRecord(parsed);
            record.Add("email", "x@example.com");
            record.Add("user_id", 9);
            writer.Append(record);
        }

        var records = await ReadAsync(output.ToArray(), FileFormat.Avro);

        Assert.Equal(["email", "user_id"], records[0].Names!);
        Assert.Equal(["x@example.com", 9L], records[0].Fields);
    }

    [Fact]
    public async Task Avro_reads_every_primitive_logical_and_nested_type_as_the_feed_converters_expect()
    {
        var schema = (Avro.RecordSchema)Avro.Schema.Parse("""
            {"type":"record","name":"All","fields":[
              {"name":"flag","type":"boolean"},{"name":"small","type":"int"},{"name":"big","type":"long"},
              {"name":"real","type":"float"},{"name":"double","type":"double"},{"name":"bytes","type":"bytes"},
              {"name":"text","type":["null","string"]},{"name":"either","type":["null","long","string"]},
              {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},
              {"name":"fixed","type":{"type":"fixed","name":"Two","size":2}},
              {"name":"day","type":{"type":"int","logicalType":"date"}},
              {"name":"at_micros","type":["null",{"type":"long","logicalType":"timestamp-micros"}]},
              {"name":"clock","type":{"type":"int","logicalType":"time-millis"}},
              {"name":"id","type":{"type":"string","logicalType":"uuid"}},
              {"name":"amount","type":{"type":"fixed","name":"Amount","size":8,"logicalType":"decimal","precision":12,"scale":3}},
              {"name":"inner","type":["null",{"type":"record","name":"Inner","fields":[{"name":"a","type":"int"}]}]},
              {"name":"tags","type":{"type":"array","items":"string"}},
              {"name":"props","type":{"type":"map","values":"long"}}]}
            """);
        var moment = new DateTime(2026, 11, 1, 10, 0, 0, DateTimeKind.Utc).AddTicks(1230);
        var output = new MemoryStream();
        using (var writer = Avro.File.DataFileWriter<Avro.Generic.GenericRecord>.OpenWriter(new Avro.Generic.GenericDatumWriter<Avro.Generic.GenericRecord>(schema), output, leaveOpen: true))
        {
            var record = new Avro.Generic.GenericRecord(schema);
            record.Add("flag", true);
            record.Add("small", 7);
            record.Add("big", 1L << 40);
            record.Add("real", 1.5f);
            record.Add("double", 2.25);
            record.Add("bytes", new byte[] { 1, 2 });
            record.Add("text", "héllo");
            record.Add("either", "x");
            record.Add("color", new Avro.Generic.GenericEnum((Avro.EnumSchema)schema["color"].Schema, "GREEN"));
            record.Add("fixed", new Avro.Generic.GenericFixed((Avro.FixedSchema)schema["fixed"].Schema, [3, 4]));
            record.Add("day", new DateTime(2026, 11, 2, 0, 0, 0, DateTimeKind.Utc));
            record.Add("at_micros", moment);
            record.Add("clock", new TimeSpan(0, 13, 45, 1, 500));
            record.Add("id", Guid.Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff"));
            record.Add("amount", new Avro.AvroDecimal(12345.678m));
            var inner = new Avro.Generic.GenericRecord((Avro.RecordSchema)((Avro.UnionSchema)schema["inner"].Schema).Schemas[1]);
            inner.Add("a", 1);
            record.Add("inner", inner);
            record.Add("tags", new[] { "a", "b" });
            record.Add("props", new Dictionary<string, object> { ["k"] = 1L });
            writer.Append(record);
            record.Add("text", null);
            record.Add("either", 5L);
            record.Add("at_micros", null);
            record.Add("inner", null);
            writer.Append(record);
        }

        var records = await ReadAsync(output.ToArray(), FileFormat.Avro);

        Assert.Equal([true, 7L, 1L << 40, 1.5, 2.25, new byte[] { 1, 2 }, "héllo", "x", "GREEN", new byte[] { 3, 4 },
            new DateTime(2026, 11, 2, 0, 0, 0, DateTimeKind.Utc), moment, "13:45:01.5000000", Guid.Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff"), 12345.678m],
            records[0].Fields[..15]);
        Assert.Equal(["record", "array", "map"], records[0].Fields[15..].Select(v => Assert.IsType<NestedValue>(v).Kind));
        Assert.Equal([null, 5L, null, null], new[] { records[1].Fields[6], records[1].Fields[7], records[1].Fields[11], records[1].Fields[15] });
    }

    [Fact]
    public async Task A_damaged_avro_block_fails_the_file_after_the_last_good_record()
    {
        var users = Enumerable.Range(1, 2_000).Select(i => SampleFiles.Users[0] with { user_id = i }).ToList();
        var bytes = SampleFiles.Avro("deflate", users, syncInterval: 1024);
        // Every block ends with the file's sync marker, the header too; so the file's last 16 bytes are that marker.
        var marker = bytes[^16..];
        var headerEnd = bytes.AsSpan().IndexOf(marker) + 16;
        var firstBlockEnd = bytes.AsSpan(headerEnd).IndexOf(marker) + headerEnd + 16;
        bytes[firstBlockEnd + 40] ^= 0xFF; // inside the second block

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(bytes, FileFormat.Avro));

        Assert.Matches(@"^damaged Avro data after record \d+ \(", error.Message);
    }

    /// <summary>Apache.Avro pastes the inner exception, stack trace and all, into its message; the file's message keeps its cause only.</summary>
    [Fact]
    public async Task A_truncated_avro_file_fails_saying_where_and_why_in_a_sentence_without_a_stack_trace()
    {
        var users = Enumerable.Range(1, 2_000).Select(i => SampleFiles.Users[0] with { user_id = i }).ToList();
        var bytes = SampleFiles.Avro("null", users, syncInterval: 1024);

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(bytes[..(bytes.Length / 2)], FileFormat.Avro));

        Assert.Matches(@"^damaged Avro data after record \d+ \(End of stream reached\)$", error.Message);
        Internals.AssertNone(error.Message, "the file's message");
    }

    [Fact]
    public async Task An_avro_file_of_anything_but_records_fails_saying_so()
    {
        var output = new MemoryStream();
        using (var writer = Avro.File.DataFileWriter<string>.OpenWriter(new Avro.Generic.GenericDatumWriter<string>(Avro.Schema.Parse("\"string\"")), output, leaveOpen: true))
            writer.Append("x");

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(output.ToArray(), FileFormat.Avro));

        Assert.Equal("its Avro schema is a String, not a record; only records load", error.Message);
    }

    [Fact]
    public async Task A_file_that_is_not_avro_fails_saying_so()
    {
        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(Encoding.UTF8.GetBytes("id,name\n1,a\n"), FileFormat.Avro));

        Assert.StartsWith("it is not an Avro object container file", error.Message);
    }

    [Fact]
    public async Task Parquet_is_read_row_group_by_row_group_with_typed_values()
    {
        var users = Enumerable.Range(1, 25).Select(i => SampleFiles.Users[i % 3] with { user_id = i }).ToList();

        var records = await ReadAsync(await SampleFiles.ParquetAsync(rowGroupSize: 10, users), FileFormat.Parquet);

        Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), records.Select(r => r.Line));
        Assert.Equal(Enumerable.Range(1, 25).Select(i => (object?)(long)i), records.Select(r => r.Fields[0]));
        Assert.Equal(["user_id", "email", "joined_at", "score"], records[0].Names!);
        Assert.Equal(["ada@example.com", new DateTime(2026, 11, 1, 10, 0, 0, DateTimeKind.Utc), 1.50m], records[2].Fields[1..]);
    }

    [Fact]
    public async Task Parquet_without_its_footer_fails_saying_so()
    {
        var bytes = await SampleFiles.ParquetAsync();

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(bytes[..^12], FileFormat.Parquet));

        Assert.StartsWith("it is not a Parquet file, or its footer is missing or damaged", error.Message);
    }

    [Fact]
    public async Task Damaged_parquet_data_fails_the_file_naming_the_row_group_and_the_last_good_record()
    {
        var users = Enumerable.Range(1, 30).Select(i => SampleFiles.Users[0] with { user_id = i }).ToList();
        var bytes = await SampleFiles.ParquetAsync(rowGroupSize: 10, users);
        await using (var reader = await ParquetReader.CreateAsync(new MemoryStream(bytes)))
        {
            var email = reader.Metadata!.RowGroups[1].Columns[1].MetaData!;
            bytes.AsSpan((int)email.DataPageOffset, 8).Fill(0xFF); // the page header of the second row group's email column
        }

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(bytes, FileFormat.Parquet));

        Assert.StartsWith("damaged Parquet data in row group 2 of 3, after record 10 (", error.Message);
    }

    [Fact]
    public async Task Parquet_reads_every_flat_type_as_the_feed_converters_expect()
    {
        var full = new AllParquetTypes(1, 7, 8, -9, 10, 11, 12, 13, 14, 1.5f, 2.25, 3.75m, true, "héllo", [1, 2, 3],
            new DateTime(2026, 11, 1, 10, 0, 0, DateTimeKind.Utc), new DateOnly(2026, 11, 2), Guid.Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff"));
        var output = new MemoryStream();
        await ParquetSerializer.SerializeAsync([full, new AllParquetTypes(2)], output, new ParquetOptions { RowGroupSize = 1 });

        var records = await ReadAsync(output.ToArray(), FileFormat.Parquet);

        Assert.Equal(["Id", "Small", "Tiny", "SignedTiny", "UShort", "UInt", "ULong", "Int", "Long", "Float", "Double", "Decimal", "Bool", "Text", "Bytes", "Moment", "Date", "Guid"],
            records[0].Names!);
        Assert.Equal([1L, 7L, 8L, -9L, 10L, 11L, 12UL, 13L, 14L, 1.5, 2.25, 3.75m, true, "héllo", new byte[] { 1, 2, 3 }, full.Moment, full.Date, full.Guid], records[0].Fields);
        Assert.Equal([2L, .. Enumerable.Repeat<object?>(null, 17)], records[1].Fields);
    }

    [Fact]
    public async Task Parquet_texts_keep_their_values_in_columns_that_repeat_a_few_and_in_columns_of_many()
    {
        DataField[] fields = [new DataField<string>("few"), new DataField<string>("many")];
        var output = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), output))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(fields[0], Enumerable.Range(0, 10_000).Select(i => i % 5 == 4 ? null : $"v{i % 5}").ToArray());
            await group.WriteAsync(fields[1], Enumerable.Range(0, 10_000).Select(i => $"u{i}").ToArray());
        }

        var records = await ReadAsync(output.ToArray(), FileFormat.Parquet);

        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => i % 5 == 4 ? null : $"v{i % 5}"), records.Select(r => r.Fields[0]));
        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => $"u{i}"), records.Select(r => r.Fields[1]));
    }

    [Fact]
    public async Task Parquet_timestamps_dates_times_and_decimals_keep_their_values_in_every_physical_form()
    {
        var moment = new DateTime(2026, 11, 1, 10, 0, 0, 123, DateTimeKind.Utc);
        DataField[] fields =
        [
            new DateTimeDataField("int96", DateTimeFormat.Impala, isNullable: true),
            new DateTimeDataField("millis", DateTimeFormat.DateAndTime, isNullable: true),
            new DateTimeDataField("micros", DateTimeFormat.DateAndTimeMicros, isNullable: true),
            new DateTimeDataField("local_nanos", DateTimeFormat.Timestamp, false, DateTimeTimeUnit.Nanos, isNullable: true),
            new DateTimeDataField("date", DateTimeFormat.Date, isNullable: true),
            new TimeDataField("time_millis", TimeUnitPrecision.Millis, isNullable: true),
            new TimeDataField("time_micros", TimeUnitPrecision.Micros, isNullable: true),
            new DecimalDataField("decimal_bytes", 20, 3, forceByteArrayEncoding: true, isNullable: true),
            new DecimalDataField("decimal_int", 9, 2, isNullable: true),
            new DataField<long>("required"),
        ];
        var output = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), output))
        {
            using var group = writer.CreateRowGroup();
            for (var i = 0; i < 4; i++) await group.WriteAsync<DateTime>(fields[i], new DateTime?[] { moment, null });
            await group.WriteAsync<DateTime>(fields[4], new DateTime?[] { moment.Date, null });
            await group.WriteAsync<int>(fields[5], new int?[] { 49_501_500, null });
            await group.WriteAsync<long>(fields[6], new long?[] { 49_501_500_000, null });
            await group.WriteAsync<decimal>(fields[7], new decimal?[] { 12345678901234.567m, null });
            await group.WriteAsync<decimal>(fields[8], new decimal?[] { 1234.56m, null });
            await group.WriteAsync<long>(fields[9], new long[] { 5, 6 });
        }

        var records = await ReadAsync(output.ToArray(), FileFormat.Parquet);

        Assert.Equal([moment, moment, moment, moment, new DateOnly(2026, 11, 1), 49_501_500L, 49_501_500_000L, 12345678901234.567m, 1234.56m, 5L], records[0].Fields);
        Assert.Equal(DateTimeKind.Utc, ((DateTime)records[0].Fields[1]!).Kind);
        Assert.Equal([.. Enumerable.Repeat<object?>(null, 9), 6L], records[1].Fields);
    }

    [Fact]
    public async Task Parquet_written_by_Arrow_with_dictionaries_and_many_small_pages_keeps_every_value_in_order()
    {
        const int rows = 10_000;
        var output = new MemoryStream();
        using (var properties = new ParquetSharp.WriterPropertiesBuilder().DataPagesize(1_024).EnableDictionary().Build())
        using (var writer = new ParquetSharp.ParquetFileWriter(output, [new ParquetSharp.Column<long>("id"), new ParquetSharp.Column<string>("browser"),
                   new ParquetSharp.Column<DateTime?>("at")], null, properties, null, leaveOpen: true))
        {
            // Two row groups, so batches and pages both cross a row group boundary.
            foreach (var (start, count) in new[] { (0, 6_000), (6_000, rows - 6_000) })
            {
                using var group = writer.AppendRowGroup();
                using (var id = group.NextColumn().LogicalWriter<long>()) id.WriteBatch(Enumerable.Range(start, count).Select(i => (long)i).ToArray());
                using (var browser = group.NextColumn().LogicalWriter<string>()) browser.WriteBatch(Enumerable.Range(start, count).Select(i => i % 7 == 0 ? null! : $"b{i % 3}").ToArray());
                using (var at = group.NextColumn().LogicalWriter<DateTime?>())
                    at.WriteBatch(Enumerable.Range(start, count).Select(i => i % 5 == 0 ? (DateTime?)null : DateTime.UnixEpoch.AddSeconds(i)).ToArray());
            }
            writer.Close();
        }

        var records = await ReadAsync(output.ToArray(), FileFormat.Parquet);

        Assert.Equal(Enumerable.Range(0, rows).Select(i => (object?)(long)i), records.Select(r => r.Fields[0]));
        Assert.Equal(Enumerable.Range(0, rows).Select(i => i % 7 == 0 ? null : $"b{i % 3}"), records.Select(r => r.Fields[1]));
        Assert.Equal(Enumerable.Range(0, rows).Select(i => i % 5 == 0 ? (object?)null : DateTime.UnixEpoch.AddSeconds(i)), records.Select(r => r.Fields[2]));
        Assert.Equal(Enumerable.Range(1, rows).Select(i => (long)i), records.Select(r => r.Line));
    }

    [Fact]
    public async Task A_wide_Parquet_decimal_reads_when_its_value_fits_a_dotnet_decimal()
    {
        DataField[] fields = [new DataField<long>("id"), new DecimalDataField("amount", 38, 2)];
        var output = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), output))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<long>(fields[0], new long[] { 1 });
            await group.WriteAsync<decimal>(fields[1], new decimal[] { 12.5m });
        }

        var records = await ReadAsync(output.ToArray(), FileFormat.Parquet);

        Assert.Equal([1L, 12.5m], records.Single().Fields);
    }

    [Fact]
    public async Task Parquet_lists_structs_and_maps_are_nested_values_and_absent_ones_null()
    {
        NestedParquet[] rows =
        [
            new() { Id = 1, Tags = [1, 2], Inner = new() { A = 5, Items = [1] }, Map = new() { ["k"] = 1 } },
            new() { Id = 2, Tags = [], Inner = null, Map = null },
            new() { Id = 3, Tags = null, Inner = new(), Map = [] },
        ];
        var output = new MemoryStream();
        await ParquetSerializer.SerializeAsync(rows, output);

        var records = await ReadAsync(output.ToArray(), FileFormat.Parquet);

        Assert.Equal([1L, 2L, 3L], records.Select(r => r.Fields[0]));
        Assert.Equal([["list", "struct", "map"], ["list", null, null], [null, "struct", "map"]],
            records.Select(r => r.Fields[1..].Select(v => (v as NestedValue)?.Kind).ToArray()));
        var feed = new FeedDefinition("t-nested", "t", "nested", [new FeedField("Id", FieldType.Integer, PrimaryKey: true), new FeedField("Tags", FieldType.String)],
            NewColumns: NewColumnPolicy.Ignore);
        var validator = RowValidator.ForNames(feed, records[0].Names!, allowMissing: false);
        Assert.Equal("field 'Tags': is a nested list; only flat values load", Assert.IsType<RejectedRow>(validator.Validate(records[0])).Reason);
        Assert.IsType<AcceptedRow>(validator.Validate(records[2]));
    }

    public sealed record AllParquetTypes(int Id, short? Small = null, byte? Tiny = null, sbyte? SignedTiny = null, ushort? UShort = null, uint? UInt = null,
        ulong? ULong = null, int? Int = null, long? Long = null, float? Float = null, double? Double = null, decimal? Decimal = null, bool? Bool = null,
        string? Text = null, byte[]? Bytes = null, DateTime? Moment = null, DateOnly? Date = null, Guid? Guid = null);

    public sealed class NestedParquet
    {
        public int Id { get; set; }
        public List<int>? Tags { get; set; }
        public InnerParquet? Inner { get; set; }
        public Dictionary<string, int>? Map { get; set; }
    }

    public sealed class InnerParquet
    {
        public int? A { get; set; }
        public List<int>? Items { get; set; }
    }

    private static async Task<List<SourceRecord>> ReadAsync(byte[] bytes, FileFormat format)
    {
        var records = new List<SourceRecord>();
        await foreach (var record in FileRecords.ReadAsync(new CountingStream(new MemoryStream(bytes)), new FileSettings(format), null))
            records.Add(record);
        return records;
    }
}
