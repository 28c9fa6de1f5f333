using System.Globalization;
using HeapDaemon.Actors.Feeds;

namespace HeapDaemon.Actors.Formats.Inference;

/// <summary>A column's inferred type; precision and scale for a Decimal, from the widest value seen.</summary>
public sealed record InferredType(FieldType Type, int? Precision = null, int? Scale = null);

/// <summary>
/// Infers a feed type for a column from sample values. Text is tried against the same conversions a load uses
/// (<see cref="FieldConverter"/>), so whatever is inferred also loads, and date formats follow the converter's.
/// The narrowest type every value fits wins; when nothing fits, String.
/// </summary>
public static class ColumnTypes
{
    private static readonly string[] BooleanWords = ["true", "false", "t", "f", "yes", "no", "y", "n"];

    /// <param name="values">The column's values; nulls and empty text are ignored.</param>
    public static InferredType Infer(IEnumerable<object?> values)
    {
        var present = values.Where(v => v is not null && v is not string { Length: 0 }).ToList();
        if (present.Count == 0) return new InferredType(FieldType.String);
        if (present.All(v => v is string)) return InferText(present.Cast<string>().ToList());
        if (present.All(v => v is bool)) return new InferredType(FieldType.Boolean);
        if (present.All(v => v is long)) return new InferredType(FieldType.Integer);
        if (present.All(v => v is long or decimal)) return DecimalOf(present.Select(v => Convert.ToDecimal(v, CultureInfo.InvariantCulture)));
        if (present.All(v => v is long or decimal or double)) return new InferredType(FieldType.Float);
        if (present.All(v => v is DateOnly)) return new InferredType(FieldType.Date);
        if (present.All(v => v is DateTime or DateTimeOffset or DateOnly)) return new InferredType(FieldType.Datetime);
        // JSON writes timestamps as text: text that all parses the same way is that type.
        if (present.All(v => v is string)) return InferText(present.Cast<string>().ToList());
        return new InferredType(FieldType.String);
    }

    public static InferredType InferText(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0) return new InferredType(FieldType.String);
        if (texts.All(t => BooleanWords.Contains(t.Trim().ToLowerInvariant()))) return new InferredType(FieldType.Boolean);
        // Leading zeros are kept as text: "00501" is a ZIP code, not 501.
        if (texts.All(t => !HasLeadingZero(t) && Converts(FieldType.Integer, t))) return new InferredType(FieldType.Integer);
        if (texts.All(t => !HasLeadingZero(t) && !t.Contains('e', StringComparison.OrdinalIgnoreCase) && Converts(FieldType.Decimal, t)))
            return DecimalOf(texts.Select(t => decimal.Parse(t, NumberStyles.Float, CultureInfo.InvariantCulture)));
        if (texts.All(t => !HasLeadingZero(t) && Converts(FieldType.Float, t))) return new InferredType(FieldType.Float);
        if (texts.All(t => Converts(FieldType.Date, t))) return new InferredType(FieldType.Date);
        if (texts.All(t => Converts(FieldType.Datetime, t))) return new InferredType(FieldType.Datetime);
        return new InferredType(FieldType.String);
    }

    /// <summary>Tried with the conversions a load uses, Amperity's date fallbacks included, so what is inferred loads.</summary>
    private static bool Converts(FieldType type, string text)
    {
        var field = new FeedField("sample", type);
        return FieldConverter.TryConvert(field, text.Trim(), DateFormats.For(field, null), out _) is null;
    }

    private static bool HasLeadingZero(string text)
    {
        var digits = text.Trim().TrimStart('-', '+');
        return digits.Length > 1 && digits[0] == '0' && digits[1] != '.';
    }

    /// <summary>Room for the widest integer part and the longest fraction seen, within PostgreSQL's numeric(38).</summary>
    private static InferredType DecimalOf(IEnumerable<decimal> values)
    {
        int integerDigits = 1, scale = 0;
        foreach (var value in values)
        {
            scale = Math.Max(scale, value.Scale);
            var whole = decimal.Truncate(Math.Abs(value));
            integerDigits = Math.Max(integerDigits, whole == 0 ? 1 : whole.ToString(CultureInfo.InvariantCulture).Length);
        }
        return new InferredType(FieldType.Decimal, Math.Min(38, Math.Max(18, integerDigits + scale)), Math.Min(scale, 37));
    }
}
