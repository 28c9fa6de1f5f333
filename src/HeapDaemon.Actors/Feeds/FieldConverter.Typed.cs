using System.Globalization;

namespace HeapDaemon.Actors.Feeds;

/// <summary>
/// Values that typed formats (JSON, Avro, Parquet) hand over already typed. A value converts only where no
/// information is lost or invented: 3 and 3.0 are the Integer 3, 3.5 is not; a number is a Datetime only when the
/// field names its epoch unit; a timestamp with a time of day is not a Date. Anything else is a reject with the
/// reason, never a silent guess.
/// </summary>
public static partial class FieldConverter
{
    /// <summary>The largest integer a double holds exactly (2^53); beyond it a double may already have lost digits.</summary>
    private const double MaxExactDouble = 9_007_199_254_740_992d;

    /// <summary>The same, with the field's own date format or Amperity's fallbacks for text dates.</summary>
    public static string? TryConvertValue(FeedField field, object value, out object? result) =>
        TryConvertValue(field, value, DateFormats.For(field, null), out result);

    /// <param name="dateFormats">For text values of Date and Datetime fields (<see cref="DateFormats.For"/>).</param>
    /// <returns>null when the value converts; otherwise why it does not.</returns>
    public static string? TryConvertValue(FeedField field, object value, string[] dateFormats, out object? result)
    {
        result = null;
        if (value is string text)
        {
            return field is { Type: FieldType.Datetime, Epoch: { } unit } && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds)
                ? FromEpoch(seconds, unit, text, out result)
                : TryConvert(field, text, dateFormats, out result);
        }
        if (value is NestedValue nested) return $"is a nested {nested.Kind}; only flat values load";
        if (value is byte[]) return $"is binary data, not a {field.Type}";

        switch (field.Type)
        {
            case FieldType.String:
                result = value switch
                {
                    bool b => b ? "true" : "false",
                    DateTime or DateTimeOffset => Canonical(AsMoment(value)!.Value),
                    DateOnly d => Canonical(d),
                    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                    _ => value.ToString(),
                };
                return null;
            case FieldType.Integer:
                if (AsInteger(value) is { } integer) { result = integer; return null; }
                return $"{Show(value)} is not an Integer";
            case FieldType.Decimal:
                if (value is double or float && !double.IsFinite(Convert.ToDouble(value, CultureInfo.InvariantCulture)))
                    return $"{Show(value)} is not a Decimal";
                // Through the text path, so precision and scale are checked in one place; a double's text is its
                // shortest round-trip form, so 0.1 stays 0.1.
                return IsNumber(value) ? TryConvert(field, Show(value), dateFormats, out result) : $"{Show(value)} is not a Decimal";
            case FieldType.Float:
                if (IsNumber(value)) { result = Convert.ToDouble(value, CultureInfo.InvariantCulture); return null; }
                return $"{Show(value)} is not a Float";
            case FieldType.Boolean:
                if (value is bool flag) { result = flag; return null; }
                if (AsInteger(value) is 0 or 1) { result = AsInteger(value) == 1; return null; }
                return $"{Show(value)} is not a Boolean";
            case FieldType.Date:
                if (value is DateOnly date) { result = date; return null; }
                if (AsMoment(value) is { } moment)
                {
                    if (moment.TimeOfDay != TimeSpan.Zero) return $"{Show(value)} has a time of day; a Date field takes dates only";
                    result = DateOnly.FromDateTime(moment);
                    return null;
                }
                return $"{Show(value)} is not a Date";
            case FieldType.Datetime:
                if (AsMoment(value) is { } instant) { result = instant; return null; }
                if (value is DateOnly day) { result = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc); return null; }
                if (AsInteger(value) is { } number)
                {
                    return field.Epoch is { } epoch
                        ? FromEpoch(number, epoch, Show(value), out result)
                        : $"{Show(value)} is a number; set the field's epoch (seconds, milliseconds or microseconds) to read it as Unix time";
                }
                return $"{Show(value)} is not a Datetime";
            default:
                throw new ArgumentOutOfRangeException(nameof(field), field.Type, "unknown field type");
        }
    }

    private static string? FromEpoch(long number, EpochUnit unit, string shown, out object? result)
    {
        result = null;
        var ticksPerUnit = unit switch
        {
            EpochUnit.Seconds => TimeSpan.TicksPerSecond,
            EpochUnit.Milliseconds => TimeSpan.TicksPerMillisecond,
            _ => TimeSpan.TicksPerMicrosecond,
        };
        var maxUnits = (DateTime.MaxValue.Ticks - DateTime.UnixEpoch.Ticks) / ticksPerUnit;
        var minUnits = -(DateTime.UnixEpoch.Ticks / ticksPerUnit);
        if (number > maxUnits || number < minUnits) return $"'{Shorten(shown)}' is out of range for Unix time in {unit.ToString().ToLowerInvariant()}";
        result = new DateTime(DateTime.UnixEpoch.Ticks + number * ticksPerUnit, DateTimeKind.Utc);
        return null;
    }

    private static bool IsNumber(object value) =>
        value is long or int or short or sbyte or byte or ushort or uint or ulong or double or float or decimal;

    /// <summary>The value as a long when it is a whole number that fits, whatever numeric type carried it.</summary>
    private static long? AsInteger(object value) => value switch
    {
        long l => l,
        int or short or sbyte or byte or ushort or uint => Convert.ToInt64(value, CultureInfo.InvariantCulture),
        ulong u when u <= long.MaxValue => (long)u,
        decimal m when m == decimal.Truncate(m) && m is >= long.MinValue and <= long.MaxValue => (long)m,
        double or float when Convert.ToDouble(value, CultureInfo.InvariantCulture) is var d
                             && double.IsFinite(d) && d == Math.Truncate(d) && Math.Abs(d) <= MaxExactDouble => (long)d,
        _ => null,
    };

    /// <summary>A timestamp as UTC; one without a zone is taken as UTC, as text without an offset is.</summary>
    private static DateTime? AsMoment(object value) => value switch
    {
        DateTimeOffset o => o.UtcDateTime,
        DateTime { Kind: DateTimeKind.Local } t => t.ToUniversalTime(),
        DateTime t => DateTime.SpecifyKind(t, DateTimeKind.Utc),
        _ => null,
    };

    private static string Show(object value) => value switch
    {
        string s => $"'{Shorten(s)}'",
        DateTime or DateTimeOffset => Canonical(AsMoment(value)!.Value),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
