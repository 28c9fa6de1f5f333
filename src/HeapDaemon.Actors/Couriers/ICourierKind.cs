using Akka.Event;
using Akka.Streams;
using Amazon.S3;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Runs;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// A kind of courier (<see cref="CourierKind"/>): how a configuration of that kind is checked, and what one attempt of
/// its run does. One class per kind, registered with DI as an <see cref="ICourierKind"/>; <see cref="CourierKinds"/>
/// picks it by the configuration's kind. The run actor drives the attempt and keeps the run's lifecycle: it cancels it
/// (the token), passes its progress on, and retries it when its outcome's fault may pass.
/// </summary>
public interface ICourierKind
{
    CourierKind Kind { get; }

    /// <summary>What is wrong with a configuration of this kind, checked without the database; empty when nothing is.</summary>
    IEnumerable<string> Validate(CourierConfig config);

    /// <summary>
    /// One attempt of a run: loads what the run covers, records each file in <c>heapd.run_files</c> as it goes and
    /// reports it through <see cref="CourierRun.Report"/>. A kind may load several files at once; the report is safe from
    /// any thread. Failures a run expects (a missing file, a malformed manifest, S3 refusing) are outcomes, with their
    /// fault; what it throws is a fault of the daemon or its database, or the cancel.
    /// </summary>
    Task<RunOutcome> RunAsync(CourierRun run, CancellationToken ct);

    /// <summary>Where a configuration of this kind loads into the feed (e.g. <c>files[1].feedId</c>); nothing when it does not.</summary>
    IEnumerable<string> FeedUses(CourierConfig config, FeedDefinition feed);

    /// <summary>What a courier of this kind shows beyond its configuration and runs (a Heap courier: its dumps).</summary>
    Task<CourierView> DescribeAsync(CourierView view, CancellationToken ct) => Task.FromResult(view);

    /// <summary>
    /// Drops a domain table of <paramref name="source"/> (<paramref name="drop"/>) with what this kind made on that
    /// source's tables put aside around it (a Heap source's identity views read its tables: they go first and are made
    /// again without the table).
    /// </summary>
    Task<T> AroundTableDropAsync<T>(string source, Func<Task<T>> drop, CancellationToken ct) => drop();
}

/// <summary>What one attempt of a run is asked to do.</summary>
/// <param name="Attempt">1 for the first attempt; retries of a transient failure count up.</param>
/// <param name="Failures">How the earlier attempts failed; null for the first.</param>
public sealed record RunPlan(Guid RunId, string CourierId, RunWindow Window, RunRequest Request, CourierConfig Config, int Attempt = 1,
    FailedAttempts? Failures = null);

/// <summary>One attempt of a run, as its courier kind gets it.</summary>
/// <param name="S3">A client for the courier's S3 credential, for the length of the attempt.</param>
/// <param name="Materializer">The run actor's: stopping the actor tears down every stream of the attempt.</param>
/// <param name="Resumed">An earlier attempt of this run started it (before a restart, or a failure that may pass).</param>
/// <param name="EarlierLoads">
/// The files earlier attempts committed, by bucket, key, feed and ETag: the ledger skips them now, and the run reports
/// them as that attempt's loads, rows included.
/// </param>
public sealed record CourierRun(RunPlan Plan, IAmazonS3 S3, string Bucket, IMaterializer Materializer, IRunReport Report, ILoggingAdapter Log,
    bool Resumed, IReadOnlyDictionary<(string Bucket, string Key, string FeedId, string ETag), EarlierLoad> EarlierLoads)
{
    public Guid RunId => Plan.RunId;

    public string CourierId => Plan.CourierId;

    public CourierConfig Config => Plan.Config;
}

/// <summary>How far a run's files have got, for the courier to show; safe from any thread.</summary>
public interface IRunReport
{
    /// <summary>A file's load has got this far (sent after every batch).</summary>
    void Progress(FileProgress progress);

    /// <summary>A file has ended (loaded, skipped or failed) and is recorded: it is no longer in flight.</summary>
    void FileEnded(int ordinal);
}

/// <summary>How an attempt of a run ended.</summary>
/// <param name="Fault">For a failure: whether another attempt may pass (the run actor retries while attempts remain).</param>
/// <param name="Endpoint">The S3 endpoint the attempt used, named when the run gives up on one that refused connections.</param>
/// <param name="BlockedDump">
/// For a failure of a source that applies numbered dumps in order (Heap): the dump that could not apply, which the later
/// ones wait for. Webhooks hear of it once the run gives up.
/// </param>
public sealed record RunOutcome(RunStatus Status, string Message, FaultKind Fault = FaultKind.Lasting, string? Endpoint = null,
    long? BlockedDump = null)
{
    public static RunOutcome Succeeded(string message) => new(RunStatus.Succeeded, message);

    public static RunOutcome Failed(string message, FaultKind fault = FaultKind.Lasting) => new(RunStatus.Failed, message, fault);
}
