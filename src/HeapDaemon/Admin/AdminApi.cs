using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HeapDaemon.Actors;
using HeapDaemon.Configuration;

namespace HeapDaemon.Admin;

public static class AdminApi
{
    /// <summary>Every <c>/api</c> route, behind the bearer token.</summary>
    public static void MapAdminApi(this WebApplication app)
    {
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(app.Services.GetRequiredService<DaemonSettings>().AdminToken));
        // Middleware rather than an endpoint filter: it runs before routing and body binding, so nothing about a
        // request is looked at before its token is checked.
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/api"), api => api.Use(async (context, next) =>
        {
            var header = context.Request.Headers.Authorization.ToString();
            var given = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : "";
            // Hashing first makes the comparison constant-time whatever the lengths.
            if (!CryptographicOperations.FixedTimeEquals(expected, SHA256.HashData(Encoding.UTF8.GetBytes(given))))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "A valid bearer token is required")
                    .ExecuteAsync(context);
                return;
            }
            await next(context);
        }));

        // A database that is down or restarting is the daemon's condition, not a bug in the request: say so with 503.
        app.UseExceptionHandler(errors => errors.Run(async context =>
        {
            var failure = context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error;
            var (status, title, detail) = failure switch
            {
                // A query or route value that does not bind (pageSize=ten): the request's fault, and it says which.
                BadHttpRequestException bad => (bad.StatusCode, "The request is not valid", bad.Message),
                Npgsql.NpgsqlException or TimeoutException or Akka.Actor.AskTimeoutException =>
                    (StatusCodes.Status503ServiceUnavailable, "The daemon cannot reach PostgreSQL or its actors right now; try again", null),
                _ => (StatusCodes.Status500InternalServerError, "The daemon failed to answer; see its log", null),
            };
            await Results.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(context);
        }));

        var api = app.MapGroup("/api");
        api.MapCredentialsApi();
        api.MapFeedsApi();
        api.MapCouriersApi();
        api.MapHeapSourceApi();
        api.MapRunsApi();
        api.MapDomainTablesApi();
        api.MapPreviewApi();
        api.MapStitchApi();
    }

    /// <summary>
    /// Reads a JSON body, answering a clear 400 for malformed JSON or unknown properties rather than the framework's
    /// empty one.
    /// </summary>
    public static async Task<(T? Value, IResult? Error)> ReadJsonAsync<T>(HttpRequest request, bool allowEmpty = false) where T : class
    {
        if (allowEmpty && request.ContentLength is null or 0 && !request.Headers.TransferEncoding.Any())
            return (null, null);
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, HeapJson.Options, request.HttpContext.RequestAborted);
            return value is null ? (null, Invalid("the request body is empty")) : (value, null);
        }
        catch (JsonException e)
        {
            return (null, Invalid($"the request body is not valid: {e.Message}"));
        }
    }

    public static IResult Invalid(params IEnumerable<string> errors) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The request is not valid",
            detail: string.Join("; ", errors), extensions: new Dictionary<string, object?> { ["errors"] = errors.ToArray() });

    public static IResult NotFound(string what) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: what);

    public static IResult Conflict(string why) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: why);
}
