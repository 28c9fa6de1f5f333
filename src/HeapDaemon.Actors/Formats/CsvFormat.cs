using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using HeapDaemon.Actors.Feeds;

namespace HeapDaemon.Actors.Formats;

/// <summary>Reads records from a delimited text stream, forward only, one record in memory at a time.</summary>
public static class CsvFormat
{
    private static readonly Encoding StrictUtf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);

    /// <summary>
    /// Yields every record, the header row included, numbered from 1 as CsvHelper counts rows. A record with stray
    /// quotes is still yielded, with the problem noted, so it becomes a reject with its line instead of failing the
    /// file. A quote that is never closed swallows the rest of the file into one field, so it fails the file, naming
    /// the line where it opened; so do bytes that are not text in the file's encoding.
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
                unclosed |= args.Field.StartsWith(settings.QuoteChar) && args.Field.AsSpan(1).IndexOfAny('\r', '\n') >= 0;
            },
        };
        // UTF-8 unless configured or a byte order mark says otherwise (UTF-16 files carry one).
        var encoding = settings.TextEncoding ?? StrictUtf8;
        if (encoding is UTF8Encoding) stream = new Utf8CheckingStream(stream);
        using var reader = new StreamReader(stream, encoding, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        using var parser = new CsvParser(reader, configuration);
        SourceRecord? suspect = null;
        long recordStart = 0;
        while (await ReadAsync(parser, reader, ct))
        {
            // A record whose quoted field ran over line breaks is only an unclosed quote if nothing follows it.
            if (suspect is not null) yield return suspect;
            suspect = null;
            var fields = parser.Record ?? [];
            var length = parser.CharCount - recordStart;
            recordStart = parser.CharCount;
            // Most records are their fields, the delimiters and a one-character line break (LF, or CR): nothing
            // quoted, so their raw text is their fields joined, built only for a reject. Any other record (quoted
            // fields, CRLF, blank lines before it, the last line without a break) keeps the text as read.
            var record = badData is null && length == JoinedLength(fields, configuration.Delimiter) + 1
                ? new SourceRecord(parser.Row, fields, null) { JoinedBy = configuration.Delimiter }
                : new SourceRecord(parser.Row, fields, parser.RawRecord.TrimEnd('\r', '\n')) { Problem = badData };
            if (unclosed) suspect = record;
            else yield return record;
            badData = null;
            unclosed = false;
        }
        if (suspect is not null)
            throw new UnreadableFileException($"line {suspect.Line}: a quoted field opens there and is not closed before the end of the file");
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

    private static long JoinedLength(string[] fields, string delimiter)
    {
        long length = (fields.Length - 1) * delimiter.Length;
        foreach (var field in fields) length += field.Length;
        return length;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";
}
