using HeapDaemon.Actors.Heap;
using HeapDaemon.Actors.Runs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

/// <summary><c>POST /api/runs/{id}/dumps/{dumpId}/skip</c>: the skip resolution for a Heap dump that blocks later dumps.</summary>
public static class HeapDumpsApi
{
    public static void MapHeapDumpsApi(this RouteGroupBuilder api) =>
        api.MapPost("/runs/{id:guid}/dumps/{dumpId:long}/skip", SkipDumpAsync)
            .WithTags("Runs")
            .WithSummary("Skip a Heap dump that failed in this run: it is recorded as skipped and later dumps apply at the next run")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

    public static async Task<Results<Ok<RunView>, ProblemHttpResult>> SkipDumpAsync(Guid id, long dumpId, HeapCourier heap, RunStore runs,
        CancellationToken ct)
    {
        var (refused, notFound) = await heap.SkipDumpAsync(id, dumpId, ct);
        if (refused is not null)
            return notFound
                ? TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: refused)
                : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: refused);
        return TypedResults.Ok(new RunView((await runs.GetAsync(id, ct))!, null));
    }
}
