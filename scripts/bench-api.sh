#!/usr/bin/env bash
# Load benchmark of POST /publishing/schedule against the real release server (issue 4):
# 32 connections scheduling across 1,000 accounts. Needs wrk (`apt-get install wrk`).
#
#   scripts/bench-api.sh sqlite            # a fresh SQLite file
#   scripts/bench-api.sh postgres URL      # a fresh database created on the server at URL
#
# pgbench's figures in docs/benchmarks.md are taken with PGSSLMODE=disable; give the server the
# same (URL?sslmode=disable) to compare them: libpq otherwise encrypts even on loopback.
#
# Prints wrk's summary (throughput, p50/p90/p99/p99.9 latency, errors), the server's peak
# resident memory (VmHWM), and the machine's speed before and after the load
# (scripts/machine-speed.sh).
#
# Settings: BENCH_SECONDS (30), BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_ACCOUNTS (1000);
# BENCH_DATABASE_URL (postgres: run against this existing database, e.g. scripts/scale/run.sh's
# scale_10m, and keep it; its accounts are made unless already there); BENCH_SCALE=1 (with
# BENCH_DATABASE_URL=…/scale_10m: schedule onto scale_10m's own accounts, which have logs);
# the server: BENCH_SERVER_ARGS (extra flags), BENCH_LOG (its RUST_LOG, default warn),
# BENCH_SERVER_LOG (where its stderr goes), BENCH_SERVER (a server binary to measure instead of
# building this checkout's, e.g. an older build copied aside, so that two builds are compared
# in one sitting).
#
# BENCH_PART_TWO=1 runs part two's work beside the load (scripts/load/background.py): the server
# ticks every second, publish-worker publishes 50 due posts a second through a local adapter,
# 2 daily series a second are made, and every event is delivered to a local webhook receiver
# (BACKGROUND_EVENT_TYPES=a,b: only those types).
# Compare its figure with a run without it in the same sitting (issue 21: within 20 %).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
seconds=${BENCH_SECONDS:-30}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
export BENCH_ACCOUNTS=${BENCH_ACCOUNTS:-1000}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

[ -n "${BENCH_PART_TWO:-}" ] && cargo build --release -p publish-worker
server_bin=${BENCH_SERVER:-}
if [ -z "$server_bin" ]; then
  cargo build --release -p api-server
  server_bin=target/release/api-server
fi
work=$(mktemp -d)
server_args=${BENCH_SERVER_ARGS:-}
if [ -n "${BENCH_PART_TWO:-}" ]; then
  # YouTube, the background's platform: any hour, no gap, so each post is due when it asks.
  printf '[platforms.youtube]\nstart_hour = 0\nend_hour = 24\nmin_gap_minutes = 0\n' > "$work/rules.toml"
  server_args="$server_args --tick-interval 1 --allow-private-webhooks --rules $work/rules.toml"
fi
if [ "${BENCH_SCALE:-}" = 1 ] && [ -z "${BENCH_DATABASE_URL:-}" ]; then
  echo "BENCH_SCALE=1 schedules onto scale_10m's accounts: give BENCH_DATABASE_URL=…/scale_10m" >&2
  exit 2
fi
case "$backend" in
  sqlite)
    [ -n "${BENCH_DATABASE_URL:-}" ] && { echo "BENCH_DATABASE_URL is for postgres" >&2; exit 2; }
    url="$work/bench.db" ;;
  postgres)
    base=${2:?postgres needs a URL, e.g. postgres://postgres@127.0.0.1:5432/test}
    if [ -n "${BENCH_DATABASE_URL:-}" ]; then
      url=$BENCH_DATABASE_URL db=""
    else
      db="bench_$(date +%s)"
      psql "$base" -qc "CREATE DATABASE $db"
      # The new database's URL keeps the given one's parameters (e.g. ?sslmode=disable).
      query=""
      case "$base" in *\?*) query="?${base#*\?}" ;; esac
      path=${base%%\?*}
      url="${path%/*}/$db$query"
    fi
    ;;
  *) echo "usage: $0 sqlite | postgres URL" >&2; exit 2 ;;
esac

RUST_LOG=${BENCH_LOG:-warn} "$server_bin" --bind 127.0.0.1:0 --database-url "$url" $server_args \
  2> "${BENCH_SERVER_LOG:-$work/server.log}" &
server=$!
cleanup() {
  [ -n "${worker:-}" ] && { kill "$worker" 2>/dev/null || true; }
  [ -n "${background:-}" ] && { kill "$background" 2>/dev/null || true; }
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  [ -n "${db:-}" ] && psql "$base" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  rm -rf "$work"
}
trap cleanup EXIT

# The server logs its address at info level; ask the kernel instead, so RUST_LOG can stay quiet.
port=""
for _ in $(seq 1 100); do
  port=$(ss -ltnpH 2>/dev/null | grep "pid=$server," | sed -E 's/.*127\.0\.0\.1:([0-9]+).*/\1/' | head -n1 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log"; echo "the server did not start" >&2; exit 1; }
addr="http://127.0.0.1:$port"

# Made, or already there from an earlier run against BENCH_DATABASE_URL (409).
create() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data @"$1" "$2")
  [ "$code" = 201 ] || [ "$code" = 409 ] || { echo "POST $2 answered $code" >&2; exit 1; }
}
[ "${BENCH_SCALE:-}" = 1 ] && BENCH_ACCOUNTS=0  # scale_10m's own (scripts/load/schedule.lua)
echo "creating $BENCH_ACCOUNTS accounts and clips"
zones=(UTC America/New_York Europe/Madrid Asia/Kolkata Australia/Sydney)
for i in $(seq 1 "$BENCH_ACCOUNTS"); do
  zone=${zones[$((i % ${#zones[@]}))]}
  printf '{"id":"acc_bench_%d","platform":"instagram","timezone":"%s"}\n' "$i" "$zone" > "$work/a.json"
  printf '{"id":"clip_bench_%d","title":"bench %d"}\n' "$i" "$i" > "$work/c.json"
  create "$work/a.json" "$addr/accounts"
  create "$work/c.json" "$addr/clips"
done

scripts/machine-speed.sh "$work"
if [ -n "${BENCH_PART_TWO:-}" ]; then
  python3 scripts/load/background.py "$addr" "$seconds" "$work" &
  background=$!
  while [ ! -e "$work/background_ready" ]; do
    kill -0 "$background" 2>/dev/null || { echo "the background did not start" >&2; exit 1; }
    sleep 0.2
  done
  RUST_LOG=warn target/release/publish-worker --api-url "$addr" --concurrency 8 --poll-interval 1 \
    --publisher-url "http://127.0.0.1:$(cat "$work/adapter_port")/publish" 2> "$work/worker.log" &
  worker=$!
fi
BENCH_BASE_EPOCH=$(( $(date +%s) + 86400 )) \
  wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s scripts/load/schedule.lua "$addr"
if [ -n "${background:-}" ] && ! wait "$background"; then
  echo "INVALID RUN: the background failed (above); the figures are not part two's" >&2
  exit 1
fi
echo "server peak resident memory: $(grep VmHWM /proc/$server/status | awk '{print $2, $3}')"
echo "server resident memory now:  $(grep VmRSS /proc/$server/status | awk '{print $2, $3}')"
scripts/machine-speed.sh "$work"
