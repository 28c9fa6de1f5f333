using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Ids;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Loading;

/// <summary>What a merge did to the domain table, for the rows of one source file.</summary>
public readonly record struct MergeCounts(long Inserted, long Updated);

/// <summary>The object version a load came from: what the ledger keys on.</summary>
/// <param name="VersionId">S3's version id when the bucket is versioned; null otherwise, and the ETag identifies the content.</param>
public sealed record LoadedObject(string Bucket, string Key, string ETag, string FeedId, Guid RunId, string? VersionId = null)
{
    /// <summary>The object as the rows' <c>_source_file</c> names it.</summary>
    public string SourceFile => SourceFileOf(Bucket, Key);

    public static string SourceFileOf(string bucket, string key) => $"s3://{bucket}/{key}";
}

/// <summary>How a load treats its domain table.</summary>
/// <param name="Replace">Truncate and upsert: the table's rows are deleted first, in the load's transaction.</param>
/// <param name="CopyNewRowsIntoTable">
/// A file whose first batch brings only keys the table lacks (a first load, new events) is COPYed straight into it:
/// there is nothing to merge with, and the staging table, its sort and the upsert cost twice the COPY. A later row
/// whose key the table has, or the file repeats, ends such a load with <see cref="RepeatedKeyException"/>, to be
/// loaded again without this.
/// </param>
/// <param name="MergeWorkMem">PostgreSQL's work_mem for the load's transaction (the merge sorts every staged row); null keeps the server's.</param>
/// <param name="MergeEveryRows">
/// Staged rows are merged whenever this many have been staged, inside the load's transaction, so the next rows are
/// read while PostgreSQL merges (see <see cref="DomainTableLoad.WriteAsync"/>); null merges once, at the end.
/// </param>
public sealed record LoadOptions(bool Replace, bool CopyNewRowsIntoTable, string? MergeWorkMem, int? MergeEveryRows);

/// <summary>A file COPYed straight into its domain table has a key the table has or the file repeats: only a merge can load it.</summary>
public sealed class RepeatedKeyException(string sourceFile, Exception cause)
    : Exception($"{sourceFile} has a key the table has or the file repeats; it is loaded again through the staging table and the merge", cause);

/// <summary>
/// Loads files into one domain table inside one transaction: each file's batches are binary-COPYed into a temporary
/// staging table as they arrive (or straight into the domain table, see <see cref="LoadOptions.CopyNewRowsIntoTable"/>);
/// merges move them into the domain table, the files' ledger rows are written, and only then does anything commit.
/// Disposing without <see cref="CommitAsync"/> rolls everything back.
/// </summary>
public sealed class DomainTableLoad : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly LoadOptions _options;
    private readonly Dictionary<string, MergeCounts> _counts = new(StringComparer.Ordinal);
    private FeedDefinition _feed;
    private NpgsqlDbType[] _types = [];
    private string _columns = "";
    private long _fileSequence;
    // Each file's number in the load order, and the first one's, which the ledger keeps (LoadLedger.RecordCommand).
    private readonly Dictionary<string, long> _fileSequences = new(StringComparer.Ordinal);
    private long? _loadId;
    private string _sourceFile = "";
    private bool _fileTargetChosen;
    private bool _copiesIntoTable; // the current file's rows go straight into the domain table, not the staging table
    private bool _staging; // pg_temp.heapd_stage is made (EnsureStagingAsync)
    private long _stagedRows;
    // The staged keys, while few enough to hold: when none repeats, the merge needs no DISTINCT ON and its sort
    // (106 ms against 124 ms per 25,000 rows, measured on the bench table). Null once a key repeats or there are too many.
    private HashSet<string>? _stagedKeys = new(StringComparer.Ordinal);
    private const int MaxStagedKeys = 100_000;

    private DomainTableLoad(NpgsqlConnection connection, NpgsqlTransaction transaction, FeedDefinition feed, LoadOptions options)
    {
        _connection = connection;
        _transaction = transaction;
        _feed = feed;
        _options = options;
        Prepare();
    }


    public static async Task<DomainTableLoad> BeginAsync(NpgsqlDataSource db, FeedDefinition feed, LoadOptions options, CancellationToken ct)
    {
        var connection = await db.OpenConnectionAsync(ct);
        try
        {
            var transaction = await connection.BeginTransactionAsync(ct);
            var table = feed.Table.Qualified;
            if (options.Replace)
            {
                // Other loads of the table wait for this one (readers do not), so none adds rows between the
                // DELETE and the commit.
                await ExecuteAsync(connection, transaction, $"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE", ct);
                await ExecuteAsync(connection, transaction, $"DELETE FROM {table}", ct);
            }
            return new DomainTableLoad(connection, transaction, feed, options);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken ct, string? parameter = null)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, transaction);
        if (parameter is not null) cmd.Parameters.AddWithValue(parameter);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The rows written from now on come from this file, which is later than every file loaded before. Where they
    /// go is chosen with the file's first batch.
    /// </summary>
    public async Task StartFileAsync(string sourceFile, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT nextval('heapd.file_load_seq')", _connection, _transaction);
        _fileSequence = (long)(await cmd.ExecuteScalarAsync(ct))!;
        _fileSequences[sourceFile] = _fileSequence;
        _loadId ??= _fileSequence;
        _sourceFile = sourceFile;
        _fileTargetChosen = false;
        _copiesIntoTable = false;
    }

    /// <summary>
    /// A file whose first batch has only new keys, none twice, is COPYed straight into the table (when the options
    /// allow); any other is staged and merged. A repeated or existing key further on fails the COPY (a unique
    /// violation), and the load is done again through the merge.
    /// </summary>
    private async Task ChooseFileTargetAsync(string[] firstKeys, CancellationToken ct)
    {
        _fileTargetChosen = true;
        if (!_options.CopyNewRowsIntoTable) return;
        var keys = firstKeys.ToHashSet(StringComparer.Ordinal);
        if (keys.Count < firstKeys.Length) return;
        await using var cmd = new NpgsqlCommand($"SELECT EXISTS (SELECT FROM {_feed.Table.Qualified} WHERE \"_pk\" = ANY($1))", _connection, _transaction);
        cmd.Parameters.AddWithValue(keys.ToArray());
        _copiesIntoTable = !(bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// Schema drift in the middle of a load (a later file of a truncate load brings new columns): the feed's new
    /// fields become columns of the domain table and of the staging table, inside this transaction. The domain
    /// table stays locked against readers until the load commits; a file's first columns are added before its load
    /// begins, so this is the rare case.
    /// </summary>
    /// <param name="widenFeed">Changes the feed and its domain table on this load's connection and transaction.</param>
    public async Task<FeedDefinition> WidenAsync(Func<NpgsqlConnection, NpgsqlTransaction, Task<FeedDefinition>> widenFeed, CancellationToken ct)
    {
        var feed = await widenFeed(_connection, _transaction);
        // A staging table made later takes the widened columns from the domain table.
        var added = _staging ? feed.Fields.Where(f => _feed.Fields.All(old => old.ColumnName != f.ColumnName)).ToList() : [];
        foreach (var field in added)
        {
            await using var cmd = new NpgsqlCommand(
                $"ALTER TABLE pg_temp.heapd_stage ADD COLUMN {Identifiers.Quote(field.ColumnName)} {DomainTableSchema.SqlType(field)}", _connection, _transaction);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        _feed = feed;
        Prepare();
        return feed;
    }

    private void Prepare()
    {
        _types = _feed.Fields.Select(DomainTableSchema.DbType).ToArray();
        _columns = string.Join(", ", _feed.Fields.Select(f => Identifiers.Quote(f.ColumnName))) + ", \"_pk\", \"_uuid_pk\", \"_updated\", \"_source_file\"";
    }

    /// <summary>
    /// <c>_updated</c> = file load sequence in the high 32 bits, line in the low 32: a later load beats an earlier
    /// one, and within a file a later line beats an earlier one, when the last-updated values tie.
    /// </summary>
    private long UpdatedOf(long line) => (_fileSequence << 32) | (line & 0xFFFF_FFFF);

    /// <summary>
    /// Encodes rows of the current file for <see cref="WriteAsync"/>, with the file's columns as they are now. Meant
    /// to run while the batch before is written or merged; it does not use the connection.
    /// </summary>
    public CopyBatch Encode(IReadOnlyList<AcceptedRow> rows) => CopyBatch.Encode(_columns, rows, _types, UpdatedOf, _sourceFile);

    /// <summary>COPYs one batch, encoded in parts, into the staging table, or into the domain table (see <see cref="ChooseFileTargetAsync"/>).</summary>
    /// <remarks>
    /// Every <see cref="LoadOptions.MergeEveryRows"/> staged rows are merged here, so the caller's next batches are
    /// read and checked while PostgreSQL merges, instead of all reading first and all merging after. Later rows of
    /// the file are merged after earlier ones, by the same rule (newer and different), so the table ends as one
    /// merge of the whole file leaves it.
    /// </remarks>
    public async Task WriteAsync(IReadOnlyList<CopyBatch> parts, CancellationToken ct)
    {
        var rows = parts.Sum(p => p.Rows);
        if (rows == 0) return;
        if (!_fileTargetChosen) await ChooseFileTargetAsync(parts.SelectMany(p => p.Keys).ToArray(), ct);
        try
        {
            // One COPY per run of parts with the same columns: a JSON file may add columns mid-batch.
            for (var start = 0; start < parts.Count;)
            {
                var end = start + 1;
                while (end < parts.Count && parts[end].Columns == parts[start].Columns) end++;
                await CopyAsync(parts, start, end, ct);
                start = end;
            }
        }
        catch (PostgresException e) when (_copiesIntoTable && e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new RepeatedKeyException(_sourceFile, e);
        }
        if (_copiesIntoTable)
        {
            Count(_sourceFile, new MergeCounts(rows, 0));
            return;
        }
        _stagedRows += rows;
        if (_stagedKeys is not null) NoteStagedKeys(parts);
        if (_stagedRows >= _options.MergeEveryRows) await MergeStagedAsync(ct);
    }

    private void NoteStagedKeys(IReadOnlyList<CopyBatch> parts)
    {
        if (_stagedRows > MaxStagedKeys)
        {
            _stagedKeys = null;
            return;
        }
        foreach (var part in parts)
        foreach (var key in part.Keys)
        {
            if (_stagedKeys!.Add(key)) continue;
            _stagedKeys = null;
            return;
        }
    }

    /// <summary>
    /// The staging table and the merge's work_mem, made when a file's rows are first staged: a file of new rows COPYed
    /// straight into the table needs neither, and a temporary table costs catalog writes to make and drop.
    /// </summary>
    private async Task EnsureStagingAsync(CancellationToken ct)
    {
        if (_staging) return;
        await using var batch = new NpgsqlBatch(_connection, _transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand($"""
                    CREATE TEMP TABLE heapd_stage ON COMMIT DROP AS
                        SELECT {_columns} FROM {_feed.Table.Qualified} WITH NO DATA
                    """),
            },
        };
        // work_mem is a size such as '256MB', which SET cannot take as a parameter; set_config can.
        if (_options.MergeWorkMem is { } workMem)
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT set_config('work_mem', $1, true)") { Parameters = { new() { Value = workMem } } });
        await batch.ExecuteNonQueryAsync(ct);
        _staging = true;
    }

    private async Task CopyAsync(IReadOnlyList<CopyBatch> parts, int start, int end, CancellationToken ct)
    {
        if (!_copiesIntoTable) await EnsureStagingAsync(ct);
        var target = _copiesIntoTable ? _feed.Table.Qualified : "pg_temp.heapd_stage";
        await using var copy = await _connection.BeginRawBinaryCopyAsync($"COPY {target} ({parts[start].Columns}) FROM STDIN (FORMAT BINARY)", ct);
        try
        {
            await copy.WriteAsync(CopyBatch.Header, ct);
            for (var i = start; i < end; i++) await copy.WriteAsync(parts[i].Data, ct);
            await copy.WriteAsync(CopyBatch.Trailer, ct);
        }
        catch
        {
            await copy.CancelAsync();
            throw;
        }
    }

    /// <summary>
    /// Moves the staged rows into the domain table: per key the newest staged row (last-updated, then
    /// <c>_updated</c>), and it replaces the stored row only if it is newer and differs, so an older file never
    /// overwrites newer data and an unchanged row is not rewritten. A truncate-and-upsert load deleted the table's
    /// rows when it began, in this transaction: readers see the old rows until the commit, then the new ones, never
    /// an empty table (DELETE, unlike TRUNCATE, is MVCC-safe).
    /// </summary>
    /// <returns>Inserted and updated counts per source file, of the whole load.</returns>
    public async Task<IReadOnlyDictionary<string, MergeCounts>> MergeAsync(CancellationToken ct)
    {
        if (_stagedRows > 0) await MergeStagedAsync(ct);
        return _counts;
    }

    private async Task MergeStagedAsync(CancellationToken ct)
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
                SELECT {(_stagedKeys is null ? "DISTINCT ON (\"_pk\") " : "")}{columns}, "_pk", "_uuid_pk", "_updated", "_source_file", now()
                FROM pg_temp.heapd_stage
                {(_stagedKeys is null ? $"ORDER BY \"_pk\", {recency}\"_updated\" DESC" : "")}
                ON CONFLICT ("_pk") DO UPDATE SET
                    {string.Join(", ", data.Select(c => $"{c} = EXCLUDED.{c}"))},
                    "_uuid_pk" = EXCLUDED."_uuid_pk", "_updated" = EXCLUDED."_updated",
                    "_source_file" = EXCLUDED."_source_file", "_loaded_at" = EXCLUDED."_loaded_at"
                WHERE {newer} AND {changed}
                RETURNING "_source_file", (xmax = 0) AS inserted)
            SELECT "_source_file", count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged GROUP BY 1
            """;
        // A merge of tens of millions of rows takes minutes; Npgsql's default 30 s timeout would fail every big
        // file. The run's cancellation token still stops it.
        await using (var cmd = new NpgsqlCommand(sql, _connection, _transaction) { CommandTimeout = 0 })
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) Count(reader.GetString(0), new MergeCounts(reader.GetInt64(1), reader.GetInt64(2)));
        }
        await ExecuteAsync(_connection, _transaction, "TRUNCATE pg_temp.heapd_stage", ct);
        _stagedRows = 0;
        if (_stagedKeys is null) _stagedKeys = new(StringComparer.Ordinal);
        else _stagedKeys.Clear();
    }

    private void Count(string sourceFile, MergeCounts more)
    {
        var counts = _counts.GetValueOrDefault(sourceFile);
        _counts[sourceFile] = new MergeCounts(counts.Inserted + more.Inserted, counts.Updated + more.Updated);
    }

    /// <summary>
    /// Writes the files' ledger rows, with each file's place in the load order, and the caller's records of them, in
    /// one round trip, and commits them together with the rows: all or nothing.
    /// </summary>
    public async Task CommitAsync(IEnumerable<(LoadedObject Loaded, long RowsLoaded, long RowsRejected)> files, IEnumerable<NpgsqlBatchCommand> records,
        CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(_connection, _transaction);
        foreach (var (loaded, rowsLoaded, rowsRejected) in files)
        {
            // The files of a truncate load are one load; upserted files committed together are each a load of their own.
            var sequence = _fileSequences[loaded.SourceFile];
            batch.BatchCommands.Add(LoadLedger.RecordCommand(loaded, rowsLoaded, rowsRejected, sequence, _options.Replace ? _loadId!.Value : sequence));
        }
        foreach (var record in records) batch.BatchCommands.Add(record);
        await batch.ExecuteNonQueryAsync(ct);
        await _transaction.CommitAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
