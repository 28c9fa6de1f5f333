using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using HeapDaemon.Tests.Support;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace HeapDaemon.Tests.Api;

/// <summary>
/// Every route that takes a body (found from the router, so a new one cannot escape) gets malformed JSON, a value of the
/// wrong type, an unknown property, an enum value that does not exist and a body without a required field, and each
/// answers 400 with the field as the user wrote it, what would do, and no .NET name.
/// </summary>
public sealed class BadBodySpecs(SharedDaemon shared) : IClassFixture<SharedDaemon>
{
    private sealed record Case(string Route, string Kind, string Body, string[] Expected);

    [Fact]
    public async Task Every_body_route_answers_each_kind_of_bad_body_with_a_400_that_names_the_field_in_the_users_words()
    {
        var options = shared.Daemon.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var routes = ApiDocument.MappedRoutes(shared.Daemon.Services)
            .Where(r => r.Endpoint.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType is not null).ToList();
        var cases = routes.SelectMany(r => Cases($"{r.Method} {r.Pattern}", r.Endpoint.Metadata.GetMetadata<IAcceptsMetadata>()!.RequestType!, options)).ToList();
        using var admin = shared.Admin();
        var wrongAnswers = new List<string>();

        foreach (var c in cases)
        {
            var (method, pattern) = (c.Route.Split(' ')[0], c.Route.Split(' ')[1]);
            var path = pattern.Replace("{id}", pattern.StartsWith("/api/runs", StringComparison.Ordinal) ? Guid.NewGuid().ToString() : "bad-body")
                .Replace("{ordinal}", "0").Replace("{dumpId}", "1");
            var response = await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
            {
                Content = new StringContent(c.Body, Encoding.UTF8, "application/json"),
            });
            var text = await response.Content.ReadAsStringAsync();
            var detail = response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                ? JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString() ?? ""
                : "";
            if (response.StatusCode != HttpStatusCode.BadRequest || c.Expected.Any(e => !detail.Contains(e, StringComparison.Ordinal)))
                wrongAnswers.Add($"{c.Route} {c.Kind} {c.Body}: {(int)response.StatusCode} {text}");
        }

        // Each kind reaches at least one route (the enum and missing-field kinds only where the body has one).
        Assert.Equal(["enum value", "malformed", "missing field", "unknown property", "wrong type"], cases.Select(c => c.Kind).Distinct().Order());
        Assert.True(routes.Count >= 10, $"only {routes.Count} body routes found");
        Assert.True(wrongAnswers.Count == 0, string.Join("\n", wrongAnswers));
    }

    /// <summary>The bad bodies for one route's body type, each with the words its answer must hold.</summary>
    private static IEnumerable<Case> Cases(string route, Type body, JsonSerializerOptions options)
    {
        var root = options.GetTypeInfo(body);
        yield return new Case(route, "malformed", "{,}", ["not valid JSON", "line 1"]);
        yield return new Case(route, "unknown property", "{\"notAProperty\": 1}", ["notAProperty: not a property", root.Properties[0].Name]);
        // A list where the first property wants anything else, or a string where it wants a list.
        var first = root.Properties[0];
        var isList = first.PropertyType != typeof(string) && options.GetTypeInfo(first.PropertyType).Kind == JsonTypeInfoKind.Enumerable;
        var wrong = isList ? "\"text\"" : "[1, 2]";
        yield return new Case(route, "wrong type", $"{{\"{first.Name}\": {wrong}}}", [$"{first.Name}: {wrong} is not valid", "expected "]);
        if (EnumPath(options, root, []) is { } enumPath)
        {
            var (path, enumType) = enumPath;
            var allowed = string.Join(", ", Enum.GetNames(enumType).Select(n => JsonNamingPolicy.CamelCase.ConvertName(n)));
            yield return new Case(route, "enum value", Nest(path, JsonValue.Create("no-such-value")), [$"{Field(path)}: \"no-such-value\" is not valid", $"one of: {allowed}"]);
        }
        var required = root.Properties.Where(p => p.IsRequired).Select(p => p.Name).ToList();
        if (required.Count > 0)
            yield return new Case(route, "missing field", "{}", [.. required.Select(r => $"{r}: required, but missing")]);
    }

    /// <summary>The path to an enum the body holds, at its top, in a list of enums, or in an object or a list of objects it holds.</summary>
    private static (string[] Path, Type Enum)? EnumPath(JsonSerializerOptions options, JsonTypeInfo info, string[] path)
    {
        if (path.Length > 3 || info.Kind != JsonTypeInfoKind.Object) return null;
        foreach (var property in info.Properties)
        {
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (type.IsEnum) return ([.. path, property.Name], type);
        }
        foreach (var property in info.Properties)
        {
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (type == typeof(string) || type.IsPrimitive || type == typeof(JsonElement)) continue;
            var nested = options.GetTypeInfo(type);
            if (nested.Kind == JsonTypeInfoKind.Enumerable && nested.ElementType is { IsEnum: true } enumElement)
                return ([.. path, property.Name, "[0]"], enumElement);
            var found = nested.Kind == JsonTypeInfoKind.Enumerable && nested.ElementType is { } element
                ? EnumPath(options, options.GetTypeInfo(element), [.. path, property.Name, "[0]"])
                : EnumPath(options, nested, [.. path, property.Name]);
            if (found is not null) return found;
        }
        return null;
    }

    /// <summary>A body with only the value at the path: <c>{"files": [{"settings": {"compression": "x"}}]}</c>.</summary>
    private static string Nest(string[] path, JsonNode value)
    {
        var node = value;
        for (var i = path.Length - 1; i >= 0; i--)
            node = path[i] == "[0]" ? new JsonArray(node) : new JsonObject { [path[i]] = node };
        return node.ToJsonString();
    }

    private static string Field(string[] path) => string.Join(".", path).Replace(".[0]", "[0]");
}
