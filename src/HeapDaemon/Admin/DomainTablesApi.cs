using System.Text.Json;
using HeapDaemon.Actors.Loading;
using Npgsql;
using static HeapDaemon.Admin.AdminApi;

namespace HeapDaemon.Admin;

public sealed record DomainTableView(string Name, string Table, string FeedId, long RowCount, DateTimeOffset? LastLoadedAt);

public static class DomainTablesApi
{
    public static void MapDomainTablesApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/domain-tables").WithTags("Domain tables");

        group.MapGet("/", async (FeedCatalog feeds, NpgsqlDataSource db, CancellationToken ct) =>
        {
            var views = new List<DomainTableView>();
            foreach (var feed in (await feeds.ListAsync(ct)).Where(f => f.Active).Select(f => f.Definition))
            {
                await using var cmd = db.CreateCommand(
                    $"SELECT (SELECT count(*) FROM {feed.Table.Qualified}), (SELECT max(loaded_at) FROM heapd.load_ledger WHERE feed_id = $1)");
                cmd.Parameters.AddWithValue(feed.Id);
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                views.Add(new DomainTableView(feed.Table.DisplayName, feed.Table.ToString(), feed.Id, reader.GetInt64(0),
                    reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1)));
            }
            return TypedResults.Ok(views);
        }).WithSummary("The domain tables of active feeds, with row counts and last load");

        group.MapGet("/{name}/rows", async (string name, int? limit, FeedCatalog feeds, NpgsqlDataSource db, CancellationToken ct) =>
        {
            var feed = (await feeds.ListAsync(ct)).Where(f => f.Active).Select(f => f.Definition)
                .FirstOrDefault(f => string.Equals(f.Table.DisplayName, name, StringComparison.OrdinalIgnoreCase) ||
                                     string.Equals(f.Table.ToString(), name, StringComparison.OrdinalIgnoreCase));
            if (feed is null) return NotFound($"no active domain table '{name}' (use a name like Heap:Users or heap.users)");
            await using var cmd = db.CreateCommand($"SELECT to_jsonb(t)::text FROM {feed.Table.Qualified} t ORDER BY \"_pk\" LIMIT $1");
            cmd.Parameters.AddWithValue(Math.Clamp(limit ?? 100, 1, 1000));
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            var rows = new List<JsonElement>();
            while (await reader.ReadAsync(ct)) rows.Add(JsonDocument.Parse(reader.GetString(0)).RootElement);
            return TypedResults.Ok(new { name = feed.Table.DisplayName, table = feed.Table.ToString(), rows });
        }).WithSummary("A page of a domain table's rows, ordered by _pk");
    }
}
