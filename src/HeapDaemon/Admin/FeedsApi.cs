using HeapDaemon.Access;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

public static class FeedsApi
{
    public static void MapFeedsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/feeds").WithTags("Feeds");
        group.MapPost("/", AddAsync).WithName("AddFeed").ForAdmins().WithSummary("Add a feed (inactive until activated)");
        group.MapGet("/", ListAsync).WithName("ListFeeds").ForViewers().WithSummary("Every feed, active or not");
        group.MapGet("/{id}", GetAsync).WithName("GetFeed").ForViewers().WithSummary("One feed");
        group.MapPut("/{id}", UpdateAsync).WithName("UpdateFeed").ForAdmins()
            .WithSummary("Edit a feed; an active feed's table gains new columns; a new primary key needs ?purge=true");
        group.MapPost("/{id}/activate", ActivateAsync).WithName("ActivateFeed").ForAdmins()
            .WithSummary("Create (or widen) the feed's domain table and make it loadable");
    }

    public static async Task<Results<Created<FeedView>, InvalidProblem, ConflictProblem>> AddAsync(FeedRequest body, FeedService feeds, CancellationToken ct) =>
        await feeds.AddAsync(body, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Created($"/api/feeds/{view!.Feed.Id}", view),
            { Failure: { Kind: FailureKind.Conflict } f } => f.AsConflict(),
            { Failure: var f } => f.AsInvalid(),
        };

    public static async Task<Ok<IReadOnlyList<FeedView>>> ListAsync(FeedService feeds, CancellationToken ct) => TypedResults.Ok(await feeds.ListAsync(ct));

    public static async Task<Results<Ok<FeedView>, NotFoundProblem>> GetAsync(string id, FeedService feeds, CancellationToken ct) =>
        await feeds.GetAsync(id, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Ok(view),
            { Failure: var f } => f.AsNotFound(),
        };

    /// <param name="purge">Needed to change the primary key of a feed that loaded rows: they are deleted, and the next run reloads.</param>
    public static async Task<Results<Ok<FeedView>, InvalidProblem, NotFoundProblem, ConflictProblem>> UpdateAsync(
        string id, bool? purge, FeedRequest body, FeedService feeds, CancellationToken ct) =>
        await feeds.UpdateAsync(id, body, purge ?? false, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Ok(view),
            { Failure: { Kind: FailureKind.Invalid } f } => f.AsInvalid(),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: var f } => f.AsConflict(),
        };

    public static async Task<Results<Ok<FeedView>, NotFoundProblem, ConflictProblem>> ActivateAsync(string id, FeedService feeds, CancellationToken ct) =>
        await feeds.ActivateAsync(id, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Ok(view),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: var f } => f.AsConflict(),
        };
}
