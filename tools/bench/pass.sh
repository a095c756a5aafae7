#!/usr/bin/env bash
# The pass across cores (issue 13): full pass single-threaded vs pipelined,
# on 1 core vs 2 (taskset), index + kernel vs every module, beside
# babeltrace2 decoding the same trace, in alternating rounds; prints the
# median wall time of each configuration and the load average around it.
#
#   tools/bench/pass.sh TRACE_DIR [ROUNDS]   (default 5 rounds)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
trace=${1:?usage: pass.sh TRACE_DIR [ROUNDS]}
rounds=${2:-5}
bin=${BUILD:-$top/build}/tools/bench/vmtrace-bench-pass
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

configs=(
  "bt2|0,1|babeltrace2"
  "all-pipelined|0,1|"
  "all-single|0,1|--single"
  "all-pipelined-1core|0|"
  "all-single-1core|0|--single"
  "kernel-pipelined|0,1|--modules kernel"
  "all-per-module|0,1|--threads 4"
)
declare -A times
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for c in "${configs[@]}"; do
    IFS='|' read -r name cpus args <<<"$c"
    start=$(date +%s.%N)
    if [ "$name" = bt2 ]; then
      taskset -c "$cpus" babeltrace2 "$trace" -o dummy
    else
      # shellcheck disable=SC2086
      taskset -c "$cpus" "$bin" --trace "$trace" --work "$work/w" $args \
        >/dev/null
    fi
    end=$(date +%s.%N)
    times[$name]+="$(echo "$end - $start" | bc) "
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| configuration | cores | median wall (s) | runs |"
echo "|---|---|---|---|"
for c in "${configs[@]}"; do
  IFS='|' read -r name cpus args <<<"$c"
  med=$(tr ' ' '\n' <<<"${times[$name]}" | grep . | sort -n |
        awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  echo "| $name | $cpus | $med | ${times[$name]}|"
done
