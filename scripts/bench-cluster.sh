#!/usr/bin/env bash
# Failover of a cluster of three daemons on this machine: couriers are created, the node that holds the most is
# killed (SIGKILL), and the time until a surviving node's GET /api/cluster shows every courier running on a survivor
# is measured; the node is started again and the next round kills another.
#
#   scripts/bench-cluster.sh [--rounds N] [--couriers N] [--down-after 00:00:20]
#   scripts/bench-cluster.sh --loads [--couriers 6] [--rows 200000] [--reps 2] [--nodes 1,3]
#
# --loads measures loads instead (scripts/bench_cluster_loads.py): couriers with a CSV each, all started at once, on a
# daemon alone and on a cluster of three; PostgreSQL must then write durably (started with HEAPD_PG_DURABLE=1).
#
# --down-after is Cluster:DownAfter (the split-brain resolver's wait); its default is the daemon's. The figure is
# that wait plus failure detection plus the hand-over. Prints the machine's load average with the figures: on a
# shared machine they are a correctness and overhead figure only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
OUT=$ROOT/.local/bench-cluster
mkdir -p "$OUT"
for tool in dotnet python3; do command -v "$tool" >/dev/null || { echo "bench-cluster: $tool is required" >&2; exit 1; }; done

if [[ "${1:-}" == --loads ]]; then export HEAPD_PG_DURABLE=1; fi
"$ROOT/scripts/services.sh" start >&2
eval "$("$ROOT/scripts/services.sh" env 2>/dev/null)"

echo "bench-cluster: building (Release)" >&2
dotnet build "$ROOT/src/HeapDaemon/HeapDaemon.csproj" -c Release -nologo -v q >"$OUT/build.log" 2>&1 || { tail -n 30 "$OUT/build.log" >&2; exit 1; }

if [[ "${1:-}" == --loads ]]; then
  export HEAPD_DLL=$ROOT/src/HeapDaemon/bin/Release/net10.0/HeapDaemon.dll OUT
  exec python3 "$ROOT/scripts/bench_cluster_loads.py" "$@"
fi
exec python3 - "$ROOT/src/HeapDaemon/bin/Release/net10.0/HeapDaemon.dll" "$OUT" "$@" <<'PY'
import argparse, base64, json, os, signal, socket, subprocess, sys, time, urllib.request, urllib.error

dll, out = sys.argv[1], sys.argv[2]
p = argparse.ArgumentParser(prog="bench-cluster")
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--couriers", type=int, default=12)
p.add_argument("--down-after", default=None)
args = p.parse_args(sys.argv[3:])

admin = os.environ["HEAPD_TEST_PG"]
db = "heapd_cluster_bench"
# psql takes PGHOST, PGPORT and PGUSER from services.sh env; the daemons take the Npgsql form.
subprocess.run(["psql", "-d", "postgres", "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], check=True)
subprocess.run(["psql", "-d", "postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
conn = ";".join([x for x in admin.split(";") if x and not x.lower().startswith("database=")] + [f"Database={db}"])
token, key = "bench-token-0123456789abcdef", base64.b64encode(os.urandom(32)).decode()

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

nodes = [{"http": free_port(), "akka": free_port()} for _ in range(3)]
seeds = [f"akka.tcp://heapdaemon@127.0.0.1:{n['akka']}" for n in nodes]

def start(i):
    n = nodes[i]
    env = dict(os.environ, ConnectionStrings__Postgres=conn, HEAPD__Admin__Token=token, HEAPD__Secrets__MasterKey=key,
               Urls=f"http://127.0.0.1:{n['http']}", HEAPD__Cluster__Port=str(n["akka"]),
               HEAPD__Logging__LogLevel__Default="Warning")
    for j, s in enumerate(seeds): env[f"HEAPD__Cluster__SeedNodes__{j}"] = s
    if args.down_after: env["HEAPD__Cluster__DownAfter"] = args.down_after
    n["proc"] = subprocess.Popen(["dotnet", dll], env=env, stdout=open(f"{out}/node{i}.log", "a"), stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{n['http']}/readyz", timeout=5).status == 200: return
        except (urllib.error.URLError, ConnectionError, OSError): pass
        time.sleep(0.1)
    sys.exit(f"bench-cluster: node {i} not ready in 120 s; see {out}/node{i}.log")

def call(i, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{nodes[i]['http']}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r: return json.loads(r.read() or b"null")

def holders(i):
    c = call(i, "GET", "/api/cluster")
    return {m["address"]: set(m.get("couriers") or []) for m in c["members"] if m["status"] == "up" and m["reachable"]}

try:
    start(0)
    for i in (1, 2): start(i)
    call(0, "POST", "/api/credentials", {"id": "bench", "kind": "s3", "bucket": "bench", "endpointUrl": os.environ["HEAPD_TEST_S3_ENDPOINT"], "accessKeyId": "a", "secretAccessKey": "b"})
    couriers = {f"c{k}" for k in range(args.couriers)}
    for c in sorted(couriers): call(0, "POST", "/api/couriers", {"id": c, "credentialId": "bench", "kind": "heap"})
    figures = []
    for r in range(args.rounds):
        while True:
            h = holders(0)
            if len(h) == 3 and set().union(*h.values()) >= couriers: break
            time.sleep(0.2)
        victim_addr = max(h, key=lambda a: len(h[a]))
        victim = seeds.index(victim_addr)
        survivor = next(i for i in range(3) if i != victim)
        moved = len(h[victim_addr])
        os.kill(nodes[victim]["proc"].pid, signal.SIGKILL)
        nodes[victim]["proc"].wait()
        t0 = time.time()
        while True:
            try:
                h = holders(survivor)
                if victim_addr not in h and set().union(*h.values()) >= couriers: break
            except Exception: pass
            time.sleep(0.1)
        took = time.time() - t0
        figures.append(took)
        print(f"round {r + 1}: killed {victim_addr} holding {moved} couriers; all running again after {took:.1f} s", flush=True)
        start(victim)
    load = open("/proc/loadavg").read().split()[:3]
    print(json.dumps({"failover_seconds": [round(f, 1) for f in figures], "down_after": args.down_after or "default (00:00:20)",
                      "couriers": args.couriers, "load_average": load, "cores": os.cpu_count()}))
finally:
    for n in nodes:
        if n.get("proc") and n["proc"].poll() is None:
            n["proc"].send_signal(signal.SIGTERM)
            try: n["proc"].wait(60)
            except subprocess.TimeoutExpired: n["proc"].kill()
    subprocess.run(["psql", "-d", "postgres", "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])
PY
