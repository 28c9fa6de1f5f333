using System.Text.Json;
using HeapDaemon.Actors.Loading;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Feeds;

public sealed record FeedRecord(FeedDefinition Definition, bool Active, DateTimeOffset? ActivatedAt);

/// <summary>Feeds in <c>heapd.feeds</c>; activation creates or widens the domain table in the same transaction.</summary>
public sealed class FeedCatalog(NpgsqlDataSource db)
{
    /// <returns>null when added; otherwise why not (id or source:name taken).</returns>
    public async Task<string?> AddAsync(FeedDefinition feed, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            INSERT INTO heapd.feeds (id, source, name, definition) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING
            """);
        cmd.Parameters.AddWithValue(feed.Id);
        cmd.Parameters.AddWithValue(feed.Source);
        cmd.Parameters.AddWithValue(feed.Name);
        cmd.Parameters.AddWithValue(NpgsqlDbType.Jsonb, JsonSerializer.Serialize(feed, HeapJson.Options));
        return await cmd.ExecuteNonQueryAsync(ct) == 1
            ? null
            : $"a feed with id '{feed.Id}' or domain table {feed.Table.DisplayName} exists already";
    }

    public async Task<FeedRecord?> GetAsync(string id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT definition, active, activated_at FROM heapd.feeds WHERE id = $1");
        cmd.Parameters.AddWithValue(id);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<FeedRecord>> ListAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT definition, active, activated_at FROM heapd.feeds ORDER BY source, name");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var feeds = new List<FeedRecord>();
        while (await reader.ReadAsync(ct)) feeds.Add(Read(reader));
        return feeds;
    }

    /// <summary>
    /// Replaces a feed's definition. An active feed is migrated at once (new fields become columns); its key
    /// cannot change, because rows already loaded are keyed on it.
    /// </summary>
    /// <returns>null when saved; otherwise why not.</returns>
    public async Task<string?> UpdateAsync(FeedDefinition feed, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var select = new NpgsqlCommand("SELECT definition, active, activated_at FROM heapd.feeds WHERE id = $1 FOR UPDATE", connection, transaction))
        {
            select.Parameters.AddWithValue(feed.Id);
            await using var reader = await select.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) return $"no feed '{feed.Id}'";
            var current = Read(reader);
            await reader.CloseAsync();
            if (current.Active)
            {
                if (current.Definition.Table != feed.Table)
                    return $"feed '{feed.Id}' is active: its source and name (domain table {current.Definition.Table.DisplayName}) cannot change";
                var oldKey = current.Definition.KeyFields.Select(f => f.ColumnName);
                var newKey = feed.KeyFields.Select(f => f.ColumnName);
                if (!oldKey.SequenceEqual(newKey))
                    return $"feed '{feed.Id}' is active: its primary key ({string.Join(", ", oldKey)}) cannot change";
                await DomainTableSchema.EnsureAsync(connection, transaction, feed, ct);
            }
        }
        await using (var update = new NpgsqlCommand(
            "UPDATE heapd.feeds SET definition = $2, source = $3, name = $4, updated_at = now() WHERE id = $1", connection, transaction))
        {
            update.Parameters.AddWithValue(feed.Id);
            update.Parameters.AddWithValue(NpgsqlDbType.Jsonb, JsonSerializer.Serialize(feed, HeapJson.Options));
            update.Parameters.AddWithValue(feed.Source);
            update.Parameters.AddWithValue(feed.Name);
            await update.ExecuteNonQueryAsync(ct);
        }
        await transaction.CommitAsync(ct);
        return null;
    }

    /// <summary>Creates the domain table (or adds the feed's new columns to it) and marks the feed active.</summary>
    /// <exception cref="InvalidOperationException">the existing table has a column of another type.</exception>
    public async Task<FeedRecord?> ActivateAsync(string id, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        FeedDefinition feed;
        await using (var select = new NpgsqlCommand("SELECT definition, active, activated_at FROM heapd.feeds WHERE id = $1 FOR UPDATE", connection, transaction))
        {
            select.Parameters.AddWithValue(id);
            await using var reader = await select.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) return null;
            feed = Read(reader).Definition;
        }
        await DomainTableSchema.EnsureAsync(connection, transaction, feed, ct);
        DateTimeOffset activatedAt;
        await using (var update = new NpgsqlCommand(
            "UPDATE heapd.feeds SET active = true, activated_at = now() WHERE id = $1 RETURNING activated_at", connection, transaction))
        {
            update.Parameters.AddWithValue(id);
            activatedAt = new DateTimeOffset((DateTime)(await update.ExecuteScalarAsync(ct))!);
        }
        await transaction.CommitAsync(ct);
        return new FeedRecord(feed, true, activatedAt);
    }

    private static FeedRecord Read(NpgsqlDataReader reader) => new(
        JsonSerializer.Deserialize<FeedDefinition>(reader.GetString(0), HeapJson.Options)!,
        reader.GetBoolean(1),
        reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2));
}
