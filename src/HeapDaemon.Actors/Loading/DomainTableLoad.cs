using HeapDaemon.Actors.Feeds;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Loading;

/// <summary>What a merge did to the domain table.</summary>
public readonly record struct MergeCounts(long Inserted, long Updated);

/// <summary>The object version a load came from: what the ledger keys on.</summary>
public sealed record LoadedObject(string Bucket, string Key, string ETag, string FeedId, Guid RunId);

/// <summary>
/// Loads one file into its domain table inside one transaction: batches are binary-COPYed into a temporary staging
/// table as they arrive, then one merge moves them into the domain table and the ledger row is written, and only
/// then does anything commit. Disposing without <see cref="CommitAsync"/> rolls everything back.
/// </summary>
public sealed class DomainTableLoad : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly FeedDefinition _feed;
    private readonly long _fileSequence;
    private readonly NpgsqlDbType[] _types;
    private readonly string _copySql;

    private DomainTableLoad(NpgsqlConnection connection, NpgsqlTransaction transaction, FeedDefinition feed, long fileSequence)
    {
        _connection = connection;
        _transaction = transaction;
        _feed = feed;
        _fileSequence = fileSequence;
        _types = feed.Fields.Select(DomainTableSchema.DbType).ToArray();
        var columns = string.Join(", ", feed.Fields.Select(f => Identifiers.Quote(f.ColumnName)));
        _copySql = $"COPY pg_temp.heapd_stage ({columns}, \"_pk\", \"_uuid_pk\", \"_updated\") FROM STDIN (FORMAT BINARY)";
    }

    public static async Task<DomainTableLoad> BeginAsync(NpgsqlDataSource db, FeedDefinition feed, CancellationToken ct)
    {
        var connection = await db.OpenConnectionAsync(ct);
        try
        {
            var transaction = await connection.BeginTransactionAsync(ct);
            var columns = string.Join(", ", feed.Fields.Select(f => Identifiers.Quote(f.ColumnName)));
            var sql = $"""
                CREATE TEMP TABLE heapd_stage ON COMMIT DROP AS
                    SELECT {columns}, "_pk", "_uuid_pk", "_updated" FROM {feed.Table.Qualified} WITH NO DATA;
                SELECT nextval('heapd.file_load_seq');
                """;
            await using var cmd = new NpgsqlCommand(sql, connection, transaction);
            var sequence = (long)(await cmd.ExecuteScalarAsync(ct))!;
            return new DomainTableLoad(connection, transaction, feed, sequence);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// <c>_updated</c> = file load sequence in the high 32 bits, line in the low 32: a later load beats an earlier
    /// one, and within a file a later line beats an earlier one, when the last-updated values tie.
    /// </summary>
    public long UpdatedOf(long line) => (_fileSequence << 32) | (line & 0xFFFF_FFFF);

    public async Task WriteAsync(IReadOnlyList<AcceptedRow> rows, CancellationToken ct)
    {
        if (rows.Count == 0) return;
        await using var importer = await _connection.BeginBinaryImportAsync(_copySql, ct);
        foreach (var row in rows)
        {
            await importer.StartRowAsync(ct);
            for (var i = 0; i < _types.Length; i++)
            {
                if (row.Values[i] is { } value) await importer.WriteAsync(value, _types[i], ct);
                else await importer.WriteNullAsync(ct);
            }
            await importer.WriteAsync(row.Pk, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(row.UuidPk, NpgsqlDbType.Uuid, ct);
            await importer.WriteAsync(UpdatedOf(row.Line), NpgsqlDbType.Bigint, ct);
        }
        await importer.CompleteAsync(ct);
    }

    /// <summary>
    /// Moves the staged rows into the domain table: per key the newest row of the file (last-updated, then
    /// <c>_updated</c>), and it replaces the stored row only if it is newer and differs, so an older file never
    /// overwrites newer data and an unchanged row is not rewritten.
    /// </summary>
    public async Task<MergeCounts> MergeAsync(string sourceFile, CancellationToken ct)
    {
        var table = _feed.Table.Qualified;
        var data = _feed.Fields.Select(f => Identifiers.Quote(f.ColumnName)).ToList();
        var columns = string.Join(", ", data);
        var recency = _feed.LastUpdated is { } lu ? $"{Identifiers.Quote(lu.ColumnName)} DESC, " : "";
        var newer = _feed.LastUpdated is { } l
            ? $"(EXCLUDED.{Identifiers.Quote(l.ColumnName)}, EXCLUDED.\"_updated\") > (t.{Identifiers.Quote(l.ColumnName)}, t.\"_updated\")"
            : "EXCLUDED.\"_updated\" > t.\"_updated\"";
        var changed = $"({string.Join(", ", data.Select(c => "t." + c))}) IS DISTINCT FROM ({string.Join(", ", data.Select(c => "EXCLUDED." + c))})";
        var sql = $"""
            WITH merged AS (
                INSERT INTO {table} AS t ({columns}, "_pk", "_uuid_pk", "_updated", "_source_file", "_loaded_at")
                SELECT DISTINCT ON ("_pk") {columns}, "_pk", "_uuid_pk", "_updated", $1, now()
                FROM pg_temp.heapd_stage
                ORDER BY "_pk", {recency}"_updated" DESC
                ON CONFLICT ("_pk") DO UPDATE SET
                    {string.Join(", ", data.Select(c => $"{c} = EXCLUDED.{c}"))},
                    "_uuid_pk" = EXCLUDED."_uuid_pk", "_updated" = EXCLUDED."_updated",
                    "_source_file" = EXCLUDED."_source_file", "_loaded_at" = EXCLUDED."_loaded_at"
                WHERE {newer} AND {changed}
                RETURNING (xmax = 0) AS inserted)
            SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
            """;
        // A merge of tens of millions of rows takes minutes; Npgsql's default 30 s timeout would fail every big
        // file. The run's cancellation token still stops it.
        await using var cmd = new NpgsqlCommand(sql, _connection, _transaction) { CommandTimeout = 0 };
        cmd.Parameters.AddWithValue(sourceFile);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new MergeCounts(reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>Writes the ledger row and commits it together with the rows: both or neither.</summary>
    public async Task CommitAsync(LoadedObject loaded, long rowsLoaded, long rowsRejected, CancellationToken ct)
    {
        await LoadLedger.RecordAsync(_connection, _transaction, loaded, rowsLoaded, rowsRejected, ct);
        await _transaction.CommitAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
