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

    /// <summary>The window a run request asks for: one date, a range, or today when it names none.</summary>
    public static (RunWindow? Window, string? Error) Of(RunRequest request, DateOnly today)
    {
        if (request.Date is not null && (request.From is not null || request.To is not null))
            return (null, "give either date, or from and to, not both");
        if (request.From is null != request.To is null)
            return (null, "from and to go together (from inclusive, to exclusive)");
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
