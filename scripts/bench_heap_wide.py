"""The measuring half of scripts/bench-heap-wide.sh (which builds and starts the services first).

Uploads the wide export once (tests/HeapDaemon.SampleData, --wide), then for each parallelism starts a daemon on a
fresh database, makes a Heap courier, runs it and times the run from its start to its end (as heapd.runs has them).
Before the runs it measures what the S3 emulator alone serves: GETs of the export's own objects from a plain HTTP
client, the ceiling of a load that GETs each file once.
"""
import argparse, http.client, os, subprocess, sys, threading, time, urllib.parse, urllib.request
import xml.etree.ElementTree as ET

import benchlib

BENCH, DLL, SAMPLE = os.environ["BENCH"], os.environ["HEAPD_DLL"], os.environ["HEAP_SAMPLE_DLL"]
S3_ENDPOINT, BUCKET, DB = os.environ["S3_ENDPOINT"], "heapd-bench-wide", "heapd_bench_wide"


def psql(sql, db=DB):
    return benchlib.psql(sql, db)


class WideDaemon(benchlib.Daemon):
    def __init__(self, parallelism, settings):
        super().__init__(DLL, DB, f"{BENCH}/daemon-wide.log",
                         dict(settings, **({} if parallelism == "default" else {"Loading__Parallelism": parallelism})))

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


# This moto takes any credentials, but refuses an anonymous GET of a private object: a header naming some will do.
ANY_CREDENTIALS = {"Authorization": "AWS bench:unsigned"}


def bucket_keys(host, port):
    """Every key of the bucket, by ListObjectsV2."""
    keys, token = [], None
    conn = http.client.HTTPConnection(host, port, timeout=60)
    while True:
        query = "list-type=2" + (f"&continuation-token={urllib.parse.quote(token, safe='')}" if token else "")
        conn.request("GET", f"/{BUCKET}?{query}", headers=ANY_CREDENTIALS)
        root = ET.fromstring(conn.getresponse().read())
        ns = {"s3": root.tag[1:].split("}")[0]} if root.tag.startswith("{") else {}
        find = (lambda e, name: e.findall(f"s3:{name}", ns)) if ns else (lambda e, name: e.findall(name))
        keys += [c.text for content in find(root, "Contents") for c in find(content, "Key")]
        truncated = find(root, "IsTruncated")
        if not truncated or truncated[0].text != "true":
            conn.close()
            return keys
        token = find(root, "NextContinuationToken")[0].text


def emulator_gets_per_second(keys, concurrency):
    """GETs of all the keys, whole, from `concurrency` threads each on one keep-alive connection: GET/s."""
    endpoint = urllib.parse.urlsplit(S3_ENDPOINT)
    shares = [keys[i::concurrency] for i in range(concurrency)]
    failures = []

    def get_all(share):
        conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=60)
        for key in share:
            conn.request("GET", f"/{BUCKET}/{urllib.parse.quote(key)}", headers=ANY_CREDENTIALS)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                failures.append(f"{key}: HTTP {resp.status}")
        conn.close()

    threads = [threading.Thread(target=get_all, args=(share,)) for share in shares]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    if failures:
        sys.exit(f"bench-heap-wide: the emulator's GETs failed: {failures[0]}")
    return len(keys) / seconds


def emulator_ceiling():
    """The best GET/s of the export's objects from moto alone (concurrency 1 and 4), and the load average before."""
    endpoint = urllib.parse.urlsplit(S3_ENDPOINT)
    keys = [k for k in bucket_keys(endpoint.hostname, endpoint.port) if k.endswith(".avro")]
    load = os.getloadavg()[0]
    rates = {c: emulator_gets_per_second(keys, c) for c in (1, 4)}
    return len(keys), rates, load


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--parallelism", default="1,default")
    parser.add_argument("--event-tables", default="120")
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME:Key=value,Key=value (e.g. 'one-commit-a-file:Loading__GroupFiles=1'): daemon settings to run each "
                             "parallelism with, once per variant, in the order given; without any, the defaults")
    args = parser.parse_args()

    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db="postgres")
    psql(f"CREATE DATABASE {DB}", db="postgres")
    settings = benchlib.server_settings(DB)

    print("bench-heap-wide: uploading the wide export", file=sys.stderr)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    out = subprocess.run(["dotnet", SAMPLE, "--s3", S3_ENDPOINT, "--bucket", BUCKET, "--wide", args.event_tables],
                         env=env, check=True, capture_output=True, text=True).stdout
    expected = {line.split()[1].rstrip(":"): int(line.split()[2]) for line in out.splitlines() if line.startswith("expected ")}

    ceiling_keys, ceiling_rates, ceiling_load = emulator_ceiling()
    print(f"bench-heap-wide: S3 emulator alone: {max(ceiling_rates.values()):.0f} GET/s", file=sys.stderr)

    variants = [(name, dict(kv.split("=", 1) for kv in pairs.split(",") if kv))
                for name, _, pairs in (v.partition(":") for v in args.variant)] or [("", {})]
    results = []
    for (variant, daemon_settings), parallelism in [(v, p) for v in variants for p in args.parallelism.split(",")]:
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", db="postgres")
        psql(f"CREATE DATABASE {DB}", db="postgres")
        daemon = WideDaemon(parallelism, daemon_settings)
        try:
            daemon.api("POST", "/api/credentials", {"id": "bench-s3", "kind": "s3", "bucket": BUCKET, "region": "us-east-1",
                                                    "endpointUrl": S3_ENDPOINT, "authMode": "keys", "accessKeyId": "bench", "secretAccessKey": "bench"})
            daemon.api("POST", "/api/couriers", {"id": "wide", "credentialId": "bench-s3", "kind": "heap", "source": "wide"})
            load_before = os.getloadavg()[0]
            run = daemon.run("wide")
            run_id = run["id"]
            load_after = os.getloadavg()[0]
            phases = daemon.phases()
        finally:
            daemon.stop()
        seconds = (benchlib.parse_time(run["finishedAt"]) - benchlib.parse_time(run["startedAt"])).total_seconds()
        files = int(psql(f"SELECT count(*) FROM heapd.run_files WHERE run_id = '{run_id}' AND status = 'loaded'"))
        rows = int(psql(f"SELECT sum(rows_read) FROM heapd.run_files WHERE run_id = '{run_id}' AND status = 'loaded'"))
        for table, count in expected.items():
            have = int(psql(f"SELECT count(*) FROM wide.{table}"))
            if have != count:
                sys.exit(f"bench-heap-wide: wide.{table} has {have} rows, expected {count}")
        label = (parallelism if parallelism != "default" else f"default ({os.cpu_count()})") + (f" {variant}" if variant else "")
        results.append((label, files, rows, seconds, load_before, load_after, phases))
        print(f"bench-heap-wide: parallelism {label}: {files} files, {rows} rows in {seconds:.2f} s", file=sys.stderr)

    print(f"PostgreSQL {settings['server_version']} (fsync on, synchronous_commit on), {os.cpu_count()} cores")
    width = max(14, *(len(r[0]) + 2 for r in results))
    print(f"{'parallelism':<{width}}{'files':>7}{'rows':>8}{'seconds':>9}{'files/s':>9}{'rows/s':>9}{'of S3':>7}  load average (1 min, before/after)")
    for label, files, rows, seconds, before, after, _ in results:
        print(f"{label:<{width}}{files:>7}{rows:>8}{seconds:>9.2f}{files / seconds:>9.0f}{rows / seconds:>9.0f}{files / seconds / max(ceiling_rates.values()):>7.0%}  {before:.2f} / {after:.2f}")
    # "of S3": files/s as a share of the emulator's GET/s (one GET per file at best).
    print(f"S3 emulator alone: {max(ceiling_rates.values()):.0f} GET/s (the best of a plain keep-alive HTTP client GETting the "
          f"export's {ceiling_keys} Avro objects at concurrency " +
          ", ".join(f"{c}: {r:.0f}" for c, r in ceiling_rates.items()) + f"; load average {ceiling_load:.2f} before)")
    print("where a file's time goes (heapd_file_phase_seconds): mean ms per time the phase ran, times it ran, and seconds in all")
    for label, _, _, seconds, _, _, phases in results:
        order = ["running", "get", "ledger", "begin", "stream", "commit", "record", "dump"]
        cells = [f"{p} {phases[p][0] * 1000 / phases[p][1]:.1f} ms x{phases[p][1]:.0f} ({phases[p][0]:.1f} s)"
                 for p in order + sorted(set(phases) - set(order)) if p in phases and phases[p][1] > 0]
        print(f"  {label}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
