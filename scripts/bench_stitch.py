"""The measuring half of scripts/bench-stitch.sh (which builds, starts the services and generates the data first).

Every data set is put in moto, described by tagged feeds, loaded by couriers and stitched through the admin API of a
daemon of its own, on a database of its own. Prints one table per part, and optionally writes everything as JSON.
"""
import argparse, collections, csv, json, os, sys, time
import boto3
import benchlib

BENCH, DATA, FEBRL_DIR, DLL = os.environ["BENCH"], os.environ["DATA"], os.environ["FEBRL_DIR"], os.environ["HEAPD_DLL"]
S3_ENDPOINT, BUCKET = os.environ["S3_ENDPOINT"], "heapd-bench-stitch"
# Stitch after loads is off: the benchmark asks for each stitch itself.
DAEMON_SETTINGS = {}

FEBRL_FIELDS = [
    ("rec_id", "pk"), ("given_name", "given-name"), ("surname", "surname"), ("street_number", "address"),
    ("address_1", "address"), ("address_2", "address2"), ("suburb", "city"), ("postcode", "postal"), ("state", "state"),
    ("date_of_birth", "birthdate"), ("soc_sec_id", None),
]

# The feeds of the generator's three files (tests/HeapDaemon.SampleData/people-feeds.json, shared with demo.sh).
with open(os.path.join(os.path.dirname(__file__), "..", "tests", "HeapDaemon.SampleData", "people-feeds.json")) as f:
    SYNTHETIC_FEEDS = json.load(f)


def s3():
    client = boto3.client("s3", endpoint_url=S3_ENDPOINT, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
    if BUCKET not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
        client.create_bucket(Bucket=BUCKET)
    return client


def start(db, label):
    benchlib.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", "postgres")
    benchlib.psql(f"CREATE DATABASE {db}", "postgres")
    daemon = benchlib.Daemon(DLL, db, f"{BENCH}/daemon-{label}.log", DAEMON_SETTINGS)
    daemon.api("POST", "/api/credentials", {"id": "bench-s3", "kind": "s3", "bucket": BUCKET, "region": "us-east-1",
                                            "endpointUrl": S3_ENDPOINT, "authMode": "keys", "accessKeyId": "bench", "secretAccessKey": "bench"})
    daemon.api("POST", "/api/stitch/settings", {"runAfterLoads": False})
    return daemon


def load(daemon, feed, key, courier):
    daemon.api("POST", "/api/feeds", feed)
    feed_id = f"{feed['source']}-{feed['name']}".replace("_", "-")
    daemon.api("POST", f"/api/feeds/{feed_id}/activate")
    daemon.api("POST", "/api/couriers", {"id": courier, "credentialId": "bench-s3", "files": [{"key": key, "feedId": feed_id}]})
    run = daemon.run(courier)
    return sum(f["rowsInserted"] + f["rowsUpdated"] for f in run["files"])


def stitch(daemon, full):
    """One stitch, timed by its own record (started to finished); the daemon's peak RSS during it."""
    daemon.reset_peak()
    cpu = daemon.cpu_seconds()
    run_id = daemon.api("POST", "/api/stitch/runs", {"full": full})["runId"]
    while True:
        run = daemon.api("GET", f"/api/stitch/runs/{run_id}")["run"]
        if run["status"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    if run["status"] != "succeeded":
        sys.exit(f"bench: stitch {run_id} {run['status']}: {run.get('message')}")
    seconds = (benchlib.parse_time(run["finishedAt"]) - benchlib.parse_time(run["startedAt"])).total_seconds()
    stats = run["statistics"]
    print(f"bench: stitch ({stats['ran']}): {seconds:.2f} s, daemon CPU {daemon.cpu_seconds() - cpu:.2f} s, phases {stats['seconds']}",
          file=sys.stderr)
    return seconds, daemon.peak_rss_mb(), run


def people(db):
    """(source, feed, pk) → amperity_id, from stitch.unified_coalesced."""
    rows = benchlib.psql("COPY (SELECT source, feed, pk, amperity_id FROM stitch.unified_coalesced) TO STDOUT", db)
    return {tuple(line.split("\t")[:3]): line.split("\t")[3] for line in rows.splitlines()}


def score(ids, truth):
    """Pairwise precision, recall and F1: pairs inside each found person against pairs inside each true person."""
    def pairs(groups):
        return sum(n * (n - 1) // 2 for n in groups.values())
    found = pairs(collections.Counter(ids.values()))
    correct = pairs(collections.Counter((ids[k], truth[k]) for k in ids))
    expected = pairs(collections.Counter(truth[k] for k in ids))
    precision = correct / found if found else 1.0
    recall = correct / expected if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "pairs_found": found,
            "pairs_true": expected, "pairs_correct": correct}


def febrl(client, task, slug, files, with_ssn, index):
    """One FEBRL task through the daemon: the files as feeds (soc_sec_id untagged, or a customer key), one full stitch."""
    label = f"febrl-{slug}-{'ssn' if with_ssn else 'nossn'}"
    db = f"heapd_bench_{label.replace('-', '_')}"
    daemon = start(db, label)
    try:
        truth, rows = {}, 0
        for name in files:
            key = f"febrl/{name}"
            client.upload_file(os.path.join(FEBRL_DIR, name), BUCKET, key)
            table = name.removesuffix(".csv")
            fields = [{"name": column, "type": "string", "primaryKey": column == "rec_id",
                       "tags": ([tag] if tag else (["ck"] if with_ssn and column == "soc_sec_id" else []))}
                      for column, tag in FEBRL_FIELDS]
            rows += load(daemon, {"source": "febrl", "name": table, "fields": fields}, key, f"{table}-{index}")
            with open(os.path.join(FEBRL_DIR, name)) as f:
                for record in csv.reader(f, skipinitialspace=True):
                    if record[0] != "rec_id":
                        truth[("febrl", table, record[0])] = record[0].split("-")[1]
        seconds, rss, run = stitch(daemon, full=True)
        result = score(people(db), truth)
        settings = daemon.api("GET", "/api/stitch/settings")
        return {"task": task, "soc_sec_id": with_ssn, "records": rows, "threshold": settings["matchThreshold"], "seconds": round(seconds, 2),
                **result}
    finally:
        daemon.stop()


def synthetic(client):
    truth = {}
    with open(os.path.join(DATA, "truth.csv")) as f:
        for record in csv.DictReader(f):
            truth[(record["source"], record["feed"], record["pk"])] = record["person"]
    daemon = start("heapd_bench_stitch_synthetic", "synthetic")
    try:
        loaded = 0
        for name, feed in SYNTHETIC_FEEDS.items():
            client.upload_file(os.path.join(DATA, f"{name}.csv"), BUCKET, f"synthetic/{name}.csv")
            loaded += load(daemon, feed, f"synthetic/{name}.csv", name.replace("_", "-"))
        print(f"bench: loaded {loaded} synthetic records", file=sys.stderr)
        first = stitch(daemon, full=True)
        quality = score(people("heapd_bench_stitch_synthetic"), truth)
        second = stitch(daemon, full=True)
        changed = 0
        for name in SYNTHETIC_FEEDS:
            client.upload_file(os.path.join(DATA, "change", f"{name}.csv"), BUCKET, f"synthetic/{name}.csv")
            run = daemon.run(name.replace("_", "-"))
            changed += sum(f["rowsUpdated"] + f["rowsInserted"] for f in run["files"])
        incremental = stitch(daemon, full=False)
        after = score(people("heapd_bench_stitch_synthetic"), truth)
        return {"records": loaded, "changed": changed, "quality": quality, "quality_after_change": after,
                "runs": [{"stitch": label, "seconds": round(s, 2), "peak_rss_mb": round(rss), "ran": run["statistics"]["ran"],
                          "pairs_compared": run["statistics"]["pairsCompared"], "phases": run["statistics"]["seconds"],
                          "records_changed": run["statistics"].get("recordsChanged")}
                         for label, (s, rss, run) in (("first full", first), ("second full", second), ("incremental after changes", incremental))]}
    finally:
        daemon.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int)
    parser.add_argument("--json")
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    settings = benchlib.server_settings("postgres")
    client = s3()
    report = {"cores": os.cpu_count(), "postgres": settings, "febrl": [], "synthetic": None}
    with open("/proc/meminfo") as f:
        report["memory_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    with open("/proc/loadavg") as f:
        report["load_average_at_start"] = f.read().split()[:3]

    if not args.skip_febrl:
        tasks = [("4a x 4b (link)", "4a4b", ["dataset4a.csv", "dataset4b.csv"]), ("2 (dedup)", "2", ["dataset2.csv"])]
        for i, (task, slug, files) in enumerate(tasks):
            for with_ssn in (False, True):
                report["febrl"].append(febrl(client, task, slug, files, with_ssn, i))
        print("\nFEBRL, loaded through the daemon and stitched (pairwise, against rec_id)")
        print(f"{'task':<16} {'soc_sec_id':<11} {'records':>8} {'threshold':>9} {'precision':>9} {'recall':>7} {'F1':>7} {'seconds':>8}")
        for r in report["febrl"]:
            print(f"{r['task']:<16} {'ck' if r['soc_sec_id'] else 'untagged':<11} {r['records']:>8} {r['threshold']:>9} {r['precision']:>9.4f} "
                  f"{r['recall']:>7.4f} {r['f1']:>7.4f} {r['seconds']:>8.2f}")

    if not args.skip_synthetic:
        result = synthetic(client)
        report["synthetic"] = result
        print(f"\nSynthetic people, {result['records']:,} records in 3 sources; {result['changed']:,} rows changed before the incremental stitch")
        print(f"{'stitch':<26} {'ran':<12} {'seconds':>8} {'peak RSS MB':>12} {'pairs compared':>15}")
        for r in result["runs"]:
            print(f"{r['stitch']:<26} {r['ran'][:12]:<12} {r['seconds']:>8.2f} {r['peak_rss_mb']:>12} {r['pairs_compared']:>15,}")
        q, a = result["quality"], result["quality_after_change"]
        print(f"quality (generator's truth): precision {q['precision']:.4f} recall {q['recall']:.4f} F1 {q['f1']:.4f}; "
              f"after the incremental stitch: precision {a['precision']:.4f} recall {a['recall']:.4f} F1 {a['f1']:.4f}")
    print(f"machine: {report['cores']} cores, {report['memory_gb']} GB; load average at start {' '.join(report['load_average_at_start'])}; "
          f"PostgreSQL {settings['server_version']}, fsync={settings['fsync']}, synchronous_commit={settings['synchronous_commit']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
