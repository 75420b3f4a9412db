#!/usr/bin/env bash
# The wheel from `make wheel` (build/dist/) installs into a fresh venv with
# nothing but pip (no index, no build step), runs the seed workflow
# (examples/python/workflow.py) against an emulator on 127.0.0.1, and the
# libycbg.so.0 inside it loads every library from inside the installed wheel
# except the C runtime and the few libraries the manylinux policy assumes on
# every system (the allow-list below).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
source scripts/emulator.sh
tmp=$(mktemp -d)
trap 'emulator_stop_all; rm -rf "$tmp"' EXIT
passed=0 failed=0
check() { if eval "$2"; then passed=$((passed + 1)); else echo "FAIL: $1"; failed=$((failed + 1)); fi; }

# What may come from the system: glibc's own libraries, the vDSO, the
# dynamic loader, and libgcc_s, libstdc++ and libz, which the manylinux
# policies list as present everywhere (auditwheel leaves them out).
ALLOWED='^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libgcc_s\.so\.1|libstdc\+\+\.so\.6|libz\.so\.1)$'

wheels=(build/dist/ycbg-*manylinux*.whl)
check "one manylinux wheel in build/dist" '[ ${#wheels[@]} -eq 1 ] && [ -f "${wheels[0]}" ]'
[ -f "${wheels[0]}" ] || { echo "wheel: $passed passed, $failed failed"; exit 1; }
wheel=${wheels[0]}
echo "wheel: $(basename "$wheel"), $(stat -c %s "$wheel") bytes"

python3 -m venv "$tmp/venv"
py=$tmp/venv/bin/python
check "pip installs the wheel (no index, binary only)" \
  '"$py" -m pip install -q --disable-pip-version-check --no-index --only-binary :all: --no-deps "$wheel"'
site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
so=$site/ycbg/_lib/libycbg.so.0

# Run from an empty folder, with no YCBG_LIBRARY: the bundled copy is used.
run_py() { (cd "$tmp" && env -u YCBG_LIBRARY -u LD_LIBRARY_PATH -u PYTHONPATH "$py" "$@"); }
check "ycbg imports its bundled library" \
  '[ "$(run_py -c "import ycbg; print(ycbg.library_path)")" = "$so" ]'
check "the package version is the library version" \
  '[ "$(run_py -c "import ycbg; print(ycbg.__version__ == ycbg.library_version())")" = True ]'

# ldd: every library resolves, and all but the allowed ones from the wheel.
ldd_out=$(env -u LD_LIBRARY_PATH ldd "$so")
echo "$ldd_out" | sed 's/^/    /'
check "ldd resolves every library" '! grep -q "not found" <<<"$ldd_out"'
outside=$(awk '{ name=$1; path=($2=="=>") ? $3 : $1; print name, path }' <<<"$ldd_out" |
  while read -r name path; do
    case "$path" in "$site"/*) continue ;; esac
    [[ $(basename "$name") =~ $ALLOWED ]] || echo "$name => $path"
  done)
check "every other library comes from inside the wheel${outside:+ (outside: $outside)}" '[ -z "$outside" ]'
check "libcurl and Jansson are bundled" \
  'grep -Eq "libcurl[^ ]* => $site/[^ ]*ycbg\.libs/" <<<"$ldd_out" && grep -Eq "libjansson[^ ]* => $site/[^ ]*ycbg\.libs/" <<<"$ldd_out"'

# The seed workflow against the emulator.
emulator_start --queue-ms 200 --work-ms 300 || { echo "wheel: $passed passed, $((failed + 1)) failed"; exit 1; }
out=$(cd "$tmp" && env -u YCBG_LIBRARY -u LD_LIBRARY_PATH -u PYTHONPATH -u YC_IAM_TOKEN \
        YC_BASE_URL="$EMULATOR_URL" YC_API_KEY=test-key YC_FOLDER_ID=b1g-wheel YCBG_POLL_SECONDS=0.1 \
        timeout 120 "$py" "$ROOT/examples/python/workflow.py" "Hello from the wheel" 2>&1)
echo "$out" | sed 's/^/    /'
check "the seed workflow completes" 'grep -qx "Final response: Echo: Hello from the wheel" <<<"$out"'
check "it reported the task and its statuses" 'grep -q "^Task sent: " <<<"$out" && grep -q "^Status: completed" <<<"$out"'

echo "wheel: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
