using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using HeapDaemon.Actors.Feeds;

namespace HeapDaemon.Actors.Formats;

/// <summary>How a delimited text file is written. Defaults are RFC 4180 CSV with a header row.</summary>
public sealed record CsvSettings(string Delimiter = ",", string Quote = "\"", bool Header = true)
{
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Delimiter.Length != 1 || Delimiter is "\r" or "\n") errors.Add("delimiter must be one character (not a line break)");
        if (Quote.Length != 1 || Quote == Delimiter) errors.Add("quote must be one character, different from the delimiter");
        return errors;
    }
}

/// <summary>Reads records from a delimited text stream, forward only, one record in memory at a time.</summary>
public static class CsvFormat
{
    /// <summary>
    /// Yields every record, the header row included, numbered from 1 as CsvHelper counts rows. A record with stray
    /// quotes is still yielded, with the problem noted, so it becomes a reject with its line instead of failing the
    /// file.
    /// </summary>
    public static async IAsyncEnumerable<SourceRecord> ReadAsync(Stream stream, CsvSettings settings,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        string? badData = null;
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            Delimiter = settings.Delimiter,
            Quote = settings.Quote[0],
            Mode = CsvMode.RFC4180,
            DetectDelimiter = false,
            IgnoreBlankLines = true,
            BadDataFound = args => badData ??= $"malformed quoting near '{Shorten(args.Field)}'",
        };
        // UTF-8 unless a byte order mark says otherwise (UTF-16 files carry one).
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
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
