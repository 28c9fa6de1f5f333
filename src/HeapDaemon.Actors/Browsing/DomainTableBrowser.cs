using System.Text.Json;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Loading;
using Npgsql;

namespace HeapDaemon.Actors.Browsing;

/// <param name="Name">As Amperity shows it: <c>Heap:Users</c>.</param>
/// <param name="Table">Where it is in PostgreSQL: <c>heap.users</c>.</param>
public sealed record DomainTableSummary(string Name, string Table, string FeedId, long RowCount, DateTimeOffset? LastLoadedAt);

/// <param name="Rows">Each row as a JSON object of its columns, system columns included.</param>
public sealed record DomainTableRows(string Name, string Table, IReadOnlyList<JsonElement> Rows);

/// <summary>What was loaded, to review: the domain tables of active feeds and a page of a table's rows.</summary>
public sealed class DomainTableBrowser(NpgsqlDataSource db, FeedCatalog feeds)
{
    public const int MaxRows = 1000;

    public async Task<IReadOnlyList<DomainTableSummary>> ListAsync(CancellationToken ct)
    {
        var tables = new List<DomainTableSummary>();
        foreach (var feed in await ActiveAsync(ct))
        {
            await using var cmd = db.CreateCommand(
                $"SELECT (SELECT count(*) FROM {feed.Table.Qualified}), (SELECT max(loaded_at) FROM heapd.load_ledger WHERE feed_id = $1)");
            cmd.Parameters.AddWithValue(feed.Id);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            tables.Add(new DomainTableSummary(feed.Table.DisplayName, feed.Table.ToString(), feed.Id, reader.GetInt64(0),
                reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1)));
        }
        return tables;
    }

    /// <param name="name"><c>Heap:Users</c> (any case) or <c>heap.users</c>.</param>
    /// <returns>Null when no active feed has that table.</returns>
    public async Task<DomainTableRows?> RowsAsync(string name, int limit, CancellationToken ct)
    {
        var feed = (await ActiveAsync(ct))
            .FirstOrDefault(f => string.Equals(f.Table.DisplayName, name, StringComparison.OrdinalIgnoreCase) ||
                                 string.Equals(f.Table.ToString(), name, StringComparison.OrdinalIgnoreCase));
        if (feed is null) return null;
        await using var cmd = db.CreateCommand($"SELECT to_jsonb(t)::text FROM {feed.Table.Qualified} t ORDER BY \"_pk\" LIMIT $1");
        cmd.Parameters.AddWithValue(Math.Clamp(limit, 1, MaxRows));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<JsonElement>();
        while (await reader.ReadAsync(ct)) rows.Add(JsonDocument.Parse(reader.GetString(0)).RootElement);
        return new DomainTableRows(feed.Table.DisplayName, feed.Table.ToString(), rows);
    }

    private async Task<IEnumerable<FeedDefinition>> ActiveAsync(CancellationToken ct) =>
        (await feeds.ListAsync(ct)).Where(f => f.Active).Select(f => f.Definition);
}
