#!/usr/bin/env bash
# The whole test suite (what `make test` runs after building). Every runner
# prints its own summary line; the script runs them all and fails if any did.
# Each suite starts the emulators it needs on 127.0.0.1 (port 0: the emulator
# picks a free one) and stops them.
#
# The suites run side by side, YCBG_TEST_JOBS (default 8) at a time; 1 runs
# them one after another.  Most of their time is spent waiting on the
# emulator's timers (delays, Retry-After, timeouts), not on the CPU.  Each
# suite writes its own log (build/tests/suites/NN.log); a log is printed whole,
# in the order of the `run` lines below, once that suite and every one above
# it are done, so no two suites' output interleave.  `wait_suites` waits for
# every suite started so far, for suites that use what an earlier one made.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# One emulator build for every suite (make emulator): plain HTTP, or HTTPS
# with --tls-cert/--tls-key.
export YC_EMULATOR=${YC_EMULATOR:-$ROOT/build/bin/yc-emulator}
export YCBG_LIBRARY=$ROOT/build/lib/libycbg.so.0
export YCBG_LIB_DIR=$ROOT/build/lib
export ROOT
export PKG_CONFIG_PATH=$ROOT/build/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
# Credentials from the caller's environment must not leak into the tests.
unset YC_API_KEY YC_IAM_TOKEN YC_FOLDER_ID YC_BASE_URL
# Every suite talks to 127.0.0.1 only: no proxy setting may redirect it.
# (Kept aside for the one step that downloads: pip, from PyPI.)
mapfile -t proxy_env < <(env | grep -iE '^(http|https|all|no)_proxy=' || true)
unset http_proxy https_proxy all_proxy no_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY
# The one timing slack (ms) every wall-clock bound in every suite adds to
# itself: the C harness (th_slack_ms), the Python conftests, the Go and Rust
# test helpers.  Tests/c/run.sh raises it under valgrind.
export YCBG_TIME_SLACK_MS=${YCBG_TIME_SLACK_MS:-2500}

failed=()
max_jobs=${YCBG_TEST_JOBS:-8}
case $max_jobs in '' | *[!0-9]* | 0) max_jobs=8 ;; esac
LOGS=$ROOT/build/tests/suites
rm -rf "$LOGS"
mkdir -p "$LOGS"
names=()
started=0 printed=0
summary=()

# print_done: prints, in order, every suite that is done and has none
# running above it.
print_done() {
  local log rc secs name
  while [ "$printed" -lt "$started" ]; do
    log=$LOGS/$(printf %02d "$printed").log
    [ -f "$log.status" ] || return 0
    read -r rc secs < "$log.status"
    name=${names[printed]}
    echo
    echo "==== $name"
    cat "$log"
    if [ "$rc" = 0 ]; then
      summary+=("==== $name: ok ($secs s)")
    else
      summary+=("==== $name: FAILED ($secs s; log: ${log#$ROOT/})")
      failed+=("$name")
    fi
    echo "${summary[-1]}"
    printed=$((printed + 1))
  done
}

# run NAME COMMAND...: starts the suite in the background once fewer than
# max_jobs run, its output (stdin: /dev/null) into its own log.
run() {
  local name=$1; shift
  while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do
    wait -n
    print_done
  done
  local log
  log=$LOGS/$(printf %02d "$started").log
  names[started]=$name
  started=$((started + 1))
  (
    start=$SECONDS
    "$@" > "$log" 2>&1 < /dev/null
    rc=$?
    echo "$rc $((SECONDS - start))" > "$log.status.tmp"
    mv "$log.status.tmp" "$log.status"
  ) &
  print_done
}

# Background suites ignore SIGINT (bash does that without job control), so
# an interrupt ends them here: each running suite's process tree, by id.
kill_tree() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
  kill -TERM "$1" 2>/dev/null
}
on_interrupt() {
  trap - INT TERM
  local pid
  for pid in $(jobs -p); do kill_tree "$pid"; done
  echo "run-tests: interrupted; stopped the running suites" >&2
  exit 130
}
trap on_interrupt INT TERM

# wait_suites: waits for every suite started so far and prints them.
wait_suites() {
  wait
  print_done
}

echo "test suites: $max_jobs at a time (YCBG_TEST_JOBS); each one's output is printed whole when it"
echo "and those above it are done; logs in ${LOGS#$ROOT/}/"

# First what later suites use: the install check (make install: it leaves an
# unchanged build/lib as it is), the Python environment (build/venv), every
# variant of the C programs built once (the C suites below run side by side
# and share build/tests/*).
run "make install + pkg-config" Tests/install/check.sh
run "Python environment (pinned: Tests/requirements.txt)" env "${proxy_env[@]}" scripts/python-env.sh test
run "C test programs: build (plain, ASan, TSan)" make -s -C Tests/c -j"$(nproc)" all-variants
# The unit tests build in their own scratch folder, with the core only (no
# SwiftNIO): `make test-build` built them; this is a no-op then.
run "swift test (core unit tests)" bash -c \
  'env "$@" swift build --product ycbgPackageTests --scratch-path .build-test -q &&
   swift test --skip-build --scratch-path .build-test' - "${proxy_env[@]}"
run "ABI check" Tests/abi/check.sh
wait_suites

# The suites, the longest first.  New suites: a `run` line below.
# Three valgrind programs at a time: under memcheck this is the longest suite
# (its programs mostly wait on the emulator's timers, slowed down).
run "C tests under valgrind" env YCBG_C_JOBS=3 Tests/c/run.sh valgrind
# The fuzzer is built here (SwiftPM may fetch, so it keeps the proxies), it runs last.
run "fuzzing: build yc-fuzz" env "${proxy_env[@]}" YCBG_FUZZ_BUILD_ONLY=1 fuzz/run.sh
# The plain and ASan programs mostly wait on the emulator's timers: a few at a
# time (their wall-clock bounds carry YCBG_TIME_SLACK_MS).
run "C tests under AddressSanitizer + UBSan" env YCBG_C_JOBS=2 Tests/c/run.sh asan
run "C tests" env YCBG_SKIP_ABI=1 YCBG_C_JOBS=3 Tests/c/run.sh plain
run "ycbg command-line tool (pytest)" build/venv/bin/python -m pytest -q -p no:cacheprovider Tests/cli
run "C thread tests under ThreadSanitizer" Tests/c/run.sh tsan
run "Dask example on a local cluster (pytest)" build/venv/bin/python -m pytest -q -p no:cacheprovider Tests/dask
if [ -d bindings/python/tests ]; then
  run "Python binding (pytest)" build/venv/bin/python -m pytest -q -p no:cacheprovider bindings/python/tests
fi
run "emulator: schema and openai SDK (pytest)" build/venv/bin/python -m pytest -q -p no:cacheprovider Tests/emulator
run "Python wheel (make wheel; fresh venv, seed workflow, ldd)" bash -c 'scripts/build-wheel.sh && Tests/wheel/check.sh'
if [ -f bindings/rust/Cargo.toml ]; then
  run "Rust binding (cargo test)" bash -c 'cd bindings/rust && cargo test --offline'
fi
if [ -f bindings/go/go.mod ]; then
  # -count=1: go's cache does not know when libycbg.so changed.
  # ycbg.pc bakes no rpath into programs: the test binary finds the library through LD_LIBRARY_PATH.
  run "Go binding (go test)" bash -c 'cd bindings/go && LD_LIBRARY_PATH=$YCBG_LIB_DIR GOFLAGS=-mod=mod GOPROXY=off GOCACHE=${GOCACHE:-$ROOT/build/gocache} go test -count=1 ./...'
fi
run "TLS: https emulator, ca_file, certificate failures" Tests/tls/run.sh
run "standalone: the suites that read files run from a bare git archive" Tests/standalone/run.sh
wait_suites

# Alone, last: libFuzzer's time limit is wall-clock, so nothing else takes the
# fuzzers' CPU.  Three targets at a time (two rounds for five; each about two
# thirds of a core).  A short run here (the committed corpus and the
# regressions are replayed first); `make fuzz`: 10 minutes per target.
run "fuzzing the boundary parsers (20 s per target)" env "${proxy_env[@]}" YCBG_FUZZ_JOBS=3 fuzz/run.sh 20
wait_suites

echo
echo "==== summary ($SECONDS s)"
printf '%s\n' "${summary[@]}"
echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  exit 1
fi
echo "all test suites passed"
