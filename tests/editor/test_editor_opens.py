"""The real editor window opens under Xvfb, draws text, and the program does not panic.

Runs tests/editor/screenshot.sh (the standalone with the dummy audio backend, idle and during
`--demo`, a scripted player looping four parts) and checks the
screenshot is a real picture (many colours: anti-aliased text and buttons), not a blank window.
The script then sends SIGTERM with the window open and fails unless the program closes its window
and exits 0 within 10 s.
"""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def screenshot(tmp_path, demo_secs=None, script=None):
    """Runs the standalone under Xvfb (with the demo player, playing `script` if given, for
    `demo_secs`) and returns the screenshot's number of colours."""
    binary = ROOT / "target" / "debug" / "loopmate"
    assert binary.exists(), f"{binary} missing: run `cargo build --bin loopmate` first"
    shot = tmp_path / "editor.png"
    env = dict(os.environ)
    if demo_secs is not None:
        env["LOOPMATE_DEMO_SECS"] = str(demo_secs)
    if script is not None:
        env["LOOPMATE_DEMO_SCRIPT"] = script
    result = subprocess.run(
        [str(ROOT / "tests" / "editor" / "screenshot.sh"), str(shot)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert shot.exists() and shot.stat().st_size > 2_000
    colours = subprocess.run(
        ["identify", "-format", "%k", str(shot)], capture_output=True, text=True, check=True
    ).stdout
    return int(colours)


def test_editor_opens_and_draws(tmp_path):
    colours = screenshot(tmp_path)
    assert colours > 20, f"only {colours} colours: the window is blank"


def test_editor_draws_a_live_set_without_panicking(tmp_path):
    # 16 s of the demo: the anchor (bars 1-3 at 100 BPM) and the first capture (bar 6) are
    # playing, so track rows, waveform lanes, the cycle ring and onsets are being drawn live.
    colours = screenshot(tmp_path, demo_secs=16)
    assert colours > 20, f"only {colours} colours: the window is blank"


def test_the_stage_set_plays_in_the_real_standalone_without_an_allocation_or_panic(tmp_path):
    # 32 s of the stage script, in the debug build (whose audio thread aborts on any
    # allocation): seven loops, one at half speed, a mute repeating on a loop's tile, a take
    # recording. Its per-loop trigger once made the loop board allocate on the audio thread.
    colours = screenshot(tmp_path, demo_secs=32, script="stage")
    assert colours > 20, f"only {colours} colours: the window is blank"
