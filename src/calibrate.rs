//! Latency calibration: the round trip from an output to an input, measured through a loopback
//! cable (or the interface's own loopback), for `loopmate calibrate`.
//!
//! The test signal is a pseudo-random noise burst (white, ±[`BURST_LEVEL`], -18 dBFS), played
//! [`REPEATS`] times, each followed by enough silence for the longest round trip measured. The
//! recording is cross-correlated with the burst (by FFT): each repeat comes back as a sharp peak
//! of the correlation at its delay, which parabolic interpolation places between samples. A
//! noise burst, unlike a single click, spreads its energy over thousands of samples, so the
//! peak stands far above noise, hum and a DC offset at a modest level; the repeats must agree.
//!
//! [`CalibrationRun`] plays and records block by block from an audio callback (realtime: its
//! buffers are allocated up front); [`Calibration::analyse`] runs off the audio thread.

use std::fmt;

pub mod control;

use realfft::RealFftPlanner;
use realfft::num_complex::Complex64;

/// Samples in one burst.
pub const BURST_SAMPLES: usize = 4096;
/// The burst's amplitude (every sample is ±this): -18 dBFS.
pub const BURST_LEVEL: f32 = 0.125;
/// Bursts played; their delays must agree.
pub const REPEATS: usize = 4;
/// The longest round trip measured, in seconds (a burst's echo is looked for this long).
pub const MAX_ROUND_TRIP_SECS: f64 = 0.5;
/// A repeat counts as heard when its correlation peak stands this far above the correlation's
/// spread elsewhere (noise alone peaks at about 13 dB over some 24 000 lags; a burst of 4096
/// random signs stands 36 dB over its own sidelobes, noise or not).
pub const MIN_PEAK_TO_FLOOR_DB: f64 = 20.0;
/// Below this level (RMS, dBFS) the returned burst is too quiet to trust.
pub const MIN_RETURN_DBFS: f64 = -60.0;
/// An input sample at or above this magnitude is taken as clipped.
pub const CLIP_LEVEL: f32 = 0.999;
/// The repeats' delays may differ by this much, in samples.
pub const MAX_SPREAD_SAMPLES: f64 = 1.0;
/// Lags either side of a peak left out of the floor (a filter spreads the peak a little).
const PEAK_GUARD_SAMPLES: usize = 16;

/// The test signal and how to analyse its recording, at one sample rate.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The sample rate, in Hz.
    pub sample_rate_hz: f32,
    /// One burst (±[`BURST_LEVEL`]), [`BURST_SAMPLES`] long.
    burst: Vec<f32>,
    /// From one burst's start to the next's, in samples (the burst and its echo's room).
    period_samples: usize,
    /// The longest round trip looked for, in samples.
    max_delay_samples: usize,
}

/// A measured round trip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundTrip {
    /// Output to input, in samples (fractional: interpolated between samples).
    pub samples: f64,
    /// The same in milliseconds.
    pub ms: f64,
    /// Confidence: the weakest repeat's correlation peak over the correlation's spread
    /// elsewhere, in dB ([`MIN_PEAK_TO_FLOOR_DB`] at least; about 36 dB through a clean
    /// cable, the burst's own sidelobes).
    pub peak_to_floor_db: f64,
    /// The largest difference between the repeats' delays, in samples.
    pub spread_samples: f64,
    /// The loopback's gain (what came back over what was played), in dB.
    pub gain_db: f64,
}

/// Why no round trip could be measured; [`CalibrationError::advice`] says it to the player.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CalibrationError {
    /// The recording is shorter than the signal (the run was cut short).
    TooShort {
        /// Samples recorded.
        recorded_samples: usize,
        /// Samples needed.
        needed_samples: usize,
    },
    /// The input clipped.
    Clipping {
        /// Samples at or above [`CLIP_LEVEL`].
        clipped_samples: usize,
    },
    /// Nothing that correlates with the burst came back: no cable, or the wrong ports.
    NoLoopback {
        /// The input's RMS level over the recording, in dBFS (-inf: digital silence).
        input_dbfs: f64,
    },
    /// The bursts came back, too quiet to trust.
    TooQuiet {
        /// The returned burst's RMS level, in dBFS.
        return_dbfs: f64,
    },
    /// Some repeats were not heard, or came back at different delays (something else is
    /// playing into the input, or the interface drops samples).
    Inconsistent {
        /// Repeats heard, of [`REPEATS`].
        heard: usize,
        /// The largest difference between the heard repeats' delays, in samples.
        spread_samples: f64,
    },
}

impl CalibrationError {
    /// What to tell the player, naming the ports the calibration played on and recorded from.
    pub fn advice(&self, output: &str, input: &str) -> String {
        match *self {
            Self::TooShort {
                recorded_samples,
                needed_samples,
            } => format!(
                "the recording stopped early ({recorded_samples} of {needed_samples} samples): \
                 run the calibration again"
            ),
            Self::Clipping { clipped_samples } => format!(
                "{input} clipped ({clipped_samples} samples at full scale): lower the input gain \
                 or the level of {output}"
            ),
            Self::NoLoopback { input_dbfs } => {
                let heard = if input_dbfs.is_finite() {
                    format!("only noise at {input_dbfs:.0} dBFS")
                } else {
                    "silence".to_string()
                };
                format!(
                    "no click came back on {input} ({heard}): connect {output} to {input} with a \
                     cable, or enable your interface's loopback"
                )
            }
            Self::TooQuiet { return_dbfs } => format!(
                "the click came back on {input} at only {return_dbfs:.0} dBFS: raise the input \
                 gain or the level of {output}"
            ),
            Self::Inconsistent {
                heard,
                spread_samples,
            } => format!(
                "the {REPEATS} clicks came back on {input} unevenly ({heard} heard, delays \
                 {spread_samples:.1} samples apart): silence whatever else plays into {input} \
                 and run the calibration again"
            ),
        }
    }
}

impl fmt::Display for CalibrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.advice("the output", "the input"))
    }
}

impl std::error::Error for CalibrationError {}

impl Calibration {
    /// The calibration at `sample_rate_hz` (absurd rates are taken as 48 kHz). Not realtime-safe
    /// (allocates).
    pub fn new(sample_rate_hz: f32) -> Self {
        let sample_rate_hz = if sample_rate_hz.is_finite() && sample_rate_hz >= 1000.0 {
            sample_rate_hz.min(1_000_000.0)
        } else {
            48_000.0
        };
        let max_delay_samples = (MAX_ROUND_TRIP_SECS * f64::from(sample_rate_hz)).ceil() as usize;
        // A fixed xorshift sequence: the same burst every run, white, ±1.
        let mut state = 0x2545_F491_u32;
        let burst = (0..BURST_SAMPLES)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                if state & 1 == 0 {
                    BURST_LEVEL
                } else {
                    -BURST_LEVEL
                }
            })
            .collect();
        Self {
            sample_rate_hz,
            burst,
            // Room after each burst for its echo, so one repeat's echo ends before the next
            // repeat's can begin.
            period_samples: BURST_SAMPLES + max_delay_samples,
            max_delay_samples,
        }
    }

    /// Samples the run plays (and records): the bursts, each with its echo's room.
    pub fn total_samples(&self) -> usize {
        REPEATS * self.period_samples
    }

    /// The played signal's sample `t` (silence outside the bursts and after the run).
    pub fn signal_at(&self, t: usize) -> f32 {
        let within = t % self.period_samples;
        if t < self.total_samples() && within < BURST_SAMPLES {
            self.burst[within]
        } else {
            0.0
        }
    }

    /// Measures the round trip in `recorded`: the input recorded while the signal played, from
    /// the signal's first sample on (sample `t` recorded while sample `t` was played). Not
    /// realtime-safe (allocates, FFTs): run it off the audio thread.
    pub fn analyse(&self, recorded: &[f32]) -> Result<RoundTrip, CalibrationError> {
        let needed_samples = self.total_samples();
        if recorded.len() < needed_samples {
            return Err(CalibrationError::TooShort {
                recorded_samples: recorded.len(),
                needed_samples,
            });
        }
        let recorded = &recorded[..needed_samples];
        // Garbage in (NaN, infinities) counts as silence, never as a peak.
        let sample = |x: f32| if x.is_finite() { f64::from(x) } else { 0.0 };
        let clipped_samples = (recorded.iter())
            .filter(|x| x.is_finite() && x.abs() >= CLIP_LEVEL)
            .count();
        if clipped_samples > 0 {
            return Err(CalibrationError::Clipping { clipped_samples });
        }
        let mean = recorded.iter().map(|&x| sample(x)).sum::<f64>() / needed_samples as f64;
        let centred: Vec<f64> = recorded.iter().map(|&x| sample(x) - mean).collect();
        let input_rms = (centred.iter().map(|x| x * x).sum::<f64>() / needed_samples as f64).sqrt();
        let correlation = self.correlate(&centred);

        let burst_energy = BURST_SAMPLES as f64 * f64::from(BURST_LEVEL).powi(2);
        let mut repeats = [None::<Peak>; REPEATS];
        for (repeat, found) in repeats.iter_mut().enumerate() {
            let from = repeat * self.period_samples;
            let window = &correlation[from..=from + self.max_delay_samples];
            *found = Peak::find(window).filter(|peak| peak.to_floor_db >= MIN_PEAK_TO_FLOOR_DB);
        }
        let heard: Vec<Peak> = repeats.iter().flatten().copied().collect();
        if heard.is_empty() {
            return Err(CalibrationError::NoLoopback {
                input_dbfs: 20.0 * input_rms.log10(),
            });
        }
        let delays = heard.iter().map(|peak| peak.lag_samples);
        let lowest = delays.clone().fold(f64::INFINITY, f64::min);
        let highest = delays.fold(f64::NEG_INFINITY, f64::max);
        let spread_samples = highest - lowest;
        if heard.len() < REPEATS || spread_samples > MAX_SPREAD_SAMPLES {
            return Err(CalibrationError::Inconsistent {
                heard: heard.len(),
                spread_samples,
            });
        }
        let gain = heard.iter().map(|peak| peak.energy_height).sum::<f64>()
            / (heard.len() as f64 * burst_energy);
        let return_dbfs = 20.0 * (gain * f64::from(BURST_LEVEL)).log10();
        if return_dbfs < MIN_RETURN_DBFS {
            return Err(CalibrationError::TooQuiet { return_dbfs });
        }
        let samples = heard.iter().map(|peak| peak.lag_samples).sum::<f64>() / REPEATS as f64;
        Ok(RoundTrip {
            samples,
            ms: samples * 1000.0 / f64::from(self.sample_rate_hz),
            peak_to_floor_db: (heard.iter().map(|peak| peak.to_floor_db)).fold(f64::MAX, f64::min),
            spread_samples,
            gain_db: 20.0 * gain.log10(),
        })
    }

    /// The cross-correlation of `recorded` with the burst: lag `n` is
    /// `sum_m recorded[n + m] * burst[m]`, for every `n` in the recording.
    fn correlate(&self, recorded: &[f64]) -> Vec<f64> {
        // Zero padding past the recording and the burst: no lag wraps onto another.
        let size = (recorded.len() + BURST_SAMPLES).next_power_of_two();
        let mut planner = RealFftPlanner::<f64>::new();
        let forward = planner.plan_fft_forward(size);
        let inverse = planner.plan_fft_inverse(size);
        let spectrum_of = |signal: &mut dyn Iterator<Item = f64>| {
            let mut time = forward.make_input_vec();
            for (slot, x) in time.iter_mut().zip(signal) {
                *slot = x;
            }
            let mut spectrum = forward.make_output_vec();
            // The buffers are the plan's own sizes: the transform cannot fail.
            let _ = forward.process(&mut time, &mut spectrum);
            spectrum
        };
        let mut recorded_spectrum = spectrum_of(&mut recorded.iter().copied());
        let burst_spectrum = spectrum_of(&mut self.burst.iter().map(|&x| f64::from(x)));
        for (x, b) in recorded_spectrum.iter_mut().zip(&burst_spectrum) {
            *x *= b.conj();
        }
        // The end bins of a real signal's spectrum are real; rounding must not say otherwise.
        let last = recorded_spectrum.len() - 1;
        for bin in [0, last] {
            recorded_spectrum[bin] = Complex64::new(recorded_spectrum[bin].re, 0.0);
        }
        let mut correlation = inverse.make_output_vec();
        let _ = inverse.process(&mut recorded_spectrum, &mut correlation);
        let scale = 1.0 / size as f64;
        correlation.truncate(recorded.len());
        for c in &mut correlation {
            *c *= scale;
        }
        correlation
    }
}

/// A repeat's correlation peak.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Peak {
    /// Its lag within the repeat's window, in samples (interpolated).
    lag_samples: f64,
    /// Its height (magnitude: an inverting interface peaks negative).
    height: f64,
    /// The root of its energy over the guard lags either side: its height, gathered again from
    /// the neighbours a filter or a fractional delay spread it over (for the loopback's gain).
    energy_height: f64,
    /// Its height over the RMS of the window elsewhere, in dB.
    to_floor_db: f64,
}

impl Peak {
    /// The highest peak of `window`, placed between samples by the parabola through it and its
    /// neighbours.
    fn find(window: &[f64]) -> Option<Self> {
        let (index, &height) =
            (window.iter().enumerate()).max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))?;
        let height = height.abs();
        let floor_lags = (window.iter().enumerate())
            .filter(|(lag, _)| lag.abs_diff(index) > PEAK_GUARD_SAMPLES)
            .map(|(_, c)| c * c);
        let (sum, count) = floor_lags.fold((0.0, 0usize), |(sum, n), c2| (sum + c2, n + 1));
        let floor = (sum / count.max(1) as f64).sqrt();
        let near = index.saturating_sub(PEAK_GUARD_SAMPLES)..=index + PEAK_GUARD_SAMPLES;
        let energy: f64 = (window.iter().enumerate())
            .filter(|(lag, _)| near.contains(lag))
            .map(|(_, c)| c * c)
            .sum();
        let at = |i: Option<usize>| i.and_then(|i| window.get(i)).map_or(0.0, |c| c.abs());
        let (before, after) = (at(index.checked_sub(1)), at(Some(index + 1)));
        let curvature = before - 2.0 * height + after;
        let shift = if curvature < 0.0 {
            (0.5 * (before - after) / curvature).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        Some(Self {
            lag_samples: index as f64 + shift,
            height,
            energy_height: energy.sqrt(),
            to_floor_db: 20.0 * (height / floor.max(f64::MIN_POSITIVE)).log10(),
        })
    }
}

/// Plays the calibration signal and records the input, block by block, from an audio callback.
///
/// Realtime: [`CalibrationRun::process`] runs on the audio thread; it never allocates (the
/// recording's buffer is allocated in [`CalibrationRun::new`]). When it reports done, hand the
/// run to another thread (a ring of one slot, allocated up front, carries it without
/// allocating) and call [`CalibrationRun::analyse`] there.
#[derive(Debug)]
pub struct CalibrationRun {
    /// The signal and its analysis.
    calibration: Calibration,
    /// The input so far; as long as the signal.
    recorded: Box<[f32]>,
    /// Samples played and recorded so far.
    position_samples: usize,
}

impl CalibrationRun {
    /// A run of `calibration`, its recording allocated. Not realtime-safe: call before the
    /// audio thread runs it.
    pub fn new(calibration: Calibration) -> Self {
        let recorded = vec![0.0; calibration.total_samples()].into_boxed_slice();
        Self {
            calibration,
            recorded,
            position_samples: 0,
        }
    }

    /// Plays the next `output.len()` samples of the signal into `output` (silence once done) and
    /// records `input`, the same block's input (a shorter input is taken as silence after its
    /// end). Returns true once the whole signal has been played and recorded. Realtime-safe.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) -> bool {
        let start = self.position_samples;
        for (i, out) in output.iter_mut().enumerate() {
            *out = self.calibration.signal_at(start + i);
        }
        let frames = output.len().min(self.recorded.len() - start);
        for (i, slot) in self.recorded[start..start + frames].iter_mut().enumerate() {
            *slot = input.get(i).copied().unwrap_or(0.0);
        }
        self.position_samples += frames;
        self.is_done()
    }

    /// Whether the whole signal has been played and recorded.
    pub fn is_done(&self) -> bool {
        self.position_samples == self.recorded.len()
    }

    /// Measures the round trip in the recording (see [`Calibration::analyse`]). Not
    /// realtime-safe: call off the audio thread, once done (before that, the recording is
    /// reported too short).
    pub fn analyse(&self) -> Result<RoundTrip, CalibrationError> {
        self.calibration
            .analyse(&self.recorded[..self.position_samples])
    }
}

#[cfg(test)]
mod tests;
