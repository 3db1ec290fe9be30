//! The fixed-size results snapshot the worker publishes (through a `triple_buffer`) for the
//! engine and the editor.

use super::online::Onset;

/// Recent onsets a snapshot holds (at most one per 30 ms: at least 3.8 s of them).
pub const SNAPSHOT_ONSETS: usize = 128;
/// Envelope values kept for display (decimated).
pub const SNAPSHOT_ENVELOPE: usize = 256;

/// An onset in absolute engine time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedOnset {
    /// Attack time in absolute engine samples (corrected for the analysis delay).
    pub time_samples: f64,
    /// Onset strength (envelope height).
    pub strength: f32,
}

impl TimedOnset {
    /// An onset at `base_samples + onset.time_samples`.
    pub fn from_onset(base_samples: u64, onset: Onset) -> Self {
        Self {
            time_samples: base_samples as f64 + onset.time_samples,
            strength: onset.strength,
        }
    }
}

/// The answer to an on-demand tempo request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TempoAnswer {
    /// The request's id.
    pub id: u64,
    /// Tempo of the requested stretch in BPM, if it has one.
    pub bpm: Option<f32>,
}

/// What the worker knows, published after every batch of work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalysisSnapshot {
    /// Absolute engine time up to which the input has been analysed.
    pub analysed_until_samples: u64,
    /// Onsets with attack times before this absolute time are all in `onsets` (final).
    pub final_until_samples: u64,
    /// The live tempo (3 s tempogram with the prior), if there is one.
    pub bpm: Option<f32>,
    /// The most recent onsets, oldest first; `onset_count` of them are valid.
    pub onsets: [TimedOnset; SNAPSHOT_ONSETS],
    /// Valid entries of `onsets`.
    pub onset_count: usize,
    /// The latest envelope values (one per 4 frames), oldest first.
    pub envelope: [f32; SNAPSHOT_ENVELOPE],
    /// Input samples lost because the worker fell behind, since activation.
    pub dropped_samples: u64,
    /// The latest on-demand tempo answer.
    pub tempo_answer: Option<TempoAnswer>,
}

impl Default for AnalysisSnapshot {
    fn default() -> Self {
        Self {
            analysed_until_samples: 0,
            final_until_samples: 0,
            bpm: None,
            onsets: [TimedOnset {
                time_samples: 0.0,
                strength: 0.0,
            }; SNAPSHOT_ONSETS],
            onset_count: 0,
            envelope: [0.0; SNAPSHOT_ENVELOPE],
            dropped_samples: 0,
            tempo_answer: None,
        }
    }
}

impl AnalysisSnapshot {
    /// The valid onsets, oldest first.
    pub fn onsets(&self) -> &[TimedOnset] {
        &self.onsets[..self.onset_count]
    }

    /// Appends an onset, forgetting the oldest when full.
    pub fn push_onset(&mut self, onset: TimedOnset) {
        if self.onset_count == SNAPSHOT_ONSETS {
            self.onsets.copy_within(1.., 0);
            self.onset_count -= 1;
        }
        self.onsets[self.onset_count] = onset;
        self.onset_count += 1;
    }

    /// Appends an envelope value for display.
    pub fn push_envelope(&mut self, value: f32) {
        self.envelope.copy_within(1.., 0);
        self.envelope[SNAPSHOT_ENVELOPE - 1] = value;
    }
}
