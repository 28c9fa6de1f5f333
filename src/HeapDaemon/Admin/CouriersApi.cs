using System.Collections.Immutable;
using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Runs;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;
using static HeapDaemon.Admin.AdminApi;

namespace HeapDaemon.Admin;

/// <param name="Id">Required on create; on update it may be left out, and must match the route if given.</param>
public sealed record CourierRequest(
    string CredentialId,
    ImmutableArray<CourierFile> Files,
    string? Id = null,
    LoadType LoadType = LoadType.Upsert,
    CourierSchedule? Schedule = null,
    CourierKind Kind = CourierKind.Files,
    string? Prefix = null,
    string? Source = null)
{
    public CourierConfig ToConfig() => new(CredentialId, Files.IsDefault ? [] : Files, LoadType, Schedule, Kind, Prefix, Source);
}

public sealed record RunAcceptedView(Guid RunId, string Status, string Location);

public static class CouriersApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static void MapCouriersApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/couriers").WithTags("Couriers");

        group.MapPost("/", async (HttpRequest request, IRequiredActor<CourierRegistryActor> couriers, CourierKinds kinds, CredentialCatalog credentials,
            PgpKeyCatalog pgp, FeedCatalog feeds, CancellationToken ct) =>
        {
            var (body, error) = await ReadJsonAsync<CourierRequest>(request);
            if (error is not null) return error;
            if (!Identifiers.IsId(body!.Id)) return Invalid($"id '{body.Id}' must be 1-63 lowercase letters, digits, '-' or '_'");
            if (await CheckAsync(body.ToConfig(), kinds, credentials, pgp, feeds, ct) is { } invalid) return invalid;
            var reply = await (await couriers.GetAsync(ct)).Ask<object>(new ConfigureCourier(body.Id!, body.ToConfig(), Create: true), AskTimeout, ct);
            return reply switch
            {
                CourierView view => TypedResults.Created($"/api/couriers/{view.Id}", view),
                CourierExists => Conflict($"a courier with id '{body.Id}' exists already"),
                ConfigurationRefused refused => Invalid(refused.Errors),
                _ => Unexpected(reply),
            };
        }).WithSummary("Add a courier");

        group.MapGet("/", async (IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
        {
            var registry = await couriers.GetAsync(ct);
            var ids = await registry.Ask<CourierIds>(ListCouriers.Instance, AskTimeout, ct);
            var views = await Task.WhenAll(ids.Ids.Select(id => registry.Ask<object>(new GetCourier(id), AskTimeout, ct)));
            // A courier shows its runs from heapd.runs: without the database, the list is not whole.
            return views.OfType<Status.Failure>().FirstOrDefault() is { } failure ? Unexpected(failure) : TypedResults.Ok(views.OfType<CourierView>());
        });

        group.MapGet("/{id}", async (string id, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
            await (await couriers.GetAsync(ct)).Ask<object>(new GetCourier(id), AskTimeout, ct) switch
            {
                CourierView view => TypedResults.Ok(view),
                CourierNotFound => NotFound($"no courier '{id}'"),
                var reply => Unexpected(reply),
            });

        group.MapPut("/{id}", async (string id, HttpRequest request, IRequiredActor<CourierRegistryActor> couriers, CourierKinds kinds,
            CredentialCatalog credentials, PgpKeyCatalog pgp, FeedCatalog feeds, CancellationToken ct) =>
        {
            var (body, error) = await ReadJsonAsync<CourierRequest>(request);
            if (error is not null) return error;
            if (body!.Id is not null && body.Id != id) return Invalid($"the body's id '{body.Id}' is not the route's '{id}'");
            if (await CheckAsync(body.ToConfig(), kinds, credentials, pgp, feeds, ct) is { } invalid) return invalid;
            return await (await couriers.GetAsync(ct)).Ask<object>(new ConfigureCourier(id, body.ToConfig(), Create: false), AskTimeout, ct) switch
            {
                CourierView view => TypedResults.Ok(view),
                CourierNotFound => NotFound($"no courier '{id}'"),
                ConfigurationRefused refused => Invalid(refused.Errors),
                var reply => Unexpected(reply),
            };
        }).WithSummary("Replace a courier's configuration; a run in progress finishes with the old one");

        group.MapDelete("/{id}", async (string id, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
            await (await couriers.GetAsync(ct)).Ask<object>(new DeleteCourier(id), AskTimeout, ct) switch
            {
                CourierRemoved => Results.NoContent(),
                CourierNotFound => NotFound($"no courier '{id}'"),
                CourierBusy busy => Conflict(busy.Reason),
                var reply => Unexpected(reply),
            });

        group.MapPost("/{id}/runs", async (string id, HttpRequest request, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
        {
            var (body, error) = await ReadJsonAsync<RunRequest>(request, allowEmpty: true);
            if (error is not null) return error;
            return await (await couriers.GetAsync(ct)).Ask<object>(new StartRun(id, body ?? new RunRequest()), AskTimeout, ct) switch
            {
                RunAccepted accepted => TypedResults.Accepted($"/api/runs/{accepted.RunId}",
                    new RunAcceptedView(accepted.RunId, "queued", $"/api/runs/{accepted.RunId}")),
                CourierNotFound => NotFound($"no courier '{id}'"),
                RunRefused refused => Invalid(refused.Reason),
                var reply => Unexpected(reply),
            };
        }).WithSummary("Start a run: { date } or { from, to } (to exclusive), options forceReload and skipMissingFiles; answers 202 with the run id");

        group.MapGet("/{id}/runs", async (string id, RunStore runs, int? limit, CancellationToken ct) =>
            TypedResults.Ok(await runs.ListForCourierAsync(id, Math.Clamp(limit ?? 20, 1, 200), ct)));
    }

    /// <summary>A courier can only use credentials that exist and load into feeds that are active.</summary>
    private static async Task<IResult?> CheckAsync(CourierConfig config, CourierKinds kinds, CredentialCatalog credentials, PgpKeyCatalog pgp,
        FeedCatalog feeds, CancellationToken ct)
    {
        var errors = kinds.Validate(config).ToList();
        if (errors.Count > 0) return Invalid(errors);
        if (await credentials.GetAsync(config.CredentialId, ct) is null) errors.Add($"credential '{config.CredentialId}' does not exist");
        foreach (var pgpId in config.Files.Select(f => f.PgpCredentialId).OfType<string>().Distinct())
            if (await pgp.GetAsync(pgpId, ct) is null) errors.Add($"PGP credential '{pgpId}' does not exist");
        foreach (var feedId in config.Files.Select(f => f.FeedId).Distinct())
        {
            var feed = await feeds.GetAsync(feedId, ct);
            if (feed is null) errors.Add($"feed '{feedId}' does not exist");
            else if (!feed.Active) errors.Add($"feed '{feedId}' is not active; activate it before a courier loads into it");
        }
        return errors.Count > 0 ? Invalid(errors) : null;
    }

    private static IResult Unexpected(object reply) => reply is Status.Failure failure
        ? TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The courier could not do it", detail: failure.Cause.Message)
        : TypedResults.Problem(statusCode: StatusCodes.Status500InternalServerError, title: $"Unexpected reply {reply.GetType().Name}");
}
