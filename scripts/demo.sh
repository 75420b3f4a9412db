#!/usr/bin/env bash
# The main job: the background workflow against the embedded emulator, from
# C and from each language binding that is present.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/emulator.sh

emulator_start --queue-ms 2500 --work-ms 4000
export YC_BASE_URL=$EMULATOR_URL YC_API_KEY=test-key YC_FOLDER_ID=b1g-demo-folder
unset YC_IAM_TOKEN
echo "== emulator at $YC_BASE_URL"

echo; echo "== C (examples/c/workflow.c)"
build/bin/ycbg-example-c "Summarise background mode in one sentence."

if [ -x build/venv/bin/python ] && [ -f examples/python/workflow.py ]; then
  echo; echo "== Python (examples/python/workflow.py)"
  YCBG_LIBRARY=$PWD/build/lib/libycbg.so.0 build/venv/bin/python examples/python/workflow.py
fi
if [ -f examples/rust/Cargo.toml ] && command -v cargo >/dev/null; then
  echo; echo "== Rust (examples/rust)"
  (cd examples/rust && YCBG_LIB_DIR=$OLDPWD/build/lib cargo run --offline --quiet)
fi
if [ -f examples/go/go.mod ] && command -v go >/dev/null; then
  echo; echo "== Go (examples/go)"
  (cd examples/go && PKG_CONFIG_PATH=$OLDPWD/build/lib/pkgconfig GOFLAGS=-mod=mod GOPROXY=off go run .)
fi
