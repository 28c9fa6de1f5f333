using System.Text.Json;
using HeapDaemon.Operations;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Prometheus;
using Scalar.AspNetCore;

namespace HeapDaemon.Admin;

public static class OperationsEndpoints
{
    /// <summary>
    /// What needs no token: probes for an orchestrator and the metrics scrape (they say nothing about the data), and
    /// the API's description, so a client can be written before it has a token.
    /// </summary>
    public static void MapOperationsEndpoints(this WebApplication app)
    {
        // Liveness: the process answers. Nothing else is checked, so a slow database never gets the daemon restarted.
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        // Readiness: PostgreSQL and the journal must answer; S3 endpoints in use only degrade it (see S3EndpointsCheck).
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
            ResponseWriter = WriteAsync,
        });
        app.MapMetrics("/metrics", app.Services.GetRequiredService<DaemonMetricsExport>().Registry);
        app.MapOpenApi();
        app.MapScalarApiReference("/api-docs", options => options.WithTitle("HeapDaemon admin API").WithOpenApiRoutePattern("/openapi/{documentName}.json"));
    }

    /// <summary><c>{status, checks: {name: {status, description}}}</c>: what is wrong, in words, never an exception.</summary>
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new HealthView(Word(report.Status),
            report.Entries.ToDictionary(e => e.Key, e => new HealthCheckView(Word(e.Value.Status), e.Value.Description)));
        return JsonSerializer.SerializeAsync(context.Response.Body, body, HealthJson.Options, context.RequestAborted);
    }

    private static string Word(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };

    private sealed record HealthView(string Status, IReadOnlyDictionary<string, HealthCheckView> Checks);

    private sealed record HealthCheckView(string Status, string? Description);

    private static class HealthJson
    {
        public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    }
}
