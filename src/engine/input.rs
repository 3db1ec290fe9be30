//! The input stage: the host's input mapped to the recorded channels (stereo, left, right or
//! their mono sum), sanitized (a chunk holding NaN or infinite samples becomes silence and is
//! counted: it must not poison the history, the loops or the outputs), scaled by the ramped
//! input gain, and metered.
//!
//! Realtime: runs on the audio thread; no allocation (its buffers are sized at activation).

use super::ramp::Ramp;

/// Fall time constant of the input peak meter, in seconds.
const METER_FALL_SECS: f32 = 0.3;
/// Highest input gain (+12 dB).
pub const MAX_INPUT_GAIN: f32 = 4.0;

/// Which input channels are recorded (and monitored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputMode {
    /// Left and right as a stereo pair.
    Stereo,
    /// The left input alone, as a mono source (pannable).
    Left,
    /// The right input alone, as a mono source (pannable).
    Right,
    /// Left and right summed to mono (pannable).
    MonoSum,
}

/// The input of the current chunk and what the meters know of the input so far.
pub struct InputStage {
    /// Channels recorded (1 or 2): with one, the host's second channel is not input.
    recorded_channels: usize,
    /// The engine's rate, in Hz (the meter's fall).
    sample_rate_hz: f32,
    /// Input gain, ramped over the blend length.
    gain: Ramp,
    /// Input of the current chunk, sanitized, mapped and scaled by `gain` (per channel).
    chunk: [Box<[f32]>; 2],
    /// Input chunks replaced by silence because they held NaN or infinite samples.
    pub bad_chunks: u64,
    /// Input peak level with a 300 ms fall (linear).
    pub peak: f32,
    /// Chunks whose input reached full scale.
    pub clips: u64,
}

impl InputStage {
    /// A stage for chunks of up to `max_frames`. Not realtime-safe (it allocates).
    pub fn new(recorded_channels: usize, sample_rate_hz: f32, max_frames: usize) -> Self {
        let buffer = || vec![0.0; max_frames].into_boxed_slice();
        Self {
            recorded_channels,
            sample_rate_hz,
            gain: Ramp::at(1.0),
            chunk: [buffer(), buffer()],
            bad_chunks: 0,
            peak: 0.0,
            clips: 0,
        }
    }

    /// Ramps the input gain to `gain` (clamped to `0..=MAX_INPUT_GAIN`; not finite: unity) over
    /// `ramp_samples`.
    pub fn set_gain(&mut self, gain: f32, ramp_samples: u32) {
        let gain = if gain.is_finite() {
            gain.clamp(0.0, MAX_INPUT_GAIN)
        } else {
            1.0
        };
        if self.gain.target() != gain {
            self.gain.ramp_to(gain, ramp_samples);
        }
    }

    /// Reads frames `at..at + frames` of the host's `main` input as `mode` maps it; the result
    /// is [`InputStage::chunk`].
    pub fn read(&mut self, main: &[&mut [f32]], at: usize, frames: usize, mode: InputMode) {
        let left = &main[0][at..at + frames];
        // A single input is both sides in every mode: the buffer's second channel (zeroed by
        // the host or framework) is not input.
        let right = match main.get(1) {
            Some(right) if self.recorded_channels == 2 => &right[at..at + frames],
            _ => left,
        };
        if !left.iter().chain(right).all(|s| s.is_finite()) {
            self.bad_chunks += 1;
            self.chunk[0][..frames].fill(0.0);
            self.chunk[1][..frames].fill(0.0);
            self.gain.skip(frames as u32);
            return;
        }
        let chunk_peak = left
            .iter()
            .chain(right)
            .fold(0.0f32, |peak, s| peak.max(s.abs()));
        if chunk_peak >= 1.0 {
            self.clips += 1;
        }
        // Peak hold with a 300 ms fall, so a meter read at the display rate misses no peak.
        let fall = (-(frames as f32) / (METER_FALL_SECS * self.sample_rate_hz)).exp();
        self.peak = chunk_peak.max(self.peak * fall);
        let [first, second] = &mut self.chunk;
        let (first, second) = (&mut first[..frames], &mut second[..frames]);
        match mode {
            InputMode::Stereo => {
                first.copy_from_slice(left);
                second.copy_from_slice(right);
            }
            InputMode::Left => {
                first.copy_from_slice(left);
                second.copy_from_slice(left);
            }
            InputMode::Right => {
                first.copy_from_slice(right);
                second.copy_from_slice(right);
            }
            InputMode::MonoSum => {
                for ((m, l), r) in first.iter_mut().zip(left).zip(right) {
                    *m = 0.5 * (l + r);
                }
                second.copy_from_slice(first);
            }
        }
        if !self.gain.is_idle() || self.gain.target() != 1.0 {
            for (a, b) in first.iter_mut().zip(second.iter_mut()) {
                let gain = self.gain.next_sample();
                *a *= gain;
                *b *= gain;
            }
        }
    }

    /// The last chunk read, `frames` long, per channel (both channels carry a mono input).
    pub fn chunk(&self, frames: usize) -> [&[f32]; 2] {
        [&self.chunk[0][..frames], &self.chunk[1][..frames]]
    }
}
