using System.Text;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Streams;
using Xunit;

namespace HeapDaemon.Tests.Formats;

public sealed class CsvFormatSpecs
{
    [Fact]
    public async Task Quoted_fields_keep_delimiters_newlines_and_doubled_quotes()
    {
        var records = await ReadAsync("id,text\r\n1,\"a, b\"\r\n2,\"line one\nline two\"\r\n3,\"say \"\"hi\"\"\"\r\n");

        Assert.Equal(["id", "text"], records[0].Fields);
        Assert.Equal(["1", "a, b"], records[1].Fields);
        Assert.Equal(["2", "line one\nline two"], records[2].Fields);
        Assert.Equal(["3", "say \"hi\""], records[3].Fields);
        Assert.Equal("3,\"say \"\"hi\"\"\"", records[3].Raw);
        Assert.All(records, r => Assert.Null(r.Problem));
    }

    [Theory]
    [InlineData("a,b\n1,2\n3,\n", new[] { "a,b", "1,2", "3," })]
    [InlineData("a,b\r\n1,2\r\n3,4", new[] { "a,b", "1,2", "3,4" })]
    [InlineData("a,b\n\n1,2\n\r\n3,4\n", new[] { "a,b", "1,2", "3,4" })]
    [InlineData("a,b\n1,\"2\"\n\"3\",4", new[] { "a,b", "1,\"2\"", "\"3\",4" })]
    [InlineData("a,b\r\n1,\"x\"", new[] { "a,b", "1,\"x\"" })]
    [InlineData("a;b\r1;2\r", new[] { "a;b", "1;2" })]
    public async Task Every_record_keeps_its_raw_text_as_written_whatever_its_quotes_and_line_breaks(string text, string[] raw)
    {
        var records = await ReadAsync(text, settings: new FileSettings(Delimiter: text.Contains(';') ? ";" : null));

        Assert.Equal(raw, records.Select(r => r.Raw));
    }

    [Fact]
    public async Task Records_are_numbered_as_rows_from_the_header_and_blank_lines_are_skipped()
    {
        var records = await ReadAsync("a,b\n1,2\n\n3,4");

        Assert.Equal([1L, 2L, 4L], records.Select(r => r.Line));
        Assert.Equal(["3", "4"], records[2].Fields);
    }

    [Fact]
    public async Task A_record_over_several_lines_carries_its_first_and_last_line_and_later_records_keep_their_physical_lines()
    {
        var records = await ReadAsync("a,b\r\n1,\"x\r\ny\n\nz\"\r\n\r\n3,4\n5,\"stray\n6,ok\n7,\"q\",more\n8,ok");

        Assert.Equal([(1L, 1L), (2L, 5L), (7L, 7L), (8L, 10L), (11L, 11L)], records.Select(r => (r.Line, r.LineEnd)));
        Assert.Null(records[1].Problem);
        Assert.StartsWith("malformed quoting", records[3].Problem);
        Assert.Equal("5,\"stray\n6,ok\n7,\"q\",more", records[3].Raw);
    }

    [Fact]
    public async Task A_stray_quote_closed_by_a_quote_on_the_last_line_is_a_reject_over_its_lines_not_an_unclosed_quote()
    {
        var records = await ReadAsync("a,b\n1,\"stray\n2,ok\n3,\"quoted\"\n");

        var folded = records[^1];
        Assert.Equal((2L, 4L), (folded.Line, folded.LineEnd));
        Assert.StartsWith("malformed quoting", folded.Problem);
    }

    [Fact]
    public async Task A_byte_order_mark_is_not_part_of_the_first_column_name()
    {
        var utf8 = await ReadAsync("id,name\n1,é\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        var utf16 = await ReadAsync("id,name\n1,é\n", new UnicodeEncoding(bigEndian: false, byteOrderMark: true));

        Assert.Equal("id", utf8[0].Fields[0]);
        Assert.Equal("é", utf8[1].Fields[1]);
        Assert.Equal(["id", "name"], utf16[0].Fields);
        Assert.Equal("é", utf16[1].Fields[1]);
    }

    [Fact]
    public async Task Other_delimiters_and_quotes_are_honoured()
    {
        var records = await ReadAsync("a|b\n'x|y'|z\n", settings: new FileSettings(FileFormat.Dsv, Delimiter: "|", Quote: "'"));

        Assert.Equal(["x|y", "z"], records[1].Fields);
    }

    [Fact]
    public async Task A_stray_quote_marks_the_record_as_malformed_instead_of_failing_the_file()
    {
        var records = await ReadAsync("a,b\n1,ok\n2,bad \"quote\n3,fine\n");

        var malformed = Assert.Single(records, r => r.Problem is not null);
        Assert.Equal(3, malformed.Line);
        Assert.StartsWith("malformed quoting", malformed.Problem);
    }

    [Fact]
    public async Task Tsv_keeps_commas_and_quoted_tabs_and_an_escape_character_escapes_the_quote()
    {
        var tsv = await ReadAsync("a\tb\n1,5\t\"x\ty\"\n", settings: new FileSettings(FileFormat.Tsv));
        var escaped = await ReadAsync("a,b\n1,\"say \\\"hi\\\"\"\n", settings: new FileSettings(Escape: "\\"));

        Assert.Equal(["1,5", "x\ty"], tsv[1].Fields);
        Assert.Equal(["1", "say \"hi\""], escaped[1].Fields);
    }

    [Fact]
    public async Task Utf16_big_endian_is_read_by_its_byte_order_mark_or_by_its_setting()
    {
        var byMark = await ReadAsync("id,name\n1,é\n", new UnicodeEncoding(bigEndian: true, byteOrderMark: true));
        var bytes = new UnicodeEncoding(bigEndian: true, byteOrderMark: false).GetBytes("id,name\n1,é\n");
        var bySetting = new List<SourceRecord>();
        await foreach (var record in CsvFormat.ReadAsync(new MemoryStream(bytes), new FileSettings(Encoding: "utf-16be")))
            bySetting.Add(record);

        Assert.Equal("é", byMark[1].Fields[1]);
        Assert.Equal("é", bySetting[1].Fields[1]);
    }

    [Fact]
    public async Task A_quote_that_is_never_closed_fails_the_file_naming_the_line_where_it_opened()
    {
        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync("a,b\n1,ok\n2,\"open\n3,x\n4,y\n"));

        Assert.Equal("line 3: a quoted field opens there and is not closed before the end of the file", error.Message);
    }

    [Fact]
    public async Task Bytes_that_are_not_utf8_fail_the_file_naming_their_line_and_offset()
    {
        var bytes = Encoding.UTF8.GetBytes("a,b\n1,ok\n2,").Concat(new byte[] { 0xC3, 0x28 }).Concat(Encoding.UTF8.GetBytes("\n3,x\n")).ToArray();
        var records = new List<SourceRecord>();

        var error = await Assert.ThrowsAsync<UnreadableFileException>(async () =>
        {
            await foreach (var record in CsvFormat.ReadAsync(new MemoryStream(bytes), FileSettings.Default)) records.Add(record);
        });

        Assert.Equal("line 3: bytes that are not valid UTF-8 at byte offset 11", error.Message);
    }

    [Fact]
    public async Task Characters_split_between_two_reads_are_valid_utf8()
    {
        var bytes = Encoding.UTF8.GetBytes("id,title\n1,Item – café ✓ 😀\n2,naïve\n");
        var records = new List<SourceRecord>();

        // Three bytes per read split the dash, the check mark and the emoji between reads.
        await foreach (var record in CsvFormat.ReadAsync(new ChunkedStream(bytes, 3), FileSettings.Default)) records.Add(record);

        Assert.Equal(["1", "Item – café ✓ 😀"], records[1].Fields);
        Assert.Equal(["2", "naïve"], records[2].Fields);
    }

    private sealed class ChunkedStream(byte[] bytes, int chunk) : MemoryStream(bytes)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(chunk, buffer.Length)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], ct);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            base.ReadAsync(buffer, offset, Math.Min(chunk, count), ct);
    }

    private static async Task<List<SourceRecord>> ReadAsync(string text, Encoding? encoding = null, FileSettings? settings = null)
    {
        var bytes = (encoding ?? new UTF8Encoding(false)).GetPreamble().Concat((encoding ?? Encoding.UTF8).GetBytes(text)).ToArray();
        var records = new List<SourceRecord>();
        await foreach (var record in CsvFormat.ReadAsync(new MemoryStream(bytes), settings ?? FileSettings.Default))
            records.Add(record);
        return records;
    }
}
