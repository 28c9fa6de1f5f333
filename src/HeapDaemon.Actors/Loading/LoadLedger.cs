using Npgsql;

namespace HeapDaemon.Actors.Loading;

/// <summary>A ledger row: this object version was loaded into this feed by this run (or skipped by request).</summary>
public sealed record LedgerEntry(Guid RunId, long RowsLoaded, DateTimeOffset LoadedAt, bool Skipped);

/// <summary>
/// <c>heapd.load_ledger</c>: which object versions each feed has loaded; what makes a rerun skip a file. An object is
/// known by its version id in a versioned bucket (a re-upload of the same bytes is a new version, and loads), and by
/// its ETag otherwise (new content loads, the same content is skipped). <c>version_id</c> is '' for unversioned.
/// </summary>
public static class LoadLedger
{
    public static async Task<LedgerEntry?> FindAsync(NpgsqlDataSource db, string bucket, string key, string etag, string? versionId,
        string feedId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            SELECT run_id, rows_loaded, loaded_at, skipped FROM heapd.load_ledger
            WHERE bucket = $1 AND object_key = $2 AND feed_id = $4 AND (CASE WHEN $5 = '' THEN etag = $3 AND version_id = '' ELSE version_id = $5 END)
            ORDER BY loaded_at DESC LIMIT 1
            """);
        cmd.Parameters.AddWithValue(bucket);
        cmd.Parameters.AddWithValue(key);
        cmd.Parameters.AddWithValue(etag);
        cmd.Parameters.AddWithValue(feedId);
        cmd.Parameters.AddWithValue(versionId ?? "");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new LedgerEntry(reader.GetGuid(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetBoolean(3))
            : null;
    }

    internal static async Task RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, LoadedObject loaded,
        long rowsLoaded, long rowsRejected, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO heapd.load_ledger (bucket, object_key, etag, feed_id, run_id, rows_loaded, rows_rejected, version_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (bucket, object_key, feed_id, etag, version_id) DO UPDATE
                SET run_id = EXCLUDED.run_id, rows_loaded = EXCLUDED.rows_loaded,
                    rows_rejected = EXCLUDED.rows_rejected, loaded_at = now()
            """, connection, transaction);
        cmd.Parameters.AddWithValue(loaded.Bucket);
        cmd.Parameters.AddWithValue(loaded.Key);
        cmd.Parameters.AddWithValue(loaded.ETag);
        cmd.Parameters.AddWithValue(loaded.FeedId);
        cmd.Parameters.AddWithValue(loaded.RunId);
        cmd.Parameters.AddWithValue(rowsLoaded);
        cmd.Parameters.AddWithValue(rowsRejected);
        cmd.Parameters.AddWithValue(loaded.VersionId ?? "");
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
