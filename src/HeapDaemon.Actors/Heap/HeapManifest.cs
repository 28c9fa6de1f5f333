using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace HeapDaemon.Actors.Heap;

/// <summary>A data file of a dump, in the order Heap's files apply: by dump id, then part number, as numbers.</summary>
public sealed record HeapFile(string Key, long DumpId, long Part);

/// <param name="Incremental">false: this dump holds the whole table (a full resync), which replaces what is stored.</param>
public sealed record HeapTable(string Name, IReadOnlyList<string> Columns, IReadOnlyList<HeapFile> Files, bool Incremental)
{
    /// <summary>user_migrations is a fully materialized mapping: always whole, whatever the flag says.</summary>
    public bool ReplacesTable => !Incremental || Name == HeapCourier.UserMigrations;
}

/// <summary>One dump as its manifest (<c>manifests/*.json</c>) describes it; Heap writes the manifest last, when the dump is complete.</summary>
public sealed partial record HeapManifest(string ManifestKey, long DumpId, IReadOnlyList<HeapTable> Tables)
{
    /// <summary>Fields Heap documents; anything else in the manifest is ignored.</summary>
    /// <exception cref="FormatException">the manifest is not what Heap writes; the message names the manifest and the fault.</exception>
    public static HeapManifest Parse(string manifestKey, string bucket, ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad("it is not a JSON object");
            if (!root.TryGetProperty("dump_id", out var dump) || !TryDumpId(dump, out var dumpId))
                throw Bad("dump_id is missing or not a non-negative integer");
            if (!root.TryGetProperty("tables", out var tables) || tables.ValueKind != JsonValueKind.Array)
                throw Bad("tables is missing or not an array");
            var parsed = new List<HeapTable>();
            var i = 0;
            foreach (var table in tables.EnumerateArray())
            {
                var at = $"tables[{i++}]";
                if (table.ValueKind != JsonValueKind.Object) throw Bad($"{at} is not an object");
                var name = table.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : throw Bad($"{at}.name is missing");
                if (!table.TryGetProperty("incremental", out var inc) || inc.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    throw Bad($"{at} ('{name}'): incremental is missing or not a boolean");
                var columns = Strings(table, "columns", $"{at} ('{name}')");
                var files = Strings(table, "files", $"{at} ('{name}')").Select(uri => File(uri, bucket, dumpId, $"{at} ('{name}')"))
                    .OrderBy(f => f.DumpId).ThenBy(f => f.Part).ThenBy(f => f.Key, StringComparer.Ordinal).ToList();
                if (parsed.Any(t => t.Name == name)) throw Bad($"table '{name}' appears twice");
                parsed.Add(new HeapTable(name, columns, files, inc.GetBoolean()));
            }
            return new HeapManifest(manifestKey, dumpId, parsed);

            FormatException Bad(string why) => new($"manifest s3://{bucket}/{manifestKey} is malformed: {why}");
        }
        catch (FormatException e) when (!e.Message.StartsWith("manifest ", StringComparison.Ordinal))
        {
            throw new FormatException($"manifest s3://{bucket}/{manifestKey} is malformed: {e.Message}", e);
        }
        catch (JsonException e)
        {
            throw new FormatException($"manifest s3://{bucket}/{manifestKey} is not valid JSON: {e.Message}", e);
        }
    }

    private static bool TryDumpId(JsonElement element, out long id)
    {
        id = -1;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out id) && id >= 0
               || element.ValueKind == JsonValueKind.String && long.TryParse(element.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out id);
    }

    private static List<string> Strings(JsonElement table, string property, string at)
    {
        if (!table.TryGetProperty(property, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new FormatException($"{at}: {property} is missing or not an array");
        return array.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()!
            : throw new FormatException($"{at}: {property} holds a {e.ValueKind}, not a string")).ToList();
    }

    /// <summary>A full s3:// URI of this bucket; the part number comes from the file name (part-00016-...).</summary>
    private static HeapFile File(string uri, string bucket, long dumpId, string at)
    {
        var prefix = $"s3://{bucket}/";
        if (!uri.StartsWith(prefix, StringComparison.Ordinal) || uri.Length == prefix.Length)
            throw new FormatException($"{at}: file '{uri}' is not an s3:// URI in bucket '{bucket}'");
        var key = uri[prefix.Length..];
        var part = PartNumber().Match(key[(key.LastIndexOf('/') + 1)..]);
        return new HeapFile(key, dumpId, part.Success && long.TryParse(part.Groups[1].Value, CultureInfo.InvariantCulture, out var p) ? p : long.MaxValue);
    }

    [GeneratedRegex(@"^part-(\d{1,18})")]
    private static partial Regex PartNumber();
}
