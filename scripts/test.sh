#!/usr/bin/env bash
# The project's test command. Brings up PostgreSQL + moto (scripts/services.sh),
# runs the whole solution and ends with one summary line that tools can parse:
#   N passed, N failed[, N skipped]
# Extra arguments go to dotnet test, e.g.: scripts/test.sh --filter Category=Unit
# Services are left running so reruns are fast; HEAPD_STOP_SERVICES=1 stops them (CI).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
SERVICES=$ROOT/scripts/services.sh
RESULTS=$ROOT/.local/test-results
cd "$ROOT" # dotnet picks its SDK from global.json relative to the cwd

stopped=0
stop_services() {
  if [[ ${HEAPD_STOP_SERVICES:-0} == 1 && $stopped == 0 ]]; then
    stopped=1
    "$SERVICES" stop || true
  fi
}
trap stop_services EXIT # also covers Ctrl-C and unexpected errors

# The format tests make their files with the real tools, and the console's tests drive Debian's Chromium
# (Playwright downloads no browser here); a fresh machine may lack some.
missing=()
for tool in gpg zip tar gzip; do command -v "$tool" >/dev/null || missing+=("$tool"); done
chromium=${HEAPD_CHROMIUM:-/usr/bin/chromium}
[[ -x $chromium ]] || missing+=(chromium)
if ((${#missing[@]} > 0)); then
  if ((EUID == 0)); then
    echo "test.sh: installing ${missing[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnupg zip tar gzip chromium >&2 || true
  else
    echo "test.sh: the tests need ${missing[*]}; install them (apt-get install gnupg zip chromium)" >&2
  fi
fi

if ! "$SERVICES" start; then
  stop_services
  echo "test.sh: services did not start, no tests run" >&2
  echo "0 passed, 0 failed"
  exit 1
fi
eval "$("$SERVICES" env)"

rm -rf "$RESULTS" # results of an earlier run must not be counted
export HEAPD_TEST_RESULTS=$RESULTS # the browser tests save each step's screenshot under it
rc=0
dotnet test HeapDaemon.sln -c Release --logger trx --results-directory "$RESULTS" "$@" || rc=$?

# dotnet test's own console summary is per project; sum the <Counters> of every
# trx instead. Prints: files passed failed skipped unreadable
counts=$(python3 - "$RESULTS" <<'PY'
import pathlib, sys
import xml.etree.ElementTree as ET

files = passed = failed = skipped = unreadable = 0
for trx in sorted(pathlib.Path(sys.argv[1]).rglob("*.trx")):
    try:
        c = next(e for e in ET.parse(trx).iter() if e.tag.rpartition("}")[2] == "Counters")
    except (ET.ParseError, StopIteration) as e:  # e.g. test host crashed mid-write
        print(f"test.sh: no counters in {trx}: {e!r}", file=sys.stderr)
        unreadable += 1
        continue
    n = lambda name: int(c.get(name, 0))
    files += 1
    passed += n("passed")
    failed += n("failed") + n("error") + n("timeout") + n("aborted")
    # Skipped tests are NotExecuted, but VSTest's trx may leave notExecuted=0
    # and only show them as total - executed.
    skipped += max(n("notExecuted"), n("total") - n("executed"))
print(files, passed, failed, skipped, unreadable)
PY
) || counts="0 0 0 0 1"
read -r files passed failed skipped unreadable <<<"$counts"

stop_services # before the summary, so the summary stays the last line

problem=""
if ((rc != 0)); then problem="dotnet test exited with $rc"
elif ((unreadable > 0)); then problem="$unreadable unreadable trx file(s)"
elif ((files == 0)); then problem="no trx results in $RESULTS"
elif ((failed > 0)); then problem="$failed test(s) failed"
elif ((passed == 0)); then problem="no tests ran"
fi
[[ -z $problem ]] || echo "test.sh: FAILED: $problem" >&2

summary="$passed passed, $failed failed"
if ((skipped > 0)); then summary+=", $skipped skipped"; fi
echo "$summary"

if [[ -n $problem ]]; then exit $((rc != 0 ? rc : 1)); fi
