//! Onset and beat quantization of record boundaries (behaviour spec section 2), from the
//! analysis worker's results.
//!
//! With no anchor, a press at `p` is decided at `p + ONSET_WINDOW + detection latency +
//! WORKER_MARGIN`, when every onset within `+-ONSET_WINDOW` of `p` is final in the worker's
//! snapshot. The take has been recording since the press; the decision moves its start to the
//! chosen onset (refilled from the history), or ends it at the chosen stop in the past. The
//! decision is an engine action at a sample time that reads only final onsets, so it does not
//! depend on the host's block size; if the worker has not yet covered the window (it runs far
//! faster than real time, so only under extreme load) the action waits, up to `MAX_WAIT_SECS`.
//!
//! Realtime: everything here runs on the audio thread; it reads the snapshot (wait-free) and
//! copies at most the window's audio from the history.

use super::take::Take;
use super::{Action, Engine, ms_to_samples};
use crate::analysis::snapshot::{AnalysisSnapshot, TimedOnset};
use crate::analysis::worker::TempoRequest;

/// How record boundaries of the anchor follow the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantizeMode {
    /// Presses act where they are.
    Off,
    /// Start and stop snap to the strongest nearby onset.
    Onset,
    /// The anchor length is rounded to a whole number of beats.
    Beat,
    /// Both.
    OnsetBeat,
}

impl QuantizeMode {
    /// Whether boundaries snap to onsets.
    pub fn onsets(self) -> bool {
        matches!(self, Self::Onset | Self::OnsetBeat)
    }

    /// Whether the anchor length is rounded to beats.
    pub fn beats(self) -> bool {
        matches!(self, Self::Beat | Self::OnsetBeat)
    }
}

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

/// A length of `length_samples` rounded to a whole number of beats at `bpm` (at least one), and
/// the tempo refined so that the loop holds exactly that many beats.
pub fn round_to_beats(length_samples: u64, bpm: f64, sample_rate_hz: f32) -> Option<(u64, f64)> {
    if !(bpm.is_finite() && bpm > 0.0) {
        return None;
    }
    let beat = 60.0 * f64::from(sample_rate_hz) / bpm;
    let beats = (length_samples as f64 / beat).round().max(1.0);
    let rounded = (beats * beat).round() as u64;
    let refined_bpm = beats * 60.0 * f64::from(sample_rate_hz) / rounded as f64;
    Some((rounded, refined_bpm))
}

/// What the engine keeps about a pending quantization.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QuantizeState {
    /// Id of the last on-demand tempo request.
    pub request_id: u64,
    /// The anchor's tempo after beat quantization, in BPM.
    pub anchor_bpm: Option<f64>,
}

impl Engine {
    fn quantizing(&self) -> bool {
        // Following the host, the anchor's boundaries are the host's bar lines instead.
        self.analysis.is_some()
            && self.cycle.is_none()
            && self.sync_grid().is_none()
            && self.settings.quantize_mode != QuantizeMode::Off
    }

    fn window_samples(&self) -> u64 {
        ms_to_samples(ONSET_WINDOW_MS, self.config.sample_rate_hz) as u64
    }

    /// When the decision about a press at `press` can be made.
    fn decision_time(&self, press: u64) -> u64 {
        let latency = self
            .analysis
            .as_ref()
            .map_or(0, |link| link.detection_latency_samples);
        press
            + self.window_samples()
            + latency
            + ms_to_samples(WORKER_MARGIN_MS, self.config.sample_rate_hz) as u64
    }

    /// Hook after a take started at a press with no anchor: schedules the start's decision.
    pub(super) fn quantize_start_pressed(&mut self, press: u64) {
        if self.quantizing() && self.settings.quantize_mode.onsets() && self.take.is_some() {
            let at = self.decision_time(press);
            self.schedule_action(at, Action::QuantizeStart { press });
        }
    }

    /// Hook for a stop press with no anchor: returns true when the stop is deferred to a
    /// quantization decision (the take records on until then).
    pub(super) fn quantize_stop_pressed(&mut self, press: u64) -> bool {
        if !self.quantizing() {
            return false;
        }
        if self
            .schedule
            .iter()
            .any(|s| matches!(s.action, Action::QuantizeStop { .. }))
        {
            // Already deciding: a second press changes nothing.
            return true;
        }
        if self.settings.quantize_mode.beats()
            && let (Some(take), Some(link)) = (&self.take, &mut self.analysis)
        {
            self.quantize.request_id += 1;
            let _ = link.requests.push(TempoRequest {
                id: self.quantize.request_id,
                start_samples: take.start_samples(),
                end_samples: press,
            });
        }
        let at = if self.settings.quantize_mode.onsets() {
            self.decision_time(press)
        } else {
            press + ms_to_samples(WORKER_MARGIN_MS, self.config.sample_rate_hz) as u64
        };
        self.schedule_action(at, Action::QuantizeStop { press });
        true
    }

    /// The snapshot, if the onsets around `press` are final in it (or waiting is over).
    /// Returns `Err(())` after rescheduling `action` when the worker is behind.
    fn final_snapshot(
        &mut self,
        press: u64,
        action: Action,
    ) -> Result<Option<AnalysisSnapshot>, ()> {
        let needed = press + self.window_samples();
        let deadline = self.decision_time(press)
            + ms_to_samples(MAX_WAIT_MS, self.config.sample_rate_hz) as u64;
        let Some(link) = &mut self.analysis else {
            return Ok(None);
        };
        let snapshot = *link.snapshot.read();
        let answered = !self.settings.quantize_mode.beats()
            || !matches!(action, Action::QuantizeStop { .. })
            || snapshot
                .tempo_answer
                .is_some_and(|answer| answer.id == self.quantize.request_id);
        if (snapshot.final_until_samples >= needed && answered) || self.now_samples >= deadline {
            return Ok(Some(snapshot));
        }
        self.schedule_action(self.now_samples + RETRY_SAMPLES, action);
        Err(())
    }

    /// Decides a pressed start: the take moves to the best onset near the press.
    pub(super) fn quantize_start(&mut self, press: u64) {
        let Ok(snapshot) = self.final_snapshot(press, Action::QuantizeStart { press }) else {
            return;
        };
        let Some(snapshot) = snapshot else { return };
        let Some(onset) = best_onset(snapshot.onsets(), press, self.window_samples()) else {
            return;
        };
        let Some(take) = self.take.take() else { return };
        if onset == take.start_samples() || !self.history.holds(onset, self.now_samples) {
            self.take = Some(take);
            return;
        }
        // Restart the take at the onset from the history (the buffer is zeroed first).
        let mut take = take;
        take.truncate_at(take.start_samples());
        let mut moved = Take::new(take.into_buffer(), onset);
        moved.append_from_history(&self.history, self.now_samples);
        let limit = self.take_limit_samples(moved.capacity_frames());
        self.take = Some(moved);
        if let Some(limit) = limit {
            self.schedule.cancel(|a| *a == Action::StopTake);
            self.schedule_action((onset + limit).max(self.now_samples), Action::StopTake);
        }
    }

    /// Decides a pressed stop: at the best onset near the press, the length rounded to beats.
    pub(super) fn quantize_stop(&mut self, press: u64) {
        let Ok(snapshot) = self.final_snapshot(press, Action::QuantizeStop { press }) else {
            return;
        };
        let Some(take) = &self.take else { return };
        let start = take.start_samples();
        let mode = self.settings.quantize_mode;
        let mut stop = press;
        if let Some(snapshot) = &snapshot
            && mode.onsets()
            && let Some(onset) = best_onset(snapshot.onsets(), press, self.window_samples())
            && onset > start
        {
            stop = onset;
        }
        if let Some(snapshot) = &snapshot
            && mode.beats()
        {
            let answer = snapshot
                .tempo_answer
                .filter(|answer| answer.id == self.quantize.request_id)
                .and_then(|answer| answer.bpm);
            if let Some(bpm) = answer.or(snapshot.bpm)
                && let Some((length, refined)) =
                    round_to_beats(stop - start, f64::from(bpm), self.config.sample_rate_hz)
            {
                stop = start + length;
                self.quantize.anchor_bpm = Some(refined);
            }
        }
        if let Some(limit) = self.take_limit_samples(take.capacity_frames()) {
            stop = stop.min(start + limit);
        }
        self.stop_take_at(stop);
    }

    /// Drops pending decisions (the take they were about has ended or been replaced).
    pub(super) fn cancel_quantize(&mut self) {
        self.schedule.cancel(|a| {
            matches!(
                a,
                Action::QuantizeStart { .. } | Action::QuantizeStop { .. }
            )
        });
    }

    /// The anchor's tempo from beat quantization, in BPM.
    pub fn anchor_bpm(&self) -> Option<f64> {
        self.quantize.anchor_bpm
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
        let (length, bpm) = round_to_beats(189_600, 120.0, 48_000.0).unwrap();
        assert_eq!(length, 192_000);
        assert!((bpm - 120.0).abs() < 1e-9);
        assert_eq!(round_to_beats(1000, 120.0, 48_000.0).unwrap().0, 24_000);
        assert_eq!(round_to_beats(1000, f64::NAN, 48_000.0), None);
    }
}
