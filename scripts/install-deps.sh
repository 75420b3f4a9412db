#!/usr/bin/env bash
# Installs what the build (and, with "test", the test suites) needs and is
# missing, with apt-get. Usage: scripts/install-deps.sh [build|test]
set -euo pipefail
mode=${1:-build}
missing=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || missing+=("$1"); }
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }

need_pkg libcurl4-openssl-dev
need_pkg libjansson-dev
need_cmd pkg-config pkg-config
need_cmd make make
need_cmd cc gcc
need_cmd python3 python3
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if [ "$mode" = test ]; then
  need_cmd valgrind valgrind
  need_cmd go golang-go
  need_cmd cargo cargo
  need_cmd openssl openssl
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
