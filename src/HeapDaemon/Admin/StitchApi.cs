using System.Collections.Immutable;
using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Access;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Stitch;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;
using static HeapDaemon.Actors.Stitch.StitchCommands;
using static HeapDaemon.Actors.Stitch.StitchReplies;

namespace HeapDaemon.Admin;

/// <param name="Full">Match everything again and learn the model anew, instead of only what changed since the last stitch.</param>
public sealed record StitchRunRequest(bool Full = false);

/// <param name="Status">Always <c>queued</c>: the stitch starts when the one running (if any) ends.</param>
/// <param name="Message">Whether it waits behind a running stitch; a request made while one waits joins it (same run id).</param>
/// <param name="Location">Where the stitch's status is: <c>/api/stitch/runs/{runId}</c>.</param>
public sealed record StitchRunAcceptedView(Guid RunId, RunStatus Status, string Message, string Location);

/// <param name="Progress">While the stitch runs: its phase and how far it has got.</param>
public sealed record StitchRunView(StitchRunRecord Run, StitchProgress? Progress);

/// <summary>
/// Settings to change; those left out keep their value (<c>GET /api/stitch/settings</c> shows every one with its
/// default). A <c>schedule</c> of null cannot be told from one left out: <c>clearSchedule</c> removes it.
/// </summary>
/// <param name="MatchThreshold">Pairs whose match probability reaches this are linked: above 0 and below 1 (default 0.9).</param>
/// <param name="ComparedTags">Profile tags that are compared (default every one).</param>
/// <param name="SourcePriority">Sources (<c>crm</c>) or tables (<c>crm.customers</c>) whose values win in the customer 360, first first.</param>
/// <param name="BadValues">Placeholder values treated as missing, in place of the default list.</param>
/// <param name="MaxRecordsPerValue">An email, phone, address or key on more records is set aside: at least 2 (default 1000).</param>
/// <param name="MaxBlockSize">Blocks up to this size are compared pairwise, larger ones by a window: 2-10000 (default 20).</param>
/// <param name="BlockWindow">Neighbours each record of a large block is compared with, on each side: 1-1000 (default 5).</param>
/// <param name="MaxClusterSize">A person with more records is reported: at least 2 (default 1000).</param>
/// <param name="KeepPairsAbove">Compared pairs from this probability on are kept in unified_scores: 0 up to 1 (default 0.01).</param>
/// <param name="DefaultPhoneRegion">The ISO 3166 region of phone numbers written without a country code (default US).</param>
/// <param name="StripPlusAddressing">Compare jane+news@example.com as jane@example.com, and Gmail addresses without dots (default true).</param>
/// <param name="RunAfterLoads">Stitch after a courier run that changed a tagged table (default true).</param>
/// <param name="DebounceSeconds">Wait this long after the first such run for more: 0-86400 (default 30).</param>
/// <param name="Schedule">Also stitch on a cron schedule.</param>
/// <param name="ClearSchedule">Remove the schedule.</param>
public sealed record StitchSettingsRequest(
    double? MatchThreshold = null,
    ImmutableArray<string>? ComparedTags = null,
    ImmutableArray<string>? SourcePriority = null,
    ImmutableArray<string>? BadValues = null,
    int? MaxRecordsPerValue = null,
    int? MaxBlockSize = null,
    int? BlockWindow = null,
    int? MaxClusterSize = null,
    double? KeepPairsAbove = null,
    string? DefaultPhoneRegion = null,
    bool? StripPlusAddressing = null,
    bool? RunAfterLoads = null,
    int? DebounceSeconds = null,
    StitchSchedule? Schedule = null,
    bool ClearSchedule = false)
{
    public StitchSettings ApplyTo(StitchSettings current) => current with
    {
        MatchThreshold = MatchThreshold ?? current.MatchThreshold,
        ComparedTags = ComparedTags ?? current.ComparedTags,
        SourcePriority = SourcePriority ?? current.SourcePriority,
        BadValues = BadValues ?? current.BadValues,
        MaxRecordsPerValue = MaxRecordsPerValue ?? current.MaxRecordsPerValue,
        MaxBlockSize = MaxBlockSize ?? current.MaxBlockSize,
        BlockWindow = BlockWindow ?? current.BlockWindow,
        MaxClusterSize = MaxClusterSize ?? current.MaxClusterSize,
        KeepPairsAbove = KeepPairsAbove ?? current.KeepPairsAbove,
        DefaultPhoneRegion = DefaultPhoneRegion ?? current.DefaultPhoneRegion,
        StripPlusAddressing = StripPlusAddressing ?? current.StripPlusAddressing,
        RunAfterLoads = RunAfterLoads ?? current.RunAfterLoads,
        DebounceSeconds = DebounceSeconds ?? current.DebounceSeconds,
        Schedule = ClearSchedule ? null : Schedule ?? current.Schedule,
    };
}

/// <summary>
/// <c>/api/stitch</c>: stitches (start, history, status, cancel), Stitch's settings, and why a record belongs to its
/// person. Viewers read; starting, cancelling and changing settings are the admin's.
/// </summary>
public static class StitchApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static void MapStitchApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/stitch").WithTags("Stitch");
        group.MapPost("/runs", StartAsync).WithName("StartStitch").ForAdmins()
            .WithSummary("Stitch now: incremental (what changed since the last stitch) unless { \"full\": true }; answers 202 with the run id");
        group.MapGet("/runs", ListAsync).WithName("ListStitches").ForViewers().WithSummary("Recent stitches, newest first");
        group.MapGet("/runs/{id}", GetAsync).WithName("GetStitch").ForViewers()
            .WithSummary("A stitch's status and statistics (records, pairs, people, notices, model, timings), and its progress while it runs");
        group.MapPost("/runs/{id}/cancel", CancelAsync).WithName("CancelStitch").ForAdmins()
            .WithSummary("Cancel a queued or running stitch; the previous result stays in place");
        group.MapGet("/settings", GetSettingsAsync).WithName("GetStitchSettings").ForViewers().WithSummary("Stitch's settings, defaults included");
        group.MapPost("/settings", ChangeSettingsAsync).WithName("ChangeStitchSettings").ForAdmins()
            .WithSummary("Change the settings named (the others keep their value); a change to what shapes the result makes the next stitch a full one");
        group.MapGet("/records/{source}/{feed}/{pk}", ExplainAsync).WithName("ExplainStitchedRecord").ForViewers()
            .WithSummary("A record's amperity_id, the other records of its person, the pairs and keys that joined them, and the customer 360 row");
    }

    /// <param name="body">Optional: without one, an incremental stitch.</param>
    public static async Task<Results<Accepted<StitchRunAcceptedView>, UnavailableProblem>> StartAsync(
        StitchRunRequest? body, IRequiredActor<StitchActor> stitch, CancellationToken ct)
    {
        var kind = body?.Full == true ? StitchKind.Full : StitchKind.Incremental;
        return await (await stitch.GetAsync(ct)).Ask<object>(new StartStitch(kind, StitchTrigger.Api), AskTimeout, ct) switch
        {
            StitchAccepted accepted => TypedResults.Accepted($"/api/stitch/runs/{accepted.RunId}", new StitchRunAcceptedView(accepted.RunId,
                RunStatus.Queued, accepted.Queued ? "queued behind the running stitch" : "queued", $"/api/stitch/runs/{accepted.RunId}")),
            var reply => Unexpected(reply),
        };
    }

    /// <param name="limit">How many, newest first: 1-500, default 20.</param>
    public static async Task<Ok<IReadOnlyList<StitchRunRecord>>> ListAsync(StitchRunStore runs, int? limit, CancellationToken ct) =>
        TypedResults.Ok(await runs.ListAsync(Math.Clamp(limit ?? 20, 1, 500), ct));

    public static async Task<Results<Ok<StitchRunView>, NotFoundProblem>> GetAsync(
        Guid id, StitchRunStore runs, IRequiredActor<StitchActor> stitch, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return new NotFoundProblem($"no stitch run '{id}'");
        StitchProgress? progress = null;
        if (run.Status == RunStatus.Running)
            progress = (await (await stitch.GetAsync(ct)).Ask<object>(new GetStitchProgress(id), AskTimeout, ct) as StitchProgressReply)?.Progress;
        return TypedResults.Ok(new StitchRunView(run, progress));
    }

    public static async Task<Results<Accepted<RunCancellingView>, NotFoundProblem, ConflictProblem, UnavailableProblem>> CancelAsync(
        Guid id, StitchRunStore runs, IRequiredActor<StitchActor> stitch, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return new NotFoundProblem($"no stitch run '{id}'");
        return await (await stitch.GetAsync(ct)).Ask<object>(new CancelStitch(id), AskTimeout, ct) switch
        {
            StitchCancelling => TypedResults.Accepted($"/api/stitch/runs/{id}", new RunCancellingView(id, "cancelling")),
            StitchNotActive => new ConflictProblem(
                $"stitch {id} is {run.Status.ToString().ToLowerInvariant()}; only a queued or running stitch can be cancelled"),
            var reply => Unexpected(reply),
        };
    }

    public static async Task<Ok<StitchSettings>> GetSettingsAsync(StitchSettingsStore settings, CancellationToken ct) =>
        TypedResults.Ok(await settings.GetAsync(ct));

    public static async Task<Results<Ok<StitchSettings>, InvalidProblem>> ChangeSettingsAsync(
        StitchSettingsRequest body, StitchSettingsStore store, IRequiredActor<StitchActor> stitch, CancellationToken ct)
    {
        var settings = body.ApplyTo(await store.GetAsync(ct));
        if (settings.Validate() is { Count: > 0 } errors) return new InvalidProblem(errors);
        await store.SaveAsync(settings, ct);
        (await stitch.GetAsync(ct)).Tell(SettingsChanged.Instance);
        return TypedResults.Ok(settings);
    }

    /// <param name="source">The record's source (the domain table's schema), e.g. <c>crm</c>, in any case.</param>
    /// <param name="feed">Its table, e.g. <c>customers</c>, in any case.</param>
    /// <param name="pk">Its primary key as the table's <c>_pk</c> holds it.</param>
    public static async Task<Results<Ok<StitchExplanation>, NotFoundProblem>> ExplainAsync(
        string source, string feed, string pk, StitchQueries queries, CancellationToken ct) =>
        // Sources and feed names are kept in lowercase, as PostgreSQL keeps them; a route may spell them in any case.
        await queries.ExplainAsync(source.ToLowerInvariant(), feed.ToLowerInvariant(), pk, ct) is { } explanation
            ? TypedResults.Ok(explanation)
            : new NotFoundProblem($"no stitched record {source}.{feed} with primary key '{pk}' (is the table tagged, and has Stitch run since it was loaded?)");

    private static UnavailableProblem Unexpected(object reply) => CourierReplyFailure.Of(reply, "Stitch could not do it").AsUnavailable();
}
