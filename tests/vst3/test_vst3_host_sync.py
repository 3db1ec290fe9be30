"""The built VST3 in a real host (DawDreamer) with host sync: the loop follows the host's bars.

Needs the bundle: `cargo xtask bundle loopmate` (or set LOOPMATE_VST3).

Scenario: DawDreamer plays at 120 BPM in 4/4 at 48 kHz (a bar is 96 000 samples, bar 1 starts at
96 000); the Sync parameter is host (set, or automated); note 47 a quarter of a beat after bar 1
(within the 200 ms lenience) starts the first take at bar 1; note 47 2.3 bars later stops it:
"auto" makes that two bars, the take is [96 000, 288 000). The input is silent from the stop
press on, so the output is the loop, every pass starting on an odd bar: out[t] is
loop[(t - 96 000) mod 192 000]. The notes are placed in beats (DawDreamer's `beats=True`).
"""

import numpy as np
import pytest

from test_vst3_dawdreamer import RATE, RECORD, bundle_path, expected_loop, tones

daw = pytest.importorskip("dawdreamer", reason="pip install dawdreamer")

BLOCK = 128
BPM = 120.0
BAR = 96_000  # samples of a 4/4 bar at 120 BPM and 48 kHz
S0 = BAR  # bar 1
S1 = S0 + 2 * BAR
PRESS_BEATS = 4.25  # a sixteenth after bar 1
STOP_BEATS = 4 + 2.3 * 4  # 2.3 bars later
STOP = round(STOP_BEATS * RATE * 60 / BPM)
# DawDreamer turns beats into samples a few samples late; the loop's place depends only on the
# host's bars, so the check starts a block after the stop press.
CHECK_FROM = STOP + BLOCK
FRAMES = S1 + 3 * 2 * BAR + 1_000


def parameter_index(plugin, name: str) -> int:
    for description in plugin.get_parameters_description():
        if description["name"] == name:
            return description["index"]
    pytest.fail(f"no parameter named {name!r}")


def render(audio: np.ndarray, sync=None):
    """Renders with the two record notes (placed in beats); `sync(plugin, index)` sets or
    automates the Sync parameter (index `index`)."""
    engine = daw.RenderEngine(RATE, BLOCK)
    engine.set_bpm(BPM)
    plugin = engine.make_plugin_processor("loopmate", str(bundle_path()))
    # Free-mode loops here run press to press: onset quantization off ("Off" is normalized 0;
    # its own tests are in src/engine/tests/quantize.rs).
    plugin.set_parameter(parameter_index(plugin, "Quantize"), 0.0)
    if sync is not None:
        sync(plugin, parameter_index(plugin, "Sync"))
    for beats in (PRESS_BEATS, STOP_BEATS):
        plugin.add_midi_note(RECORD, 100, beats, 0.05, beats=True)
    playback = engine.make_playback_processor("input", audio)
    engine.load_graph([(playback, []), (plugin, ["input"])])
    engine.render(audio.shape[1] / RATE)
    out = engine.get_audio()
    assert out.shape[1] == audio.shape[1], "DawDreamer rendered every frame"
    return out


def assert_bar_aligned_loop(main: np.ndarray, x: np.ndarray):
    loop = expected_loop(x, S0, S1)
    t = np.arange(CHECK_FROM, FRAMES)
    np.testing.assert_allclose(main[:, CHECK_FROM:], loop[:, (t - S0) % (S1 - S0)], atol=1e-5)


def test_the_loop_is_two_bars_from_bar_one_at_the_host_tempo():
    x = tones(FRAMES, STOP)
    out = render(x, lambda plugin, index: plugin.set_parameter(index, 1.0))
    assert_bar_aligned_loop(out[:2], x)
    np.testing.assert_array_equal(out[2:], out[:2])


def test_automating_sync_to_host_before_the_take_makes_it_follow_the_bars():
    x = tones(FRAMES, STOP)
    # Free for the first half bar, host from then on (normalized: 1 = the last choice, host).
    automation = np.zeros(FRAMES, dtype=np.float32)
    automation[BAR // 2 :] = 1.0
    out = render(x, lambda plugin, index: plugin.set_automation(index, automation))
    assert_bar_aligned_loop(out[:2], x)


def test_in_free_mode_the_same_presses_make_a_loop_from_press_to_press():
    x = tones(FRAMES, STOP)
    main = render(x)[:2]
    press = round(PRESS_BEATS * RATE * 60 / BPM)
    # The loop repeats with the time between the presses (to within DawDreamer's placement of
    # the notes, a few samples), not with two bars.
    start = CHECK_FROM
    span = main[:, start : start + 100_000]
    periods = [
        length
        for length in range(STOP - press - 32, STOP - press + 33)
        if np.allclose(main[:, start + length : start + length + 100_000], span, atol=1e-6)
    ]
    assert len(periods) == 1, periods
    assert not np.allclose(main[:, start + S1 - S0 : start + S1 - S0 + 100_000], span, atol=1e-3)
