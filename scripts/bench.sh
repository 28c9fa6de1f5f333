#!/usr/bin/env bash
# HeapDaemon against what a user could do instead, on this machine, in one invocation: the same Heap pageviews
# as snappy Avro part files, as PGP-encrypted gzip CSV and as Parquet, loaded (1) by the daemon from moto through
# the admin API, (2) by "the limit": psql \copy of a plain local CSV into a staging table plus the same merge SQL,
# and (3) for the PGP set, by the shell pipeline curl | gpg --decrypt | gunzip | psql \copy plus the merge.
# A first load (all inserts) and a reload where half the rows changed; each figure the median of --reps runs.
#
#   scripts/bench.sh [--rows N] [--reps N] [--json FILE] [--sets avro,pgp-csv,parquet] [--with-run-page]
#
# --with-run-page: each of the daemon's timed runs is also timed a second time with the run's live console page open
# in headless Chromium (signed in, as a person watching it), reported as the path "heapd+page".
#
# PostgreSQL must run with its stock durable settings: start the services with HEAPD_PG_DURABLE=1 (the script
# starts them so when they are not running, and refuses a cluster with fsync or synchronous_commit off).
# Data sets are generated under .local/bench/data/<rows>/ and kept for the next invocation; the database
# heapd_bench is made anew each time.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH=$ROOT/.local/bench
ROWS=1000000
RUN_PAGE=0
ARGS=("$@")
for ((i = 0; i < $#; i++)); do
  if [[ ${ARGS[i]} == --rows ]]; then ROWS=${ARGS[i + 1]:-}; fi
  if [[ ${ARGS[i]} == --with-run-page ]]; then RUN_PAGE=1; fi
done
[[ $ROWS =~ ^[0-9]+$ ]] || { echo "bench: --rows takes a number" >&2; exit 2; }
for tool in dotnet python3 psql gpg gzip curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done

HEAPD_PG_DURABLE=1 "$ROOT/scripts/services.sh" start >&2
eval "$("$ROOT/scripts/services.sh" env 2>/dev/null)"

echo "bench: building (Release)" >&2
mkdir -p "$BENCH"
dotnet build "$ROOT/src/HeapDaemon/HeapDaemon.csproj" -c Release -nologo -v q >"$BENCH/build.log" 2>&1 &&
  dotnet build "$ROOT/tests/HeapDaemon.Benchmarks/HeapDaemon.Benchmarks.csproj" -c Release -nologo -v q >>"$BENCH/build.log" 2>&1 ||
  { tail -n 30 "$BENCH/build.log" >&2; exit 1; }
if ((RUN_PAGE)); then
  CHROMIUM=${HEAPD_CHROMIUM:-/usr/bin/chromium}
  if [[ ! -x $CHROMIUM ]]; then
    if ((EUID == 0)); then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    else
      echo "bench: --with-run-page needs Chromium at $CHROMIUM (apt-get install chromium, or set HEAPD_CHROMIUM)" >&2; exit 1
    fi
  fi
  dotnet build "$ROOT/tests/HeapDaemon.RunPageWatcher/HeapDaemon.RunPageWatcher.csproj" -c Release -nologo -v q >>"$BENCH/build.log" 2>&1 ||
    { tail -n 30 "$BENCH/build.log" >&2; exit 1; }
  export HEAPD_WATCHER_DLL=$ROOT/tests/HeapDaemon.RunPageWatcher/bin/Release/net10.0/HeapDaemon.RunPageWatcher.dll
fi

# A throwaway key, made once: the PGP set is encrypted to it and the daemon gets its private half.
GNUPGHOME=$BENCH/gnupg
export GNUPGHOME
# gpg starts an agent for this home (the key below, and bench.py's shell pipeline decrypting): stop it when the
# benchmark ends, however it ends, so no gpg-agent outlives the run.
trap 'gpgconf --homedir "$GNUPGHOME" --kill gpg-agent >/dev/null 2>&1 || true' EXIT
PASSPHRASE=heapd-bench-passphrase
if [[ ! -f $GNUPGHOME/bench.asc ]]; then
  mkdir -p -m 700 "$GNUPGHOME"
  gpg --batch --quiet --pinentry-mode loopback --passphrase "$PASSPHRASE" \
    --quick-gen-key 'HeapDaemon bench <bench@example.com>' future-default default never
  gpg --batch --quiet --pinentry-mode loopback --passphrase "$PASSPHRASE" --armor \
    --export-secret-keys bench@example.com >"$GNUPGHOME/bench.asc"
fi

DATA=$BENCH/data/$ROWS
for variant in first reload; do
  dir=$DATA/$variant
  if [[ ! -f $dir/done ]]; then
    echo "bench: generating $ROWS rows ($variant) in $dir" >&2
    rm -rf "$dir"
    dotnet "$ROOT/tests/HeapDaemon.Benchmarks/bin/Release/net10.0/HeapDaemon.Benchmarks.dll" \
      --rows "$ROWS" --out "$dir" --variant "$variant" >&2
    # gpg's own compression off: the content is gzip already, as a sender's export would be.
    gzip -6 -c "$dir/pageviews.csv" |
      gpg --batch --quiet --trust-model always --compress-algo none --encrypt -r bench@example.com >"$dir/pageviews.csv.gz.gpg"
    touch "$dir/done"
  fi
done

export BENCH DATA ROWS PASSPHRASE GNUPGHOME
export HEAPD_DLL=$ROOT/src/HeapDaemon/bin/Release/net10.0/HeapDaemon.dll
python3 "$ROOT/scripts/bench.py" "$@" # not exec: the trap above runs when it ends
