using System.Text.Json;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Json;
using Xunit;

namespace HeapDaemon.Tests.Formats;

public sealed class FileSettingsSpecs
{
    [Theory]
    [InlineData(FileFormat.Csv, ',')]
    [InlineData(FileFormat.Tsv, '\t')]
    [InlineData(FileFormat.Psv, '|')]
    public void Each_delimited_format_has_its_own_delimiter(FileFormat format, char delimiter)
    {
        var settings = new FileSettings(format);

        Assert.Equal(delimiter, settings.DelimiterChar);
        Assert.Equal('"', settings.QuoteChar);
        Assert.Equal('"', settings.EscapeChar);
        Assert.True(settings.HasHeader);
        Assert.Empty(settings.Validate());
    }

    [Theory]
    [InlineData("""{"format":"dsv"}""", "format 'dsv' needs a delimiter")]
    [InlineData("""{"format":"tsv","delimiter":";"}""", "format 'tsv' is delimited by tab; use format 'dsv' for delimiter ';'")]
    [InlineData("""{"format":"dsv","delimiter":";;"}""", "delimiter must be one character")]
    [InlineData("""{"format":"dsv","delimiter":"\n"}""", "delimiter must be one character (not a line break")]
    [InlineData("""{"format":"csv","quote":","}""", "quote must be one character, different from the delimiter")]
    [InlineData("""{"format":"csv","escape":""}""", "escape must be one character")]
    [InlineData("""{"format":"csv","encoding":"latin-1"}""", "encoding 'latin-1' is not supported")]
    [InlineData("""{"format":"parquet","delimiter":",","header":true}""", "delimiter, header apply only to delimited text (csv, tsv, psv, dsv), not to format 'parquet'")]
    [InlineData("""{"format":"ndjson","encoding":"utf-16"}""", "encoding apply only to delimited text (csv, tsv, psv, dsv), not to format 'ndjson' (JSON is always UTF-8)")]
    [InlineData("""{"format":"csv","member":"a.csv"}""", "member applies only to compression 'zip', 'tar' or 'tgz'")]
    [InlineData("""{"format":"csv","compression":"zip","member":"dir/"}""", "member must name a file in the archive")]
    public void Invalid_combinations_are_refused_with_the_reason(string json, string reason)
    {
        var settings = JsonSerializer.Deserialize<FileSettings>(json, HeapJson.Options)!;

        Assert.Contains(settings.Validate(), e => e.StartsWith(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void Settings_serialize_to_only_what_was_set_and_read_back_equal()
    {
        var settings = new FileSettings(FileFormat.Dsv, Delimiter: ";", Compression: Compression.Tgz, Member: "exports/users_*.csv");

        var json = JsonSerializer.Serialize(settings, HeapJson.Options);

        Assert.Equal("""{"format":"dsv","delimiter":";","compression":"tgz","member":"exports/users_*.csv"}""", json);
        Assert.Equal(settings, JsonSerializer.Deserialize<FileSettings>(json, HeapJson.Options));
        Assert.Equal("""{"format":"csv","compression":"auto"}""", JsonSerializer.Serialize(FileSettings.Default, HeapJson.Options));
    }

    [Fact]
    public void An_unknown_setting_is_refused_rather_than_ignored()
    {
        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<FileSettings>("""{"format":"csv","seperator":";"}""", HeapJson.Options));

        Assert.Contains("seperator", error.Message);
    }

    [Fact]
    public void A_courier_file_names_the_entry_whose_settings_are_wrong()
    {
        var files = new[] { new CourierFile("a.csv", "feed"), new CourierFile("b.tsv", "feed", new FileSettings(FileFormat.Tsv, Member: "x")) };

        Assert.Equal(["files[1].settings: member applies only to compression 'zip', 'tar' or 'tgz'"], files.SelectMany((file, i) => file.Validate(i)));
    }
}
