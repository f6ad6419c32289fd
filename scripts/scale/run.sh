#!/usr/bin/env bash
# docs/scaling.md's measurement: a database of 1,000,000 accounts and 10,000,000 logs on the
# PostgreSQL server at URL (default postgres://postgres@127.0.0.1:5432/test), made by
# migrating it with this checkout's release api-server and filling it in ten chunks (about 7
# minutes and 4.4 GB on a 2-core machine), then the plans of scripts/scale/explain.sql.
#
#   scripts/scale/run.sh [URL]          # leaves the database scale_10m for more questions
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
psql "$url" -q <<'SQL'
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
  psql "$url" -q -v lo=$lo -v hi=$hi -f scripts/scale/logs.sql
  echo "logs $lo..$hi: $(( $(date +%s) - start )) s"
done
psql "$url" -qc "VACUUM ANALYZE"
psql "$url" -f scripts/scale/explain.sql
