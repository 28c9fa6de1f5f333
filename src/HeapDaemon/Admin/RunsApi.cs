using HeapDaemon.Access;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

public static class RunsApi
{
    public static void MapRunsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/runs").WithTags("Runs");
        group.MapGet("/", HistoryAsync).WithName("ListRuns").ForViewers()
            .WithSummary("The daemon's runs (or one courier's), newest first, filtered by status, a page at a time");
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

    /// <param name="courier">Only this courier's runs.</param>
    /// <param name="status">Only runs in this status: queued, running, succeeded, failed or cancelled.</param>
    /// <param name="before">The <c>next</c> of the page before: older runs.</param>
    /// <param name="pageSize">1-200, default 50.</param>
    public static async Task<Results<Ok<RunPage>, InvalidProblem>> HistoryAsync(
        string? courier, string? status, string? before, int? pageSize, RunService runs, CancellationToken ct) =>
        await runs.HistoryAsync(courier, status, before, pageSize, ct) switch
        {
            { Failure: null, Value: var page } => TypedResults.Ok(page),
            { Failure: var f } => f.AsInvalid(),
        };

    public static async Task<Results<Ok<RunView>, NotFoundProblem>> GetAsync(Guid id, RunService runs, CancellationToken ct) =>
        await runs.GetAsync(id, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Ok(view),
            { Failure: var f } => f.AsNotFound(),
        };

    public static async Task<Results<Accepted<RunCancellingView>, NotFoundProblem, ConflictProblem, UnavailableProblem>> CancelAsync(
        Guid id, RunService runs, CancellationToken ct) =>
        await runs.CancelAsync(id, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Accepted($"/api/runs/{id}", view),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: { Kind: FailureKind.Conflict } f } => f.AsConflict(),
            { Failure: var f } => f.AsUnavailable(),
        };

    public static async Task<Results<Accepted<RunAcceptedView>, NotFoundProblem, ConflictProblem, UnavailableProblem>> RetryAsync(
        Guid id, RunService runs, CancellationToken ct) =>
        await runs.RetryAsync(id, ct) switch
        {
            { Failure: null, Value: var accepted } => TypedResults.Accepted(accepted!.Location, accepted),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: { Kind: FailureKind.Conflict } f } => f.AsConflict(),
            { Failure: var f } => f.AsUnavailable(),
        };

    /// <param name="ordinal">The file's place in the run, as <c>GET /api/runs/{id}</c> lists it.</param>
    public static async Task<Results<Ok<RunView>, NotFoundProblem, ConflictProblem>> SkipFileAsync(Guid id, int ordinal, RunService runs, CancellationToken ct) =>
        await runs.SkipFileAsync(id, ordinal, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Ok(view),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: var f } => f.AsConflict(),
        };

    /// <param name="limit">1-1000, default 100.</param>
    /// <param name="offset">Rejects to pass over, for the next page.</param>
    public static async Task<Results<Ok<IReadOnlyList<RejectRecord>>, NotFoundProblem>> RejectsAsync(
        Guid id, int? limit, int? offset, RunService runs, CancellationToken ct) =>
        await runs.RejectsAsync(id, limit, offset, ct) switch
        {
            { Failure: null, Value: var rejects } => TypedResults.Ok(rejects),
            { Failure: var f } => f.AsNotFound(),
        };
}
