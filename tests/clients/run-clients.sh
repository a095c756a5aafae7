#!/usr/bin/env bash
# Runs one real-client check against a freshly started vmtrace-server:
#
#   run-clients.sh conformance|canvas SERVER GEN WORKDIR [TRACE]
#
# SERVER is the vmtrace-server binary, GEN the vmtrace-gen binary (the demo
# trace is generated from tools/gen/scenarios/demo.json into WORKDIR when
# TRACE is not given), WORKDIR a folder under the build dir that holds the
# npm install, its cache, the generated trace and the artifacts (screenshots).
# Installs node/npm/chromium with scripts/setup.sh when missing (root only).
set -euo pipefail

mode=$1 server=$2 gen=$3 work=$4 trace=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
ms() { echo $(( $(date +%s%N) / 1000000 )); }
mkdir -p "$work"
work=$(cd "$work" && pwd)

need=(node npm)
[ "$mode" = canvas ] && need+=(chromium)
for c in "${need[@]}"; do
  if ! command -v "$c" >/dev/null; then
    echo "clients: $c missing; running scripts/setup.sh"
    # Both client tests may get here at once under ctest -j: one apt at a time.
    flock "$work/../setup.lock" "$top/scripts/setup.sh"
    break
  fi
done

# npm ci only when the lockfile changed since the last install here; the
# cache lives under the build dir so a re-run needs no network.
pkg="$work/pkg"
mkdir -p "$pkg"
cp "$here/$mode/package.json" "$here/$mode/package-lock.json" "$pkg/"
stamp=$(sha256sum "$pkg/package-lock.json" | cut -d' ' -f1)
if [ ! -d "$pkg/node_modules" ] || [ "$(cat "$pkg/.installed" 2>/dev/null)" != "$stamp" ]; then
  t=$(ms)
  (cd "$pkg" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error \
      --cache "$work/../npm-cache" >/dev/null)
  echo "$stamp" > "$pkg/.installed"
  echo "clients: npm ci ($mode) took $(( $(ms) - t )) ms"
fi
export NODE_PATH="$pkg/node_modules"

if [ -z "$trace" ]; then
  trace="$work/demo-trace"
  if [ ! -f "$trace/.complete" ]; then
    rm -rf "$trace"
    "$gen" --scenario "$top/tools/gen/scenarios/demo.json" --out "$trace" --seed 1 >/dev/null
    touch "$trace/.complete"
  fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmtrace-clients.XXXXXX")
srv_pid=
cleanup() {
  if [ -n "$srv_pid" ]; then kill "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$server" --port 0 --data-dir "$tmp/data" --log-level warning --open "$trace" >"$tmp/server.out" 2>"$tmp/server.err" &
srv_pid=$!
url=
for _ in $(seq 300); do
  url=$(sed -n 's|.*listening on \(http://[^ ]*/tsp/api\).*|\1|p' "$tmp/server.out")
  [ -n "$url" ] && break
  kill -0 "$srv_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "clients: vmtrace-server did not start"; cat "$tmp/server.err"; exit 1
fi

t=$(ms)
status=0
case "$mode" in
  conformance)
    node "$here/conformance/selftest.js" && node "$here/conformance/run.js" "$url" "$trace" || status=$?
    ;;
  canvas)
    dist="$work/dist"
    mkdir -p "$dist" "$work/artifacts"
    cp "$here/canvas/app/index.html" "$dist/"
    "$pkg/node_modules/.bin/esbuild" "$here/canvas/app/main.js" --bundle --outfile="$dist/main.js" \
      --platform=browser --format=iife --target=es2020 --log-level=warning \
      '--define:process.env.NODE_ENV="production"' --define:global=window
    CANVAS_DIST="$dist" node "$here/canvas/check.js" "${url%/tsp/api}" "$trace" \
      "$work/artifacts/$(basename "$trace")-timegraphs.png" || status=$?
    ;;
  *) echo "clients: unknown mode $mode"; exit 2 ;;
esac
echo "clients: $mode run took $(( $(ms) - t )) ms (server started, npm installed)"
if [ "$status" -ne 0 ] && [ -s "$tmp/server.err" ]; then
  echo "--- server stderr (last lines)"; tail -20 "$tmp/server.err"
fi
exit "$status"
