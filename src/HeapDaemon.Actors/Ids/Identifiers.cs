using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace HeapDaemon.Actors.Ids;

/// <summary>
/// The rules for ids and names, and the quoting of names that reach SQL text: everything is validated against a strict
/// pattern and then quoted, so a hostile header or feed name is either refused or inert.
/// <list type="bullet">
/// <item>An id (of a credential, a feed, a courier; a Heap feed's too) is <see cref="IdRule"/>, taken exactly as
/// written: ids name things in URLs, actor names and persistence ids. One made from a source and a name keeps them as
/// they are stored (<c>edge-csv_rfc4180</c>, as a Heap feed is <c>heap-user_migrations</c>).</item>
/// <item>A name (a source or a feed name: a domain table's schema and table) is <see cref="NameRule"/>; it is kept in
/// lowercase, as PostgreSQL keeps a name written without quotes, and shown capitalised (<c>Edge:Csv_Rfc4180</c>). A
/// name is always an id too.</item>
/// </list>
/// </summary>
public static partial class Identifiers
{
    // \z, not $: in .NET, $ also matches before a final newline, and "name\n" would pass as a name.
    private static readonly HashSet<string> ReservedSchemas = new(StringComparer.Ordinal)
    {
        "heapd", "akka", "public", "information_schema", "pg_catalog", "pg_toast",
    };

    public const string IdRule = "1-63 lowercase letters, digits, '-' or '_'";

    public const string NameRule = "1-63 letters, digits and underscores, starting with a letter, in any case (kept in lowercase)";

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
    public static bool IsId(string? id) => id is not null && IdPattern().IsMatch(id);

    /// <summary>A name as it is kept: in lowercase when it is one in any case; otherwise as given, for validation to refuse as written.</summary>
    public static string Canonical(string name) => name?.ToLowerInvariant() is { } lower && IsSchemaOrTableName(lower) ? lower : name!;

    /// <summary>Quotes an identifier for PostgreSQL; callers validate first, this is the second line of defence.</summary>
    public static string Quote(string identifier)
    {
        if (identifier.Contains('\0')) throw new ArgumentException("identifier contains a NUL character", nameof(identifier));
        return "\"" + identifier.Replace("\"", "\"\"") + "\"";
    }
}
