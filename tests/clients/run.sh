#!/usr/bin/env bash
# Runs the client scenario with real, unchanged Elasticsearch/OpenSearch clients against
# `iris serve`: Python elasticsearch 8.x and 9.x, opensearch-py, and the Node @elastic/elasticsearch.
# Each client gets a fresh server (own port, own data folder) so a failure cannot leak into the next.
#
# Builds nothing: expects the server binary in $IRIS_BIN (default target/debug/iris).
# Installs the pinned clients into .cache/clients/ (Python venvs) and tests/clients/node/node_modules,
# and skips an install whose pinned file has not changed since the last one.
# Last line: `clients: N passed, N failed`; exit status non-zero if any client failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

IRIS_BIN=${IRIS_BIN:-target/debug/iris}
PYTHON=${PYTHON:-python3}
HERE=tests/clients
CACHE=.cache/clients
SCENARIO_TIMEOUT=300 # seconds per client; the scenario itself takes a few seconds

if [[ ! -x $IRIS_BIN ]]; then
  echo "clients: no server binary at $IRIS_BIN (run cargo build, or set IRIS_BIN)" >&2
  exit 1
fi
mkdir -p "$CACHE"

# Functions below are called inside `if`, where bash ignores `set -e`: every step carries `|| return 1`.

# A venv per requirements file. The copy of the file kept in the venv is the install stamp.
python_env() { # name requirements-file
  local dir=$CACHE/$1 req=$2
  cmp -s "$req" "$dir/installed-requirements.txt" && return 0
  echo "  installing $req into $dir"
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir" || return 1
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req" || return 1
  cp "$req" "$dir/installed-requirements.txt"
}

# npm ci installs exactly package-lock.json; the copy kept in node_modules is the install stamp.
node_env() {
  local dir=$HERE/node
  cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-package-lock.json" && return 0
  echo "  installing $dir/package-lock.json"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  cp "$dir/package-lock.json" "$dir/node_modules/.installed-package-lock.json"
}

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

SERVER_PID=
WORK=$(mktemp -d)
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap 'stop_server; rm -rf "$WORK"' EXIT

# Starts a server on a free port with an empty data folder; sets URL. Waits at most 30 s.
start_server() { # name
  local port
  port=$(free_port) || return 1
  mkdir -p "$WORK/$1/data"
  NO_COLOR=1 "$IRIS_BIN" serve --listen "127.0.0.1:$port" --data "$WORK/$1/data" >"$WORK/$1/server.log" 2>&1 &
  SERVER_PID=$!
  URL=http://127.0.0.1:$port
  for _ in $(seq 150); do
    curl -s -m 2 -o /dev/null "$URL/" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "  server exited during startup" >&2; return 1; }
    sleep 0.2
  done
  echo "  server did not answer on $URL within 30 s" >&2
  return 1
}

PASSED=0
FAILED=0
run_client() { # name setup-command scenario-command...
  local name=$1 setup=$2
  shift 2
  echo "== $name"
  if $setup && start_server "$name" && timeout "$SCENARIO_TIMEOUT" "$@" "$URL"; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    echo "  $name FAILED; last server log lines:"
    tail -n 20 "$WORK/$name/server.log" 2>/dev/null | sed 's/^/    /' || true
  fi
  stop_server
}

run_client elasticsearch-py-8 "python_env es8 $HERE/python/requirements-es8.txt" \
  "$CACHE/es8/bin/python" "$HERE/python/run_elasticsearch.py"
run_client elasticsearch-py-9 "python_env es9 $HERE/python/requirements-es9.txt" \
  "$CACHE/es9/bin/python" "$HERE/python/run_elasticsearch.py"
run_client opensearch-py "python_env opensearch $HERE/python/requirements-opensearch.txt" \
  "$CACHE/opensearch/bin/python" "$HERE/python/run_opensearch.py"
run_client elasticsearch-js node_env node "$HERE/node/scenario.mjs"

echo "clients: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
