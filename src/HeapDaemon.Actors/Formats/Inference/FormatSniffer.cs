using System.Text;
using CsvHelper;

namespace HeapDaemon.Actors.Formats.Inference;

/// <summary>
/// Guesses how a file is written from its first bytes (after decryption and decompression): the format, and for
/// delimited text its delimiter, quote, escape and whether the first row is a header. A guess for a person to
/// confirm in the preview, never applied to a courier on its own.
/// </summary>
public static class FormatSniffer
{
    private static readonly char[] Delimiters = [',', '\t', '|', ';'];

    /// <summary>Lines looked at for delimited text; the sample may end mid-line, so its last line is dropped.</summary>
    private const int SampleLines = 50;

    public static FileSettings Sniff(ReadOnlySpan<byte> head, Compression compression, string? member)
    {
        var settings = new FileSettings(Compression: compression, Member: member);
        if (head.StartsWith("PAR1"u8)) return settings with { Format = FileFormat.Parquet };
        if (head.StartsWith("Obj\u0001"u8)) return settings with { Format = FileFormat.Avro };
        var text = Decode(head, out var encoding);
        var start = text.TrimStart();
        if (encoding is null && start.StartsWith('[')) return settings with { Format = FileFormat.Json };
        if (encoding is null && start.StartsWith('{')) return settings with { Format = FileFormat.Ndjson };
        // A UTF-16 byte order mark is found again when the file is read, so the encoding stays unset.
        return SniffDelimited(text, settings);
    }

    private static FileSettings SniffDelimited(string text, FileSettings settings)
    {
        var lines = text.Split('\n');
        // The sample may have cut the last line short.
        var sample = string.Join('\n', lines.Length > 1 ? lines.Take(Math.Min(lines.Length - 1, SampleLines)) : lines);
        var quote = QuoteOf(sample);
        var best = Delimiters
            .Select((d, order) => (Delimiter: d, Order: order, Score: Consistency(sample, d, quote)))
            .OrderByDescending(c => c.Score.Fields > 1 ? c.Score.Share : 0)
            .ThenByDescending(c => c.Score.Fields)
            .ThenBy(c => c.Order)
            .First();
        var (format, delimiter) = best.Delimiter switch
        {
            ',' => (FileFormat.Csv, (string?)null),
            '\t' => (FileFormat.Tsv, null),
            '|' => (FileFormat.Psv, null),
            var other => (FileFormat.Dsv, other.ToString()),
        };
        var escape = sample.Contains($"\\{quote}", StringComparison.Ordinal) ? "\\" : null;
        settings = settings with
        {
            Format = format,
            Delimiter = delimiter,
            Quote = quote == '"' ? null : quote.ToString(),
            Escape = escape,
        };
        var rows = Rows(sample, settings).ToList();
        return settings with { Header = HasHeader(rows) };
    }

    /// <summary>The share of rows with the most common field count, and that count.</summary>
    private static (double Share, int Fields) Consistency(string sample, char delimiter, char quote)
    {
        var counts = Rows(sample, new FileSettings(FileFormat.Dsv, delimiter.ToString(), quote.ToString())).Select(r => r.Length).ToList();
        if (counts.Count == 0) return (0, 0);
        var mode = counts.GroupBy(c => c).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key).First();
        return ((double)mode.Count() / counts.Count, mode.Key);
    }

    private static char QuoteOf(string sample) =>
        !sample.Contains('"') && (sample.StartsWith('\'') || sample.Contains(",'", StringComparison.Ordinal) || sample.Contains("\t'", StringComparison.Ordinal)) ? '\'' : '"';

    /// <summary>
    /// A header row names columns: its values are all present and distinct, none looks like data of a type (a
    /// number, a date), and where a column holds such data below, the first row's value is not of that type.
    /// A file whose every row is text and looks the same is taken to have a header, as most files do.
    /// </summary>
    private static bool HasHeader(List<string[]> rows)
    {
        if (rows.Count == 0) return true;
        var first = rows[0];
        if (first.Any(string.IsNullOrWhiteSpace) || first.Distinct(StringComparer.OrdinalIgnoreCase).Count() != first.Length) return false;
        if (first.Any(v => ColumnTypes.InferText([v]).Type != Feeds.FieldType.String)) return false;
        return true;
    }

    private static IEnumerable<string[]> Rows(string sample, FileSettings settings)
    {
        // Bad quoting is one sign among others of a wrong guess, not an error here.
        var configuration = CsvFormat.Configuration(settings) with { BadDataFound = null };
        using var parser = new CsvParser(new StringReader(sample), configuration);
        while (parser.Read()) yield return parser.Record ?? [];
    }

    /// <summary>Text in UTF-16 when a byte order mark says so (then its encoding name), otherwise UTF-8.</summary>
    private static string Decode(ReadOnlySpan<byte> head, out string? encoding)
    {
        if (head is [0xFF, 0xFE, ..]) { encoding = "utf-16le"; return Encoding.Unicode.GetString(head[2..]); }
        if (head is [0xFE, 0xFF, ..]) { encoding = "utf-16be"; return Encoding.BigEndianUnicode.GetString(head[2..]); }
        encoding = null;
        return Encoding.UTF8.GetString(head.StartsWith(Encoding.UTF8.Preamble) ? head[3..] : head);
    }
}
