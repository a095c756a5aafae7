#!/usr/bin/env bash
# Installs what vmtrace needs from Debian's archive, non-interactively, as
# root. Quick (one dpkg query) when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libcpp-httplib-dev nlohmann-json3-dev
  libbabeltrace2-dev babeltrace2
  libleveldb-dev libgtest-dev libbenchmark-dev
  libre2-dev
  curl python3
  chromium
  # scripts/sanitize.sh: clang's AddressSanitizer/UBSan and libFuzzer.
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js and npm for the real-client tests (tests/clients): checked by
# command, since a NodeSource nodejs bundles npm and conflicts with Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages and not root; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
