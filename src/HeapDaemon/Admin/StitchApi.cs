using HeapDaemon.Access;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Stitch;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

/// <summary>
/// <c>/api/stitch</c>: stitches (start, history, status, cancel), Stitch's settings, and why a record belongs to its
/// person. Viewers read; starting, cancelling and changing settings are the admin's.
/// </summary>
public static class StitchApi
{
    public static void MapStitchApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/stitch").WithTags("Stitch");
        group.MapPost("/runs", StartAsync).WithName("StartStitch").ForAdmins()
            .WithSummary("Stitch now: incremental (what changed since the last stitch) unless { \"full\": true }; answers 202 with the run id");
        group.MapGet("/runs", ListAsync).WithName("ListStitches").ForViewers().WithSummary("Recent stitches, newest first");
        group.MapGet("/runs/{id}", GetAsync).WithName("GetStitch").ForViewers()
            .WithSummary("A stitch's status and statistics (records, pairs, people, notices, model, timings), and its progress while it runs");
        group.MapPost("/runs/{id}/cancel", CancelAsync).WithName("CancelStitch").ForAdmins()
            .WithSummary("Cancel a queued or running stitch; the previous result stays in place");
        group.MapGet("/settings", GetSettingsAsync).WithName("GetStitchSettings").ForViewers().WithSummary("Stitch's settings, defaults included");
        group.MapPost("/settings", ChangeSettingsAsync).WithName("ChangeStitchSettings").ForAdmins()
            .WithSummary("Change the settings named (the others keep their value); a change to what shapes the result makes the next stitch a full one");
        group.MapGet("/records/{source}/{feed}/{pk}", ExplainAsync).WithName("ExplainStitchedRecord").ForViewers()
            .WithSummary("A record's amperity_id, the other records of its person, the pairs and keys that joined them, and the customer 360 row");
    }

    /// <param name="body">Optional: without one, an incremental stitch.</param>
    public static async Task<Results<Accepted<StitchRunAcceptedView>, UnavailableProblem>> StartAsync(
        StitchRunRequest? body, StitchService stitch, CancellationToken ct) =>
        await stitch.StartAsync(body?.Full == true, ct) switch
        {
            { Failure: null, Value: var accepted } => TypedResults.Accepted(accepted!.Location, accepted),
            { Failure: var f } => f.AsUnavailable(),
        };

    /// <param name="limit">How many, newest first: 1-500, default 20.</param>
    public static async Task<Ok<IReadOnlyList<StitchRunRecord>>> ListAsync(StitchService stitch, int? limit, CancellationToken ct) =>
        TypedResults.Ok(await stitch.ListAsync(limit, ct));

    public static async Task<Results<Ok<StitchRunView>, NotFoundProblem>> GetAsync(Guid id, StitchService stitch, CancellationToken ct) =>
        await stitch.GetAsync(id, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Ok(view),
            { Failure: var f } => f.AsNotFound(),
        };

    public static async Task<Results<Accepted<RunCancellingView>, NotFoundProblem, ConflictProblem, UnavailableProblem>> CancelAsync(
        Guid id, StitchService stitch, CancellationToken ct) =>
        await stitch.CancelAsync(id, ct) switch
        {
            { Failure: null, Value: var cancelling } => TypedResults.Accepted($"/api/stitch/runs/{id}", cancelling),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: { Kind: FailureKind.Conflict } f } => f.AsConflict(),
            { Failure: var f } => f.AsUnavailable(),
        };

    public static async Task<Ok<StitchSettings>> GetSettingsAsync(StitchService stitch, CancellationToken ct) =>
        TypedResults.Ok(await stitch.GetSettingsAsync(ct));

    public static async Task<Results<Ok<StitchSettings>, InvalidProblem>> ChangeSettingsAsync(
        StitchSettingsRequest body, StitchService stitch, CancellationToken ct) =>
        await stitch.ChangeSettingsAsync(body, ct) switch
        {
            { Failure: null, Value: var settings } => TypedResults.Ok(settings),
            { Failure: var f } => f.AsInvalid(),
        };

    /// <param name="source">The record's source (the domain table's schema), e.g. <c>crm</c>, in any case.</param>
    /// <param name="feed">Its table, e.g. <c>customers</c>, in any case.</param>
    /// <param name="pk">Its primary key as the table's <c>_pk</c> holds it.</param>
    public static async Task<Results<Ok<StitchExplanation>, NotFoundProblem>> ExplainAsync(
        string source, string feed, string pk, StitchService stitch, CancellationToken ct) =>
        await stitch.ExplainAsync(source, feed, pk, ct) switch
        {
            { Failure: null, Value: var explanation } => TypedResults.Ok(explanation),
            { Failure: var f } => f.AsNotFound(),
        };
}
