#!/usr/bin/env bash
# The console's server time per page on a large daemon: 100 couriers, 1,000 runs, a 10 million-row domain table and
# a customer 360 stitched from a tagged table of --people rows (each person once or twice, to give pairs), each page asked --requests times (after a warm-up) with real HTTP requests carrying a signed-in session cookie,
# and its 50th and 95th percentile printed. The time is the client's, over loopback: from the request sent to the
# last byte of the page read.
#
#   scripts/bench-console.sh [--rows N] [--people N] [--requests N] [--json FILE] [--keep]
#
# The data is made fast: the couriers, credential and feed through the admin API, the runs and the domain table's
# rows with SQL (generate_series), then ANALYZE. The database heapd_bench_console is made anew each time and dropped
# at the end (--keep leaves it and the daemon's log in .local/bench-console/).
#
# The live run page's cost to load throughput is not measured here: scripts/bench.sh --with-run-page measures it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
OUT=$ROOT/.local/bench-console
ROWS=10000000
PEOPLE=100000
REQUESTS=100
JSON=""
KEEP=0
while (($#)); do
  case $1 in
    --rows) ROWS=$2; shift 2 ;;
    --people) PEOPLE=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --json) JSON=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "bench-console: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $ROWS =~ ^[0-9]+$ && $PEOPLE =~ ^[0-9]+$ && $REQUESTS =~ ^[0-9]+$ ]] || { echo "bench-console: --rows, --people and --requests take numbers" >&2; exit 2; }
for tool in dotnet python3 psql curl openssl; do
  command -v "$tool" >/dev/null || { echo "bench-console: $tool is required" >&2; exit 1; }
done

"$ROOT/scripts/services.sh" start >&2
eval "$("$ROOT/scripts/services.sh" env 2>/dev/null)"
mkdir -p "$OUT"
echo "bench-console: building (Release)" >&2
dotnet build "$ROOT/src/HeapDaemon/HeapDaemon.csproj" -c Release -nologo -v q >"$OUT/build.log" 2>&1 || { tail -n 30 "$OUT/build.log" >&2; exit 1; }

DB=heapd_bench_console
PORT=${HEAPD_BENCH_CONSOLE_PORT:-$((PGPORT + 60))}
URL=http://127.0.0.1:$PORT
TOKEN=$(openssl rand -hex 24)
psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"

ConnectionStrings__Postgres="Host=$PGHOST;Port=$PGPORT;Username=$PGUSER;Database=$DB" \
  HEAPD__Admin__Token=$TOKEN HEAPD__Secrets__MasterKey=$(openssl rand -base64 32) \
  HEAPD__Logging__LogLevel__Default=Warning Urls=$URL \
  dotnet "$ROOT/src/HeapDaemon/bin/Release/net10.0/HeapDaemon.dll" >"$OUT/daemon.log" 2>&1 &
DAEMON=$!
cleanup() {
  kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
  if ((KEEP == 0)); then psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
for ((i = 0; i < 300; i++)); do
  curl -sf "$URL/readyz" >/dev/null && break
  kill -0 "$DAEMON" 2>/dev/null || { tail -n 30 "$OUT/daemon.log" >&2; exit 1; }
  sleep 0.2
done

ROWS=$ROWS PEOPLE=$PEOPLE REQUESTS=$REQUESTS JSON=$JSON URL=$URL TOKEN=$TOKEN DB=$DB S3=$S3_ENDPOINT python3 - <<'PY'
import http.cookiejar, json, os, re, subprocess, sys, time, urllib.parse, urllib.request

url, token, db = os.environ["URL"], os.environ["TOKEN"], os.environ["DB"]
rows, people, requests = int(os.environ["ROWS"]), int(os.environ["PEOPLE"]), int(os.environ["REQUESTS"])

def api(path, body):
    req = urllib.request.Request(f"{url}/api/{path}", json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return r.read()

def sql(text):
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", text], check=True)

def log(text):
    print(f"bench-console: {text}", file=sys.stderr, flush=True)

t = time.perf_counter()
api("credentials", {"id": "bench", "kind": "s3", "bucket": "heapd-bench-console", "endpointUrl": os.environ["S3"],
                    "accessKeyId": "test", "secretAccessKey": "test"})
api("feeds", {"source": "bench", "name": "events", "lastUpdatedField": "at", "fields": [
    {"name": "id", "type": "integer", "primaryKey": True}, {"name": "name", "type": "string", "tags": []},
    {"name": "email", "type": "string", "tags": []}, {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
    {"name": "at", "type": "datetime"}]})
api("feeds/bench-events/activate", {})
# The customer 360's table: its own tagged feed (the events above are untagged, so Stitch leaves them out).
api("feeds", {"source": "bench", "name": "people", "fields": [
    {"name": "id", "type": "integer", "primaryKey": True}, {"name": "given_name", "type": "string", "tags": ["given-name"]},
    {"name": "surname", "type": "string", "tags": ["surname"]}, {"name": "email", "type": "string", "tags": ["email"]},
    {"name": "city", "type": "string", "tags": ["city"]}]})
api("feeds/bench-people/activate", {})
api("stitch/settings", {"runAfterLoads": False})
for i in range(100):
    body = {"id": f"c-{i:03}", "credentialId": "bench", "files": [{"pattern": f"'events/c-{i:03}/'yyyy-MM-dd'.csv'", "feedId": "bench-events"}]}
    if i % 3 == 0:
        body["schedule"] = {"cron": f"{i % 60} 6 * * *"}
    api("couriers", body)
log(f"100 couriers, a credential and an active feed in {time.perf_counter() - t:.1f} s")

t = time.perf_counter()
sql("""
SET synchronous_commit = off;
INSERT INTO heapd.runs (id, courier_id, status, run_date, run_date_to, force_reload, requested_at, started_at, finished_at, message, request, trigger)
SELECT md5('run' || n)::uuid, 'c-' || lpad((n % 100)::text, 3, '0'),
       CASE WHEN n % 20 = 0 THEN 'failed' WHEN n % 33 = 0 THEN 'cancelled' ELSE 'succeeded' END,
       current_date - (n / 100), current_date - (n / 100) + 1, false,
       now() - make_interval(mins => n * 43), now() - make_interval(mins => n * 43) + interval '1 second',
       now() - make_interval(mins => n * 43) + interval '9 seconds',
       CASE WHEN n % 20 = 0 THEN '1 files: 0 loaded, 0 skipped (already loaded), 1 failed. A row was rejected.' ELSE '1 files: 1 loaded' END,
       '{}'::jsonb, CASE WHEN n % 3 = 0 THEN 'schedule' ELSE 'api' END
FROM generate_series(1, 1000) n;
INSERT INTO heapd.run_files (run_id, ordinal, bucket, object_key, feed_id, status, bytes_read, rows_read, rows_inserted, started_at, finished_at, message)
SELECT id, 0, 'heapd-bench-console', 'events/' || courier_id || '/' || run_date || '.csv', 'bench-events',
       CASE status WHEN 'succeeded' THEN 'loaded' ELSE 'failed' END, 1048576, 10000, 10000, started_at, finished_at, message
FROM heapd.runs;
""")
log(f"1,000 runs in {time.perf_counter() - t:.1f} s")

t = time.perf_counter()
sql(f"""
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
ALTER TABLE bench.events DROP CONSTRAINT events_pkey;
INSERT INTO bench.events (id, name, email, amount, at, _pk, _uuid_pk, _updated, _source_file, _loaded_at)
SELECT n, 'name ' || n, 'user' || n || '@example.com', (n % 100000) / 100.0, now() - make_interval(secs => n),
       n::text, md5(n::text)::uuid, n, 'events/bench.csv', now()
FROM generate_series(1, {rows}) n;
ALTER TABLE bench.events ADD CONSTRAINT events_pkey PRIMARY KEY (_pk);
ANALYZE bench.events; ANALYZE heapd.runs; ANALYZE heapd.run_files;
""")
log(f"{rows:,} rows in bench.events in {time.perf_counter() - t:.1f} s")

t = time.perf_counter()
# Every fifth row is a second record of the person before it, its email in capitals: pairs for Stitch to link.
sql(f"""
SET synchronous_commit = off;
INSERT INTO bench.people (id, given_name, surname, email, city, _pk, _uuid_pk, _updated, _source_file, _loaded_at)
SELECT n, (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','John'])[1 + p % 8], 'Surname' || p,
       CASE WHEN n % 5 = 0 THEN upper('person' || p || '@example.com') ELSE 'person' || p || '@example.com' END,
       (ARRAY['Lyon','Leeds','Austin','Perth'])[1 + p % 4], n::text, md5('p' || n)::uuid, n, 'people/bench.csv', now()
FROM (SELECT n, CASE WHEN n % 5 = 0 THEN n - 1 ELSE n END AS p FROM generate_series(1, {people}) n) g;
ANALYZE bench.people;
""")
stitch_run = json.loads(api("stitch/runs", {"full": True}))["runId"]
while True:
    req = urllib.request.Request(f"{url}/api/stitch/runs/{stitch_run}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as r:
        status = json.loads(r.read())["run"]["status"]
    if status not in ("queued", "running"):
        break
    time.sleep(0.5)
assert status == "succeeded", f"the stitch ended {status}"
log(f"{people:,} people rows stitched in {time.perf_counter() - t:.1f} s")

jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
page = opener.open(f"{url}/signin").read().decode()
af = re.search(r'name="__RequestVerificationToken" value="([^"]+)"', page).group(1)
opener.open(f"{url}/signin", urllib.parse.urlencode({"_handler": "signin", "__RequestVerificationToken": af, "Token": token}).encode())
assert any(c.name == "heapd.session" for c in jar), "sign-in failed"

def scalar(text):
    return subprocess.run(["psql", "-Atq", "-d", db, "-c", text], capture_output=True, text=True, check=True).stdout.strip()

run = scalar("SELECT id FROM heapd.runs WHERE status = 'failed' LIMIT 1")
customer = scalar("SELECT amperity_id FROM stitch.merged_customers WHERE record_count > 1 ORDER BY amperity_id LIMIT 1 OFFSET 1000")
pages = [
    ("Sources", "/"), ("Runs (whole daemon)", "/runs"), ("Runs, failed only", "/runs?status=failed"),
    ("Runs of a courier", "/runs?courier=c-042"), ("Courier", "/couriers/c-042"), ("Run (ended)", f"/runs/{run}"),
    ("Run courier (calendar)", "/couriers/c-042/run"), ("Domain table, first rows", "/tables/Bench%3AEvents"),
    ("Domain table, a page in the middle", "/tables/Bench%3AEvents?after=5000000"), ("Feed", "/feeds/bench-events"),
    ("Credentials", "/credentials"), ("Courier edit", "/couriers/c-042/edit"), ("Notifications", "/notifications"),
    ("Stitch", "/stitch"), ("Customers", "/customers"), ("Customers, searched by email", "/customers?search=person4242"),
    ("Customers, searched by name", "/customers?search=surname4242"), ("Customer (two records)", f"/customers/{customer}"),
]
results = []
print(f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
for name, path in pages:
    times = []
    for i in range(5 + requests):
        t = time.perf_counter()
        with opener.open(f"{url}{path}") as r:
            r.read()
            assert r.status == 200 and "/signin" not in r.geturl(), f"{path}: answered {r.status} at {r.geturl()}"
        if i >= 5:
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.95))]
    results.append({"page": name, "path": path, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "max_ms": round(times[-1], 1)})
    print(f"{name:<36} {p50:8.1f} {p95:8.1f} {times[-1]:8.1f}", flush=True)
if os.environ["JSON"]:
    with open(os.environ["JSON"], "w") as f:
        json.dump({"rows": rows, "people": people, "couriers": 100, "runs": 1000, "requests": requests, "pages": results}, f, indent=2)
PY
