#!/usr/bin/env bash
# The main job: the background workflow against the embedded emulator, from
# C and from each language binding, built by `make demo` (demo-clients).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/emulator.sh

emulator_start --queue-ms 2500 --work-ms 4000
export YCBG_POLL_SECONDS=1  # the examples poll every second here
export LD_LIBRARY_PATH=$ROOT/build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}  # nothing bakes an rpath in
export YC_BASE_URL=$EMULATOR_URL YC_API_KEY=test-key YC_FOLDER_ID=b1g-demo-folder
unset YC_IAM_TOKEN
echo "== emulator at $YC_BASE_URL"

echo; echo "== C (examples/c/workflow.c)"
build/bin/ycbg-example-c "Summarise background mode in one sentence."

echo; echo "== Python (examples/python/workflow.py)"
build/venv/bin/python examples/python/workflow.py

echo; echo "== Rust (examples/rust)"
(cd examples/rust && YCBG_LIB_DIR=$ROOT/build/lib cargo run --offline --quiet)

echo; echo "== Go (examples/go)"
build/bin/ycbg-example-go
