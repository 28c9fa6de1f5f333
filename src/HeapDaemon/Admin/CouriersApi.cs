using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Access;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Runs;
using Microsoft.AspNetCore.Http.HttpResults;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Admin;

/// <param name="Id">Required on create; on update it may be left out, and must match the route if given.</param>
/// <param name="Files">A files courier's entries (at least one); none for a Heap courier.</param>
public sealed record CourierRequest(
    string CredentialId,
    IReadOnlyList<CourierFile>? Files = null,
    string? Id = null,
    LoadType LoadType = LoadType.Upsert,
    CourierSchedule? Schedule = null,
    CourierKind Kind = CourierKind.Files,
    string? Prefix = null,
    string? Source = null)
{
    public CourierConfig ToConfig() => new(CredentialId, Files is null ? [] : [.. Files], LoadType, Schedule, Kind, Prefix, Source);
}

/// <param name="Location">Where the run's status is: <c>/api/runs/{runId}</c>.</param>
public sealed record RunAcceptedView(Guid RunId, RunStatus Status, string Location);

public static class CouriersApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static void MapCouriersApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/couriers").WithTags("Couriers");
        group.MapPost("/", AddAsync).WithName("AddCourier").ForAdmins().WithSummary("Add a courier");
        group.MapGet("/", ListAsync).WithName("ListCouriers").ForViewers().WithSummary("Every courier, with its recent runs and next scheduled run");
        group.MapGet("/{id}", GetAsync).WithName("GetCourier").ForViewers().WithSummary("One courier, with its recent runs and next scheduled run");
        group.MapPut("/{id}", UpdateAsync).WithName("UpdateCourier").ForAdmins()
            .WithSummary("Replace a courier's configuration; a run in progress finishes with the old one");
        group.MapDelete("/{id}", DeleteAsync).WithName("DeleteCourier").ForAdmins().WithSummary("Delete a courier that has no run in progress");
        group.MapPost("/{id}/runs", StartRunAsync).WithName("StartRun").ForAdmins()
            .WithSummary("Start a run: { date } or { from, to } (to exclusive), options forceReload and skipMissingFiles; answers 202 with the run id");
        group.MapGet("/{id}/runs", ListRunsAsync).WithName("ListCourierRuns").ForViewers().WithSummary("A courier's runs, newest first");
    }

    public static async Task<Results<Created<CourierView>, InvalidProblem, ConflictProblem, UnavailableProblem>> AddAsync(
        CourierRequest body, IRequiredActor<CourierRegistryActor> couriers, CourierKinds kinds, CredentialCatalog credentials, PgpKeyCatalog pgp,
        FeedCatalog feeds, CancellationToken ct)
    {
        if (!Identifiers.IsId(body.Id)) return new InvalidProblem($"id '{body.Id}' must be {Identifiers.IdRule}");
        if (await CheckAsync(body.ToConfig(), kinds, credentials, pgp, feeds, ct) is { } invalid) return invalid;
        return await (await couriers.GetAsync(ct)).Ask<object>(new ConfigureCourier(body.Id!, body.ToConfig(), Create: true), AskTimeout, ct) switch
        {
            CourierView view => TypedResults.Created($"/api/couriers/{view.Id}", view),
            CourierExists => new ConflictProblem($"a courier with id '{body.Id}' exists already"),
            ConfigurationRefused refused => new InvalidProblem(refused.Errors),
            var reply => Unexpected(reply),
        };
    }

    public static async Task<Results<Ok<IReadOnlyList<CourierView>>, UnavailableProblem>> ListAsync(IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct)
    {
        var registry = await couriers.GetAsync(ct);
        var ids = await registry.Ask<CourierIds>(ListCouriers.Instance, AskTimeout, ct);
        var views = await Task.WhenAll(ids.Ids.Select(id => registry.Ask<object>(new GetCourier(id), AskTimeout, ct)));
        // A courier shows its runs from heapd.runs: without the database, the list is not whole.
        return views.OfType<Status.Failure>().FirstOrDefault() is { } failure
            ? Unexpected(failure)
            : TypedResults.Ok<IReadOnlyList<CourierView>>(views.OfType<CourierView>().ToList());
    }

    public static async Task<Results<Ok<CourierView>, NotFoundProblem, UnavailableProblem>> GetAsync(
        string id, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
        await (await couriers.GetAsync(ct)).Ask<object>(new GetCourier(id), AskTimeout, ct) switch
        {
            CourierView view => TypedResults.Ok(view),
            CourierNotFound => new NotFoundProblem($"no courier '{id}'"),
            var reply => Unexpected(reply),
        };

    public static async Task<Results<Ok<CourierView>, InvalidProblem, NotFoundProblem, UnavailableProblem>> UpdateAsync(
        string id, CourierRequest body, IRequiredActor<CourierRegistryActor> couriers, CourierKinds kinds, CredentialCatalog credentials,
        PgpKeyCatalog pgp, FeedCatalog feeds, CancellationToken ct)
    {
        if (body.Id is not null && body.Id != id) return new InvalidProblem($"id: the body's id '{body.Id}' is not the route's '{id}'");
        if (await CheckAsync(body.ToConfig(), kinds, credentials, pgp, feeds, ct) is { } invalid) return invalid;
        return await (await couriers.GetAsync(ct)).Ask<object>(new ConfigureCourier(id, body.ToConfig(), Create: false), AskTimeout, ct) switch
        {
            CourierView view => TypedResults.Ok(view),
            CourierNotFound => new NotFoundProblem($"no courier '{id}'"),
            ConfigurationRefused refused => new InvalidProblem(refused.Errors),
            var reply => Unexpected(reply),
        };
    }

    public static async Task<Results<NoContent, NotFoundProblem, ConflictProblem, UnavailableProblem>> DeleteAsync(
        string id, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
        await (await couriers.GetAsync(ct)).Ask<object>(new DeleteCourier(id), AskTimeout, ct) switch
        {
            CourierRemoved => TypedResults.NoContent(),
            CourierNotFound => new NotFoundProblem($"no courier '{id}'"),
            CourierBusy busy => new ConflictProblem(busy.Reason),
            var reply => Unexpected(reply),
        };

    /// <param name="body">Optional: without one, the run is for today (UTC).</param>
    public static async Task<Results<Accepted<RunAcceptedView>, InvalidProblem, NotFoundProblem, UnavailableProblem>> StartRunAsync(
        string id, RunRequest? body, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
        await (await couriers.GetAsync(ct)).Ask<object>(new StartRun(id, body ?? new RunRequest()), AskTimeout, ct) switch
        {
            RunAccepted accepted => TypedResults.Accepted($"/api/runs/{accepted.RunId}",
                new RunAcceptedView(accepted.RunId, RunStatus.Queued, $"/api/runs/{accepted.RunId}")),
            CourierNotFound => new NotFoundProblem($"no courier '{id}'"),
            RunRefused refused => new InvalidProblem(refused.Reason),
            var reply => Unexpected(reply),
        };

    /// <param name="limit">How many, newest first: 1-200, default 20.</param>
    public static async Task<Ok<IReadOnlyList<RunRecord>>> ListRunsAsync(string id, RunStore runs, int? limit, CancellationToken ct) =>
        TypedResults.Ok(await runs.ListForCourierAsync(id, Math.Clamp(limit ?? 20, 1, 200), ct));

    /// <summary>A courier can only use credentials that exist and load into feeds that are active.</summary>
    private static async Task<InvalidProblem?> CheckAsync(CourierConfig config, CourierKinds kinds, CredentialCatalog credentials, PgpKeyCatalog pgp,
        FeedCatalog feeds, CancellationToken ct)
    {
        var errors = kinds.Validate(config).ToList();
        if (errors.Count > 0) return new InvalidProblem(errors);
        if (await credentials.GetAsync(config.CredentialId, ct) is null) errors.Add($"credential '{config.CredentialId}' does not exist");
        foreach (var pgpId in config.Files.Select(f => f.PgpCredentialId).OfType<string>().Distinct())
            if (await pgp.GetAsync(pgpId, ct) is null) errors.Add($"PGP credential '{pgpId}' does not exist");
        foreach (var feedId in config.Files.Select(f => f.FeedId).Distinct())
        {
            var feed = await feeds.GetAsync(feedId, ct);
            if (feed is null) errors.Add($"feed '{feedId}' does not exist");
            else if (!feed.Active) errors.Add($"feed '{feedId}' is not active; activate it before a courier loads into it");
        }
        return errors.Count > 0 ? new InvalidProblem(errors) : null;
    }

    /// <summary>An actor's reply the route did not expect: its failure (the database, most often) as a 503; the detail goes to the log.</summary>
    internal static UnavailableProblem Unexpected(object reply, string title = "The courier could not do it") =>
        reply is Status.Failure { Cause: var cause }
            ? new UnavailableProblem(title, UserMessage(cause))
            : new UnavailableProblem(title, "the courier gave an answer the API does not know; see the daemon's log");

    /// <summary>A failure's cause as a user reads it: PostgreSQL's own words when it answered, else what could not be reached.</summary>
    private static string UserMessage(Exception cause) => cause switch
    {
        Npgsql.PostgresException pg => PostgresErrors.Describe(pg),
        Npgsql.NpgsqlException or TimeoutException => "PostgreSQL cannot be reached right now; try again",
        _ => "see the daemon's log",
    };
}
