using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;

namespace HeapDaemon.Admin;

/// <summary>
/// A JSON request body the framework could not bind, said in the user's words: the field as the user wrote it
/// (<c>events[1]</c>), what was wrong, and for an enum the values it takes; never a .NET type name.
/// </summary>
public static partial class RequestProblems
{
    /// <summary>The detail of a 400 for a request that did not bind; the framework's own words when it is not about the body's JSON.</summary>
    public static string Describe(BadHttpRequestException bad, HttpContext context)
    {
        if (bad.InnerException is not JsonException json)
            return BodyMissing().IsMatch(bad.Message) ? "the request body is empty; send a JSON object" : bad.Message;
        var requestType = context.Features.Get<IExceptionHandlerFeature>()?.Endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
        if (UnknownProperty().Match(json.Message) is { Success: true } unknown)
        {
            var name = unknown.Groups["name"].Value;
            // The path ends at the unknown property; it is a property of what holds it.
            var (field, type) = Locate(json.Path is { } path && path.EndsWith("." + name, StringComparison.Ordinal) ? path[..^(name.Length + 1)] : json.Path, requestType);
            var where = field is null ? "the request" : field;
            var known = type is null ? [] : Properties(type).Select(p => p.Name).ToList();
            return $"'{name}' is not a property of {where}" + (known.Count > 0 ? $"; it takes {string.Join(", ", known)}" : "");
        }
        if (MissingProperties().Match(json.Message) is { Success: true } missing)
            return $"{string.Join(", ", missing.Groups["names"].Value.Split(", ").Select(n => n.Trim('\'')))} is required";
        if (json.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal) && Locate(json.Path, requestType) is ({ } at, var expected))
            return $"{at} must be {Expected(expected)}";
        return $"the request body is not valid JSON (line {json.LineNumber + 1}, position {json.BytePositionInLine + 1})";
    }

    /// <summary>The field a JSON path names, as the user wrote it, and the type there.</summary>
    private static (string? Field, Type? Type) Locate(string? path, Type? root)
    {
        if (string.IsNullOrEmpty(path) || path == "$") return (null, root);
        var type = root;
        var segments = PathSegment().Matches(path[1..]);
        foreach (Match segment in segments)
        {
            if (type is null) break;
            type = Nullable.GetUnderlyingType(type) ?? type;
            type = segment.Groups["index"].Success
                ? ElementType(type)
                : Properties(type).FirstOrDefault(p => p.Name == segment.Groups["name"].Value).Type;
        }
        return (path.TrimStart('$').TrimStart('.'), type is null ? null : Nullable.GetUnderlyingType(type) ?? type);
    }

    private static IEnumerable<(string Name, Type Type)> Properties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is null)
            .Select(p => (p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(p.Name), p.PropertyType));

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];

    private static string Expected(Type? type) => type switch
    {
        null => "a value of another kind",
        { IsEnum: true } => "one of " + string.Join(", ", Enum.GetNames(type).Select(JsonNamingPolicy.CamelCase.ConvertName)),
        _ when type == typeof(string) => "a string",
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(int) || type == typeof(long) => "a whole number",
        _ when type == typeof(decimal) || type == typeof(double) => "a number",
        _ when type == typeof(Guid) => "a UUID",
        _ when type == typeof(DateOnly) => "a date (yyyy-MM-dd)",
        _ when type == typeof(DateTimeOffset) => "a date and time (ISO 8601)",
        _ when type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type) => "a list",
        _ => "an object",
    };

    [GeneratedRegex(@"^(Required parameter "".+"" was not provided from body|Implicit body inferred for parameter "".+"" but no body was provided)")]
    private static partial Regex BodyMissing();

    [GeneratedRegex(@"^The JSON property '(?<name>[^']*)' could not be mapped")]
    private static partial Regex UnknownProperty();

    [GeneratedRegex(@"was missing required properties,? including: (?<names>.+?)\.?(\s|$)")]
    private static partial Regex MissingProperties();

    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\[(?<index>\d+)\]|\['(?<name>[^']+)'\]")]
    private static partial Regex PathSegment();
}
