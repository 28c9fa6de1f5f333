using HeapDaemon.Actors.Runs;
using Npgsql;

namespace HeapDaemon.Admin;

public static class OperationsEndpoints
{
    /// <summary>Probes for an orchestrator; they need no token and say nothing about the data.</summary>
    public static void MapOperationsEndpoints(this WebApplication app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" }));
        app.MapGet("/metrics", (DaemonMetrics metrics) => Results.Text(metrics.Render(), "text/plain; version=0.0.4"));
        app.MapGet("/readyz", async (NpgsqlDataSource db, CancellationToken ct) =>
        {
            try
            {
                await using var cmd = db.CreateCommand("SELECT 1 FROM akka.journal LIMIT 1");
                await cmd.ExecuteScalarAsync(ct);
                return Results.Ok(new { status = "ready" });
            }
            catch (NpgsqlException e)
            {
                return Results.Json(new { status = "not ready", reason = $"PostgreSQL or the journal is not reachable: {e.Message}" },
                    statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
    }
}
