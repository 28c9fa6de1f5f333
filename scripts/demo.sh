#!/usr/bin/env bash
# HeapDaemon end to end on one machine: PostgreSQL + moto (scripts/services.sh),
# the daemon built from this tree, a generated Heap Connect export
# (tests/HeapDaemon.SampleData) in a moto bucket, and POST /api/sources/heap,
# whose first run loads heap.users, heap.sessions, heap.pageviews, the event
# tables and heap.user_migrations, and makes the *_resolved identity views.
# Then a CRM customers CSV and an orders CSV in the same bucket (generated
# people, some with the Heap users' emails, others matching only by name,
# address and birth date, with typos), tagged feeds and couriers for them, and
# a stitch: it prints a few people with their records from each source.
#
#   scripts/demo.sh         set up (or reuse) everything and run the courier
#   scripts/demo.sh stop    stop the daemon and the services
#
#   HEAPD_PORT     the daemon's port (default 5080)
#   HEAPD_DEMO_DB  its PostgreSQL database (default heapdaemon, as services.sh
#                  makes it); created if missing
#
# Safe to rerun: what exists is reused, and files already loaded are skipped.
# State is in .local/: demo.secrets (admin token, master key), demo.env
# (export lines for your shell), run/daemon.pid, log/daemon.log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
LOCAL=$ROOT/.local
SERVICES=$ROOT/scripts/services.sh
PID_FILE=$LOCAL/run/daemon.pid
DAEMON_LOG=$LOCAL/log/daemon.log
BUILD_LOG=$LOCAL/log/daemon-build.log
SECRETS=$LOCAL/demo.secrets
DEMO_ENV=$LOCAL/demo.env
PROJECT=$ROOT/src/HeapDaemon/HeapDaemon.csproj
DLL=$ROOT/src/HeapDaemon/bin/Release/net10.0/HeapDaemon.dll
PORT=${HEAPD_PORT:-5080}
URL=http://127.0.0.1:$PORT
BUCKET=heap-rs3-demo

die() { echo "demo: $*" >&2; exit 1; }

# PID of the daemon we started, if it is still alive. Checking the command line
# keeps a stale pid file (reboot, crash) from pointing at some reused pid.
daemon_pid() {
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  if [[ $pid =~ ^[0-9]+$ ]] && grep -qa HeapDaemon.dll "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
    return 0
  fi
  rm -f "$PID_FILE"
  return 1
}

stop_daemon() {
  local pid i
  if ! pid=$(daemon_pid); then
    echo "daemon: not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do # 20 s for a graceful shutdown (runs in progress stop cleanly)
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "daemon: still running after 20 s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
  echo "daemon: stopped"
}

if [[ ${1:-} == stop ]]; then
  stop_daemon
  "$SERVICES" stop
  exit 0
elif [[ $# -gt 0 ]]; then
  die "usage: $0 [stop]"
fi

# --- 1. prerequisites --------------------------------------------------------
# dotnet is expected on the machine; PostgreSQL and moto come with services.sh.
for tool in dotnet python3 curl openssl; do
  command -v "$tool" >/dev/null || die "$tool is required but not installed"
done

# --- 2. PostgreSQL and moto ----------------------------------------------------
"$SERVICES" start
eval "$("$SERVICES" env 2>/dev/null)" # PGHOST, PGPORT, PGUSER, PGDATABASE, S3_ENDPOINT
# services.sh makes the default database; another one (HEAPD_DEMO_DB) keeps the
# demo apart from what development left in it.
if [[ -n ${HEAPD_DEMO_DB:-} && $HEAPD_DEMO_DB != "$PGDATABASE" ]]; then
  [[ $HEAPD_DEMO_DB =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "HEAPD_DEMO_DB must be a plain lowercase database name"
  command -v psql >/dev/null || die "psql is needed to create database $HEAPD_DEMO_DB"
  PGDATABASE=$HEAPD_DEMO_DB
  if [[ -z $(psql -XqtA -d postgres -c "select 1 from pg_database where datname = '$PGDATABASE'") ]]; then
    psql -XqA -d postgres -c "create database $PGDATABASE"
    echo "postgres: created database $PGDATABASE"
  fi
fi
PG_CONN="Host=$PGHOST;Port=$PGPORT;Username=$PGUSER;Database=$PGDATABASE"
# boto3 normally arrives with moto, but moto_server may come from elsewhere.
python3 -c 'import boto3' 2>/dev/null || python3 -m pip install -q boto3 ||
  die "python3 cannot import boto3 (pip install boto3)"

# --- 3. the daemon -------------------------------------------------------------
# Made once and kept: credentials are stored encrypted with the master key, so
# a new key would make every stored secret unreadable.
if [[ ! -f $SECRETS ]]; then
  (
    umask 077
    {
      echo "HEAPD_DEMO_TOKEN='$(openssl rand -hex 24)'"
      echo "HEAPD_DEMO_MASTER_KEY='$(openssl rand -base64 32)'"
    } >"$SECRETS.tmp"
  )
  mv "$SECRETS.tmp" "$SECRETS"
  echo "demo: new admin token and master key in $SECRETS"
fi
# shellcheck source=/dev/null
. "$SECRETS"
TOKEN=$HEAPD_DEMO_TOKEN

if pid=$(daemon_pid); then
  # Its environment says where it listens and which database it uses; reusing
  # it with another HEAPD_PORT or HEAPD_DEMO_DB would mislead.
  env_of=$(tr '\0' '\n' <"/proc/$pid/environ")
  if ! grep -qxF "Urls=$URL" <<<"$env_of" || ! grep -qxF "ConnectionStrings__Postgres=$PG_CONN" <<<"$env_of"; then
    die "the running daemon (pid $pid) is not on $URL with database $PGDATABASE; run ./scripts/demo.sh stop first"
  fi
  # Rebuilding would overwrite the DLLs under the running process.
  echo "daemon: already running (pid $pid) on $URL; not rebuilt (./scripts/demo.sh stop to pick up changes)"
else
  # Something else on the port would answer our probes with the wrong token.
  if curl -s -o /dev/null "$URL/healthz"; then
    die "$URL already answers but is not our daemon; stop it or set HEAPD_PORT"
  fi
  echo "daemon: building (log in $BUILD_LOG)"
  if ! dotnet build "$PROJECT" -c Release -nologo >"$BUILD_LOG" 2>&1; then
    grep -E ': error [A-Z]+[0-9]+:' "$BUILD_LOG" | sort -u | tail -n 30 >&2 || tail -n 30 "$BUILD_LOG" >&2
    die "build failed; full output in $BUILD_LOG"
  fi
  echo "=== demo.sh $(date -u +%FT%TZ) starting on $URL" >>"$DAEMON_LOG"
  # Detached in its own session so it outlives this script and its terminal.
  ConnectionStrings__Postgres=$PG_CONN \
    HEAPD__Admin__Token=$TOKEN \
    HEAPD__Secrets__MasterKey=$HEAPD_DEMO_MASTER_KEY \
    Urls=$URL \
    setsid nohup dotnet "$DLL" </dev/null >>"$DAEMON_LOG" 2>&1 &
  echo $! >"$PID_FILE"
  echo "daemon: started (pid $!), log in $DAEMON_LOG"
fi

# Alive first, then ready (PostgreSQL and the journal reachable).
wait_for() { # PATH
  while ((SECONDS < 60)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL$1") == 200 ]] && return 0
    daemon_pid >/dev/null || break # it died: no point waiting out the timeout
    sleep 0.2
  done
  echo "demo: daemon not answering 200 on $URL$1; last lines of $DAEMON_LOG:" >&2
  tail -n 40 "$DAEMON_LOG" >&2 || true
  exit 1
}
SECONDS=0 # one 60 s budget for both probes
wait_for /healthz
wait_for /readyz
echo "daemon: ready after ${SECONDS}s"

# --- 4, 5 and 6. a Heap Connect export into moto, a Heap source, its first run; a CRM and
# an orders file sharing people with it, and Stitch ----------------------------------------
# The sample generator writes three dumps (manifests + snappy Avro parts) as
# Heap does; the same seed gives the same objects, so a rerun changes nothing.
echo "sample: generating a Heap Connect export into s3://$BUCKET"
dotnet run --project "$ROOT/tests/HeapDaemon.SampleData" -c Release -- --s3 "$S3_ENDPOINT" --bucket "$BUCKET" --seed 1 |
  sed 's/^/sample: /'
HEAPD_URL=$URL HEAPD_TOKEN=$TOKEN S3_ENDPOINT=$S3_ENDPOINT S3_BUCKET=$BUCKET PEOPLE_DIR=$LOCAL/demo/people ROOT=$ROOT \
  python3 - <<'PY'
import json, os, subprocess, sys, time, urllib.error, urllib.request
import boto3

url, token = os.environ["HEAPD_URL"], os.environ["HEAPD_TOKEN"]
endpoint, bucket, folder = os.environ["S3_ENDPOINT"], os.environ["S3_BUCKET"], os.environ["PEOPLE_DIR"]

def api(method, path, body=None, ok=(200,)):
    """One admin API call; anything but an expected status ends the demo with the full exchange."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    if status not in ok:
        sys.exit(f"demo: {method} {path} {json.dumps(body) if body else ''}\n  -> HTTP {status}: {text}")
    return status, (json.loads(text) if text else None)


def ensure(collection, id, body, same):
    """Create it; on 409 (an earlier demo.sh, or someone else, made one) check it is what the demo needs."""
    status, _ = api("POST", f"/api/{collection}", body, ok=(201, 409))
    if status == 201:
        print(f"api: {collection[:-1]} {id}: created")
        return
    _, existing = api("GET", f"/api/{collection}/{id}")
    if not same(existing):
        sys.exit(f"demo: {collection[:-1]} '{id}' exists but is not the demo's:\n  have: {json.dumps(existing)}\n"
                 f"  want: {json.dumps(body)}\n  use another database: HEAPD_DEMO_DB=heapdaemon_demo ./scripts/demo.sh")
    print(f"api: {collection[:-1]} {id}: exists already")


credential = {"id": "heap-demo", "kind": "s3", "bucket": bucket, "region": "us-east-1", "endpointUrl": endpoint,
              "authMode": "keys", "accessKeyId": "demo", "secretAccessKey": "demo-secret"}
ensure("credentials", "heap-demo", credential, lambda have: all(
    have.get(k) == credential[k] for k in ("bucket", "region", "endpointUrl", "accessKeyId")))


# One call: a Heap courier (polling hourly) and a feed for every table its
# manifests name, then its first run. On a rerun the source exists: run it again.
status, made = api("POST", "/api/sources/heap", {"credentialId": "heap-demo"}, ok=(201, 409))
if status == 201:
    print(f"api: Heap source: courier heap, feeds {', '.join(made['feeds'])}")
    run_id = made["runId"]
else:
    _, accepted = api("POST", "/api/couriers/heap/runs", {}, ok=(202,))
    run_id = accepted["runId"]
print(f"run {run_id}: started", end="", flush=True)
deadline = time.monotonic() + 120
while True:
    _, view = api("GET", f"/api/runs/{run_id}")
    run = view["run"]
    if run["status"] not in ("queued", "running"):
        break
    if time.monotonic() > deadline:
        sys.exit(f"\ndemo: run {run_id} still {run['status']} after 120 s; see GET {url}/api/runs/{run_id}")
    print(".", end="", flush=True)
    time.sleep(0.5)

print(f"\nrun {run_id}: {run['status'].upper()}: {run.get('message', '')}")
row = "  {:<60} {:<9} {:>6} {:>9} {:>8} {:>9}  {}"
print(row.format("file", "status", "read", "inserted", "updated", "rejected", "message"))
for f in run["files"]:
    print(row.format(f["key"].split("/", 1)[-1][:60], f["status"], f["rowsRead"], f["rowsInserted"], f["rowsUpdated"],
                     f["rowsRejected"], f.get("message", "")))
if run["status"] != "succeeded":
    sys.exit(f"demo: the run {run['status']}; rejected rows: GET {url}/api/runs/{run_id}/rejects")

_, tables = api("GET", "/api/domain-tables")
print("\ndomain tables:")
print("  {:<16} {:<16} {:>6}".format("name", "table", "rows"))
for t in tables:
    print("  {:<16} {:<16} {:>6}".format(t["name"], t["table"], t["rowCount"]))
print("\nidentity: heap.users_resolved, heap.<table>_resolved (resolved_user_id), heap.user_migrations_resolved")

# A CRM customers file and an orders file (generated people) in the same bucket, tagged feeds, couriers, and a stitch.
# One email of each Heap person (users merged by user_migrations are one person) goes to one generated person, so the
# CRM and the orders share them with Heap.
emails = subprocess.run(["psql", "-XqtA", "-c", "SELECT max(email) FROM heap.users_resolved WHERE email IS NOT NULL GROUP BY user_id ORDER BY 1"],
                        check=True, capture_output=True, text=True).stdout.split()
subprocess.run(["dotnet", "run", "--project", f"{os.environ['ROOT']}/tests/HeapDaemon.SampleData", "-c", "Release", "--", "people",
                "--people", "300", "--out", folder, "--seed", "5", "--emails", ",".join(emails)], check=True, capture_output=True)
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="demo", aws_secret_access_key="demo-secret")
with open(os.path.join(os.environ["ROOT"], "tests", "HeapDaemon.SampleData", "people-feeds.json")) as f:
    feeds = {name: feed for name, feed in json.load(f).items() if name != "loyalty_members"}
for name, feed in feeds.items():
    key = f"{feed['source']}/{name}.csv"
    s3.upload_file(os.path.join(folder, f"{name}.csv"), bucket, key)
    feed_id = f"{feed['source']}-{feed['name']}"
    if api("POST", "/api/feeds", feed, ok=(201, 409))[0] == 201:
        api("POST", f"/api/feeds/{feed_id}/activate")
    api("POST", "/api/couriers", {"id": feed["source"], "credentialId": "heap-demo", "files": [{"key": key, "feedId": feed_id}]}, ok=(201, 409))
    _, accepted = api("POST", f"/api/couriers/{feed['source']}/runs", {}, ok=(202,))
    while (run := api("GET", f"/api/runs/{accepted['runId']}")[1]["run"])["status"] in ("queued", "running"):
        time.sleep(0.3)
    print(f"run {accepted['runId']} ({feed['source']}): {run['status'].upper()}: {run.get('message', '')}")
    if run["status"] != "succeeded":
        sys.exit("demo: loading the sample CSV failed")

_, accepted = api("POST", "/api/stitch/runs", {}, ok=(202,))
print(f"stitch {accepted['runId']}: started", end="", flush=True)
while (run := api("GET", f"/api/stitch/runs/{accepted['runId']}")[1]["run"])["status"] in ("queued", "running"):
    print(".", end="", flush=True)
    time.sleep(0.5)
print(f"\nstitch {run['id']}: {run['status'].upper()}: {run.get('message', '')}")
if run["status"] != "succeeded":
    sys.exit("demo: the stitch failed")
PY

echo
echo "people across sources (stitch.unified_coalesced; their customer 360 row is in stitch.merged_customers):"
psql -X -v ON_ERROR_STOP=1 -P pager=off <<'SQL'
WITH shown AS (
    (SELECT amperity_id, 'shares an email with a Heap user' AS why FROM stitch.merged_customers
     WHERE sources @> '{heap.users,crm.customers,shop.orders}' ORDER BY record_count DESC, amperity_id LIMIT 2)
    UNION ALL
    (SELECT DISTINCT c.amperity_id, 'name, address and birth date only (with typos)' FROM stitch.unified_scores s
     JOIN stitch.unified_coalesced c ON c.record_id = s.record1
     WHERE s.matched AND s.source1 <> s.source2 AND s.email <> 3 AND s.phone <> 3 AND s.birthdate = 4
       AND (s.given_name IN (2, 3) OR s.surname IN (2, 3) OR s.address IN (2, 3))
     ORDER BY c.amperity_id LIMIT 2))
SELECT left(u.amperity_id::text, 8) AS person, shown.why, u.source || '.' || u.feed AS record_of, u.pk,
       coalesce(u.full_name, concat_ws(' ', u.given_name, u.surname)) AS name, u.email, u.address, u.birthdate
FROM stitch.unified_coalesced u JOIN shown USING (amperity_id)
ORDER BY shown.why DESC, u.amperity_id, u.source, u.feed, u.pk;
SQL

# --- 7. how to go on ---------------------------------------------------------------
cat >"$DEMO_ENV" <<EOF
export HEAPD_URL=$URL
export HEAPD_TOKEN=$TOKEN
export PGHOST=$PGHOST
export PGPORT=$PGPORT
export PGUSER=$PGUSER
export PGDATABASE=$PGDATABASE
export S3_ENDPOINT=$S3_ENDPOINT
export S3_BUCKET=$BUCKET
EOF
chmod 600 "$DEMO_ENV" # it holds the admin token

cat <<EOF

HeapDaemon is running.

  Console:   $URL/  (open it in a browser; sign in with the admin token below)
  Admin API: $URL/api  (reference: $URL/api-docs)
  Admin token: $TOKEN

Try:
  source $DEMO_ENV
  curl -s -H "Authorization: Bearer \$HEAPD_TOKEN" \$HEAPD_URL/api/domain-tables
  curl -s -X POST -H "Authorization: Bearer \$HEAPD_TOKEN" -H 'Content-Type: application/json' \\
       -d '{"forceReload":true}' \$HEAPD_URL/api/couriers/heap/runs
  psql -c 'select count(*) from heap.pageviews'
  psql -c 'select user_id, resolved_user_id, time from heap.pageviews_resolved limit 5'
  psql -c 'select * from heap.users_resolved limit 5'
  psql -c 'select * from stitch.merged_customers limit 5'
  psql -c 'select user_id, amperity_id, path from heap.pageviews_customers limit 5'
  curl -s -H "Authorization: Bearer \$HEAPD_TOKEN" \$HEAPD_URL/api/stitch/records/crm/customers/100000

./scripts/demo.sh stop stops everything.
EOF
