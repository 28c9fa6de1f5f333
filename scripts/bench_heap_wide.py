"""The measuring half of scripts/bench-heap-wide.sh (which builds and starts the services first).

Uploads the wide export once (tests/HeapDaemon.SampleData, --wide), then for each parallelism starts a daemon on a
fresh database, makes a Heap courier, runs it and times the run from its start to its end (as heapd.runs has them).
"""
import argparse, base64, datetime as dt, json, os, secrets, socket, subprocess, sys, time
import urllib.error, urllib.request

BENCH, DLL, SAMPLE = os.environ["BENCH"], os.environ["HEAPD_DLL"], os.environ["HEAP_SAMPLE_DLL"]
PG = dict(host=os.environ["PGHOST"], port=os.environ["PGPORT"], user=os.environ["PGUSER"])
S3_ENDPOINT, BUCKET, DB = os.environ["S3_ENDPOINT"], "heapd-bench-wide", "heapd_bench_wide"


def psql(sql, db=DB):
    command = ["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", db, "-v", "ON_ERROR_STOP=1", "-qAtX"]
    return subprocess.run(command, input=sql, check=True, capture_output=True, text=True).stdout


class Daemon:
    def __init__(self, parallelism):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.url = f"http://127.0.0.1:{s.getsockname()[1]}"
        self.token = secrets.token_hex(24)
        env = dict(os.environ, ConnectionStrings__Postgres=f"Host={PG['host']};Port={PG['port']};Username={PG['user']};Database={DB}",
                   HEAPD__Admin__Token=self.token, HEAPD__Secrets__MasterKey=base64.b64encode(secrets.token_bytes(32)).decode(),
                   Urls=self.url, Logging__LogLevel__Default="Warning")
        if parallelism != "default":
            env["Loading__Parallelism"] = parallelism
        self.log = open(f"{BENCH}/daemon-wide.log", "w")
        self.proc = subprocess.Popen(["dotnet", DLL], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/readyz", timeout=2).status == 200:
                    return
            except (urllib.error.URLError, OSError):  # refused, reset, or timed out on a loaded machine
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        self.proc.kill()
        sys.exit(f"bench-heap-wide: the daemon did not become ready; see {BENCH}/daemon-wide.log")

    def api(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, data=None if body is None else json.dumps(body).encode(), method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if status not in (200, 201, 202):
            sys.exit(f"bench-heap-wide: {method} {path} -> {status}: {text}")
        return json.loads(text) if text else None

    def phases(self):
        """heapd_file_phase_seconds: per phase, (seconds in all, times)."""
        req = urllib.request.Request(self.url + "/metrics", headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            text = resp.read().decode()
        found = {}
        for line in text.splitlines():
            for suffix, index in (("_sum", 0), ("_count", 1)):
                prefix = f"heapd_file_phase_seconds{suffix}{{"
                if line.startswith(prefix):
                    phase = line[len(prefix):].split('"')[1]
                    found.setdefault(phase, [0.0, 0])[index] = float(line.rsplit(" ", 1)[1])
        return found

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def parse_time(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parallelism", default="1,default")
    parser.add_argument("--event-tables", default="120")
    args = parser.parse_args()

    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db="postgres")
    psql(f"CREATE DATABASE {DB}", db="postgres")
    settings = dict(line.split("|", 1) for line in psql(
        "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'server_version') ORDER BY name").splitlines())
    if settings["fsync"] != "on" or settings["synchronous_commit"] != "on":
        sys.exit("bench-heap-wide: PostgreSQL runs with fsync or synchronous_commit off; restart it with HEAPD_PG_DURABLE=1 "
                 "(scripts/services.sh stop, then HEAPD_PG_DURABLE=1 scripts/services.sh start)")

    print("bench-heap-wide: uploading the wide export", file=sys.stderr)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    out = subprocess.run(["dotnet", SAMPLE, "--s3", S3_ENDPOINT, "--bucket", BUCKET, "--wide", args.event_tables],
                         env=env, check=True, capture_output=True, text=True).stdout
    expected = {line.split()[1].rstrip(":"): int(line.split()[2]) for line in out.splitlines() if line.startswith("expected ")}

    results = []
    for parallelism in args.parallelism.split(","):
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db="postgres")
        psql(f"CREATE DATABASE {DB}", db="postgres")
        daemon = Daemon(parallelism)
        try:
            daemon.api("POST", "/api/credentials", {"id": "bench-s3", "kind": "s3", "bucket": BUCKET, "region": "us-east-1",
                                                    "endpointUrl": S3_ENDPOINT, "authMode": "keys", "accessKeyId": "bench", "secretAccessKey": "bench"})
            daemon.api("POST", "/api/couriers", {"id": "wide", "credentialId": "bench-s3", "kind": "heap", "source": "wide"})
            load_before = os.getloadavg()[0]
            run_id = daemon.api("POST", "/api/couriers/wide/runs", {})["runId"]
            while True:
                run = daemon.api("GET", f"/api/runs/{run_id}")["run"]
                if run["status"] not in ("queued", "running"):
                    break
                time.sleep(0.2)
            load_after = os.getloadavg()[0]
            phases = daemon.phases()
        finally:
            daemon.stop()
        if run["status"] != "succeeded":
            sys.exit(f"bench-heap-wide: run {run_id} {run['status']}: {run.get('message')}")
        seconds = (parse_time(run["finishedAt"]) - parse_time(run["startedAt"])).total_seconds()
        files = int(psql(f"SELECT count(*) FROM heapd.run_files WHERE run_id = '{run_id}' AND status = 'loaded'"))
        rows = int(psql(f"SELECT sum(rows_read) FROM heapd.run_files WHERE run_id = '{run_id}' AND status = 'loaded'"))
        for table, count in expected.items():
            have = int(psql(f"SELECT count(*) FROM wide.{table}"))
            if have != count:
                sys.exit(f"bench-heap-wide: wide.{table} has {have} rows, expected {count}")
        label = parallelism if parallelism != "default" else f"default ({os.cpu_count()})"
        results.append((label, files, rows, seconds, load_before, load_after, phases))
        print(f"bench-heap-wide: parallelism {label}: {files} files, {rows} rows in {seconds:.2f} s", file=sys.stderr)

    print(f"PostgreSQL {settings['server_version']} (fsync on, synchronous_commit on), {os.cpu_count()} cores")
    print(f"{'parallelism':<14}{'files':>7}{'rows':>8}{'seconds':>9}{'files/s':>9}{'rows/s':>9}  load average (1 min, before/after)")
    for label, files, rows, seconds, before, after, _ in results:
        print(f"{label:<14}{files:>7}{rows:>8}{seconds:>9.2f}{files / seconds:>9.0f}{rows / seconds:>9.0f}  {before:.2f} / {after:.2f}")
    print("where a file's time goes (heapd_file_phase_seconds): mean ms per time the phase ran, times it ran, and seconds in all")
    for label, _, _, seconds, _, _, phases in results:
        order = ["running", "get", "ledger", "begin", "stream", "commit", "record", "dump"]
        cells = [f"{p} {phases[p][0] * 1000 / phases[p][1]:.1f} ms x{phases[p][1]:.0f} ({phases[p][0]:.1f} s)"
                 for p in order + sorted(set(phases) - set(order)) if p in phases and phases[p][1] > 0]
        print(f"  {label}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
