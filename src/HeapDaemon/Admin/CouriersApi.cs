using HeapDaemon.Access;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Admin;

public static class CouriersApi
{
    public static void MapCouriersApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/couriers").WithTags("Couriers");
        group.MapPost("/", AddAsync).WithName("AddCourier").ForAdmins().WithSummary("Add a courier");
        group.MapGet("/", ListAsync).WithName("ListCouriers").ForViewers().WithSummary("Every courier, with its recent runs and next scheduled run");
        group.MapGet("/{id}", GetAsync).WithName("GetCourier").ForViewers().WithSummary("One courier, with its recent runs and next scheduled run");
        group.MapPut("/{id}", UpdateAsync).WithName("UpdateCourier").ForAdmins()
            .WithSummary("Replace a courier's configuration; a run in progress finishes with the old one");
        group.MapDelete("/{id}", DeleteAsync).WithName("DeleteCourier").ForAdmins().WithSummary("Delete a courier that has no run in progress");
        group.MapPost("/{id}/runs", StartRunAsync).WithName("StartRun").ForAdmins()
            .WithSummary("Start a run: { date } or { from, to } (to exclusive), options forceReload and skipMissingFiles; answers 202 with the run id");
        group.MapGet("/{id}/runs", ListRunsAsync).WithName("ListCourierRuns").ForViewers().WithSummary("A courier's runs, newest first");
    }

    public static async Task<Results<Created<CourierView>, InvalidProblem, ConflictProblem, UnavailableProblem>> AddAsync(
        CourierRequest body, CourierService couriers, CancellationToken ct) =>
        await couriers.AddAsync(body, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Created($"/api/couriers/{view!.Id}", view),
            { Failure: { Kind: FailureKind.Invalid } f } => f.AsInvalid(),
            { Failure: { Kind: FailureKind.Conflict } f } => f.AsConflict(),
            { Failure: var f } => f.AsUnavailable(),
        };

    public static async Task<Results<Ok<IReadOnlyList<CourierView>>, UnavailableProblem>> ListAsync(CourierService couriers, CancellationToken ct) =>
        await couriers.ListAsync(ct) switch
        {
            { Failure: null, Value: var views } => TypedResults.Ok(views),
            { Failure: var f } => f.AsUnavailable(),
        };

    public static async Task<Results<Ok<CourierView>, NotFoundProblem, UnavailableProblem>> GetAsync(string id, CourierService couriers, CancellationToken ct) =>
        await couriers.GetAsync(id, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Ok(view),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: var f } => f.AsUnavailable(),
        };

    public static async Task<Results<Ok<CourierView>, InvalidProblem, NotFoundProblem, UnavailableProblem>> UpdateAsync(
        string id, CourierRequest body, CourierService couriers, CancellationToken ct) =>
        await couriers.UpdateAsync(id, body, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Ok(view),
            { Failure: { Kind: FailureKind.Invalid } f } => f.AsInvalid(),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: var f } => f.AsUnavailable(),
        };

    public static async Task<Results<NoContent, NotFoundProblem, ConflictProblem, UnavailableProblem>> DeleteAsync(
        string id, CourierService couriers, CancellationToken ct) =>
        await couriers.DeleteAsync(id, ct) switch
        {
            { Failure: null } => TypedResults.NoContent(),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: { Kind: FailureKind.Conflict } f } => f.AsConflict(),
            { Failure: var f } => f.AsUnavailable(),
        };

    /// <param name="body">Optional: without one, the run is for today (UTC).</param>
    public static async Task<Results<Accepted<RunAcceptedView>, InvalidProblem, NotFoundProblem, UnavailableProblem>> StartRunAsync(
        string id, RunRequest? body, CourierService couriers, CancellationToken ct) =>
        await couriers.StartRunAsync(id, body, ct) switch
        {
            { Failure: null, Value: var accepted } => TypedResults.Accepted(accepted!.Location, accepted),
            { Failure: { Kind: FailureKind.Invalid } f } => f.AsInvalid(),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: var f } => f.AsUnavailable(),
        };

    /// <param name="limit">How many, newest first: 1-200, default 20.</param>
    public static async Task<Ok<IReadOnlyList<RunRecord>>> ListRunsAsync(string id, int? limit, CourierService couriers, CancellationToken ct) =>
        TypedResults.Ok(await couriers.ListRunsAsync(id, limit, ct));
}
