using System.Collections.Immutable;
using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Stitch;
using static HeapDaemon.Actors.Stitch.StitchCommands;
using static HeapDaemon.Actors.Stitch.StitchReplies;

namespace HeapDaemon.Management;

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
/// Stitch as a user handles it, for the admin API and the console alike: stitches (start, history, status, cancel), its
/// settings, the customer 360 and why a record belongs to its person.
/// </summary>
public sealed class StitchService(IRequiredActor<StitchActor> stitch, StitchRunStore runs, StitchSettingsStore settings, StitchQueries queries)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public async Task<Outcome<StitchRunAcceptedView>> StartAsync(bool full, CancellationToken ct) =>
        await (await stitch.GetAsync(ct)).Ask<object>(new StartStitch(full ? StitchKind.Full : StitchKind.Incremental, StitchTrigger.Api), AskTimeout, ct) switch
        {
            StitchAccepted accepted => new StitchRunAcceptedView(accepted.RunId, RunStatus.Queued,
                accepted.Queued ? "queued behind the running stitch" : "queued", $"/api/stitch/runs/{accepted.RunId}"),
            var reply => Unexpected(reply),
        };

    /// <param name="limit">How many, newest first: 1-500, default 20.</param>
    public Task<IReadOnlyList<StitchRunRecord>> ListAsync(int? limit, CancellationToken ct) => runs.ListAsync(Math.Clamp(limit ?? 20, 1, 500), ct);

    public async Task<Outcome<StitchRunView>> GetAsync(Guid id, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return Failure.NotFound($"no stitch run '{id}'");
        StitchProgress? progress = null;
        if (run.Status == RunStatus.Running)
            progress = (await (await stitch.GetAsync(ct)).Ask<object>(new GetStitchProgress(id), AskTimeout, ct) as StitchProgressReply)?.Progress;
        return new StitchRunView(run, progress);
    }

    public async Task<Outcome<RunCancellingView>> CancelAsync(Guid id, CancellationToken ct)
    {
        if (await runs.GetAsync(id, ct) is not { } run) return Failure.NotFound($"no stitch run '{id}'");
        return await (await stitch.GetAsync(ct)).Ask<object>(new CancelStitch(id), AskTimeout, ct) switch
        {
            StitchCancelling => new RunCancellingView(id, "cancelling"),
            StitchNotActive => Failure.Conflict($"stitch {id} is {run.Status.ToString().ToLowerInvariant()}; only a queued or running stitch can be cancelled"),
            var reply => Unexpected(reply),
        };
    }

    public Task<StitchSettings> GetSettingsAsync(CancellationToken ct) => settings.GetAsync(ct);

    public async Task<Outcome<StitchSettings>> ChangeSettingsAsync(StitchSettingsRequest body, CancellationToken ct)
    {
        var changed = body.ApplyTo(await settings.GetAsync(ct));
        if (changed.Validate() is { Count: > 0 } errors) return Failure.Invalid([.. errors]);
        await settings.SaveAsync(changed, ct);
        (await stitch.GetAsync(ct)).Tell(SettingsChanged.Instance);
        return changed;
    }

    /// <param name="source">The record's source (the domain table's schema), e.g. <c>crm</c>, in any case.</param>
    /// <param name="feed">Its table, e.g. <c>customers</c>, in any case.</param>
    /// <param name="pk">Its primary key as the table's <c>_pk</c> holds it.</param>
    public async Task<Outcome<StitchExplanation>> ExplainAsync(string source, string feed, string pk, CancellationToken ct) =>
        // Sources and feed names are kept in lowercase, as PostgreSQL keeps them; a route may spell them in any case.
        await queries.ExplainAsync(source.ToLowerInvariant(), feed.ToLowerInvariant(), pk, ct) is { } explanation
            ? explanation
            : Failure.NotFound($"no stitched record {source}.{feed} with primary key '{pk}' (is the table tagged, and has Stitch run since it was loaded?)");

    /// <summary>The customer 360, paged; <paramref name="search"/> finds people by the start of their email or a part of their name.</summary>
    /// <param name="pageSize">1-200, default 50.</param>
    public async Task<Outcome<CustomerPage>> CustomersAsync(string? search, Guid? after, int? pageSize, CancellationToken ct) =>
        pageSize is < 1 or > StitchQueries.MaxPageSize
            ? Failure.Invalid($"pageSize must be 1-{StitchQueries.MaxPageSize}")
            : await queries.CustomersAsync(search, after, pageSize ?? 50, ct);

    /// <summary>A person of the customer 360: its row, its records across sources, and the pairs and keys that linked them.</summary>
    public async Task<Outcome<StitchExplanation>> CustomerAsync(Guid amperityId, CancellationToken ct) =>
        await queries.ExplainCustomerAsync(amperityId, ct) is { } explanation
            ? explanation
            : Failure.NotFound($"no customer '{amperityId}' in the customer 360 (Stitch may have made it anew since: search for the person again)");

    private static Failure Unexpected(object reply) => CourierReplyFailure.Of(reply, "Stitch could not do it");
}
