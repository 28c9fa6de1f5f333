using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Heap;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Runs;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Management;

/// <param name="Progress">While the run is running: the file that reported last, and how far it has got.</param>
/// <param name="InFlight">While the run is running: every file being loaded (files of different tables load at once).</param>
public sealed record RunView(RunRecord Run, FileProgress? Progress, IReadOnlyList<FileProgress>? InFlight = null);

/// <param name="Status">Always <c>cancelling</c>: the run ends as <c>cancelled</c> once the file in flight has rolled back.</param>
public sealed record RunCancellingView(Guid RunId, string Status);

/// <summary>Runs as a user follows and resolves them, Amperity's way: status and progress, cancel, retry, skip a file, rejects, history.</summary>
public sealed class RunService(RunStore runs, RunHistory history, IRequiredActor<CourierRegistryActor> couriers, HeapCourier heap)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public async Task<Outcome<RunView>> GetAsync(Guid id, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return Failure.NotFound($"no run '{id}'");
        RunProgressReply? progress = null;
        if (run.Status == RunStatus.Running)
            progress = await (await couriers.GetAsync(ct)).Ask<object>(new GetRunProgress(run.CourierId, id), TimeSpan.FromSeconds(5), ct) as RunProgressReply;
        return new RunView(run, progress?.Progress, progress?.InFlight);
    }

    public async Task<Outcome<RunCancellingView>> CancelAsync(Guid id, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return Failure.NotFound($"no run '{id}'");
        return await (await couriers.GetAsync(ct)).Ask<object>(new CancelRun(run.CourierId, id), AskTimeout, ct) switch
        {
            RunCancelling => new RunCancellingView(id, "cancelling"),
            RunNotActive or CourierNotFound => Failure.Conflict($"run {id} is {Word(run.Status)}; only a queued or running run can be cancelled"),
            var reply => CourierReplyFailure.Of(reply),
        };
    }

    /// <summary>A new run that asks the ended run's whole request again: the same days (or range) and every option.</summary>
    public async Task<Outcome<RunAcceptedView>> RetryAsync(Guid id, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return Failure.NotFound($"no run '{id}'");
        if (run.Status is not (RunStatus.Failed or RunStatus.Cancelled))
            return Failure.Conflict($"run {id} is {Word(run.Status)}; only a failed or cancelled run can be retried");
        var request = run.Request.Repeat(new RunWindow(run.RunDate, run.RunDateTo));
        return await (await couriers.GetAsync(ct)).Ask<object>(new StartRun(run.CourierId, request, RetryOf: id), AskTimeout, ct) switch
        {
            RunAccepted accepted => RunAcceptedView.Of(accepted.RunId),
            CourierNotFound => Failure.NotFound($"courier '{run.CourierId}' no longer exists"),
            RunRefused refused => Failure.Conflict($"run {id} cannot be asked again: {refused.Reason}"),
            var reply => CourierReplyFailure.Of(reply),
        };
    }

    /// <param name="ordinal">The file's place in the run, as the run lists it.</param>
    public async Task<Outcome<RunView>> SkipFileAsync(Guid id, int ordinal, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return Failure.NotFound($"no run '{id}'");
        if (run.Files.All(f => f.Ordinal != ordinal)) return Failure.NotFound($"run {id} has no file {ordinal}");
        return await runs.SkipFileAsync(id, ordinal, ct) is { } refused
            ? Failure.Conflict(refused)
            : new RunView((await runs.GetAsync(id, ct))!, null);
    }

    /// <summary>Skips a Heap dump that failed in this run: it is recorded as skipped and later dumps apply at the next run.</summary>
    /// <param name="dumpId">The dump's id, as the run's message and the courier's heapDumps.blocking name it.</param>
    public async Task<Outcome<RunView>> SkipDumpAsync(Guid id, long dumpId, CancellationToken ct)
    {
        var (refused, notFound) = await heap.SkipDumpAsync(id, dumpId, ct);
        if (refused is not null) return notFound ? Failure.NotFound(refused) : Failure.Conflict(refused);
        return new RunView((await runs.GetAsync(id, ct))!, null);
    }

    /// <param name="limit">1-1000, default 100.</param>
    /// <param name="offset">Rejects to pass over, for the next page.</param>
    public async Task<Outcome<IReadOnlyList<RejectRecord>>> RejectsAsync(Guid id, int? limit, int? offset, CancellationToken ct) =>
        await runs.GetAsync(id, ct) is null
            ? Failure.NotFound($"no run '{id}'")
            : new Outcome<IReadOnlyList<RejectRecord>>(await runs.RejectsAsync(id, Math.Clamp(limit ?? 100, 1, 1000), Math.Max(offset ?? 0, 0), ct), null);

    /// <summary>The history of one courier, or of the whole daemon, newest first; <paramref name="status"/> filters it.</summary>
    /// <param name="pageSize">1-200, default 50.</param>
    /// <param name="status">A run status (<c>queued</c>, <c>running</c>, <c>succeeded</c>, <c>failed</c>, <c>cancelled</c>), any case.</param>
    public async Task<Outcome<RunPage>> HistoryAsync(string? courierId, string? status, string? before, int? pageSize, CancellationToken ct)
    {
        RunStatus? only = null;
        if (!string.IsNullOrEmpty(status))
        {
            if (!Enum.TryParse<RunStatus>(status, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || char.IsDigit(status[0]))
                return Failure.Invalid($"status '{status}' is not valid: expected one of {string.Join(", ", Enum.GetValues<RunStatus>().Select(Word))}");
            only = parsed;
        }
        if (pageSize is < 1 or > RunHistory.MaxPageSize) return Failure.Invalid($"pageSize must be 1-{RunHistory.MaxPageSize}");
        return await history.ListAsync(string.IsNullOrEmpty(courierId) ? null : courierId, only, before, pageSize ?? 50, ct) is { } page
            ? page
            : Failure.Invalid($"before '{before}' is not a page of this history; pass the 'next' value of the page before it");
    }

    private static string Word(RunStatus status) => status.ToString().ToLowerInvariant();
}
