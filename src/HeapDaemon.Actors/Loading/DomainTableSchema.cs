using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Ids;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Loading;

/// <summary>Creates and widens a feed's domain table. Every name comes from a validated feed and is quoted.</summary>
public static class DomainTableSchema
{
    public static string SqlType(FeedField field) => field.Type switch
    {
        FieldType.Boolean => "boolean",
        FieldType.Integer => "bigint",
        FieldType.Decimal => field.Precision is { } p ? $"numeric({p},{field.Scale ?? 0})" : "numeric",
        FieldType.Float => "double precision",
        FieldType.Date => "date",
        FieldType.Datetime => "timestamp with time zone",
        FieldType.String => "text",
        _ => throw new ArgumentOutOfRangeException(nameof(field), field.Type, "unknown field type"),
    };

    public static NpgsqlDbType DbType(FeedField field) => field.Type switch
    {
        FieldType.Boolean => NpgsqlDbType.Boolean,
        FieldType.Integer => NpgsqlDbType.Bigint,
        FieldType.Decimal => NpgsqlDbType.Numeric,
        FieldType.Float => NpgsqlDbType.Double,
        FieldType.Date => NpgsqlDbType.Date,
        FieldType.Datetime => NpgsqlDbType.TimestampTz,
        FieldType.String => NpgsqlDbType.Text,
        _ => throw new ArgumentOutOfRangeException(nameof(field), field.Type, "unknown field type"),
    };

    /// <summary>
    /// Creates the table if missing and adds columns for new fields. A column whose type differs from its field
    /// is refused rather than altered: converting data in place is the user's decision, not the daemon's.
    /// </summary>
    /// <exception cref="InvalidOperationException">an existing column has another type.</exception>
    public static async Task EnsureAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, FeedDefinition feed, CancellationToken ct)
    {
        var table = feed.Table;
        var columns = string.Join(",\n    ", feed.Fields.Select(f => $"{Identifiers.Quote(f.ColumnName)} {SqlType(f)}"));
        var create = $"""
            CREATE SCHEMA IF NOT EXISTS {Identifiers.Quote(table.Schema)};
            CREATE TABLE IF NOT EXISTS {table.Qualified} (
                {columns},
                "_pk"          text PRIMARY KEY,
                "_uuid_pk"     uuid NOT NULL,
                "_updated"     bigint NOT NULL,
                "_source_file" text NOT NULL,
                "_loaded_at"   timestamptz NOT NULL DEFAULT now());
            """;
        await using (var cmd = new NpgsqlCommand(create, connection, transaction))
            await cmd.ExecuteNonQueryAsync(ct);

        var existing = await ExistingColumnsAsync(connection, transaction, table, ct);
        var conflicts = new List<string>();
        foreach (var field in feed.Fields)
        {
            if (!existing.TryGetValue(field.ColumnName, out var type))
            {
                await using var add = new NpgsqlCommand(
                    $"ALTER TABLE {table.Qualified} ADD COLUMN {Identifiers.Quote(field.ColumnName)} {SqlType(field)}", connection, transaction);
                await add.ExecuteNonQueryAsync(ct);
            }
            else if (type != SqlType(field))
            {
                conflicts.Add($"column '{field.ColumnName}' is {type} in {table}, the feed says {SqlType(field)}");
            }
        }
        if (conflicts.Count > 0) throw new InvalidOperationException(string.Join("; ", conflicts));
    }

    private static async Task<Dictionary<string, string>> ExistingColumnsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, DomainTableName table, CancellationToken ct)
    {
        const string sql = """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
            """;
        await using var cmd = new NpgsqlCommand(sql, connection, transaction);
        cmd.Parameters.AddWithValue(table.Schema);
        cmd.Parameters.AddWithValue(table.Table);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var columns = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct)) columns[reader.GetString(0)] = reader.GetString(1);
        return columns;
    }
}
