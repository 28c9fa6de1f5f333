using Npgsql;

namespace HeapDaemon.Actors.Loading;

/// <summary>
/// The daemon's own tables in schema <c>heapd</c>, and the empty <c>akka</c> schema the journal creates its tables in.
/// Created on start, idempotently, under an advisory lock so two daemons starting on one database do not race.
/// </summary>
public static class MetadataSchema
{
    public const string JournalSchema = "akka";

    private const string Ddl = """
        SELECT pg_advisory_xact_lock(hashtext('heapd.metadata-schema'));
        CREATE SCHEMA IF NOT EXISTS heapd;
        CREATE SCHEMA IF NOT EXISTS akka;
        -- Orders file loads: part of _updated, so a later load wins a tie on the last-updated value.
        CREATE SEQUENCE IF NOT EXISTS heapd.file_load_seq;
        CREATE TABLE IF NOT EXISTS heapd.credentials (
            id          text PRIMARY KEY,
            kind        text NOT NULL,
            settings    jsonb NOT NULL,
            secret      bytea,
            created_at  timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS heapd.feeds (
            id            text PRIMARY KEY,
            source        text NOT NULL,
            name          text NOT NULL,
            definition    jsonb NOT NULL,
            active        boolean NOT NULL DEFAULT false,
            activated_at  timestamptz,
            updated_at    timestamptz NOT NULL DEFAULT now(),
            UNIQUE (source, name));
        CREATE TABLE IF NOT EXISTS heapd.runs (
            id            uuid PRIMARY KEY,
            courier_id    text NOT NULL,
            status        text NOT NULL,
            run_date      date NOT NULL,
            force_reload  boolean NOT NULL,
            requested_at  timestamptz NOT NULL DEFAULT now(),
            started_at    timestamptz,
            finished_at   timestamptz,
            message       text);
        CREATE INDEX IF NOT EXISTS runs_courier ON heapd.runs (courier_id, requested_at DESC);
        -- A run covers run_date (inclusive) to run_date_to (exclusive); request keeps every option it was asked with.
        ALTER TABLE heapd.runs ADD COLUMN IF NOT EXISTS run_date_to date;
        ALTER TABLE heapd.runs ADD COLUMN IF NOT EXISTS request jsonb;
        ALTER TABLE heapd.runs ADD COLUMN IF NOT EXISTS trigger text NOT NULL DEFAULT 'api';
        -- A retry (trigger 'retry') names the run it asks again; earlier rows have none.
        ALTER TABLE heapd.runs ADD COLUMN IF NOT EXISTS retry_of uuid;
        -- A courier's recent runs and its last successful run date are read from here (RunStore.HistoryAsync).
        CREATE INDEX IF NOT EXISTS runs_courier_finished ON heapd.runs (courier_id, finished_at DESC) WHERE finished_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS runs_courier_succeeded ON heapd.runs (courier_id, run_date DESC) WHERE status = 'succeeded';
        -- The daemon's run history, newest first, by status or not (RunHistory).
        CREATE INDEX IF NOT EXISTS runs_requested ON heapd.runs (requested_at DESC, id DESC);
        CREATE INDEX IF NOT EXISTS runs_status_requested ON heapd.runs (status, requested_at DESC, id DESC);
        CREATE TABLE IF NOT EXISTS heapd.run_files (
            run_id         uuid NOT NULL REFERENCES heapd.runs (id) ON DELETE CASCADE,
            ordinal        int NOT NULL,
            bucket         text NOT NULL,
            object_key     text NOT NULL,
            feed_id        text NOT NULL,
            status         text NOT NULL,
            etag           text,
            bytes_read     bigint NOT NULL DEFAULT 0,
            rows_read      bigint NOT NULL DEFAULT 0,
            rows_inserted  bigint NOT NULL DEFAULT 0,
            rows_updated   bigint NOT NULL DEFAULT 0,
            rows_rejected  bigint NOT NULL DEFAULT 0,
            message        text,
            started_at     timestamptz,
            finished_at    timestamptz,
            PRIMARY KEY (run_id, ordinal));
        -- One row per object version loaded into a feed, written in the transaction that loads its rows.
        CREATE TABLE IF NOT EXISTS heapd.load_ledger (
            bucket         text NOT NULL,
            object_key     text NOT NULL,
            etag           text NOT NULL,
            feed_id        text NOT NULL,
            run_id         uuid NOT NULL,
            rows_loaded    bigint NOT NULL,
            rows_rejected  bigint NOT NULL,
            loaded_at      timestamptz NOT NULL DEFAULT now(),
            version_id     text NOT NULL DEFAULT '',
            PRIMARY KEY (bucket, object_key, feed_id, etag, version_id));
        -- Ledgers from before version ids: add the column and key on it too.
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                           WHERE table_schema = 'heapd' AND table_name = 'load_ledger' AND column_name = 'version_id') THEN
                ALTER TABLE heapd.load_ledger ADD COLUMN version_id text NOT NULL DEFAULT '';
                ALTER TABLE heapd.load_ledger DROP CONSTRAINT load_ledger_pkey;
                ALTER TABLE heapd.load_ledger ADD PRIMARY KEY (bucket, object_key, feed_id, etag, version_id);
            END IF;
        END $$;
        -- A version a user chose to skip (a failed file resolved as "skip"): later runs pass over it as if loaded.
        ALTER TABLE heapd.load_ledger ADD COLUMN IF NOT EXISTS skipped boolean NOT NULL DEFAULT false;
        -- Which version of a key was loaded last (Loading/LoadLedger.cs): load_seq is the file's number in
        -- heapd.file_load_seq (the one in _updated), so it orders loads as the table's rows do; load_id is the
        -- first file's number of the load (one transaction), which a truncate load's files share. Ledgers from
        -- before get numbers in the order their rows were loaded, below every later load's.
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                           WHERE table_schema = 'heapd' AND table_name = 'load_ledger' AND column_name = 'load_seq') THEN
                ALTER TABLE heapd.load_ledger ADD COLUMN load_seq bigint, ADD COLUMN load_id bigint;
                UPDATE heapd.load_ledger l SET load_seq = o.n, load_id = o.n
                FROM (SELECT ctid, (SELECT last_value FROM heapd.file_load_seq) + row_number() OVER (ORDER BY loaded_at) AS n
                      FROM heapd.load_ledger) o
                WHERE l.ctid = o.ctid;
                PERFORM setval('heapd.file_load_seq', greatest((SELECT max(load_seq) FROM heapd.load_ledger), (SELECT last_value FROM heapd.file_load_seq)));
                ALTER TABLE heapd.load_ledger ALTER COLUMN load_seq SET DEFAULT nextval('heapd.file_load_seq'), ALTER COLUMN load_seq SET NOT NULL;
            END IF;
        END $$;
        CREATE INDEX IF NOT EXISTS load_ledger_feed_seq ON heapd.load_ledger (feed_id, load_seq);
        CREATE TABLE IF NOT EXISTS heapd.rejects (
            run_id      uuid NOT NULL,
            object_key  text NOT NULL,
            line        bigint NOT NULL,
            raw         text NOT NULL,
            reason      text NOT NULL);
        CREATE INDEX IF NOT EXISTS rejects_run ON heapd.rejects (run_id, object_key, line);
        -- The last physical line of a reject over several (a quoted field with line breaks, a stray quote's fold);
        -- null in rows from before, which were one line each.
        ALTER TABLE heapd.rejects ADD COLUMN IF NOT EXISTS line_end bigint;
        -- Heap couriers: the dumps, tables of a dump and files they have applied (Heap/HeapProgress.cs).
        CREATE TABLE IF NOT EXISTS heapd.heap_dumps (
            courier_id    text NOT NULL,
            dump_id       bigint NOT NULL,
            manifest_key  text NOT NULL,
            applied_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (courier_id, dump_id));
        CREATE TABLE IF NOT EXISTS heapd.heap_tables (
            courier_id  text NOT NULL,
            dump_id     bigint NOT NULL,
            table_name  text NOT NULL,
            replaced    boolean NOT NULL,
            status      text NOT NULL,
            message     text,
            applied_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (courier_id, dump_id, table_name));
        CREATE TABLE IF NOT EXISTS heapd.heap_files (
            courier_id  text NOT NULL,
            table_name  text NOT NULL,
            dump_id     bigint NOT NULL,
            object_key  text NOT NULL,
            part        bigint NOT NULL,
            run_id      uuid NOT NULL,
            applied_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (courier_id, table_name, object_key));
        -- The ETag of the content applied, so a part file delivered again with other content is applied again
        -- (null in rows from before: taken as unchanged).
        ALTER TABLE heapd.heap_files ADD COLUMN IF NOT EXISTS etag text;
        -- A dump that failed (and blocks later dumps until it applies or is skipped by request), with the run that last
        -- failed on it; rows from before are dumps applied.
        ALTER TABLE heapd.heap_dumps ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'applied';
        ALTER TABLE heapd.heap_dumps ADD COLUMN IF NOT EXISTS run_id uuid;
        ALTER TABLE heapd.heap_dumps ADD COLUMN IF NOT EXISTS message text;
        -- Webhooks (Notifications/WebhookCatalog.cs): the secret sealed like credentials' (bound to 'webhook:<id>'), and
        -- how the latest delivery ended.
        CREATE TABLE IF NOT EXISTS heapd.webhooks (
            id              text PRIMARY KEY,
            url             text NOT NULL,
            events          text[] NOT NULL,
            description     text,
            secret          bytea NOT NULL,
            created_at      timestamptz NOT NULL DEFAULT now(),
            last_event_id   uuid,
            last_event      text,
            last_delivered  boolean,
            last_attempts   int,
            last_error      text,
            last_at         timestamptz);
        """;

    public static async Task EnsureAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var cmd = new NpgsqlCommand(Ddl, connection, transaction))
            await cmd.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
    }
}
