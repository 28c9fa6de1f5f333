using Akka.Actor;
using Akka.Hosting;
using Amazon.Runtime;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Heap;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Management;

/// <param name="Id">The courier's id; default <c>heap</c>.</param>
/// <param name="Schedule">When it polls for new manifests; default hourly (<c>0 * * * *</c>, UTC).</param>
public sealed record HeapSourceRequest(string CredentialId, string? Id = null, string? Prefix = null, string? Source = null, CourierSchedule? Schedule = null);

/// <param name="Feeds">The ids of the feeds made (or widened) for the tables the manifests name.</param>
/// <param name="RunId">The courier's first run, started at once.</param>
public sealed record HeapSourceView(CourierView Courier, IReadOnlyList<string> Feeds, Guid RunId);

/// <summary>A table as Heap's manifests name it, before anything is made for it.</summary>
/// <param name="Dumps">The dumps that deliver it, ascending.</param>
/// <param name="Full">Whether some dump delivers it whole (a full resync), replacing what came before.</param>
public sealed record HeapTableFound(string Name, IReadOnlyList<long> Dumps, int Files, bool Full, IReadOnlyList<string> Columns, string DomainTable);

/// <summary>What a Heap Connect export holds under a prefix: its manifests (by dump) and the tables they name.</summary>
public sealed record HeapExportFound(string Bucket, string Prefix, IReadOnlyList<string> Manifests, IReadOnlyList<long> Dumps, IReadOnlyList<HeapTableFound> Tables);

/// <summary>A Heap Connect source: look at what the export holds, then make the courier and a feed per table, and start its first run.</summary>
public sealed class HeapSourceService(
    IRequiredActor<CourierRegistryActor> couriers, CredentialCatalog credentials, S3ClientFactory s3Factory, HeapCourier heap, CourierKinds kinds)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static readonly CourierSchedule Hourly = new("0 * * * *");

    /// <summary>The manifests and tables under the prefix, read and checked, with nothing made.</summary>
    public async Task<Outcome<HeapExportFound>> DiscoverAsync(string credentialId, string? prefix, CancellationToken ct)
    {
        var config = new CourierConfig(credentialId, [], Kind: CourierKind.Heap, Prefix: string.IsNullOrEmpty(prefix) ? null : prefix);
        if (kinds.Validate(config) is [_, ..] errors) return Failure.Invalid(errors);
        if (await credentials.GetAccessAsync(credentialId, ct) is not { } access) return Failure.Invalid($"credential '{credentialId}' does not exist");
        var bucket = access.Credential.Bucket;
        using var s3 = s3Factory.Create(access, interactive: true);
        try
        {
            var manifests = await HeapCourier.ReadManifestsAsync(s3, bucket, prefix ?? "", ct);
            if (manifests.Count == 0) return NoManifest(bucket, prefix);
            var tables = manifests.SelectMany(m => m.Tables.Select(t => (Dump: m.DumpId, Table: t)))
                .GroupBy(t => t.Table.Name, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new HeapTableFound(g.Key, g.Select(t => t.Dump).Distinct().ToList(), g.Sum(t => t.Table.Files.Count),
                    g.Any(t => t.Table.ReplacesTable), g.Last().Table.Columns, new DomainTableName(config.HeapSource, g.Key).DisplayName))
                .ToList();
            return new HeapExportFound(bucket, prefix ?? "", manifests.Select(m => m.ManifestKey).ToList(), manifests.Select(m => m.DumpId).ToList(), tables);
        }
        catch (FormatException e)
        {
            return Failure.Invalid(e.Message);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            return new Failure(FailureKind.Upstream, [S3Errors.Describe(e, bucket, prefix)], "S3 refused");
        }
    }

    public async Task<Outcome<HeapSourceView>> AddAsync(HeapSourceRequest body, CancellationToken ct)
    {
        var id = body.Id ?? "heap";
        if (!Identifiers.IsId(id)) return Failure.Invalid($"id '{id}' must be {Identifiers.IdRule}");
        var config = new CourierConfig(body.CredentialId, [], Schedule: body.Schedule ?? Hourly, Kind: CourierKind.Heap, Prefix: body.Prefix, Source: body.Source);
        if (kinds.Validate(config) is [_, ..] errors) return Failure.Invalid(errors);
        var access = await credentials.GetAccessAsync(body.CredentialId, ct);
        if (access is null) return Failure.Invalid($"credential '{body.CredentialId}' does not exist");

        // Every table any manifest names gets its feed, widened dump by dump as the courier will.
        var made = new SortedSet<string>(StringComparer.Ordinal);
        using (var s3 = s3Factory.Create(access))
        {
            var bucket = access.Credential.Bucket;
            try
            {
                var manifests = await HeapCourier.ReadManifestsAsync(s3, bucket, body.Prefix ?? "", ct);
                if (manifests.Count == 0) return NoManifest(bucket, body.Prefix);
                foreach (var table in manifests.SelectMany(m => m.Tables).Where(t => t.Files.Count > 0))
                    made.Add((await heap.EnsureFeedAsync(s3, bucket, config.HeapSource, table, ct)).Definition.Id);
            }
            catch (Exception e) when (e is FormatException or HeapSchemaException)
            {
                return Failure.Invalid(e.Message);
            }
            catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
            {
                return new Failure(FailureKind.Upstream, [S3Errors.Describe(e, bucket, body.Prefix)], "S3 refused");
            }
        }

        var registry = await couriers.GetAsync(ct);
        var reply = await registry.Ask<object>(new ConfigureCourier(id, config, Create: true), AskTimeout, ct);
        if (reply is CourierExists) return Failure.Conflict($"a courier with id '{id}' exists already");
        if (reply is ConfigurationRefused refused) return Failure.Invalid(refused.Errors);
        if (reply is not CourierView view) return CourierReplyFailure.Of(reply);
        var run = await registry.Ask<object>(new StartRun(id, new RunRequest()), AskTimeout, ct);
        return run is RunAccepted accepted
            ? new HeapSourceView(view, [.. made], accepted.RunId)
            : Failure.Unavailable("The courier was made but its first run was not started", $"start it with a run of courier '{id}'");
    }

    private static Failure NoManifest(string bucket, string? prefix) =>
        Failure.Invalid($"no manifest under s3://{bucket}/{prefix}manifests/; is Heap Connect syncing to this bucket?");
}
