"""The Loopmate VST3 (debug bundle: nice-plug's allocation checker on) in Ardour 7, headless.

An audio track plays the test player into Loopmate: seeded noise keyed by the timeline sample,
so each sample of the export says which timeline sample a loop recorded, and note-ons (note 47,
record toggle) at fixed timeline samples on Loopmate's MIDI input. Loopmate's monitor is at 0,
so the export of the master bus holds the loops alone. See ardour_host.py for the set-up.

Figures: every assertion message carries what was measured (the take's start and the loop's
passes against the presses or against Ardour's own bar lines, in samples).
"""

import re
from dataclasses import dataclass

import numpy as np
import pytest

from ardour_host import RATE, RECORD, Ardour, Run, segments

BLEND = 2_400  # Loopmate's default blend (50 ms): the last samples of every pass are a seam
# Onset quantization off so a free take runs exactly press to press (it has its own tests),
# monitor at 0 so the export holds the loops only.
FREE = "Quantize=0;Monitor=0"
# Host sync, bars "auto".
HOST = FREE + ";Sync=1;Bars=0"


@dataclass
class Loop:
    """A loop as the export plays it (timeline samples)."""

    # Where its take started: the earliest timeline sample any pass plays.
    take_start: int
    # Its length: a whole pass's exactly played samples plus the seam.
    length: int
    # Where each pass has the loop's first sample, found from any exactly played stretch of
    # the pass (fades at a pass's edges do not move it).
    pass_starts: list[int]
    # Where each pass's exactly played samples end.
    pass_ends: list[int]


def measure(run: Run) -> Loop:
    found = segments(run.audio)
    assert found, "the export holds no loop"
    take_start = min(segment.start - segment.delay for segment in found)
    first = found[0]
    return Loop(
        take_start=take_start,
        length=first.end - first.delay + BLEND - take_start,
        pass_starts=[take_start + segment.delay for segment in found],
        pass_ends=[segment.end for segment in found],
    )


def bar_samples(bpm: float) -> float:
    return 4 * 60 * RATE / bpm


def test_a_free_loop_in_ardour_is_exactly_the_time_between_the_presses(tmp_path):
    # Presses off Ardour's block grid (1024-sample blocks when exporting).
    press, stop = 100_003, 250_014
    length = stop - press
    frames = stop + 8 * length + length // 2
    run = Ardour(tmp_path, [(press, RECORD), (stop, RECORD)]).run("free", frames, 120.0, FREE)
    loop = measure(run)
    expected = [stop + k * length for k in range(9)]
    figures = (f"take start {loop.take_start} (press {press}), length {loop.length} "
               f"(presses {length} apart), pass starts minus expected "
               f"{np.subtract(loop.pass_starts, expected[: len(loop.pass_starts)]).tolist()}")
    assert loop.take_start == press, figures
    assert loop.length == length, figures
    assert loop.pass_starts == expected, figures
    assert loop.pass_ends[-1] == frames, "the loop plays to the end of the export"


def assert_on_the_bars(run: Run, loop: Loop, bars_per_loop: int, first_bar: int, bar: float):
    """The take starts on bar `first_bar`, is `bars_per_loop` bars of `bar` samples (rounded
    either way), and every pass starts within 1 sample of the bar line Ardour puts there, to the
    export's end. Ardour's bar lines are the samples its tempo map gives, which truncates: at
    140 BPM bar 1 (82 285.71) is sample 82 285."""
    lines = run.bars
    expected = lines[first_bar + bars_per_loop :: bars_per_loop]
    errors = np.subtract(loop.pass_starts, expected[: len(loop.pass_starts)])
    figures = (f"take start {loop.take_start - lines[first_bar]:+d} samples from bar "
               f"{first_bar} ({lines[first_bar]}), length {loop.length} "
               f"({loop.length - bars_per_loop * bar:+.2f} from {bars_per_loop} bars), "
               f"{len(loop.pass_starts)} of {len(expected)} passes, pass start errors "
               f"{errors.tolist()} (max {np.abs(errors).max()})")
    print(figures)
    assert loop.take_start == lines[first_bar], figures
    assert abs(loop.length - bars_per_loop * bar) < 1, figures
    assert len(loop.pass_starts) == len(expected), figures
    assert np.abs(errors).max() <= 1, figures


def record_two_bars(tmp_path, bpm: float, frames: int, change=None) -> Run:
    """Host sync: a press 2000 samples (42 ms, within the lenience) after bar 1 starts the take
    on bar 1; a stop press 1.8 bars later makes it 2 bars ("auto"), ending on bar 3."""
    bar = bar_samples(bpm)
    presses = [(int(bar) + 2_000, RECORD), (int(2.8 * bar), RECORD)]
    return Ardour(tmp_path, presses).run("host", frames, bpm, HOST, change=change)


@pytest.mark.parametrize("bpm", [90.0, 140.0])
def test_a_host_synced_loop_in_ardour_starts_on_a_bar_line_and_stays_on_the_bars(tmp_path, bpm):
    bar = bar_samples(bpm)
    # About a minute: the last pass is cut half-way by the export's end.
    passes = round(60 * RATE / (2 * bar))
    frames = int((1 + 2 * passes + 1) * bar)
    run = record_two_bars(tmp_path, bpm, frames)
    assert_on_the_bars(run, measure(run), 2, 1, bar)


def test_a_host_synced_loop_in_ardour_follows_a_tempo_change(tmp_path):
    # 90 BPM, then 120 BPM from bar 5 (after the loop's first two passes).
    frames = int(5 * bar_samples(90.0) + 16.5 * bar_samples(120.0))
    run = record_two_bars(tmp_path, 90.0, frames, change=(5, 120.0))
    loop = measure(run)
    assert_on_the_bars(run, loop, 2, 1, bar_samples(90.0))
    # At 120 BPM the 2-bar loop is cut to 2 of the new bars.
    cut = round(2 * bar_samples(120.0))
    after = [end - start for start, end in zip(loop.pass_starts, loop.pass_ends)
             if start >= run.bars[5]]
    assert after and max(after) <= cut, f"passes after the change play {after} samples"


def test_reopening_an_ardour_project_with_every_parameter_moved_does_not_allocate(tmp_path):
    ardour = Ardour(tmp_path, [])
    saved = ardour.run("reopen", RATE, 120.0, "off_default")
    assert "LM saved" in saved.output, saved.output
    moved = re.search(r"LM moved parameters off their defaults: (\d+)", saved.output)
    assert moved and int(moved[1]) > 0, saved.output
    # The debug bundle aborts Ardour on any allocation in process() (then nothing is exported);
    # nice-plug logs the one it permits when the host sends more events than its queue holds.
    reopened = ardour.run("reopen", RATE, 120.0, reopen=True)
    assert "LM parameters at their default: 0" in reopened.output, reopened.output
    for run in (saved, reopened):
        assert "buffer filled up" not in run.log, run.log
        assert "panic" not in run.log, run.log
