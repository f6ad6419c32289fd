#!/usr/bin/env bash
# docs/scaling.md's measurement: a database of 1,000,000 accounts and 10,000,000 logs on the
# PostgreSQL server at URL (default postgres://postgres@127.0.0.1:5432/test), made by
# migrating it with this checkout's release api-server and filling it in ten chunks (about 7
# minutes and 4.4 GB on a 2-core machine), then the plans of scripts/scale/explain.sql.
#
#   scripts/scale/run.sh [URL]          # leaves the database scale_10m for more questions
#
# SCALE_EVENTS=20000000 also fills the ledger with that many events (scripts/scale/events.sql, in
# chunks of 2,000,000; the secondary indexes are dropped first and built again after, which is
# faster than keeping them up row by row): the 10,000,000 logs and a ledger of their size in
# one database, for a load run against it (BENCH_DATABASE_URL in scripts/bench-api.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:-postgres://postgres@127.0.0.1:5432/test}
db=scale_10m
url="${base%/*}/$db"
cargo build --release -p api-server
psql "$base" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
target/release/api-server --database-url "$url" --bind 127.0.0.1:0 2>/dev/null &
server=$!
for _ in $(seq 1 50); do
  psql "$url" -Atqc "SELECT count(*) FROM __diesel_schema_migrations" >/dev/null 2>&1 && break
  sleep 0.2
done
sleep 1
kill "$server"; wait "$server" 2>/dev/null || true
psql "$url" -v ON_ERROR_STOP=1 -q <<'SQL'
INSERT INTO social_accounts (id, platform, handle, timezone, created_at, calendar_key)
SELECT 'acc_' || g, (ARRAY['instagram','tiktok','youtube'])[1 + g % 3], NULL,
       (ARRAY['UTC','America/New_York','Europe/Berlin','Asia/Tokyo','Australia/Sydney'])[1 + g % 5],
       now() - interval '400 days', 'cal_' || md5(g::text)
FROM generate_series(0, 999999) g;
INSERT INTO clips (id, title, created_at)
SELECT 'clip_' || g, 'clip ' || g, now() - interval '400 days' FROM generate_series(0, 999) g;
SQL
for c in $(seq 0 9); do
  lo=$((c * 1000000)); hi=$((lo + 999999))
  start=$(date +%s)
  psql "$url" -v ON_ERROR_STOP=1 -q -v lo=$lo -v hi=$hi -f scripts/scale/logs.sql
  echo "logs $lo..$hi: $(( $(date +%s) - start )) s"
done
events=${SCALE_EVENTS:-0}
if [ "$events" -gt 0 ]; then
  # The definitions are kept in a file until they are built again: a run stopped between the
  # two leaves the ledger without them, and this says how to put them back.
  indexes=$(mktemp --suffix=.sql)
  psql "$url" -v ON_ERROR_STOP=1 -Atc "SELECT indexdef || ';' FROM pg_indexes
    WHERE tablename = 'ledger_events' AND indexname NOT IN ('ledger_events_pkey', 'ledger_events_id_key')" > "$indexes"
  trap 'echo "the ledger of $db lacks its secondary indexes: psql $url -f $indexes" >&2' EXIT
  psql "$url" -v ON_ERROR_STOP=1 -Atc "SELECT 'DROP INDEX ' || indexname || ';' FROM pg_indexes
    WHERE tablename = 'ledger_events' AND indexname NOT IN ('ledger_events_pkey', 'ledger_events_id_key')" \
    | psql "$url" -v ON_ERROR_STOP=1 -q
  for lo in $(seq 0 2000000 $((events - 1))); do
    hi=$((lo + 1999999)); [ "$hi" -ge "$events" ] && hi=$((events - 1))
    start=$(date +%s)
    psql "$url" -v ON_ERROR_STOP=1 -q -v lo=$lo -v hi=$hi -f scripts/scale/events.sql
    echo "events $lo..$hi: $(( $(date +%s) - start )) s"
  done
  start=$(date +%s)
  psql "$url" -v ON_ERROR_STOP=1 -q -f "$indexes"
  echo "ledger indexes built again: $(( $(date +%s) - start )) s"
  trap - EXIT
  rm -f "$indexes"
fi
psql "$url" -qc "VACUUM ANALYZE"
psql "$url" -f scripts/scale/explain.sql
