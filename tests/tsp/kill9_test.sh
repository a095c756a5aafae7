#!/usr/bin/env bash
# Crash safety: 20 rounds of `kill -9` of a real vmtrace-server while it
# indexes, each at another point of the pass, then a restart on the same
# data dir; every reopen must reach COMPLETED and answer a few output
# queries byte for byte like a clean run.
#
#   kill9_test.sh SERVER_BINARY ROUNDS TRACE_DIR
#   kill9_test.sh SERVER_BINARY ROUNDS GEN_BINARY SCENARIO EVENTS
#
# The second form generates the trace first (vmtrace-gen, one host).
#
# The kill points spread over the clean run's time from spawn to COMPLETED
# (measured first), so they land in the registry writes, the trace opening,
# the pass and its final flushes; every 4th round also kills the first
# restart halfway, so a rebuild of an interrupted store is interrupted too.
set -euo pipefail
# Debian's python3 (setup.sh) directly: a pyenv shim takes seconds to start.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
server=$1
rounds=$2
work=$(mktemp -d)
if [ $# -ge 5 ]; then
  "$3" --scenario "$4" --out "$work/trace" --seed 1 --events "$5" \
    --no-truth >/dev/null
  trace=$(find "$work/trace" -name metadata -printf '%h\n' | head -1)
else
  trace=$3
fi
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port_file=$work/port
# Spawns the server on data dir $1 without waiting; sets pid.
spawn() {
  : >"$port_file"
  "$server" --port 0 --data-dir "$1" --log-level off --open "$trace" \
    >"$port_file" 2>"$work/stderr" &
  pid=$!
}
# Spawns the server on data dir $1 and waits until it listens (port chosen
# by the server, read from its first line); sets pid and B.
start() {
  spawn "$1"
  local line
  for _ in $(seq 500); do
    # Builtins only: this loop and the one below are most of the test's
    # process spawns.
    line=
    read -r line <"$port_file" || true
    if [[ $line == *listening* ]]; then
      B=${line#*listening on }
      B=${B%% *}
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  echo "server did not start on $1:"; cat "$work/stderr"; exit 1
}
kill9() { kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; }

# Waits for COMPLETED; prints the experiment's UUID.
wait_completed() {
  local body
  for _ in $(seq 1200); do
    body=$(curl -sf "$B/experiments" || true)
    if [[ $body == *'"indexingStatus":"COMPLETED"'* ]]; then
      # The experiment's UUID comes first (its traces follow).
      grep -o '"UUID":"[^"]*"' <<<"$body" | head -1 | cut -d'"' -f4
      return 0
    fi
    sleep 0.05
  done
  echo "never COMPLETED: $body"; exit 1
}

ms() { awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }'; }
post() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$B$1"; }

range=
ids=
# Writes the answers compared between runs into directory $1.
answers() {
  local dir=$1 exp out tg
  mkdir -p "$dir"
  exp=$(wait_completed)
  out=/experiments/$exp/outputs
  tg=$out/timeGraph/vmtrace.kernel.thread_status
  # graph.memory_bytes is a diagnostic (vector capacities differ between a
  # graph built by the pass and one loaded from its store): left out.
  curl -sf "$B/experiments/$exp" | "$py" -c 'import json, sys
e = json.load(sys.stdin)
e["properties"].pop("graph.memory_bytes", None)
print(json.dumps(e, sort_keys=True))' >"$dir/experiment.json"
  post "$out/table/org.eclipse.tracecompass.internal.provisional.tmf.core.model.events.TmfEventTableDataProvider/lines" \
    '{"parameters":{"requested_table_index":0,"requested_table_count":300}}' >"$dir/table.json"
  # The range and the thread ids of the clean run (identical answers
  # imply identical queries).
  if [ -z "$range" ]; then
    range=$("$py" -c 'import json, sys
e = json.load(open(sys.argv[1]))
print(json.dumps({"start": e["start"], "end": e["end"], "nbTimes": 300}))' \
      "$dir/experiment.json")
  fi
  post "$out/XY/org.eclipse.tracecompass.internal.tmf.core.histogram.HistogramDataProvider/xy" \
    "{\"parameters\":{\"requested_timerange\":$range,\"requested_items\":[1]}}" >"$dir/histogram.json"
  post "$tg/tree" '{"parameters":{}}' >"$dir/threads-tree.json"
  post "$out/timeGraph/vmtrace.vm.virtual_cpus/tree" '{"parameters":{}}' \
    >"$dir/vcpus-tree.json"
  if [ -z "$ids" ]; then
    ids=$("$py" -c 'import json, sys
t = json.load(open(sys.argv[1]))
print(",".join(str(e["id"]) for e in t["model"]["entries"]))' \
      "$dir/threads-tree.json")
  fi
  post "$tg/states" \
    "{\"parameters\":{\"requested_timerange\":$range,\"requested_items\":[$ids]}}" >"$dir/threads-states.json"
  [ -s "$dir/table.json" ] && [ -s "$dir/histogram.json" ] && [ -s "$dir/threads-states.json" ]
}

# Clean run: reference answers and the time from spawn to COMPLETED.
t0=$(date +%s%N)
start "$work/clean"
wait_completed >/dev/null
index_ms=$((($(date +%s%N) - t0) / 1000000))
answers "$work/expected"
kill9
echo "clean run: indexed in ${index_ms} ms"

t0=$(date +%s%N)
for i in $(seq 1 "$rounds"); do
  data=$work/round
  rm -rf "$data"
  delay_ms=$((index_ms * i / rounds))
  spawn "$data"
  sleep "$(ms "$delay_ms")"
  kill9
  if [ $((i % 4)) -eq 1 ]; then
    spawn "$data"
    sleep "$(ms $((delay_ms / 2)))"
    kill9
  fi
  start "$data"
  answers "$work/got"
  kill9
  for f in "$work"/expected/*.json; do
    if ! cmp -s "$f" "$work/got/$(basename "$f")"; then
      echo "round $i (kill after ${delay_ms} ms): $(basename "$f") differs"
      diff <(head -c 600 "$f") <(head -c 600 "$work/got/$(basename "$f")") || true
      exit 1
    fi
  done
  rm -rf "$work/got"
  echo "round $i ($(( ($(date +%s%N) - t0) / 1000000 )) ms in): killed ${delay_ms} ms after spawn, reopened COMPLETED, answers identical"
done
echo "PASS: $rounds rounds"
