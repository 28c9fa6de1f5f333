using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;

namespace HeapDaemon.Admin;

/// <summary>
/// System.Text.Json's refusal of a request body, in the user's words: the field as the user wrote it
/// (<c>files[0].settings.compression</c>), the value, and what would do (for an enum its values), never a .NET type.
/// The target type is found by walking the body's type along the error's path, not by reading the exception's text.
/// </summary>
public static partial class JsonProblems
{
    /// <param name="bodyType">The type the route binds its body to.</param>
    /// <param name="body">The body as sent, to show the value that was refused; null when it could not be kept.</param>
    public static IReadOnlyList<string> Describe(JsonException e, Type? bodyType, JsonSerializerOptions options, ReadOnlyMemory<byte>? body)
    {
        var path = Segments(e.Path);
        var field = Field(path);
        if (e.InnerException?.GetType().Name == "JsonReaderException" || e.Message.Contains("is an invalid", StringComparison.Ordinal) ||
            e.Message.Contains("end of data", StringComparison.OrdinalIgnoreCase))
            return [$"the body is not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}{(field is null ? "" : $" (in {field})")}: {ReaderReason(e)}"];

        var type = bodyType is null ? null : TypeAt(options, bodyType, path, out var parent, out var last);
        if (UnmappedMember().Match(e.Message) is { Success: true } unmapped)
        {
            // The path ends at the unknown property; its object is the one before it.
            var owner = bodyType is null ? null : TypeAt(options, bodyType, path[..^1], out _, out _);
            var known = owner is null ? [] : Properties(options, owner);
            return [$"{field ?? unmapped.Groups["name"].Value}: not a property the daemon knows" +
                    (known.Count > 0 ? $"; {(path.Length > 1 ? $"{Field(path[..^1])} takes" : "the body takes")}: {string.Join(", ", known)}" : "")];
        }
        if (MissingRequired().Match(e.Message) is { Success: true } missing)
            return [.. Quoted().Matches(missing.Groups["names"].Value)
                .Select(m => $"{(field is null ? "" : field + ".")}{m.Groups[1].Value}: required, but missing")];
        if (UnknownDiscriminator().IsMatch(e.Message) && type is not null)
            return [$"{field ?? "kind"}: {Value(body, path)} is not valid: expected {Expected(type, options)}"];

        var value = Value(body, path);
        var what = type is null ? "a value of another kind" : Expected(type, options);
        return [$"{field ?? "the body"}: {value ?? "the value"} is not valid: expected {what}"];
    }

    /// <summary>What a value of this type is, in words; for an enum, its values.</summary>
    public static string Expected(Type type, JsonSerializerOptions options)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsEnum)
            return "one of: " + string.Join(", ", Enum.GetNames(type).Select(n => options.PropertyNamingPolicy?.ConvertName(n) ?? n));
        return Type.GetTypeCode(type) switch
        {
            TypeCode.Int16 or TypeCode.Int32 or TypeCode.Int64 or TypeCode.UInt16 or TypeCode.UInt32 or TypeCode.UInt64 or TypeCode.Byte => "a whole number",
            TypeCode.Decimal or TypeCode.Double or TypeCode.Single => "a number",
            TypeCode.Boolean => "true or false",
            TypeCode.String or TypeCode.Char => "a string (in double quotes)",
            _ when type == typeof(DateOnly) => "a date like 2026-11-26",
            _ when type == typeof(DateTimeOffset) || type == typeof(DateTime) => "a date and time like 2026-11-26T13:45:00Z",
            _ when type == typeof(Guid) => "a UUID like 3f2b8e0c-1d2a-4c5b-9e8f-0a1b2c3d4e5f",
            _ when type == typeof(TimeSpan) => "a duration like 00:30:00",
            _ when type == typeof(JsonElement) => "any JSON value",
            _ => options.GetTypeInfo(type).Kind switch
            {
                JsonTypeInfoKind.Enumerable => "a list [ … ]",
                JsonTypeInfoKind.Dictionary => "an object { … }",
                _ => "an object { … }" + (Properties(options, type) is { Count: > 0 } names ? $" with {string.Join(", ", names)}" : ""),
            },
        };
    }

    /// <summary>The JSON names of an object type's properties.</summary>
    public static IReadOnlyList<string> Properties(JsonSerializerOptions options, Type type)
    {
        var info = options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
        return info.Kind == JsonTypeInfoKind.Object ? info.Properties.Select(p => p.Name).ToList() : [];
    }

    /// <summary>The type at a path of the body, or null when the path leaves what the type describes.</summary>
    private static Type? TypeAt(JsonSerializerOptions options, Type root, string[] path, out Type? parent, out string? last)
    {
        Type? type = root;
        parent = null;
        last = null;
        foreach (var segment in path)
        {
            if (type is null) return null;
            var info = options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
            parent = type;
            last = segment;
            type = info.Kind switch
            {
                JsonTypeInfoKind.Enumerable when segment.StartsWith('[') => info.ElementType,
                JsonTypeInfoKind.Dictionary when !segment.StartsWith('[') => info.ElementType,
                JsonTypeInfoKind.Object => info.Properties.FirstOrDefault(p => p.Name == segment)?.PropertyType,
                _ => null,
            };
        }
        return type;
    }

    /// <summary>"$.files[0].settings" as segments: files, [0], settings.</summary>
    private static string[] Segments(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$") return [];
        return PathSegment().Matches(path).Select(m => m.Groups["name"].Success ? m.Groups["name"].Value
            : m.Groups["quoted"].Success ? m.Groups["quoted"].Value : m.Groups["index"].Value).ToArray();
    }

    /// <summary>The path as the user wrote it: <c>files[0].settings.compression</c>; null for the body itself.</summary>
    private static string? Field(string[] path)
    {
        if (path.Length == 0) return null;
        var text = new System.Text.StringBuilder();
        foreach (var segment in path)
        {
            if (segment.StartsWith('[')) text.Append(segment);
            else text.Append(text.Length == 0 ? "" : ".").Append(segment);
        }
        return text.ToString();
    }

    /// <summary>The value at the path in the body as sent, shortened, in JSON's own spelling; null when it cannot be found.</summary>
    private static string? Value(ReadOnlyMemory<byte>? body, string[] path)
    {
        if (body is not { } bytes) return null;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var element = document.RootElement;
            foreach (var segment in path)
            {
                if (segment.StartsWith('[') && element.ValueKind == JsonValueKind.Array && int.TryParse(segment[1..^1], out var i) && i < element.GetArrayLength())
                    element = element[i];
                else if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(segment, out var child))
                    element = child;
                else
                    return null;
            }
            var text = element.GetRawText();
            return text.Length > 60 ? text[..60] + "…" : text;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The reader's own reason ("'}' is an invalid start of a value."), without its position, which is said already.</summary>
    private static string ReaderReason(JsonException e)
    {
        var message = e.InnerException?.Message ?? e.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).Trim().TrimEnd('.');
    }

    [GeneratedRegex(@"The JSON property '(?<name>[^']*)' could not be mapped")]
    private static partial Regex UnmappedMember();

    [GeneratedRegex(@"missing required properties(,)? including(:)? (?<names>.*)", RegexOptions.Singleline)]
    private static partial Regex MissingRequired();

    [GeneratedRegex(@"'([^']+)'")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"type discriminator", RegexOptions.IgnoreCase)]
    private static partial Regex UnknownDiscriminator();

    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<quoted>(?:[^']|'')*)'\]|(?<index>\[\d+\])")]
    private static partial Regex PathSegment();
}
