using System.Text.Json;
using System.Text.RegularExpressions;
using HeapDaemon.Actors.Couriers;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using HeapDaemon.Management;
using Npgsql;

namespace HeapDaemon.Admin;

/// <summary>
/// What escapes an endpoint, answered as a ProblemDetails in the user's words: a body, query or route value that does
/// not bind (the request's fault, named: <see cref="JsonProblems"/>), PostgreSQL unreachable or restarting, or a
/// courier restarting (503, try again), PostgreSQL refusing what it was asked (its own words and SQLSTATE: a server
/// that answered is not "unreachable"), anything else a 500 whose detail is in the log only.
/// </summary>
public sealed partial class AdminProblems(ILogger<AdminProblems> log, IOptions<JsonOptions> json) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        IResult? result = exception switch
        {
            BadHttpRequestException { InnerException: JsonException body } => new InvalidProblem(await DescribeBodyAsync(context, body)),
            BadHttpRequestException bad when bad.StatusCode == StatusCodes.Status400BadRequest => new InvalidProblem(Describe(bad)),
            BadHttpRequestException bad => TypedResults.Problem(statusCode: bad.StatusCode, title: "The request is not valid", detail: Describe(bad)),
            PostgresException pg when !PostgresErrors.IsUnavailable(pg) => Refused(pg),
            NpgsqlException or TimeoutException or Akka.Actor.AskTimeoutException => Unavailable(exception),
            CourierRestartingException => TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "The courier is restarting; try again", detail: exception.Message),
            _ => null,
        };
        if (result is null)
        {
            log.LogError(exception, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            result = TypedResults.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "The daemon failed to answer; see its log");
        }
        await result.ExecuteAsync(context);
        return true;
    }

    private async Task<IReadOnlyList<string>> DescribeBodyAsync(HttpContext context, JsonException e)
    {
        // The exception handler has cleared the request's endpoint; the feature keeps it.
        var endpoint = context.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint();
        var bodyType = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
        ReadOnlyMemory<byte>? body = null;
        // RequestBodies.Keep made the body seekable, so the value refused can be shown as the user wrote it.
        if (context.Request.Body is { CanSeek: true } stream)
        {
            stream.Position = 0;
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            body = copy.ToArray();
        }
        return JsonProblems.Describe(e, bodyType, json.Value.SerializerOptions, body);
    }

    private IResult Refused(PostgresException e)
    {
        log.LogError(e, "PostgreSQL refused a request of the admin API ({SqlState})", e.SqlState);
        return TypedResults.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "PostgreSQL refused what the daemon asked",
            detail: PostgresErrors.Describe(e), extensions: new Dictionary<string, object?> { ["sqlState"] = e.SqlState });
    }

    private IResult Unavailable(Exception e)
    {
        log.LogWarning("The admin API could not reach PostgreSQL or its actors: {Message}", e.Message);
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "The daemon cannot reach PostgreSQL or its actors right now; try again");
    }

    /// <summary>The framework says <c>Failed to bind parameter "int? pageSize" from "ten".</c>; the user reads which value, and what would do.</summary>
    internal static string Describe(BadHttpRequestException bad)
    {
        if (bad.StatusCode == StatusCodes.Status415UnsupportedMediaType)
            return "the body must be JSON, sent with Content-Type: application/json";
        if (bad.StatusCode == StatusCodes.Status413PayloadTooLarge)
            return "the body is larger than the daemon accepts (1 MB)";
        if (RequiredBody().IsMatch(bad.Message)) return "the request needs a JSON body";
        if (BindFailure().Match(bad.Message) is not { Success: true } m) return "the request could not be read";
        var value = m.Groups["value"].Value;
        if (value.Length > 100) value = value[..100] + "…";
        var type = m.Groups["type"].Value;
        if (type.StartsWith("Nullable<", StringComparison.Ordinal)) type = type["Nullable<".Length..^1];
        return $"{m.Groups["name"].Value} '{value}' is not valid: expected {Expected(type.TrimEnd('?'))}";
    }

    private static string Expected(string type) => type switch
    {
        "int" or "long" or "short" => "a whole number",
        "bool" => "true or false",
        "Guid" => "a UUID (like 3f2b8e0c-1d2a-4c5b-9e8f-0a1b2c3d4e5f)",
        "DateOnly" => "a date (yyyy-MM-dd)",
        _ => "a value of another kind",
    };

    [GeneratedRegex("""(Required parameter .* was not provided from body|but no body was provided)""")]
    private static partial Regex RequiredBody();

    [GeneratedRegex("""^Failed to bind parameter "(?<type>[^"]+) (?<name>[^" ]+)" from "(?<value>.*)"\.\z""", RegexOptions.Singleline)]
    private static partial Regex BindFailure();
}
