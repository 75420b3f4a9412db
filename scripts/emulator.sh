# Sourced by scripts: starts a yc-emulator on a free loopback port and stops
# it when the calling shell exits.  After `emulator_start ARGS...`:
#   EMULATOR_URL  http://127.0.0.1:<port>/v1
#   EMULATOR_PID  its process id
YC_EMULATOR=${YC_EMULATOR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/bin/yc-emulator}
_emulator_pids=()
_emulator_dirs=()

emulator_stop_all() {
  local pid
  for pid in "${_emulator_pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  [ ${#_emulator_dirs[@]} -eq 0 ] || rm -rf "${_emulator_dirs[@]}"
  _emulator_pids=()
  _emulator_dirs=()
}
trap emulator_stop_all EXIT

emulator_start() {
  local dir
  dir=$(mktemp -d)
  _emulator_dirs+=("$dir")
  "$YC_EMULATOR" --host 127.0.0.1 --port 0 --port-file "$dir/port" "$@" >"$dir/log" 2>&1 &
  EMULATOR_PID=$!
  _emulator_pids+=("$EMULATOR_PID")
  local i
  for i in $(seq 1 200); do
    [ -s "$dir/port" ] && break
    kill -0 "$EMULATOR_PID" 2>/dev/null || { cat "$dir/log" >&2; echo "yc-emulator failed to start" >&2; return 1; }
    sleep 0.05
  done
  [ -s "$dir/port" ] || { echo "yc-emulator did not report a port" >&2; return 1; }
  EMULATOR_URL="http://127.0.0.1:$(tr -d '\n' <"$dir/port")/v1"
  export EMULATOR_URL EMULATOR_PID
}
