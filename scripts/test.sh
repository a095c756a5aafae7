#!/usr/bin/env bash
# The "test" command: installs what is missing, builds, and runs the whole
# test suite (CTest prints its summary). .ci/run calls exactly this.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh"
cd "$top/build"
ctest --output-on-failure -j"${JOBS:-$(nproc)}"
