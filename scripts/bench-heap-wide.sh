#!/usr/bin/env bash
# Many small files: the wide Heap export of issue 18 (users, pageviews, sessions and 120 event tables, 6 dumps of 2
# part files per table: 1,476 Avro files of 40 rows) loaded by one Heap courier from moto, for each parallelism
# asked (Loading:Parallelism), each time on a fresh database. Reports files/s and rows/s, and the load average, beside
# what the S3 emulator alone serves (GET/s of the export's objects from a plain HTTP client: one GET per file's ceiling).
#
#   scripts/bench-heap-wide.sh [--parallelism 1,default] [--event-tables 120] [--variant NAME:Key=value,... ...]
#
# Each --variant runs every parallelism again with those daemon settings (e.g. one-commit-a-file:Loading__GroupFiles=1).
#
# PostgreSQL must run with its stock durable settings (the script starts the services with HEAPD_PG_DURABLE=1 when
# they are not running, and refuses a cluster with fsync or synchronous_commit off).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH=$ROOT/.local/bench
for tool in dotnet python3 psql; do
  command -v "$tool" >/dev/null || { echo "bench-heap-wide: $tool is required" >&2; exit 1; }
done

HEAPD_PG_DURABLE=1 "$ROOT/scripts/services.sh" start >&2
eval "$("$ROOT/scripts/services.sh" env 2>/dev/null)"

echo "bench-heap-wide: building (Release)" >&2
mkdir -p "$BENCH"
dotnet build "$ROOT/src/HeapDaemon/HeapDaemon.csproj" -c Release -nologo -v q >"$BENCH/build.log" 2>&1 &&
  dotnet build "$ROOT/tests/HeapDaemon.SampleData/HeapDaemon.SampleData.csproj" -c Release -nologo -v q >>"$BENCH/build.log" 2>&1 ||
  { tail -n 30 "$BENCH/build.log" >&2; exit 1; }

export BENCH
export HEAPD_DLL=$ROOT/src/HeapDaemon/bin/Release/net10.0/HeapDaemon.dll
export HEAP_SAMPLE_DLL=$ROOT/tests/HeapDaemon.SampleData/bin/Release/net10.0/HeapDaemon.SampleData.dll
exec python3 "$ROOT/scripts/bench_heap_wide.py" "$@"
