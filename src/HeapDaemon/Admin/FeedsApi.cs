using System.Collections.Immutable;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Loading;
using Npgsql;
using static HeapDaemon.Admin.AdminApi;

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

        group.MapPost("/", async (HttpRequest request, FeedCatalog catalog, CancellationToken ct) =>
        {
            var (body, error) = await ReadJsonAsync<FeedRequest>(request);
            if (error is not null) return error;
            var feed = body!.ToDefinition();
            if (feed.Validate() is { Count: > 0 } errors) return Invalid(errors);
            return await catalog.AddAsync(feed, ct) is { } conflict
                ? Conflict(conflict)
                : TypedResults.Created($"/api/feeds/{feed.Id}", FeedView.Of(new FeedRecord(feed, false, null)));
        }).WithSummary("Add a feed (inactive until activated)");

        group.MapGet("/", async (FeedCatalog catalog, CancellationToken ct) =>
            TypedResults.Ok((await catalog.ListAsync(ct)).Select(FeedView.Of)));

        group.MapGet("/{id}", async (string id, FeedCatalog catalog, CancellationToken ct) =>
            await catalog.GetAsync(id, ct) is { } feed ? TypedResults.Ok(FeedView.Of(feed)) : NotFound($"no feed '{id}'"));

        group.MapPut("/{id}", async (string id, bool? purge, HttpRequest request, FeedCatalog catalog, CancellationToken ct) =>
        {
            var (body, error) = await ReadJsonAsync<FeedRequest>(request);
            if (error is not null) return error;
            if (body!.Id is not null && body.Id != id) return Invalid($"the body's id '{body.Id}' is not the route's '{id}'");
            var feed = body.ToDefinition(id);
            if (feed.Validate() is { Count: > 0 } errors) return Invalid(errors);
            if (await catalog.GetAsync(id, ct) is null) return NotFound($"no feed '{id}'");
            try
            {
                if (await catalog.UpdateAsync(feed, purge ?? false, ct) is { } refused) return Conflict(refused);
            }
            catch (InvalidOperationException e)
            {
                return Conflict(e.Message);
            }
            catch (PostgresException e) when (!PostgresErrors.IsUnavailable(e))
            {
                return Conflict($"feed '{id}' cannot be changed: {PostgresErrors.Describe(e)}");
            }
            return TypedResults.Ok(FeedView.Of((await catalog.GetAsync(id, ct))!));
        }).WithSummary("Edit a feed; an active feed's table gains new columns; a new primary key needs ?purge=true");

        group.MapPost("/{id}/activate", async (string id, FeedCatalog catalog, CancellationToken ct) =>
        {
            try
            {
                return await catalog.ActivateAsync(id, ct) is { } feed ? TypedResults.Ok(FeedView.Of(feed)) : NotFound($"no feed '{id}'");
            }
            catch (InvalidOperationException e)
            {
                return Conflict($"feed '{id}' cannot be activated: {e.Message}");
            }
            // PostgreSQL answered and refused (a feed saved before its limits were checked): its reason, not "unreachable".
            catch (PostgresException e) when (!PostgresErrors.IsUnavailable(e))
            {
                return Conflict($"feed '{id}' cannot be activated: {PostgresErrors.Describe(e)}");
            }
        }).WithSummary("Create (or widen) the feed's domain table and make it loadable");
    }
}
