using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Loading;
using Npgsql;

namespace HeapDaemon.Actors.Heap;

/// <summary>
/// Heap's identity resolution for S3 exports, which Heap leaves to the consumer: <c>user_migrations</c> maps a
/// merged user to the user it became, so events of an anonymous user belong to the identified one. Views in the
/// source's schema:
/// <list type="bullet">
/// <item><c>user_migrations_resolved (from_user_id, to_user_id, hops)</c>: every merged user and its final user,
/// chains (a→b→c) followed to their end with a recursive CTE that never revisits a user, so a cycle ends. A chain
/// that runs into a cycle (a→b, b→a: bad data, which Heap should never write) has no end, so every user on or leading
/// into it resolves to the smallest user id of the cycle: merged users stay merged, and the result does not depend
/// on the order of rows.</item>
/// <item><c>users_resolved</c>: one row per final user, as Heap's sample view: the earliest joindate, the latest
/// value of every other column (MAX, as Heap's view), and <c>merged_user_ids</c>.</item>
/// <item><c>&lt;table&gt;_resolved</c> for users' events (every other table with a user_id): its rows plus
/// <c>resolved_user_id</c>.</item>
/// <item><c>all_events</c>, as Heap makes it in a warehouse: every event table (pageviews and each synced event; not
/// users, sessions or user_migrations) one after another, with the columns every one of them has with the same type
/// (event_id, user_id, session_id, time first, then the common properties) and <c>event_table_name</c>. An event id is
/// unique per table, not across tables: two event definitions may match one event. <c>all_events_resolved</c> adds
/// <c>resolved_user_id</c>.</item>
/// </list>
/// Views list their columns (and all_events its tables) when made, so they are made again after each run that changed
/// the tables: a new event table or a new common column appears then.
/// </summary>
public static class IdentityViews
{
    public const string AllEvents = "all_events";

    /// <summary>The columns every Heap event has, first in all_events, in this order.</summary>
    private static readonly string[] EventColumns = ["event_id", "user_id", "session_id", "time"];

    /// <summary>Heap's tables that are not events.</summary>
    private static readonly string[] NotEvents = ["users", "sessions", HeapCourier.UserMigrations];

    public static async Task RefreshAsync(NpgsqlDataSource db, FeedCatalog feeds, string source, CancellationToken ct)
    {
        var tables = (await feeds.ListAsync(ct)).Where(f => f.Active && f.Definition.Source == source).Select(f => f.Definition).ToList();
        var schema = Identifiers.Quote(source);
        var migrations = tables.FirstOrDefault(t => t.Name == HeapCourier.UserMigrations);
        var mapping = Identifiers.Quote(HeapCourier.UserMigrations + "_resolved");
        var sql = new List<string>
        {
            Lock(source),
            $"DROP VIEW IF EXISTS {schema}.{mapping} CASCADE",
            migrations is null
                ? $"CREATE VIEW {schema}.{mapping} AS SELECT NULL::bigint AS from_user_id, NULL::bigint AS to_user_id, 0 AS hops WHERE false"
                : $"""
                  CREATE VIEW {schema}.{mapping} AS
                  WITH RECURSIVE chain (from_user_id, to_user_id, hops, seen) AS (
                      SELECT from_user_id, to_user_id, 1, ARRAY[from_user_id] FROM {migrations.Table.Qualified}
                      WHERE from_user_id IS NOT NULL AND to_user_id IS NOT NULL
                      UNION ALL
                      SELECT c.from_user_id, m.to_user_id, c.hops + 1, c.seen || m.from_user_id
                      FROM chain c JOIN {migrations.Table.Qualified} m ON m.from_user_id = c.to_user_id
                      WHERE m.to_user_id IS NOT NULL AND NOT m.from_user_id = ANY (c.seen))
                  SELECT DISTINCT ON (c.from_user_id) c.from_user_id, c.to_user_id, c.hops FROM chain c
                  ORDER BY c.from_user_id,
                      EXISTS (SELECT 1 FROM {migrations.Table.Qualified} n WHERE n.from_user_id = c.to_user_id AND n.to_user_id IS NOT NULL),
                      c.to_user_id
                  """,
        };
        if (tables.FirstOrDefault(t => t.Name == "users") is { } users && users.Fields.Any(f => f.ColumnName == "user_id"))
        {
            var columns = users.Fields.Where(f => f.ColumnName != "user_id").Select(f =>
            {
                var column = Identifiers.Quote(f.ColumnName);
                var aggregate = f.ColumnName == "joindate" ? "min" : f.Type == FieldType.Boolean ? "bool_or" : "max";
                return $"{aggregate}(u.{column}) AS {column}";
            });
            sql.Add($"""
                CREATE VIEW {schema}.{Identifiers.Quote("users_resolved")} AS
                SELECT coalesce(m.to_user_id, u.user_id) AS user_id, {string.Join(", ", columns.Append("array_agg(u.user_id ORDER BY u.user_id) AS merged_user_ids"))}
                FROM {users.Table.Qualified} u LEFT JOIN {schema}.{mapping} m ON m.from_user_id = u.user_id
                GROUP BY 1
                """);
        }
        foreach (var events in tables.Where(t => t.Name is not ("users" or HeapCourier.UserMigrations) && !t.Name.EndsWith("_resolved", StringComparison.Ordinal)
                                                 && t.Name.Length <= 54 && t.Fields.Any(f => f.ColumnName == "user_id")))
        {
            sql.Add($"""
                CREATE VIEW {schema}.{Identifiers.Quote(events.Name + "_resolved")} AS
                SELECT e.*, coalesce(m.to_user_id, e.user_id) AS resolved_user_id
                FROM {events.Table.Qualified} e LEFT JOIN {schema}.{mapping} m ON m.from_user_id = e.user_id
                """);
        }
        // An event table Heap named all_events (an event called "All Events") keeps its name; the view gives way.
        if (tables.All(t => t.Name is not (AllEvents or AllEvents + "_resolved")))
        {
            sql.Add($"DROP VIEW IF EXISTS {schema}.{Identifiers.Quote(AllEvents)} CASCADE");
            if (AllEventsView(schema, tables) is { } allEvents)
            {
                sql.Add(allEvents);
                sql.Add($"""
                    CREATE VIEW {schema}.{Identifiers.Quote(AllEvents + "_resolved")} AS
                    SELECT a.*, coalesce(m.to_user_id, a.user_id) AS resolved_user_id
                    FROM {schema}.{Identifiers.Quote(AllEvents)} a LEFT JOIN {schema}.{mapping} m ON m.from_user_id = a.user_id
                    """);
            }
        }
        await ExecuteAsync(db, sql, ct);
    }

    /// <summary>
    /// Drops the source's views, before one of its tables is dropped (they read it); <see cref="RefreshAsync"/> makes
    /// them again.
    /// </summary>
    /// <returns>Whether the source had them.</returns>
    public static async Task<bool> DropAsync(NpgsqlDataSource db, string source, CancellationToken ct)
    {
        await using (var cmd = db.CreateCommand("SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL"))
        {
            cmd.Parameters.AddWithValue(source);
            cmd.Parameters.AddWithValue(HeapCourier.UserMigrations + "_resolved");
            if (await cmd.ExecuteScalarAsync(ct) is not true) return false;
        }
        var schema = Identifiers.Quote(source);
        // all_events only when it is a view (an event table may bear the name).
        await ExecuteAsync(db, [
            Lock(source),
            $"DROP VIEW IF EXISTS {schema}.{Identifiers.Quote(HeapCourier.UserMigrations + "_resolved")} CASCADE",
            $"""
            DO $$ BEGIN
                IF EXISTS (SELECT 1 FROM pg_views WHERE schemaname = {Literal(source)} AND viewname = '{AllEvents}') THEN
                    DROP VIEW {schema}.{Identifiers.Quote(AllEvents)} CASCADE;
                END IF;
            END $$
            """,
        ], ct);
        return true;
    }

    /// <summary>Every event table's rows with the columns they all have; null when the source has no event table yet.</summary>
    private static string? AllEventsView(string schema, IReadOnlyList<FeedDefinition> tables)
    {
        var events = tables
            .Where(t => !NotEvents.Contains(t.Name) && !t.Name.EndsWith("_resolved", StringComparison.Ordinal)
                        && EventColumns.All(c => t.Fields.Any(f => f.ColumnName == c)))
            .OrderBy(t => t.Name == "pageviews" ? 0 : 1).ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
        if (events.Count == 0) return null;
        var common = events[0].Fields
            .Where(f => f.ColumnName != "event_table_name" &&
                        events.All(t => t.Fields.Any(o => o.ColumnName == f.ColumnName && DomainTableSchema.SqlType(o) == DomainTableSchema.SqlType(f))))
            .Select(f => f.ColumnName)
            .OrderBy(c => Array.IndexOf(EventColumns, c) is var i and >= 0 ? i : EventColumns.Length)
            .ToList();
        var columns = string.Join(", ", common.Select(Identifiers.Quote));
        return $"CREATE VIEW {schema}.{Identifiers.Quote(AllEvents)} AS\n" + string.Join("\nUNION ALL\n", events.Select(t =>
            $"SELECT {columns}, {Literal(t.Name)}::text AS event_table_name FROM {t.Table.Qualified}"));
    }

    private static string Lock(string source) => $"SELECT pg_advisory_xact_lock(hashtext('heapd.identity-views.' || {Literal(source)}))";

    private static async Task ExecuteAsync(NpgsqlDataSource db, IEnumerable<string> statements, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        foreach (var statement in statements)
        {
            await using var cmd = new NpgsqlCommand(statement, connection, transaction);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await transaction.CommitAsync(ct);
    }

    private static string Literal(string text) => "'" + text.Replace("'", "''") + "'";
}
