//! Onset and beat quantization of record boundaries (behaviour spec section 2), from the
//! analysis worker's results.
//!
//! A start press away from any cycle boundary (always with no anchor; with an anchor, when it
//! is not within `lenience` of a boundary, which snaps as before) starts the take at once. At
//! `p + ONSET_WINDOW + detection latency + WORKER_MARGIN`, when every onset within
//! `+-ONSET_WINDOW` of the press `p` is final in the worker's snapshot, the take's start moves to
//! the chosen onset (refilled from the history); with an anchor it keeps its place in the cycle,
//! since a track plays at the absolute times it was recorded at. With no anchor the stop press
//! is decided the same way (and rounded to whole beats with beat quantization); an anchor
//! take's stop snaps to the cycle as before.
//!
//! The decisions are engine actions at sample times that read only final results, so they do
//! not depend on the host's block size. In realtime mode a worker that has not yet covered the
//! window (it runs far faster than real time, so only under extreme load) makes the action
//! retry, up to `MAX_WAIT_MS`, then decide without it. When rendering offline
//! ([`RenderMode::Offline`]) the action waits for the worker instead (and the feed never drops),
//! so a bounce gives the same loops whatever the threads' speeds.
//!
//! The recorder ([`super::recorder`]) holds the decisions' state and acts on them; this module
//! holds how they are made.
//!
//! Realtime: everything here runs on the audio thread; it reads the snapshot (wait-free). Only
//! in offline mode does it wait.

use super::action::Action;
pub use super::settings::QuantizeMode;
use super::settings::{RenderMode, ms_to_samples};
use super::shared::Shared;
use crate::analysis::snapshot::{AnalysisSnapshot, TimedOnset};

/// Onsets this far either side of a press are candidates, in milliseconds.
pub const ONSET_WINDOW_MS: f32 = 250.0;
/// Extra wait after the window is final, for the worker to have published it, in milliseconds.
pub const WORKER_MARGIN_MS: f32 = 50.0;
/// Longest further wait for a late worker before deciding without it, in milliseconds.
pub const MAX_WAIT_MS: f32 = 500.0;
/// Retry interval while waiting for the worker, in samples.
const RETRY_SAMPLES: u64 = 64;
/// Weight of an onset at the window's edge relative to one at the press (same strength).
const EDGE_WEIGHT: f64 = 0.5;

/// The strongest onset near `press_samples` and no later than `latest_samples` (score:
/// strength, weighted down with distance to `EDGE_WEIGHT` at the window's edge).
pub fn best_onset(
    onsets: &[TimedOnset],
    press_samples: u64,
    window_samples: u64,
    latest_samples: u64,
) -> Option<Chosen> {
    let press = press_samples as f64;
    let window = window_samples.max(1) as f64;
    onsets
        .iter()
        .filter(|onset| {
            (onset.time_samples - press).abs() <= window
                && onset.time_samples <= latest_samples as f64
        })
        .map(|onset| {
            let distance = (onset.time_samples - press).abs() / window;
            let weight = 1.0 - (1.0 - EDGE_WEIGHT) * distance * distance;
            (f64::from(onset.strength) * weight, onset)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, onset)| Chosen {
            time_samples: onset.time_samples.round().max(0.0) as u64,
            strength: onset.strength,
        })
}

/// An onset a decision chose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chosen {
    /// Its attack, in absolute samples.
    pub time_samples: u64,
    /// Its strength (onset envelope height).
    pub strength: f32,
}

/// A stop press's closing attack is taken from before the press alone (no wait for the window's
/// later half) when it is at least this fraction as strong as the loop's opening attack: the
/// player pressed late, after the downbeat that closes the loop.
pub const LATE_ATTACK_FRACTION: f32 = 0.5;

/// The closing attack of a late stop press: the best onset in the window before the press, when
/// it is at least [`LATE_ATTACK_FRACTION`] as strong as the loop's `opening` attack.
pub fn late_attack(
    onsets: &[TimedOnset],
    press_samples: u64,
    window_samples: u64,
    opening: Chosen,
) -> Option<Chosen> {
    best_onset(onsets, press_samples, window_samples, press_samples)
        .filter(|closing| closing.strength >= LATE_ATTACK_FRACTION * opening.strength)
}

/// Whether record boundaries follow the analysis at all: not while the take follows the host's
/// bar lines (host sync), which are its boundaries instead.
pub fn analysis_quantizes(shared: &Shared) -> bool {
    shared.analysis.is_some()
        && shared.sync_grid().is_none()
        && shared.settings.quantize_mode != QuantizeMode::Off
}

/// Onsets this far either side of a press are candidates, in samples.
pub fn window_samples(shared: &Shared) -> u64 {
    ms_to_samples(ONSET_WINDOW_MS, shared.config.sample_rate_hz) as u64
}

/// When the decision about a press at `press` can be made: once every onset within the window
/// is final.
pub fn decision_time(shared: &Shared, press: u64) -> u64 {
    ready_time(shared, press + window_samples(shared))
}

/// When a stop press's closing attack can be looked for before the press alone (a late press):
/// once the onsets up to the press are final.
pub fn late_press_time(shared: &Shared, press: u64) -> u64 {
    ready_time(shared, press)
}

/// When the worker has published every onset before `onsets_until` (in absolute samples).
fn ready_time(shared: &Shared, onsets_until: u64) -> u64 {
    let latency = (shared.analysis.as_ref()).map_or(0, |link| link.detection_latency_samples);
    onsets_until + latency + ms_to_samples(WORKER_MARGIN_MS, shared.config.sample_rate_hz) as u64
}

/// Whether a decision can be made now.
// Returned by value once per decision and never stored; boxing the snapshot would allocate on
// the audio thread.
#[allow(clippy::large_enum_variant)]
pub enum Readiness {
    /// Decide with these results (`None`: without the analysis).
    Ready(Option<AnalysisSnapshot>),
    /// The worker is behind: the decision's action was scheduled again.
    Retrying,
}

/// The snapshot, once what the decision about `press` needs is final in it: the onsets before
/// `onsets_until` (onset quantization) and the answer to the tempo request `request_id` (a stop
/// with beat quantization). Realtime: returns `Retrying` after rescheduling `action` when the worker is
/// behind, and `Ready(None)` (decide without it) once `MAX_WAIT_MS` have passed. Offline: waits
/// for the worker (the decision time leaves room for the feed to have sent all it needs), so
/// the decision never depends on thread speed.
pub fn final_snapshot(
    shared: &mut Shared,
    press: u64,
    onsets_until: u64,
    action: Action,
    request_id: u64,
) -> Readiness {
    let mode = shared.settings.quantize_mode;
    let onsets_until = mode.onsets().then_some(onsets_until);
    let answer_id =
        (mode.beats() && matches!(action, Action::QuantizeStop { .. })).then_some(request_id);
    let ready = |snapshot: &AnalysisSnapshot| {
        onsets_until.is_none_or(|until| snapshot.final_until_samples >= until)
            && answer_id.is_none_or(|id| snapshot.tempo_answer.is_some_and(|a| a.id == id))
    };
    snapshot_when(shared, press, action, ready)
}

/// The snapshot once `ready` holds for it (the waits of [`final_snapshot`]: retrying `action`
/// in realtime up to `MAX_WAIT_MS` past the decision time for `press`, waiting offline).
pub fn snapshot_when(
    shared: &mut Shared,
    press: u64,
    action: Action,
    ready: impl Fn(&AnalysisSnapshot) -> bool,
) -> Readiness {
    let deadline = decision_time(shared, press)
        + ms_to_samples(MAX_WAIT_MS, shared.config.sample_rate_hz) as u64;
    let offline = shared.render_mode == RenderMode::Offline;
    let Some(link) = &mut shared.analysis else {
        return Readiness::Ready(None);
    };
    if offline {
        return Readiness::Ready(link.wait_for_snapshot(ready));
    }
    let snapshot = *link.snapshot.read();
    if ready(&snapshot) {
        return Readiness::Ready(Some(snapshot));
    }
    if shared.now_samples >= deadline {
        return Readiness::Ready(None);
    }
    shared.schedule_action(shared.now_samples + RETRY_SAMPLES, action);
    Readiness::Retrying
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cycle::round_to_beats;

    fn onset(time_samples: f64, strength: f32) -> TimedOnset {
        TimedOnset {
            time_samples,
            strength,
        }
    }

    #[test]
    fn the_strongest_onset_in_the_window_wins_and_distance_breaks_ties() {
        let onsets = [onset(1000.0, 1.0), onset(5000.0, 3.0), onset(20_000.0, 9.0)];
        let time = |chosen: Option<Chosen>| chosen.map(|c| c.time_samples);
        assert_eq!(
            time(best_onset(&onsets, 3000, 12_000, u64::MAX)),
            Some(5000)
        );
        let even = [onset(1000.0, 2.0), onset(5500.0, 2.0)];
        assert_eq!(time(best_onset(&even, 5000, 12_000, u64::MAX)), Some(5500));
        assert_eq!(time(best_onset(&onsets, 100_000, 12_000, u64::MAX)), None);
        // Up to a time: the later half of the window is left out.
        assert_eq!(time(best_onset(&onsets, 3000, 12_000, 3000)), Some(1000));
    }

    #[test]
    fn a_late_attack_needs_half_the_opening_strength() {
        let onsets = [onset(1000.0, 1.0), onset(4000.0, 9.0)];
        let opening = |strength| Chosen {
            time_samples: 0,
            strength,
        };
        let late = |strength| late_attack(&onsets, 3000, 12_000, opening(strength));
        assert_eq!(late(2.0).map(|c| c.time_samples), Some(1000));
        assert_eq!(late(2.1), None);
    }

    #[test]
    fn lengths_round_to_whole_beats_and_refine_the_tempo() {
        let beats = round_to_beats(189_600, 120.0, 48_000.0).unwrap();
        assert_eq!((beats.length_samples, beats.beats), (192_000, 8));
        assert!((beats.bpm - 120.0).abs() < 1e-9);
        let one = round_to_beats(1000, 120.0, 48_000.0).unwrap();
        assert_eq!((one.length_samples, one.beats), (24_000, 1));
        assert_eq!(round_to_beats(1000, f64::NAN, 48_000.0), None);
    }
}
