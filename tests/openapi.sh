#!/usr/bin/env bash
# The OpenAPI document as a client developer meets it, against the real api-server on a fresh
# SQLite database, with a bearer token:
#   1. Spectral (`spectral:oas`): no error and no warning;
#   2. openapi-python-client generates a client without a warning, and tests/openapi/
#      client_check.py uses it (typed datetimes and enums, codes, Location, the rejected shape);
#   3. the calendar feed parsed by Python's `icalendar` (tests/openapi/ics_check.py);
#   4. schemathesis with every check (tests/openapi/schemathesis.toml), no failure, no 5xx,
#      and no panic in the server's log.
# Bounded: a fixed number of examples per operation (MAX_EXAMPLES), a fixed seed (SEED), a
# request timeout and an overall timeout (TOTAL_TIMEOUT seconds).
#
#   bash tests/openapi.sh                  # builds and uses target/debug/api-server
#   PROFILE=release bash tests/openapi.sh
#
# Needs python3 (3.11+, with venv) and node (18+, with npm); .ci/run installs them when they
# are missing. The first run installs the three tools from PyPI and npm into TOOLS_DIR (kept
# between runs and clones; about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
PYTHON_CLIENT_VERSION=0.29.1
SPECTRAL_VERSION=6.16.3
ICALENDAR_VERSION=7.3.2
PROFILE=${PROFILE:-debug}
MAX_EXAMPLES=${MAX_EXAMPLES:-40}
SEED=${SEED:-20261128}
TOTAL_TIMEOUT=${TOTAL_TIMEOUT:-600}
PHASES=${PHASES:-examples,coverage,fuzzing,stateful}
TOOLS_DIR=${TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/publishing-scheduler-tools}
TOKEN="openapi-$$-$RANDOM"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'FATAL: %s\n' "$*" >&2; exit 1; }

# A virtualenv in TOOLS_DIR with one pinned package, made once.
python_tool() {
  local package=$1 version=$2 venv="$TOOLS_DIR/$1-$2"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/pip" show -q "$package" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed: install python3-venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version"
  fi
  echo "$venv"
}

step "tools in $TOOLS_DIR"
command -v python3 >/dev/null || die "python3 is missing"
command -v npm >/dev/null || die "node and npm are missing"
mkdir -p "$TOOLS_DIR"
st_venv=$(python_tool schemathesis "$SCHEMATHESIS_VERSION")
client_venv=$(python_tool openapi-python-client "$PYTHON_CLIENT_VERSION")
ical_venv=$(python_tool icalendar "$ICALENDAR_VERSION")
spectral_dir="$TOOLS_DIR/spectral-$SPECTRAL_VERSION"
spectral="$spectral_dir/node_modules/.bin/spectral"
if [ ! -x "$spectral" ]; then
  rm -rf "$spectral_dir"
  mkdir -p "$spectral_dir"
  npm install --silent --no-fund --no-audit --prefix "$spectral_dir" "@stoplight/spectral-cli@$SPECTRAL_VERSION" >/dev/null
fi
"$st_venv/bin/schemathesis" --version
"$client_venv/bin/openapi-python-client" --version
echo "spectral $("$spectral" --version)"

server="target/$PROFILE/api-server"
# Always through cargo: a binary older than the sources would test the wrong server.
step "building api-server ($PROFILE)"
if [ "$PROFILE" = release ]; then cargo build --release -p api-server; else cargo build -p api-server; fi

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

step "starting $server on a fresh SQLite database"
env -i PATH="$PATH" RUST_LOG=info "$server" --bind 127.0.0.1:0 --database-url "$work/test.db" \
  --api-token "$TOKEN" 2>"$work/server.log" &
pid=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -n1)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; die "api-server exited"; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log" >&2; die "api-server did not start"; }
base="http://127.0.0.1:$port"
echo "listening on $base"
curl -fsS "$base/openapi.json" >"$work/openapi.json"

step "spectral lint (spectral:oas, warnings fail)"
"$spectral" lint --ruleset tests/openapi/spectral.yaml --fail-severity warn "$work/openapi.json"

step "openapi-python-client $PYTHON_CLIENT_VERSION: generate, then use the client"
(cd "$work" && "$client_venv/bin/openapi-python-client" generate --path openapi.json --meta none \
  --output-path client --config "$OLDPWD/tests/openapi/python-client.yaml") 2>&1 | tee "$work/generate.log"
if grep -qi 'warning\|error' "$work/generate.log"; then
  die "openapi-python-client reported a problem with the document"
fi
"$client_venv/bin/python" tests/openapi/client_check.py "$work" "$base" "$TOKEN"
step "the calendar feed, read by icalendar $ICALENDAR_VERSION"
"$ical_venv/bin/python" tests/openapi/ics_check.py "$base" "$TOKEN"
# A clip named `batch`, so that `GET /publishing/schedule/batch` has something to answer.
curl -fsS -H "Authorization: Bearer $TOKEN" -X POST "$base/clips" -d '{"id": "batch"}' >/dev/null

step "schemathesis run (every check, $MAX_EXAMPLES examples per operation, seed $SEED)"
status=0
# Run from the temporary directory: schemathesis keeps a cache in ./.schemathesis. One worker:
# with two, Python 3.11 before 3.11.8 can fail parsing in two threads at once ("AST constructor
# recursion depth mismatch", CPython issue 106905), an error of the tool, not of the server.
(cd "$work" && timeout "$TOTAL_TIMEOUT" "$st_venv/bin/schemathesis" \
  --config-file "$OLDPWD/tests/openapi/schemathesis.toml" run "$base/openapi.json" \
  --checks all \
  --header "Authorization: Bearer $TOKEN" \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --request-timeout 10 \
  --workers 1 \
  --phases "$PHASES" \
  --suppress-health-check all \
  --generation-database none \
  --no-color) || status=$?

if grep -qE 'panicked|500 Internal Server Error' "$work/server.log"; then
  echo "FATAL: the server logged a panic or a 500:" >&2
  grep -E 'panicked|500 Internal Server Error' "$work/server.log" | head -20 >&2
  status=1
fi
kill -0 "$pid" 2>/dev/null || { echo "FATAL: api-server died during the run" >&2; status=1; }
if [ "$status" -ne 0 ]; then
  echo "openapi: FAILED (exit $status)" >&2
else
  echo "openapi: spectral clean, the generated client works, schemathesis found nothing"
fi
exit "$status"
