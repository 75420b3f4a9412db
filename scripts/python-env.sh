#!/usr/bin/env bash
# Makes build/venv with the ycbg Python binding installed from the built
# library (and, with "test", what the Python test suites need). A private
# virtualenv, because Debian's python refuses system-wide pip installs.
#
# Every package comes at the exact version its requirements file names
# (scripts/requirements-build.txt: the binding's build backend;
# Tests/requirements.txt: the test suites' packages with all their
# dependencies), installed with --no-deps and checked with `pip check`.
# With "test-deps": only those packages, not the binding (`make test` fetches
# them while the Swift builds run; the binding needs the built library).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/venv/bin/python ] || python3 -m venv build/venv
# --no-compile: Python compiles what it imports when it imports it (pip would
# compile every module of every package up front: CPU time make test needs).
pip=(build/venv/bin/python -m pip --disable-pip-version-check)
"${pip[@]}" install -q --no-compile --no-deps -r scripts/requirements-build.txt
if [ "${1:-}" = test ] || [ "${1:-}" = test-deps ]; then
  "${pip[@]}" install -q --no-compile --no-deps -r Tests/requirements.txt
fi
"${pip[@]}" check
[ "${1:-}" = test-deps ] && exit 0
YCBG_LIBRARY=$PWD/build/lib/libycbg.so.0 "${pip[@]}" install -q --force-reinstall --no-deps \
  --no-build-isolation ./bindings/python
