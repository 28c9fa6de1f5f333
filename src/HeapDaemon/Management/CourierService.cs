using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Runs;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Management;

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

    public static CourierRequest Of(CourierView view) =>
        new(view.Config.CredentialId, view.Config.Files.IsDefault ? null : [.. view.Config.Files], view.Id, view.Config.LoadType,
            view.Config.Schedule, view.Config.Kind, view.Config.Prefix, view.Config.Source);
}

/// <param name="Location">Where the run's status is: <c>/api/runs/{runId}</c>.</param>
public sealed record RunAcceptedView(Guid RunId, RunStatus Status, string Location)
{
    public static RunAcceptedView Of(Guid runId) => new(runId, RunStatus.Queued, $"/api/runs/{runId}");
}

/// <summary>Couriers as a user handles them: the checks a configuration must pass, and the courier actors that keep them.</summary>
public sealed class CourierService(
    IRequiredActor<CourierRegistryActor> couriers, CourierKinds kinds, CredentialCatalog credentials, PgpKeyCatalog pgp, FeedCatalog feeds, RunStore runs)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public async Task<Outcome<CourierView>> AddAsync(CourierRequest body, CancellationToken ct)
    {
        if (!Identifiers.IsId(body.Id)) return Failure.Invalid($"id '{body.Id}' must be {Identifiers.IdRule}");
        if (await CheckAsync(body.ToConfig(), ct) is { } invalid) return invalid;
        return await (await couriers.GetAsync(ct)).Ask<object>(new ConfigureCourier(body.Id!, body.ToConfig(), Create: true), AskTimeout, ct) switch
        {
            CourierView view => view,
            CourierExists => Failure.Conflict($"a courier with id '{body.Id}' exists already"),
            ConfigurationRefused refused => Failure.Invalid(refused.Errors),
            var reply => CourierReplyFailure.Of(reply),
        };
    }

    public async Task<Outcome<IReadOnlyList<CourierView>>> ListAsync(CancellationToken ct)
    {
        var registry = await couriers.GetAsync(ct);
        var ids = await registry.Ask<CourierIds>(ListCouriers.Instance, AskTimeout, ct);
        var views = await Task.WhenAll(ids.Ids.Select(id => registry.Ask<object>(new GetCourier(id), AskTimeout, ct)));
        // A courier shows its runs from heapd.runs: without the database, the list is not whole.
        return views.OfType<Status.Failure>().FirstOrDefault() is { } failure
            ? CourierReplyFailure.Of(failure)
            : new Outcome<IReadOnlyList<CourierView>>(views.OfType<CourierView>().ToList(), null);
    }

    public async Task<Outcome<CourierView>> GetAsync(string id, CancellationToken ct) =>
        await (await couriers.GetAsync(ct)).Ask<object>(new GetCourier(id), AskTimeout, ct) switch
        {
            CourierView view => view,
            CourierNotFound => Failure.NotFound($"no courier '{id}'"),
            var reply => CourierReplyFailure.Of(reply),
        };

    public async Task<Outcome<CourierView>> UpdateAsync(string id, CourierRequest body, CancellationToken ct)
    {
        if (body.Id is not null && body.Id != id) return Failure.Invalid($"id: the body's id '{body.Id}' is not the route's '{id}'");
        if (await CheckAsync(body.ToConfig(), ct) is { } invalid) return invalid;
        return await (await couriers.GetAsync(ct)).Ask<object>(new ConfigureCourier(id, body.ToConfig(), Create: false), AskTimeout, ct) switch
        {
            CourierView view => view,
            CourierNotFound => Failure.NotFound($"no courier '{id}'"),
            ConfigurationRefused refused => Failure.Invalid(refused.Errors),
            var reply => CourierReplyFailure.Of(reply),
        };
    }

    /// <summary>Pauses or resumes a courier's schedule (Amperity's actions menu); the schedule itself is kept.</summary>
    public async Task<Outcome<CourierView>> SetScheduleActiveAsync(string id, bool active, CancellationToken ct)
    {
        var current = await GetAsync(id, ct);
        if (current.Failure is { } failure) return failure;
        if (current.Value!.Config.Schedule is not { } schedule) return Failure.Conflict($"courier '{id}' has no schedule; it runs only when asked");
        return await UpdateAsync(id, CourierRequest.Of(current.Value) with { Schedule = schedule with { Active = active } }, ct);
    }

    public async Task<Outcome<string>> DeleteAsync(string id, CancellationToken ct) =>
        await (await couriers.GetAsync(ct)).Ask<object>(new DeleteCourier(id), AskTimeout, ct) switch
        {
            CourierRemoved => id,
            CourierNotFound => Failure.NotFound($"no courier '{id}'"),
            CourierBusy busy => Failure.Conflict(busy.Reason),
            var reply => CourierReplyFailure.Of(reply),
        };

    public async Task<Outcome<RunAcceptedView>> StartRunAsync(string id, RunRequest? request, CancellationToken ct) =>
        await (await couriers.GetAsync(ct)).Ask<object>(new StartRun(id, request ?? new RunRequest()), AskTimeout, ct) switch
        {
            RunAccepted accepted => RunAcceptedView.Of(accepted.RunId),
            CourierNotFound => Failure.NotFound($"no courier '{id}'"),
            RunRefused refused => Failure.Invalid(refused.Reason),
            var reply => CourierReplyFailure.Of(reply),
        };

    /// <param name="limit">How many, newest first: 1-200, default 20.</param>
    public Task<IReadOnlyList<RunRecord>> ListRunsAsync(string id, int? limit, CancellationToken ct) =>
        runs.ListForCourierAsync(id, Math.Clamp(limit ?? 20, 1, 200), ct);

    /// <summary>A courier can only use credentials that exist and load into feeds that are active.</summary>
    private async Task<Failure?> CheckAsync(CourierConfig config, CancellationToken ct)
    {
        var errors = kinds.Validate(config).ToList();
        if (errors.Count > 0) return Failure.Invalid(errors);
        if (await credentials.GetAsync(config.CredentialId, ct) is null) errors.Add($"credential '{config.CredentialId}' does not exist");
        foreach (var pgpId in config.Files.Select(f => f.PgpCredentialId).OfType<string>().Distinct())
            if (await pgp.GetAsync(pgpId, ct) is null) errors.Add($"PGP credential '{pgpId}' does not exist");
        foreach (var feedId in config.Files.Select(f => f.FeedId).Distinct())
        {
            var feed = await feeds.GetAsync(feedId, ct);
            if (feed is null) errors.Add($"feed '{feedId}' does not exist");
            else if (!feed.Active) errors.Add($"feed '{feedId}' is not active; activate it before a courier loads into it");
        }
        return errors.Count > 0 ? Failure.Invalid(errors) : null;
    }
}
