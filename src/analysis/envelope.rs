//! The onset strength envelope: SuperFlux-style spectral flux.
//!
//! Each frame's magnitude spectrum goes through a log-frequency triangular filterbank
//! ([`BANDS_PER_OCTAVE`] bands per octave), is compressed to `log10(1 + x)` and compared with
//! the frame [`FluxEnvelope::lag_frames`] earlier after a maximum filter across neighbouring
//! bands (which suppresses vibrato and tremolo). The envelope value is the sum of the positive
//! differences. Log magnitudes make it independent of the input level above the noise floor.

use super::AnalysisConfig;
use super::stft::Stft;

/// Filterbank resolution.
pub const BANDS_PER_OCTAVE: f32 = 24.0;
/// Lowest band centre in Hz.
const MIN_HZ: f32 = 30.0;
/// Highest band centre in Hz.
const MAX_HZ: f32 = 17_000.0;
/// Width of the maximum filter across bands (odd).
const MAX_FILTER_BANDS: usize = 3;
/// The previous frame compared against is the one whose Hann window overlaps this frame's by
/// half (SuperFlux): a quarter frame earlier.
const LAG_FRACTION_OF_FRAME: f32 = 0.25;

/// One triangular band: its first FFT bin and the weights from there on (summing to 1).
struct Band {
    /// First bin the band covers.
    first_bin: usize,
    /// Weights of bins `first_bin..`.
    weights: Box<[f32]>,
}

/// Log-frequency triangular filterbank on FFT bins.
pub struct Filterbank {
    /// The bands, lowest first.
    bands: Box<[Band]>,
}

impl Filterbank {
    /// Builds the bank for `bins` FFT bins of a `frame_samples`-point FFT at `sample_rate_hz`.
    pub fn new(sample_rate_hz: f32, frame_samples: usize, bins: usize) -> Self {
        let bin_hz = sample_rate_hz / frame_samples as f32;
        let max_hz = MAX_HZ.min(0.45 * sample_rate_hz);
        // Centre bins, de-duplicated where bands are narrower than a bin.
        let mut centres: Vec<usize> = Vec::new();
        let mut hz = MIN_HZ;
        while hz <= max_hz {
            let bin = ((hz / bin_hz).round() as usize).min(bins - 1);
            if centres.last() != Some(&bin) {
                centres.push(bin);
            }
            hz *= 2f32.powf(1.0 / BANDS_PER_OCTAVE);
        }
        let bands = centres
            .windows(3)
            .map(|w| {
                let (start, centre, stop) = (w[0], w[1], w[2]);
                let weights: Vec<f32> = (start..=stop)
                    .map(|bin| {
                        if bin <= centre {
                            if centre == start {
                                1.0
                            } else {
                                (bin - start) as f32 / (centre - start) as f32
                            }
                        } else {
                            (stop - bin) as f32 / (stop - centre) as f32
                        }
                    })
                    .collect();
                let sum: f32 = weights.iter().sum::<f32>().max(f32::MIN_POSITIVE);
                Band {
                    first_bin: start,
                    weights: weights.iter().map(|w| w / sum).collect(),
                }
            })
            .collect();
        Self { bands }
    }

    /// Bands in the bank.
    pub fn len(&self) -> usize {
        self.bands.len()
    }

    /// Whether the bank has no band (never, for real sample rates).
    pub fn is_empty(&self) -> bool {
        self.bands.is_empty()
    }

    /// Writes `log10(1 + band energy)` of `magnitudes` to `out` (one value per band).
    pub fn apply_log(&self, magnitudes: &[f32], out: &mut [f32]) {
        for (out, band) in out.iter_mut().zip(self.bands.iter()) {
            let bins = &magnitudes[band.first_bin..band.first_bin + band.weights.len()];
            let sum: f32 = bins
                .iter()
                .zip(band.weights.iter())
                .map(|(m, w)| m * w)
                .sum();
            *out = (1.0 + sum).log10();
        }
    }
}

/// Turns audio frames into envelope values. Allocation-free after [`FluxEnvelope::new`].
pub struct FluxEnvelope {
    /// The frame transform.
    stft: Stft,
    /// The filterbank.
    bank: Filterbank,
    /// Magnitude spectrum of the current frame.
    magnitudes: Box<[f32]>,
    /// Max-filtered log band spectra of the last `lag_frames` frames (ring, `lag * bands`).
    past: Box<[f32]>,
    /// Log band spectrum of the current frame.
    current: Box<[f32]>,
    /// Frames between the compared spectra.
    lag_frames: usize,
    /// Frames processed so far.
    frames: u64,
}

impl FluxEnvelope {
    /// Allocates the transform and buffers for `config`.
    pub fn new(config: &AnalysisConfig) -> Self {
        let stft = Stft::new(config.frame_samples);
        let bins = stft.bins();
        let bank = Filterbank::new(config.sample_rate_hz, config.frame_samples, bins);
        let lag_frames = ((LAG_FRACTION_OF_FRAME * config.frame_samples as f32
            / config.hop_samples as f32)
            .round() as usize)
            .max(1);
        let bands = bank.len();
        Self {
            stft,
            magnitudes: vec![0.0; bins].into_boxed_slice(),
            past: vec![0.0; lag_frames * bands].into_boxed_slice(),
            current: vec![0.0; bands].into_boxed_slice(),
            bank,
            lag_frames,
            frames: 0,
        }
    }

    /// Frames between the spectra the flux compares.
    pub fn lag_frames(&self) -> usize {
        self.lag_frames
    }

    /// The envelope value of one frame (`first` then `second`, oldest first, a whole frame).
    /// Allocation-free.
    pub fn process_frame(&mut self, first: &[f32], second: &[f32]) -> f32 {
        self.stft.magnitudes(first, second, &mut self.magnitudes);
        self.bank.apply_log(&self.magnitudes, &mut self.current);
        let bands = self.current.len();
        let slot = (self.frames % self.lag_frames as u64) as usize;
        let past = &mut self.past[slot * bands..(slot + 1) * bands];
        // `past` holds the max-filtered spectrum `lag_frames` ago: compare, then replace it.
        let mut flux = 0.0;
        for (now, before) in self.current.iter().zip(past.iter()) {
            flux += (now - before).max(0.0);
        }
        let half = MAX_FILTER_BANDS / 2;
        for (band, out) in past.iter_mut().enumerate() {
            let lo = band.saturating_sub(half);
            let hi = (band + half + 1).min(bands);
            *out = self.current[lo..hi].iter().fold(0.0f32, |m, &x| m.max(x));
        }
        self.frames += 1;
        flux
    }
}
