"""What the benchmark scripts share: psql, and a daemon process of their own on a database of their own."""
import base64, datetime as dt, json, os, secrets, socket, subprocess, sys, time
import urllib.error, urllib.request

PG = dict(host=os.environ.get("PGHOST", "127.0.0.1"), port=os.environ.get("PGPORT", "25432"), user=os.environ.get("PGUSER", "postgres"))


def psql_command(db):
    return ["psql", f"host={PG['host']} port={PG['port']} user={PG['user']} dbname={db}", "-XqtA", "-v", "ON_ERROR_STOP=1"]


def psql(sql, db):
    """Runs SQL statements, each on its own (VACUUM cannot run in a transaction); returns their output."""
    return subprocess.run(psql_command(db), input=sql, check=True, capture_output=True, text=True).stdout


def server_settings(db):
    """PostgreSQL's settings the figures depend on; refuses a cluster that does not write durably."""
    settings = dict(line.split("|", 1) for line in psql(
        "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', "
        "'shared_buffers', 'max_wal_size', 'wal_level', 'server_version') ORDER BY name", db).splitlines())
    if settings["fsync"] != "on" or settings["synchronous_commit"] != "on":
        sys.exit("bench: PostgreSQL runs with fsync or synchronous_commit off; restart it with HEAPD_PG_DURABLE=1 "
                 "(scripts/services.sh stop, then HEAPD_PG_DURABLE=1 scripts/services.sh start)")
    return settings


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_time(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Daemon:
    """The daemon as a process of its own (dotnet <dll>), on database <db>, with its log at <log>."""

    def __init__(self, dll, db, log, settings=None, master_key=None):
        """master_key: the Secrets:MasterKey (base64), which every node of a cluster shares; by default a new one."""
        self.url = f"http://127.0.0.1:{free_port()}"
        self.token = secrets.token_hex(24)
        env = dict(os.environ, ConnectionStrings__Postgres=f"Host={PG['host']};Port={PG['port']};Username={PG['user']};Database={db}",
                   HEAPD__Admin__Token=self.token, HEAPD__Secrets__MasterKey=master_key or base64.b64encode(secrets.token_bytes(32)).decode(),
                   Urls=self.url, Logging__LogLevel__Default="Warning", **(settings or {}))
        self.log = open(log, "w")
        self.proc = subprocess.Popen(["dotnet", dll], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        # A loaded machine can take minutes to answer its first /readyz; one that never gets ready is stopped.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/readyz", timeout=2).status == 200:
                    return
            except (urllib.error.URLError, OSError):  # refused, reset, or timed out
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        self.proc.kill()
        sys.exit(f"bench: the daemon did not become ready; see {log}")

    def api(self, method, path, body=None, ok=(200, 201, 202), timeout=60):
        req = urllib.request.Request(self.url + path, data=None if body is None else json.dumps(body).encode(), method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if status not in ok:
            sys.exit(f"bench: {method} {path} -> {status}: {text}")
        return json.loads(text) if text else None

    def reset_peak(self):
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak resident set, to the current one

    def peak_rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def run(self, courier, body=None, started=None):
        """Runs a courier and waits for it; returns the run. started(run_id) is called once the run is accepted."""
        run_id = self.api("POST", f"/api/couriers/{courier}/runs", body or {})["runId"]
        if started:
            started(run_id)
        while True:
            run = self.api("GET", f"/api/runs/{run_id}")["run"]
            if run["status"] not in ("queued", "running"):
                break
            time.sleep(0.1)
        if run["status"] != "succeeded":
            sys.exit(f"bench: run {run_id} of {courier} {run['status']}: {run.get('message')}")
        return run

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()
