using Akka.Actor;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Loading;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// Deletes a credential or a feed that no courier uses. The registry runs these one at a time while configurations
/// wait, so no courier takes the credential or feed up between the check and the delete.
/// </summary>
internal static class ReferenceRemoval
{
    private static readonly TimeSpan CourierAskTimeout = TimeSpan.FromSeconds(5);

    public static async Task<object> DeleteCredentialIfUnusedAsync(string credentialId, IReadOnlyList<(string Id, IActorRef Courier)> couriers,
        CourierServices services)
    {
        if (!(await services.Credentials.KindsAsync([credentialId], CancellationToken.None)).ContainsKey(credentialId))
            return new CredentialNotFound(credentialId);
        var uses = (await ViewsAsync(couriers))
            .SelectMany(view => view.Config.CredentialUses().Where(u => u.CredentialId == credentialId).Select(u => (view.Id, u.Where)))
            .OrderBy(u => u.Id, StringComparer.Ordinal).ToList();
        if (uses.Count > 0)
            return new CredentialInUse(credentialId, uses.Select(u => u.Id).Distinct().ToList(), uses.Select(u => $"courier '{u.Id}' ({u.Where})").ToList());
        return await services.Credentials.DeleteAsync(credentialId, CancellationToken.None)
            ? new CredentialDeleted(credentialId)
            : new CredentialNotFound(credentialId);
    }

    public static async Task<object> DeleteFeedIfUnusedAsync(DeleteFeed delete, IReadOnlyList<(string Id, IActorRef Courier)> couriers,
        CourierServices services)
    {
        var id = delete.FeedId;
        if (await services.Feeds.GetAsync(id, CancellationToken.None) is not { } feed) return new FeedNotFound(id);
        var uses = (await ViewsAsync(couriers))
            .SelectMany(view => services.Kinds[view.Config.Kind].FeedUses(view.Config, feed.Definition).Select(where => (view.Id, Where: where)))
            .OrderBy(u => u.Id, StringComparer.Ordinal).ToList();
        if (uses.Count > 0)
            return new FeedInUse(id, uses.Select(u => u.Id).Distinct().ToList(), uses.Select(u => $"courier '{u.Id}' ({u.Where})").ToList());

        // What a kind made on its source's tables (a Heap source's identity views) is put aside around the drop.
        var deleteFeed = () => services.Feeds.DeleteAsync(id, delete.DropTable, CancellationToken.None);
        if (delete.DropTable)
            foreach (var kind in services.Kinds.All)
            {
                var inner = deleteFeed;
                deleteFeed = () => kind.AroundTableDropAsync(feed.Definition.Source, inner, CancellationToken.None);
            }
        try
        {
            return await deleteFeed() is { } removed ? new FeedDeleted(removed) : new FeedNotFound(id);
        }
        catch (FeedTableInUseException e)
        {
            return new FeedNotDeleted(id, e.Message);
        }
    }

    /// <summary>
    /// Every courier's configuration, asked of the courier. A courier that is not running (restarting after a failure)
    /// cannot say: its supervisor answers <see cref="CourierRestartingException"/>, which refuses the deletion until it
    /// is back.
    /// </summary>
    private static async Task<IEnumerable<CourierView>> ViewsAsync(IReadOnlyList<(string Id, IActorRef Courier)> couriers)
    {
        var views = await Task.WhenAll(couriers.Select(c => c.Courier.Ask<object>(new GetCourier(c.Id), CourierAskTimeout)));
        if (views.OfType<Status.Failure>().FirstOrDefault() is { } failure) throw failure.Cause;
        return views.OfType<CourierView>();
    }
}
