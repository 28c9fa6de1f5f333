using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Access;
using HeapDaemon.Actors.Couriers;
using Microsoft.AspNetCore.Http.HttpResults;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Admin;

/// <param name="DomainTable">The feed's table, e.g. <c>heap.users</c>.</param>
/// <param name="TableDropped">false: the table and its rows are still there.</param>
/// <param name="LedgerRowsDeleted">The object versions the feed had loaded (or skipped), forgotten with it.</param>
public sealed record FeedDeletedView(string Id, string DomainTable, bool TableDropped, long LedgerRowsDeleted);

/// <summary><c>DELETE /api/feeds/{id}</c>: through the courier registry, which holds configurations back while it checks.</summary>
public static class FeedDeletionApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    public static void MapFeedDeletionApi(this RouteGroupBuilder api) =>
        api.MapDelete("/feeds/{id}", DeleteFeedAsync).WithName("DeleteFeed").ForAdmins()
            .WithTags("Feeds")
            .WithSummary("Delete a feed no courier uses, with its ledger rows; its domain table stays unless ?dropTable=true");

    /// <param name="dropTable">Drop the feed's domain table too (refused, naming them, while views of the user's read it).</param>
    public static async Task<Results<Ok<FeedDeletedView>, NotFoundProblem, ConflictProblem, UnavailableProblem>> DeleteFeedAsync(
        string id, bool? dropTable, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
        await (await couriers.GetAsync(ct)).Ask<object>(new DeleteFeed(id, dropTable ?? false), AskTimeout, ct) switch
        {
            FeedDeleted { Removed: var removed } => TypedResults.Ok(new FeedDeletedView(id, removed.Feed.Table.ToString(), removed.TableDropped,
                removed.LedgerRowsDeleted)),
            FeedNotFound => new NotFoundProblem($"no feed '{id}'"),
            FeedInUse inUse => new ConflictProblem(
                $"feed '{id}' is used by {string.Join(", ", inUse.Uses)}; point them at another feed or delete them first",
                new Dictionary<string, object?> { ["couriers"] = inUse.Couriers }),
            FeedNotDeleted refused => new ConflictProblem(refused.Reason),
            var reply => CouriersApi.Unexpected(reply, "The feed could not be deleted now"),
        };
}
