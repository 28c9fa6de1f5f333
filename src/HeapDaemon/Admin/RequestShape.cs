using System.Text.Json.Serialization.Metadata;

namespace HeapDaemon.Admin;

/// <summary>How the API reads request records: what must be sent, and the body kept to quote it in an error.</summary>
public static class RequestShape
{
    /// <summary>
    /// A record's constructor parameter without a default and not nullable (<c>string Name</c>, <c>FieldType Type</c>)
    /// must be in the JSON: left out, it is named as missing instead of arriving as null or the type's default. The
    /// OpenAPI document lists the same properties as required.
    /// </summary>
    public static void RequireParametersWithoutDefaults(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        foreach (var property in info.Properties)
            if (property.AssociatedParameter is { HasDefaultValue: false, IsNullable: false }) property.IsRequired = true;
    }
}

/// <summary>Request bodies of the API: at most <see cref="MaxBytes"/>, kept while the request lasts.</summary>
public static class RequestBodies
{
    public const long MaxBytes = 1 << 20;

    /// <summary>
    /// A body under <c>/api</c> can be read again, so an error names the value the user sent (<see cref="JsonProblems"/>);
    /// bodies are small (at most 1 MB), and kept in memory up to 64 KB.
    /// </summary>
    public static void UseKeptRequestBodies(this WebApplication app) =>
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/api"),
            api => api.Use((context, next) =>
            {
                context.Request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: MaxBytes);
                return next(context);
            }));
}
