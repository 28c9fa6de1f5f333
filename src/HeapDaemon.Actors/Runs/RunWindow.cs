namespace HeapDaemon.Actors.Runs;

/// <summary>The days a run covers: <see cref="From"/> inclusive, <see cref="To"/> exclusive, as Amperity counts them.</summary>
public sealed record RunWindow(DateOnly From, DateOnly To)
{
    /// <summary>A year and a day: more is almost surely a typo in a year, and would list for hours.</summary>
    public const int MaxDays = 366;

    public static RunWindow Day(DateOnly day) => new(day, day.AddDays(1));

    public int DayCount => To.DayNumber - From.DayNumber;

    public IEnumerable<DateOnly> Days => Enumerable.Range(0, DayCount).Select(From.AddDays);

    public override string ToString() => DayCount == 1 ? $"{From:yyyy-MM-dd}" : $"{From:yyyy-MM-dd} to {To:yyyy-MM-dd} (exclusive)";

    /// <summary>No run date is earlier: Unix time starts here, and nothing a courier pulls is older.</summary>
    public static readonly DateOnly FirstDate = new(1970, 1, 1);

    /// <summary>The window a run request asks for: one date, a range, or today when it names none.</summary>
    /// <remarks>
    /// Dates run from <see cref="FirstDate"/> to the end of next year: 0001-01-01 or 9999-12-31 is a typo, and would
    /// list and record a day of nothing (a schedule may run a little ahead in its time zone, hence next year's end).
    /// </remarks>
    public static (RunWindow? Window, string? Error) Of(RunRequest request, DateOnly today)
    {
        if (request.Date is not null && (request.From is not null || request.To is not null))
            return (null, "give either date, or from and to, not both");
        if (request.From is null != request.To is null)
            return (null, "from and to go together (from inclusive, to exclusive)");
        var last = new DateOnly(today.Year + 1, 12, 31);
        foreach (var (name, date, latest) in new[] { ("date", request.Date, last), ("from", request.From, last), ("to", request.To, last.AddDays(1)) })
        {
            if (date is not { } d) continue;
            if (d < FirstDate)
                return (null, $"{name} {d:yyyy-MM-dd} is before {FirstDate:yyyy-MM-dd}: run dates go from {FirstDate:yyyy-MM-dd} to the end of next year ({last:yyyy-MM-dd})");
            if (d > latest)
                return (null, $"{name} {d:yyyy-MM-dd} is after the end of next year ({last:yyyy-MM-dd}" +
                              (name == "to" ? $"; to is exclusive, so at most {latest:yyyy-MM-dd})" : ")") + $": run dates go from {FirstDate:yyyy-MM-dd} to {last:yyyy-MM-dd}");
        }
        if (request.From is { } from && request.To is { } to)
        {
            if (to <= from)
                return (null, $"to ({to:yyyy-MM-dd}) must be after from ({from:yyyy-MM-dd}); the end is exclusive, so one day is from {from:yyyy-MM-dd} to {from.AddDays(1):yyyy-MM-dd}");
            var window = new RunWindow(from, to);
            if (window.DayCount > MaxDays)
                return (null, $"a run covers at most {MaxDays} days; {window} is {window.DayCount}. Split it into several runs");
            return (window, null);
        }
        return (Day(request.Date ?? today), null);
    }
}
