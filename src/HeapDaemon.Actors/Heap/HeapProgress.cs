using HeapDaemon.Actors.Runs;
using Npgsql;

namespace HeapDaemon.Actors.Heap;

/// <summary>What a Heap courier has applied, from <c>heapd.heap_dumps</c>, <c>heap_tables</c> and <c>heap_files</c>.</summary>
/// <param name="Files">The part files applied, with the ETag of the content applied (null for files applied before it was kept).</param>
/// <param name="LastFull">Per table, the newest dump that replaced it.</param>
/// <param name="LastApplied">Per table, the newest dump applied to it, full or incremental.</param>
/// <param name="Dumps">The dumps done with: applied, or skipped by request.</param>
/// <param name="Skipped">The dumps skipped by request: they change nothing, so they supersede nothing either.</param>
public sealed record HeapProgressState(
    IReadOnlySet<long> Dumps,
    IReadOnlySet<long> Skipped,
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
        var skipped = new HashSet<long>();
        var tables = new HashSet<(long, string)>();
        var files = new Dictionary<(string, string), string?>();
        var lastFull = new Dictionary<string, long>(StringComparer.Ordinal);
        var lastApplied = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var cmd = db.CreateCommand("SELECT dump_id, status FROM heapd.heap_dumps WHERE courier_id = $1 AND status IN ('applied', 'skipped')"))
        {
            cmd.Parameters.AddWithValue(courierId);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                dumps.Add(reader.GetInt64(0));
                if (reader.GetString(1) == "skipped") skipped.Add(reader.GetInt64(0));
            }
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
        return new HeapProgressState(dumps, skipped, tables, files, lastFull, lastApplied);
    }

    /// <param name="etag">The ETag of the content applied.</param>
    public async Task FileAppliedAsync(string courierId, string table, HeapFile file, Guid runId, string etag, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(FileAppliedCommand(courierId, table, file, runId, etag));
        await batch.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The statement of <see cref="FileAppliedAsync"/>, for the transaction that loads the file.</summary>
    public static NpgsqlBatchCommand FileAppliedCommand(string courierId, string table, HeapFile file, Guid runId, string etag) =>
        new("""
            INSERT INTO heapd.heap_files (courier_id, table_name, dump_id, object_key, part, run_id, etag) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (courier_id, table_name, object_key) DO UPDATE SET run_id = EXCLUDED.run_id, etag = EXCLUDED.etag, applied_at = now()
            """)
        {
            Parameters =
            {
                new() { Value = courierId }, new() { Value = table }, new() { Value = file.DumpId }, new() { Value = file.Key },
                new() { Value = file.Part }, new() { Value = runId }, new() { Value = etag },
            },
        };

    /// <param name="status"><c>applied</c>, or <c>superseded</c> when a newer full dump of the table made it moot.</param>
    /// <remarks>
    /// Committed without waiting for the disk: a record lost to a crash only makes the resumed run look at the table
    /// again, whose files are then applied already (or, for a replaced table, held already) and skipped. The dump's own
    /// record, written with a durable commit after its tables', makes theirs durable too.
    /// </remarks>
    public async Task TableDoneAsync(string courierId, long dumpId, HeapTable table, string status, string message, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        // A batch is one transaction; set_config's true keeps the setting to it.
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT set_config('synchronous_commit', 'off', true)"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            INSERT INTO heapd.heap_tables (courier_id, dump_id, table_name, replaced, status, message) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (courier_id, dump_id, table_name) DO UPDATE SET status = EXCLUDED.status, message = EXCLUDED.message, applied_at = now()
            """)
        {
            Parameters =
            {
                new() { Value = courierId }, new() { Value = dumpId }, new() { Value = table.Name }, new() { Value = table.ReplacesTable },
                new() { Value = status }, new() { Value = message },
            },
        });
        await batch.ExecuteNonQueryAsync(ct);
    }

    public Task DumpDoneAsync(string courierId, HeapManifest manifest, Guid runId, CancellationToken ct) =>
        ExecuteAsync("""
            INSERT INTO heapd.heap_dumps (courier_id, dump_id, manifest_key, status, run_id) VALUES ($1, $2, $3, 'applied', $4)
            ON CONFLICT (courier_id, dump_id) DO UPDATE SET status = 'applied', run_id = EXCLUDED.run_id, message = NULL, applied_at = now()
            """, ct, courierId, manifest.DumpId, manifest.ManifestKey, runId);

    /// <summary>The dump could not apply: it blocks later dumps until a run applies it or it is skipped by request.</summary>
    public Task DumpFailedAsync(string courierId, HeapManifest manifest, Guid runId, string message, CancellationToken ct) =>
        ExecuteAsync("""
            INSERT INTO heapd.heap_dumps (courier_id, dump_id, manifest_key, status, run_id, message) VALUES ($1, $2, $3, 'failed', $4, $5)
            ON CONFLICT (courier_id, dump_id) DO UPDATE SET status = 'failed', run_id = EXCLUDED.run_id, message = EXCLUDED.message, applied_at = now()
            WHERE heapd.heap_dumps.status = 'failed'
            """, ct, courierId, manifest.DumpId, manifest.ManifestKey, runId, message);

    /// <summary>
    /// The skip resolution for a dump that blocks: it is recorded as skipped, so later dumps apply at the next run, and
    /// the files of the failed run that it left failed or missing are marked skipped, saying so. What of it had applied
    /// stays applied. Refused while the courier has a run queued or running, which may be applying it.
    /// </summary>
    /// <returns>null when done; otherwise why not, and whether the run or the dump was not found.</returns>
    public async Task<(string? Refused, bool NotFound)> SkipDumpAsync(Guid runId, long dumpId, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        string courierId;
        await using (var select = new NpgsqlCommand("""
            SELECT r.courier_id, r.status,
                   (SELECT count(*) FROM heapd.runs o WHERE o.courier_id = r.courier_id AND o.status IN ('queued', 'running')),
                   d.status, d.run_id
            FROM heapd.runs r LEFT JOIN heapd.heap_dumps d ON d.courier_id = r.courier_id AND d.dump_id = $2
            WHERE r.id = $1
            FOR UPDATE OF r
            """, connection, transaction))
        {
            select.Parameters.AddWithValue(runId);
            select.Parameters.AddWithValue(dumpId);
            await using var reader = await select.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) return ($"no run '{runId}'", true);
            courierId = reader.GetString(0);
            var (runStatus, active, dumpStatus) = (reader.GetString(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3));
            if (runStatus is "queued" or "running") return ($"run {runId} is {runStatus}; skip a dump once the run has ended", false);
            if (active > 0) return ($"courier '{courierId}' has a run queued or running, which may be applying dump {dumpId}; skip it once that run has ended", false);
            switch (dumpStatus)
            {
                case null: return ($"dump {dumpId} of courier '{courierId}' has not failed: no run of it met that dump", true);
                case "applied": return ($"dump {dumpId} of courier '{courierId}' is applied; only a dump that failed can be skipped", false);
                case "skipped": return ($"dump {dumpId} of courier '{courierId}' is skipped already", false);
            }
        }
        var note = $"dump {dumpId} skipped by request at {DateTimeOffset.UtcNow:u}: later dumps go on at the next run";
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("""
                    UPDATE heapd.heap_dumps SET status = 'skipped', message = $3 || ' (it had failed: ' || coalesce(message, '') || ')', applied_at = now()
                    WHERE courier_id = $1 AND dump_id = $2
                    """) { Parameters = { new() { Value = courierId }, new() { Value = dumpId }, new() { Value = note } } },
                // A Heap run stops at the dump that fails, so every file it left failed or missing is that dump's.
                new NpgsqlBatchCommand("""
                    UPDATE heapd.run_files SET status = 'skipped', message = $2 || ': ' || coalesce(message, '')
                    WHERE run_id = $1 AND status IN ('failed', 'missing')
                    """) { Parameters = { new() { Value = runId }, new() { Value = $"skipped with dump {dumpId} by request" } } },
                new NpgsqlBatchCommand("UPDATE heapd.runs SET message = coalesce(message, '') || ' (' || $2 || ')' WHERE id = $1")
                    { Parameters = { new() { Value = runId }, new() { Value = note } } },
            },
        };
        await batch.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
        return (null, false);
    }

    /// <summary>What a Heap courier shows of its dumps: how many applied, the newest, and those failed or skipped.</summary>
    public async Task<HeapDumps> DumpsAsync(string courierId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            SELECT dump_id, manifest_key, status, run_id, message, applied_at FROM heapd.heap_dumps
            WHERE courier_id = $1 AND status <> 'applied' ORDER BY dump_id
            """);
        cmd.Parameters.AddWithValue(courierId);
        await using var applied = db.CreateCommand("SELECT count(*), max(dump_id) FROM heapd.heap_dumps WHERE courier_id = $1 AND status = 'applied'");
        applied.Parameters.AddWithValue(courierId);
        var (count, last) = (0L, (long?)null);
        await using (var reader = await applied.ExecuteReaderAsync(ct))
            if (await reader.ReadAsync(ct)) (count, last) = (reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt64(1));
        var failed = new List<HeapDumpRecord>();
        var skipped = new List<HeapDumpRecord>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
                (reader.GetString(2) == "skipped" ? skipped : failed).Add(new HeapDumpRecord(reader.GetInt64(0), reader.GetString(1),
                    reader.IsDBNull(3) ? null : reader.GetGuid(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetFieldValue<DateTimeOffset>(5)));
        return new HeapDumps((int)count, last, failed, skipped);
    }

    private async Task ExecuteAsync(string sql, CancellationToken ct, params object[] values)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var value in values) cmd.Parameters.AddWithValue(value);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
