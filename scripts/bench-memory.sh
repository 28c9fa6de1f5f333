#!/usr/bin/env bash
# Memory benchmark (not a test): loads gzip CSV files of the same shape and
# different sizes through a real daemon (PostgreSQL + moto from services.sh) and
# reports the daemon's peak resident memory (VmHWM) for each. A streaming
# pipeline shows about the same peak for every size.
#
#   scripts/bench-memory.sh            sizes 200 and 2000 MB of CSV (before gzip)
#   BENCH_SIZES_MB="50 500" scripts/bench-memory.sh
#
#   HEAPD_PG_PORT, HEAPD_MOTO_PORT, HEAPD_MOTO_AUTH_PORT  as for services.sh
#   HEAPD_BENCH_PORT   the daemon's port (default 25449)
#
# Each size gets a fresh daemon process (so its VmHWM is that load's alone) and
# a fresh database; generated files are kept in .local/bench/ for reruns.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
LOCAL=$ROOT/.local
BENCH=$LOCAL/bench
SERVICES=$ROOT/scripts/services.sh
DLL=$ROOT/src/HeapDaemon/bin/Release/net10.0/HeapDaemon.dll
PORT=${HEAPD_BENCH_PORT:-25449}
URL=http://127.0.0.1:$PORT
SIZES=${BENCH_SIZES_MB:-200 2000}
TOKEN=bench-token-$(openssl rand -hex 12)
MASTER_KEY=$(openssl rand -base64 32)
mkdir -p "$BENCH" "$LOCAL/log"
export PGOPTIONS="-c client_min_messages=warning"

"$SERVICES" start >/dev/null
eval "$("$SERVICES" env 2>/dev/null)"
dotnet build "$ROOT/src/HeapDaemon/HeapDaemon.csproj" -c Release -nologo -v q >"$LOCAL/log/bench-build.log" 2>&1 ||
  { tail -n 30 "$LOCAL/log/bench-build.log" >&2; exit 1; }

# The same shape at every size: a users file keyed by user_id, 60 bytes a row or so.
generate() { # MB FILE
  python3 - "$1" <<'PY' | gzip -1 >"$2.tmp"
import sys
target = int(sys.argv[1]) * 1024 * 1024
out = sys.stdout
out.write("user_id,email,joined_at,score\n")
written, i, lines = 0, 0, []
while written < target:
    i += 1
    line = f"{i},user{i}@example.com,2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z,{i % 100000}.{i % 100:02d}\n"
    lines.append(line)
    written += len(line)
    if len(lines) == 10000:
        out.write("".join(lines))
        lines = []
out.write("".join(lines))
PY
  mv "$2.tmp" "$2"
}

daemon_pid=""
stop_daemon() {
  if [[ -n $daemon_pid ]]; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=""
  fi
}
trap stop_daemon EXIT

results=()
for mb in $SIZES; do
  file=$BENCH/users-${mb}mb.csv.gz
  [[ -f $file ]] || { echo "bench: generating $file"; generate "$mb" "$file"; }
  db=heapd_bench_$mb
  psql -XqA -d postgres -c "drop database if exists $db with (force)" -c "create database $db" >/dev/null

  ConnectionStrings__Postgres="Host=$PGHOST;Port=$PGPORT;Username=$PGUSER;Database=$db" \
    HEAPD__Admin__Token=$TOKEN HEAPD__Secrets__MasterKey=$MASTER_KEY Urls=$URL \
    Logging__LogLevel__Default=Warning \
    dotnet "$DLL" >"$LOCAL/log/bench-daemon-$mb.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 150); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && break
    sleep 0.2
  done

  line=$(HEAPD_URL=$URL HEAPD_TOKEN=$TOKEN FILE=$file MB=$mb PID=$daemon_pid python3 - <<'PY'
import json, os, time, urllib.request
import boto3

url, token, path, mb, pid = os.environ["HEAPD_URL"], os.environ["HEAPD_TOKEN"], os.environ["FILE"], os.environ["MB"], os.environ["PID"]
endpoint = os.environ["S3_ENDPOINT"]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="b", aws_secret_access_key="b")
bucket = "heapd-bench"
if bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
    s3.create_bucket(Bucket=bucket)
key = os.path.basename(path)
s3.upload_file(path, bucket, key)

def api(method, route, body=None):
    req = urllib.request.Request(url + route, data=None if body is None else json.dumps(body).encode(), method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        text = resp.read().decode()
        return json.loads(text) if text else None

def rss(field):
    with open(f"/proc/{pid}/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith(field)) // 1024

api("POST", "/api/credentials", {"id": "bench", "kind": "s3", "bucket": bucket, "endpointUrl": endpoint, "accessKeyId": "b", "secretAccessKey": "b"})
api("POST", "/api/feeds", {"source": "bench", "name": "users", "lastUpdatedField": "joined_at", "fields": [
    {"name": "user_id", "type": "integer", "primaryKey": True}, {"name": "email", "type": "string"},
    {"name": "joined_at", "type": "datetime"}, {"name": "score", "type": "decimal", "precision": 12, "scale": 2}]})
api("POST", "/api/feeds/bench-users/activate")
api("POST", "/api/couriers", {"id": "bench", "credentialId": "bench", "files": [{"key": key, "feedId": "bench-users"}]})
before = rss("VmHWM")
start = time.time()
run_id = api("POST", "/api/couriers/bench/runs", {})["runId"]
while True:
    run = api("GET", f"/api/runs/{run_id}")["run"]
    if run["status"] not in ("queued", "running"):
        break
    time.sleep(1)
seconds = time.time() - start
f = run["files"][0]
print(f'{mb}\t{os.path.getsize(path) // (1024 * 1024)}\t{f["rowsRead"]}\t{seconds:.0f}\t{before}\t{rss("VmHWM")}\t{run["status"]}')
PY
)
  stop_daemon
  psql -XqA -d postgres -c "drop database if exists $db with (force)" >/dev/null
  results+=("$line")
  echo "bench: $line"
done

echo
echo "Peak resident memory of the daemon per load (gzip CSV, same shape; $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB)"
printf '%-8s %-8s %-12s %-8s %-14s %-14s %s\n' "CSV MB" "gzip MB" "rows" "seconds" "idle peak MB" "load peak MB" "status"
for line in "${results[@]}"; do
  IFS=$'\t' read -r mb gz rows secs idle peak status <<<"$line"
  printf '%-8s %-8s %-12s %-8s %-14s %-14s %s\n' "$mb" "$gz" "$rows" "$secs" "$idle" "$peak" "$status"
done
