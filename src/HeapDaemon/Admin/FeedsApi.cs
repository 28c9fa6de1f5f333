using System.Collections.Immutable;
using HeapDaemon.Access;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Loading;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace HeapDaemon.Admin;

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
}

/// <param name="DomainTable">As Amperity shows it: <c>Heap:Users</c>.</param>
/// <param name="Table">Where it is in PostgreSQL: <c>heap.users</c>.</param>
public sealed record FeedView(FeedDefinition Feed, bool Active, DateTimeOffset? ActivatedAt, string DomainTable, string Table)
{
    public static FeedView Of(FeedRecord record) =>
        new(record.Definition, record.Active, record.ActivatedAt, record.Definition.Table.DisplayName, record.Definition.Table.ToString());
}

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

    public static async Task<Results<Created<FeedView>, InvalidProblem, ConflictProblem>> AddAsync(FeedRequest body, FeedCatalog catalog, CancellationToken ct)
    {
        var feed = body.ToDefinition();
        if (feed.Validate() is { Count: > 0 } errors) return new InvalidProblem(errors);
        return await catalog.AddAsync(feed, ct) is { } conflict
            ? new ConflictProblem(conflict)
            : TypedResults.Created($"/api/feeds/{feed.Id}", FeedView.Of(new FeedRecord(feed, false, null)));
    }

    public static async Task<Ok<IReadOnlyList<FeedView>>> ListAsync(FeedCatalog catalog, CancellationToken ct) =>
        TypedResults.Ok<IReadOnlyList<FeedView>>((await catalog.ListAsync(ct)).Select(FeedView.Of).ToList());

    public static async Task<Results<Ok<FeedView>, NotFoundProblem>> GetAsync(string id, FeedCatalog catalog, CancellationToken ct) =>
        await catalog.GetAsync(id, ct) is { } feed ? TypedResults.Ok(FeedView.Of(feed)) : new NotFoundProblem($"no feed '{id}'");

    /// <param name="purge">Needed to change the primary key of a feed that loaded rows: they are deleted, and the next run reloads.</param>
    public static async Task<Results<Ok<FeedView>, InvalidProblem, NotFoundProblem, ConflictProblem>> UpdateAsync(
        string id, bool? purge, FeedRequest body, FeedCatalog catalog, CancellationToken ct)
    {
        if (body.Id is not null && body.Id != id) return new InvalidProblem($"id: the body's id '{body.Id}' is not the route's '{id}'");
        var feed = body.ToDefinition(id);
        if (feed.Validate() is { Count: > 0 } errors) return new InvalidProblem(errors);
        if (await catalog.GetAsync(id, ct) is null) return new NotFoundProblem($"no feed '{id}'");
        try
        {
            if (await catalog.UpdateAsync(feed, purge ?? false, ct) is { } refused) return new ConflictProblem(refused);
        }
        catch (InvalidOperationException e)
        {
            return new ConflictProblem(e.Message);
        }
        catch (PostgresException e) when (!PostgresErrors.IsUnavailable(e))
        {
            return new ConflictProblem($"feed '{id}' cannot be changed: {PostgresErrors.Describe(e)}");
        }
        return TypedResults.Ok(FeedView.Of((await catalog.GetAsync(id, ct))!));
    }

    public static async Task<Results<Ok<FeedView>, NotFoundProblem, ConflictProblem>> ActivateAsync(string id, FeedCatalog catalog, CancellationToken ct)
    {
        try
        {
            return await catalog.ActivateAsync(id, ct) is { } feed ? TypedResults.Ok(FeedView.Of(feed)) : new NotFoundProblem($"no feed '{id}'");
        }
        catch (InvalidOperationException e)
        {
            return new ConflictProblem($"feed '{id}' cannot be activated: {e.Message}");
        }
        // PostgreSQL answered and refused (a feed saved before its limits were checked): its reason, not "unreachable".
        catch (PostgresException e) when (!PostgresErrors.IsUnavailable(e))
        {
            return new ConflictProblem($"feed '{id}' cannot be activated: {PostgresErrors.Describe(e)}");
        }
    }
}
