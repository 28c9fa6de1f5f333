#!/usr/bin/env bash
# Stitch's benchmark, everything loaded through the daemon as tagged feeds from moto and stitched through its API:
#   - quality on the public FEBRL data (dataset4a linked with dataset4b; dataset2 deduplicated), without soc_sec_id
#     (the headline) and with it as a customer key: pairwise precision, recall and F1 against rec_id;
#   - speed and memory on synthetic people across three sources (scripts/../tests/HeapDaemon.SampleData, known truth):
#     a full stitch of --records records (default 1 000 000), a second full stitch (ids kept), an incremental stitch
#     after 1% of the records changed, the daemon's peak resident memory, and quality against the generator's truth.
#
#   scripts/bench-stitch.sh [--records N] [--json FILE] [--skip-febrl] [--skip-synthetic]
#
# PostgreSQL runs with its stock durable settings (started with HEAPD_PG_DURABLE=1 when not running; a cluster with
# fsync or synchronous_commit off is refused). FEBRL is read from ../shared/data/febrl (FEBRL_DIR to change it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH=$ROOT/.local/bench/stitch
RECORDS=1000000
ARGS=("$@")
for ((i = 0; i < $#; i++)); do
  if [[ ${ARGS[i]} == --records ]]; then RECORDS=${ARGS[i + 1]:-}; fi
done
[[ $RECORDS =~ ^[0-9]+$ ]] || { echo "bench-stitch: --records takes a number" >&2; exit 2; }
for tool in dotnet python3 psql; do
  command -v "$tool" >/dev/null || { echo "bench-stitch: $tool is required" >&2; exit 1; }
done
python3 -c "import boto3" 2>/dev/null || { echo "bench-stitch: python3 needs boto3 (pip install boto3)" >&2; exit 1; }

FEBRL_DIR=${FEBRL_DIR:-$ROOT/../shared/data/febrl}
[[ -d $FEBRL_DIR ]] || FEBRL_DIR=/work/shared/data/febrl

HEAPD_PG_DURABLE=1 "$ROOT/scripts/services.sh" start >&2
eval "$("$ROOT/scripts/services.sh" env 2>/dev/null)"

echo "bench-stitch: building (Release)" >&2
mkdir -p "$BENCH"
dotnet build "$ROOT/src/HeapDaemon/HeapDaemon.csproj" -c Release -nologo -v q >"$BENCH/build.log" 2>&1 &&
  dotnet build "$ROOT/tests/HeapDaemon.SampleData/HeapDaemon.SampleData.csproj" -c Release -nologo -v q >>"$BENCH/build.log" 2>&1 ||
  { tail -n 30 "$BENCH/build.log" >&2; exit 1; }

# About 2.23 records a person: the generator's people count for the records asked for.
PEOPLE=$((RECORDS * 100 / 223))
DATA=$BENCH/data/$PEOPLE
if [[ ! -f $DATA/done ]]; then
  echo "bench-stitch: generating $PEOPLE people (about $RECORDS records) in $DATA" >&2
  rm -rf "$DATA"
  dotnet "$ROOT/tests/HeapDaemon.SampleData/bin/Release/net10.0/HeapDaemon.SampleData.dll" people --people "$PEOPLE" --out "$DATA" --seed 1 >&2
  touch "$DATA/done"
fi

export BENCH DATA FEBRL_DIR
export HEAPD_DLL=$ROOT/src/HeapDaemon/bin/Release/net10.0/HeapDaemon.dll
exec python3 "$ROOT/scripts/bench_stitch.py" "$@"
