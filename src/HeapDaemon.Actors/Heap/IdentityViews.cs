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
/// </list>
/// Views list their columns when made, so they are made again after each run that changed the tables.
/// </summary>
public static class IdentityViews
{
    public static async Task RefreshAsync(NpgsqlDataSource db, FeedCatalog feeds, string source, CancellationToken ct)
    {
        var tables = (await feeds.ListAsync(ct)).Where(f => f.Active && f.Definition.Source == source).Select(f => f.Definition).ToList();
        var schema = Identifiers.Quote(source);
        var migrations = tables.FirstOrDefault(t => t.Name == HeapCourier.UserMigrations);
        var mapping = Identifiers.Quote(HeapCourier.UserMigrations + "_resolved");
        var sql = new List<string>
        {
            $"SELECT pg_advisory_xact_lock(hashtext('heapd.identity-views.' || {Literal(source)}))",
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
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        foreach (var statement in sql)
        {
            await using var cmd = new NpgsqlCommand(statement, connection, transaction);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await transaction.CommitAsync(ct);
    }

    private static string Literal(string text) => "'" + text.Replace("'", "''") + "'";
}
