using System.Text;
using System.Text.Json.Serialization;

namespace HeapDaemon.Actors.Formats;

/// <summary>How a file's rows are written. Csv, tsv and psv are delimited text with their usual delimiter; dsv takes any.</summary>
public enum FileFormat { Csv, Tsv, Psv, Dsv, Ndjson, Json, Avro, Parquet }

/// <summary>
/// What wraps the rows once any PGP layer is removed. <c>Auto</c> opens gzip when its magic bytes say so, as Amperity
/// does; archives (zip, tar, tgz) are opened only when asked for, since which member to load is the user's choice.
/// </summary>
public enum Compression { Auto, None, Gzip, Zip, Tar, Tgz }

/// <summary>
/// How one courier file is written. Unset properties take the format's defaults, so the JSON a user writes (and the
/// preview answers) holds only what matters: <c>{"format": "tsv"}</c> or
/// <c>{"format": "csv", "compression": "zip", "member": "exports/users_*.csv"}</c>.
/// </summary>
/// <param name="Delimiter">One character; csv, tsv and psv fix it, dsv requires it.</param>
/// <param name="Quote">One character; default <c>"</c>.</param>
/// <param name="Escape">The character that escapes a quote inside a quoted field; default the quote itself (RFC 4180 doubling).</param>
/// <param name="Header">Whether the first row names the columns; default true.</param>
/// <param name="Encoding">utf-8, utf-16, utf-16le or utf-16be; default: UTF-16 when a byte order mark says so, else UTF-8.</param>
/// <param name="Member">The archive member to load: a name or a wildcard (<c>*</c> and <c>?</c>, not crossing '/'); a pattern
/// without '/' is matched against the member's file name. Default: the archive's only file.</param>
public sealed record FileSettings(
    FileFormat Format = FileFormat.Csv,
    string? Delimiter = null,
    string? Quote = null,
    string? Escape = null,
    bool? Header = null,
    string? Encoding = null,
    Compression Compression = Compression.Auto,
    string? Member = null)
{
    public static readonly FileSettings Default = new();

    [JsonIgnore] public bool IsDelimited => Format is FileFormat.Csv or FileFormat.Tsv or FileFormat.Psv or FileFormat.Dsv;

    [JsonIgnore] public bool IsArchive => Compression is Compression.Zip or Compression.Tar or Compression.Tgz;

    [JsonIgnore] public char DelimiterChar => Delimiter is { Length: 1 } d ? d[0] : Format switch
    {
        FileFormat.Tsv => '\t',
        FileFormat.Psv => '|',
        _ => ',',
    };

    [JsonIgnore] public char QuoteChar => Quote is { Length: 1 } q ? q[0] : '"';

    [JsonIgnore] public char EscapeChar => Escape is { Length: 1 } e ? e[0] : QuoteChar;

    [JsonIgnore] public bool HasHeader => Header ?? true;

    /// <summary>The configured text encoding, or null to detect UTF-16 by its byte order mark and read UTF-8 otherwise.</summary>
    /// <remarks>Decoders throw on invalid bytes: a file that is not what it claims fails instead of loading U+FFFD.</remarks>
    [JsonIgnore] public Encoding? TextEncoding => Encoding?.ToLowerInvariant() switch
    {
        null => null,
        "utf-8" or "utf8" => new UTF8Encoding(false, throwOnInvalidBytes: true),
        "utf-16" or "utf-16le" => new UnicodeEncoding(bigEndian: false, byteOrderMark: true, throwOnInvalidBytes: true),
        "utf-16be" => new UnicodeEncoding(bigEndian: true, byteOrderMark: true, throwOnInvalidBytes: true),
        _ => throw new InvalidOperationException($"encoding '{Encoding}' is not supported"),
    };

    /// <summary>Every problem with the settings, so a user can fix them in one go.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (IsDelimited)
        {
            if (Delimiter is not null && (Delimiter.Length != 1 || Delimiter is "\r" or "\n" || Delimiter == Quote))
                errors.Add("delimiter must be one character (not a line break, not the quote)");
            else if (Format == FileFormat.Dsv && Delimiter is null)
                errors.Add("format 'dsv' needs a delimiter");
            else if (Delimiter is { Length: 1 } d && Format != FileFormat.Dsv && d[0] != new FileSettings(Format).DelimiterChar)
                errors.Add($"format '{Name(Format)}' is delimited by {Show(new FileSettings(Format).DelimiterChar)}; use format 'dsv' for delimiter {Show(d[0])}");
            if (Quote is not null && (Quote.Length != 1 || Quote is "\r" or "\n" || QuoteChar == DelimiterChar))
                errors.Add("quote must be one character, different from the delimiter and not a line break");
            if (Escape is not null && (Escape.Length != 1 || Escape is "\r" or "\n" || EscapeChar == DelimiterChar))
                errors.Add("escape must be one character, different from the delimiter and not a line break");
            if (Encoding is not null && Encoding.ToLowerInvariant() is not ("utf-8" or "utf8" or "utf-16" or "utf-16le" or "utf-16be"))
                errors.Add($"encoding '{Encoding}' is not supported; use utf-8, utf-16, utf-16le or utf-16be");
        }
        else
        {
            var textOnly = new[] { (Delimiter, "delimiter"), (Quote, "quote"), (Escape, "escape"), (Encoding, "encoding") }
                .Where(s => s.Item1 is not null).Select(s => s.Item2).ToList();
            if (Header is not null) textOnly.Add("header");
            if (textOnly.Count > 0)
                errors.Add($"{string.Join(", ", textOnly)} apply only to delimited text (csv, tsv, psv, dsv), not to format '{Name(Format)}'" +
                           (Format is FileFormat.Ndjson or FileFormat.Json ? " (JSON is always UTF-8)" : ""));
        }
        if (Member is not null && !IsArchive)
            errors.Add("member applies only to compression 'zip', 'tar' or 'tgz'");
        if (Member is { } m && (m.Length is 0 or > 1024 || m.EndsWith('/')))
            errors.Add("member must name a file in the archive (not empty, not a folder, at most 1024 characters)");
        return errors;
    }

    public static string Name(FileFormat format) => format.ToString().ToLowerInvariant();

    private static string Show(char c) => c switch { '\t' => "tab", ' ' => "space", _ => $"'{c}'" };
}
