using System.Collections.Immutable;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Preview;
using Npgsql;

namespace HeapDaemon.Management;

/// <param name="Id">Defaults to <c>source-name</c>.</param>
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
        id ?? Id ?? $"{Source}-{Name}".Replace('_', '-'), Source, Name, Fields.IsDefault ? [] : Fields, LastUpdatedField,
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

/// <summary>The feed editor's operations: add, edit (an active feed's table migrated, as <see cref="FeedMigration"/> plans it), activate.</summary>
public sealed class FeedService(FeedCatalog catalog)
{
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
