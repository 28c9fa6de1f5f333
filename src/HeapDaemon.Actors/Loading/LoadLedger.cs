using Npgsql;

namespace HeapDaemon.Actors.Loading;

/// <summary>A ledger row: this object version was loaded into this feed by this run (or skipped by request).</summary>
public sealed record LedgerEntry(Guid RunId, long RowsLoaded, DateTimeOffset LoadedAt, bool Skipped)
{
    /// <summary>
    /// The version of the same key loaded into the feed after this one, when there is one: the table then holds that
    /// version's rows, not this one's, so this version, seen again, loads again.
    /// </summary>
    public LedgerEntry? LoadedSince { get; init; }
}

/// <summary>An object version of the last load into a feed (see <see cref="LoadLedger.LastLoadAsync"/>).</summary>
/// <param name="VersionId">'' in an unversioned bucket, where the ETag identifies the content.</param>
public sealed record LedgerVersion(string Bucket, string Key, string ETag, string VersionId)
{
    public bool Is(string bucket, string key, string etag, string? versionId) =>
        Bucket == bucket && Key == key && (versionId is null ? VersionId == "" && ETag == etag : VersionId == versionId);
}

/// <summary>
/// <c>heapd.load_ledger</c>: which object versions each feed has loaded, and in which order; what makes a rerun skip
/// a file. An object is known by its version id in a versioned bucket (a re-upload of the same bytes is a new
/// version, and loads), and by its ETag otherwise. <c>version_id</c> is '' for unversioned. A version is skipped only
/// while it is the one of its key loaded last: content seen before, but followed by another version since, loads
/// again, so the table follows what the bucket holds now.
/// </summary>
public static class LoadLedger
{
    /// <returns>This version's ledger row, with the later load of its key if it is not the last; null if never loaded.</returns>
    public static async Task<LedgerEntry?> FindAsync(NpgsqlDataSource db, string bucket, string key, string etag, string? versionId,
        string feedId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            SELECT mine.run_id, mine.rows_loaded, mine.loaded_at, mine.skipped,
                   mine.load_seq = last.load_seq, last.run_id, last.rows_loaded, last.loaded_at, last.skipped
            FROM (SELECT * FROM heapd.load_ledger
                  WHERE bucket = $1 AND object_key = $2 AND feed_id = $4
                    AND (CASE WHEN $5 = '' THEN etag = $3 AND version_id = '' ELSE version_id = $5 END)
                  ORDER BY load_seq DESC LIMIT 1) mine,
                 (SELECT * FROM heapd.load_ledger WHERE bucket = $1 AND object_key = $2 AND feed_id = $4
                  ORDER BY load_seq DESC LIMIT 1) last
            """);
        cmd.Parameters.AddWithValue(bucket);
        cmd.Parameters.AddWithValue(key);
        cmd.Parameters.AddWithValue(etag);
        cmd.Parameters.AddWithValue(feedId);
        cmd.Parameters.AddWithValue(versionId ?? "");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return new LedgerEntry(reader.GetGuid(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetBoolean(3))
        {
            LoadedSince = reader.GetBoolean(4)
                ? null
                : new LedgerEntry(reader.GetGuid(5), reader.GetInt64(6), reader.GetFieldValue<DateTimeOffset>(7), reader.GetBoolean(8)),
        };
    }

    /// <summary>
    /// The object versions of the last load into a feed (every file of it, for a truncate load; versions skipped by
    /// request are not loads). A truncate load whose files are exactly these versions would leave the table as it is.
    /// </summary>
    public static async Task<List<LedgerVersion>> LastLoadAsync(NpgsqlDataSource db, string feedId, CancellationToken ct)
    {
        // Every file of a load is numbered after the load's id (its first file), hence the range on the index.
        await using var cmd = db.CreateCommand("""
            WITH last AS (SELECT load_id FROM heapd.load_ledger WHERE feed_id = $1 AND NOT skipped ORDER BY load_seq DESC LIMIT 1)
            SELECT bucket, object_key, etag, version_id FROM heapd.load_ledger, last
            WHERE feed_id = $1 AND load_seq >= last.load_id AND heapd.load_ledger.load_id = last.load_id AND NOT skipped
            """);
        cmd.Parameters.AddWithValue(feedId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var versions = new List<LedgerVersion>();
        while (await reader.ReadAsync(ct))
            versions.Add(new LedgerVersion(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        return versions;
    }

    /// <summary>Whether the feed has any ledger row, a load or a version skipped by request.</summary>
    public static async Task<bool> AnyAsync(NpgsqlDataSource db, string feedId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT EXISTS (SELECT FROM heapd.load_ledger WHERE feed_id = $1)");
        cmd.Parameters.AddWithValue(feedId);
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <param name="loadSeq">The file's number in the load order (<c>heapd.file_load_seq</c>).</param>
    /// <param name="loadId">The load's: its first file's number.</param>
    internal static NpgsqlBatchCommand RecordCommand(LoadedObject loaded, long rowsLoaded, long rowsRejected, long loadSeq, long loadId) =>
        // A version loaded again (content re-sent, or forceReload) becomes the last loaded of its key.
        new("""
            INSERT INTO heapd.load_ledger (bucket, object_key, etag, feed_id, run_id, rows_loaded, rows_rejected, version_id, load_seq, load_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (bucket, object_key, feed_id, etag, version_id) DO UPDATE
                SET run_id = EXCLUDED.run_id, rows_loaded = EXCLUDED.rows_loaded, rows_rejected = EXCLUDED.rows_rejected,
                    loaded_at = now(), skipped = false, load_seq = EXCLUDED.load_seq, load_id = EXCLUDED.load_id
            """)
        {
            Parameters =
            {
                new() { Value = loaded.Bucket }, new() { Value = loaded.Key }, new() { Value = loaded.ETag }, new() { Value = loaded.FeedId },
                new() { Value = loaded.RunId }, new() { Value = rowsLoaded }, new() { Value = rowsRejected }, new() { Value = loaded.VersionId ?? "" },
                new() { Value = loadSeq }, new() { Value = loadId },
            },
        };
}
