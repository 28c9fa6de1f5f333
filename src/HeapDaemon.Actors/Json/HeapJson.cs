using System.Text.Json;
using System.Text.Json.Serialization;

namespace HeapDaemon.Actors.Json;

/// <summary>One JSON shape for the API, the catalog's jsonb columns and the journal, so a value reads the same everywhere.</summary>
public static class HeapJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>
    /// Unknown properties are an error, not silently dropped: a misspelt <c>forceReload</c> must not start a run
    /// that skips every file.
    /// </summary>
    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        return options;
    }
}
