#!/usr/bin/env bash
# Tests/standalone/run.sh — the repository carries everything its tests read.
#
# Copies the committed tree (`git archive HEAD`) into an empty temporary
# folder, so that nothing lies beside the copy (no sibling reading
# folder of the workspace, no other checkout), and runs there the suites that once read files from outside the
# repository: the ABI check and the emulator's Response schema test.  They
# use the artifacts already built in this checkout (the library, the
# emulator, build/venv) through their environment variables; nothing is
# rebuilt.  Also checks that no script, test or build file of the copy names
# a path outside it.
#
# Prints "N passed, N failed"; exits non-zero if any check failed.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
LIB=${YCBG_LIBRARY:-$REPO/build/lib/libycbg.so.0}
EMULATOR=${YC_EMULATOR:-$REPO/build/bin/yc-emulator}
PYTHON=${YCBG_PYTHON:-$REPO/build/venv/bin/python}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; shift; for line in "$@"; do echo "     $line"; done; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

for f in "$LIB" "$EMULATOR" "$PYTHON"; do
  [ -x "$f" ] || [ -r "$f" ] || { fail "built artifact $f exists (make all; scripts/python-env.sh test)"; finish; }
done

OUTER=$(mktemp -d "${TMPDIR:-/tmp}/ycbg-standalone.XXXXXX")
LIBCOPY=$(mktemp -d "${TMPDIR:-/tmp}/ycbg-standalone-lib.XXXXXX")
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/ycbg-standalone-logs.XXXXXX")
trap 'rm -rf "$OUTER" "$LIBCOPY" "$LOGS"' EXIT
COPY=$OUTER/ycbg
mkdir "$COPY"
if git -C "$REPO" archive --format=tar HEAD | tar -x -C "$COPY"; then
  ok "git archive HEAD unpacked into an empty folder ($(find "$COPY" -type f | wc -l | tr -d ' ') files)"
else
  fail "git archive HEAD unpacks"; finish
fi
beside=$(ls -A "$OUTER" | grep -vx ycbg | tr '\n' ' ')
if [ -z "$beside" ] && [ ! -e "$OUTER/shared" ]; then ok "nothing beside the copy"
else fail "nothing beside the copy" "found: $beside"; fi

# No script, test or build file names a place outside the repository.
outside=$(cd "$COPY" && grep -rnE '[.][.]/[s]hared|/work/' \
  --include='*.sh' --include='*.py' --include='*.c' --include='*.h' --include='*.swift' \
  --include='*.go' --include='*.rs' --include='*.toml' --include='Makefile' --include='*.json' . 2>/dev/null |
  grep -v '^./Tests/standalone/run.sh:' | head -5)
if [ -z "$outside" ]; then ok "no script, test or build file names a sibling folder or a path outside the repository"
else fail "no file names a path outside the repository" "$outside"; fi

# The ABI check of the copy, against the library built here.
cp "$LIB" "$LIBCOPY/libycbg.so.0" && ln -s libycbg.so.0 "$LIBCOPY/libycbg.so"
if (cd "$COPY" && YCBG_LIB="$LIBCOPY/libycbg.so.0" YCBG_LIB_DIR="$LIBCOPY" bash Tests/abi/check.sh) > "$LOGS/abi.log" 2>&1; then
  ok "Tests/abi/check.sh in the copy: $(tail -1 "$LOGS/abi.log")"
else
  fail "Tests/abi/check.sh in the copy" "$(grep -A2 '^FAIL' "$LOGS/abi.log" | head -12)" "$(tail -1 "$LOGS/abi.log")"
fi

# The emulator's schema test of the copy, against the emulator built here.
if (cd "$COPY" && YC_EMULATOR="$EMULATOR" "$PYTHON" -m pytest -q -p no:cacheprovider Tests/emulator/test_schema.py) \
     > "$LOGS/schema.log" 2>&1; then
  ok "Tests/emulator/test_schema.py in the copy: $(tail -1 "$LOGS/schema.log")"
else
  fail "Tests/emulator/test_schema.py in the copy" "$(tail -15 "$LOGS/schema.log")"
fi
beside=$(ls -A "$OUTER" | grep -vx ycbg | tr '\n' ' ')
if [ -z "$beside" ]; then ok "the suites wrote nothing beside the copy"
else fail "the suites wrote nothing beside the copy" "found: $beside"; fi
finish
