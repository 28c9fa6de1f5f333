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
    public void A_journal_and_snapshot_written_when_it_kept_a_run_history_still_recover()
    {
        var serializer = new JournalSerializer((ExtendedActorSystem)Sys);
        var state = new CourierState("c").Apply(new CourierConfigured(Config, DateTimeOffset.UtcNow));
        var json = System.Text.Encoding.UTF8.GetString(serializer.ToBinary(state));
        var old = "{\"lastRunDate\":\"2026-11-20\",\"recentRuns\":[{\"runId\":\"" + Guid.NewGuid() +
                  "\",\"runDate\":\"2026-11-20\",\"status\":\"succeeded\",\"finishedAt\":\"2026-11-20T06:00:00+00:00\"}]," + json[1..];

        var recovered = (CourierState)serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(old), nameof(CourierState));
        var replayed = recovered.Apply((RunFinished)serializer.FromBinary(serializer.ToBinary(Finished(new DateOnly(2026, 11, 21), RunStatus.Failed)), nameof(RunFinished)));

        Assert.Equal(json, System.Text.Encoding.UTF8.GetString(serializer.ToBinary(recovered)));
        Assert.Equal(json, System.Text.Encoding.UTF8.GetString(serializer.ToBinary(replayed)));
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
