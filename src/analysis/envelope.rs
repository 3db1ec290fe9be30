//! The onset strength envelopes: SuperFlux-style spectral flux.
//!
//! Each frame's magnitude spectrum goes through a log-frequency triangular filterbank
//! ([`BANDS_PER_OCTAVE`] bands per octave), is compressed to `log10(1 + gain * x)` and compared
//! with the frame [`FluxEnvelope::lag_frames`] earlier after a maximum filter across
//! neighbouring bands (which suppresses vibrato and tremolo). The envelope value is the sum of
//! the positive differences. Two compressions of the same bands give two envelopes (see
//! [`Flux`]): a strong one ([`DETECTION_GAIN`]) finds soft attacks, a gentle one (gain 1) times
//! them alike at every level.

use super::AnalysisConfig;
use super::stft::Stft;

/// Filterbank resolution.
pub const BANDS_PER_OCTAVE: f32 = 24.0;
/// Band energies are multiplied by this before the detection spectrum's `log10(1 + x)`: the
/// knee sits at the band energy of white noise at about -60 dBFS, so that soft attacks over
/// quiet backgrounds stand out nearly as much as loud ones. Chosen with the picker's threshold
/// on a development corpus (`make_corpus.py --seed 4242`), not on the scored ones.
pub const DETECTION_GAIN: f32 = 32.0;
/// Lowest band centre in Hz.
const MIN_HZ: f32 = 30.0;
/// Highest band centre in Hz.
const MAX_HZ: f32 = 17_000.0;
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

    /// FFT bins the bank reads (bins from this one on have no weight in any band).
    pub fn bins_used(&self) -> usize {
        self.bands
            .iter()
            .map(|band| band.first_bin + band.weights.len())
            .max()
            .unwrap_or(0)
    }

    /// Whether the bank has no band (never, for real sample rates).
    pub fn is_empty(&self) -> bool {
        self.bands.is_empty()
    }

    /// Writes the energy of each band of `magnitudes` to `out` (one value per band).
    pub fn apply(&self, magnitudes: &[f32], out: &mut [f32]) {
        for (out, band) in out.iter_mut().zip(self.bands.iter()) {
            let bins = &magnitudes[band.first_bin..band.first_bin + band.weights.len()];
            *out = bins
                .iter()
                .zip(band.weights.iter())
                .map(|(m, w)| m * w)
                .sum();
        }
    }
}

/// Writes `log10(1 + gain * energy)` of each band energy to `out`, in one pass the compiler
/// vectorizes.
fn compress(energies: &[f32], gain: f32, out: &mut [f32]) {
    for (out, &energy) in out.iter_mut().zip(energies) {
        *out = log10_one_plus(gain * energy);
    }
}

/// The positive differences of `current` over `past` summed (the flux); then `past` takes the
/// maximum over each band of `current` and its two neighbours, to be compared `lag` frames on.
/// Allocation-free.
fn flux_then_remember(current: &[f32], past: &mut [f32]) -> f32 {
    // Eight running sums, so that the sum vectorizes (one running sum is a chain of dependent
    // scalar additions).
    let mut lanes = [0.0f32; 8];
    let (current_body, current_tail) = current.split_at(current.len() - current.len() % 8);
    for (now, before) in current_body.chunks_exact(8).zip(past.chunks_exact(8)) {
        for ((lane, now), before) in lanes.iter_mut().zip(now).zip(before) {
            *lane += (now - before).max(0.0);
        }
    }
    let past_tail = &past[current_body.len()..];
    let tail: f32 = current_tail
        .iter()
        .zip(past_tail)
        .map(|(now, before)| (now - before).max(0.0))
        .sum();
    let flux = lanes.iter().sum::<f32>() + tail;
    // The maximum over each band and its two neighbours (the edges: the one they have), as
    // three passes the compiler vectorizes; like a fold from 0, it ignores NaN.
    for (out, &now) in past.iter_mut().zip(current.iter()) {
        *out = now.max(0.0);
    }
    for (out, &above) in past.iter_mut().zip(current.iter().skip(1)) {
        *out = out.max(above);
    }
    for (out, &below) in past.iter_mut().skip(1).zip(current.iter()) {
        *out = out.max(below);
    }
    flux
}

/// `log10(1 + x)` for `x >= 0` within 1e-6 (see the test), in straight-line arithmetic the
/// compiler vectorizes: libm's `log10f`, one call per band and frame, took an eighth of the
/// analysis. Infinity and NaN give about 38.5 (the largest exponent), a finite value.
fn log10_one_plus(x: f32) -> f32 {
    let bits = (1.0 + x).to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    // The mantissa in [1, 2), folded to [sqrt(1/2), sqrt(2)) where the series converges fast.
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let (mantissa, exponent) = if mantissa > std::f32::consts::SQRT_2 {
        (0.5 * mantissa, exponent + 1)
    } else {
        (mantissa, exponent)
    };
    // ln(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172: five terms leave < 1e-9.
    let s = (mantissa - 1.0) / (mantissa + 1.0);
    let s2 = s * s;
    let ln_mantissa =
        2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 / 9.0))));
    (exponent as f32 * std::f32::consts::LN_2 + ln_mantissa) * std::f32::consts::LOG10_E
}

/// Pitch classes of a chroma vector (index 0 is A, then each semitone up).
pub const PITCH_CLASSES: usize = 12;
/// Lowest frequency folded into the chroma, in Hz (the bass' fundamentals).
const CHROMA_MIN_HZ: f32 = 60.0;
/// Highest frequency folded into the chroma, in Hz (above, harmonics blur the pitch classes).
const CHROMA_MAX_HZ: f32 = 2_000.0;

/// Turns audio frames into envelope values. Allocation-free after [`FluxEnvelope::new`].
pub struct FluxEnvelope {
    /// The frame transform.
    stft: Stft,
    /// The filterbank.
    bank: Filterbank,
    /// Magnitude spectrum of the current frame, up to the last bin the filterbank reads.
    magnitudes: Box<[f32]>,
    /// Band energies of the current frame.
    energies: Box<[f32]>,
    /// The detection spectrum: log band energies, strongly compressed.
    detection: Spectra,
    /// The timing spectrum: log band energies, gently compressed.
    timing: Spectra,
    /// Frames between the compared spectra.
    lag_frames: usize,
    /// First FFT bin folded into the chroma.
    chroma_first_bin: usize,
    /// Pitch class of each chroma bin from `chroma_first_bin` on.
    chroma_classes: Box<[u8]>,
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
        let bin_hz = config.sample_rate_hz / config.frame_samples as f32;
        let chroma_first_bin = (CHROMA_MIN_HZ / bin_hz).ceil() as usize;
        let chroma_end_bin = ((CHROMA_MAX_HZ / bin_hz).floor() as usize + 1)
            .min(bank.bins_used())
            .max(chroma_first_bin);
        let chroma_classes = (chroma_first_bin..chroma_end_bin)
            .map(|bin| {
                let semitones = (12.0 * (bin as f32 * bin_hz / 440.0).log2()).round() as i32;
                semitones.rem_euclid(PITCH_CLASSES as i32) as u8
            })
            .collect();
        Self {
            stft,
            magnitudes: vec![0.0; bank.bins_used()].into_boxed_slice(),
            energies: vec![0.0; bands].into_boxed_slice(),
            detection: Spectra::new(bands, lag_frames, DETECTION_GAIN),
            timing: Spectra::new(bands, lag_frames, 1.0),
            bank,
            lag_frames,
            chroma_first_bin,
            chroma_classes,
            frames: 0,
        }
    }

    /// Frames between the spectra the flux compares.
    pub fn lag_frames(&self) -> usize {
        self.lag_frames
    }

    /// The chroma of the last frame processed: its magnitudes from `CHROMA_MIN_HZ` to
    /// `CHROMA_MAX_HZ` summed per pitch class (bar-level harmonic changes for the tempo).
    /// Allocation-free.
    pub fn chroma(&self) -> [f32; PITCH_CLASSES] {
        let mut chroma = [0.0; PITCH_CLASSES];
        let bins = self.magnitudes.iter().skip(self.chroma_first_bin);
        for (&class, &magnitude) in self.chroma_classes.iter().zip(bins) {
            chroma[usize::from(class)] += magnitude;
        }
        chroma
    }

    /// The envelope values of one frame (`first` then `second`, oldest first, a whole frame).
    /// Allocation-free.
    pub fn process_frame(&mut self, first: &[f32], second: &[f32]) -> Flux {
        self.stft.magnitudes(first, second, &mut self.magnitudes);
        self.bank.apply(&self.magnitudes, &mut self.energies);
        let slot = (self.frames % self.lag_frames as u64) as usize;
        self.frames += 1;
        Flux {
            detection: self.detection.flux(&self.energies, slot),
            timing: self.timing.flux(&self.energies, slot),
        }
    }
}

/// One frame's envelope values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flux {
    /// The flux of the strongly compressed spectrum: a soft attack counts nearly as much as a
    /// loud one, so it finds them (the picker decides on it).
    pub detection: f32,
    /// The flux of the gently compressed spectrum: below the knee it grows with the energy, so
    /// its rise follows the attack into the window alike at every level (onsets are timed on
    /// it, and the tempo reads it).
    pub timing: f32,
}

/// A log band spectrum at one compression, with the max-filtered spectra of the last frames it
/// is compared against.
struct Spectra {
    /// Band energies are multiplied by this before `log10(1 + x)`: where the compression's knee
    /// sits.
    gain: f32,
    /// The current frame's compressed spectrum.
    current: Box<[f32]>,
    /// Max-filtered spectra of the last `lag` frames (ring, `lag * bands`).
    past: Box<[f32]>,
}

impl Spectra {
    fn new(bands: usize, lag_frames: usize, gain: f32) -> Self {
        Self {
            gain,
            current: vec![0.0; bands].into_boxed_slice(),
            past: vec![0.0; lag_frames * bands].into_boxed_slice(),
        }
    }

    /// The flux of `energies` against the spectrum in ring slot `slot`, which then takes this
    /// frame's. Allocation-free.
    fn flux(&mut self, energies: &[f32], slot: usize) -> f32 {
        compress(energies, self.gain, &mut self.current);
        let bands = self.current.len();
        flux_then_remember(
            &self.current,
            &mut self.past[slot * bands..(slot + 1) * bands],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flux_is_the_sum_of_rises_and_the_past_becomes_the_neighbour_maximum() {
        // Every length around the eight lanes, against the plain definition.
        for bands in 0..20 {
            let current: Vec<f32> = (0..bands).map(|b| ((b * 7) % 5) as f32 * 0.3).collect();
            let mut past: Vec<f32> = (0..bands).map(|b| ((b * 3) % 4) as f32 * 0.25).collect();
            let rises: f32 = current
                .iter()
                .zip(&past)
                .map(|(now, before)| (now - before).max(0.0))
                .sum();
            let flux = flux_then_remember(&current, &mut past);
            assert!(
                (flux - rises).abs() < 1e-5,
                "{bands} bands: {flux} != {rises}"
            );
            for (b, &remembered) in past.iter().enumerate() {
                let neighbours = &current[b.saturating_sub(1)..(b + 2).min(bands)];
                let max = neighbours.iter().fold(0.0f32, |m, &v| m.max(v));
                assert_eq!(remembered, max, "{bands} bands, band {b}");
            }
        }
    }

    #[test]
    fn fast_log_matches_log10_within_a_millionth() {
        // Band energies span silence (0) to a full-scale sine summed over a band (~1e3) and
        // beyond; every value's log must match the f64 reference.
        let mut worst = 0.0f64;
        let mut x = 0.0f32;
        while x < 1e7 {
            let exact = (1.0 + f64::from(x)).log10();
            worst = worst.max((f64::from(log10_one_plus(x)) - exact).abs());
            x = x * 1.01 + 1e-6;
        }
        assert!(worst < 1e-6, "worst error {worst}");
        for bad in [f32::INFINITY, f32::NAN] {
            let value = log10_one_plus(bad);
            assert!(value.is_finite() && value < 40.0, "{bad} gives {value}");
        }
    }
}
