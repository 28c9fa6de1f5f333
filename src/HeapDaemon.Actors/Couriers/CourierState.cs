using System.Text.Json.Serialization;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Couriers;

/// <summary>Marks what goes into the journal and snapshots; bound to <see cref="JournalSerializer"/>.</summary>
public interface IPersisted;

public interface ICourierEvent : IPersisted;

public sealed record CourierConfigured(CourierConfig Config, DateTimeOffset At) : ICourierEvent;

public sealed record CourierDeleted(DateTimeOffset At) : ICourierEvent;

/// <summary>
/// In journals written before a courier's run history was read from <c>heapd.runs</c>: replayed, it changes nothing.
/// The journal kept a copy of the history that could fall behind the runs (a write lost to a database restart).
/// </summary>
public sealed record RunFinished(RunSummary Summary) : ICourierEvent;

/// <summary>The schedule's tick <paramref name="Tick"/> started run <paramref name="RunId"/>; earlier ticks are done with.</summary>
public sealed record ScheduledRunStarted(DateTimeOffset Tick, Guid RunId) : ICourierEvent;

/// <summary>
/// A courier's durable state: its configuration and how far its schedule has run. Small on purpose: rows never come
/// here, and runs live in <c>heapd.runs</c>, which is where the courier reads its recent runs from.
/// </summary>
/// <param name="ScheduledThrough">Schedule ticks up to this instant are done with: run, or before the schedule was set.</param>
/// <remarks>Snapshots from before carry the run history this state no longer keeps; those properties are passed over.</remarks>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Skip)]
public sealed record CourierState(
    string Id,
    CourierConfig? Config = null,
    DateTimeOffset? ScheduledThrough = null) : IPersisted
{
    /// <summary>How many of its latest runs a courier shows.</summary>
    public const int RecentRunsShown = 20;

    [JsonIgnore] public bool Exists => Config is not null;

    public CourierState Apply(ICourierEvent e) => e switch
    {
        // A new or changed schedule starts from when it was set: ticks before then are not "missed".
        CourierConfigured configured => this with
        {
            Config = configured.Config,
            ScheduledThrough = configured.Config.Schedule is null ? null
                : configured.Config.Schedule == Config?.Schedule ? ScheduledThrough ?? configured.At : configured.At,
        },
        ScheduledRunStarted started => this with { ScheduledThrough = started.Tick },
        CourierDeleted => new CourierState(Id),
        RunFinished => this,
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "unknown courier event"),
    };
}
