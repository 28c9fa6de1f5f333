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

        group.MapGet("/{id:guid}", async (Guid id, RunStore runs, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
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

        group.MapGet("/{id:guid}/rejects", async (Guid id, RunStore runs, int? limit, int? offset, CancellationToken ct) =>
            await runs.GetAsync(id, ct) is null
                ? NotFound($"no run '{id}'")
                : TypedResults.Ok(await runs.RejectsAsync(id, Math.Clamp(limit ?? 100, 1, 1000), Math.Max(offset ?? 0, 0), ct)))
            .WithSummary("Rows the run rejected, with file, line, raw text and reason");
    }
}
