using HeapDaemon.Access;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

public static class HeapSourceApi
{
    public static void MapHeapSourceApi(this RouteGroupBuilder api) =>
        api.MapPost("/sources/heap", AddAsync).WithName("AddHeapSource").WithTags("Sources").ForAdmins()
            .WithSummary("A Heap Connect source: a Heap courier and a feed for every table its manifests name; starts the first run");

    public static async Task<Results<Created<HeapSourceView>, InvalidProblem, ConflictProblem, UpstreamProblem, UnavailableProblem>> AddAsync(
        HeapSourceRequest body, HeapSourceService heap, CancellationToken ct) =>
        await heap.AddAsync(body, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Created($"/api/couriers/{view!.Courier.Id}", view),
            { Failure: { Kind: FailureKind.Invalid } f } => f.AsInvalid(),
            { Failure: { Kind: FailureKind.Conflict } f } => f.AsConflict(),
            { Failure: { Kind: FailureKind.Upstream } f } => f.AsUpstream(),
            { Failure: var f } => f.AsUnavailable(),
        };
}
