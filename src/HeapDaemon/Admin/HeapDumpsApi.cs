using HeapDaemon.Access;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

/// <summary><c>POST /api/runs/{id}/dumps/{dumpId}/skip</c>: the skip resolution for a Heap dump that blocks later dumps.</summary>
public static class HeapDumpsApi
{
    public static void MapHeapDumpsApi(this RouteGroupBuilder api) =>
        api.MapPost("/runs/{id}/dumps/{dumpId}/skip", SkipDumpAsync).WithName("SkipHeapDump").ForAdmins()
            .WithTags("Runs")
            .WithSummary("Skip a Heap dump that failed in this run: it is recorded as skipped and later dumps apply at the next run");

    /// <param name="dumpId">The dump's id, as the run's message and the courier's heapDumps.blocking name it.</param>
    public static async Task<Results<Ok<RunView>, NotFoundProblem, ConflictProblem>> SkipDumpAsync(Guid id, long dumpId, RunService runs, CancellationToken ct) =>
        await runs.SkipDumpAsync(id, dumpId, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Ok(view),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: var f } => f.AsConflict(),
        };
}
