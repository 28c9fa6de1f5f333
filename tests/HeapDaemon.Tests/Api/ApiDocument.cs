using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace HeapDaemon.Tests.Api;

/// <summary>The daemon's OpenAPI document, and what its router really maps, to hold one against the other.</summary>
public sealed class ApiDocument(JsonElement root)
{
    public JsonElement Root { get; } = root;

    public static async Task<ApiDocument> FetchAsync(HttpClient anonymous)
    {
        var response = await anonymous.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new ApiDocument(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    /// <summary>Every route under /api the router maps: method, pattern as the document writes it, and the endpoint.</summary>
    public static IReadOnlyList<(string Method, string Pattern, RouteEndpoint Endpoint)> MappedRoutes(IServiceProvider services) =>
        services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (m, Normalize(e.RoutePattern.RawText!), e)))
            .OrderBy(r => r.Item2, StringComparer.Ordinal).ThenBy(r => r.m, StringComparer.Ordinal)
            .ToList();

    private static string Normalize(string pattern) => pattern.Length > 1 ? pattern.TrimEnd('/') : pattern;

    public JsonElement? Operation(string method, string pattern) =>
        Root.GetProperty("paths").TryGetProperty(pattern, out var path) && path.TryGetProperty(method.ToLowerInvariant(), out var operation)
            ? operation
            : null;

    /// <summary>The documented operation a request goes to: its path template matched segment by segment.</summary>
    public (string Pattern, JsonElement Operation)? Find(string method, string path)
    {
        foreach (var p in Root.GetProperty("paths").EnumerateObject())
        {
            var template = "^" + Regex.Replace(Regex.Escape(p.Name), @"\\\{[^}]+}", "[^/]+") + "$";
            if (Regex.IsMatch(path, template) && p.Value.TryGetProperty(method.ToLowerInvariant(), out var operation)) return (p.Name, operation);
        }
        return null;
    }

    /// <summary>A schema with its <c>$ref</c> followed.</summary>
    public JsonElement Resolve(JsonElement schema)
    {
        while (schema.TryGetProperty("$ref", out var reference))
        {
            var name = reference.GetString()!.Split('/').Last();
            schema = Root.GetProperty("components").GetProperty("schemas").GetProperty(name);
        }
        return schema;
    }

    /// <summary>Where an answer departs from the document: its status not documented, or a property the schema requires missing.</summary>
    public string? Mismatch(string method, string path, int status, string? mediaType, string body)
    {
        if (Find(method, path) is not { } found) return $"{method} {path} is not in the document";
        if (!found.Operation.GetProperty("responses").TryGetProperty(status.ToString(), out var response))
            return $"{method} {found.Pattern} answered {status}, which the document does not list";
        if (status >= 400)
            return mediaType == "application/problem+json" ? null : $"{method} {found.Pattern} answered {status} as {mediaType}, not a ProblemDetails";
        if (mediaType != "application/json" || body.Length == 0) return null;
        if (!response.TryGetProperty("content", out var content) || !content.TryGetProperty("application/json", out var json))
            return $"{method} {found.Pattern} answered {status} with JSON the document does not describe";
        return ShapeMismatch(Resolve(json.GetProperty("schema")), JsonDocument.Parse(body).RootElement, "the body");
    }

    private string? ShapeMismatch(JsonElement schema, JsonElement value, string where)
    {
        if (schema.TryGetProperty("items", out var items) && value.ValueKind == JsonValueKind.Array)
            return value.EnumerateArray().Select(v => ShapeMismatch(Resolve(items), v, where + "[]")).FirstOrDefault(m => m is not null);
        if (value.ValueKind != JsonValueKind.Object) return null;
        if (schema.TryGetProperty("required", out var required))
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
                if (!value.TryGetProperty(name, out _)) return $"{where} lacks '{name}', which the document requires: {value}";
        if (schema.TryGetProperty("properties", out var properties))
            foreach (var property in value.EnumerateObject())
            {
                if (!properties.TryGetProperty(property.Name, out var propertySchema))
                    return $"{where} has '{property.Name}', which the document does not describe";
                if (ShapeMismatch(Resolve(propertySchema), property.Value, $"{where}.{property.Name}") is { } inner) return inner;
            }
        return null;
    }
}

/// <summary>Holds every answer a client receives against the document (<see cref="ApiDocument.Mismatch"/>).</summary>
public sealed class ContractCheckingHandler(Func<ApiDocument> document) : DelegatingHandler
{
    public List<string> Seen { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var path = request.RequestUri!.AbsolutePath;
        var mismatch = document().Mismatch(request.Method.Method, path, (int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body);
        Assert.True(mismatch is null, $"{mismatch}\n{body}");
        lock (Seen) Seen.Add($"{request.Method.Method} {document().Find(request.Method.Method, path)?.Pattern} {(int)response.StatusCode}");
        return response;
    }
}
