#!/usr/bin/env bash
# The "run" command: installs what is missing, builds, and starts
# vmtrace-server on http://127.0.0.1:8080/tsp/api with the demo trace
# registered as a trace and an experiment. Extra arguments go to the server
# (e.g. --port 8081, --host 0.0.0.0).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh" vmtrace-server vmtrace-gen

demo="$top/tests/data/tracevizlab-simple-kernel-8cpu"
gen="$top/build/tools/gen/vmtrace-gen"
scenario="$top/tools/gen/scenarios/demo.json"
if [ -x "$gen" ] && [ -f "$scenario" ]; then
  # The generated nested-VM demo (see docs/generator.md); regenerated only
  # when missing so its index is reused across runs.
  out="$top/build/demo-trace"
  if [ ! -d "$out" ]; then
    "$gen" --scenario "$scenario" --out "$out" --seed 1 >/dev/null
  fi
  demo="$out"
fi
exec "$top/build/tsp/vmtrace-server" --open "$demo" "$@"
