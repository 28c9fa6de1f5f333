using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Couriers;
using Microsoft.AspNetCore.Http.HttpResults;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Admin;

/// <param name="DomainTable">The feed's table, e.g. <c>heap.users</c>.</param>
/// <param name="TableDropped">false: the table and its rows are still there.</param>
/// <param name="LedgerRowsDeleted">The object versions the feed had loaded (or skipped), forgotten with it.</param>
public sealed record FeedDeletedView(string Id, string DomainTable, bool TableDropped, long LedgerRowsDeleted);

/// <summary><c>DELETE /api/feeds/{id}</c>.</summary>
public static class FeedDeletionApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    public static void MapFeedDeletionApi(this RouteGroupBuilder api) =>
        api.MapDelete("/feeds/{id}", DeleteFeedAsync)
            .WithTags("Feeds")
            .WithSummary("Delete a feed no courier uses, with its ledger rows; its domain table stays unless ?dropTable=true")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    /// <param name="dropTable">Drop the feed's domain table too (refused while views of the user's read it).</param>
    public static async Task<Results<Ok<FeedDeletedView>, ProblemHttpResult>> DeleteFeedAsync(string id, bool? dropTable,
        IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
        await (await couriers.GetAsync(ct)).Ask<object>(new DeleteFeed(id, dropTable ?? false), AskTimeout, ct) switch
        {
            FeedDeleted { Removed: var removed } => TypedResults.Ok(new FeedDeletedView(id, removed.Feed.Table.ToString(), removed.TableDropped,
                removed.LedgerRowsDeleted)),
            FeedNotFound => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"no feed '{id}'"),
            FeedInUse inUse => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict",
                detail: $"feed '{id}' is used by {string.Join(", ", inUse.Uses)}; point them at another feed or delete them first",
                extensions: new Dictionary<string, object?> { ["couriers"] = inUse.Couriers }),
            FeedNotDeleted refused => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: refused.Reason),
            Status.Failure failure => TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "The feed could not be deleted now", detail: failure.Cause.Message),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "The daemon failed to answer; see its log"),
        };
}
