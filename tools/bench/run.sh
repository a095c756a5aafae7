#!/usr/bin/env bash
# Runs every foundation benchmark and prints Markdown (docs/benchmarks.md is
# written from this output). Needs the large traces in ../shared/traces.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
traces=${TRACES:-$top/../shared/traces}
build=${BUILD:-$top/build}
port=${PORT:-18090}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null

echo "# Machine"
echo
echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores)"
echo "- Memory: $(free -g | awk '/Mem:/ {print $2}') GiB; kernel $(uname -r)"
echo "- Date: $(date -u +%F)"
echo

"$build/tools/bench/vmtrace-bench" --trace "$traces/tracevizlab-yum-4cpu" --reps "${REPS:-5}"
echo

data=$(mktemp -d)
"$build/tsp/vmtrace-server" --port "$port" --data-dir "$data" --log-level off &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/tsp/api/health" >/dev/null && break
  sleep 0.1
done
echo "## /health under wrk (2 threads, 8 connections, 10 s, loopback; client and server share the cores)"
echo
echo '```'
wrk -t2 -c8 -d10s "http://127.0.0.1:$port/tsp/api/health" | sed -n '1,8p'
echo '```'
