"""The loads half of scripts/bench-cluster.sh (--loads): the same courier runs on one node and on three.

Several files couriers, each with one CSV of its own into a table of its own, are all started at once through the
first node's API; the wall time from the first request to the last run's end, the rows per second, the daemons' CPU
seconds and peak resident memory are reported for a daemon alone and for a cluster of three on the same database
(each time a fresh one). Sharding places the couriers, so on three nodes their runs load on different processes.
Every run must end succeeded with every row inserted.
"""
import argparse, base64, csv, gzip, json, os, random, sys, time
import boto3
import benchlib

DLL, OUT, S3_ENDPOINT = os.environ["HEAPD_DLL"], os.environ["OUT"], os.environ["HEAPD_TEST_S3_ENDPOINT"]
BUCKET, DB = "heapd-bench-cluster", "heapd_bench_cluster_loads"
COLUMNS = ["event_id", "user_id", "session_id", "time", "path", "referrer", "country"]


def make_csv(path, rows, seed):
    """A pageview-shaped CSV (gzip), written once and kept under the output folder."""
    if os.path.exists(path):
        return
    rng = random.Random(seed)
    with gzip.open(path + ".tmp", "wt", newline="", compresslevel=1) as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(rows):
            w.writerow([i + 1, rng.randrange(1, rows // 4 + 2), rng.randrange(1, rows // 2 + 2), 1_700_000_000_000 + i * 37,
                        f"/p/{rng.randrange(500)}", rng.choice(["", "https://www.google.com/", "https://t.co/x"]),
                        rng.choice(["US", "DE", "FR", "BR", "IN"])])
    os.replace(path + ".tmp", path)


def start_nodes(count):
    """A daemon alone, or a cluster of <count> (each names every node as a seed; the first forms the cluster)."""
    if count == 1:
        return [benchlib.Daemon(DLL, DB, f"{OUT}/loads-1-node0.log")]
    ports = [benchlib.free_port() for _ in range(count)]
    key = base64.b64encode(os.urandom(32)).decode()
    seeds = {f"HEAPD__Cluster__SeedNodes__{j}": f"akka.tcp://heapdaemon@127.0.0.1:{p}" for j, p in enumerate(ports)}
    return [benchlib.Daemon(DLL, DB, f"{OUT}/loads-{count}-node{i}.log", dict(seeds, HEAPD__Cluster__Port=str(p)), key)
            for i, p in enumerate(ports)]


def measure(count, couriers, rows, reps):
    benchlib.psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", "postgres")
    benchlib.psql(f"CREATE DATABASE {DB}", "postgres")
    nodes = start_nodes(count)
    first = nodes[0]
    try:
        first.api("POST", "/api/credentials", {"id": "s3", "kind": "s3", "bucket": BUCKET, "region": "us-east-1",
                                               "endpointUrl": S3_ENDPOINT, "authMode": "keys", "accessKeyId": "a", "secretAccessKey": "b"})
        fields = [{"name": c, "type": "integer" if i < 3 else "datetime" if i == 3 else "string", "primaryKey": i == 0,
                   **({"epoch": "milliseconds"} if c == "time" else {})} for i, c in enumerate(COLUMNS)]
        for k in range(couriers):
            first.api("POST", "/api/feeds", {"source": "cl", "name": f"t{k}", "fields": fields, "lastUpdatedField": "time"})
            first.api("POST", f"/api/feeds/cl-t{k}/activate")
            first.api("POST", "/api/couriers", {"id": f"c{k}", "credentialId": "s3", "files": [
                {"key": f"{rows}/c{k}.csv.gz", "feedId": f"cl-t{k}", "settings": {"format": "csv", "compression": "gzip"}}]})
        walls, cpu = [], []
        # The first round is untimed: an always-on daemon is warm (see bench.py).
        for rep in range(reps + 1):
            benchlib.psql(";".join(f"TRUNCATE cl.t{k}" for k in range(couriers)), DB)
            cpu_before = sum(n.cpu_seconds() for n in nodes)
            started = time.monotonic()
            runs = {f"c{k}": first.api("POST", f"/api/couriers/c{k}/runs", {"forceReload": rep > 0})["runId"] for k in range(couriers)}
            pending = dict(runs)
            while pending:
                for courier, run_id in list(pending.items()):
                    run = first.api("GET", f"/api/runs/{run_id}")["run"]
                    if run["status"] in ("queued", "running"):
                        continue
                    inserted = sum(f["rowsInserted"] for f in run["files"])
                    if run["status"] != "succeeded" or inserted != rows:
                        sys.exit(f"bench-cluster: run {run_id} of {courier} {run['status']} with {inserted} rows: {run.get('message')}")
                    del pending[courier]
                time.sleep(0.1)
            if rep > 0:
                walls.append(time.monotonic() - started)
                cpu.append(sum(n.cpu_seconds() for n in nodes) - cpu_before)
        placement = {m["address"]: sorted(m.get("couriers") or []) for m in first.api("GET", "/api/cluster")["members"]}
        return {"nodes": count, "wall_seconds": [round(w, 2) for w in walls], "rows_per_second": round(couriers * rows / min(walls)),
                "cpu_seconds": [round(c, 1) for c in cpu], "peak_rss_mb": [round(n.peak_rss_mb()) for n in nodes],
                "couriers_per_node": [len(v) for v in placement.values()]}
    finally:
        for n in nodes:
            n.stop()


def main():
    p = argparse.ArgumentParser(prog="bench-cluster --loads")
    p.add_argument("--loads", action="store_true")
    p.add_argument("--couriers", type=int, default=6)
    p.add_argument("--rows", type=int, default=200_000, help="rows per courier")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--nodes", default="1,3")
    args = p.parse_args()
    settings = benchlib.server_settings("postgres")
    s3 = boto3.client("s3", endpoint_url=S3_ENDPOINT, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    if BUCKET not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=BUCKET)
    for k in range(args.couriers):
        path = f"{OUT}/{args.rows}-c{k}.csv.gz"
        make_csv(path, args.rows, k)
        s3.upload_file(path, BUCKET, f"{args.rows}/c{k}.csv.gz")
    results = []
    for count in map(int, args.nodes.split(",")):
        result = measure(count, args.couriers, args.rows, args.reps)
        results.append(result)
        print(f"{count} node(s): {args.couriers} couriers x {args.rows} rows in {result['wall_seconds']} s "
              f"({result['rows_per_second']} rows/s best), daemon CPU {result['cpu_seconds']} s, peak RSS {result['peak_rss_mb']} MB, "
              f"couriers per node {result['couriers_per_node']}", flush=True)
    print(json.dumps({"loads": results, "couriers": args.couriers, "rows_per_courier": args.rows, "cores": os.cpu_count(),
                      "load_average": os.getloadavg(), "postgres": {k: settings[k] for k in ("server_version", "fsync", "synchronous_commit")}}))


if __name__ == "__main__":
    main()
