#!/usr/bin/env bash
# scripts/set-version.sh MAJOR.MINOR.PATCH — the one command for a version
# bump.  The version is written in include/ycbg.h (YCBG_VERSION_*), which the
# library (through the C shim), the Makefile and ycbg.pc read; the binding
# packages carry it in their own metadata, which this script rewrites and
# each binding's test suite checks against the header:
#   bindings/python/ycbg/_version.py   (pyproject.toml reads it)
#   bindings/rust/Cargo.toml           ([workspace.package] version) + Cargo.lock files
#   bindings/go/ycbg.go                (BindingVersion)
set -euo pipefail
cd "$(dirname "$0")/.."
v=${1:-}
[[ $v =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || { echo "usage: $0 MAJOR.MINOR.PATCH" >&2; exit 2; }
sed -i -E "s/^(#define YCBG_VERSION_MAJOR) +[0-9]+/\1 ${BASH_REMATCH[1]}/;
           s/^(#define YCBG_VERSION_MINOR) +[0-9]+/\1 ${BASH_REMATCH[2]}/;
           s/^(#define YCBG_VERSION_PATCH) +[0-9]+/\1 ${BASH_REMATCH[3]}/" include/ycbg.h
sed -i -E "s/^__version__ = \".*\"/__version__ = \"$v\"/" bindings/python/ycbg/_version.py
sed -i -E "/^\[workspace.package\]/,/^\[/ s/^version = \".*\"/version = \"$v\"/" bindings/rust/Cargo.toml
sed -i -E "s/^const BindingVersion = \".*\"/const BindingVersion = \"$v\"/" bindings/go/ycbg.go
for lock in bindings/rust/Cargo.lock examples/rust/Cargo.lock; do
  [ -f "$lock" ] || continue
  awk -v v="$v" '/^name = "(ycbg|ycbg-sys)"$/ { hit = 1; print; next }
                 hit && /^version = / { print "version = \"" v "\""; hit = 0; next }
                 { hit = 0; print }' "$lock" >"$lock.tmp" && mv "$lock.tmp" "$lock"
done
grep -n "YCBG_VERSION_" include/ycbg.h | head -3
