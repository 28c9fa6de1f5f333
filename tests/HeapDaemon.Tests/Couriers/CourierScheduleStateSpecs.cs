using Akka.Actor;
using HeapDaemon.Actors.Couriers;
using Xunit;

namespace HeapDaemon.Tests.Couriers;

/// <summary>What a courier remembers of its schedule, which is what makes catching up after a restart run once.</summary>
public sealed class CourierScheduleStateSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset SetAt = DateTimeOffset.Parse("2026-11-20T12:00:00Z");

    private static CourierConfig Config(CourierSchedule? schedule) =>
        new("cred", [new CourierFile(null, "heap-users", Pattern: "'x/'yyyyMMdd'.csv'")], Schedule: schedule);

    [Fact]
    public void A_schedule_counts_from_when_it_was_set_and_each_started_tick_moves_it_on()
    {
        var state = new CourierState("c").Apply(new CourierConfigured(Config(new CourierSchedule("0 6 * * *")), SetAt));
        Assert.Equal(SetAt, state.ScheduledThrough);

        var tick = DateTimeOffset.Parse("2026-11-21T06:00:00Z");
        state = state.Apply(new ScheduledRunStarted(tick, Guid.NewGuid()));
        Assert.Equal(tick, state.ScheduledThrough);

        // Editing something else keeps the schedule's place; changing the schedule starts it afresh; removing it forgets.
        var later = SetAt.AddDays(3);
        Assert.Equal(tick, state.Apply(new CourierConfigured(Config(new CourierSchedule("0 6 * * *")), later)).ScheduledThrough);
        Assert.Equal(later, state.Apply(new CourierConfigured(Config(new CourierSchedule("0 7 * * *")), later)).ScheduledThrough);
        Assert.Null(state.Apply(new CourierConfigured(Config(null), later)).ScheduledThrough);
    }

    [Fact]
    public void Schedule_events_round_trip_through_the_journal_serializer()
    {
        var serializer = new JournalSerializer((ExtendedActorSystem)Sys);
        object[] values =
        [
            new CourierConfigured(Config(new CourierSchedule("0 6 * * *", "Europe/Paris", 1)), SetAt),
            new ScheduledRunStarted(DateTimeOffset.Parse("2026-11-21T06:00:00Z"), Guid.NewGuid()),
            new CourierState("c", Config(new CourierSchedule("0 6 * * *")), ScheduledThrough: SetAt),
        ];

        foreach (var value in values)
        {
            var back = serializer.FromBinary(serializer.ToBinary(value), serializer.Manifest(value));
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(value, value.GetType()), System.Text.Json.JsonSerializer.Serialize(back, back.GetType()));
        }
        Assert.Contains("\"timeZone\":\"Europe/Paris\"", System.Text.Encoding.UTF8.GetString(serializer.ToBinary(values[0])));
    }
}
