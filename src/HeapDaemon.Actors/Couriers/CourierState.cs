using System.Collections.Immutable;
using System.Text.Json.Serialization;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Couriers;

/// <summary>Marks what goes into the journal and snapshots; bound to <see cref="JournalSerializer"/>.</summary>
public interface IPersisted;

public interface ICourierEvent : IPersisted;

public sealed record CourierConfigured(CourierConfig Config, DateTimeOffset At) : ICourierEvent;

public sealed record CourierDeleted(DateTimeOffset At) : ICourierEvent;

public sealed record RunFinished(RunSummary Summary) : ICourierEvent;

/// <summary>The schedule's tick <paramref name="Tick"/> started run <paramref name="RunId"/>; earlier ticks are done with.</summary>
public sealed record ScheduledRunStarted(DateTimeOffset Tick, Guid RunId) : ICourierEvent;

public sealed record RunSummary(Guid RunId, DateOnly RunDate, RunStatus Status, DateTimeOffset FinishedAt, string? Message);

/// <summary>
/// A courier's durable state. Small on purpose: rows never come here, and run details live in
/// <c>heapd.runs</c>; this keeps the last run date and a short history so a restarted courier knows where it was.
/// </summary>
/// <param name="LastRunDate">The run date of the last run that succeeded.</param>
/// <param name="ScheduledThrough">Schedule ticks up to this instant are done with: run, or before the schedule was set.</param>
public sealed record CourierState(
    string Id,
    CourierConfig? Config = null,
    DateOnly? LastRunDate = null,
    ImmutableList<RunSummary>? RecentRuns = null,
    DateTimeOffset? ScheduledThrough = null) : IPersisted
{
    public const int RecentRunsKept = 20;

    [JsonIgnore] public bool Exists => Config is not null;

    [JsonIgnore] public ImmutableList<RunSummary> History => RecentRuns ?? [];

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
        RunFinished { Summary: var run } => this with
        {
            LastRunDate = run.Status == RunStatus.Succeeded && (LastRunDate is null || run.RunDate > LastRunDate) ? run.RunDate : LastRunDate,
            RecentRuns = History.Insert(0, run).Take(RecentRunsKept).ToImmutableList(),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "unknown courier event"),
    };
}
