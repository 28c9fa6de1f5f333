using HeapDaemon.Access;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

/// <summary><c>DELETE /api/feeds/{id}</c> (<see cref="FeedService.DeleteAsync"/>).</summary>
public static class FeedDeletionApi
{
    public static void MapFeedDeletionApi(this RouteGroupBuilder api) =>
        api.MapDelete("/feeds/{id}", DeleteFeedAsync).WithName("DeleteFeed").ForAdmins()
            .WithTags("Feeds")
            .WithSummary("Delete a feed no courier uses, with its ledger rows; its domain table stays unless ?dropTable=true");

    /// <param name="dropTable">Drop the feed's domain table too (refused, naming them, while views of the user's read it).</param>
    public static async Task<Results<Ok<FeedDeletedView>, NotFoundProblem, ConflictProblem, UnavailableProblem>> DeleteFeedAsync(
        string id, bool? dropTable, FeedService feeds, CancellationToken ct) =>
        await feeds.DeleteAsync(id, dropTable ?? false, ct) switch
        {
            { Failure: null, Value: var deleted } => TypedResults.Ok(deleted),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: { Kind: FailureKind.Unavailable } f } => f.AsUnavailable(),
            { Failure: var f } => f.AsConflict(),
        };
}
