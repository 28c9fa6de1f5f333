using HeapDaemon.Actors.Couriers;
using Xunit;

namespace HeapDaemon.Tests.Couriers;

public sealed class ScheduleSpecs
{
    [Fact]
    public void The_next_tick_is_read_in_the_schedules_time_zone()
    {
        var schedule = new CourierSchedule("0 6 * * *", "Europe/Paris");

        // 06:00 in Paris is 05:00 UTC in winter.
        Assert.Equal(DateTimeOffset.Parse("2026-11-28T05:00:00Z"), schedule.NextAfter(DateTimeOffset.Parse("2026-11-27T05:00:00Z")));
        Assert.Equal(DateTimeOffset.Parse("2026-11-27T05:00:00Z"), schedule.NextAfter(DateTimeOffset.Parse("2026-11-27T04:59:59Z")));
    }

    [Theory]
    [InlineData("2026-11-28T07:30:00Z", 0, "2026-11-27")] // 23:30 on the 27th in Los Angeles, already the 28th in UTC
    [InlineData("2026-11-28T07:30:00Z", 1, "2026-11-26")]
    [InlineData("2026-03-01T07:30:00Z", 1, "2026-02-27")]
    public void A_ticks_run_date_is_its_local_date_minus_the_days_older(string tick, int daysOlder, string runDate)
    {
        var schedule = new CourierSchedule("30 23 * * *", "America/Los_Angeles", daysOlder);

        Assert.Equal(DateOnly.Parse(runDate), schedule.RunDateFor(DateTimeOffset.Parse(tick)));
    }

    [Fact]
    public void After_downtime_only_the_latest_missed_tick_is_due()
    {
        var schedule = new CourierSchedule("0 6 * * *");

        Assert.Equal(DateTimeOffset.Parse("2026-11-24T06:00:00Z"),
            schedule.LatestDue(DateTimeOffset.Parse("2026-11-20T12:00:00Z"), DateTimeOffset.Parse("2026-11-24T12:00:00Z")));
        Assert.Null(schedule.LatestDue(DateTimeOffset.Parse("2026-11-24T06:00:00Z"), DateTimeOffset.Parse("2026-11-24T12:00:00Z")));
        Assert.Equal(DateTimeOffset.Parse("2026-11-24T06:00:00Z"),
            schedule.LatestDue(DateTimeOffset.Parse("2026-11-24T05:59:59Z"), DateTimeOffset.Parse("2026-11-24T06:00:00Z")));
    }

    [Fact]
    public void A_tick_in_the_hour_a_DST_change_skips_still_runs_that_day()
    {
        // 02:30 does not exist in Paris on 2026-03-29; Cronos runs it at the jump (03:00 CEST, 01:00 UTC).
        var schedule = new CourierSchedule("30 2 * * *", "Europe/Paris");

        var tick = schedule.NextAfter(DateTimeOffset.Parse("2026-03-28T12:00:00Z"))!.Value;

        Assert.Equal(DateTimeOffset.Parse("2026-03-29T01:00:00Z"), tick);
        Assert.Equal(new DateOnly(2026, 3, 29), schedule.RunDateFor(tick));
    }

    [Theory]
    [InlineData("0 6 * *", "UTC", 0, "is not a 5-field cron expression")]
    [InlineData("0 0 6 * * *", "UTC", 0, "is not a 5-field cron expression")]
    [InlineData("61 6 * * *", "UTC", 0, "is not a 5-field cron expression")]
    [InlineData("0 6 * * *", "Mars/Olympus", 0, "'Mars/Olympus' is not an IANA time zone")]
    [InlineData("0 6 * * *", "", 0, "is not an IANA time zone")]
    [InlineData("0 6 * * *", "UTC", -1, "daysOlder must be 0-366")]
    public void A_schedule_that_is_not_valid_says_why(string cron, string zone, int daysOlder, string reason)
    {
        Assert.Contains(new CourierSchedule(cron, zone, daysOlder).Validate(), e => e.Contains(reason));
    }
}
