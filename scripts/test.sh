#!/usr/bin/env bash
# The "test" command: installs what is missing, builds, runs the checked
# stage (sanitizers and fuzzing in build-asan, scripts/sanitize.sh), then the
# whole test suite (CTest prints its summary last). .ci/run calls exactly
# this.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh"
"$top/scripts/sanitize.sh"
cd "$top/build"
ctest --output-on-failure -j"${JOBS:-$(nproc)}"
