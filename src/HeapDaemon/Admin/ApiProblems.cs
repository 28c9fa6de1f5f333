using System.Reflection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace HeapDaemon.Admin;

/// <summary>
/// An error answer: a ProblemDetails (<c>application/problem+json</c>) with the status its type names, so a handler's
/// <c>Results&lt;…&gt;</c> declares its errors and the OpenAPI document lists them. Every error of the API has this one
/// shape: <c>title</c> (what kind of failure), <c>detail</c> (the sentence to read), and where it helps <c>errors</c>
/// (each problem, a field path first when there is one) and fields of its own (<c>cause</c>, <c>code</c>, <c>couriers</c>).
/// </summary>
public abstract class ApiProblem(int status, string title, string? detail, IDictionary<string, object?>? extensions)
    : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<ProblemDetails>
{
    private readonly ProblemHttpResult _problem = TypedResults.Problem(statusCode: status, title: title, detail: detail, extensions: extensions);

    public int? StatusCode => status;

    public ProblemDetails Value => _problem.ProblemDetails;

    object? IValueHttpResult.Value => Value;

    public Task ExecuteAsync(HttpContext httpContext) => _problem.ExecuteAsync(httpContext);

    protected static void Document(EndpointBuilder builder, int status) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(ProblemDetails), ["application/problem+json"]));
}

/// <summary>400: the request is not valid; <c>errors</c> lists every problem, so a user can fix them in one go.</summary>
public sealed class InvalidProblem(IReadOnlyList<string> errors, string title = InvalidProblem.Title)
    : ApiProblem(StatusCodes.Status400BadRequest, title, string.Join("; ", errors), new Dictionary<string, object?> { ["errors"] = errors }),
        IEndpointMetadataProvider
{
    public const string Title = "The request is not valid";

    public InvalidProblem(string error) : this([error])
    {
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Document(builder, StatusCodes.Status400BadRequest);
}

/// <summary>404: what the route names does not exist.</summary>
public sealed class NotFoundProblem(string detail) : ApiProblem(StatusCodes.Status404NotFound, "Not found", detail, null), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Document(builder, StatusCodes.Status404NotFound);
}

/// <summary>409: the request is valid but the state of things refuses it (an id taken, a run not ended, a credential in use).</summary>
public sealed class ConflictProblem(string detail, IDictionary<string, object?>? extensions = null)
    : ApiProblem(StatusCodes.Status409Conflict, "Conflict", detail, extensions), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Document(builder, StatusCodes.Status409Conflict);
}

/// <summary>413: the file is too large for what was asked (a preview of a wrapped Parquet file or a zip).</summary>
public sealed class TooLargeProblem(string detail)
    : ApiProblem(StatusCodes.Status413PayloadTooLarge, "The file cannot be previewed", detail, null), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Document(builder, StatusCodes.Status413PayloadTooLarge);
}

/// <summary>422: the object was read but is not what the request needs (a file the preview cannot parse).</summary>
public sealed class UnprocessableProblem(string title, string detail)
    : ApiProblem(StatusCodes.Status422UnprocessableEntity, title, detail, null), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Document(builder, StatusCodes.Status422UnprocessableEntity);
}

/// <summary>502: S3 (or STS) answered with a refusal or could not be reached; <c>cause</c> and <c>code</c> say which.</summary>
public sealed class UpstreamProblem(string title, string detail, IDictionary<string, object?>? extensions = null)
    : ApiProblem(StatusCodes.Status502BadGateway, title, detail, extensions), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Document(builder, StatusCodes.Status502BadGateway);
}

/// <summary>503: PostgreSQL or the actors cannot answer right now; try again.</summary>
public sealed class UnavailableProblem(string title, string? detail = null)
    : ApiProblem(StatusCodes.Status503ServiceUnavailable, title, detail, null), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Document(builder, StatusCodes.Status503ServiceUnavailable);
}

/// <summary>An operation's <see cref="Management.Failure"/> as the problem its kind answers with.</summary>
public static class FailureProblems
{
    public static InvalidProblem AsInvalid(this Management.Failure f) => new(f.Errors, f.Title ?? InvalidProblem.Title);

    public static NotFoundProblem AsNotFound(this Management.Failure f) => new(f.Message);

    public static ConflictProblem AsConflict(this Management.Failure f) => new(f.Message, f.Details?.ToDictionary());

    public static TooLargeProblem AsTooLarge(this Management.Failure f) => new(f.Message);

    public static UnprocessableProblem AsUnprocessable(this Management.Failure f) => new(f.Title ?? "The request cannot be done", f.Message);

    public static UpstreamProblem AsUpstream(this Management.Failure f) => new(f.Title ?? "S3 refused", f.Message, f.Details?.ToDictionary());

    public static UnavailableProblem AsUnavailable(this Management.Failure f) => new(f.Title ?? "The daemon cannot do it now; try again", f.Errors.Count == 0 ? null : f.Message);
}
