#!/usr/bin/env bash
# The checked stage of scripts/test.sh, in its own build dir (build-asan):
# clang with AddressSanitizer + UndefinedBehaviorSanitizer and libFuzzer
# coverage (-O1, line tables only, benchmarks not built). It runs the unit
# and HTTP tests there (not the real-client tests: node and chromium drive
# the same server code, and are slow), then each fuzz target of tests/fuzz
# for FUZZ_SECONDS (default 40) over its committed seed corpus. A sanitizer
# report, a crash, a leak or an input running longer than 10 s fails it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-40}
b="$top/build-asan"
start=$SECONDS

flags="-O1 -gline-tables-only"
cmake -S "$top" -B "$b" -DCMAKE_BUILD_TYPE=Sanitize \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DVMTRACE_SANITIZE=ON -DVMTRACE_FUZZ=ON -DVMTRACE_WERROR=OFF >/dev/null
cmake --build "$b" -j"$jobs"
built=$SECONDS

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd "$b" && ctest -LE clients -j"$jobs" --output-on-failure)
tested=$SECONDS

# name:max_len (bytes of one input)
summary=()
for spec in tsp_query:4096 tsdl_parse:16384 ctf_stream:16384; do
  t=${spec%%:*}
  max_len=${spec##*:}
  seeds="$top/tests/fuzz/corpus/${t%_parse}"
  work="$b/fuzz/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  if ! "$b/tests/fuzz/${t}_fuzz" -max_total_time="$fuzz_seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" \
      >"$work/log" 2>&1; then
    tail -n 60 "$work/log"
    echo "sanitize: fuzz target $t failed; inputs in $work/artifacts" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  summary+=("$t: $runs executions in ${fuzz_seconds} s, 0 crashes, 0 hangs")
done

echo "sanitize: build $((built - start)) s, ASan/UBSan tests $((tested - built)) s," \
  "fuzzing $((SECONDS - tested)) s"
printf 'sanitize: %s\n' "${summary[@]}"
