#!/usr/bin/env bash
# Schemathesis against the real api-server: every operation of /openapi.json, with the bearer
# token, on a fresh SQLite database; fails (non-zero exit) on any 5xx answer, a request that
# times out, or a panic in the server's log. Phases: examples, coverage, fuzzing and stateful
# (PHASES=… to choose). Bounded: a fixed number of examples per operation (MAX_EXAMPLES), a
# fixed seed (SEED), a request timeout, and an overall timeout (TOTAL_TIMEOUT seconds).
#
#   bash tests/schemathesis.sh            # uses target/debug/api-server (built if missing)
#   PROFILE=release bash tests/schemathesis.sh
#
# Needs python3 (3.9+) with venv and network access to PyPI on the first run; the virtualenv
# is kept in target/schemathesis-venv.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
PROFILE=${PROFILE:-debug}
MAX_EXAMPLES=${MAX_EXAMPLES:-40}
SEED=${SEED:-20261128}
TOTAL_TIMEOUT=${TOTAL_TIMEOUT:-600}
PHASES=${PHASES:-examples,coverage,fuzzing,stateful}
VENV=target/schemathesis-venv
TOKEN="schemathesis-$$-$RANDOM"

step() { printf '\n==> %s\n' "$*"; }

step "schemathesis $SCHEMATHESIS_VERSION in $VENV"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $SCHEMATHESIS_VERSION\$"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$VENV/bin/schemathesis" --version

server="target/$PROFILE/api-server"
if [ ! -x "$server" ]; then
  step "building api-server ($PROFILE)"
  if [ "$PROFILE" = release ]; then cargo build --release -p api-server; else cargo build -p api-server; fi
fi

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
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "FATAL: api-server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log" >&2; echo "FATAL: api-server did not start" >&2; exit 1; }
base="http://127.0.0.1:$port"
echo "listening on $base"

# Some rows for the generated requests to find.
auth=(-H "Authorization: Bearer $TOKEN")
curl -fsS "${auth[@]}" -X POST "$base/accounts" -d '{"id":"acc_1","platform":"instagram"}' >/dev/null
curl -fsS "${auth[@]}" -X POST "$base/clips" -d '{"id":"clip_1"}' >/dev/null

step "schemathesis run (not_a_server_error, $MAX_EXAMPLES examples per operation, seed $SEED)"
status=0
# Run from the temporary directory: schemathesis keeps a cache in ./.schemathesis.
venv_bin="$PWD/$VENV/bin"
(cd "$work" && timeout "$TOTAL_TIMEOUT" "$venv_bin/schemathesis" run "$base/openapi.json" \
  --checks not_a_server_error \
  --header "Authorization: Bearer $TOKEN" \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --request-timeout 10 \
  --workers 2 \
  --phases "$PHASES" \
  --suppress-health-check all \
  --generation-database none \
  --generation-with-security-parameters false \
  --no-color) || status=$?

if grep -qE 'panicked|500 Internal Server Error' "$work/server.log"; then
  echo "FATAL: the server logged a panic or a 500:" >&2
  grep -E 'panicked|500 Internal Server Error' "$work/server.log" | head -20 >&2
  status=1
fi
kill -0 "$pid" 2>/dev/null || { echo "FATAL: api-server died during the run" >&2; status=1; }
if [ "$status" -ne 0 ]; then
  echo "schemathesis: FAILED (exit $status)" >&2
else
  echo "schemathesis: no server error"
fi
exit "$status"
