using System.Text;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Formats.Inference;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Formats;

public sealed class InferenceSpecs
{
    [Theory]
    [InlineData("id,name,joined\n1,ada,2026-11-01\n2,grace,2026-11-02\n", """{"format":"csv","header":true,"compression":"auto"}""")]
    [InlineData("id\tname\tnote\n1\tada\ta, b, c\n2\tgrace\td, e\n", """{"format":"tsv","header":true,"compression":"auto"}""")]
    [InlineData("id|name\n1|ada\n2|grace\n", """{"format":"psv","header":true,"compression":"auto"}""")]
    [InlineData("id;name;amount\n1;ada;1,5\n2;grace;2,25\n", """{"format":"dsv","delimiter":";","header":true,"compression":"auto"}""")]
    [InlineData("1,ada,2026-11-01\n2,grace,2026-11-02\n", """{"format":"csv","header":false,"compression":"auto"}""")]
    [InlineData("id,name\n1,'ada, the first'\n2,'grace'\n", """{"format":"csv","quote":"'","header":true,"compression":"auto"}""")]
    [InlineData("id,quote\n1,\"say \\\"hi\\\"\"\n2,\"x\"\n", """{"format":"csv","escape":"\\","header":true,"compression":"auto"}""")]
    [InlineData("[{\"id\":1}]", """{"format":"json","compression":"auto"}""")]
    [InlineData("  {\"id\":1}\n{\"id\":2}\n", """{"format":"ndjson","compression":"auto"}""")]
    public void Delimited_and_json_settings_are_inferred_from_the_first_bytes(string sample, string expected)
    {
        var settings = FormatSniffer.Sniff(Encoding.UTF8.GetBytes(sample), Compression.Auto, null);

        Assert.Equal(System.Text.Json.JsonSerializer.Deserialize<FileSettings>(expected, HeapDaemon.Actors.Json.HeapJson.Options), settings);
    }

    [Fact]
    public async Task Avro_and_parquet_are_known_by_their_magic_bytes()
    {
        Assert.Equal(FileFormat.Avro, FormatSniffer.Sniff(SampleFiles.Avro("null"), Compression.None, null).Format);
        Assert.Equal(FileFormat.Parquet, FormatSniffer.Sniff(await SampleFiles.ParquetAsync(), Compression.Gzip, null).Format);
    }

    [Theory]
    [InlineData(new[] { "true", "False", "yes", "N" }, FieldType.Boolean)]
    [InlineData(new[] { "1", "-42", "0" }, FieldType.Integer)]
    [InlineData(new[] { "00501", "10001" }, FieldType.String)]
    [InlineData(new[] { "1.50", "2", "-3.125" }, FieldType.Decimal)]
    [InlineData(new[] { "1e10", "2.5" }, FieldType.Float)]
    [InlineData(new[] { "2026-11-01", "2026/11/02", "11/03/2026" }, FieldType.Date)]
    [InlineData(new[] { "2026-11-01T10:00:00Z", "2026-11-02 10:00:00", "2026-11-03" }, FieldType.Datetime)]
    [InlineData(new[] { "1", "two" }, FieldType.String)]
    [InlineData(new[] { "1", "0" }, FieldType.Integer)]
    public void A_column_of_text_gets_the_narrowest_type_every_value_loads_as(string[] values, FieldType expected)
    {
        Assert.Equal(expected, ColumnTypes.Infer(values.Append("")).Type);
    }

    [Fact]
    public void Decimal_columns_get_room_for_their_widest_value_and_typed_values_keep_their_type()
    {
        Assert.Equal(new InferredType(FieldType.Decimal, 18, 3), ColumnTypes.Infer(["1.50", "123456.125"]));
        Assert.Equal(new InferredType(FieldType.Decimal, 20, 2), ColumnTypes.Infer([123456789012345678m, 0.25m, 3L]));
        Assert.Equal(FieldType.Integer, ColumnTypes.Infer([1L, null, 2L]).Type);
        Assert.Equal(FieldType.Float, ColumnTypes.Infer([1L, 2.5]).Type);
        Assert.Equal(FieldType.Datetime, ColumnTypes.Infer([new DateTime(2026, 11, 1), new DateOnly(2026, 11, 2)]).Type);
        Assert.Equal(FieldType.Datetime, ColumnTypes.Infer(["2026-11-01T10:00:00Z"]).Type);
        Assert.Equal(FieldType.String, ColumnTypes.Infer([1L, "x"]).Type);
        Assert.Equal(FieldType.String, ColumnTypes.Infer([null, ""]).Type);
    }
}
