using HeapDaemon.Access;
using HeapDaemon.Actors.Cluster;
using HeapDaemon.Actors.Couriers;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

public static class ClusterApi
{
    public static void MapClusterApi(this RouteGroupBuilder api) =>
        api.MapGroup("/cluster").WithTags("Cluster")
            .MapGet("/", GetAsync).WithName("GetCluster").ForViewers()
            .WithSummary("The cluster's members as this node sees them, their status, and the couriers each one runs");

    public static async Task<Ok<ClusterView>> GetAsync(ClusterStatus cluster, CancellationToken ct) =>
        TypedResults.Ok(await cluster.GetAsync(CourierHostingExtensions.RegionName, ct));
}
