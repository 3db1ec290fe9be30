//! A scripted performance for trying Loopmate without an instrument (`loopmate --demo`): a
//! synthesized player (drums, then bass, then plucked chords, then a shaker, at 100 BPM) and the
//! pedal presses that loop each part. Only the standalone turns it on; it replaces the input.
//!
//! Realtime: `DemoPlayer::input` and `DemoPlayer::presses_in` run on the audio thread and never
//! allocate.

use std::f64::consts::TAU;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::engine::command::{Command, Select, TrackControl, selected};
use crate::engine::dub::DubKind;

/// Set once by the standalone before the plugin starts.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns the demo on for this process (the standalone's `--demo`).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether the demo replaces the input.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The demo's tempo in beats per minute.
const BPM: f64 = 100.0;
/// Beats in one bar.
const BEATS_PER_BAR: f64 = 4.0;

/// The player's parts, one per section of `SECTION_BARS` bars, played in turn and then repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Drums,
    Bass,
    Chords,
    Shaker,
}

/// Bars each part is played before the next one starts.
const SECTION_BARS: f64 = 3.0;

/// Pedal presses, in bars from the start: each part is looped for two bars once it has played
/// for a bar (the first take makes the two-bar anchor; a capture takes the last cycle); then
/// the anchor is selected and the drums, played again, are overdubbed onto it for two bars, and
/// the chords' loop goes to half speed.
const PRESSES: [(f64, Command); 10] = [
    (1.0, Command::RecordToggle),
    (3.0, Command::RecordToggle),
    (6.0, Command::Capture),
    (9.0, Command::Capture),
    (12.0, Command::Capture),
    (13.0, Command::Select(Select::Loop(0))),
    (15.0, Command::Dub(DubKind::Overdub)),
    (17.0, Command::Dub(DubKind::Overdub)),
    (18.0, Command::Select(Select::Loop(2))),
    (18.5, selected(TrackControl::HalveSpeed)),
];

/// The synthesized player.
#[derive(Debug, Clone, Copy)]
pub struct DemoPlayer {
    /// Sample rate in Hz.
    sample_rate_hz: f64,
}

impl DemoPlayer {
    /// A player at `sample_rate_hz`.
    pub fn new(sample_rate_hz: f32) -> Self {
        Self {
            sample_rate_hz: f64::from(sample_rate_hz.max(1.0)),
        }
    }

    fn samples_per_bar(&self) -> f64 {
        60.0 / BPM * BEATS_PER_BAR * self.sample_rate_hz
    }

    /// What the player plays at absolute sample `t`.
    pub fn input(&self, t: u64) -> f32 {
        let secs = t as f64 / self.sample_rate_hz;
        let beats = secs * BPM / 60.0;
        let section = (beats / BEATS_PER_BAR / SECTION_BARS) as u64;
        let part = [Part::Drums, Part::Bass, Part::Chords, Part::Shaker][(section % 4) as usize];
        let beat_secs = 60.0 / BPM;
        // Time since the last beat / eighth, in seconds.
        let since_beat = beats.fract() * beat_secs;
        let since_eighth = (beats * 2.0).fract() * beat_secs / 2.0;
        let beat_in_bar = (beats % BEATS_PER_BAR) as u32;
        let noise = noise(t);
        let value = match part {
            Part::Drums if beat_in_bar.is_multiple_of(2) => {
                // Kick: a falling sine.
                let freq = 50.0 + 90.0 * (-since_beat * 30.0).exp();
                0.5 * (TAU * freq * since_beat).sin() * (-since_beat * 12.0).exp()
            }
            Part::Drums => 0.3 * noise * (-since_beat * 25.0).exp(),
            Part::Bass => {
                let notes = [55.0, 55.0, 65.41, 73.42];
                let freq = notes[beat_in_bar as usize];
                0.5 * (TAU * freq * since_beat).sin().signum() * 0.4 * (-since_beat * 4.0).exp()
            }
            Part::Chords => {
                let chord = [220.0, 277.18, 329.63];
                chord
                    .iter()
                    .map(|freq| (TAU * freq * since_eighth).sin())
                    .sum::<f64>()
                    * 0.12
                    * (-since_eighth * 9.0).exp()
            }
            Part::Shaker => 0.2 * noise * (-since_eighth * 40.0).exp(),
        };
        value as f32
    }

    /// The presses due in `[from, from + frames)`, as (offset in samples, command).
    pub fn presses_in(&self, from: u64, frames: usize) -> impl Iterator<Item = (u32, Command)> {
        let bar = self.samples_per_bar();
        PRESSES.into_iter().filter_map(move |(bars, command)| {
            let at = (bars * bar).round() as u64;
            (from..from + frames as u64)
                .contains(&at)
                .then(|| ((at - from) as u32, command))
        })
    }
}

/// Deterministic white noise in -1..1.
fn noise(t: u64) -> f64 {
    let mut h = t.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 31;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 29;
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_press_comes_once_whatever_the_block_size() {
        let player = DemoPlayer::new(48_000.0);
        let bar = player.samples_per_bar().round() as u64;
        let presses = |block: usize| {
            (0..)
                .map(|n| n * block as u64)
                .take_while(|&start| start < 20 * bar)
                .flat_map(|start| {
                    player
                        .presses_in(start, block)
                        .map(move |(offset, command)| (start + u64::from(offset), command))
                })
                .collect::<Vec<_>>()
        };
        let at_512 = presses(512);
        assert_eq!(at_512.len(), PRESSES.len());
        assert_eq!(at_512, presses(97));
        assert_eq!(at_512[0].0, bar);
    }

    #[test]
    fn the_player_is_audible_and_bounded() {
        let player = DemoPlayer::new(44_100.0);
        let peak = (0..44_100 * 30)
            .step_by(7)
            .map(|t| player.input(t).abs())
            .fold(0.0f32, f32::max);
        assert!(peak > 0.2 && peak <= 1.0, "peak {peak}");
    }
}
