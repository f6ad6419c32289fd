#!/usr/bin/env bash
# PostgreSQL's CPU seconds so far: the postmaster's own and its reaped children's (every backend
# once it has exited), from /proc. Read it before and after a run whose connections all close
# (pgbench, scripts/bench-api.sh), and divide the difference by the requests: the database's CPU
# a request. Run on the database's host, as a user who may read the postmaster's /proc entry.
#
#   scripts/load/pg-cpu.sh [DATA_DIR]     # default: /var/lib/postgresql/15/main
set -euo pipefail
dir=${1:-/var/lib/postgresql/15/main}
pm=$(head -1 "$dir/postmaster.pid")
awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15 + $16 + $17) / t}' "/proc/$pm/stat"
