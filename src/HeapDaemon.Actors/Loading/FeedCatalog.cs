using System.Text.Json;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Json;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Loading;

public sealed record FeedRecord(FeedDefinition Definition, bool Active, DateTimeOffset? ActivatedAt);

/// <summary>A feed deleted: whether its domain table went with it, and how many ledger rows did.</summary>
public sealed record FeedRemoved(FeedDefinition Feed, bool TableDropped, long LedgerRowsDeleted);

/// <summary>The feed's domain table has objects that depend on it (views), so it was not dropped; nothing changed.</summary>
public sealed class FeedTableInUseException(string message) : Exception(message);

/// <summary>Feeds in <c>heapd.feeds</c>; activation creates or widens the domain table in the same transaction.</summary>
public sealed class FeedCatalog(NpgsqlDataSource db)
{
    /// <summary>
    /// The start of the comment on a view the daemon derives from a domain table (Stitch's <c>&lt;table&gt;_customers</c>):
    /// such a view is dropped with its table, where a view of the user's refuses the drop.
    /// </summary>
    public const string DerivedViewMark = "Made by HeapDaemon";

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
    /// Replaces a feed's definition. An active feed is migrated at once: new fields become columns; a removed
    /// field keeps its column (the data stays, it is just no longer loaded). A key field cannot be removed, and the
    /// key can change only with <paramref name="purge"/>: rows loaded so far are keyed on the old key, so they are
    /// deleted along with the feed's ledger rows, and the next run loads every file again.
    /// </summary>
    /// <returns>null when saved; otherwise why not.</returns>
    public async Task<string?> UpdateAsync(FeedDefinition feed, bool purge, CancellationToken ct)
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
            // The API validated the whole feed; Heap's feeds grow here dump by dump.
            if (PostgresLimits.Problems(feed).FirstOrDefault() is { } tooLarge) return $"feed '{feed.Id}': {tooLarge}";
            var migration = FeedMigration.Plan(current, feed, purge);
            if (migration.Refusals.Count > 0) return string.Join("; ", migration.Refusals);
            if (current.Active)
            {
                await DomainTableSchema.EnsureAsync(connection, transaction, feed, ct);
                if (migration.Purges) await PurgeAsync(connection, transaction, feed, ct);
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

    /// <summary>
    /// Schema drift with <see cref="NewColumnPolicy.Add"/>: a file's new columns become nullable String fields of
    /// the feed and columns of its domain table, committed before the file loads so later files see them too.
    /// </summary>
    /// <exception cref="SchemaMismatchException">a new column's name cannot be a column name, or the table could not hold them.</exception>
    public async Task<FeedDefinition> AddFieldsAsync(string id, IReadOnlyList<string> names, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var feed = await AddFieldsAsync(connection, transaction, id, names, ct);
        await transaction.CommitAsync(ct);
        return feed;
    }

    /// <summary>The same, inside a load's own transaction (see <see cref="DomainTableLoad.WidenAsync"/>).</summary>
    public static async Task<FeedDefinition> AddFieldsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string id,
        IReadOnlyList<string> names, CancellationToken ct)
    {
        var invalid = names.Where(n => !Identifiers.IsColumnName(n)).ToList();
        if (invalid.Count > 0)
            throw new SchemaMismatchException($"new column(s) {string.Join(", ", invalid.Select(n => $"'{n}'"))} cannot be added to feed '{id}': " +
                                              "a column name is letters, digits and underscores, not starting with '_' or a digit, at most 63 characters");
        FeedDefinition feed;
        await using (var select = new NpgsqlCommand("SELECT definition, active, activated_at FROM heapd.feeds WHERE id = $1 FOR UPDATE", connection, transaction))
        {
            select.Parameters.AddWithValue(id);
            await using var reader = await select.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) throw new InvalidOperationException($"feed '{id}' no longer exists");
            feed = Read(reader).Definition;
        }
        // Another file may have added some of them meanwhile: the lock makes this check and the change one step.
        var added = names.Where(n => feed.Fields.All(f => !f.Name.Equals(n, StringComparison.OrdinalIgnoreCase)))
            .Select(n => new FeedField(n, FieldType.String, Tags: [])).ToList();
        if (added.Count == 0) return feed;
        feed = feed with { Fields = feed.Fields.AddRange(added) };
        if (PostgresLimits.Problems(feed).FirstOrDefault() is { } tooLarge)
        {
            var named = string.Join(", ", added.Take(10).Select(f => $"'{f.Name}'")) + (added.Count > 10 ? $" and {added.Count - 10} more" : "");
            throw new SchemaMismatchException($"new column(s) {named} cannot be added to feed '{id}': {tooLarge}");
        }
        await DomainTableSchema.EnsureAsync(connection, transaction, feed, ct);
        await using (var update = new NpgsqlCommand("UPDATE heapd.feeds SET definition = $2, updated_at = now() WHERE id = $1", connection, transaction))
        {
            update.Parameters.AddWithValue(id);
            update.Parameters.AddWithValue(NpgsqlDbType.Jsonb, JsonSerializer.Serialize(feed, HeapJson.Options));
            await update.ExecuteNonQueryAsync(ct);
        }
        return feed;
    }

    /// <summary>Creates the domain table (or adds the feed's new columns to it) and marks the feed active.</summary>
    /// <exception cref="InvalidOperationException">the existing table has a column of another type.</exception>
    public async Task<FeedRecord?> ActivateAsync(string id, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (await LockAsync(connection, transaction, id, ct) is not { } feed) return null;
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

    /// <summary>
    /// Removes a feed and its ledger rows (which object versions it loaded), in one transaction; its domain table is
    /// kept unless <paramref name="dropTable"/>. Run history (runs, their files, rejects) is the couriers' record of what
    /// happened and stays. Callers check first that no courier uses the feed (the courier registry does).
    /// </summary>
    /// <returns>null when there is no such feed.</returns>
    /// <exception cref="FeedTableInUseException">views read the table, so it cannot be dropped.</exception>
    public async Task<FeedRemoved?> DeleteAsync(string id, bool dropTable, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (await LockAsync(connection, transaction, id, ct) is not { } feed) return null;
        long ledgerRows;
        await using (var ledger = new NpgsqlCommand("DELETE FROM heapd.load_ledger WHERE feed_id = $1", connection, transaction))
        {
            ledger.Parameters.AddWithValue(id);
            ledgerRows = await ledger.ExecuteNonQueryAsync(ct);
        }
        var dropped = false;
        if (dropTable)
        {
            // A view of the user's on the table is theirs to drop, not the daemon's to drop silently (RESTRICT); a view the
            // daemon derived from it goes with it (what made it makes it again without the table).
            var dependents = await DependentViewsAsync(connection, transaction, feed.Table, ct);
            var users = dependents.Where(v => !v.Derived).Select(v => v.Name).ToList();
            if (users.Count > 0)
                throw new FeedTableInUseException(
                    $"table {feed.Table} cannot be dropped: view(s) {string.Join(", ", users)} read it; drop them first, or delete the feed without dropTable");
            foreach (var (view, _) in dependents)
            {
                await using var dropView = new NpgsqlCommand($"DROP VIEW IF EXISTS {view} RESTRICT", connection, transaction);
                await dropView.ExecuteNonQueryAsync(ct);
            }
            await using var drop = new NpgsqlCommand($"DROP TABLE IF EXISTS {feed.Table.Qualified} RESTRICT", connection, transaction);
            try
            {
                await drop.ExecuteNonQueryAsync(ct);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DependentObjectsStillExist)
            {
                // Other than a view: a foreign key of another table, say.
                throw new FeedTableInUseException($"table {feed.Table} cannot be dropped: {e.MessageText}; drop what depends on it first, or delete the feed without dropTable");
            }
            dropped = true;
        }
        await using (var delete = new NpgsqlCommand("DELETE FROM heapd.feeds WHERE id = $1", connection, transaction))
        {
            delete.Parameters.AddWithValue(id);
            await delete.ExecuteNonQueryAsync(ct);
        }
        await transaction.CommitAsync(ct);
        return new FeedRemoved(feed, dropped, ledgerRows);
    }

    /// <summary>The feed's definition, its row locked until the transaction ends; null when there is no such feed.</summary>
    private static async Task<FeedDefinition?> LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string id, CancellationToken ct)
    {
        await using var select = new NpgsqlCommand("SELECT definition, active, activated_at FROM heapd.feeds WHERE id = $1 FOR UPDATE", connection, transaction);
        select.Parameters.AddWithValue(id);
        await using var reader = await select.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader).Definition : null;
    }

    /// <summary>Views that read the table (their names quoted), and whether the daemon derived each (<see cref="DerivedViewMark"/>).</summary>
    private static async Task<List<(string Name, bool Derived)>> DependentViewsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        DomainTableName table, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT DISTINCT format('%I.%I', vn.nspname, v.relname), coalesce(starts_with(obj_description(v.oid, 'pg_class'), $3), false)
            FROM pg_depend d
            JOIN pg_rewrite r ON r.oid = d.objid
            JOIN pg_class v ON v.oid = r.ev_class
            JOIN pg_namespace vn ON vn.oid = v.relnamespace
            WHERE d.refobjid = to_regclass(format('%I.%I', $1::text, $2::text)) AND v.oid <> d.refobjid
            ORDER BY 1
            """, connection, transaction);
        cmd.Parameters.AddWithValue(table.Schema);
        cmd.Parameters.AddWithValue(table.Table);
        cmd.Parameters.AddWithValue(DerivedViewMark);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var views = new List<(string, bool)>();
        while (await reader.ReadAsync(ct)) views.Add((reader.GetString(0), reader.GetBoolean(1)));
        return views;
    }

    private static async Task PurgeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, FeedDefinition feed, CancellationToken ct)
    {
        // DELETE, not TRUNCATE: readers keep seeing the old rows until this commits (TRUNCATE is not MVCC-safe).
        await using (var rows = new NpgsqlCommand($"DELETE FROM {feed.Table.Qualified}", connection, transaction))
            await rows.ExecuteNonQueryAsync(ct);
        await using var ledger = new NpgsqlCommand("DELETE FROM heapd.load_ledger WHERE feed_id = $1", connection, transaction);
        ledger.Parameters.AddWithValue(feed.Id);
        await ledger.ExecuteNonQueryAsync(ct);
    }

    private static FeedRecord Read(NpgsqlDataReader reader) => new(
        JsonSerializer.Deserialize<FeedDefinition>(reader.GetString(0), HeapJson.Options)!,
        reader.GetBoolean(1),
        reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2));
}
