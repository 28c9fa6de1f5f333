using System.Collections.Immutable;
using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Couriers;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Preview;
using Npgsql;

namespace HeapDaemon.Management;

/// <param name="Id">Defaults to <c>source-name</c>, both as they are kept (<see cref="FeedDefinition.DefaultId"/>).</param>
public sealed record FeedRequest(
    string Source,
    string Name,
    ImmutableArray<FeedField> Fields,
    string? Id = null,
    string? LastUpdatedField = null,
    decimal? ErrorThresholdPercent = null,
    string? DatetimeFormat = null,
    NewColumnPolicy NewColumns = NewColumnPolicy.Fail)
{
    /// <summary>Fields sent without tags get the tags their names suggest; an empty list means none.</summary>
    public FeedDefinition ToDefinition(string? id = null) => SemanticTags.WithSuggestions(new FeedDefinition(
        id ?? Id ?? FeedDefinition.DefaultId(Source, Name), Source, Name, Fields.IsDefault ? [] : Fields, LastUpdatedField,
        ErrorThresholdPercent ?? 1m, DatetimeFormat, NewColumns));

    public static FeedRequest Of(FeedDefinition feed) =>
        new(feed.Source, feed.Name, feed.Fields, feed.Id, feed.LastUpdatedField, feed.ErrorThresholdPercent, feed.DatetimeFormat, feed.NewColumns);
}

/// <param name="DomainTable">As Amperity shows it: <c>Heap:Users</c>.</param>
/// <param name="Table">Where it is in PostgreSQL: <c>heap.users</c>.</param>
public sealed record FeedView(FeedDefinition Feed, bool Active, DateTimeOffset? ActivatedAt, string DomainTable, string Table)
{
    public static FeedView Of(FeedRecord record) =>
        new(record.Definition, record.Active, record.ActivatedAt, record.Definition.Table.DisplayName, record.Definition.Table.ToString());
}

/// <param name="DomainTable">The feed's table, e.g. <c>heap.users</c>.</param>
/// <param name="TableDropped">false: the table and its rows are still there.</param>
/// <param name="LedgerRowsDeleted">The object versions the feed had loaded (or skipped), forgotten with it.</param>
public sealed record FeedDeletedView(string Id, string DomainTable, bool TableDropped, long LedgerRowsDeleted);

/// <summary>
/// The feed editor's operations: add, edit (an active feed's table migrated, as <see cref="FeedMigration"/> plans it),
/// activate, delete.
/// </summary>
public sealed class FeedService(FeedCatalog catalog, IRequiredActor<CourierRegistryActor> couriers)
{
    /// <summary>Through the courier registry, which holds configurations back while it checks that no courier uses the feed.</summary>
    /// <param name="dropTable">Drop the feed's domain table too (refused, naming them, while views of the user's read it).</param>
    public async Task<Outcome<FeedDeletedView>> DeleteAsync(string id, bool dropTable, CancellationToken ct) =>
        await (await couriers.GetAsync(ct)).Ask<object>(new DeleteFeed(id, dropTable), TimeSpan.FromSeconds(30), ct) switch
        {
            FeedDeleted { Removed: var removed } => new FeedDeletedView(id, removed.Feed.Table.ToString(), removed.TableDropped, removed.LedgerRowsDeleted),
            FeedNotFound => Failure.NotFound($"no feed '{id}'"),
            FeedInUse inUse => Failure.Conflict(
                $"feed '{id}' is used by {string.Join(", ", inUse.Uses)}; point them at another feed or delete them first",
                new Dictionary<string, object?> { ["couriers"] = inUse.Couriers }),
            FeedNotDeleted refused => Failure.Conflict(refused.Reason),
            var reply => CourierReplyFailure.Of(reply, "The feed could not be deleted now"),
        };

    public async Task<Outcome<FeedView>> AddAsync(FeedRequest body, CancellationToken ct)
    {
        var feed = body.ToDefinition();
        if (feed.Validate() is { Count: > 0 } errors) return Failure.Invalid(errors);
        return await catalog.AddAsync(feed, ct) is { } conflict
            ? Failure.Conflict(conflict)
            : FeedView.Of(new FeedRecord(feed, false, null));
    }

    public async Task<IReadOnlyList<FeedView>> ListAsync(CancellationToken ct) => (await catalog.ListAsync(ct)).Select(FeedView.Of).ToList();

    public async Task<Outcome<FeedView>> GetAsync(string id, CancellationToken ct) =>
        await catalog.GetAsync(id, ct) is { } feed ? FeedView.Of(feed) : Failure.NotFound($"no feed '{id}'");

    /// <summary>What saving the edit would do to the table, without saving it: the console shows it before the user saves.</summary>
    public async Task<Outcome<FeedMigration>> PlanAsync(string id, FeedRequest body, bool purge, CancellationToken ct)
    {
        if (Check(id, body) is { } invalid) return invalid;
        return await catalog.GetAsync(id, ct) is { } current
            ? FeedMigration.Plan(current, body.ToDefinition(id), purge)
            : Failure.NotFound($"no feed '{id}'");
    }

    /// <param name="purge">Needed to change the primary key of a feed that loaded rows: they are deleted, and the next run reloads.</param>
    public async Task<Outcome<FeedView>> UpdateAsync(string id, FeedRequest body, bool purge, CancellationToken ct)
    {
        if (Check(id, body) is { } invalid) return invalid;
        if (await catalog.GetAsync(id, ct) is null) return Failure.NotFound($"no feed '{id}'");
        try
        {
            if (await catalog.UpdateAsync(body.ToDefinition(id), purge, ct) is { } refused) return Failure.Conflict(refused);
        }
        catch (InvalidOperationException e)
        {
            return Failure.Conflict(e.Message);
        }
        catch (PostgresException e) when (!PostgresErrors.IsUnavailable(e))
        {
            return Failure.Conflict($"feed '{id}' cannot be changed: {PostgresErrors.Describe(e)}");
        }
        return FeedView.Of((await catalog.GetAsync(id, ct))!);
    }

    public async Task<Outcome<FeedView>> ActivateAsync(string id, CancellationToken ct)
    {
        try
        {
            return await catalog.ActivateAsync(id, ct) is { } feed ? FeedView.Of(feed) : Failure.NotFound($"no feed '{id}'");
        }
        catch (InvalidOperationException e)
        {
            return Failure.Conflict($"feed '{id}' cannot be activated: {e.Message}");
        }
        // PostgreSQL answered and refused (a feed saved before its limits were checked): its reason, not "unreachable".
        catch (PostgresException e) when (!PostgresErrors.IsUnavailable(e))
        {
            return Failure.Conflict($"feed '{id}' cannot be activated: {PostgresErrors.Describe(e)}");
        }
    }

    private static Failure? Check(string id, FeedRequest body)
    {
        if (body.Id is not null && body.Id != id) return Failure.Invalid($"id: the body's id '{body.Id}' is not the route's '{id}'");
        return body.ToDefinition(id).Validate() is { Count: > 0 } errors ? Failure.Invalid(errors) : null;
    }
}
