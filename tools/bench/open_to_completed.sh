#!/usr/bin/env bash
# The pass as a user meets it: wall time from starting
# `vmtrace-server --open TRACE` on a fresh data dir to the experiment's
# COMPLETED, on 1 core and on 2 cores (taskset), against `babeltrace2`
# decoding the same trace on the same cores, in the same run, alternating
# the commands so a noisy neighbour hurts all of them alike.
#
#   tools/bench/open_to_completed.sh TRACE_DIR [REPS]
#
# Prints Markdown (docs/benchmarks.md is written from it). Needs curl, python3,
# babeltrace2, and a built tree in $BUILD (default: build/).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
trace=${1:?usage: open_to_completed.sh TRACE_DIR [REPS]}
reps=${2:-3}
port=${PORT:-18191}
server=${SERVER:-$build/tsp/vmtrace-server}
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
pid=

now() { date +%s.%N; }

# Seconds from the server's start to COMPLETED (fresh data dir each time).
open_once() {
  local cpus=$1 data=$work/data.$RANDOM
  local t0 state
  t0=$(now)
  taskset -c "$cpus" "$server" --port "$port" --data-dir "$data" \
    --log-level off --open "$trace" >/dev/null 2>&1 &
  pid=$!
  # Polled every 0.1 s with curl and grep only: a python3 per poll every
  # 20 ms took a core from the server being measured (the figures' resolution
  # is thus 0.1 s).
  while :; do
    state=$(curl -sf "http://127.0.0.1:$port/tsp/api/experiments" 2>/dev/null |
      grep -o '"indexingStatus":"[A-Z]*"' | head -1 | cut -d'"' -f4)
    case $state in
      COMPLETED) break ;;
      CLOSED | CANCELLED | FAILED) echo "open failed: $state" >&2; exit 1 ;;
    esac
    sleep 0.1
  done
  python3 -c "print(f'{$(now) - $t0:.3f}')"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  pid=
  rm -rf "$data"
}

bt_once() {
  local cpus=$1 t0
  t0=$(now)
  taskset -c "$cpus" babeltrace2 --output-format=dummy "$trace" >/dev/null
  python3 -c "print(f'{$(now) - $t0:.3f}')"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

load=$(cut -d' ' -f1-3 /proc/loadavg)
declare -a s2 s1 b2 b1
for ((i = 0; i < reps; i++)); do
  s2+=("$(open_once 0,1)")
  b2+=("$(bt_once 0,1)")
  s1+=("$(open_once 0)")
  b1+=("$(bt_once 0)")
done
bytes=$(du -sb "$trace" | cut -f1)
ms2=$(median "${s2[@]}") ms1=$(median "${s1[@]}")
mb2=$(median "${b2[@]}") mb1=$(median "${b1[@]}")
echo "#### Open to COMPLETED: \`$(basename "$trace")\` ($((bytes / 1000000)) MB), median of $reps, load before: $load"
echo
echo "| cores | vmtrace-server --open → COMPLETED | babeltrace2 decode (dummy sink) | babeltrace2 / vmtrace |"
echo "|---|---|---|---|"
python3 - "$ms2" "$mb2" "$ms1" "$mb1" <<'EOF'
import sys
s2, b2, s1, b1 = map(float, sys.argv[1:])
print(f"| 2 (taskset -c 0,1) | {s2:.2f} s | {b2:.2f} s | {b2 / s2:.2f}× |")
print(f"| 1 (taskset -c 0) | {s1:.2f} s | {b1:.2f} s | {b1 / s1:.2f}× |")
print()
print(f"2 cores vs 1 core: {s1 / s2:.2f}× faster.")
EOF
echo
echo "Runs (s): server 2 cores ${s2[*]}; server 1 core ${s1[*]}; babeltrace2 2 cores ${b2[*]}; 1 core ${b1[*]}."
