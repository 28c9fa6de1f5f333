#!/usr/bin/env bash
# Private PostgreSQL cluster + two moto_server (S3/STS emulator) instances for
# HeapDaemon development and tests. All listen on 127.0.0.1 only; state is in
# .local/. The "moto" instance accepts any credentials; "moto-auth" enforces
# them (IAM user heapd-test, role heapd-reader) so tests can see bad keys fail.
#
#   scripts/services.sh start|stop|status|env
#
#   HEAPD_PG_PORT         PostgreSQL port (default 25432)
#   HEAPD_MOTO_PORT       moto port, any credentials (default 25433)
#   HEAPD_MOTO_AUTH_PORT  moto-auth port, credentials enforced (default 25434)
#   HEAPD_PG_DURABLE=1  start PostgreSQL with stock durable settings (benchmarks);
#                       the default trades crash safety for test speed.
#
# start/stop are idempotent, so tests and developers can call them blindly.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
LOCAL=$ROOT/.local
RUN=$LOCAL/run
LOG=$LOCAL/log
# Below the kernel's ephemeral range (32768-60999 on Linux): a port there can be taken for a moment by any
# outgoing connection, and a service that finds its port taken does not start.
PG_PORT=${HEAPD_PG_PORT:-25432}
MOTO_PORT=${HEAPD_MOTO_PORT:-25433}
MOTO_AUTH_PORT=${HEAPD_MOTO_AUTH_PORT:-25434}
PG_DB=heapdaemon
MOTO_AUTH_ENV=$LOCAL/moto-auth.env # moto-auth's keys as export lines, mode 600
TIMEOUT=30 # seconds to wait for a service to come up or go down

die() { echo "services: $*" >&2; exit 1; }

fail_with_log() {
  echo "services: $1; last lines of $2:" >&2
  tail -n 30 "$2" >&2 || true
  exit 1
}

# initdb and postgres refuse to run as root, so as root hand them to the
# postgres user. cd / first: that user may not be allowed into our cwd.
as_pg() {
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Newest installed server (Debian layout); empty if none is installed.
pg_bin() {
  local d best=""
  while read -r d; do
    if [[ -x $d/postgres ]]; then best=$d; fi
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
  echo "$best"
}

# A fresh machine may only have the client; the server is one apt package away.
need_pg_bin() {
  if [[ -z $(pg_bin) ]]; then
    ((EUID == 0)) || die "PostgreSQL server not installed; run: apt-get install postgresql"
    echo "services: installing PostgreSQL server" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  [[ -n $(pg_bin) ]] || die "PostgreSQL server binaries still missing after apt-get"
  if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
}

# .local/pgdata is the data folder, or a symlink to it when the postgres user
# cannot reach .local (checkout under a mode-700 home such as /root).
pg_data() {
  if [[ -L $LOCAL/pgdata ]]; then readlink "$LOCAL/pgdata"; else echo "$LOCAL/pgdata"; fi
}

make_pg_data() {
  local data owner=postgres
  if [[ ! -e $LOCAL/pgdata && ! -L $LOCAL/pgdata ]] && ! as_pg test -x "$LOCAL"; then
    ln -s "/tmp/heapdaemon-pg-$(printf %s "$ROOT" | sha256sum | cut -c1-12)" "$LOCAL/pgdata"
  fi
  data=$(pg_data)
  if [[ ! -d $data ]]; then # new, or the /tmp target was wiped by a reboot
    mkdir -m 700 "$data"
    if ((EUID == 0)); then chown postgres: "$data"; fi
  fi
  # /tmp is shared: never hand a folder someone else planted to the server.
  if ((EUID != 0)); then owner=$(id -un); fi
  [[ $(stat -c %U "$data") == "$owner" ]] || die "$data is not owned by $owner; remove it"
  if [[ -L $LOCAL/pgdata ]]; then
    echo "services: postgres user cannot reach $LOCAL; PostgreSQL data is in $data" >&2
  fi
}

# PID of the postmaster serving our data folder, if any. The pid in
# postmaster.pid alone can be stale or reused; a live postmaster's cwd is its
# data folder. Read /proc as the postgres user: root may lack CAP_SYS_PTRACE.
pg_pid() {
  local data pid
  data=$(pg_data)
  pid=$(head -n1 "$data/postmaster.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ $(as_pg readlink "/proc/$pid/cwd" 2>/dev/null) == "$(cd "$data" && pwd -P)" ]] || return 1
  echo "$pid"
}

psql_admin() {
  "$(pg_bin)/psql" "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres" -XqtA "$@"
}

pg_mode() {
  if [[ $(psql_admin -c 'show fsync' 2>/dev/null) == off ]]; then echo fast; else echo durable; fi
}

start_pg() {
  need_pg_bin
  local bin data want opts i
  bin=$(pg_bin)
  make_pg_data
  data=$(pg_data)
  want=$([[ ${HEAPD_PG_DURABLE:-0} == 1 ]] && echo durable || echo fast)

  if pg_pid >/dev/null; then
    echo "postgres: already running"
  else
    if [[ ! -f $data/PG_VERSION ]]; then
      # -N: skipping fsync during initdb is fine for a throwaway dev cluster.
      as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --no-locale -E UTF8 -N \
        >>"$LOG/postgres.log" 2>&1 || fail_with_log "initdb failed" "$LOG/postgres.log"
      echo "host all all 127.0.0.1/32 trust" >"$data/pg_hba.conf"
    fi
    # After a crash postgres discards a postmaster.pid whose pid is dead, but
    # refuses to start if that pid now belongs to another postgres-user process.
    if [[ -f $data/postmaster.pid ]] && as_pg kill -0 "$(head -n1 "$data/postmaster.pid")" 2>/dev/null; then
      rm -f "$data/postmaster.pid"
    fi
    # -k '': no unix socket, so nothing clashes with a system cluster's socket.
    opts="-h 127.0.0.1 -p $PG_PORT -k '' -c max_connections=200"
    if [[ $want == fast ]]; then
      opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    # No -l: the server inherits our log redirection, which also works when the
    # postgres user cannot open files under .local. pg_ctl detaches (setsid).
    as_pg "$bin/pg_ctl" start -w -t "$TIMEOUT" -D "$data" -o "$opts" >>"$LOG/postgres.log" 2>&1 ||
      fail_with_log "postgres failed to start" "$LOG/postgres.log"
    echo "postgres: started ($want) on 127.0.0.1:$PG_PORT"
  fi

  for ((i = 0; i < TIMEOUT * 5; i++)); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres; then break; fi
    sleep 0.2
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres ||
    fail_with_log "postgres not accepting connections on 127.0.0.1:$PG_PORT" "$LOG/postgres.log"
  if [[ $(pg_mode) != "$want" ]]; then
    echo "postgres: WARNING running $(pg_mode), not $want; run stop then start to switch" >&2
  fi
  if [[ -z $(psql_admin -c "select 1 from pg_database where datname = '$PG_DB'") ]]; then
    psql_admin -c "create database $PG_DB"
  fi
}

stop_pg() {
  local bin
  bin=$(pg_bin)
  if [[ -z $bin ]] || ! pg_pid >/dev/null; then
    echo "postgres: not running"
    return 0
  fi
  as_pg "$bin/pg_ctl" stop -w -t "$TIMEOUT" -m fast -D "$(pg_data)" >>"$LOG/postgres.log" 2>&1 ||
    fail_with_log "postgres did not stop" "$LOG/postgres.log"
  echo "postgres: stopped"
}

# The moto functions take the instance name, which picks its pid file and log
# (.local/run/NAME.pid, .local/log/NAME.log), and, where needed, its port.

# PID of our moto_server instance NAME, if alive. Drops a stale pid file
# (crash, reboot), checking the command line so a reused pid is not mistaken
# for moto.
moto_pid() {
  local pidfile=$RUN/$1.pid pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  if [[ $pid =~ ^[0-9]+$ ]] && grep -qa moto_server "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
    return 0
  fi
  rm -f "$pidfile"
  return 1
}

# Probe the dashboard, not /: with authentication on, moto answers an unsigned
# request for / with a 500.
moto_ready() { curl -sf -o /dev/null "http://127.0.0.1:$1/moto-api/"; }

start_moto() { # NAME PORT
  local name=$1 port=$2 log=$LOG/$1.log pid i
  if pid=$(moto_pid "$name"); then
    echo "$name: already running"
  else
    if ! command -v moto_server >/dev/null; then
      echo "services: moto_server not found, trying pip install 'moto[server]'" >&2
      python3 -m pip install -q 'moto[server]' >&2 || true
      hash -r
      command -v moto_server >/dev/null ||
        die "moto_server is missing: install it with pip install 'moto[server]' (Python moto >= 5) and put it on PATH"
    fi
    # Something else on the port could answer our readiness probe.
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
      die "port $port already serves HTTP but not from our $name; stop that or set HEAPD_MOTO_PORT / HEAPD_MOTO_AUTH_PORT"
    fi
    # Detached in its own session so it outlives this script and its terminal.
    setsid nohup moto_server -H 127.0.0.1 -p "$port" </dev/null >>"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$RUN/$name.pid"
    echo "$name: started on http://127.0.0.1:$port"
  fi
  for ((i = 0; i < TIMEOUT * 5; i++)); do
    if moto_ready "$port"; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break # it died: no point waiting out the timeout
    sleep 0.2
  done
  fail_with_log "$name not answering on http://127.0.0.1:$port" "$log"
}

stop_moto() { # NAME
  local name=$1 pid i
  if ! pid=$(moto_pid "$name"); then
    echo "$name: not running"
    return 0
  fi
  kill "$pid"
  for ((i = 0; i < TIMEOUT * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  rm -f "$RUN/$name.pid"
  echo "$name: stopped"
}

# HTTP status of S3 ListBuckets on moto-auth signed with KEY_ID SECRET. moto
# verifies the signature over x-amz-content-sha256, which curl does not add.
moto_auth_probe() {
  curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 --user "$1:$2" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    "http://127.0.0.1:$MOTO_AUTH_PORT/" || true
}

# True if moto-auth accepts the keys in FILE (export lines) and rejects the
# same key id with a wrong secret, i.e. authentication is really on. A file
# from an older bootstrap, without every identity tests use, does not count.
moto_auth_enforced() {
  [[ -f $1 ]] && grep -q HEAPD_TEST_S3_AUTH_DENIED_KEY_ID "$1" || return 1
  (
    # shellcheck source=/dev/null
    . "$1"
    [[ $(moto_auth_probe "$HEAPD_TEST_S3_AUTH_KEY_ID" "$HEAPD_TEST_S3_AUTH_SECRET") == 200 &&
      $(moto_auth_probe "$HEAPD_TEST_S3_AUTH_KEY_ID" "not-$HEAPD_TEST_S3_AUTH_SECRET") == 403 ]]
  )
}

# On a fresh moto-auth, still accepting any keys: create the IAM user and
# role tests use, write their keys to $MOTO_AUTH_ENV, then turn auth on.
bootstrap_moto_auth() {
  local log=$LOG/moto-auth.log tmp=$MOTO_AUTH_ENV.tmp
  python3 -c 'import boto3' 2>/dev/null || die "python3 cannot import boto3 (pip install boto3)"
  # umask: the file holds a secret key. Diagnostics go to the instance's log.
  (umask 077 && python3 - "http://127.0.0.1:$MOTO_AUTH_PORT" >"$tmp" 2>>"$log") <<'PY' ||
import json, shlex, sys
import boto3

conn = dict(endpoint_url=sys.argv[1], region_name="us-east-1",
            aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam = boto3.client("iam", **conn)
account = boto3.client("sts", **conn).get_caller_identity()["Account"]

def allow(actions):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"}]})

user = iam.create_user(UserName="heapd-test")["User"]
iam.put_user_policy(UserName="heapd-test", PolicyName="heapd-test",
                    PolicyDocument=allow(["s3:*", "sts:*"]))
key = iam.create_access_key(UserName="heapd-test")["AccessKey"]

# Allowed nothing on S3 but to assume heapd-reader: what "access denied"
# looks like, and a daemon identity that can read only through the role.
denied_user = iam.create_user(UserName="heapd-denied")["User"]
iam.put_user_policy(UserName="heapd-denied", PolicyName="heapd-denied",
                    PolicyDocument=allow(["sts:*"]))
denied = iam.create_access_key(UserName="heapd-denied")["AccessKey"]

# moto matches a trust policy principal only against the caller's exact ARN
# (the account root does not cover its users), so name each.
trust = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRole",
    "Principal": {"AWS": [f"arn:aws:iam::{account}:root", user["Arn"], denied_user["Arn"]]},
    "Condition": {"StringEquals": {"sts:ExternalId": "heapd-external-id"}}}]}
role = iam.create_role(RoleName="heapd-reader",
                       AssumeRolePolicyDocument=json.dumps(trust))["Role"]
iam.put_role_policy(RoleName="heapd-reader", PolicyName="heapd-reader",
                    PolicyDocument=allow("s3:*"))

for name, value in [("HEAPD_TEST_S3_AUTH_KEY_ID", key["AccessKeyId"]),
                    ("HEAPD_TEST_S3_AUTH_SECRET", key["SecretAccessKey"]),
                    ("HEAPD_TEST_S3_AUTH_ROLE_ARN", role["Arn"]),
                    ("HEAPD_TEST_S3_AUTH_DENIED_KEY_ID", denied["AccessKeyId"]),
                    ("HEAPD_TEST_S3_AUTH_DENIED_SECRET", denied["SecretAccessKey"])]:
    print(f"export {name}={shlex.quote(value)}")
PY
    fail_with_log "moto-auth bootstrap failed" "$log"
  # A count of 0 unauthenticated requests: auth is on from now on, server-wide.
  # text/plain: moto reads the raw body, which curl's form default would hide.
  curl -sf -o /dev/null -X POST -H 'Content-Type: text/plain' --data-binary 0 \
    "http://127.0.0.1:$MOTO_AUTH_PORT/moto-api/reset-auth" ||
    fail_with_log "moto-auth did not accept reset-auth" "$log"
  moto_auth_enforced "$tmp" || fail_with_log "moto-auth does not enforce authentication" "$log"
  mv "$tmp" "$MOTO_AUTH_ENV"
  echo "moto-auth: authentication on; keys in $MOTO_AUTH_ENV"
}

# Its IAM state lives only in the process, so the keys file is valid exactly
# while the instance that wrote it runs: otherwise restart and bootstrap.
start_moto_auth() {
  if moto_pid moto-auth >/dev/null && ! moto_auth_enforced "$MOTO_AUTH_ENV"; then
    echo "moto-auth: running without working keys in $MOTO_AUTH_ENV; restarting it" >&2
    stop_moto moto-auth
  fi
  if ! moto_pid moto-auth >/dev/null; then rm -f "$MOTO_AUTH_ENV"; fi
  start_moto moto-auth "$MOTO_AUTH_PORT"
  if [[ ! -f $MOTO_AUTH_ENV ]]; then bootstrap_moto_auth; fi
}

stop_moto_auth() {
  stop_moto moto-auth
  rm -f "$MOTO_AUTH_ENV" "$MOTO_AUTH_ENV.tmp"
}

status() {
  local rc=0 pid keys
  if pid=$(pg_pid); then
    echo "postgres: running (pid $pid) on 127.0.0.1:$PG_PORT, $(pg_mode) mode, data in $(pg_data)"
  else
    echo "postgres: not running (data in $(pg_data))"
    rc=3
  fi
  if pid=$(moto_pid moto); then
    echo "moto: running (pid $pid) on http://127.0.0.1:$MOTO_PORT"
  else
    echo "moto: not running"
    rc=3
  fi
  if pid=$(moto_pid moto-auth); then
    keys=$MOTO_AUTH_ENV
    [[ -f $keys ]] || keys="MISSING (run start)"
    echo "moto-auth: running (pid $pid) on http://127.0.0.1:$MOTO_AUTH_PORT, keys: $keys"
  else
    echo "moto-auth: not running"
    rc=3
  fi
  return $rc
}

print_env() {
  local s3=http://127.0.0.1:$MOTO_PORT
  cat <<EOF
export PGHOST=127.0.0.1
export PGPORT=$PG_PORT
export PGUSER=postgres
export PGDATABASE=$PG_DB
export S3_ENDPOINT=$s3
export HEAPD_TEST_PG='Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$PG_DB'
export HEAPD_TEST_S3_ENDPOINT=$s3
export HEAPD_TEST_S3_AUTH_ENDPOINT=http://127.0.0.1:$MOTO_AUTH_PORT
EOF
  if [[ -f $MOTO_AUTH_ENV ]]; then
    cat "$MOTO_AUTH_ENV"
  else
    echo "services: moto-auth keys missing (HEAPD_TEST_S3_AUTH_*); run: $0 start" >&2
  fi
}

mkdir -p "$RUN" "$LOG"
case ${1:-} in
  start) start_pg; start_moto moto "$MOTO_PORT"; start_moto_auth ;;
  stop) stop_moto_auth; stop_moto moto; stop_pg ;;
  status) status ;;
  env) print_env ;;
  *) die "usage: $0 start|stop|status|env" ;;
esac
