using Akka.Event;
using Akka.Streams;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// The work of one attempt of a run that every kind shares: marks the run running, reads what earlier attempts of it
/// committed, opens S3 with the courier's credential, and hands the attempt to the courier's kind.
/// </summary>
public sealed class CourierRunner(RunStore runs, CredentialCatalog credentials, S3ClientFactory s3, CourierKinds kinds)
{
    private static readonly IReadOnlyDictionary<(string Bucket, string Key, string FeedId, string ETag), EarlierLoad> NoEarlierLoads =
        new Dictionary<(string, string, string, string), EarlierLoad>();

    public async Task<RunOutcome> RunAsync(RunPlan plan, IMaterializer materializer, IRunReport report, ILoggingAdapter log, CancellationToken ct)
    {
        var kind = kinds[plan.Config.Kind];
        var resumed = await runs.MarkRunningAsync(plan.RunId, ct);
        log.Info("Run {RunId} of courier {CourierId} started for {Window} ({Kind})", plan.RunId, plan.CourierId, plan.Window, kind.Kind);
        // Files that an earlier attempt of this run committed (before a restart, or before a failure that may pass): the
        // ledger skips them now, and the run reports them as that attempt's loads, rows included.
        var earlier = resumed ? await runs.EarlierLoadsAsync(plan.RunId, ct) : NoEarlierLoads;

        var access = await credentials.GetAccessAsync(plan.Config.CredentialId, ct);
        if (access is null) return RunOutcome.Failed($"credential '{plan.Config.CredentialId}' does not exist");
        using var client = s3.Create(access);
        var endpoint = access.Credential.EndpointUrl ?? $"https://s3.{access.Credential.Region}.amazonaws.com";
        var run = new CourierRun(plan, client, access.Credential.Bucket, materializer, report, log, resumed, earlier);
        return await kind.RunAsync(run, ct) with { Endpoint = endpoint };
    }
}
