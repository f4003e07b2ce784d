#!/usr/bin/env bash
# Starts a local MLflow tracking server for duel runs and tests, and waits until
# it answers /health.
#
#   scripts/start-mlflow.sh [--port 5000] [--dir .cache/mlflow] [--foreground]
#   scripts/start-mlflow.sh --stop [--dir .cache/mlflow]
#
# The server keeps its runs in <dir>/mlflow.db (SQLite) and its artifacts in
# <dir>/artifacts, served through the artifact proxy (mlflow-artifacts:/), so a
# client needs nothing but HTTP. It runs in its own session (process group):
# `mlflow server` starts uvicorn as a child, and killing the group is the only
# way to be sure neither survives. The group id goes to <dir>/mlflow.pid and
# the server's output to <dir>/mlflow.log.
#
# Without --foreground the script returns once the server is healthy and prints
# its URI on stdout; stop it with --stop. With --foreground it stays attached
# and stops the server on Ctrl-C.
#
# Environment:
#   DUEL_MLFLOW_PYTHON         Python with mlflow installed
#                              (default <repo>/.venv-mlflow/bin/python, then /tmp/venv-mlflow/bin/python)
#   DUEL_MLFLOW_START_TIMEOUT  seconds to wait for /health (default 90)
#   DUEL_MLFLOW_WORKERS        uvicorn workers (default 1: the machines are small)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port=5000
dir="$repo/.cache/mlflow"
foreground=0
stop=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --foreground) foreground=1; shift ;;
    --stop) stop=1; shift ;;
    -h|--help) sed -n '2,23p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "start-mlflow.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
pidfile="$dir/mlflow.pid"
logfile="$dir/mlflow.log"

# Whether any process of group $1 is alive (zombies waiting for a reaper don't count).
group_alive() {
  ps -o stat= -g "$1" 2>/dev/null | grep -qv '^Z'
}

stop_server() {
  [[ -f "$pidfile" ]] || return 0
  local pgid
  pgid="$(cat "$pidfile")"
  if group_alive "$pgid"; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      group_alive "$pgid" || break
      sleep 0.2
    done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

if [[ $stop -eq 1 ]]; then
  stop_server
  exit 0
fi

if [[ -n "${DUEL_MLFLOW_PYTHON:-}" ]]; then
  python="$DUEL_MLFLOW_PYTHON"
elif "$repo/.venv-mlflow/bin/python" -c 'import mlflow' 2>/dev/null; then
  python="$repo/.venv-mlflow/bin/python"
elif /tmp/venv-mlflow/bin/python -c 'import mlflow' 2>/dev/null; then
  python=/tmp/venv-mlflow/bin/python
else
  echo "start-mlflow.sh: no Python with mlflow found; set DUEL_MLFLOW_PYTHON or run scripts/setup.sh" >&2
  exit 1
fi

if [[ -f "$pidfile" ]] && group_alive "$(cat "$pidfile")"; then
  echo "start-mlflow.sh: a server from $dir is already running (group $(cat "$pidfile")); use --stop first" >&2
  exit 1
fi

uri="http://127.0.0.1:$port"
if curl -fsS -o /dev/null --max-time 2 "$uri/health" 2>/dev/null; then
  echo "start-mlflow.sh: something already answers on $uri; pick another --port" >&2
  exit 1
fi
# The job runner (a pool of huey workers for GenAI evaluation jobs) is of no use
# to duel and costs a dozen processes.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION="${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}"
mkdir -p "$dir/artifacts"
# setsid makes the server the leader of a new process group whose id is its pid.
setsid "$python" -m mlflow server \
  --host 127.0.0.1 --port "$port" \
  --workers "${DUEL_MLFLOW_WORKERS:-1}" \
  --backend-store-uri "sqlite:///$dir/mlflow.db" \
  --artifacts-destination "$dir/artifacts" \
  >>"$logfile" 2>&1 </dev/null &
echo $! >"$pidfile"
pgid="$(cat "$pidfile")"

deadline=$(( $(date +%s) + ${DUEL_MLFLOW_START_TIMEOUT:-90} ))
until curl -fsS -o /dev/null "$uri/health" 2>/dev/null; do
  if ! group_alive "$pgid"; then
    echo "start-mlflow.sh: the server exited before it was healthy; last lines of $logfile:" >&2
    tail -n 30 "$logfile" >&2
    rm -f "$pidfile"
    exit 1
  fi
  if (( $(date +%s) > deadline )); then
    echo "start-mlflow.sh: no answer from $uri/health after ${DUEL_MLFLOW_START_TIMEOUT:-90} s; last lines of $logfile:" >&2
    tail -n 30 "$logfile" >&2
    stop_server
    exit 1
  fi
  sleep 0.5
done

echo "$uri"
if [[ $foreground -eq 1 ]]; then
  trap 'stop_server; exit 0' INT TERM
  while group_alive "$pgid"; do sleep 1; done
  rm -f "$pidfile"
fi
