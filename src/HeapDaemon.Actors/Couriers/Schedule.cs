using Cronos;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// When a courier runs by itself: a 5-field cron expression read in an IANA time zone, and Amperity's "load data N
/// days older than the scheduled time": a tick's run date is its local date minus <see cref="DaysOlder"/>.
/// </summary>
/// <param name="Active">false keeps the schedule but runs the courier only when asked (Amperity's inactive).</param>
public sealed record CourierSchedule(string Cron, string TimeZone = "UTC", int DaysOlder = 0, bool Active = true)
{
    /// <summary>Catching up never looks further back than this for the latest missed tick.</summary>
    private static readonly TimeSpan MaxLookBack = TimeSpan.FromDays(366);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        try
        {
            CronExpression.Parse(Cron, CronFormat.Standard);
        }
        catch (Exception e) when (e is CronFormatException or ArgumentNullException)
        {
            errors.Add($"schedule.cron '{Cron}' is not a 5-field cron expression (minute hour day-of-month month day-of-week): {e.Message}");
        }
        if (!TryZone(TimeZone, out _)) errors.Add($"schedule.timeZone '{TimeZone}' is not an IANA time zone (e.g. UTC, Europe/Paris, America/Los_Angeles)");
        if (DaysOlder is < 0 or > 366) errors.Add("schedule.daysOlder must be 0-366");
        return errors;
    }

    /// <summary>The first tick strictly after <paramref name="after"/>.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after) => Expression.GetNextOccurrence(after, Zone);

    /// <summary>
    /// The latest tick after <paramref name="after"/> and not after <paramref name="now"/>: what a courier that was
    /// down runs, once, rather than every tick it missed.
    /// </summary>
    public DateTimeOffset? LatestDue(DateTimeOffset after, DateTimeOffset now)
    {
        var from = after < now - MaxLookBack ? now - MaxLookBack : after;
        DateTimeOffset? latest = null;
        foreach (var tick in Expression.GetOccurrences(from, now, Zone, fromInclusive: false, toInclusive: true)) latest = tick;
        return latest;
    }

    public DateOnly RunDateFor(DateTimeOffset tick) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(tick, Zone).DateTime).AddDays(-DaysOlder);

    private CronExpression Expression => CronExpression.Parse(Cron, CronFormat.Standard);

    private TimeZoneInfo Zone => TryZone(TimeZone, out var zone) ? zone : throw new InvalidOperationException($"unknown time zone '{TimeZone}'");

    private static bool TryZone(string id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id)) return false;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return false;
        }
    }
}
