using Npgsql;

namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// Stitch's own tables in <c>heapd</c> (settings, runs, the state an incremental stitch starts from), made at start;
/// and the shape of the result tables in schema <c>stitch</c>, made by each full stitch and swapped in whole.
/// </summary>
public static class StitchSchema
{
    public const string Schema = "stitch";

    private const string Ddl = """
        SELECT pg_advisory_xact_lock(hashtext('heapd.stitch-schema'));
        CREATE TABLE IF NOT EXISTS heapd.stitch_settings (
            id          int PRIMARY KEY CHECK (id = 1),
            settings    jsonb NOT NULL,
            updated_at  timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS heapd.stitch_runs (
            id            uuid PRIMARY KEY,
            kind          text NOT NULL,
            trigger       text NOT NULL,
            status        text NOT NULL,
            requested_at  timestamptz NOT NULL DEFAULT now(),
            started_at    timestamptz,
            finished_at   timestamptz,
            message       text,
            statistics    jsonb);
        CREATE INDEX IF NOT EXISTS stitch_runs_requested ON heapd.stitch_runs (requested_at DESC);
        -- The attempt running or last run (a stitch that failed for a reason that may pass is tried again).
        ALTER TABLE heapd.stitch_runs ADD COLUMN IF NOT EXISTS attempts int NOT NULL DEFAULT 1;
        -- One row: what the result in schema stitch was made from (written in the transaction that writes the result).
        CREATE TABLE IF NOT EXISTS heapd.stitch_state (
            id             int PRIMARY KEY CHECK (id = 1),
            run_id        uuid NOT NULL,
            watermark      timestamptz NOT NULL,
            fingerprint    text NOT NULL,
            model          jsonb,
            updated_at     timestamptz NOT NULL DEFAULT now());
        """;

    public static async Task EnsureAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var cmd = new NpgsqlCommand(Ddl, connection, transaction))
            await cmd.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>The profile columns of unified_coalesced and merged_customers, in <see cref="ProfileField"/> order.</summary>
    public static string ProfileColumns => string.Join(", ", ProfileFields.All.Select(f => $"{f.Column()} {(f == ProfileField.Birthdate ? "date" : "text")}"));

    /// <summary>The result tables, created under <paramref name="suffix"/> and renamed when swapped in.</summary>
    public static string CreateTables(string suffix) => $"""
        CREATE SCHEMA IF NOT EXISTS {Schema};
        CREATE TABLE {Schema}.unified_coalesced{suffix} (
            amperity_id  uuid NOT NULL,
            source       text NOT NULL,
            feed         text NOT NULL,
            pk           text NOT NULL,
            record_id    bigint NOT NULL,
            {ProfileColumns},
            update_dt    timestamptz);
        CREATE TABLE {Schema}.unified_scores{suffix} (
            record1            bigint NOT NULL,
            record2            bigint NOT NULL,
            source1            text NOT NULL,
            feed1              text NOT NULL,
            pk1                text NOT NULL,
            source2            text NOT NULL,
            feed2              text NOT NULL,
            pk2                text NOT NULL,
            match_weight       real NOT NULL,
            match_probability  real NOT NULL,
            matched            boolean NOT NULL,
            {ComparisonColumns});
        CREATE TABLE {Schema}.merged_customers{suffix} (
            amperity_id   uuid NOT NULL,
            {ProfileColumns},
            record_count  int NOT NULL,
            sources       text[] NOT NULL);
        CREATE TABLE {Schema}.unified_keys{suffix} (
            key          text NOT NULL,
            value        text NOT NULL,
            amperity_id  uuid NOT NULL);
        CREATE TABLE {Schema}.comparison_levels{suffix} (
            comparison   text NOT NULL,
            level        smallint NOT NULL,
            label        text NOT NULL,
            PRIMARY KEY (comparison, level));
        {LevelRows(suffix)}
        """;

    /// <summary>A smallint per comparison in <c>unified_scores</c>: the level the pair reached (see <c>comparison_levels</c>).</summary>
    public static string ComparisonColumns => string.Join(", ", PairComparer.Comparisons.Select(c => $"{PairComparer.Name(c)} smallint NOT NULL"));

    private static string LevelRows(string suffix) =>
        $"INSERT INTO {Schema}.comparison_levels{suffix} VALUES " + string.Join(", ", PairComparer.Comparisons.SelectMany(c =>
            Enumerable.Range(0, PairComparer.Levels[(int)c] + 1).Select(l => $"('{PairComparer.Name(c)}', {l}, '{PairComparer.Label(c, l).Replace("'", "''")}')"))) + ";";

    /// <summary>Each result table's indexes, built on the new table before it is swapped in (named after the final tables).</summary>
    public static IReadOnlyDictionary<string, string> CreateIndexes(string suffix, string generation) => new Dictionary<string, string>
    {
        ["unified_coalesced"] = $"""
            CREATE UNIQUE INDEX unified_coalesced_record_{generation} ON {Schema}.unified_coalesced{suffix} (record_id);
            CREATE UNIQUE INDEX unified_coalesced_pk_{generation} ON {Schema}.unified_coalesced{suffix} (source, feed, pk);
            CREATE INDEX unified_coalesced_amperity_id_{generation} ON {Schema}.unified_coalesced{suffix} (amperity_id);
            """,
        ["unified_scores"] = $"""
            CREATE INDEX unified_scores_record1_{generation} ON {Schema}.unified_scores{suffix} (record1);
            CREATE INDEX unified_scores_record2_{generation} ON {Schema}.unified_scores{suffix} (record2);
            """,
        ["merged_customers"] = $"ALTER TABLE {Schema}.merged_customers{suffix} ADD CONSTRAINT merged_customers_pkey_{generation} PRIMARY KEY (amperity_id);",
        ["unified_keys"] = $"ALTER TABLE {Schema}.unified_keys{suffix} ADD CONSTRAINT unified_keys_pkey_{generation} PRIMARY KEY (key, value);",
        ["comparison_levels"] = "",
    };

    public static readonly string[] Tables = ["unified_coalesced", "unified_scores", "merged_customers", "unified_keys", "comparison_levels"];
}
