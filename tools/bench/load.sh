#!/usr/bin/env bash
# 32-client mixed load on loopback (docs/benchmarks.md, "Under load"):
# starts a server on TRACE with a fresh data dir, waits for the index, warms
# it up with one client, runs vmtrace-load (heavy queries + a /health
# poller) and samples the server's RSS before, during (peak) and 30 s after
# the load.
#
#   tools/bench/load.sh [SERVER_BINARY] [extra server args...]
#
# Environment: TRACE (default ../shared/traces/tracevizlab-yum-4cpu, else
# the bundled tracevizlab-simple-kernel-8cpu), CLIENTS (32),
# LOAD_SECONDS (60), AFTER (30), PORT (18091), BUILD (build).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
server=${1:-$build/tsp/vmtrace-server}
shift || true
trace=${TRACE:-$top/../shared/traces/tracevizlab-yum-4cpu}
[ -d "$trace" ] || trace=$top/tests/data/tracevizlab-simple-kernel-8cpu
port=${PORT:-18091}
clients=${CLIENTS:-32}
seconds=${LOAD_SECONDS:-60}
after=${AFTER:-30}

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

data=$(mktemp -d)
"$server" --port "$port" --data-dir "$data" --log-level off --open "$trace" "$@" \
  >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
B=http://127.0.0.1:$port/tsp/api
for _ in $(seq 600); do
  curl -sf "$B/experiments" 2>/dev/null | grep -q '"COMPLETED"' && break
  sleep 0.1
done
sleep 1
indexed=$(rss_mb $pid)
# Warm-up: one client through the whole mix for 5 s (the views a user has
# opened), then a pause so the server is idle again; "before" is measured
# here, with the stores' caches and the views' caches filled once.
"$build/tools/bench/vmtrace-load" --port "$port" --clients 1 --seconds 5 \
  >/dev/null
sleep 5
before=$(rss_mb $pid)

peak=$before
(
  while kill -0 $pid 2>/dev/null; do rss_mb $pid; echo; sleep 1; done
) >"$data/rss.txt" &
sampler=$!
"$build/tools/bench/vmtrace-load" --port "$port" --clients "$clients" \
  --seconds "$seconds"
end_rss=$(rss_mb $pid)
sleep "$after"
kill $sampler 2>/dev/null || true
peak=$(sort -n "$data/rss.txt" | tail -1)
after_rss=$(rss_mb $pid)
echo
echo "Server: \`$(basename "$server") $*\` on \`$(basename "$trace")\`"
echo
echo "| RSS MB after indexing | before (after warm-up) | peak during | at the end | ${after} s after |"
echo "|---|---|---|---|---|"
echo "| $indexed | $before | $peak | $end_rss | $after_rss |"
