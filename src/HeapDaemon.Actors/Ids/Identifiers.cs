using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace HeapDaemon.Actors.Ids;

/// <summary>
/// Names that reach SQL text. Everything is validated against a strict pattern and then quoted, so a hostile
/// header or feed name is either refused or inert.
/// </summary>
public static partial class Identifiers
{
    // \z, not $: in .NET, $ also matches before a final newline, and "name\n" would pass as a name.
    private static readonly HashSet<string> ReservedSchemas = new(StringComparer.Ordinal)
    {
        "heapd", "akka", "public", "information_schema", "pg_catalog", "pg_toast",
    };

    public static readonly ImmutableArray<string> SystemColumns = ["_pk", "_uuid_pk", "_updated", "_source_file", "_loaded_at"];

    [GeneratedRegex(@"^[a-z][a-z0-9_]{0,62}\z")]
    private static partial Regex SchemaOrTablePattern();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_]{0,62}\z")]
    private static partial Regex ColumnPattern();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9_-]{0,62}\z")]
    private static partial Regex IdPattern();

    public static bool IsSchemaOrTableName(string? name) => name is not null && SchemaOrTablePattern().IsMatch(name);

    public static bool IsReservedSchema(string name) => ReservedSchemas.Contains(name) || name.StartsWith("pg_", StringComparison.Ordinal);

    public static bool IsColumnName(string? name) => name is not null && ColumnPattern().IsMatch(name);

    /// <summary>Ids of credentials, feeds and couriers: safe in URLs, actor names and persistence ids.</summary>
    public static bool IsFeedId(string? id) => id is not null && IdPattern().IsMatch(id);

    public static bool IsId(string? id) => IsFeedId(id);

    /// <summary>Quotes an identifier for PostgreSQL; callers validate first, this is the second line of defence.</summary>
    public static string Quote(string identifier)
    {
        if (identifier.Contains('\0')) throw new ArgumentException("identifier contains a NUL character", nameof(identifier));
        return "\"" + identifier.Replace("\"", "\"\"") + "\"";
    }
}
