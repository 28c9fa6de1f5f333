using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Loading;
using Npgsql;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// Repairs, at start and before the actors recover, the one journal stream two actors could share: before
/// <see cref="PersistenceIds"/>, a courier with id <c>registry</c> wrote into <c>courier-registry</c>, the courier
/// registry's own stream, and each then replayed the other's events (the registry even took the courier's snapshot for
/// its state). The courier's events and snapshots, told apart by their type, move to its own stream, numbered from 1 in
/// their order; the registry's stay, numbered again without the gaps. A journal where that never happened is not
/// touched.
/// </summary>
public static class CourierJournal
{
    private static readonly string Journal = $"{MetadataSchema.JournalSchema}.journal";
    private static readonly string Snapshots = $"{MetadataSchema.JournalSchema}.snapshot";

    /// <summary>The manifests of what a courier journals (<see cref="JournalSerializer"/> writes a type's name).</summary>
    private static readonly string[] CourierEvents = typeof(ICourierEvent).Assembly.GetTypes()
        .Where(t => typeof(ICourierEvent).IsAssignableFrom(t) && !t.IsInterface && !t.IsAbstract).Select(t => t.Name).ToArray();

    private static readonly string[] CourierSnapshots = [nameof(CourierState)];

    /// <returns>How many of the courier's events and snapshots moved out of the registry's stream: 0 when nothing was wrong.</returns>
    /// <exception cref="InvalidOperationException">the courier's own stream exists already, which the daemon cannot have written.</exception>
    public static async Task<int> SplitRegistryStreamAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        var courier = PersistenceIds.Courier("registry");
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('heapd.journal-repair'))");
        // A first start: the journal's tables are made when the actor system starts, after this.
        if (!await ScalarAsync<bool>($"SELECT to_regclass('{Journal}') IS NOT NULL AND to_regclass('{Snapshots}') IS NOT NULL"))
            return 0;
        var collided = await ScalarAsync<long>($"""
            SELECT (SELECT count(*) FROM {Journal} WHERE persistence_id = $1 AND manifest = ANY($2))
                 + (SELECT count(*) FROM {Snapshots} WHERE persistence_id = $1 AND manifest = ANY($3))
            """, PersistenceIds.CourierRegistry, CourierEvents, CourierSnapshots);
        if (collided == 0) return 0;
        if (await ScalarAsync<bool>($"SELECT EXISTS (SELECT 1 FROM {Journal} WHERE persistence_id = $1) OR EXISTS (SELECT 1 FROM {Snapshots} WHERE persistence_id = $1)",
                courier))
            throw new InvalidOperationException($"the journal has events of courier 'registry' both in '{PersistenceIds.CourierRegistry}' and in '{courier}'; " +
                                                "it cannot be repaired automatically");

        // Snapshots first, while the events still have the numbers the snapshots were taken at: a snapshot's number
        // becomes the count of its own actor's events up to it. Then the courier's events move, and the registry's
        // are numbered again, through negative numbers, since (persistence_id, sequence_number) is unique at every row.
        await ExecuteAsync($"""
            UPDATE {Snapshots} s SET persistence_id = CASE WHEN s.manifest = ANY($3) THEN $4 ELSE s.persistence_id END,
                sequence_number = (SELECT count(*) FROM {Journal} j WHERE j.persistence_id = $1 AND j.sequence_number <= s.sequence_number
                                   AND (j.manifest = ANY($2)) = (s.manifest = ANY($3)))
            WHERE s.persistence_id = $1
            """, PersistenceIds.CourierRegistry, CourierEvents, CourierSnapshots, courier);
        await ExecuteAsync($"""
            UPDATE {Journal} j SET persistence_id = $3, sequence_number = m.n
            FROM (SELECT ordering, row_number() OVER (ORDER BY sequence_number) AS n FROM {Journal} WHERE persistence_id = $1 AND manifest = ANY($2)) m
            WHERE j.ordering = m.ordering
            """, PersistenceIds.CourierRegistry, CourierEvents, courier);
        await ExecuteAsync($"UPDATE {Journal} SET sequence_number = -sequence_number WHERE persistence_id = $1", PersistenceIds.CourierRegistry);
        await ExecuteAsync($"""
            UPDATE {Journal} j SET sequence_number = m.n
            FROM (SELECT ordering, row_number() OVER (ORDER BY sequence_number DESC) AS n FROM {Journal} WHERE persistence_id = $1) m
            WHERE j.ordering = m.ordering
            """, PersistenceIds.CourierRegistry);
        await transaction.CommitAsync(ct);
        return (int)collided;

        async Task<T> ScalarAsync<T>(string sql, params object[] values)
        {
            await using var cmd = new NpgsqlCommand(sql, connection, transaction);
            foreach (var value in values) cmd.Parameters.AddWithValue(value);
            return (T)(await cmd.ExecuteScalarAsync(ct))!;
        }

        async Task ExecuteAsync(string sql, params object[] values)
        {
            await using var cmd = new NpgsqlCommand(sql, connection, transaction);
            foreach (var value in values) cmd.Parameters.AddWithValue(value);
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }
}
