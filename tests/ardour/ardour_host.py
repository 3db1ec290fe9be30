"""Ardour 7 (Debian's `ardour` package) as a headless test host for the Loopmate VST3.

`ardour7-lua` runs `session.lua` with Ardour's dummy audio backend: an audio track plays the test
player (`player.lua`: seeded noise keyed by the timeline sample, and note-ons at fixed timeline
samples) into Loopmate, and the master bus is exported to a 24-bit WAV. Everything lives in a
temporary HOME (the VST3 copy, Ardour's plugin cache and configuration, the session, the export).

Ardour sometimes crashes while tearing a session down, after the export is written (with no
plugin loaded too), so a run is judged by the files it wrote, never by Ardour's exit code.
"""

import os
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 48_000
HERE = Path(__file__).resolve().parent
LUA = "/usr/bin/ardour7-lua"
VST3_SCANNER = "/usr/lib/ardour7/ardour-vst3-scanner"
PRESET_ID = "7a1e0c3d-2b4f-4d6a-8e9f-4c6f6f706d62"
FORMAT_ID = "5c3b1a52-3f7e-4c8e-9a51-4c6f6f706d61"
# Notes of the default MIDI map.
RECORD = 47
# Tries of one Ardour run (see `Ardour.run`).
ATTEMPTS = 3

EXPORT_FORMAT = f"""<?xml version="1.0" encoding="UTF-8"?>
<ExportFormatSpecification name="Loopmate test WAV" id="{FORMAT_ID}" with-cue="false"
  with-toc="false" with-mp4chaps="false" command="" analyse="false" soundcloud-upload="false">
  <Encoding id="F_WAV" type="T_Sndfile" extension="wav" name="WAV" has-sample-format="true"
    channel-limit="256"/>
  <SampleRate rate="1"/>
  <SRCQuality quality="SRC_SincBest"/>
  <EncodingOptions>
    <Option name="sample-format" value="SF_24"/>
    <Option name="dithering" value="D_None"/>
    <Option name="tag-metadata" value="false"/>
    <Option name="tag-support" value="false"/>
    <Option name="broadcast-info" value="false"/>
  </EncodingOptions>
  <Processing>
    <Normalize enabled="false" loudness="no" dbfs="0" lufs="-23" dbtp="-1"/>
    <Silence>
      <Start><Trim enabled="false"/><Add enabled="false"/></Start>
      <End><Trim enabled="false"/><Add enabled="false"/></End>
    </Silence>
  </Processing>
</ExportFormatSpecification>
"""
EXPORT_PRESET = f"""<?xml version="1.0" encoding="UTF-8"?>
<ExportPreset id="{PRESET_ID}" name="Loopmate test">
  <ExportFormat id="{FORMAT_ID}"/>
  <ExportFilename>
    <Folder relative="1" path="export"/>
    <Field name="label" enabled="1"/>
    <Field name="session" enabled="0"/>
    <Field name="snapshot" enabled="0"/>
    <Field name="timespan" enabled="0"/>
    <Field name="revision" enabled="0"/>
    <Field name="time" enabled="0" value="T_None"/>
    <Field name="date" enabled="0" value="D_None"/>
  </ExportFilename>
</ExportPreset>
"""


def bundle_path() -> Path:
    default = HERE.parents[1] / "target" / "bundled" / "Loopmate.vst3"
    return Path(os.environ.get("LOOPMATE_VST3", default))


class Ardour:
    """A temporary Ardour installation in `home`: the Loopmate VST3 linked and scanned, the
    export preset, and `player.lua` with `presses` ((sample, note) pairs)."""

    def __init__(self, home: Path, presses: list[tuple[int, int]]):
        for tool in (LUA, VST3_SCANNER):
            if not Path(tool).exists():
                raise AssertionError(
                    f"{tool} not found: `apt-get install ardour` (cargo xtask test does)")
        bundle = bundle_path()
        if not bundle.exists():
            raise AssertionError(f"{bundle} not found: run `cargo xtask bundle loopmate` first")
        self.home = home
        self.env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                    "XDG_CACHE_HOME": str(home / ".cache")}
        self.vst3 = home / ".vst3" / "Loopmate.vst3"
        self.vst3.parent.mkdir()
        self.vst3.symlink_to(bundle.resolve(), target_is_directory=True)
        lua_presses = "{ " + ", ".join(f"{{ {at}, {note} }}" for at, note in presses) + " }"
        self.player = (HERE / "player.lua").read_text().replace("@PRESSES@", lua_presses)

    def _configure(self):
        """Ardour's configuration and plugin cache, anew (nothing a crashed run left in them
        carries over)."""
        config = self.home / ".config" / "ardour7"
        cache = self.home / ".cache" / "ardour7"
        shutil.rmtree(config, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
        (config / "export").mkdir(parents=True)
        (config / "export" / "loopmate-test.format").write_text(EXPORT_FORMAT)
        (config / "export" / "loopmate-test.preset").write_text(EXPORT_PRESET)
        (config / "scripts").mkdir()
        (config / "scripts" / "loopmate_test_player.lua").write_text(self.player)
        # Ardour loads only VST3s its scanner has indexed (into ~/.cache/ardour7/vst).
        scan = subprocess.run(
            [VST3_SCANNER, "-q", "-f", str(self.vst3)],
            env={**self.env, "LD_LIBRARY_PATH": "/usr/lib/ardour7"},
            capture_output=True, text=True, timeout=60,
        )
        assert any((cache / "vst").glob("*.v3i")), (
            f"the VST3 scanner indexed nothing: {scan.stdout}{scan.stderr}")

    def run(self, name: str, export_samples: int, bpm: float, params: str = "",
            change: tuple[int, float] | None = None, reopen: bool = False) -> "Run":
        """Builds (or, with `reopen`, loads) session `name` and exports [0, export_samples).
        Loopmate's nice-plug log goes to the run's `log` file.

        Ardour 7.3 corrupts its own heap now and then (about 1 run in 20 here, as often with
        no plugin loaded: it aborts while tearing down the export graph, or in the butler
        clearing automation histories), so a run that ends before its export is done is tried
        again, up to ATTEMPTS times, unless Loopmate's log or output shows a failure of its own
        (a panic, or an allocation the checker refused)."""
        session = self.home / "sessions" / name
        out = self.home / f"{name}-out"
        env = {
            **self.env,
            "LM_SESSION_DIR": str(session),
            "LM_SESSION_NAME": name,
            "LM_RATE": str(RATE),
            "LM_BPM": str(bpm),
            "LM_PARAMS": params,
            "LM_EXPORT_DIR": str(out),
            "LM_EXPORT_SAMPLES": str(export_samples),
            "LM_BARS_FILE": str(out / "bars.txt"),
            "LM_PRESET_ID": PRESET_ID,
            "LM_REOPEN": "1" if reopen else "",
            "NICE_LOG": str(out / "nice-plug.log"),
        }
        if change is not None:
            env["LM_CHANGE_BAR"], env["LM_CHANGE_BPM"] = str(change[0]), str(change[1])
        failures = []
        for _ in range(ATTEMPTS):
            self._configure()
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            if not reopen:
                shutil.rmtree(session, ignore_errors=True)
            result = subprocess.run([LUA, str(HERE / "session.lua")], env=env,
                                    capture_output=True, text=True, timeout=150)
            output = result.stdout + result.stderr
            log = out / "nice-plug.log"
            log = log.read_text() if log.exists() else ""
            if (out / "export.wav").exists() and "LM exported" in output:
                bars = np.loadtxt(out / "bars.txt", dtype=np.int64, ndmin=1)
                return Run(read_wav(out / "export.wav"), bars, output, log)
            failures.append(f"{output}\n{log}")
            assert "panic" not in log and "memory allocation of" not in output, (
                f"Loopmate failed in Ardour:\n{failures[-1]}")
            print(f"Ardour ended before its export, trying again:\n{output[-2000:]}")
        raise AssertionError("Ardour exported nothing:\n" + "\n---\n".join(failures))


@dataclass
class Run:
    """What one Ardour run left: the export (channels x frames), the bar lines (samples),
    Ardour's output and Loopmate's log."""

    audio: np.ndarray
    bars: np.ndarray
    output: str
    log: str


def read_wav(path: Path) -> np.ndarray:
    """A 24-bit PCM WAV as float64 channels x frames."""
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 3, "the export preset writes 24-bit PCM"
        frames, channels = w.getnframes(), w.getnchannels()
        raw = np.frombuffer(w.readframes(frames), dtype=np.uint8).reshape(-1, 3).astype(np.int32)
    value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
    value = (value << 8) >> 8  # sign-extend 24 bits
    return value.reshape(frames, channels).T / float(1 << 23)


def noise(t: np.ndarray, channel: int) -> np.ndarray:
    """The test player's signal at timeline samples `t` on channel 1 or 2 (player.lua)."""
    mask = np.uint64(0xFFFFFFFF)
    h = (t.astype(np.uint64) * np.uint64(2654435761) + np.uint64(channel * 40503 + 12345)) & mask
    h = ((h ^ (h >> np.uint64(15))) * np.uint64(2246822519)) & mask
    h = ((h ^ (h >> np.uint64(13))) * np.uint64(3266489917)) & mask
    h = h ^ (h >> np.uint64(16))
    value = ((h >> np.uint64(8)).astype(np.float64) / 16777216.0 - 0.5) * 0.5
    return value.astype(np.float32).astype(np.float64)


# A loop plays the player's samples back: a stretch of the export equal to the player's signal
# from timeline sample s on is "playing s". Samples equal to within 2 LSB of the 24-bit export
# count as the same (Loopmate passes them through; only the WAV rounds them).
TOLERANCE = 2.0 / (1 << 23)
# Samples per lookup key: the signs of this many consecutive samples of channel 1.
KEY_SAMPLES = 48


@dataclass
class Segment:
    """A stretch of the export that plays the player's signal delayed by `delay` samples:
    export[t] == player[t - delay] for every t in [start, end)."""

    start: int
    end: int
    delay: int


def _sign_keys(x: np.ndarray) -> np.ndarray:
    bits = (x > 0).astype(np.uint64)
    count = len(x) - KEY_SAMPLES + 1
    keys = np.zeros(max(count, 0), dtype=np.uint64)
    for j in range(KEY_SAMPLES):
        keys |= bits[j : j + count] << np.uint64(j)
    return keys


def player_signal(frames: int) -> np.ndarray:
    t = np.arange(frames)
    return np.stack([noise(t, 1), noise(t, 2)])


def segments(audio: np.ndarray) -> list[Segment]:
    """Where the export plays the player's signal, and from which timeline samples."""
    frames = audio.shape[1]
    player = player_signal(frames)
    player_keys = _sign_keys(player[0])
    order = np.argsort(player_keys, kind="stable")
    sorted_keys = player_keys[order]
    keys = _sign_keys(audio[0])
    found = np.minimum(np.searchsorted(sorted_keys, keys), len(order) - 1)
    source = np.where(sorted_keys[found] == keys, order[found], -1)
    # Silence (all-zero keys) is no match.
    source[np.abs(audio[0, : len(source)]) < TOLERANCE] = -1
    t = np.arange(len(source))
    delay = np.where(source >= 0, t - source, np.iinfo(np.int64).min)
    result: list[Segment] = []
    # Runs of windows with one delay; each is then trimmed to its exactly equal samples.
    edges = np.flatnonzero(np.diff(delay) != 0) + 1
    for run_start, run_end in zip(np.r_[0, edges], np.r_[edges, len(delay)]):
        d = int(delay[run_start])
        if source[run_start] < 0 or run_end - run_start < KEY_SAMPLES:
            continue
        span = np.arange(run_start, min(run_end + KEY_SAMPLES - 1, frames))
        exact = np.all(np.abs(audio[:, span] - player[:, span - d]) <= TOLERANCE, axis=0)
        # The longest exact stretch of the run.
        padded = np.r_[False, exact, False].astype(np.int8)
        starts = np.flatnonzero(np.diff(padded) == 1)
        ends = np.flatnonzero(np.diff(padded) == -1)
        if len(starts) == 0:
            continue
        best = int(np.argmax(ends - starts))
        result.append(Segment(int(span[starts[best]]), int(span[ends[best] - 1]) + 1, d))
    return result
