#!/usr/bin/env bash
# fuzz/run.sh [seconds-per-target]   (default 60; `make test` uses 20, `make fuzz` 600)
#
# Builds the libFuzzer harness (Sources/YCFuzz, product yc-fuzz) once with
# -sanitize=fuzzer,address, replays fuzz/regressions/<target>/, then fuzzes
# every target for the given time on a temporary copy of fuzz/corpus/<target>
# (the committed corpus is never modified). Fails on any crash, violated
# invariant, sanitizer report, leak, timeout or out-of-memory. Prints each
# target's executions and a final "N passed, N failed".
#
# Environment: YCBG_FUZZ_JOBS (targets run at once; default: number of CPUs),
# YCBG_FUZZ_SCRATCH (build directory; default .build-fuzz), YCBG_FUZZ_BUILD_ONLY=1
# (build yc-fuzz and stop: `make test` builds it while other suites run, and
# fuzzes last, alone, so that the fuzzers get the CPU their time is measured
# on). Crash inputs are kept in $YCBG_FUZZ_SCRATCH/findings/<target>/.
set -uo pipefail

secs=${1:-60}
case $secs in ''|*[!0-9]*) echo "usage: $0 [seconds-per-target]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=${YCBG_FUZZ_SCRATCH:-$ROOT/.build-fuzz}
TARGETS=(${YCBG_FUZZ_TARGETS:-config request response error_body retry_after})
jobs=${YCBG_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1

# Swift code gets coverage + ASan from swiftc; the C shim from clang. libFuzzer's
# driver is started by the harness's own main (see Sources/YCFuzz/Entry.swift).
BUILD_FLAGS=(-c debug --product yc-fuzz --scratch-path "$SCRATCH"
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DYCBG_FUZZ
  -Xswiftc -enable-experimental-feature -Xswiftc Extern
  -Xcc -fsanitize=fuzzer-no-link,address)

start=$SECONDS
echo "==== fuzz: building yc-fuzz (libFuzzer + AddressSanitizer) in ${SCRATCH#$ROOT/}"
mkdir -p "$SCRATCH"
if ! swift build "${BUILD_FLAGS[@]}" > "$SCRATCH/build.log" 2>&1; then
  grep -v "Cannot export local symbol" "$SCRATCH/build.log" | tail -40
  echo "fuzz: build FAILED"
  echo "0 passed, ${#TARGETS[@]} failed"
  exit 1
fi
BIN="$(swift build "${BUILD_FLAGS[@]}" --show-bin-path)/yc-fuzz"
build_secs=$((SECONDS - start))
if [ -n "${YCBG_FUZZ_BUILD_ONLY:-}" ]; then
  echo "==== fuzz: built $BIN in ${build_secs} s (YCBG_FUZZ_BUILD_ONLY: no fuzzing)"
  echo "1 passed, 0 failed"
  exit 0
fi
echo "==== fuzz: built in ${build_secs} s; ${#TARGETS[@]} targets x ${secs} s, ${jobs} at a time"

# libFuzzer and ASan report crashes themselves; Swift's backtracer would race them.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ycbg-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FINDINGS=$SCRATCH/findings

# One target: regressions, then fuzzing. Writes $WORK/<t>/{status,summary,report}.
run_target() {
  local t=$1 dir=$WORK/$1 rc=0 reasons=()
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -R "fuzz/corpus/$t/." "$dir/corpus/" 2>/dev/null
  local dict=()
  [ -f "fuzz/$t.dict" ] && dict=("-dict=fuzz/$t.dict")

  # Known bad inputs, each once (libFuzzer runs files given as arguments).
  local reg_total=0 reg_failed=0 f
  for f in fuzz/regressions/"$t"/*; do
    [ -f "$f" ] || continue
    reg_total=$((reg_total + 1))
    if ! YCBG_FUZZ_TARGET=$t "$BIN" -timeout=10 -rss_limit_mb=2048 "$f" >> "$dir/regressions.log" 2>&1; then
      reg_failed=$((reg_failed + 1))
      echo "regression fails: $f" >> "$dir/report"
    fi
  done
  [ $reg_failed -gt 0 ] && reasons+=("$reg_failed of $reg_total regression inputs fail")

  YCBG_FUZZ_TARGET=$t timeout -k 10 $((secs * 2 + 120)) "$BIN" "$dir/corpus" \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "${dict[@]}" > "$dir/fuzz.log" 2>&1 || rc=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)
  [ $rc -ne 0 ] && reasons+=("libFuzzer exit status $rc")
  local artifacts
  artifacts=$(cd "$dir/artifacts" && ls | grep -E '^(crash|leak|timeout|oom)-' || true)
  [ -n "$artifacts" ] && reasons+=("artifacts: $(echo $artifacts | tr ' ' ',')")
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|INVARIANT VIOLATED|^SUMMARY: ' "$dir/fuzz.log"; then
    reasons+=("sanitizer/invariant report in the log")
  fi
  [ -z "$execs" ] && reasons+=("no final stats")

  if [ ${#reasons[@]} -eq 0 ]; then
    echo ok > "$dir/status"
    echo "$t: ${execs} executions in ${secs} s, ok" > "$dir/summary"
  else
    echo failed > "$dir/status"
    echo "$t: ${execs:-0} executions, FAILED: $(IFS=';'; echo "${reasons[*]}")" > "$dir/summary"
    mkdir -p "$FINDINGS/$t"
    [ -n "$artifacts" ] && cp "$dir/artifacts/"* "$FINDINGS/$t/" 2>/dev/null
    cp "$dir/fuzz.log" "$FINDINGS/$t/fuzz.log"
    [ -f "$dir/regressions.log" ] && cp "$dir/regressions.log" "$FINDINGS/$t/regressions.log"
    {
      [ -n "$artifacts" ] && echo "inputs kept in ${FINDINGS#$ROOT/}/$t/"
      grep -hE 'INVARIANT VIOLATED|Fatal error|ERROR: |SUMMARY: |^ *#[0-9]+ .* in .*(YCBGCore|YCFuzz|CYCShim|shim\.c)' \
        "$dir/regressions.log" "$dir/fuzz.log" 2>/dev/null | grep -v 'YCFuzz/Support.swift:.*Fatal' | head -14
    } >> "$dir/report"
  fi
  cat "$dir/summary"
}

running=0
for t in "${TARGETS[@]}"; do
  if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
  run_target "$t" &
  running=$((running + 1))
done
wait

passed=0 failed=0
echo
echo "==== fuzz results (${secs} s per target)"
for t in "${TARGETS[@]}"; do
  cat "$WORK/$t/summary" 2>/dev/null || echo "$t: did not run, FAILED"
  if [ "$(cat "$WORK/$t/status" 2>/dev/null)" = ok ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    [ -f "$WORK/$t/report" ] && sed 's/^/    /' "$WORK/$t/report"
  fi
done
echo "fuzz: total $((SECONDS - start)) s (build ${build_secs} s)"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
