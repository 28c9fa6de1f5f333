using System.Globalization;

namespace HeapDaemon.Actors.Feeds;

/// <summary>Turns the text of one field into the CLR value its feed type is written to PostgreSQL as.</summary>
public static partial class FieldConverter
{
    /// <param name="dateFormats">For Date and Datetime fields, the formats to try in order (<see cref="DateFormats.For"/>).</param>
    /// <returns>null when the text converts; otherwise why it does not.</returns>
    public static string? TryConvert(FeedField field, string text, string[] dateFormats, out object? value)
    {
        value = null;
        switch (field.Type)
        {
            case FieldType.String:
                // PostgreSQL text cannot hold NUL; refusing the row beats failing the whole file at COPY.
                if (text.Contains('\0')) return "contains a NUL character";
                value = text;
                return null;
            case FieldType.Integer:
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)) { value = integer; return null; }
                return $"'{Shorten(text)}' is not an Integer";
            case FieldType.Decimal:
                if (!decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var dec))
                    return $"'{Shorten(text)}' is not a Decimal";
                if (field.Scale is { } scale && dec.Scale > scale && decimal.Round(dec, scale) != dec)
                    return $"'{Shorten(text)}' has more than {scale} decimal places";
                if (field.Precision is { } precision && IntegerDigits(dec) > precision - (field.Scale ?? 0))
                    return $"'{Shorten(text)}' does not fit Decimal({precision},{field.Scale ?? 0})";
                value = dec;
                return null;
            case FieldType.Float:
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var dbl)) { value = dbl; return null; }
                return $"'{Shorten(text)}' is not a Float";
            case FieldType.Boolean:
                switch (text.Trim().ToLowerInvariant())
                {
                    case "true" or "t" or "1" or "yes" or "y": value = true; return null;
                    case "false" or "f" or "0" or "no" or "n": value = false; return null;
                    default: return $"'{Shorten(text)}' is not a Boolean";
                }
            case FieldType.Date:
                if (DateOnly.TryParseExact(text.Trim(), dateFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)) { value = date; return null; }
                return $"'{Shorten(text)}' is not a Date ({Expected(field, dateFormats)})";
            case FieldType.Datetime:
                // A datetime without an offset is taken as UTC: a load must not depend on the daemon's time zone.
                if (DateTimeOffset.TryParseExact(text.Trim(), dateFormats, CultureInfo.InvariantCulture,
                        DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var moment))
                {
                    value = moment.UtcDateTime;
                    return null;
                }
                return $"'{Shorten(text)}' is not a Datetime ({Expected(field, dateFormats)})";
            default:
                throw new ArgumentOutOfRangeException(nameof(field), field.Type, "unknown field type");
        }
    }

    /// <summary>The canonical text of a typed key value: equal keys give equal text whatever the file wrote.</summary>
    public static string Canonical(object value) => value switch
    {
        string s => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        decimal d => (d / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture),
        double f => f.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        DateOnly date => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime moment => moment.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture),
        _ => throw new ArgumentOutOfRangeException(nameof(value), value.GetType().Name, "not a feed value"),
    };

    private static string Expected(FeedField field, string[] formats) =>
        formats.Length == 1 ? $"expected format '{field.Format ?? formats[0]}'" : "no known date format matches; e.g. 2026-11-26 13:45:00 or 2026-11-26T13:45:00Z";

    private static int IntegerDigits(decimal value)
    {
        var whole = decimal.Truncate(Math.Abs(value));
        return whole == 0 ? 0 : whole.ToString(CultureInfo.InvariantCulture).Length;
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
