#!/usr/bin/env bash
# The whole test suite (what `make test` runs after building). Every runner
# prints its own summary line; the script runs them all and fails if any did.
# Each suite starts the emulators it needs on 127.0.0.1 and stops them.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export YC_EMULATOR=$ROOT/build/bin/yc-emulator
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
run() {
  local name=$1; shift
  echo
  echo "==== $name"
  local start=$SECONDS
  if "$@"; then
    echo "==== $name: ok ($((SECONDS - start)) s)"
  else
    echo "==== $name: FAILED ($((SECONDS - start)) s)"
    failed+=("$name")
  fi
}

# The unit tests build in their own scratch folder, with the core only (no
# SwiftNIO): `make test-build` built them; this is a no-op then.
run "swift test (core unit tests)" bash -c \
  'env "$@" swift build --product ycbgPackageTests --scratch-path .build-test -q &&
   swift test --skip-build --scratch-path .build-test' - "${proxy_env[@]}"
run "ABI check" Tests/abi/check.sh
run "make install + pkg-config" Tests/install/check.sh
run "C tests" env YCBG_SKIP_ABI=1 Tests/c/run.sh plain
run "C tests under valgrind" Tests/c/run.sh valgrind
run "C tests under AddressSanitizer + UBSan" Tests/c/run.sh asan
run "C thread tests under ThreadSanitizer" Tests/c/run.sh tsan
run "TLS: https emulator, ca_file, certificate failures" Tests/tls/run.sh
# (fuzz/run.sh builds yc-fuzz first: SwiftPM may fetch, so it keeps the proxies.)
run "fuzzing the boundary parsers (60 s per target)" env "${proxy_env[@]}" fuzz/run.sh 60
run "Python environment (pinned: Tests/requirements.txt)" env "${proxy_env[@]}" scripts/python-env.sh test
run "emulator: schema and openai SDK (pytest)" build/venv/bin/python -m pytest -q Tests/emulator
run "ycbg command-line tool (pytest)" build/venv/bin/python -m pytest -q Tests/cli
run "Dask example on a local cluster (pytest)" build/venv/bin/python -m pytest -q Tests/dask
run "standalone: the suites that read files run from a bare git archive" Tests/standalone/run.sh
if [ -d bindings/python/tests ]; then
  run "Python binding (pytest)" build/venv/bin/python -m pytest -q bindings/python/tests
fi
run "Python wheel (make wheel; fresh venv, seed workflow, ldd)" bash -c 'scripts/build-wheel.sh && Tests/wheel/check.sh'
if [ -f bindings/rust/Cargo.toml ]; then
  run "Rust binding (cargo test)" bash -c 'cd bindings/rust && cargo test --offline'
fi
if [ -f bindings/go/go.mod ]; then
  # -count=1: go's cache does not know when libycbg.so changed.
  # ycbg.pc bakes no rpath into programs: the test binary finds the library through LD_LIBRARY_PATH.
  run "Go binding (go test)" bash -c 'cd bindings/go && LD_LIBRARY_PATH=$YCBG_LIB_DIR GOFLAGS=-mod=mod GOPROXY=off GOCACHE=${GOCACHE:-$ROOT/build/gocache} go test -count=1 ./...'
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  exit 1
fi
echo "all test suites passed"
