using System.Text.Json;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Loading;
using Npgsql;

namespace HeapDaemon.Actors.Browsing;

/// <param name="Name">As Amperity shows it: <c>Heap:Users</c>.</param>
/// <param name="Table">Where it is in PostgreSQL: <c>heap.users</c>.</param>
/// <param name="RowCount">Exact up to <see cref="DomainTableBrowser.ExactCountLimit"/> rows; above, PostgreSQL's estimate.</param>
/// <param name="RowCountEstimated">True when <paramref name="RowCount"/> is PostgreSQL's estimate (a large table is never counted row by row).</param>
public sealed record DomainTableSummary(string Name, string Table, string FeedId, long RowCount, DateTimeOffset? LastLoadedAt, bool RowCountEstimated = false);

/// <param name="Rows">Each row as a JSON object of its columns, system columns included.</param>
/// <param name="Next">The last row's <c>_pk</c>: pass it as <c>after</c> for the next page; null on the last page.</param>
public sealed record DomainTableRows(string Name, string Table, IReadOnlyList<JsonElement> Rows, string? Next = null);

/// <summary>A domain table as its page shows it: its feed's fields (types, tags), its size, and the views made over it.</summary>
/// <param name="Views">Views in the table's schema (for Heap: the identity views, <c>*_resolved</c>).</param>
public sealed record DomainTableDetail(DomainTableSummary Summary, FeedDefinition Feed, IReadOnlyList<string> Views);

/// <summary>What was loaded, to review: the domain tables of active feeds, their rows a page at a time, and their views.</summary>
/// <remarks>Nothing here reads a large table whole: counts stop at <see cref="ExactCountLimit"/>, pages follow the key.</remarks>
public sealed class DomainTableBrowser(NpgsqlDataSource db, FeedCatalog feeds)
{
    public const int MaxRows = 1000;

    /// <summary>Tables up to this size are counted exactly; above, PostgreSQL's statistics say how many rows there are.</summary>
    public const int ExactCountLimit = 10_000;

    public async Task<IReadOnlyList<DomainTableSummary>> ListAsync(CancellationToken ct)
    {
        var active = (await ActiveAsync(ct)).ToList();
        if (active.Count == 0) return [];
        // One round trip for every table.
        await using var batch = db.CreateBatch();
        foreach (var feed in active)
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"""
                SELECT (SELECT count(*) FROM (SELECT 1 FROM {feed.Table.Qualified} LIMIT {ExactCountLimit + 1}) s),
                       (SELECT max(loaded_at) FROM heapd.load_ledger WHERE feed_id = $1),
                       (SELECT greatest(c.reltuples::bigint, coalesce(st.n_live_tup, 0)) FROM pg_class c
                        LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid WHERE c.oid = to_regclass($2))
                """) { Parameters = { new NpgsqlParameter { Value = feed.Id }, new NpgsqlParameter { Value = feed.Table.Qualified } } });
        await using var reader = await batch.ExecuteReaderAsync(ct);
        var tables = new List<DomainTableSummary>();
        foreach (var feed in active)
        {
            await reader.ReadAsync(ct);
            var counted = reader.GetInt64(0);
            var estimated = counted > ExactCountLimit;
            var rows = estimated ? Math.Max(counted, reader.IsDBNull(2) ? 0 : reader.GetInt64(2)) : counted;
            tables.Add(new DomainTableSummary(feed.Table.DisplayName, feed.Table.ToString(), feed.Id, rows,
                reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1), estimated));
            await reader.NextResultAsync(ct);
        }
        return tables;
    }

    /// <param name="name"><c>Heap:Users</c> (any case) or <c>heap.users</c>.</param>
    /// <returns>Null when no active feed has that table.</returns>
    public async Task<DomainTableDetail?> DescribeAsync(string name, CancellationToken ct)
    {
        if (await FindAsync(name, ct) is not { } feed) return null;
        var summary = (await ListAsync(ct)).First(t => t.FeedId == feed.Id);
        await using var cmd = db.CreateCommand("SELECT viewname FROM pg_views WHERE schemaname = $1 ORDER BY viewname");
        cmd.Parameters.AddWithValue(feed.Source);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var views = new List<string>();
        while (await reader.ReadAsync(ct)) views.Add(reader.GetString(0));
        return new DomainTableDetail(summary, feed, views);
    }

    /// <param name="name"><c>Heap:Users</c> (any case) or <c>heap.users</c>.</param>
    /// <param name="after">The <see cref="DomainTableRows.Next"/> of the page before: rows whose key sorts after it.</param>
    /// <returns>Null when no active feed has that table.</returns>
    public async Task<DomainTableRows?> RowsAsync(string name, int limit, CancellationToken ct, string? after = null)
    {
        if (await FindAsync(name, ct) is not { } feed) return null;
        limit = Math.Clamp(limit, 1, MaxRows);
        // Keyset paging on the primary key: every page is an index range scan, however far in.
        await using var cmd = db.CreateCommand(
            $"SELECT to_jsonb(t)::text, t.\"_pk\" FROM {feed.Table.Qualified} t WHERE $2::text IS NULL OR t.\"_pk\" > $2 ORDER BY t.\"_pk\" LIMIT $1");
        cmd.Parameters.AddWithValue(limit + 1);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<JsonElement>();
        string? last = null, next = null;
        while (await reader.ReadAsync(ct))
        {
            if (rows.Count == limit)
            {
                next = last;
                break;
            }
            rows.Add(JsonDocument.Parse(reader.GetString(0)).RootElement);
            last = reader.GetString(1);
        }
        return new DomainTableRows(feed.Table.DisplayName, feed.Table.ToString(), rows, next);
    }

    /// <summary>The first rows of a view in a domain table's schema (the identity views of a Heap source).</summary>
    /// <returns>Null when the schema has no such view, or no active feed loads into that schema.</returns>
    public async Task<DomainTableRows?> ViewRowsAsync(string source, string view, int limit, CancellationToken ct)
    {
        if ((await ActiveAsync(ct)).All(f => f.Source != source)) return null;
        await using var connection = await db.OpenConnectionAsync(ct);
        await using (var check = new NpgsqlCommand("SELECT 1 FROM pg_views WHERE schemaname = $1 AND viewname = $2", connection))
        {
            check.Parameters.AddWithValue(source);
            check.Parameters.AddWithValue(view);
            if (await check.ExecuteScalarAsync(ct) is null) return null;
        }
        await using var transaction = await connection.BeginTransactionAsync(ct);
        // A view may aggregate a whole table (users_resolved does): bounded, so a page never holds the daemon.
        await using (var timeout = new NpgsqlCommand("SET LOCAL statement_timeout = '10s'", connection, transaction))
            await timeout.ExecuteNonQueryAsync(ct);
        await using var cmd = new NpgsqlCommand(
            $"SELECT to_jsonb(v)::text FROM {Identifiers.Quote(source)}.{Identifiers.Quote(view)} v LIMIT $1", connection, transaction);
        cmd.Parameters.AddWithValue(Math.Clamp(limit, 1, MaxRows));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<JsonElement>();
        while (await reader.ReadAsync(ct)) rows.Add(JsonDocument.Parse(reader.GetString(0)).RootElement);
        return new DomainTableRows($"{new DomainTableName(source, view).DisplayName}", $"{source}.{view}", rows);
    }

    private async Task<FeedDefinition?> FindAsync(string name, CancellationToken ct) =>
        (await ActiveAsync(ct)).FirstOrDefault(f => string.Equals(f.Table.DisplayName, name, StringComparison.OrdinalIgnoreCase) ||
                                                    string.Equals(f.Table.ToString(), name, StringComparison.OrdinalIgnoreCase));

    private async Task<IEnumerable<FeedDefinition>> ActiveAsync(CancellationToken ct) =>
        (await feeds.ListAsync(ct)).Where(f => f.Active).Select(f => f.Definition);
}
