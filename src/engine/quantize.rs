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
//! Realtime: everything here runs on the audio thread; it reads the snapshot (wait-free) and
//! copies at most the window's audio from the history. Only in offline mode does it wait.

use super::Engine;
use super::action::Action;
use super::cycle::{WholeBeats, round_to_beats};
use super::session_event::SessionEvent;
pub use super::settings::QuantizeMode;
use super::settings::{RenderMode, ms_to_samples};
use super::status::EngineMessage;
use crate::analysis::snapshot::{AnalysisSnapshot, TimedOnset};
use crate::analysis::worker::TempoRequest;

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

/// The strongest onset near `press_samples` (score: strength, weighted down with distance to
/// `EDGE_WEIGHT` at the window's edge), as an absolute sample time.
pub fn best_onset(onsets: &[TimedOnset], press_samples: u64, window_samples: u64) -> Option<u64> {
    let press = press_samples as f64;
    let window = window_samples.max(1) as f64;
    onsets
        .iter()
        .filter(|onset| (onset.time_samples - press).abs() <= window)
        .map(|onset| {
            let distance = (onset.time_samples - press).abs() / window;
            let weight = 1.0 - (1.0 - EDGE_WEIGHT) * distance * distance;
            (f64::from(onset.strength) * weight, onset.time_samples)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, time)| time.round().max(0.0) as u64)
}

/// What the engine keeps about quantization.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QuantizeState {
    /// Id of the last on-demand tempo request.
    pub request_id: u64,
    /// A stop (absolute samples, now or past when it came) waiting for the start's decision.
    pub deferred_stop_samples: Option<u64>,
    /// The last anchor beat quantization made: it describes the anchor while the cycle has its
    /// length (a later anchor of another length, or none, leaves it aside; redo brings it back).
    pub anchor_beats: Option<WholeBeats>,
}

impl Engine {
    /// Whether record boundaries follow the analysis at all: not while the take follows the
    /// host's bar lines (host sync), which are its boundaries instead.
    fn analysis_quantizes(&self) -> bool {
        self.shared.analysis.is_some()
            && self.shared.sync_grid().is_none()
            && self.shared.settings.quantize_mode != QuantizeMode::Off
    }

    /// Whether a free anchor's stop is quantized (with an anchor, stops snap to the cycle).
    fn quantizing_stop(&self) -> bool {
        self.analysis_quantizes() && self.shared.cycle.is_none()
    }

    fn window_samples(&self) -> u64 {
        ms_to_samples(ONSET_WINDOW_MS, self.shared.config.sample_rate_hz) as u64
    }

    /// When the decision about a press at `press` can be made.
    fn decision_time(&self, press: u64) -> u64 {
        let latency = self
            .shared
            .analysis
            .as_ref()
            .map_or(0, |link| link.detection_latency_samples);
        press
            + self.window_samples()
            + latency
            + ms_to_samples(WORKER_MARGIN_MS, self.shared.config.sample_rate_hz) as u64
    }

    /// Hook after a take started at a press away from any cycle boundary (with or without an
    /// anchor): schedules the start's decision.
    pub(super) fn quantize_start_pressed(&mut self, press: u64) {
        if self.analysis_quantizes()
            && self.shared.settings.quantize_mode.onsets()
            && self.take.is_some()
        {
            let at = self.decision_time(press);
            self.shared
                .schedule_action(at, Action::QuantizeStart { press });
        }
    }

    /// Hook for a stop press with no anchor: returns true when the stop is deferred to a
    /// quantization decision (the take records on until then).
    pub(super) fn quantize_stop_pressed(&mut self, press: u64) -> bool {
        if !self.quantizing_stop() {
            return false;
        }
        if self
            .shared
            .schedule
            .iter()
            .any(|s| matches!(s.action, Action::QuantizeStop { .. }))
        {
            // Already deciding: a second press changes nothing.
            return true;
        }
        if self.shared.settings.quantize_mode.beats()
            && let (Some(take), Some(link)) = (&self.take, &mut self.shared.analysis)
        {
            self.quantize.request_id += 1;
            let _ = link.requests.push(TempoRequest {
                id: self.quantize.request_id,
                start_samples: take.start_samples(),
                end_samples: press,
            });
        }
        let at = if self.shared.settings.quantize_mode.onsets() {
            self.decision_time(press)
        } else {
            press + ms_to_samples(WORKER_MARGIN_MS, self.shared.config.sample_rate_hz) as u64
        };
        self.shared
            .schedule_action(at, Action::QuantizeStop { press });
        true
    }

    /// The snapshot, once what the decision about `press` needs is final in it: the onsets
    /// within the window (onset quantization) and the answer to the tempo request (a stop with
    /// beat quantization). Realtime: returns `Err(())` after rescheduling `action` when the
    /// worker is behind, and `Ok(None)` (decide without it) once `MAX_WAIT_MS` have passed.
    /// Offline: waits for the worker (the decision time leaves room for the feed to have sent
    /// all it needs), so the decision never depends on thread speed.
    fn final_snapshot(
        &mut self,
        press: u64,
        action: Action,
    ) -> Result<Option<AnalysisSnapshot>, ()> {
        let onsets_until = self
            .shared
            .settings
            .quantize_mode
            .onsets()
            .then(|| press + self.window_samples());
        let answer_id = (self.shared.settings.quantize_mode.beats()
            && matches!(action, Action::QuantizeStop { .. }))
        .then_some(self.quantize.request_id);
        let ready = |snapshot: &AnalysisSnapshot| {
            onsets_until.is_none_or(|until| snapshot.final_until_samples >= until)
                && answer_id.is_none_or(|id| snapshot.tempo_answer.is_some_and(|a| a.id == id))
        };
        let deadline = self.decision_time(press)
            + ms_to_samples(MAX_WAIT_MS, self.shared.config.sample_rate_hz) as u64;
        let offline = self.shared.render_mode == RenderMode::Offline;
        let Some(link) = &mut self.shared.analysis else {
            return Ok(None);
        };
        if offline {
            return Ok(link.wait_for_snapshot(ready));
        }
        let snapshot = *link.snapshot.read();
        if ready(&snapshot) {
            return Ok(Some(snapshot));
        }
        if self.shared.now_samples >= deadline {
            return Ok(None);
        }
        self.shared
            .schedule_action(self.shared.now_samples + RETRY_SAMPLES, action);
        Err(())
    }

    /// Decides a pressed start: the take moves to the best onset near the press. A stop that
    /// came meanwhile (a take shorter than the decision's delay) is applied after the move.
    pub(super) fn quantize_start(&mut self, press: u64) {
        let Ok(snapshot) = self.final_snapshot(press, Action::QuantizeStart { press }) else {
            return;
        };
        let deferred_stop = self.quantize.deferred_stop_samples.take();
        if let Some(snapshot) = snapshot
            && let Some(onset) = best_onset(snapshot.onsets(), press, self.window_samples())
            && deferred_stop.is_none_or(|stop| onset < stop)
        {
            self.move_take_start(onset);
        }
        if let Some(stop) = deferred_stop {
            self.stop_take_at(stop);
        }
    }

    /// Restarts the take at `onset` from the history; its length limit's stop moves with it.
    fn move_take_start(&mut self, onset: u64) {
        let Some(take) = self.take.take() else { return };
        let old_start = take.start_samples();
        if onset == old_start || !self.shared.history.holds(onset, self.shared.now_samples) {
            self.take = Some(take);
            return;
        }
        let mut moved = take;
        moved.restart_at(onset);
        if !moved.append_from_history(
            &self.shared.history,
            self.shared.now_samples,
            &mut self.shared.pool,
        ) {
            self.shared.say(EngineMessage::TakeOutOfStorage);
        }
        let limit = self.shared.take_limit_samples(moved.capacity_frames());
        self.take = Some(moved);
        if let Some(limit) = limit {
            // An earlier stop than the limit's (an anchor take's stop snapped ahead to a
            // boundary) stays, within the limit.
            let pending = (self.shared.schedule.iter())
                .find(|s| s.action == Action::StopTake)
                .map(|s| s.at_samples);
            let stop = match pending {
                Some(at) if at != old_start + limit => at.min(onset + limit),
                _ => onset + limit,
            };
            self.shared.schedule.cancel(|a| *a == Action::StopTake);
            self.shared
                .schedule_action(stop.max(self.shared.now_samples), Action::StopTake);
        }
    }

    /// Whether the take's start is still to be decided.
    pub(super) fn start_undecided(&self) -> bool {
        (self.shared.schedule.iter()).any(|s| matches!(s.action, Action::QuantizeStart { .. }))
    }

    /// Holds a stop at `stop_samples` (now or past) until the start is decided.
    pub(super) fn defer_stop(&mut self, stop_samples: u64) {
        self.shared.schedule.cancel(|a| *a == Action::StopTake);
        self.quantize.deferred_stop_samples = Some(stop_samples);
    }

    /// Whether a stop waits for the start's decision (further presses change nothing).
    pub(super) fn stop_deferred(&self) -> bool {
        self.quantize.deferred_stop_samples.is_some()
    }

    /// Decides a pressed stop: at the best onset near the press, the length rounded to beats.
    pub(super) fn quantize_stop(&mut self, press: u64) {
        let Ok(snapshot) = self.final_snapshot(press, Action::QuantizeStop { press }) else {
            return;
        };
        let Some(take) = &self.take else { return };
        let start = take.start_samples();
        let mode = self.shared.settings.quantize_mode;
        let mut stop = press;
        if let Some(snapshot) = &snapshot
            && mode.onsets()
            && let Some(onset) = best_onset(snapshot.onsets(), press, self.window_samples())
            && onset > start
        {
            stop = onset;
        }
        let mut whole_beats = None;
        if let Some(snapshot) = &snapshot
            && mode.beats()
        {
            // The answer is the take's own tempo, else the tempo heard up to the press (both
            // computed by the worker at the press, whatever its timing).
            let answer = snapshot
                .tempo_answer
                .filter(|answer| answer.id == self.quantize.request_id)
                .and_then(|answer| answer.bpm);
            if let Some(bpm) = answer
                && let Some(beats) = round_to_beats(
                    stop - start,
                    f64::from(bpm),
                    self.shared.config.sample_rate_hz,
                )
            {
                stop = start + beats.length_samples;
                whole_beats = Some(beats);
            }
        }
        if let Some(limit) = self.shared.take_limit_samples(take.capacity_frames()) {
            stop = stop.min(start + limit);
        }
        // Cut short by the length limit, the loop no longer holds whole beats.
        self.quantize.anchor_beats = whole_beats.filter(|b| b.length_samples == stop - start);
        self.shared
            .session
            .tell(SessionEvent::Beats(self.quantize.anchor_beats));
        self.stop_take_at(stop);
    }

    /// Drops pending decisions (the take they were about has ended or been replaced).
    pub(super) fn cancel_quantize(&mut self) {
        self.quantize.deferred_stop_samples = None;
        self.shared.schedule.cancel(|a| {
            matches!(
                a,
                Action::QuantizeStart { .. } | Action::QuantizeStop { .. }
            )
        });
    }

    /// The anchor's whole beats from beat quantization, while the cycle is that anchor's.
    pub fn anchor_beats(&self) -> Option<WholeBeats> {
        let cycle = self.shared.cycle?;
        (self.quantize.anchor_beats).filter(|beats| beats.length_samples == cycle.length_samples)
    }

    /// The anchor's tempo from beat quantization, in BPM.
    pub fn anchor_bpm(&self) -> Option<f64> {
        self.anchor_beats().map(|beats| beats.bpm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onset(time_samples: f64, strength: f32) -> TimedOnset {
        TimedOnset {
            time_samples,
            strength,
        }
    }

    #[test]
    fn the_strongest_onset_in_the_window_wins_and_distance_breaks_ties() {
        let onsets = [onset(1000.0, 1.0), onset(5000.0, 3.0), onset(20_000.0, 9.0)];
        assert_eq!(best_onset(&onsets, 3000, 12_000), Some(5000));
        let even = [onset(1000.0, 2.0), onset(5500.0, 2.0)];
        assert_eq!(best_onset(&even, 5000, 12_000), Some(5500));
        assert_eq!(best_onset(&onsets, 100_000, 12_000), None);
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
