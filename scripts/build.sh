#!/usr/bin/env bash
# Configures and builds vmtrace into build/ (Release with debug info).
# Arguments, if any, are the targets to build (default: everything).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc)}
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$top/build" -j"$jobs" "${targets[@]}"
