#!/usr/bin/env bash
# Makes build/venv with the ycbg Python binding installed from the built
# library (and, with "test", what the Python test suites need). A private
# virtualenv, because Debian's python refuses system-wide pip installs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/venv/bin/python ] || python3 -m venv build/venv
pip=(build/venv/bin/python -m pip install -q --disable-pip-version-check)
if [ "${1:-}" = test ]; then
  "${pip[@]}" pytest openai jsonschema pyyaml h2==4.4.1 hpack==4.2.0 hyperframe==6.1.0
fi
YCBG_LIBRARY=$PWD/build/lib/libycbg.so.0 "${pip[@]}" --force-reinstall --no-deps ./bindings/python
