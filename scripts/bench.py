"""The measuring half of scripts/bench.sh (which builds, starts the services and generates the data first).

Starts its own daemon on a fresh database, configures it through the admin API, then for each variant (first load,
reload with half the rows changed) and each repetition runs the limit, the shell pipeline and the daemon on every
data set, interleaved so that drift of this shared machine hits every path alike. Prints one table (medians) and
optionally writes it as JSON.
"""
import argparse, json, os, shlex, statistics, subprocess, sys, time
import boto3
import benchlib

ROWS, DATA, BENCH = int(os.environ["ROWS"]), os.environ["DATA"], os.environ["BENCH"]
PASSPHRASE, DLL = os.environ["PASSPHRASE"], os.environ["HEAPD_DLL"]
S3_ENDPOINT, BUCKET, DB = os.environ["S3_ENDPOINT"], "heapd-bench", "heapd_bench"
SETS = {  # name -> (objects per variant, courier file settings, PGP)
    "avro": (lambda v: [f"{v}/avro/{p}" for p in sorted(os.listdir(f"{DATA}/{v}/avro"))], {"format": "avro"}, False),
    "pgp-csv": (lambda v: [f"{v}/pageviews.csv.gz.gpg"], {"format": "csv", "compression": "gzip"}, True),
    "parquet": (lambda v: [f"{v}/pageviews.parquet"], {"format": "parquet"}, False),
}
COLUMNS = ["event_id", "user_id", "session_id", "time", "library", "platform", "device_type", "country", "region", "city",
           "ip", "referrer", "landing_page", "browser", "search_keyword", "utm_source", "utm_campaign", "utm_medium",
           "utm_term", "utm_content", "domain", "path", "hash", "query", "title"]


def psql(sql, db=DB):
    """Runs SQL statements, each on its own (VACUUM cannot run in a transaction); returns their output."""
    return benchlib.psql(sql, db)


def psql_command(db=DB):
    return benchlib.psql_command(db)


def psql_script(path, data=None, shell=None):
    """Runs a script whose \\copy reads psql's stdin: a local file, or the end of a shell pipeline."""
    if shell:
        command = f"{shell} | {shlex.join(psql_command() + ['-f', path])}"
        return subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, capture_output=True, text=True).stdout
    with open(data) as stdin:
        return subprocess.run(psql_command() + ["-f", path], stdin=stdin, check=True, capture_output=True, text=True).stdout


def merge_script(table, variant):
    """The limit's load, as a user would script it: \\copy the CSV into a temporary staging table, then the daemon's
    merge (DISTINCT ON the key, newest wins, update only when newer and changed), in one transaction. Epoch-ms times
    are converted as the daemon converts them; _pk is the key's text, _uuid_pk an md5 UUID of it."""
    data = [f'"{c}"' for c in COLUMNS]
    stage_cols = ", ".join(f'"{c}" {"bigint" if i < 4 else "text"}' for i, c in enumerate(COLUMNS))
    select = ", ".join("to_timestamp(\"time\" / 1000.0) AS \"time\"" if c == "time" else f'"{c}"' for c in COLUMNS)
    changed = f"({', '.join('t.' + c for c in data)}) IS DISTINCT FROM ({', '.join('EXCLUDED.' + c for c in data)})"
    path = f"{BENCH}/limit-{table.replace('.', '-')}.sql"
    with open(path, "w") as f:
        f.write(f"""BEGIN;
CREATE TEMP TABLE stage ({stage_cols}) ON COMMIT DROP;
\\copy stage FROM pstdin (FORMAT csv, HEADER true)
WITH merged AS (
    INSERT INTO {table} AS t ({', '.join(data)}, "_pk", "_uuid_pk", "_updated", "_source_file", "_loaded_at")
    SELECT DISTINCT ON ("_pk") * FROM (
        SELECT {select}, event_id::text AS "_pk", md5('heap.pageviews' || chr(10) || event_id)::uuid AS "_uuid_pk",
               (SELECT nextval('heapd.file_load_seq')) << 32 AS "_updated", 'file:{variant}' AS "_source_file", now()
        FROM stage) s
    ORDER BY "_pk", "time" DESC, "_updated" DESC
    ON CONFLICT ("_pk") DO UPDATE SET
        {', '.join(f'{c} = EXCLUDED.{c}' for c in data)},
        "_uuid_pk" = EXCLUDED."_uuid_pk", "_updated" = EXCLUDED."_updated",
        "_source_file" = EXCLUDED."_source_file", "_loaded_at" = EXCLUDED."_loaded_at"
    WHERE (EXCLUDED."time", EXCLUDED."_updated") > (t."time", t."_updated") AND {changed}
    RETURNING "_source_file", (xmax = 0) AS inserted)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged;
COMMIT;
""")
    return path


class Daemon(benchlib.Daemon):
    def __init__(self):
        super().__init__(DLL, DB, f"{BENCH}/daemon.log")

    def run(self, courier, watcher=None):
        """One timed run (forceReload): seconds from the run's start to its end, the daemon's peak RSS, the run.
        With a watcher, the run's live page is open in the browser while it runs."""
        self.reset_peak()
        cpu = self.cpu_seconds()
        run = super().run(courier, {"forceReload": True}, started=watcher.open if watcher else None)
        if watcher:
            watcher.close()
        seconds = (parse_time(run["finishedAt"]) - parse_time(run["startedAt"])).total_seconds()
        print(f"bench: {courier}{' with its run page open' if watcher else ''}: {seconds:.2f} s, "
              f"daemon CPU {self.cpu_seconds() - cpu:.2f} s", file=sys.stderr)
        return seconds, self.peak_rss_mb(), run


class RunPageWatcher:
    """Headless Chromium signed in to the console (tests/HeapDaemon.RunPageWatcher), keeping a run's live page open."""

    def __init__(self, daemon):
        self.proc = subprocess.Popen(["dotnet", os.environ["HEAPD_WATCHER_DLL"], daemon.url], env=dict(os.environ, HEAPD_WATCHER_TOKEN=daemon.token),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.expect("ready")

    def expect(self, word):
        line = self.proc.stdout.readline().strip()
        if not line.startswith(word):
            sys.exit(f"bench: the run page watcher said {line!r} instead of {word!r}")
        return line

    def open(self, run_id):
        self.proc.stdin.write(f"open runs/{run_id}\n")
        self.proc.stdin.flush()
        print(f"bench: run page of {run_id} live after {self.expect('opened').split()[1]} ms", file=sys.stderr)

    def close(self):
        self.proc.stdin.write("close\n")
        self.proc.stdin.flush()
        self.expect("closed")

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(30)


parse_time = benchlib.parse_time


def timed(action):
    start = time.monotonic()
    out = action()
    return time.monotonic() - start, out


def prepare_table(table, variant):
    """Empty for a first load; the first load's rows (a snapshot the daemon loaded) for a reload. Vacuumed and
    checkpointed either way, so no path pays for the one before."""
    script = f"TRUNCATE {table};"
    if variant == "reload":
        script += f" INSERT INTO {table} SELECT * FROM bench.snapshot;"
    psql(script)
    psql(f"VACUUM (ANALYZE) {table}; CHECKPOINT;")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--with-run-page", action="store_true",
                        help="time each daemon run again with its live console page open in headless Chromium (path heapd+page)")
    args = parser.parse_args()
    sets = args.sets.split(",")

    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db="postgres")
    psql(f"CREATE DATABASE {DB}", db="postgres")
    settings = benchlib.server_settings(DB)

    s3 = boto3.client("s3", endpoint_url=S3_ENDPOINT, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
    if BUCKET not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=BUCKET)
    sizes = {}
    for name, (objects, _, _) in SETS.items():
        for variant in ("first", "reload"):
            for key in objects(variant):
                s3.upload_file(f"{DATA}/{key}", BUCKET, f"{ROWS}/{key}")
                sizes[(name, variant)] = sizes.get((name, variant), 0) + os.path.getsize(f"{DATA}/{key}")

    daemon = Daemon()
    watcher = None
    try:
        daemon.api("POST", "/api/credentials", {"id": "bench-s3", "kind": "s3", "bucket": BUCKET, "region": "us-east-1",
                                                "endpointUrl": S3_ENDPOINT, "authMode": "keys", "accessKeyId": "bench", "secretAccessKey": "bench"})
        with open(f"{os.environ['GNUPGHOME']}/bench.asc") as f:
            daemon.api("POST", "/api/credentials", {"id": "bench-pgp", "kind": "pgp", "privateKey": f.read(), "passphrase": PASSPHRASE})
        fields = [{"name": c, "type": "integer" if i < 3 else "datetime" if i == 3 else "string", "primaryKey": i == 0,
                   **({"epoch": "milliseconds"} if c == "time" else {})} for i, c in enumerate(COLUMNS)]
        daemon.api("POST", "/api/feeds", {"source": "heap", "name": "pageviews", "fields": fields, "lastUpdatedField": "time"})
        daemon.api("POST", "/api/feeds/heap-pageviews/activate")
        for name, (objects, file_settings, pgp) in SETS.items():
            for variant in ("first", "reload"):
                daemon.api("POST", "/api/couriers", {"id": f"{name}-{variant}", "credentialId": "bench-s3", "files": [
                    {"key": f"{ROWS}/{key}", "feedId": "heap-pageviews", "settings": file_settings,
                     **({"pgpCredentialId": "bench-pgp"} if pgp else {})} for key in objects(variant)]})
        psql("CREATE SCHEMA bench; CREATE TABLE bench.pageviews (LIKE heap.pageviews INCLUDING ALL);")
        cores = os.cpu_count()
        with open("/proc/meminfo") as f:
            memory_gb = int(f.readline().split()[1]) / 1024 / 1024

        # An always-on daemon is warm: one untimed load per set first, else the first repetition times the JIT
        # (7.7 s of daemon CPU for 200 000 Avro rows cold, 2.0 s warm, measured here).
        for name in sets:
            prepare_table("heap.pageviews", "first")
            daemon.run(f"{name}-first")
        if args.with_run_page:
            watcher = RunPageWatcher(daemon)
            prepare_table("heap.pageviews", "first")
            daemon.run(f"{sets[0]}-first", watcher)  # the console's pages warm too
        loads = []  # the load average over the last minute, after each timed run

        results = {}  # (set, variant, path) -> list of (seconds, rss)
        shell_url = f"{S3_ENDPOINT}/{BUCKET}/{ROWS}"
        for variant in ("first", "reload"):
            limit_sql = merge_script("bench.pageviews", variant)
            expected = (ROWS, 0) if variant == "first" else (0, ROWS // 2)
            for rep in range(args.reps):
                prepare_table("bench.pageviews", variant)
                seconds, out = timed(lambda: psql_script(limit_sql, data=f"{DATA}/{variant}/pageviews.csv"))
                check(out, expected, "limit", variant)
                results.setdefault(("csv", variant, "limit"), []).append((seconds, None))
                if "pgp-csv" in sets:
                    prepare_table("bench.pageviews", variant)
                    seconds, out = timed(lambda: psql_script(limit_sql, shell=(
                        f"curl -sf {shell_url}/{variant}/pageviews.csv.gz.gpg | gpg --batch --quiet --pinentry-mode loopback "
                        f"--passphrase {PASSPHRASE} --decrypt | gunzip")))
                    check(out, expected, "shell pipeline", variant)
                    results.setdefault(("pgp-csv", variant, "shell"), []).append((seconds, None))
                for name in sets:
                    prepare_table("heap.pageviews", variant)
                    seconds, rss, run = daemon.run(f"{name}-{variant}")
                    got = (sum(f["rowsInserted"] for f in run["files"]), sum(f["rowsUpdated"] for f in run["files"]))
                    check(f"{got[0]}|{got[1]}", expected, f"HeapDaemon {name}", variant)
                    results.setdefault((name, variant, "heapdaemon"), []).append((seconds, rss))
                    loads.append(os.getloadavg()[0])
                    if watcher:
                        prepare_table("heap.pageviews", variant)
                        seconds, rss, run = daemon.run(f"{name}-{variant}", watcher)
                        got = (sum(f["rowsInserted"] for f in run["files"]), sum(f["rowsUpdated"] for f in run["files"]))
                        check(f"{got[0]}|{got[1]}", expected, f"HeapDaemon {name} with its run page", variant)
                        results.setdefault((name, variant, "heapd+page"), []).append((seconds, rss))
                        loads.append(os.getloadavg()[0])
                    if variant == "first" and rep == 0 and name == sets[0]:
                        psql("CREATE TABLE bench.snapshot AS SELECT * FROM heap.pageviews")
                print(f"bench: {variant} load, repetition {rep + 1} of {args.reps} done", file=sys.stderr)
        report(results, sets, sizes, settings, cores, memory_gb, args, loads)
    finally:
        if watcher:
            watcher.stop()
        daemon.stop()


def check(out, expected, path, variant):
    got = tuple(int(x) for x in out.strip().split("|"))
    if got != expected:
        sys.exit(f"bench: {path} ({variant}) inserted/updated {got}, expected {expected}")


def report(results, sets, sizes, settings, cores, memory_gb, args, loads):
    med = {k: statistics.median(s for s, _ in v) for k, v in results.items()}
    rows, out = ROWS, []
    print(f"\nHeapDaemon benchmark: {rows:,} Heap pageview rows ({len(COLUMNS)} columns), median of {args.reps} runs")
    print(f"machine: {cores} cores, {memory_gb:.1f} GB; PostgreSQL {settings['server_version']}: fsync={settings['fsync']}, "
          f"synchronous_commit={settings['synchronous_commit']}, full_page_writes={settings['full_page_writes']}, "
          f"shared_buffers={int(settings['shared_buffers']) * 8 // 1024}MB, max_wal_size={settings['max_wal_size']}MB")
    print(f"load average (1 min) after the daemon's timed runs: {min(loads):.1f} to {max(loads):.1f}")
    line = "{:<8} {:<7} {:<11} {:>8} {:>10} {:>8} {:>9} {:>9} {:>8}"
    print(line.format("set", "load", "path", "seconds", "rows/s", "MB/s", "vs limit", "vs shell", "peak MB"))
    for variant in ("first", "reload"):
        limit = med[("csv", variant, "limit")]
        shell = med.get(("pgp-csv", variant, "shell"))
        entries = [("csv", "limit")] + ([("pgp-csv", "shell")] if shell else []) + [(s, "heapdaemon") for s in sets] + \
            ([(s, "heapd+page") for s in sets] if args.with_run_page else [])
        for name, path in entries:
            seconds = med[(name, variant, path)]
            size = os.path.getsize(f"{DATA}/{variant}/pageviews.csv") if name == "csv" else sizes[(name, variant)]
            peak = max((r for _, r in results[(name, variant, path)] if r is not None), default=None)
            ratio_limit = limit / seconds
            ratio_shell = shell / seconds if shell and name == "pgp-csv" else None
            print(line.format(name, variant, path, f"{seconds:.2f}", f"{rows / seconds:,.0f}", f"{size / 1e6 / seconds:.1f}",
                              f"{ratio_limit:.2f}", f"{ratio_shell:.2f}" if ratio_shell else "", f"{peak:.0f}" if peak else ""))
            out.append({"set": name, "load": variant, "path": path, "rows": rows, "seconds": round(seconds, 3),
                        "runs": [round(s, 3) for s, _ in results[(name, variant, path)]], "rows_per_s": round(rows / seconds),
                        "mb_per_s": round(size / 1e6 / seconds, 1), "ratio_to_limit": round(ratio_limit, 3),
                        "ratio_to_shell": round(ratio_shell, 3) if ratio_shell else None,
                        "peak_rss_mb": round(peak, 1) if peak else None})
    print("ratios: the other path's time / this path's time, so above 1 is faster; peak MB: the daemon's VmHWM during the run")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "reps": args.reps, "cores": cores, "memory_gb": round(memory_gb, 1), "postgres": settings,
                       "load_average": [round(x, 2) for x in loads],
                       "results": out}, f, indent=2)


if __name__ == "__main__":
    main()
