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
    /// file.
    /// </summary>
    public static async IAsyncEnumerable<SourceRecord> ReadAsync(Stream stream, FileSettings settings,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        string? badData = null;
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            Delimiter = settings.DelimiterChar.ToString(),
            Quote = settings.QuoteChar,
            Escape = settings.EscapeChar,
            Mode = CsvMode.RFC4180,
            DetectDelimiter = false,
            IgnoreBlankLines = true,
            BadDataFound = args => badData ??= $"malformed quoting near '{Shorten(args.Field)}'",
        };
        // UTF-8 unless configured or a byte order mark says otherwise (UTF-16 files carry one).
        using var reader = new StreamReader(stream, settings.TextEncoding ?? StrictUtf8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        using var parser = new CsvParser(reader, configuration);
        while (await parser.ReadAsync())
        {
            ct.ThrowIfCancellationRequested();
            var fields = parser.Record ?? [];
            var raw = parser.RawRecord.TrimEnd('\r', '\n');
            if (badData is not null)
            {
                yield return new SourceRecord(parser.Row, fields, raw) { Problem = badData };
                badData = null;
                continue;
            }
            yield return new SourceRecord(parser.Row, fields, raw);
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";
}
