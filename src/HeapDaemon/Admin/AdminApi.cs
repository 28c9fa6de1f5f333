using HeapDaemon.Access;

namespace HeapDaemon.Admin;

public static class AdminApi
{
    /// <summary>Every <c>/api</c> route; each declares who may call it (<see cref="AccessPolicies"/>).</summary>
    public static void MapAdminApi(this WebApplication app)
    {
        var api = app.MapGroup("/api")
            // Answers any route can give: a route or query value that does not parse (400), a body that is not JSON
            // (415), PostgreSQL or the actors unavailable (503), and the daemon failing (500, the detail in its log).
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapCredentialsApi();
        api.MapFeedsApi();
        api.MapFeedDeletionApi();
        api.MapCouriersApi();
        api.MapHeapSourceApi();
        api.MapRunsApi();
        api.MapHeapDumpsApi();
        api.MapNotificationsApi();
        api.MapDomainTablesApi();
        api.MapPreviewApi();
        api.MapStitchApi();
        api.MapClusterApi();
    }
}
