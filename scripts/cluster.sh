#!/usr/bin/env bash
# The scale-out demo on one machine: PostgreSQL (already running, 127.0.0.1:5432), SeaweedFS
# (S3), two `jingpin serve` app hosts and two `jingpin worker`s, each with its own data dir —
# nothing is shared through a local disk. The test tests/cluster uses the same set-up.
#
#   scripts/cluster.sh start [STATE_DIR]   # prints the two URLs; state (pids, env) in STATE_DIR
#   scripts/cluster.sh stop  [STATE_DIR]   # stops everything it started, drops its database
#   CLUSTER_HOSTS=1 CLUSTER_WORKERS=1 scripts/cluster.sh start …   # the 1 + 1 baseline (bench)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CMD=${1:-start}
STATE=$(realpath -m "${2:-var/cluster}")
PY=${PY:-$ROOT/.venv/bin/python}
PG_ADMIN=${JINGPIN_CLUSTER_PG:-postgresql://postgres@127.0.0.1:5432/test}

free_port() { "$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

stop() {
  [ -d "$STATE" ] || exit 0
  for f in "$STATE"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  sleep 2
  for f in "$STATE"/*.pid; do
    [ -e "$f" ] || continue
    kill -KILL -- "-$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  if [ -f "$STATE/dbname" ]; then
    "$PY" -c "import psycopg,sys; psycopg.connect(sys.argv[1], autocommit=True).execute(f'DROP DATABASE IF EXISTS \"{sys.argv[2]}\" WITH (FORCE)')" "$PG_ADMIN" "$(cat "$STATE/dbname")"
    rm -f "$STATE/dbname"
  fi
  echo "集群已停止。"
}

start_bg() {  # name, data dir, command…: its own process group, log and pid in STATE
  local name=$1 dir=$2; shift 2
  mkdir -p "$dir"
  JINGPIN_DATA_DIR="$dir" setsid "$@" >"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

wait_url() {
  "$PY" - "$1" <<'PY'
import sys, time, httpx
deadline = time.monotonic() + 120
while True:
    try:
        if httpx.get(sys.argv[1], timeout=2).status_code == 200:
            break
    except httpx.HTTPError:
        pass
    if time.monotonic() > deadline:
        sys.exit(f"{sys.argv[1]} did not become ready")
    time.sleep(0.5)
PY
}

start() {
  mkdir -p "$STATE"
  [ ! -e "$STATE/dbname" ] || { echo "已有集群在运行：scripts/cluster.sh stop $STATE" >&2; exit 1; }
  DB="jingpin_cluster_$(date +%s)_$$"
  "$PY" -c "import psycopg,sys; psycopg.connect(sys.argv[1], autocommit=True).execute(f'CREATE DATABASE \"{sys.argv[2]}\"')" "$PG_ADMIN" "$DB"
  echo "$DB" >"$STATE/dbname"

  # SeaweedFS: every port chosen free; telemetry off (nothing may call out).
  local WEED; WEED=$(command -v weed || echo "$ROOT/.venv/bin/weed")
  local S3_PORT; S3_PORT=$(free_port)
  export AWS_ACCESS_KEY_ID=jingpin-cluster AWS_SECRET_ACCESS_KEY=$("$PY" -c 'import secrets;print(secrets.token_hex(16))') S3_BUCKET=jingpin
  mkdir -p "$STATE/seaweed"
  setsid "$WEED" mini -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false -dir="$STATE/seaweed" \
    -webdav=false -admin.ui=false -s3.port.iceberg=0 -s3.port.lance=0 -s3.port="$S3_PORT" \
    -s3.port.grpc="$(free_port)" -master.port="$(free_port)" -master.port.grpc="$(free_port)" \
    -volume.port="$(free_port)" -volume.port.grpc="$(free_port)" -filer.port="$(free_port)" \
    -filer.port.grpc="$(free_port)" -admin.port="$(free_port)" -admin.port.grpc="$(free_port)" \
    >"$STATE/seaweed.log" 2>&1 &
  echo $! >"$STATE/seaweed.pid"
  "$PY" - "http://127.0.0.1:$S3_PORT" <<'PY'
import sys, time, boto3
c = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
deadline = time.monotonic() + 60
while True:
    try:
        c.head_bucket(Bucket="jingpin"); break
    except Exception:
        if time.monotonic() > deadline: raise
        time.sleep(0.3)
PY

  # The settings every host shares: what changes for "several machines" (README).
  cat >"$STATE/cluster.env" <<ENV
export PYTHONPATH="$ROOT"
export JINGPIN_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$DB"
export JINGPIN_STORE=s3
export JINGPIN_S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT"
export JINGPIN_S3_BUCKET=jingpin
export AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID"
export AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
export JINGPIN_QUEUE=postgres
export JINGPIN_CA_SHARED=true
export JINGPIN_KEK="$("$PY" -c 'import secrets;print(secrets.token_urlsafe(48))')"
export JINGPIN_CA_ROOT_PASSPHRASE="$("$PY" -c 'import secrets;print(secrets.token_urlsafe(48))')"
export JINGPIN_SECRET_KEY="$("$PY" -c 'import secrets;print(secrets.token_urlsafe(48))')"
export JINGPIN_LOG_FORMAT=json
export JINGPIN_CONVERTER_INSTANCES=1
export JINGPIN_CONVERTER_WARM_START=false
ENV
  # shellcheck disable=SC1091
  source "$STATE/cluster.env"
  local PORT_A PORT_B; PORT_A=$(free_port); PORT_B=$(free_port)
  export JINGPIN_BASE_URL="http://127.0.0.1:$PORT_A"
  JINGPIN_DATA_DIR="$STATE/host-a" "$PY" -m backend.cli demo >"$STATE/init-a.log" 2>&1
  for h in host-b worker-1 worker-2; do
    JINGPIN_DATA_DIR="$STATE/$h" "$PY" -m backend.cli init >"$STATE/init-$h.log" 2>&1
  done
  start_bg serve-a "$STATE/host-a" "$PY" -m backend.cli serve --port "$PORT_A"
  if [ "${CLUSTER_HOSTS:-2}" = 1 ]; then PORT_B=$PORT_A; else
    start_bg serve-b "$STATE/host-b" "$PY" -m backend.cli serve --port "$PORT_B"; fi
  start_bg worker-1 "$STATE/worker-1" "$PY" -m backend.cli worker --name worker-1
  if [ "${CLUSTER_WORKERS:-2}" != 1 ]; then
    start_bg worker-2 "$STATE/worker-2" "$PY" -m backend.cli worker --name worker-2; fi
  wait_url "http://127.0.0.1:$PORT_A/readyz"
  wait_url "http://127.0.0.1:$PORT_B/readyz"
  printf 'A=http://127.0.0.1:%s\nB=http://127.0.0.1:%s\n' "$PORT_A" "$PORT_B" | tee "$STATE/urls"
  echo "集群已启动（停止：scripts/cluster.sh stop $STATE）。"
}

case "$CMD" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: scripts/cluster.sh start|stop [STATE_DIR]" >&2; exit 2 ;;
esac
