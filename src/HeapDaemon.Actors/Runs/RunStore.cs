using System.Text.Json;
using HeapDaemon.Actors.Json;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Runs;

/// <summary>
/// Runs and their files in <c>heapd.runs</c> and <c>heapd.run_files</c>. Kept in PostgreSQL, not the journal: run
/// history grows without bound and users query it; the courier's journal keeps only a short summary.
/// </summary>
public sealed class RunStore(NpgsqlDataSource db)
{
    /// <param name="retryOf">The run this one retries (trigger <see cref="RunTrigger.Retry"/>); null otherwise.</param>
    public async Task CreateAsync(Guid runId, string courierId, RunWindow window, RunRequest request, RunTrigger trigger, Guid? retryOf,
        CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            INSERT INTO heapd.runs (id, courier_id, status, run_date, run_date_to, force_reload, request, trigger, retry_of)
            VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8)
            """);
        cmd.Parameters.AddWithValue(runId);
        cmd.Parameters.AddWithValue(courierId);
        cmd.Parameters.AddWithValue(window.From);
        cmd.Parameters.AddWithValue(window.To);
        cmd.Parameters.AddWithValue(request.ForceReload);
        cmd.Parameters.AddWithValue(NpgsqlDbType.Jsonb, JsonSerializer.Serialize(request, HeapJson.Options));
        cmd.Parameters.AddWithValue(ToText(trigger));
        cmd.Parameters.AddWithValue(NpgsqlDbType.Uuid, (object?)retryOf ?? DBNull.Value);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <returns>true when the run had started before: this attempt resumes it (after a restart, or a failure that may pass).</returns>
    public async Task<bool> MarkRunningAsync(Guid runId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            UPDATE heapd.runs r SET status = 'running', started_at = coalesce(r.started_at, now()), finished_at = NULL
            FROM (SELECT started_at FROM heapd.runs WHERE id = $1) before
            WHERE r.id = $1
            RETURNING before.started_at IS NOT NULL
            """);
        cmd.Parameters.AddWithValue(runId);
        return await cmd.ExecuteScalarAsync(ct) is true;
    }

    /// <summary>
    /// The files that earlier attempts of a run committed (its ledger rows), with what those attempts recorded of them,
    /// keyed by bucket, key, feed and ETag. Read when an attempt starts, before it records anything itself.
    /// </summary>
    public async Task<IReadOnlyDictionary<(string Bucket, string Key, string FeedId, string ETag), EarlierLoad>> EarlierLoadsAsync(Guid runId,
        CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            SELECT DISTINCT ON (l.bucket, l.object_key, l.feed_id, l.etag)
                   l.bucket, l.object_key, l.feed_id, l.etag, l.rows_loaded, l.rows_rejected, l.loaded_at,
                   f.bytes_read, f.rows_read, f.rows_inserted, f.rows_updated, f.message
            FROM heapd.load_ledger l
            LEFT JOIN heapd.run_files f ON f.run_id = l.run_id AND f.bucket = l.bucket AND f.object_key = l.object_key
                 AND f.feed_id = l.feed_id AND f.etag = l.etag AND f.status = 'loaded'
            WHERE l.run_id = $1 AND NOT l.skipped
            ORDER BY l.bucket, l.object_key, l.feed_id, l.etag, f.finished_at DESC NULLS LAST
            """);
        cmd.Parameters.AddWithValue(runId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var loads = new Dictionary<(string, string, string, string), EarlierLoad>();
        while (await reader.ReadAsync(ct))
        {
            var (loaded, rejected) = (reader.GetInt64(4), reader.GetInt64(5));
            // No row of its own when the attempt stopped between the commit and recording the file: the ledger's counts.
            var recorded = reader.IsDBNull(8)
                ? new FileOutcome(FileStatus.Loaded, reader.GetString(3), RowsRead: loaded + rejected, RowsRejected: rejected)
                : new FileOutcome(FileStatus.Loaded, reader.GetString(3), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9),
                    reader.GetInt64(10), rejected, reader.IsDBNull(11) ? null : reader.GetString(11));
            loads[(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3))] =
                new EarlierLoad(recorded, loaded, reader.GetFieldValue<DateTimeOffset>(6));
        }
        return loads;
    }

    /// <summary>
    /// A courier's recent ended runs, newest first, and the run date of its latest successful run: what the courier
    /// shows, read from here (the truth about runs) so it always matches the runs themselves.
    /// </summary>
    public async Task<(DateOnly? LastRunDate, IReadOnlyList<RunSummary> Recent)> HistoryAsync(string courierId, int limit, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            SELECT id, run_date, status, finished_at, message FROM heapd.runs
            WHERE courier_id = $1 AND finished_at IS NOT NULL AND status IN ('succeeded', 'failed', 'cancelled')
            ORDER BY finished_at DESC, id LIMIT $2
            """) { Parameters = { new NpgsqlParameter { Value = courierId }, new NpgsqlParameter { Value = limit } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            SELECT max(run_date) FROM heapd.runs WHERE courier_id = $1 AND status = 'succeeded'
            """) { Parameters = { new NpgsqlParameter { Value = courierId } } });
        await using var reader = await batch.ExecuteReaderAsync(ct);
        var recent = new List<RunSummary>();
        while (await reader.ReadAsync(ct))
            recent.Add(new RunSummary(reader.GetGuid(0), reader.GetFieldValue<DateOnly>(1), Enum.Parse<RunStatus>(reader.GetString(2), true),
                reader.GetFieldValue<DateTimeOffset>(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.IsDBNull(0) ? null : reader.GetFieldValue<DateOnly>(0), recent);
    }

    public async Task RecordFileAsync(Guid runId, int ordinal, string bucket, string key, string feedId, FileOutcome outcome, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(FileCommand(runId, ordinal, bucket, key, feedId, outcome));
        await batch.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Files about to load, as running, in one round trip and without waiting for the commit to reach the disk: a
    /// running row only says a file is in flight, which a crash ends anyway (a resumed attempt drops such rows), and
    /// the commit of the file's rows, which waits, flushes it too, since PostgreSQL writes its log in order.
    /// </summary>
    public async Task RecordRunningAsync(Guid runId, IEnumerable<(int Ordinal, string Bucket, string Key, string FeedId)> files, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        // A batch is one transaction; set_config's true keeps the setting to it.
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT set_config('synchronous_commit', 'off', true)"));
        foreach (var (ordinal, bucket, key, feedId) in files)
            batch.BatchCommands.Add(FileCommand(runId, ordinal, bucket, key, feedId, new FileOutcome(FileStatus.Running)));
        if (batch.BatchCommands.Count > 1) await batch.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The statement that records a file's outcome, for a transaction of the caller's (a load commits its files' outcomes with their rows).</summary>
    public static NpgsqlBatchCommand FileCommand(Guid runId, int ordinal, string bucket, string key, string feedId, FileOutcome outcome) =>
        new("""
            INSERT INTO heapd.run_files (run_id, ordinal, bucket, object_key, feed_id, status, etag, bytes_read, rows_read,
                rows_inserted, rows_updated, rows_rejected, message, started_at, finished_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now(), CASE WHEN $6 = 'running' THEN NULL ELSE now() END)
            ON CONFLICT (run_id, ordinal) DO UPDATE SET bucket = EXCLUDED.bucket, object_key = EXCLUDED.object_key,
                feed_id = EXCLUDED.feed_id, status = EXCLUDED.status, etag = EXCLUDED.etag,
                bytes_read = EXCLUDED.bytes_read, rows_read = EXCLUDED.rows_read, rows_inserted = EXCLUDED.rows_inserted,
                rows_updated = EXCLUDED.rows_updated, rows_rejected = EXCLUDED.rows_rejected, message = EXCLUDED.message,
                finished_at = EXCLUDED.finished_at
            """)
        {
            Parameters =
            {
                new() { Value = runId }, new() { Value = ordinal }, new() { Value = bucket }, new() { Value = key }, new() { Value = feedId },
                new() { Value = ToText(outcome.Status) }, new() { Value = (object?)outcome.ETag ?? DBNull.Value }, new() { Value = outcome.BytesRead },
                new() { Value = outcome.RowsRead }, new() { Value = outcome.RowsInserted }, new() { Value = outcome.RowsUpdated },
                new() { Value = outcome.RowsRejected }, new() { Value = (object?)outcome.Message ?? DBNull.Value },
            },
        };

    /// <summary>
    /// Before an attempt that resumes a Heap run, which goes on after the files earlier attempts applied rather than
    /// doing them again: the files they loaded or skipped stay the run's; those they left running, failed or found
    /// missing go, since this attempt does them again.
    /// </summary>
    /// <returns>The ordinal this attempt's files start at, and the files kept, by key.</returns>
    public async Task<(int NextOrdinal, Dictionary<string, FileStatus> Kept)> KeepEarlierFilesAsync(Guid runId, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM heapd.run_files WHERE run_id = $1 AND status IN ('running', 'failed', 'missing')")
            { Parameters = { new NpgsqlParameter { Value = runId } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT object_key, status, ordinal FROM heapd.run_files WHERE run_id = $1")
            { Parameters = { new NpgsqlParameter { Value = runId } } });
        await using var reader = await batch.ExecuteReaderAsync(ct);
        var (next, kept) = (0, new Dictionary<string, FileStatus>(StringComparer.Ordinal));
        while (await reader.ReadAsync(ct))
        {
            kept[reader.GetString(0)] = Enum.Parse<FileStatus>(reader.GetString(1), true);
            next = Math.Max(next, reader.GetInt32(2) + 1);
        }
        return (next, kept);
    }

    /// <summary>Removes the rows of a run's file other than the one at <paramref name="ordinal"/>.</summary>
    public async Task DropFileAsync(Guid runId, string key, int ordinal, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("DELETE FROM heapd.run_files WHERE run_id = $1 AND object_key = $2 AND ordinal <> $3");
        cmd.Parameters.AddWithValue(runId);
        cmd.Parameters.AddWithValue(key);
        cmd.Parameters.AddWithValue(ordinal);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Back in the queue after a transient failure; the message says why and when it runs again.</summary>
    public async Task MarkRetryingAsync(Guid runId, string message, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("UPDATE heapd.runs SET status = 'queued', message = $2 WHERE id = $1");
        cmd.Parameters.AddWithValue(runId);
        cmd.Parameters.AddWithValue(message);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Ends a run; a file it left running (the run failed under it) ends failed with the run's message.</summary>
    public async Task FinishAsync(Guid runId, RunStatus status, string? message, CancellationToken ct)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE heapd.runs SET status = $2, finished_at = now(), message = $3 WHERE id = $1"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            UPDATE heapd.run_files SET status = 'failed', finished_at = now(), message = coalesce(message, $2)
            WHERE run_id = $1 AND status = 'running'
            """));
        foreach (var parameter in new object[] { runId, ToText(status), (object?)message ?? DBNull.Value })
            batch.BatchCommands[0].Parameters.Add(new NpgsqlParameter { Value = parameter });
        batch.BatchCommands[1].Parameters.Add(new NpgsqlParameter { Value = runId });
        batch.BatchCommands[1].Parameters.Add(new NpgsqlParameter { Value = (object?)message ?? DBNull.Value });
        await batch.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Amperity's "skip a task": a failed file of an ended run is marked skipped, and its object version (when
    /// known) is written to the ledger as skipped, so later runs pass over it; the run succeeds once no file of it
    /// is failed.
    /// </summary>
    /// <returns>null when done; otherwise why not.</returns>
    public async Task<string?> SkipFileAsync(Guid runId, int ordinal, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var select = new NpgsqlCommand("""
            SELECT r.status, f.status, f.bucket, f.object_key, f.etag, f.feed_id, f.rows_rejected
            FROM heapd.runs r JOIN heapd.run_files f ON f.run_id = r.id
            WHERE r.id = $1 AND f.ordinal = $2 FOR UPDATE
            """, connection, transaction))
        {
            select.Parameters.AddWithValue(runId);
            select.Parameters.AddWithValue(ordinal);
            await using var reader = await select.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) return $"run {runId} has no file {ordinal}";
            if (reader.GetString(0) is "queued" or "running") return $"run {runId} is {reader.GetString(0)}; skip a file once the run has ended";
            if (reader.GetString(1) != "failed") return $"file {ordinal} of run {runId} is {reader.GetString(1)}, not failed";
            var (bucket, key, etag, feed, rejected) = (reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetString(5), reader.GetInt64(6));
            await reader.CloseAsync();
            if (etag is not null)
            {
                await using var ledger = new NpgsqlCommand("""
                    INSERT INTO heapd.load_ledger (bucket, object_key, etag, feed_id, run_id, rows_loaded, rows_rejected, skipped)
                    VALUES ($1, $2, $3, $4, $5, 0, $6, true) ON CONFLICT DO NOTHING
                    """, connection, transaction);
                foreach (var value in new object[] { bucket, key, etag, feed, runId, rejected }) ledger.Parameters.AddWithValue(value);
                await ledger.ExecuteNonQueryAsync(ct);
            }
        }
        await using (var update = new NpgsqlCommand("""
            UPDATE heapd.run_files SET status = 'skipped', message = 'skipped by request: ' || coalesce(message, '') WHERE run_id = $1 AND ordinal = $2;
            """, connection, transaction))
        {
            update.Parameters.AddWithValue(runId);
            update.Parameters.AddWithValue(ordinal);
            await update.ExecuteNonQueryAsync(ct);
        }
        await using (var run = new NpgsqlCommand("""
            UPDATE heapd.runs SET status = 'succeeded', message = coalesce(message, '') || ' (its failed files were skipped by request)'
            WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM heapd.run_files WHERE run_id = $1 AND status = 'failed')
            """, connection, transaction))
        {
            run.Parameters.AddWithValue(runId);
            await run.ExecuteNonQueryAsync(ct);
        }
        await transaction.CommitAsync(ct);
        return null;
    }

    public async Task<RunRecord?> GetAsync(Guid runId, CancellationToken ct) =>
        (await QueryAsync("WHERE r.id = $1", [runId], ct)).SingleOrDefault();

    public Task<IReadOnlyList<RunRecord>> ListForCourierAsync(string courierId, int limit, CancellationToken ct) =>
        QueryAsync("WHERE r.courier_id = $1 ORDER BY r.requested_at DESC LIMIT $2", [courierId, limit], ct);

    /// <summary>Runs that were queued or running when the daemon stopped: the courier starts them again.</summary>
    public async Task<IReadOnlyList<(Guid RunId, RunWindow Window, RunRequest Request)>> UnfinishedAsync(string courierId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            SELECT {WindowAndRequest} FROM heapd.runs
            WHERE courier_id = $1 AND status IN ('queued', 'running') ORDER BY requested_at
            """);
        cmd.Parameters.AddWithValue(courierId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var runs = new List<(Guid, RunWindow, RunRequest)>();
        while (await reader.ReadAsync(ct))
        {
            var (window, request) = ReadWindowAndRequest(reader, 0);
            runs.Add((reader.GetGuid(0), window, request));
        }
        return runs;
    }

    public async Task<IReadOnlyList<RejectRecord>> RejectsAsync(Guid runId, int limit, int offset, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            SELECT object_key, line, coalesce(line_end, line), raw, reason FROM heapd.rejects WHERE run_id = $1
            ORDER BY object_key, line LIMIT $2 OFFSET $3
            """);
        cmd.Parameters.AddWithValue(runId);
        cmd.Parameters.AddWithValue(limit);
        cmd.Parameters.AddWithValue(offset);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rejects = new List<RejectRecord>();
        while (await reader.ReadAsync(ct))
            rejects.Add(new RejectRecord(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4)));
        return rejects;
    }

    private async Task<IReadOnlyList<RunRecord>> QueryAsync(string where, object[] parameters, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var runs = new List<RunRecord>();
        await using (var cmd = new NpgsqlCommand($"""
            SELECT r.id, r.courier_id, r.status, r.force_reload, r.requested_at, r.started_at, r.finished_at, r.message, r.trigger,
                   r.retry_of, {WindowAndRequest}
            FROM heapd.runs r {where}
            """, connection))
        {
            foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var (window, request) = ReadWindowAndRequest(reader, 10);
                runs.Add(new RunRecord(reader.GetGuid(0), reader.GetString(1), Enum.Parse<RunStatus>(reader.GetString(2), true),
                    window.From, window.To, Enum.Parse<RunTrigger>(reader.GetString(8), true), request, reader.GetBoolean(3),
                    reader.GetFieldValue<DateTimeOffset>(4), NullableTime(reader, 5), NullableTime(reader, 6),
                    reader.IsDBNull(7) ? null : reader.GetString(7), [], reader.IsDBNull(9) ? null : reader.GetGuid(9)));
            }
        }
        if (runs.Count == 0) return runs;

        var files = new Dictionary<Guid, List<RunFileRecord>>();
        await using (var cmd = new NpgsqlCommand("""
            SELECT run_id, ordinal, bucket, object_key, feed_id, status, etag, bytes_read, rows_read, rows_inserted,
                   rows_updated, rows_rejected, message, started_at, finished_at
            FROM heapd.run_files WHERE run_id = ANY($1) ORDER BY run_id, ordinal
            """, connection))
        {
            cmd.Parameters.AddWithValue(runs.Select(r => r.Id).ToArray());
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var runId = reader.GetGuid(0);
                if (!files.TryGetValue(runId, out var list)) files[runId] = list = [];
                list.Add(new RunFileRecord(reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    Enum.Parse<FileStatus>(reader.GetString(5), true), reader.IsDBNull(6) ? null : reader.GetString(6),
                    reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11),
                    reader.IsDBNull(12) ? null : reader.GetString(12), NullableTime(reader, 13), NullableTime(reader, 14)));
            }
        }
        return runs.Select(r => r with { Files = files.GetValueOrDefault(r.Id) ?? [] }).ToList();
    }

    /// <summary>Columns read by <see cref="ReadWindowAndRequest"/>, the run id first.</summary>
    private const string WindowAndRequest = "id, run_date, run_date_to, request::text, force_reload";

    /// <summary>Rows from before ranges and request options read as the one-day, forceReload-only runs they were.</summary>
    private static (RunWindow Window, RunRequest Request) ReadWindowAndRequest(NpgsqlDataReader reader, int idOrdinal)
    {
        var from = reader.GetFieldValue<DateOnly>(idOrdinal + 1);
        var window = reader.IsDBNull(idOrdinal + 2) ? RunWindow.Day(from) : new RunWindow(from, reader.GetFieldValue<DateOnly>(idOrdinal + 2));
        var request = reader.IsDBNull(idOrdinal + 3)
            ? new RunRequest(from, reader.GetBoolean(idOrdinal + 4))
            : JsonSerializer.Deserialize<RunRequest>(reader.GetString(idOrdinal + 3), HeapJson.Options)!;
        return (window, request);
    }

    private static DateTimeOffset? NullableTime(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    private static string ToText<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}
