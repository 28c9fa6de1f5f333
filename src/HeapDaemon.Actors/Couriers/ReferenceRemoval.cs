using Akka.Actor;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Heap;
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

    public static async Task<object> DeleteCredentialIfUnusedAsync(string credentialId, IReadOnlyList<(string Id, IActorRef? Child)> couriers,
        CourierServices services)
    {
        if (!(await services.Credentials.KindsAsync([credentialId], CancellationToken.None)).ContainsKey(credentialId))
            return new CredentialNotFound(credentialId);
        var uses = (await ViewsAsync(couriers, $"credential '{credentialId}'"))
            .SelectMany(view => view.Config.CredentialUses().Where(u => u.CredentialId == credentialId).Select(u => (view.Id, u.Where)))
            .OrderBy(u => u.Id, StringComparer.Ordinal).ToList();
        if (uses.Count > 0)
            return new CredentialInUse(credentialId, uses.Select(u => u.Id).Distinct().ToList(), uses.Select(u => $"courier '{u.Id}' ({u.Where})").ToList());
        return await services.Credentials.DeleteAsync(credentialId, CancellationToken.None)
            ? new CredentialDeleted(credentialId)
            : new CredentialNotFound(credentialId);
    }

    public static async Task<object> DeleteFeedIfUnusedAsync(DeleteFeed delete, IReadOnlyList<(string Id, IActorRef? Child)> couriers,
        CourierServices services)
    {
        var id = delete.FeedId;
        if (await services.Feeds.GetAsync(id, CancellationToken.None) is not { } feed) return new FeedNotFound(id);
        var uses = (await ViewsAsync(couriers, $"feed '{id}'"))
            .SelectMany(view => FeedUses(view.Config, feed.Definition).Select(where => (view.Id, Where: where)))
            .OrderBy(u => u.Id, StringComparer.Ordinal).ToList();
        if (uses.Count > 0)
            return new FeedInUse(id, uses.Select(u => u.Id).Distinct().ToList(), uses.Select(u => $"courier '{u.Id}' ({u.Where})").ToList());

        // The identity views of a Heap source read its tables: made again without the table once it is gone.
        var source = feed.Definition.Source;
        var rebuildViews = delete.DropTable && await services.Heap.DropIdentityViewsAsync(source, CancellationToken.None);
        try
        {
            return await services.Feeds.DeleteAsync(id, delete.DropTable, CancellationToken.None) is { } removed
                ? new FeedDeleted(removed)
                : new FeedNotFound(id);
        }
        catch (FeedTableInUseException e)
        {
            return new FeedNotDeleted(id, e.Message);
        }
        finally
        {
            if (rebuildViews) await services.Heap.RefreshIdentityViewsAsync(source, CancellationToken.None);
        }
    }

    /// <summary>
    /// Every courier's configuration, asked of the courier. A courier that is not running (restarting after a failure)
    /// cannot say, so the deletion is refused until it is back.
    /// </summary>
    /// <param name="what">What is being deleted, for the refusal: <c>credential 'x'</c>.</param>
    private static async Task<IEnumerable<CourierView>> ViewsAsync(IReadOnlyList<(string Id, IActorRef? Child)> couriers, string what)
    {
        if (couriers.FirstOrDefault(c => c.Child is null) is { Id: { } restarting })
            throw new InvalidOperationException($"courier '{restarting}' is restarting after a failure, so whether it uses {what} is not known; try again shortly");
        var views = await Task.WhenAll(couriers.Select(c => c.Child!.Ask<object>(new GetCourier(c.Id), CourierAskTimeout)));
        if (views.OfType<Status.Failure>().FirstOrDefault() is { } failure) throw failure.Cause;
        return views.OfType<CourierView>();
    }

    /// <summary>Where a courier's configuration loads into the feed: a files entry's feedId, or a Heap courier's tables.</summary>
    private static IEnumerable<string> FeedUses(CourierConfig config, FeedDefinition feed)
    {
        if (config.Kind == CourierKind.Heap)
        {
            // A Heap courier loads every table of its source into the feed it made for it (heap-<table>).
            if (feed.Source == config.HeapSource && feed.Id == HeapSchema.FeedId(config.HeapSource, feed.Name))
                yield return $"Heap courier of source '{config.HeapSource}', table '{feed.Name}'";
            yield break;
        }
        for (var i = 0; i < config.Files.Length; i++)
            if (config.Files[i].FeedId == feed.Id) yield return $"files[{i}].feedId";
    }
}
