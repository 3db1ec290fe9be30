//! Reading a loop at a power-of-two speed other than 1: fixed-ratio resampling with linear-phase
//! FIR filters, read straight from the loop at any position (so a loop at speed keeps its exact
//! place in time, see `speed.rs`), across its seam (index `L - 1` runs on into 0) as it wraps.
//!
//! - Faster (x2, x4, decimation by `D`): the source is low-pass filtered at `1 / D` of its
//!   Nyquist frequency and every `D`-th sample is kept, so nothing folds back (aliases).
//! - Slower (x1/2, x1/4, interpolation by `D`): each reading point between two samples is the
//!   polyphase branch of the same low-pass at `D` times the rate, so no image of the spectrum
//!   above the source's Nyquist frequency is heard; points on a sample are that sample.
//!
//! The filters are Blackman-windowed sinc kernels ([`windowed_sinc`], the one the WAV import
//! resamples with) centred on the new Nyquist frequency, `HALF_TAPS` source samples either side
//! of a reading point when slower (32 taps per branch), `HALF_TAPS * D` when faster (63 taps at
//! x2, 127 at x4). Measured (see the tests): passband flat within 0.01 dB to 0.8 of the new
//! Nyquist frequency (x2 at 48 kHz: 0-9.6 kHz of the loop, heard at 0-19.2 kHz), stopband at
//! least 70 dB down from 1.2 of it (x2: loop content above 14.4 kHz), the transition band
//! between (its aliases land above 0.8 of the output's Nyquist frequency, above 19 kHz at 48 kHz).
//!
//! Realtime: the kernels are computed once, before the audio thread needs them
//! ([`prepare_kernels`], from `Engine::new`); reading copies the stretch it needs into a stack
//! buffer and never allocates.

use std::sync::LazyLock;

use super::speed::{ReadPosition, Speed};

/// Source samples either side of a reading point under the filter, at the resampling factor 1
/// (times the factor when faster).
const HALF_TAPS: usize = 16;
/// The largest resampling factor (speeds 1/4 and 4).
const MAX_FACTOR: usize = 4;
/// Taps of the decimation filter at the largest factor.
const MAX_DECIMATION_TAPS: usize = 2 * HALF_TAPS * MAX_FACTOR - 1;
/// Taps of each branch of a filter (an interpolation point, or a source phase of decimation).
const BRANCH_TAPS: usize = 2 * HALF_TAPS;
/// Source samples of one phase a decimating run reads.
const MAX_STREAM: usize = RUN_FRAMES + BRANCH_TAPS;
/// Output samples read at a time: bounds the stretch of source copied per run.
pub const RUN_FRAMES: usize = 64;
/// Source samples a run can need (x4: 4 per output sample and the filter's width).
const MAX_SPAN: usize = MAX_FACTOR * (RUN_FRAMES - 1) + MAX_DECIMATION_TAPS;

/// Source samples a reading at `speed` looks either side of its position (0 at normal speed).
pub fn reach_samples(speed: Speed) -> u64 {
    match (speed.step() as usize, speed.subdivisions()) {
        (1, 1) => 0,
        (1, _) => HALF_TAPS as u64,
        (step, _) => (HALF_TAPS * step - 1) as u64,
    }
}

/// The taps for one resampling factor `D`.
struct Kernel {
    /// Decimation by `D`, a filter of `2 * HALF_TAPS * D - 1` taps (the source samples from
    /// `HALF_TAPS * D - 1` before the reading point to as many after it), split by source
    /// phase: branch `r` (`0..D - 1`) holds taps `r, D + r, 2D + r...`. The taps of phase
    /// `D - 1` are the sinc's zeros but the centre (`decimation_centre`): skipping them halves
    /// the work at x2.
    decimation: [[f32; BRANCH_TAPS]; MAX_FACTOR - 1],
    /// The centre tap of the decimation filter.
    decimation_centre: f32,
    /// Interpolation by `D`: branch `b` (`0..D - 1`) reads the point `(b + 1) / D` past source
    /// sample `m`, its taps for samples `m - HALF_TAPS + 1 ..= m + HALF_TAPS`.
    interpolation: [[f32; BRANCH_TAPS]; MAX_FACTOR - 1],
}

/// The kernels for factors 2 and 4.
static KERNELS: LazyLock<[Kernel; 2]> = LazyLock::new(|| [Kernel::new(2), Kernel::new(4)]);

/// Computes the kernels (a few thousand sines). Call off the audio thread before it reads a loop
/// at speed, so that it never computes them.
pub fn prepare_kernels() {
    LazyLock::force(&KERNELS);
}

/// The kernel at distance `d` input samples: a sinc with its cutoff at `cutoff` times the input's
/// Nyquist frequency (unity gain at DC), under a Blackman window `half_width` samples wide.
pub fn windowed_sinc(d: f64, cutoff: f64, half_width: f64) -> f64 {
    if d.abs() >= half_width {
        return 0.0;
    }
    let arg = std::f64::consts::PI * d * cutoff;
    let sinc = if arg == 0.0 { 1.0 } else { arg.sin() / arg };
    let p = (d / half_width + 1.0) * std::f64::consts::PI;
    let window = 0.42 - 0.5 * p.cos() + 0.08 * (2.0 * p).cos();
    sinc * cutoff * window
}

/// `taps` scaled to sum to 1 (a constant plays at its level), as `f32`.
fn normalized(taps: impl Iterator<Item = f64> + Clone, out: &mut [f32]) {
    let sum: f64 = taps.clone().sum();
    for (o, tap) in out.iter_mut().zip(taps) {
        *o = (tap / sum) as f32;
    }
}

impl Kernel {
    fn new(factor: usize) -> Self {
        let mut kernel = Self {
            decimation: [[0.0; BRANCH_TAPS]; MAX_FACTOR - 1],
            decimation_centre: 0.0,
            interpolation: [[0.0; BRANCH_TAPS]; MAX_FACTOR - 1],
        };
        let d = factor as f64;
        let reach = HALF_TAPS * factor - 1;
        let taps = (0..2 * reach + 1).map(|j| {
            windowed_sinc(
                j as f64 - reach as f64,
                1.0 / d,
                (HALF_TAPS * factor) as f64,
            )
        });
        let mut dense = [0.0; MAX_DECIMATION_TAPS];
        normalized(taps, &mut dense);
        for (r, branch) in kernel.decimation[..factor - 1].iter_mut().enumerate() {
            for (m, tap) in branch.iter_mut().enumerate() {
                *tap = dense[m * factor + r];
            }
        }
        kernel.decimation_centre = dense[reach];
        for (b, branch) in kernel.interpolation[..factor - 1].iter_mut().enumerate() {
            let offset = (b + 1) as f64 / d;
            let taps = (0..BRANCH_TAPS).map(|j| {
                windowed_sinc(
                    offset + (HALF_TAPS - 1) as f64 - j as f64,
                    1.0,
                    HALF_TAPS as f64,
                )
            });
            normalized(taps, branch);
        }
        kernel
    }
}

/// `out[n] += tap * source[n]` for every `n` of `out` (vectorized). Filters here sum their taps
/// in this way, one tap over a whole run at a time, always in the same order, so a reading never
/// depends on where a block was split.
#[inline]
fn accumulate(out: &mut [f32], tap: f32, source: &[f32]) {
    for (o, s) in out.iter_mut().zip(source) {
        *o += tap * s;
    }
}

/// A loop as the resampler reads it: `read(index, out)` fills `out` with the loop's samples from
/// `index` on (never past its end), `length_samples` long; `reversed` reads it backwards (sample
/// `k` of the reversed loop is `L - 1 - k`).
pub struct LoopReader<F: Fn(u64, &mut [f32])> {
    /// Fills a stretch of the loop that does not wrap.
    pub read: F,
    /// The loop's length, in samples (at least 1).
    pub length_samples: u64,
    /// Reading the time-reversed loop.
    pub reversed: bool,
}

impl<F: Fn(u64, &mut [f32])> LoopReader<F> {
    /// Samples `first..first + out.len()` of the (possibly reversed) loop, wrapping around its
    /// seam; `first` may lie before 0 (the end of the previous pass).
    fn gather(&self, first: i128, out: &mut [f32]) {
        let length = self.length_samples;
        let n = out.len() as i128;
        // The reversed loop's stretch is the forward loop's `L - first - n ..`, backwards.
        let forward_first = if self.reversed {
            length as i128 - first - n
        } else {
            first
        };
        let mut index = forward_first.rem_euclid(length as i128) as u64;
        let mut done = 0;
        while done < out.len() {
            let run = (out.len() - done).min((length - index) as usize);
            (self.read)(index, &mut out[done..done + run]);
            done += run;
            index = (index + run as u64) % length;
        }
        if self.reversed {
            out.reverse();
        }
    }

    /// `out.len()` (at most [`RUN_FRAMES`]) samples of the loop played at `speed`, the first
    /// read at `at`, each next one a `1 / subdivisions` of `step` source samples further.
    pub fn read_run(&self, speed: Speed, at: ReadPosition, out: &mut [f32]) {
        debug_assert!(out.len() <= RUN_FRAMES);
        let mut source = [0.0f32; MAX_SPAN];
        let (step, subdivisions) = (speed.step() as usize, speed.subdivisions() as usize);
        let frames = out.len().min(RUN_FRAMES);
        let index = i128::from(at.index);
        let out = &mut out[..frames];
        if step == 1 && subdivisions == 1 {
            self.gather(index, out);
        } else if step > 1 {
            let kernel = &KERNELS[step / 4];
            let reach = HALF_TAPS * step - 1;
            let span = step * (frames.max(1) - 1) + 2 * reach + 1;
            self.gather(index - reach as i128, &mut source[..span]);
            // Output i's taps read samples `i..i + BRANCH_TAPS` of each source phase.
            let mut phases = [[0.0f32; MAX_STREAM]; MAX_FACTOR - 1];
            let stream = frames + BRANCH_TAPS - 1;
            for (r, phase) in phases[..step - 1].iter_mut().enumerate() {
                for (k, sample) in phase[..stream].iter_mut().enumerate() {
                    *sample = source[k * step + r];
                }
            }
            out.fill(0.0);
            for (phase, taps) in phases.iter().zip(&kernel.decimation[..step - 1]) {
                for (m, &tap) in taps.iter().enumerate() {
                    accumulate(out, tap, &phase[m..]);
                }
            }
            let centre = (reach..).step_by(step);
            for (o, k) in out.iter_mut().zip(centre) {
                *o += kernel.decimation_centre * source[k];
            }
        } else {
            let kernel = &KERNELS[subdivisions / 4];
            let phase = at.phase as usize;
            let last = (phase + frames.max(1) - 1) / subdivisions;
            let span = last + BRANCH_TAPS;
            self.gather(index - (HALF_TAPS - 1) as i128, &mut source[..span]);
            // Branch b reads the outputs `first, first + D...`, at source `m, m + 1...`.
            for branch in 0..subdivisions {
                let first = (branch + subdivisions - phase) % subdivisions;
                if first >= frames {
                    continue;
                }
                let count = (frames - first).div_ceil(subdivisions);
                let m = (phase + first) / subdivisions;
                let points = out[first..].iter_mut().step_by(subdivisions);
                if branch == 0 {
                    for (o, &sample) in points.zip(&source[m + HALF_TAPS - 1..]) {
                        *o = sample;
                    }
                    continue;
                }
                let mut sums = [0.0f32; RUN_FRAMES];
                for (j, &tap) in kernel.interpolation[branch - 1].iter().enumerate() {
                    accumulate(&mut sums[..count], tap, &source[m + j..]);
                }
                for (o, &sum) in points.zip(&sums[..count]) {
                    *o = sum;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f64 = 48_000.0;

    fn speed(octaves: i8) -> Speed {
        Speed::from_octaves(octaves).unwrap()
    }

    /// The magnitude (linear) of a FIR's response at `freq` (cycles per sample).
    fn response(taps: &[f32], freq: f64) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (n, &tap) in taps.iter().enumerate() {
            let w = std::f64::consts::TAU * freq * n as f64;
            re += f64::from(tap) * w.cos();
            im -= f64::from(tap) * w.sin();
        }
        re.hypot(im)
    }

    /// The interpolation filter at `factor` times the rate, scaled to unity gain: the branches
    /// interleaved with the unit sample (branch `b` reads `b / D` past a sample, `b = 0` the
    /// sample itself), in the order of their distance from the reading point.
    fn interpolation_filter(factor: usize) -> Vec<f32> {
        let kernel = &KERNELS[factor / 4];
        let mut taps = vec![0.0; BRANCH_TAPS * factor];
        for j in 0..BRANCH_TAPS {
            taps[j * factor + factor - 1] = if j == HALF_TAPS - 1 { 1.0 } else { 0.0 };
            for b in 1..factor {
                taps[j * factor + factor - 1 - b] = kernel.interpolation[b - 1][j];
            }
        }
        taps.iter().map(|t| t / factor as f32).collect()
    }

    /// The decimation filter's taps in order, from its branches and centre.
    fn decimation_filter(factor: usize) -> Vec<f32> {
        let kernel = &KERNELS[factor / 4];
        let mut taps = vec![0.0; 2 * HALF_TAPS * factor - 1];
        for (j, tap) in taps.iter_mut().enumerate() {
            let (m, r) = (j / factor, j % factor);
            *tap = match r {
                _ if r < factor - 1 => kernel.decimation[r][m],
                _ if m == HALF_TAPS - 1 => kernel.decimation_centre,
                _ => 0.0,
            };
        }
        taps
    }

    #[test]
    fn the_decimation_taps_skipped_are_the_sincs_zeros() {
        for factor in [2usize, 4] {
            let reach = HALF_TAPS * factor - 1;
            let half_width = (HALF_TAPS * factor) as f64;
            for j in (factor - 1..2 * reach + 1).step_by(factor) {
                let tap = windowed_sinc(j as f64 - reach as f64, 1.0 / factor as f64, half_width);
                assert!(j == reach || tap.abs() < 1e-12, "x{factor} tap {j}: {tap}");
            }
        }
    }

    fn db(x: f64) -> f64 {
        20.0 * x.log10()
    }

    #[test]
    fn the_filters_pass_to_0_8_and_stop_from_1_2_of_the_new_nyquist_frequency() {
        for factor in [2usize, 4] {
            let nyquist = 0.5 / factor as f64;
            let decimation = &decimation_filter(factor);
            let interpolation = interpolation_filter(factor);
            for (name, taps) in [
                ("decimation", decimation),
                ("interpolation", &interpolation),
            ] {
                let gain = |f: f64| db(response(taps, f));
                for k in 0..=100 {
                    let f = 0.8 * nyquist * k as f64 / 100.0;
                    assert!(
                        gain(f).abs() < 0.01,
                        "{name} x{factor}: {} dB at {f}",
                        gain(f)
                    );
                }
                for k in 0..=200 {
                    let f = 1.2 * nyquist + (0.5 - 1.2 * nyquist) * k as f64 / 200.0;
                    assert!(gain(f) < -70.0, "{name} x{factor}: {} dB at {f}", gain(f));
                }
            }
        }
    }

    /// A loop of `length` samples of `f(index)`, read at `speed` from time 0 (origin 0) for
    /// `frames` samples, in runs of `run` samples.
    fn play(
        f: impl Fn(u64) -> f32,
        length: u64,
        speed: Speed,
        reversed: bool,
        frames: usize,
        run: usize,
    ) -> Vec<f32> {
        let audio: Vec<f32> = (0..length).map(f).collect();
        let reader = LoopReader {
            read: |index: u64, out: &mut [f32]| {
                out.copy_from_slice(&audio[index as usize..index as usize + out.len()])
            },
            length_samples: length,
            reversed,
        };
        let mut out = vec![0.0; frames];
        for (n, chunk) in out.chunks_mut(run).enumerate() {
            let at = speed.position((n * run) as u64, 0, length);
            reader.read_run(speed, at, chunk);
        }
        out
    }

    fn sine(freq_hz: f64) -> impl Fn(u64) -> f32 {
        move |t| (0.5 * (std::f64::consts::TAU * freq_hz * t as f64 / RATE).sin()) as f32
    }

    /// The amplitude of `x` at `freq_hz`, by correlation with a sine and a cosine.
    fn level_at(x: &[f32], freq_hz: f64) -> f64 {
        let (mut s, mut c) = (0.0, 0.0);
        for (t, &v) in x.iter().enumerate() {
            let w = std::f64::consts::TAU * freq_hz * t as f64 / RATE;
            s += f64::from(v) * w.sin();
            c += f64::from(v) * w.cos();
        }
        2.0 * s.hypot(c) / x.len() as f64
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn a_1_khz_sine_at_x2_comes_out_at_2_khz() {
        // 48 000 samples hold 1 000 whole periods: the loop's seam is part of the sine.
        let out = play(sine(1_000.0), 48_000, speed(1), false, 24_000, RUN_FRAMES);
        let expected: Vec<f32> = (0..24_000).map(sine(2_000.0)).collect();
        let worst = out
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-4, "{worst}");
    }

    #[test]
    fn x1_2_of_a_sine_is_a_clean_half_frequency_sine() {
        let out = play(sine(3_000.0), 48_000, speed(-1), false, 96_000, RUN_FRAMES);
        let expected: Vec<f32> = (0..96_000).map(sine(1_500.0)).collect();
        let error: Vec<f32> = out.iter().zip(&expected).map(|(a, b)| a - b).collect();
        // Everything but the half-frequency sine (images at 24 - 1.5 kHz...) is 90 dB down.
        assert!(
            db(rms(&error) / rms(&expected)) < -90.0,
            "{}",
            db(rms(&error))
        );
        let quarter = play(sine(4_000.0), 48_000, speed(-2), false, 96_000, RUN_FRAMES);
        let expected: Vec<f32> = (0..96_000).map(sine(1_000.0)).collect();
        let error: Vec<f32> = quarter.iter().zip(&expected).map(|(a, b)| a - b).collect();
        assert!(
            db(rms(&error) / rms(&expected)) < -90.0,
            "{}",
            db(rms(&error))
        );
    }

    #[test]
    fn a_tone_above_the_new_nyquist_frequency_is_suppressed_by_60_db() {
        // 15 kHz at x2 would be 30 kHz, aliased to 18 kHz; at x4 7 kHz would alias to 20 kHz.
        for (octaves, freq_hz) in [(1, 15_000.0), (1, 20_000.0), (2, 7_000.0), (2, 11_000.0)] {
            let out = play(
                sine(freq_hz),
                48_000,
                speed(octaves),
                false,
                12_000,
                RUN_FRAMES,
            );
            let level = db(rms(&out) / (0.5 / std::f64::consts::SQRT_2));
            assert!(
                level < -60.0,
                "{freq_hz} Hz at x{}: {level} dB",
                1 << octaves
            );
        }
        // ... while what fits passes at its level.
        let out = play(sine(5_000.0), 48_000, speed(1), false, 12_000, RUN_FRAMES);
        let level = level_at(&out, 10_000.0) / 0.5;
        assert!((db(level)).abs() < 0.01, "{}", db(level));
    }

    #[test]
    fn the_reading_wraps_across_the_seam_and_backwards() {
        // A ramp loop: at x2 the output at the seam reads both ends (the filter's response to
        // the jump), the reversed loop is the same read in mirror.
        let ramp = |t: u64| t as f32;
        let forward = play(ramp, 1_000, speed(-1), false, 4_000, 7);
        let backward = play(|t| 999.0 - t as f32, 1_000, speed(-1), true, 4_000, 7);
        assert_eq!(forward, backward, "the reversed reversed loop is the loop");
        assert_eq!(
            forward[1000..1004],
            [500.0, forward[1001], 501.0, forward[1003]]
        );
        assert!(
            (forward[1001] - 500.5).abs() < 1e-2,
            "half-way: {}",
            forward[1001]
        );
        assert_eq!(forward[2000], 0.0, "the start after 2 L");
        // Half-way across the seam, between 999 and 0, the filter hears both ends of the loop.
        assert!((forward[1999] - 499.5).abs() < 50.0, "{}", forward[1999]);
        // A constant plays at its level through the seam at every speed.
        for octaves in -2..=2 {
            let out = play(|_| 0.25, 333, speed(octaves), octaves < 0, 2_000, 64);
            assert!(out.iter().all(|s| (s - 0.25).abs() < 1e-6), "x{octaves}");
        }
    }

    #[test]
    fn the_output_does_not_depend_on_how_the_runs_are_cut() {
        let noise = |t: u64| ((t.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f32) / 1e7 - 0.8;
        for octaves in -2..=2 {
            let whole = play(noise, 777, speed(octaves), false, 3_000, RUN_FRAMES);
            for run in [1, 3, 17, 63] {
                assert_eq!(whole, play(noise, 777, speed(octaves), false, 3_000, run));
            }
        }
    }
}
