#!/usr/bin/env bash
# Opens the real editor (the standalone, dummy audio backend) in a virtual X server and saves a
# screenshot: `tests/editor/screenshot.sh [OUT.png]` (default assets/editor.png).
# With LOOPMATE_DEMO_SECS=N it runs `loopmate --demo` (a scripted player looping four parts) for
# N seconds first. LOOPMATE_DEMO_SCRIPT=stage|crowd runs that script instead (`--demo-script`):
# the README's pictures, a set in progress
# (`LOOPMATE_DEMO_SECS=38 LOOPMATE_DEMO_SCRIPT=stage tests/editor/screenshot.sh assets/editor.png`)
# and a hundred loops
# (`LOOPMATE_DEMO_SECS=36 LOOPMATE_DEMO_SCRIPT=crowd tests/editor/screenshot.sh assets/editor-100-loops.png`).
# Needs: cargo build --bin loopmate; xvfb, xauth, imagemagick, libgl1-mesa-dri (cargo xtask test
# installs them). Exits non-zero if the program dies or panics before the screenshot, or does not
# quit cleanly (exit 0, window closed) on SIGTERM after it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/assets/editor.png}"
binary="${LOOPMATE_BIN:-$root/target/debug/loopmate}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

inner() {
  demo=()
  [ -n "${LOOPMATE_DEMO_SECS:-}" ] && demo=(--demo)
  [ -n "${LOOPMATE_DEMO_SCRIPT:-}" ] && demo=(--demo-script "$LOOPMATE_DEMO_SCRIPT")
  "$binary" --backend dummy "${demo[@]}" >"$log" 2>&1 &
  pid=$!
  # Give the window time to map and draw a few frames (software GL is slow).
  sleep "${LOOPMATE_DEMO_SECS:-${LOOPMATE_SCREENSHOT_DELAY:-4}}"
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "loopmate exited early:" >&2
    cat "$log" >&2
    exit 1
  fi
  import -window root "$out"
  # SIGTERM with the window open: the editor closes its window and the program exits 0.
  kill -TERM "$pid"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "loopmate did not quit within 10 s of SIGTERM with its window open" >&2
    kill -9 "$pid"
    exit 1
  fi
  status=0
  wait "$pid" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "loopmate exited with status $status on SIGTERM:" >&2
    cat "$log" >&2
    exit 1
  fi
  if grep -qi "panicked" "$log"; then
    echo "loopmate panicked:" >&2
    cat "$log" >&2
    exit 1
  fi
}

if [ "${LOOPMATE_INSIDE_XVFB:-}" = 1 ]; then
  inner
else
  LOOPMATE_INSIDE_XVFB=1 LIBGL_ALWAYS_SOFTWARE=1 \
    xvfb-run -a -s "-screen 0 1000x800x24" bash "$0" "$out"
  echo "saved $out"
fi
