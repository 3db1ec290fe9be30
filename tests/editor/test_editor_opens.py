"""The real editor window opens under Xvfb, draws text, and the program does not panic.

Runs tests/editor/screenshot.sh (the standalone with the dummy audio backend) and checks the
screenshot is a real picture (many colours: anti-aliased text and buttons), not a blank window.
"""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_editor_opens_and_draws(tmp_path):
    binary = ROOT / "target" / "debug" / "loopmate"
    assert binary.exists(), f"{binary} missing: run `cargo build --bin loopmate` first"
    shot = tmp_path / "editor.png"
    result = subprocess.run(
        [str(ROOT / "tests" / "editor" / "screenshot.sh"), str(shot)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert shot.exists() and shot.stat().st_size > 2_000
    colours = subprocess.run(
        ["identify", "-format", "%k", str(shot)], capture_output=True, text=True, check=True
    ).stdout
    assert int(colours) > 20, f"only {colours} colours: the window is blank"
