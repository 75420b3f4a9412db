#!/usr/bin/env bash
# Installs what the build (with "demo", also the examples; with "test", also
# the test suites) needs and is missing, with apt-get.
# Usage: scripts/install-deps.sh [build|demo|test]
# Where it cannot install (no apt-get, or not root and no sudo), it stops at
# once and names the command to run.  The Swift toolchain (swift.org) is not
# an apt package: without `swift` on PATH it stops and says so.
set -euo pipefail
mode=${1:-build}
missing=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || missing+=("$1"); }
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }

need_pkg libcurl4-openssl-dev
need_pkg libjansson-dev
need_pkg libssl-dev  # the emulator's TLS (yc-emulator --tls-cert)
need_cmd pkg-config pkg-config
need_cmd make make
need_cmd cc gcc
need_cmd python3 python3
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
case "$mode" in
  build) ;;
  demo | test)
    need_cmd go golang-go
    need_cmd cargo cargo
    if [ "$mode" = test ]; then
      need_cmd valgrind valgrind
      need_cmd openssl openssl
      need_cmd tmux tmux  # Tests/cli/test_progress.py: the terminal display as a person sees it
    fi
    ;;
  *) echo "usage: $0 [build|demo|test]" >&2; exit 2 ;;
esac
if ! command -v swift >/dev/null 2>&1; then
  echo "install-deps: no 'swift' on PATH: install the Swift 6 toolchain from https://swift.org/install and add its usr/bin to PATH" >&2
  exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  if ! command -v apt-get >/dev/null 2>&1 || { [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; }; then
    echo "install-deps: missing ${missing[*]}; install them first, e.g.:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq || echo "install-deps: apt-get update failed; trying the install anyway" >&2
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "install-deps: could not install ${missing[*]}; run:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi
