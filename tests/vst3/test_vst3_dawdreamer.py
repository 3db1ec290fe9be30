"""The built VST3 in a real host (DawDreamer): a recorded loop plays back, sample by sample.

Needs the bundle: `cargo xtask bundle loopmate` (or set LOOPMATE_VST3). The debug bundle has
nice-plug's allocation checker on, so this also proves process() never allocates under VST3.

Scenario: test tones play; note 47 at s0 starts the first take, note 47 at s1 stops it; the input
goes silent at s1, so from s1 on the main output is the loop alone: x[s0 + i] for i < L - B, then
the seam crossfade of the take's end into the pre-roll before s0 over B = 50 ms.
"""

import os
from pathlib import Path

import numpy as np
import pytest

daw = pytest.importorskip("dawdreamer", reason="pip install dawdreamer")

RATE = 48_000
BLOCK = 128
BLEND = 2_400  # 50 ms at 48 kHz
RECORD, UNDO = 47, 27
# Presses at exact sample positions. DawDreamer places MIDI at sample offsets inside its blocks;
# the positions are deliberately not block multiples, so a block-quantized host would fail here.
S0 = 10_007
S1 = S0 + 62_411


def bundle_path() -> Path:
    default = Path(__file__).resolve().parents[2] / "target" / "bundled" / "Loopmate.vst3"
    path = Path(os.environ.get("LOOPMATE_VST3", default))
    if not path.exists():
        pytest.fail(f"{path} not found: run `cargo xtask bundle loopmate` first")
    return path


def tones(frames: int, silent_from: int) -> np.ndarray:
    """Gliding tones plus a little deterministic noise; silent from `silent_from` on."""
    t = np.arange(frames) / RATE
    rng = np.random.default_rng(7)
    left = 0.25 * np.sin(2 * np.pi * t * (220 + 12.5 * t)) + 0.02 * rng.uniform(-1, 1, frames)
    right = 0.2 * np.sin(2 * np.pi * t * (330 + 20 * t)) + 0.02 * rng.uniform(-1, 1, frames)
    audio = np.stack([left, right]).astype(np.float32)
    audio[:, silent_from:] = 0.0
    return audio


def render(audio: np.ndarray, presses: list[tuple[int, int]], bpm: float | None = None):
    engine = daw.RenderEngine(RATE, BLOCK)
    if bpm is not None:
        engine.set_bpm(bpm)
    plugin = engine.make_plugin_processor("loopmate", str(bundle_path()))
    assert plugin.get_num_input_channels() == 2
    assert plugin.get_num_output_channels() == 4, "main stereo + Headphones stereo"
    # These tests are about the exact press-to-press anchor: onset quantization off (its own
    # tests are in src/engine/tests/quantize.rs). "Off" is the first choice: normalized 0.
    quantize = [p["index"] for p in plugin.get_parameters_description() if p["name"] == "Quantize"]
    assert quantize, "the Quantize parameter exists"
    plugin.set_parameter(quantize[0], 0.0)
    for at, note in presses:
        plugin.add_midi_note(note, 100, at / RATE, 0.01)
    playback = engine.make_playback_processor("input", audio)
    engine.load_graph([(playback, []), (plugin, ["input"])])
    engine.render(audio.shape[1] / RATE)
    out = engine.get_audio()
    return out[:, : audio.shape[1]]


def expected_loop(x: np.ndarray, s0: int = S0, s1: int = S1) -> np.ndarray:
    """The loop a take of [s0, s1) makes: its end crossfaded into the pre-roll over BLEND."""
    length = s1 - s0
    loop = x[:, s0:s1].astype(np.float64).copy()
    j = np.arange(BLEND)
    w = (j + 1) / (BLEND + 1)
    loop[:, length - BLEND :] = x[:, s1 - BLEND : s1] * (1 - w) + x[:, s0 - BLEND : s0] * w
    return loop


def test_a_recorded_loop_plays_back_from_the_stop_with_its_exact_length():
    frames = S1 + 3 * (S1 - S0)
    x = tones(frames, S1)
    out = render(x, [(S0, RECORD), (S1, RECORD)])
    main, phones = out[:2], out[2:]
    # Before the stop: the input, monitored.
    np.testing.assert_allclose(main[:, :S1], x[:, :S1], atol=1e-6)
    # From the stop: the loop, with period L = S1 - S0 exactly.
    loop = expected_loop(x)
    length = S1 - S0
    for cycle in range(3):
        start = S1 + cycle * length
        got = main[:, start : start + length]
        np.testing.assert_allclose(got, loop[:, : got.shape[1]], atol=1e-5, err_msg=f"cycle {cycle}")
    np.testing.assert_array_equal(phones, main)


def test_undo_fades_the_loop_out():
    frames = S1 + 2 * (S1 - S0)
    x = tones(frames, S1)
    undo_at = S1 + 30_011
    out = render(x, [(S0, RECORD), (S1, RECORD), (undo_at, UNDO)])
    main = out[:2]
    assert np.abs(main[:, S1:undo_at]).max() > 0.1, "the loop played"
    assert np.abs(main[:, undo_at + BLEND :]).max() == 0.0, "silent after the fade"


def test_host_tempo_does_not_change_free_looping():
    frames = S1 + 2 * (S1 - S0)
    x = tones(frames, S1)
    plain = render(x, [(S0, RECORD), (S1, RECORD)])
    at_97_bpm = render(x, [(S0, RECORD), (S1, RECORD)], bpm=97.0)
    np.testing.assert_array_equal(plain, at_97_bpm)
