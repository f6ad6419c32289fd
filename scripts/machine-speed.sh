#!/usr/bin/env bash
# How fast this machine is right now, to print beside benchmark figures. The machine the
# figures in docs/benchmarks.md come from runs the same work at speeds up to 3x apart that
# come and go; two figures are comparable only with similar probes.
#
#   scripts/machine-speed.sh [DIR]    # DIR: where to time synchronous writes (default: a temp dir)
#
# Prints two lines: the time to hash 256 MiB (CPU), and the time of 500 synchronous 4 KiB
# writes (the disk's flush latency, what every commit waits for).
set -euo pipefail
if [ $# -ge 1 ]; then
  dir=$1
else
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
start=$(date +%s%N)
head -c 268435456 /dev/zero | sha256sum >/dev/null
echo "machine speed: cpu $(ms "$start") ms (sha256 of 256 MiB)"
start=$(date +%s%N)
dd if=/dev/zero of="$dir/machine-speed.tmp" bs=4k count=500 oflag=dsync 2>/dev/null
echo "machine speed: disk $(ms "$start") ms (500 synchronous 4 KiB writes)"
rm -f "$dir/machine-speed.tmp"
