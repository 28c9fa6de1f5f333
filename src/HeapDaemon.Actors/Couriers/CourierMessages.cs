using System.Collections.Immutable;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Couriers;

/// <summary>A message for one courier; the registry routes it by <see cref="CourierId"/>, through the courier shard region.</summary>
public interface ICourierMessage
{
    string CourierId { get; }
}

public static class CourierCommands
{
    /// <param name="Create">true: refuse if the courier exists; false: refuse if it does not.</param>
    public sealed record ConfigureCourier(string CourierId, CourierConfig Config, bool Create) : ICourierMessage;

    public sealed record DeleteCourier(string CourierId) : ICourierMessage;

    /// <summary>Starts the courier wherever sharding places it; the registry sends it to every courier when it starts.</summary>
    public sealed record WakeCourier(string CourierId) : ICourierMessage;

    public sealed record GetCourier(string CourierId) : ICourierMessage;

    /// <param name="RetryOf">Set when this run asks an ended run's request again (a retry).</param>
    public sealed record StartRun(string CourierId, RunRequest Request, Guid? RetryOf = null) : ICourierMessage;

    public sealed record GetRunProgress(string CourierId, Guid RunId) : ICourierMessage;

    /// <summary>Stops a queued or running run; files committed before it stay loaded, the file in flight rolls back.</summary>
    public sealed record CancelRun(string CourierId, Guid RunId) : ICourierMessage;

    /// <summary>
    /// Deletes a credential (S3 or PGP) unless a courier uses it. Handled by the registry, through which every courier
    /// configuration passes, so no courier can start using the credential between the check and the delete.
    /// </summary>
    public sealed record DeleteCredential(string CredentialId);

    /// <summary>Deletes a feed unless a courier uses it; handled by the registry as <see cref="DeleteCredential"/> is.</summary>
    /// <param name="DropTable">Drop its domain table too; otherwise the table and its rows stay.</param>
    public sealed record DeleteFeed(string FeedId, bool DropTable);

    public sealed record ListCouriers
    {
        public static readonly ListCouriers Instance = new();
    }
}

public static class CourierReplies
{
    /// <param name="NextRunAt">The schedule's next tick; null without an active schedule.</param>
    /// <param name="HeapDumps">A Heap courier's dumps: how many applied, and those that failed (blocking) or were skipped.</param>
    public sealed record CourierView(
        string Id,
        CourierConfig Config,
        DateOnly? LastRunDate,
        ImmutableList<RunSummary> RecentRuns,
        Guid? CurrentRunId,
        int QueuedRuns,
        DateTimeOffset? NextRunAt = null,
        HeapDumps? HeapDumps = null);

    public sealed record CourierNotFound(string CourierId);

    public sealed record CourierExists(string CourierId);

    public sealed record CourierBusy(string CourierId, string Reason);

    public sealed record CourierRemoved(string CourierId);

    public sealed record RunAccepted(Guid RunId);

    /// <summary>The run request itself is wrong (e.g. its date range); nothing was recorded.</summary>
    public sealed record RunRefused(string Reason);

    /// <param name="Progress">The file of the run that reported last, as far as it has got; null when none is being loaded.</param>
    /// <param name="InFlight">Every file of the run being loaded (a courier kind may load several at once).</param>
    public sealed record RunProgressReply(Guid RunId, FileProgress? Progress, IReadOnlyList<FileProgress> InFlight);

    public sealed record RunCancelling(Guid RunId);

    public sealed record RunNotActive(Guid RunId);

    public sealed record CourierIds(ImmutableSortedSet<string> Ids);

    /// <summary>The configuration names credentials that do not exist (or are of the wrong kind); nothing changed.</summary>
    public sealed record ConfigurationRefused(IReadOnlyList<string> Errors);

    public sealed record CredentialDeleted(string CredentialId);

    public sealed record CredentialNotFound(string CredentialId);

    /// <param name="Uses">Each use, e.g. <c>courier 'a' (files[1].pgpCredentialId)</c>.</param>
    public sealed record CredentialInUse(string CredentialId, IReadOnlyList<string> Couriers, IReadOnlyList<string> Uses);

    public sealed record FeedDeleted(FeedRemoved Removed);

    public sealed record FeedNotFound(string FeedId);

    /// <param name="Uses">Each use, e.g. <c>courier 'a' (files[1].feedId)</c>.</param>
    public sealed record FeedInUse(string FeedId, IReadOnlyList<string> Couriers, IReadOnlyList<string> Uses);

    /// <summary>The feed could not be deleted as asked (its table has dependent views); nothing changed.</summary>
    public sealed record FeedNotDeleted(string FeedId, string Reason);
}
