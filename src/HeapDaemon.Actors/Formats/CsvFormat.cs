using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Streams;

namespace HeapDaemon.Actors.Formats;

/// <summary>Reads records from a delimited text stream, forward only, one record in memory at a time.</summary>
public static class CsvFormat
{
    private static readonly Encoding StrictUtf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);

    /// <summary>
    /// Yields every record, the header row included, numbered by the physical lines it spans (the header is line 1;
    /// blank lines count). A record with stray quotes is still yielded, with the problem noted, so it becomes a
    /// reject with its lines instead of failing the file: a quote at the start of a field folds every line up to the
    /// next quote into that record. A quote that is never closed swallows the rest of the file into one field, so it
    /// fails the file, naming the line where it opened; so do bytes that are not text in the file's encoding.
    /// </summary>
    public static async IAsyncEnumerable<SourceRecord> ReadAsync(Stream stream, FileSettings settings,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        string? badData = null;
        var unclosed = false;
        var configuration = Configuration(settings) with
        {
            BadDataFound = args =>
            {
                badData ??= $"malformed quoting near '{Shorten(args.Field)}'";
                unclosed |= args.Field.StartsWith(settings.QuoteChar) && args.Field.AsSpan(1).IndexOfAny('\r', '\n') >= 0 &&
                            NeverCloses(args.Field, settings.QuoteChar, settings.EscapeChar);
            },
        };
        // UTF-8 unless configured or a byte order mark says otherwise (UTF-16 files carry one).
        var encoding = settings.TextEncoding ?? StrictUtf8;
        if (encoding is UTF8Encoding) stream = new Utf8CheckingStream(stream);
        using var reader = new StreamReader(stream, encoding, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        using var parser = new CsvParser(reader, configuration);
        long recordStart = 0, lastRow = 0, lastLine = 0;
        while (await ReadAsync(parser, reader, ct))
        {
            // CsvHelper's Row counts records and the blank lines skipped before them; RawRow counts physical lines, so
            // a record begins on the line after the last one's end, plus the blank lines between them.
            var line = lastLine + (parser.Row - lastRow);
            (lastRow, lastLine) = (parser.Row, parser.RawRow);
            var fields = parser.Record ?? []; // CsvHelper reports bad data as it reads the fields, here
            if (unclosed) throw new UnreadableFileException($"line {line}: a quoted field opens there and is not closed before the end of the file");
            var length = parser.CharCount - recordStart;
            recordStart = parser.CharCount;
            // Most records are their fields, the delimiters and a one-character line break (LF, or CR): nothing
            // quoted, so their raw text is their fields joined, built only for a reject. Any other record (quoted
            // fields, CRLF, blank lines before it, the last line without a break) keeps the text as read.
            yield return badData is null && length == JoinedLength(fields, configuration.Delimiter) + 1
                ? new SourceRecord(line, fields, null) { JoinedBy = configuration.Delimiter, LineEnd = parser.RawRow }
                : new SourceRecord(line, fields, parser.RawRecord.TrimEnd('\r', '\n')) { Problem = badData, LineEnd = parser.RawRow };
            badData = null;
        }
    }

    /// <summary>RFC 4180 with the file's delimiter, quote and escape; blank lines skipped.</summary>
    public static CsvConfiguration Configuration(FileSettings settings) => new(CultureInfo.InvariantCulture)
    {
        Delimiter = settings.DelimiterChar.ToString(),
        Quote = settings.QuoteChar,
        Escape = settings.EscapeChar,
        Mode = CsvMode.RFC4180,
        DetectDelimiter = false,
        IgnoreBlankLines = true,
    };

    private static async Task<bool> ReadAsync(CsvParser parser, StreamReader reader, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        try
        {
            return await parser.ReadAsync();
        }
        catch (DecoderFallbackException e)
        {
            throw new UnreadableFileException($"after line {parser.Row}: bytes that are not valid {reader.CurrentEncoding.WebName} text", e);
        }
    }

    /// <summary>
    /// Whether a field that opens with a quote has no quote closing it (every later quote is escaped): the parser
    /// then read to the end of the file. A field that did close, and has text after its closing quote, is a stray
    /// quote's fold, whose record is a reject.
    /// </summary>
    private static bool NeverCloses(string field, char quote, char escape)
    {
        for (var i = 1; i < field.Length; i++)
        {
            if (escape != quote && field[i] == escape) i++;
            else if (field[i] != quote) continue;
            else if (escape == quote && i + 1 < field.Length && field[i + 1] == quote) i++;
            else return false;
        }
        return true;
    }

    private static long JoinedLength(string[] fields, string delimiter)
    {
        long length = (fields.Length - 1) * delimiter.Length;
        foreach (var field in fields) length += field.Length;
        return length;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";
}
