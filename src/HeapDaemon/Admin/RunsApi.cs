using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Access;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Runs;
using Microsoft.AspNetCore.Http.HttpResults;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Admin;

/// <param name="Progress">While the run is running: the file being loaded and how far it has got.</param>
public sealed record RunView(RunRecord Run, FileProgress? Progress);

/// <param name="Status">Always <c>cancelling</c>: the run ends as <c>cancelled</c> once the file in flight has rolled back.</param>
public sealed record RunCancellingView(Guid RunId, string Status);

public static class RunsApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static void MapRunsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/runs").WithTags("Runs");
        group.MapGet("/{id}", GetAsync).WithName("GetRun").ForViewers()
            .WithSummary("A run's status, per-file counts and errors, and its progress while it runs");
        group.MapPost("/{id}/cancel", CancelAsync).WithName("CancelRun").ForAdmins()
            .WithSummary("Cancel a queued or running run: the file in flight rolls back, files already loaded stay");
        group.MapPost("/{id}/retry", RetryAsync).WithName("RetryRun").ForAdmins()
            .WithSummary("Run a failed or cancelled run again with its whole request: the same days (or range) and every option; files already loaded are skipped");
        group.MapPost("/{id}/files/{ordinal}/skip", SkipFileAsync).WithName("SkipRunFile").ForAdmins()
            .WithSummary("Skip a failed file of an ended run: later runs pass over that object version");
        group.MapGet("/{id}/rejects", RejectsAsync).WithName("ListRunRejects").ForViewers()
            .WithSummary("Rows the run rejected, with file, line, raw text and reason");
    }

    public static async Task<Results<Ok<RunView>, NotFoundProblem>> GetAsync(
        Guid id, RunStore runs, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return new NotFoundProblem($"no run '{id}'");
        FileProgress? progress = null;
        if (run.Status == RunStatus.Running)
        {
            var reply = await (await couriers.GetAsync(ct)).Ask<object>(new GetRunProgress(run.CourierId, id), TimeSpan.FromSeconds(5), ct);
            progress = (reply as RunProgressReply)?.Progress;
        }
        return TypedResults.Ok(new RunView(run, progress));
    }

    public static async Task<Results<Accepted<RunCancellingView>, NotFoundProblem, ConflictProblem, UnavailableProblem>> CancelAsync(
        Guid id, RunStore runs, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return new NotFoundProblem($"no run '{id}'");
        return await (await couriers.GetAsync(ct)).Ask<object>(new CancelRun(run.CourierId, id), AskTimeout, ct) switch
        {
            RunCancelling => TypedResults.Accepted($"/api/runs/{id}", new RunCancellingView(id, "cancelling")),
            RunNotActive or CourierNotFound => new ConflictProblem($"run {id} is {run.Status.ToString().ToLowerInvariant()}; only a queued or running run can be cancelled"),
            var reply => CouriersApi.Unexpected(reply),
        };
    }

    public static async Task<Results<Accepted<RunAcceptedView>, NotFoundProblem, ConflictProblem, UnavailableProblem>> RetryAsync(
        Guid id, RunStore runs, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return new NotFoundProblem($"no run '{id}'");
        if (run.Status is not (RunStatus.Failed or RunStatus.Cancelled))
            return new ConflictProblem($"run {id} is {run.Status.ToString().ToLowerInvariant()}; only a failed or cancelled run can be retried");
        var request = run.Request.Repeat(new RunWindow(run.RunDate, run.RunDateTo));
        return await (await couriers.GetAsync(ct)).Ask<object>(new StartRun(run.CourierId, request, RetryOf: id), AskTimeout, ct) switch
        {
            RunAccepted accepted => TypedResults.Accepted($"/api/runs/{accepted.RunId}",
                new RunAcceptedView(accepted.RunId, RunStatus.Queued, $"/api/runs/{accepted.RunId}")),
            CourierNotFound => new NotFoundProblem($"courier '{run.CourierId}' no longer exists"),
            RunRefused refused => new ConflictProblem($"run {id} cannot be asked again: {refused.Reason}"),
            var reply => CouriersApi.Unexpected(reply),
        };
    }

    /// <param name="ordinal">The file's place in the run, as <c>GET /api/runs/{id}</c> lists it.</param>
    public static async Task<Results<Ok<RunView>, NotFoundProblem, ConflictProblem>> SkipFileAsync(Guid id, int ordinal, RunStore runs, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return new NotFoundProblem($"no run '{id}'");
        if (run.Files.All(f => f.Ordinal != ordinal)) return new NotFoundProblem($"run {id} has no file {ordinal}");
        return await runs.SkipFileAsync(id, ordinal, ct) is { } refused
            ? new ConflictProblem(refused)
            : TypedResults.Ok(new RunView((await runs.GetAsync(id, ct))!, null));
    }

    /// <param name="limit">1-1000, default 100.</param>
    /// <param name="offset">Rejects to pass over, for the next page.</param>
    public static async Task<Results<Ok<IReadOnlyList<RejectRecord>>, NotFoundProblem>> RejectsAsync(
        Guid id, RunStore runs, int? limit, int? offset, CancellationToken ct) =>
        await runs.GetAsync(id, ct) is null
            ? new NotFoundProblem($"no run '{id}'")
            : TypedResults.Ok(await runs.RejectsAsync(id, Math.Clamp(limit ?? 100, 1, 1000), Math.Max(offset ?? 0, 0), ct));
}
