using Akka.Actor;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Runs;
using Xunit;

namespace HeapDaemon.Tests.Couriers;

public sealed class CourierStateSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly CourierConfig Config = new("cred", [new CourierFile("a.csv", "heap-users", new FileSettings(FileFormat.Dsv, Delimiter: "|"))]);

    [Fact]
    public void The_last_run_date_moves_only_forward_and_only_on_success()
    {
        var state = new CourierState("c").Apply(new CourierConfigured(Config, DateTimeOffset.UtcNow));

        state = state.Apply(Finished(new DateOnly(2026, 11, 20), RunStatus.Succeeded));
        state = state.Apply(Finished(new DateOnly(2026, 11, 25), RunStatus.Failed));
        state = state.Apply(Finished(new DateOnly(2026, 11, 10), RunStatus.Succeeded));

        Assert.Equal(new DateOnly(2026, 11, 20), state.LastRunDate);
        Assert.Equal(3, state.History.Count);
        Assert.Equal(new DateOnly(2026, 11, 10), state.History[0].RunDate);
    }

    [Fact]
    public void Only_a_short_run_history_is_kept()
    {
        var state = new CourierState("c").Apply(new CourierConfigured(Config, DateTimeOffset.UtcNow));
        for (var i = 0; i < CourierState.RecentRunsKept + 5; i++) state = state.Apply(Finished(new DateOnly(2026, 1, 1).AddDays(i), RunStatus.Succeeded));

        Assert.Equal(CourierState.RecentRunsKept, state.History.Count);
        Assert.Equal(new DateOnly(2026, 1, 1).AddDays(CourierState.RecentRunsKept + 4), state.History[0].RunDate);
    }

    [Fact]
    public void A_deleted_courier_forgets_everything_but_its_id()
    {
        var state = new CourierState("c").Apply(new CourierConfigured(Config, DateTimeOffset.UtcNow))
            .Apply(Finished(new DateOnly(2026, 11, 20), RunStatus.Succeeded))
            .Apply(new CourierDeleted(DateTimeOffset.UtcNow));

        Assert.Equal(new CourierState("c"), state);
        Assert.False(state.Exists);
    }

    [Fact]
    public void Events_and_snapshots_round_trip_through_the_journal_serializer_as_readable_json()
    {
        var serializer = new JournalSerializer((ExtendedActorSystem)Sys);
        var state = new CourierState("c").Apply(new CourierConfigured(Config, DateTimeOffset.UtcNow))
            .Apply(Finished(new DateOnly(2026, 11, 20), RunStatus.Succeeded));
        object[] values =
        [
            new CourierConfigured(Config, DateTimeOffset.UtcNow),
            Finished(new DateOnly(2026, 11, 20), RunStatus.Failed),
            new CourierDeleted(DateTimeOffset.UtcNow),
            new CourierRegistryActor.CourierRegistered("c"),
            state,
        ];

        foreach (var value in values)
        {
            var bytes = serializer.ToBinary(value);
            var back = serializer.FromBinary(bytes, serializer.Manifest(value));
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(value, value.GetType()), System.Text.Json.JsonSerializer.Serialize(back, back.GetType()));
        }
        Assert.Contains("\"delimiter\":\"|\"", System.Text.Encoding.UTF8.GetString(serializer.ToBinary(values[0])));
    }

    private static RunFinished Finished(DateOnly date, RunStatus status) =>
        new(new RunSummary(Guid.NewGuid(), date, status, DateTimeOffset.UtcNow, null));
}
