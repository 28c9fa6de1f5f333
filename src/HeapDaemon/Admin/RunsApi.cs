using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Runs;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;
using static HeapDaemon.Admin.AdminApi;

namespace HeapDaemon.Admin;

/// <param name="Progress">While the run is running: the file being loaded and how far it has got.</param>
public sealed record RunView(RunRecord Run, FileProgress? Progress);

public static class RunsApi
{
    public static void MapRunsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/runs").WithTags("Runs");

        group.MapGet("/{id}", async (Guid id, RunStore runs, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
        {
            if (await runs.GetAsync(id, ct) is not { } run) return NotFound($"no run '{id}'");
            FileProgress? progress = null;
            if (run.Status == RunStatus.Running)
            {
                var reply = await (await couriers.GetAsync(ct)).Ask<object>(new GetRunProgress(run.CourierId, id), TimeSpan.FromSeconds(5), ct);
                progress = (reply as RunProgressReply)?.Progress;
            }
            return TypedResults.Ok(new RunView(run, progress));
        }).WithSummary("A run's status, per-file counts and errors, and its progress while it runs");

        group.MapPost("/{id}/cancel", async (Guid id, RunStore runs, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
        {
            if (await runs.GetAsync(id, ct) is not { } run) return NotFound($"no run '{id}'");
            return await (await couriers.GetAsync(ct)).Ask<object>(new CancelRun(run.CourierId, id), TimeSpan.FromSeconds(10), ct) switch
            {
                RunCancelling => TypedResults.Accepted($"/api/runs/{id}", new { runId = id, status = "cancelling" }),
                RunNotActive or CourierNotFound => Conflict($"run {id} is {run.Status.ToString().ToLowerInvariant()}; only a queued or running run can be cancelled"),
                var reply => TypedResults.Problem(statusCode: 500, title: $"Unexpected reply {reply.GetType().Name}"),
            };
        }).WithSummary("Cancel a queued or running run: the file in flight rolls back, files already loaded stay");

        group.MapPost("/{id}/retry", async (Guid id, RunStore runs, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
        {
            if (await runs.GetAsync(id, ct) is not { } run) return NotFound($"no run '{id}'");
            if (run.Status is not (RunStatus.Failed or RunStatus.Cancelled))
                return Conflict($"run {id} is {run.Status.ToString().ToLowerInvariant()}; only a failed or cancelled run can be retried");
            var request = run.Request.Repeat(new RunWindow(run.RunDate, run.RunDateTo));
            return await (await couriers.GetAsync(ct)).Ask<object>(new StartRun(run.CourierId, request, RetryOf: id), TimeSpan.FromSeconds(10), ct) switch
            {
                RunAccepted accepted => TypedResults.Accepted($"/api/runs/{accepted.RunId}",
                    new RunAcceptedView(accepted.RunId, "queued", $"/api/runs/{accepted.RunId}")),
                CourierNotFound => NotFound($"courier '{run.CourierId}' no longer exists"),
                RunRefused refused => Conflict($"run {id} cannot be asked again: {refused.Reason}"),
                Status.Failure failure => TypedResults.Problem(statusCode: 503, title: "The courier could not do it", detail: failure.Cause.Message),
                var reply => TypedResults.Problem(statusCode: 500, title: $"Unexpected reply {reply.GetType().Name}"),
            };
        }).WithSummary("Run a failed or cancelled run again with its whole request: the same days (or range) and every option; files already loaded are skipped");

        group.MapPost("/{id}/files/{ordinal}/skip", async (Guid id, int ordinal, RunStore runs, CancellationToken ct) =>
        {
            if (await runs.GetAsync(id, ct) is not { } run) return NotFound($"no run '{id}'");
            if (run.Files.All(f => f.Ordinal != ordinal)) return NotFound($"run {id} has no file {ordinal}");
            return await runs.SkipFileAsync(id, ordinal, ct) is { } refused
                ? Conflict(refused)
                : TypedResults.Ok(new RunView((await runs.GetAsync(id, ct))!, null));
        }).WithSummary("Skip a failed file of an ended run: later runs pass over that object version");

        group.MapGet("/{id}/rejects", async (Guid id, RunStore runs, int? limit, int? offset, CancellationToken ct) =>
            await runs.GetAsync(id, ct) is null
                ? NotFound($"no run '{id}'")
                : TypedResults.Ok(await runs.RejectsAsync(id, Math.Clamp(limit ?? 100, 1, 1000), Math.Max(offset ?? 0, 0), ct)))
            .WithSummary("Rows the run rejected, with file, line, raw text and reason");
    }
}
