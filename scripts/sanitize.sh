#!/usr/bin/env bash
# The checked stage of scripts/test.sh, in two extra build dirs:
# - build-asan: GCC with AddressSanitizer + UndefinedBehaviorSanitizer (-O1,
#   line tables only); builds and runs the unit and HTTP tests and the
#   hostile-request replay (not the real-client tests: node and
#   chromium drive the same server code, and are slow; not the kill -9
#   rounds, which test the stores, not memory safety, and take minutes
#   under ASan). GCC because clang 14 (Debian 12) cannot compile all
#   of the tree (lambdas capturing structured bindings).
# - build-fuzz: clang with libFuzzer + ASan/UBSan, only the fuzz targets of
#   tests/fuzz, each run for FUZZ_SECONDS (default 30) over its committed
#   seed corpus.
# A sanitizer report, a crash, a leak or an input running longer than 10 s
# fails it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-30}
start=$SECONDS
flags="-O1 -g1"

a="$top/build-asan"
cmake -S "$top" -B "$a" -DCMAKE_BUILD_TYPE=Sanitize \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DVMTRACE_SANITIZE=ON -DVMTRACE_WERROR=OFF >/dev/null
# The unit tests, the HTTP limit tests and the server for the hostile
# replay; not the protocol tests of tsp_http_test or the scenario-truth tests
# of the VM, graph and sync analyses (no hostile input there, and building
# them doubled this stage: 537 s for the build alone on 2 cores).
cmake --build "$a" -j"$jobs" --target base_test user_regex_test \
  storage_test state_history_test ctf_reader_test index_test \
  kernel_model_test stats_test tsp_query_test tsp_guard_test tsp_outputs_test \
  tsp_http_limits_test vmtrace-server vmtrace-gen
built=$SECONDS
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd "$a" && ctest -LE "clients|crash" -E "_NOT_BUILT" -j"$jobs" --output-on-failure)
tested=$SECONDS

f="$top/build-fuzz"
cmake -S "$top" -B "$f" -DCMAKE_BUILD_TYPE=Sanitize \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DVMTRACE_SANITIZE=ON -DVMTRACE_FUZZ=ON -DVMTRACE_WERROR=OFF >/dev/null
cmake --build "$f" -j"$jobs" --target tsp_query_fuzz tsdl_parse_fuzz \
  ctf_stream_fuzz
fuzz_built=$SECONDS

# name:seed folder:max_len (bytes of one input)
summary=()
for spec in tsp_query:tsp_query:4096 tsdl_parse:tsdl:16384 \
    ctf_stream:ctf_stream:16384; do
  IFS=: read -r t seeds max_len <<<"$spec"
  work="$f/fuzz/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  if ! "$f/tests/fuzz/${t}_fuzz" -max_total_time="$fuzz_seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" "$work/corpus" \
      "$top/tests/fuzz/corpus/$seeds" >"$work/log" 2>&1; then
    tail -n 60 "$work/log"
    echo "sanitize: fuzz target $t failed; inputs in $work/artifacts" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  summary+=("$t: $runs executions in $fuzz_seconds s, 0 crashes, 0 hangs")
done

echo "sanitize: ASan/UBSan build $((built - start)) s, tests" \
  "$((tested - built)) s; fuzz build $((fuzz_built - tested)) s, fuzzing" \
  "$((SECONDS - fuzz_built)) s"
printf 'sanitize: %s\n' "${summary[@]}"
