using System.Text;

namespace HeapDaemon.Actors.Feeds;

/// <summary>A feed's date pattern in .NET terms, or why it cannot be used.</summary>
public readonly record struct TranslatedFormat(string? Pattern, string? Error);

/// <summary>
/// The formats dates and datetimes are read in: a field's (or feed's) own Joda-style pattern, as Amperity takes
/// them, or else Amperity's fallback order, tried in turn, the first match winning.
/// </summary>
public static class DateFormats
{
    private static readonly string[] Dates =
        ["yyyy-MM-dd", "yyyyMMdd", "yyyy/MM/dd", "MM/dd/yyyy", "MM/dd/yy", "dd-MMM-yyyy", "dd-MMM-yy", "dd MMM yyyy", "ddMMMyyyy"];

    private static readonly string[] Times =
        ["HH:mm:ss.FFFFFFFK", "HH:mm:ss.FFFFFFF", "HH:mm:ssK", "HH:mm:ss", "HH:mmK", "HH:mm", "HH", "HHmmssK", "HHmmss", "hh:mm:ss tt", "hh:mm tt"];

    /// <summary>Amperity's order, <c>yyyy-MM-dd HH:mm:ss.SSS</c> (time optional) first; ISO 8601's 'T' accepted too.</summary>
    public static readonly string[] DatetimeFallbacks =
        Dates.SelectMany(date => new[] { date }.Concat(Times.SelectMany(time => new[] { $"{date} {time}", $"{date}'T'{time}" }))).ToArray();

    public static readonly string[] DateFallbacks = Dates;

    /// <summary>The formats a field's values are read with.</summary>
    public static string[] For(FeedField field, string? feedDatetimeFormat)
    {
        var own = field.Format ?? (field.Type == FieldType.Datetime ? feedDatetimeFormat : null);
        if (own is not null) return [Translate(own).Pattern!];
        return field.Type == FieldType.Date ? DateFallbacks : DatetimeFallbacks;
    }

    /// <summary>
    /// Joda-Time pattern → .NET custom format. Joda's letters mostly mean the same; <c>S</c> (fraction) becomes
    /// <c>f</c>, <c>a</c> becomes <c>tt</c>, <c>ZZ</c> (-08:00) becomes <c>zzz</c>. Zone names (<c>z</c>, <c>ZZZ</c>)
    /// and day-of-year (<c>D</c>) cannot be parsed reliably and are refused, as Amperity refuses zone names.
    /// </summary>
    public static TranslatedFormat Translate(string joda)
    {
        if (string.IsNullOrWhiteSpace(joda)) return new(null, "the format is empty");
        var pattern = new StringBuilder();
        for (var i = 0; i < joda.Length;)
        {
            var c = joda[i];
            var run = 1;
            while (i + run < joda.Length && joda[i + run] == c) run++;
            if (c == '\'')
            {
                var end = joda.IndexOf('\'', i + 1);
                if (end < 0) return new(null, $"format '{joda}' has an unclosed quote");
                pattern.Append(end == i + 1 ? "\\'" : joda[i..(end + 1)]);
                i = end + 1;
                continue;
            }
            switch (c)
            {
                case 'y' or 'M' or 'd' or 'H' or 'h' or 'm' or 's':
                    pattern.Append(c, run);
                    break;
                case 'S' when run <= 7:
                    pattern.Append('f', run);
                    break;
                case 'S':
                    return new(null, $"format '{joda}': at most 7 fraction digits (S) can be read");
                case 'a':
                    pattern.Append("tt");
                    break;
                case 'Z' when run <= 2:
                    pattern.Append("zzz");
                    break;
                case 'z' or 'Z' or 'D' or 'e' or 'E' or 'w' or 'x' or 'G' or 'C' or 'Y' or 'k' or 'K':
                    return new(null, $"format '{joda}': '{new string(c, run)}' cannot be read (use numbers and offsets, not names)");
                case var letter when char.IsLetter(letter):
                    return new(null, $"format '{joda}': '{letter}' is not a date pattern letter; quote literal text with '");
                default:
                    // Everything else is literal; escape what .NET would read as a specifier.
                    for (var k = 0; k < run; k++) pattern.Append(c is '\\' or '%' or '"' ? "\\" + c : c.ToString());
                    break;
            }
            i += run;
        }
        return new(pattern.ToString(), null);
    }
}
