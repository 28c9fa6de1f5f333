using System.Collections.Immutable;
using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Stitch;
using Microsoft.AspNetCore.Http.HttpResults;
using static HeapDaemon.Actors.Stitch.StitchCommands;
using static HeapDaemon.Actors.Stitch.StitchReplies;

namespace HeapDaemon.Admin;

/// <param name="Full">Match everything again and retrain the model, instead of only what changed since the last stitch.</param>
public sealed record StitchRunRequest(bool Full = false);

public sealed record StitchRunAccepted(Guid RunId, string Status, string Location);

/// <param name="Progress">While the stitch runs: its phase and how far it has got.</param>
public sealed record StitchRunView(StitchRunRecord Run, StitchProgress? Progress);

/// <summary>Settings to change; those left out keep their value. <c>schedule: null</c> cannot be told from "left out": use <c>clearSchedule</c>.</summary>
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
    CourierSchedule? Schedule = null,
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

/// <summary>Stitch's admin endpoints: runs, settings, and why a record belongs to its person.</summary>
public static class StitchApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static void MapStitchApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/stitch").WithTags("Stitch");

        group.MapPost("/runs", async Task<Results<Accepted<StitchRunAccepted>, ProblemHttpResult>> (
            StitchRunRequest? body, IRequiredActor<StitchActor> stitch, CancellationToken ct) =>
        {
            var kind = body?.Full == true ? StitchKind.Full : StitchKind.Incremental;
            var reply = await (await stitch.GetAsync(ct)).Ask<object>(new StartStitch(kind, StitchTrigger.Api), AskTimeout, ct);
            return reply is StitchAccepted accepted
                ? TypedResults.Accepted($"/api/stitch/runs/{accepted.RunId}",
                    new StitchRunAccepted(accepted.RunId, accepted.Queued ? "queued behind the running stitch" : "queued", $"/api/stitch/runs/{accepted.RunId}"))
                : Unexpected(reply);
        }).WithSummary("Stitch now: incremental (what changed since the last stitch) unless {\"full\": true}");

        group.MapGet("/runs", async (StitchRunStore runs, int? limit, CancellationToken ct) =>
            TypedResults.Ok(await runs.ListAsync(Math.Clamp(limit ?? 20, 1, 500), ct)))
            .WithSummary("Recent stitches, newest first");

        group.MapGet("/runs/{id:guid}", async Task<Results<Ok<StitchRunView>, ProblemHttpResult>> (
            Guid id, StitchRunStore runs, IRequiredActor<StitchActor> stitch, CancellationToken ct) =>
        {
            if (await runs.GetAsync(id, ct) is not { } run) return NotFound($"no stitch run '{id}'");
            StitchProgress? progress = null;
            if (run.Status == RunStatus.Running)
                progress = (await (await stitch.GetAsync(ct)).Ask<StitchProgressReply>(new GetStitchProgress(id), AskTimeout, ct)).Progress;
            return TypedResults.Ok(new StitchRunView(run, progress));
        }).WithSummary("A stitch's status, statistics (records, pairs, people, notices, timings) and progress while it runs");

        group.MapPost("/runs/{id:guid}/cancel", async Task<Results<Accepted<StitchRunAccepted>, ProblemHttpResult>> (
            Guid id, StitchRunStore runs, IRequiredActor<StitchActor> stitch, CancellationToken ct) =>
        {
            if (await runs.GetAsync(id, ct) is not { } run) return NotFound($"no stitch run '{id}'");
            var reply = await (await stitch.GetAsync(ct)).Ask<object>(new CancelStitch(id), AskTimeout, ct);
            return reply switch
            {
                StitchCancelling => TypedResults.Accepted($"/api/stitch/runs/{id}", new StitchRunAccepted(id, "cancelling", $"/api/stitch/runs/{id}")),
                StitchNotActive => Problem(StatusCodes.Status409Conflict, "Conflict",
                    $"stitch {id} is {run.Status.ToString().ToLowerInvariant()}; only a queued or running stitch can be cancelled"),
                _ => Unexpected(reply),
            };
        }).WithSummary("Cancel a queued or running stitch; the previous result stays in place");

        group.MapGet("/settings", async (StitchSettingsStore settings, CancellationToken ct) => TypedResults.Ok(await settings.GetAsync(ct)))
            .WithSummary("Stitch's settings, defaults included");

        group.MapPost("/settings", async Task<Results<Ok<StitchSettings>, ProblemHttpResult>> (
            StitchSettingsRequest body, StitchSettingsStore store, IRequiredActor<StitchActor> stitch, CancellationToken ct) =>
        {
            var settings = body.ApplyTo(await store.GetAsync(ct));
            if (settings.Validate() is { Count: > 0 } errors)
                return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The settings are not valid",
                    detail: string.Join("; ", errors), extensions: new Dictionary<string, object?> { ["errors"] = errors.ToArray() });
            await store.SaveAsync(settings, ct);
            (await stitch.GetAsync(ct)).Tell(SettingsChanged.Instance);
            return TypedResults.Ok(settings);
        }).WithSummary("Change settings (those left out keep their value); a change to matching makes the next stitch a full one");

        group.MapGet("/records/{source}/{feed}/{pk}", async Task<Results<Ok<StitchExplanation>, ProblemHttpResult>> (
            string source, string feed, string pk, StitchQueries queries, CancellationToken ct) =>
            await queries.ExplainAsync(source, feed, pk, ct) is { } explanation
                ? TypedResults.Ok(explanation)
                : NotFound($"no stitched record {source}.{feed} with primary key '{pk}' (is the table tagged, and has Stitch run since it was loaded?)"))
            .WithSummary("A record's amperity_id, the other records of its person, the pairs and keys that joined them, and the customer 360 row");
    }

    private static ProblemHttpResult NotFound(string detail) => Problem(StatusCodes.Status404NotFound, "Not found", detail);

    private static ProblemHttpResult Unexpected(object reply) =>
        Problem(StatusCodes.Status500InternalServerError, "The daemon failed to answer; see its log", $"unexpected reply {reply.GetType().Name}");

    private static ProblemHttpResult Problem(int status, string title, string detail) => TypedResults.Problem(statusCode: status, title: title, detail: detail);
}
