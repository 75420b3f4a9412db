#!/usr/bin/env bash
# make bench: builds the two C clients, makes build/bench-venv (bench/requirements.txt),
# runs bench/run.py against build/bin/yc-emulator, and writes bench/results.md and
# bench/results.png (with --quick: build/bench/results.{md,png}, the committed ones stay).
# Arguments go to bench/run.py (--sizes 100,1000,10000, --quick, --clients ..., see --help).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build"
CC=${CC:-cc}
for f in "$BUILD/lib/libycbg.so.0" "$BUILD/include/ycbg.h" "$BUILD/bin/yc-emulator"; do
  [ -e "$f" ] || { echo "bench: $f is missing (make lib header emulator)" >&2; exit 1; }
done
command -v openssl >/dev/null || { echo "bench: openssl is not installed" >&2; exit 1; }
mkdir -p "$BUILD/bin" "$BUILD/bench"
"$CC" -std=c11 -O2 -Wall -Wextra -Werror "$ROOT/bench/yc_client.c" -I"$BUILD/include" \
  -L"$BUILD/lib" -lycbg -Wl,-rpath,"$BUILD/lib" -o "$BUILD/bin/bench-yc"
"$CC" -std=c11 -O2 -Wall -Wextra -Werror "$ROOT/bench/curl_client.c" -lcurl -ljansson \
  -o "$BUILD/bin/bench-curl"
VENV="$BUILD/bench-venv"
if ! cmp -s "$ROOT/bench/requirements.txt" "$VENV/.requirements" 2>/dev/null; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --no-deps -r "$ROOT/bench/requirements.txt"
  "$VENV/bin/pip" check
  cp "$ROOT/bench/requirements.txt" "$VENV/.requirements"
fi
OUT="$ROOT/bench" JSON="$BUILD/bench/results.json"
for a in "$@"; do [ "$a" = "--quick" ] && OUT="$BUILD/bench" JSON="$BUILD/bench/quick.json"; done
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (the machine should be quiet)"
"$VENV/bin/python" "$ROOT/bench/run.py" --out "$JSON" "$@"
"$VENV/bin/python" "$ROOT/bench/report.py" "$JSON" "$OUT/results.md" "$OUT/results.png"
echo "wrote $OUT/results.md and $OUT/results.png"
