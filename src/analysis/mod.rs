//! Onset and tempo analysis: framework-free, no nice-plug types. Section 5 of the behaviour
//! spec.
//!
//! - [`stft`]: Hann-windowed real FFT frames (2048 points, hop 128 at 48 kHz, scaled with the
//!   sample rate).
//! - [`envelope`]: the onset strength envelope (SuperFlux-style spectral flux of a
//!   log-frequency, log-magnitude spectrum).
//! - [`picking`]: causal onset picking on the envelope.
//! - [`tempo`]: the tempogram (envelope autocorrelation), the BPM estimate with a tempo prior,
//!   and beat tracking.
//! - [`offline`]: the whole analysis of a buffer (the CLI and on-demand analysis of history).
//! - [`feed`], [`snapshot`], [`worker`]: the audio thread's lock-free feed, the fixed-size
//!   results snapshot and the background thread that runs the online analysis.

pub mod cli;
pub mod envelope;
pub mod feed;
pub mod offline;
pub mod online;
pub mod picking;
pub mod snapshot;
pub mod stft;
pub mod tempo;
pub mod worker;

/// The analysis sizes at one sample rate: the spec's 2048-point frames and 128-sample hop at
/// 48 kHz, scaled so that they span the same time at any rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalysisConfig {
    /// Sample rate in Hz.
    pub sample_rate_hz: f32,
    /// FFT frame length in samples (a power of two).
    pub frame_samples: usize,
    /// Hop between frames in samples.
    pub hop_samples: usize,
}

impl AnalysisConfig {
    /// The sizes for `sample_rate_hz` (2048 / 128 at 48 kHz).
    pub fn new(sample_rate_hz: f32) -> Self {
        let sample_rate_hz = if sample_rate_hz.is_finite() {
            sample_rate_hz.clamp(8_000.0, 768_000.0)
        } else {
            48_000.0
        };
        let scale = sample_rate_hz / 48_000.0;
        let frame_samples = ((2048.0 * scale).round() as usize).next_power_of_two();
        let hop_samples = ((128.0 * scale).round() as usize).max(1);
        Self {
            sample_rate_hz,
            frame_samples,
            hop_samples,
        }
    }

    /// Envelope frames per second.
    pub fn frame_rate_hz(&self) -> f64 {
        f64::from(self.sample_rate_hz) / self.hop_samples as f64
    }

    /// Seconds to samples at this rate.
    pub fn secs_to_samples(&self, secs: f64) -> f64 {
        secs * f64::from(self.sample_rate_hz)
    }
}

#[cfg(test)]
mod tests;
