using System.Globalization;
using System.Text.Json;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Json;
using HeapDaemon.Actors.Loading;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Stitch;

/// <summary>What a stitch leaves behind besides its tables: its run, the watermark its reads started from, its inputs' fingerprint and model.</summary>
public sealed record StitchState(Guid RunId, DateTimeOffset Watermark, string Fingerprint, object? Model);

/// <summary>
/// Writes a stitch's result into schema <c>stitch</c>. A full stitch builds new tables, indexes them, and swaps them
/// for the old ones (and recreates the <c>&lt;table&gt;_customers</c> views) in the same transaction, so a reader
/// sees the previous result or the new one, and a crash at any point leaves the previous one whole. An incremental
/// stitch replaces the rows of the people it touched, also in one transaction.
/// </summary>
public sealed class StitchWriter(NpgsqlDataSource db)
{
    private const string Next = "_next";

    /// <summary>The previous stitch's id of each record (by table and primary key), <see cref="Guid.Empty"/> for records it did not have.</summary>
    public async Task<(Guid[] Ids, HashSet<Guid> All)> PreviousIdsAsync(ProfileRecords records, CancellationToken ct)
    {
        var ids = new Guid[records.Count];
        var all = new HashSet<Guid>();
        await using var connection = await db.OpenConnectionAsync(ct);
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('stitch.unified_coalesced') IS NOT NULL", connection))
            if (!(bool)(await exists.ExecuteScalarAsync(ct))!) return (ids, all);
        var tables = records.Tables.Select((t, i) => (Key: (t.Source, t.Feed), i)).ToDictionary(x => x.Key, x => x.i);
        var byPk = new int[records.Tables.Count][];
        for (var t = 0; t < byPk.Length; t++) byPk[t] = Enumerable.Repeat(-1, records.Pks[t].Count).ToArray();
        for (var r = 0; r < records.Count; r++) byPk[records.Table[r]][records.Pk[r]] = r;
        await using var export = await connection.BeginBinaryExportAsync(
            "COPY (SELECT source, feed, pk, amperity_id FROM stitch.unified_coalesced) TO STDOUT (FORMAT BINARY)", ct);
        while (await export.StartRowAsync(ct) != -1)
        {
            var (source, feed, pk) = (await export.ReadAsync<string>(ct), await export.ReadAsync<string>(ct), await export.ReadAsync<string>(ct));
            var id = await export.ReadAsync<Guid>(ct);
            all.Add(id);
            if (!tables.TryGetValue((source, feed), out var table)) continue;
            var pkId = records.Pks[table].Find(pk);
            if (pkId >= 0 && byPk[table][pkId] is var record and >= 0) ids[record] = id;
        }
        return (ids, all);
    }

    /// <summary>
    /// Writes a full result: each new table filled and indexed on a connection of its own, all at once (they are not
    /// read by anyone under their _next names), then swapped for the old ones in one short transaction, with the views.
    /// A crash before the swap leaves the old tables in place (and _next tables, dropped by the next full stitch).
    /// </summary>
    public async Task WriteFullAsync(StitchResult result, StitchState state, CancellationToken ct)
    {
        var generation = state.RunId.ToString("N")[..12];
        var s = StitchSchema.Schema;
        await using (var connection = await db.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            await ExecuteAsync(connection, transaction, string.Join("\n", StitchSchema.Tables.Select(t => $"DROP TABLE IF EXISTS {s}.{t}{Next};")), ct);
            await ExecuteAsync(connection, transaction, StitchSchema.CreateTables(Next), ct);
            await transaction.CommitAsync(ct);
        }
        var indexes = StitchSchema.CreateIndexes(Next, generation);
        await Task.WhenAll(
            FillAsync("unified_coalesced", connection => CopyCoalescedAsync(connection, result, Enumerable.Range(0, result.Records.Count), Next, ct)),
            FillAsync("unified_scores", connection => CopyScoresAsync(connection, result, result.Pairs.Chunks.Select(c => (c, 0, c.Count)), Next, ct)),
            FillAsync("merged_customers", connection => CopyCustomersAsync(connection, result, Enumerable.Range(0, result.Clusters.Count), Next, ct)),
            FillAsync("unified_keys", connection => CopyKeysAsync(connection, result, Enumerable.Range(0, result.Records.Count), Next, ct)));

        await using (var connection = await db.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtext('heapd.stitch-write'))", ct);
            await ExecuteAsync(connection, transaction,
                string.Join("\n", StitchSchema.Tables.Select(t => $"DROP TABLE IF EXISTS {s}.{t} CASCADE;")) +
                string.Join("\n", StitchSchema.Tables.Select(t => $"ALTER TABLE {s}.{t}{Next} RENAME TO {t};")), ct);
            await CreateViewsAsync(connection, transaction, result, ct);
            await SaveStateAsync(connection, transaction, state, ct);
            await transaction.CommitAsync(ct);
        }
        await using (var connection = await db.OpenConnectionAsync(ct))
        await using (var analyze = new NpgsqlCommand($"ANALYZE {s}.unified_coalesced, {s}.merged_customers, {s}.unified_scores", connection))
        {
            analyze.CommandTimeout = 0;
            await analyze.ExecuteNonQueryAsync(ct);
        }

        async Task FillAsync(string table, Func<NpgsqlConnection, Task> copy)
        {
            await using var connection = await db.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await ExecuteAsync(connection, transaction, "SET LOCAL maintenance_work_mem = '256MB'", ct);
            await copy(connection);
            await ExecuteAsync(connection, transaction, indexes[table], ct);
            await transaction.CommitAsync(ct);
        }
    }

    /// <summary>
    /// Replaces, in one transaction, the rows of an incremental stitch's records (new, removed, or with a new id), the
    /// pairs of the records it replaced, and the customers and keys of the people it touched.
    /// </summary>
    public async Task WriteIncrementalAsync(StitchResult result, IncrementalChange change, StitchState state, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtext('heapd.stitch-write'))", ct);
        var s = StitchSchema.Schema;
        var records = change.Records.Select(r => (long)r).ToArray();
        var removed = change.Removed.Select(r => (long)r).ToArray();
        var retired = change.RetiredIds.ToArray();
        await using (var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand($"DELETE FROM {s}.unified_coalesced WHERE record_id = ANY($1)") { Parameters = { new() { Value = records } } },
                new NpgsqlBatchCommand($"DELETE FROM {s}.unified_scores WHERE record1 = ANY($1)") { Parameters = { new() { Value = removed } } },
                new NpgsqlBatchCommand($"DELETE FROM {s}.unified_scores WHERE record2 = ANY($1)") { Parameters = { new() { Value = removed } } },
                new NpgsqlBatchCommand($"DELETE FROM {s}.merged_customers WHERE amperity_id = ANY($1)") { Parameters = { new() { Value = retired } } },
                new NpgsqlBatchCommand($"DELETE FROM {s}.unified_keys WHERE amperity_id = ANY($1)") { Parameters = { new() { Value = retired } } },
            },
        })
        {
            batch.Timeout = 0;
            await batch.ExecuteNonQueryAsync(ct);
        }
        var live = change.Records.Where(r => !result.Records.Deleted[r]).Order().ToList();
        await CopyCoalescedAsync(connection, result, live, "", ct);
        await CopyScoresAsync(connection, result, change.Pairs, "", ct);
        await CopyCustomersAsync(connection, result, change.Clusters, "", ct);
        await CopyKeysAsync(connection, result, change.Clusters.SelectMany(c => result.Clusters[c]), "", ct);
        await SaveStateAsync(connection, transaction, state, ct);
        await transaction.CommitAsync(ct);
    }

    private static async Task CopyCoalescedAsync(NpgsqlConnection connection, StitchResult result, IEnumerable<int> records, string suffix, CancellationToken ct)
    {
        var r = result.Records;
        var columns = string.Join(", ", ProfileFields.All.Select(f => f.Column()));
        await using var writer = await connection.BeginBinaryImportAsync(
            $"COPY {StitchSchema.Schema}.unified_coalesced{suffix} (amperity_id, source, feed, pk, record_id, {columns}, update_dt) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var record in records)
        {
            if (r.Deleted[record]) continue;
            var table = r.Tables[r.Table[record]];
            await writer.StartRowAsync(ct);
            await writer.WriteAsync(result.IdOf(record), NpgsqlDbType.Uuid, ct);
            await writer.WriteAsync(table.Source, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(table.Feed, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(r.PkText(record), NpgsqlDbType.Text, ct);
            await writer.WriteAsync((long)record, NpgsqlDbType.Bigint, ct);
            foreach (var field in ProfileFields.All) await WriteFieldAsync(writer, field, r.Display(field, record), ct);
            var updated = r.Updated[record];
            if (double.IsNaN(updated) || table.UpdateType == FieldType.Integer) await writer.WriteNullAsync(ct);
            else await writer.WriteAsync(DateTimeOffset.UnixEpoch.AddSeconds(updated).UtcDateTime, NpgsqlDbType.TimestampTz, ct);
        }
        await writer.CompleteAsync(ct);
    }

    private static async Task CopyScoresAsync(NpgsqlConnection connection, StitchResult result, IEnumerable<(PairChunk Chunk, int Start, int End)> ranges,
        string suffix, CancellationToken ct)
    {
        var r = result.Records;
        var comparisons = string.Join(", ", PairComparer.Comparisons.Select(PairComparer.Name));
        await using var writer = await connection.BeginBinaryImportAsync($"""
            COPY {StitchSchema.Schema}.unified_scores{suffix} (record1, record2, source1, feed1, pk1, source2, feed2, pk2, match_weight,
                match_probability, matched, {comparisons}) FROM STDIN (FORMAT BINARY)
            """, ct);
        var floor = result.Settings.KeepPairsAbove > 0 ? (float)MatchModel.WeightOf(result.Settings.KeepPairsAbove) : float.NegativeInfinity;
        foreach (var (chunk, start, end) in ranges)
        {
            for (var p = start; p < end; p++)
            {
                var (a, b) = (chunk.A[p], chunk.B[p]);
                if (r.Deleted[a] || r.Deleted[b] || chunk.Weight[p] < floor) continue;
                var (ta, tb) = (r.Tables[r.Table[a]], r.Tables[r.Table[b]]);
                await writer.StartRowAsync(ct);
                await writer.WriteAsync((long)a, NpgsqlDbType.Bigint, ct);
                await writer.WriteAsync((long)b, NpgsqlDbType.Bigint, ct);
                await writer.WriteAsync(ta.Source, NpgsqlDbType.Text, ct);
                await writer.WriteAsync(ta.Feed, NpgsqlDbType.Text, ct);
                await writer.WriteAsync(r.PkText(a), NpgsqlDbType.Text, ct);
                await writer.WriteAsync(tb.Source, NpgsqlDbType.Text, ct);
                await writer.WriteAsync(tb.Feed, NpgsqlDbType.Text, ct);
                await writer.WriteAsync(r.PkText(b), NpgsqlDbType.Text, ct);
                var weight = chunk.Weight[p];
                await writer.WriteAsync(weight, NpgsqlDbType.Real, ct);
                await writer.WriteAsync((float)MatchModel.Probability(weight), NpgsqlDbType.Real, ct);
                await writer.WriteAsync(weight >= result.ThresholdWeight, NpgsqlDbType.Boolean, ct);
                foreach (var slot in PairComparer.Comparisons)
                    await writer.WriteAsync((short)PairComparer.Level(chunk.Gamma[p], slot), NpgsqlDbType.Smallint, ct);
            }
        }
        await writer.CompleteAsync(ct);
    }

    private static async Task CopyCustomersAsync(NpgsqlConnection connection, StitchResult result, IEnumerable<int> clusters, string suffix, CancellationToken ct)
    {
        var merge = new CustomerMerge(result.Records, result.Settings.SourcePriority);
        var columns = string.Join(", ", ProfileFields.All.Select(f => f.Column()));
        await using var writer = await connection.BeginBinaryImportAsync(
            $"COPY {StitchSchema.Schema}.merged_customers{suffix} (amperity_id, {columns}, record_count, sources) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var c in clusters)
        {
            var members = result.Clusters[c];
            if (members.Count == 0) continue;
            var values = merge.Merge(members);
            await writer.StartRowAsync(ct);
            await writer.WriteAsync(result.ClusterIds[c], NpgsqlDbType.Uuid, ct);
            foreach (var field in ProfileFields.All) await WriteFieldAsync(writer, field, values[(int)field], ct);
            await writer.WriteAsync(members.Count, NpgsqlDbType.Integer, ct);
            await writer.WriteAsync(merge.Sources(members), NpgsqlDbType.Array | NpgsqlDbType.Text, ct);
        }
        await writer.CompleteAsync(ct);
    }

    /// <summary>Every customer and foreign key value a person's records carry, with the person; keys set aside are left out.</summary>
    private static async Task CopyKeysAsync(NpgsqlConnection connection, StitchResult result, IEnumerable<int> records, string suffix, CancellationToken ct)
    {
        var r = result.Records;
        var written = new HashSet<long>();
        await using var writer = await connection.BeginBinaryImportAsync(
            $"COPY {StitchSchema.Schema}.unified_keys{suffix} (key, value, amperity_id) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var record in records)
        {
            if (r.Deleted[record] || r.Keys[record] is not { } keys) continue;
            foreach (var key in keys)
            {
                if (result.SetAsideKeys.Contains(key) || !written.Add(key)) continue;
                await writer.StartRowAsync(ct);
                await writer.WriteAsync(r.KeyNamespaces.ToString((int)(key >> 32)), NpgsqlDbType.Text, ct);
                await writer.WriteAsync(r.KeyValues.ToString((int)(key & 0xFFFFFFFF)), NpgsqlDbType.Text, ct);
                await writer.WriteAsync(result.IdOf(record), NpgsqlDbType.Uuid, ct);
            }
        }
        await writer.CompleteAsync(ct);
    }

    private static async Task WriteFieldAsync(NpgsqlBinaryImporter writer, ProfileField field, string? value, CancellationToken ct)
    {
        if (value is null) await writer.WriteNullAsync(ct);
        else if (field == ProfileField.Birthdate)
            await writer.WriteAsync(DateOnly.ParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture), NpgsqlDbType.Date, ct);
        else await writer.WriteAsync(value, NpgsqlDbType.Text, ct);
    }

    /// <summary>
    /// <c>&lt;source&gt;.&lt;table&gt;_customers</c> for each table with an fk field: its rows and the amperity_id of the
    /// person its key points at (for a table that is an input too, its own record's person when the key is empty).
    /// </summary>
    private static async Task CreateViewsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, StitchResult result, CancellationToken ct)
    {
        foreach (var table in result.ForeignKeyTables)
        {
            var name = table.Table.Table + "_customers";
            if (name.Length > 63)
            {
                result.Notices.Add($"no view {table.Table}_customers: the name is longer than PostgreSQL's 63 characters");
                continue;
            }
            var view = $"{Identifiers.Quote(table.Table.Schema)}.{Identifiers.Quote(name)}";
            var key = Identifiers.Quote(table.Key.Column);
            var own = table.Profile is not null;
            var sql = $"""
                DROP VIEW IF EXISTS {view};
                CREATE VIEW {view} AS
                SELECT t.*, {(own ? "coalesce(k.amperity_id, u.amperity_id)" : "k.amperity_id")} AS amperity_id
                FROM {table.Table.Qualified} t
                LEFT JOIN {StitchSchema.Schema}.unified_keys k ON k.key = {Literal(table.Key.Namespace)} AND k.value = t.{key}::text
                {(own ? $"LEFT JOIN {StitchSchema.Schema}.unified_coalesced u ON u.source = {Literal(table.Table.Schema)} AND u.feed = {Literal(table.Table.Table)} AND u.pk = t.\"_pk\"" : "")};
                COMMENT ON VIEW {view} IS {Literal($"{FeedCatalog.DerivedViewMark} (Stitch): each row of {table.Table} with the amperity_id of its person; made again by every stitch")};
                """;
            await using var savepoint = new NpgsqlCommand("SAVEPOINT customers_view", connection, transaction);
            await savepoint.ExecuteNonQueryAsync(ct);
            try
            {
                await ExecuteAsync(connection, transaction, sql, ct);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateColumn or PostgresErrorCodes.WrongObjectType)
            {
                // A table with its own amperity_id column, or a relation of that name that is not a view: no view, said in the run.
                await ExecuteAsync(connection, transaction, "ROLLBACK TO SAVEPOINT customers_view", ct);
                result.Notices.Add($"no view {table.Table}_customers: {e.MessageText}");
            }
        }
    }

    private static async Task SaveStateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, StitchState state, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO heapd.stitch_state (id, run_id, watermark, fingerprint, model, updated_at) VALUES (1, $1, $2, $3, $4, now())
            ON CONFLICT (id) DO UPDATE SET run_id = EXCLUDED.run_id, watermark = EXCLUDED.watermark, fingerprint = EXCLUDED.fingerprint,
                model = EXCLUDED.model, updated_at = now()
            """, connection, transaction);
        cmd.Parameters.AddWithValue(state.RunId);
        cmd.Parameters.AddWithValue(state.Watermark);
        cmd.Parameters.AddWithValue(state.Fingerprint);
        cmd.Parameters.AddWithValue(NpgsqlDbType.Jsonb, state.Model is null ? DBNull.Value : JsonSerializer.Serialize(state.Model, HeapJson.Options));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, transaction);
        cmd.CommandTimeout = 0;
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static string Literal(string text) => "'" + text.Replace("'", "''") + "'";
}
