using Akka.Actor;
using Akka.Hosting;
using Amazon.Runtime;
using HeapDaemon.Access;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Heap;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Admin;

/// <param name="Id">The courier's id; default <c>heap</c>.</param>
/// <param name="Schedule">When it polls for new manifests; default hourly (<c>0 * * * *</c>, UTC).</param>
public sealed record HeapSourceRequest(string CredentialId, string? Id = null, string? Prefix = null, string? Source = null, CourierSchedule? Schedule = null);

/// <param name="Feeds">The ids of the feeds made (or widened) for the tables the manifests name.</param>
/// <param name="RunId">The courier's first run, started at once.</param>
public sealed record HeapSourceView(CourierView Courier, IReadOnlyList<string> Feeds, Guid RunId);

public static class HeapSourceApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static readonly CourierSchedule Hourly = new("0 * * * *");

    public static void MapHeapSourceApi(this RouteGroupBuilder api) =>
        api.MapPost("/sources/heap", AddAsync).WithName("AddHeapSource").WithTags("Sources").ForAdmins()
            .WithSummary("A Heap Connect source: a Heap courier and a feed for every table its manifests name; starts the first run");

    public static async Task<Results<Created<HeapSourceView>, InvalidProblem, ConflictProblem, UpstreamProblem, UnavailableProblem>> AddAsync(
        HeapSourceRequest body, IRequiredActor<CourierRegistryActor> couriers, CredentialCatalog credentials, S3ClientFactory s3Factory,
        HeapCourier heap, CourierKinds kinds, CancellationToken ct)
    {
        var id = body.Id ?? "heap";
        if (!Identifiers.IsId(id)) return new InvalidProblem($"id '{id}' must be {Identifiers.IdRule}");
        var config = new CourierConfig(body.CredentialId, [], Schedule: body.Schedule ?? Hourly, Kind: CourierKind.Heap, Prefix: body.Prefix, Source: body.Source);
        if (kinds.Validate(config) is [_, ..] errors) return new InvalidProblem(errors);
        var access = await credentials.GetAccessAsync(body.CredentialId, ct);
        if (access is null) return new InvalidProblem($"credential '{body.CredentialId}' does not exist");

        // Every table any manifest names gets its feed, widened dump by dump as the courier will.
        var made = new SortedSet<string>(StringComparer.Ordinal);
        using (var s3 = s3Factory.Create(access))
        {
            var bucket = access.Credential.Bucket;
            try
            {
                var manifests = await HeapCourier.ReadManifestsAsync(s3, bucket, body.Prefix ?? "", ct);
                if (manifests.Count == 0) return new InvalidProblem($"no manifest under s3://{bucket}/{body.Prefix}manifests/; is Heap Connect syncing to this bucket?");
                foreach (var table in manifests.SelectMany(m => m.Tables).Where(t => t.Files.Count > 0))
                    made.Add((await heap.EnsureFeedAsync(s3, bucket, config.HeapSource, table, ct)).Definition.Id);
            }
            catch (Exception e) when (e is FormatException or HeapSchemaException)
            {
                return new InvalidProblem(e.Message);
            }
            catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
            {
                return new UpstreamProblem("S3 refused", S3Errors.Describe(e, bucket, body.Prefix));
            }
        }

        var registry = await couriers.GetAsync(ct);
        var reply = await registry.Ask<object>(new ConfigureCourier(id, config, Create: true), AskTimeout, ct);
        if (reply is CourierExists) return new ConflictProblem($"a courier with id '{id}' exists already");
        if (reply is ConfigurationRefused refused) return new InvalidProblem(refused.Errors);
        if (reply is not CourierView view) return CouriersApi.Unexpected(reply);
        var run = await registry.Ask<object>(new StartRun(id, new RunRequest()), AskTimeout, ct);
        return run is RunAccepted accepted
            ? TypedResults.Created($"/api/couriers/{id}", new HeapSourceView(view, [.. made], accepted.RunId))
            : new UnavailableProblem("The courier was made but its first run was not started", $"start it with POST /api/couriers/{id}/runs");
    }
}
