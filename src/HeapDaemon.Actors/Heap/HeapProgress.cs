using Npgsql;

namespace HeapDaemon.Actors.Heap;

/// <summary>What a Heap courier has applied, from <c>heapd.heap_dumps</c>, <c>heap_tables</c> and <c>heap_files</c>.</summary>
/// <param name="Files">The part files applied, with the ETag of the content applied (null for files applied before it was kept).</param>
/// <param name="LastFull">Per table, the newest dump that replaced it.</param>
/// <param name="LastApplied">Per table, the newest dump applied to it, full or incremental.</param>
public sealed record HeapProgressState(
    IReadOnlySet<long> Dumps,
    IReadOnlySet<(long DumpId, string Table)> Tables,
    IReadOnlyDictionary<(string Table, string Key), string?> Files,
    IReadOnlyDictionary<string, long> LastFull,
    IReadOnlyDictionary<string, long> LastApplied);

/// <summary>
/// Records each applied file (and the ETag of its content), table of a dump and dump, so a run that stops resumes
/// after the last applied file (the load ledger also makes a file committed just before a crash skip rather than
/// load twice), and a part file delivered again with other content meanwhile is applied again.
/// </summary>
public sealed class HeapProgress(NpgsqlDataSource db)
{
    public async Task<HeapProgressState> LoadAsync(string courierId, CancellationToken ct)
    {
        var dumps = new HashSet<long>();
        var tables = new HashSet<(long, string)>();
        var files = new Dictionary<(string, string), string?>();
        var lastFull = new Dictionary<string, long>(StringComparer.Ordinal);
        var lastApplied = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var cmd = db.CreateCommand("SELECT dump_id FROM heapd.heap_dumps WHERE courier_id = $1"))
        {
            cmd.Parameters.AddWithValue(courierId);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) dumps.Add(reader.GetInt64(0));
        }
        await using (var cmd = db.CreateCommand("SELECT dump_id, table_name, replaced, status FROM heapd.heap_tables WHERE courier_id = $1"))
        {
            cmd.Parameters.AddWithValue(courierId);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var (dump, table) = (reader.GetInt64(0), reader.GetString(1));
                tables.Add((dump, table));
                if (reader.GetString(3) != "applied") continue;
                if (dump > lastApplied.GetValueOrDefault(table, -1)) lastApplied[table] = dump;
                if (reader.GetBoolean(2) && dump > lastFull.GetValueOrDefault(table, -1)) lastFull[table] = dump;
            }
        }
        await using (var cmd = db.CreateCommand("SELECT table_name, object_key, etag FROM heapd.heap_files WHERE courier_id = $1"))
        {
            cmd.Parameters.AddWithValue(courierId);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) files[(reader.GetString(0), reader.GetString(1))] = reader.IsDBNull(2) ? null : reader.GetString(2);
        }
        return new HeapProgressState(dumps, tables, files, lastFull, lastApplied);
    }

    /// <param name="etag">The ETag of the content applied.</param>
    public Task FileAppliedAsync(string courierId, string table, HeapFile file, Guid runId, string etag, CancellationToken ct) =>
        ExecuteAsync("""
            INSERT INTO heapd.heap_files (courier_id, table_name, dump_id, object_key, part, run_id, etag) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (courier_id, table_name, object_key) DO UPDATE SET run_id = EXCLUDED.run_id, etag = EXCLUDED.etag, applied_at = now()
            """, ct, courierId, table, file.DumpId, file.Key, file.Part, runId, etag);

    /// <param name="status"><c>applied</c>, or <c>superseded</c> when a newer full dump of the table made it moot.</param>
    public Task TableDoneAsync(string courierId, long dumpId, HeapTable table, string status, string message, CancellationToken ct) =>
        ExecuteAsync("""
            INSERT INTO heapd.heap_tables (courier_id, dump_id, table_name, replaced, status, message) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (courier_id, dump_id, table_name) DO UPDATE SET status = EXCLUDED.status, message = EXCLUDED.message, applied_at = now()
            """, ct, courierId, dumpId, table.Name, table.ReplacesTable, status, message);

    public Task DumpDoneAsync(string courierId, HeapManifest manifest, CancellationToken ct) =>
        ExecuteAsync("INSERT INTO heapd.heap_dumps (courier_id, dump_id, manifest_key) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            ct, courierId, manifest.DumpId, manifest.ManifestKey);

    private async Task ExecuteAsync(string sql, CancellationToken ct, params object[] values)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var value in values) cmd.Parameters.AddWithValue(value);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
