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
/// Source samples either side of an x2 reading point under the filter.
const X2_REACH: usize = 2 * HALF_TAPS - 1;
/// Source samples an x2 run can need: 2 per output sample and the filter's width.
const X2_SPAN: usize = 2 * (RUN_FRAMES - 1) + 2 * X2_REACH + 1;
/// Half-way points an x1/2 run computes (at most `RUN_FRAMES / 2` are heard; one more keeps the
/// on-sample and half-way points paired).
const X1_2_POINTS: usize = RUN_FRAMES / 2 + 1;

/// Source samples a reading at `speed` looks either side of its position (0 at normal speed).
pub fn reach_samples(speed: Speed) -> u64 {
    match (speed.step() as usize, speed.subdivisions()) {
        (1, 1) => 0,
        (1, _) => HALF_TAPS as u64,
        (step, _) => (HALF_TAPS * step - 1) as u64,
    }
}

/// The taps for one resampling factor `D` (4: x2 and x1/2 read through [`HalfBand`]).
struct Kernel {
    /// The resampling factor `D` (2 or 4).
    factor: usize,
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

/// The half-band low-pass x2 and x1/2 read through: the Blackman-windowed sinc with its cutoff
/// at half the higher rate's Nyquist frequency, `HALF_TAPS` samples of the lower rate either
/// side. A half-band filter's taps at even distances (in samples of the higher rate) are the
/// sinc's zeros but the centre; what is left are the taps at the half-way distances of the lower
/// rate, the same on both sides. So an x1/2 point half-way between two source samples is
/// [`half_band`] of the source around it (its points on a sample are that sample), and an x2
/// reading is the source sample at its point and [`half_band`] of the samples at odd distances
/// from it, weighted (about 1/2 each): 16 products and 32 sums per point either way.
struct HalfBand {
    /// `taps[k]`: the weight of each of the two samples `k + 1/2` lower-rate samples either side
    /// of a half-way point; all `2 * HALF_TAPS` weights sum to 1.
    taps: [f32; HALF_TAPS],
    /// x2: the weight of the source sample at the reading point (the filter's centre tap, with
    /// all its taps normalized to sum to 1, as at x4).
    centre_weight: f32,
    /// x2: the weight of the half-way filter of the samples at odd distances (`1 - centre`).
    odd_weight: f32,
}

impl HalfBand {
    fn new() -> Self {
        let distances = (0..BRANCH_TAPS).map(|j| j as f64 - (HALF_TAPS as f64 - 0.5));
        let both_sides = distances.map(|d| windowed_sinc(d, 1.0, HALF_TAPS as f64));
        let mut branch = [0.0; BRANCH_TAPS];
        normalized(both_sides.clone(), &mut branch);
        let mut taps = [0.0; HALF_TAPS];
        // `branch[HALF_TAPS + k]` is at distance `k + 1/2`.
        taps.copy_from_slice(&branch[HALF_TAPS..]);
        // At the higher rate the centre tap is the cutoff, 1/2, the others half these.
        let odd_sum: f64 = both_sides.map(|tap| tap / 2.0).sum();
        let centre_weight = 0.5 / (0.5 + odd_sum);
        Self {
            taps,
            centre_weight: centre_weight as f32,
            odd_weight: (1.0 - centre_weight) as f32,
        }
    }
}

/// The filter of x2 and x1/2.
static HALF_BAND: LazyLock<HalfBand> = LazyLock::new(HalfBand::new);
/// The kernel of x4 and x1/4.
static KERNEL_X4: LazyLock<Kernel> = LazyLock::new(|| Kernel::new(4));

/// Computes the kernels (a few thousand sines). Call off the audio thread before it reads a loop
/// at speed, so that it never computes them.
pub fn prepare_kernels() {
    LazyLock::force(&HALF_BAND);
    LazyLock::force(&KERNEL_X4);
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
            factor,
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

/// `out[n]` for every `n`: the point half-way between `low[n + HALF_TAPS - 1]` and
/// `low[n + HALF_TAPS]` through the half-band filter, from `low[n..n + BRANCH_TAPS]` (`low`
/// holds at least `N + BRANCH_TAPS - 1` samples). 8 points at a time where the CPU has AVX, 4
/// otherwise: the same products and sums in the same order either way (no fused multiply-add),
/// so the output is the same to the bit on every machine.
#[inline]
fn half_band<const N: usize>(low: &[f32], out: &mut [f32; N]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU runs AVX instructions (checked just above; the check reads a cached
        // flag, it neither allocates nor locks).
        unsafe { half_band_avx(low, out) };
        return;
    }
    half_band_sums(low, out);
}

/// [`half_band_sums`] compiled for AVX (8 lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn half_band_avx<const N: usize>(low: &[f32], out: &mut [f32; N]) {
    half_band_sums(low, out);
}

/// The sums of [`half_band`]. Each point sums its pairs in the same order whatever the run, so
/// a reading never depends on where a block was split; the fixed sizes let the compiler
/// vectorize across points with no bounds checks.
#[inline(always)]
fn half_band_sums<const N: usize>(low: &[f32], out: &mut [f32; N]) {
    let taps = HALF_BAND.taps;
    let low = &low[..N + BRANCH_TAPS - 1];
    for (n, o) in out.iter_mut().enumerate() {
        let mut sum = 0.0;
        for (k, tap) in taps.iter().enumerate() {
            sum += tap * (low[n + HALF_TAPS - 1 - k] + low[n + HALF_TAPS + k]);
        }
        *o = sum;
    }
}

/// `(index + ahead - back) mod length` for an `index` below `length`, without overflow.
fn wrapped(index: u64, ahead: u64, back: u64, length: u64) -> u64 {
    let (ahead, back) = (ahead % length, back % length);
    let index = if index >= length - ahead {
        index - (length - ahead)
    } else {
        index + ahead
    };
    if index >= back {
        index - back
    } else {
        index + (length - back)
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
    /// Samples `index - before..index - before + out.len()` of the (possibly reversed) loop,
    /// wrapping around its seam (`index` below the loop's length, `before` may reach into the
    /// previous pass).
    fn gather(&self, index: u64, before: usize, out: &mut [f32]) {
        let length = self.length_samples;
        let n = out.len() as u64;
        debug_assert!(index < length);
        // The reversed loop's stretch is the forward loop's `L - (index - before) - n ..`,
        // backwards.
        let mut index = if self.reversed {
            wrapped(length - 1 - index, before as u64 + 1, n, length)
        } else {
            wrapped(index, 0, before as u64, length)
        };
        let mut done = 0;
        while done < out.len() {
            let run = (out.len() - done).min((length - index) as usize);
            (self.read)(index, &mut out[done..done + run]);
            done += run;
            index += run as u64;
            if index == length {
                index = 0;
            }
        }
        if self.reversed {
            out.reverse();
        }
    }

    /// `out.len()` (at most [`RUN_FRAMES`]) samples of the loop played at `speed`, the first
    /// read at `at`, each next one a `1 / subdivisions` of `step` source samples further.
    pub fn read_run(&self, speed: Speed, at: ReadPosition, out: &mut [f32]) {
        debug_assert!(out.len() <= RUN_FRAMES);
        let frames = out.len().min(RUN_FRAMES);
        let out = &mut out[..frames];
        if frames == 0 {
            return;
        }
        match (speed.step(), speed.subdivisions()) {
            (1, 1) => self.gather(at.index, 0, out),
            (2, _) => self.read_at_x2(at.index, out),
            (_, 2) => self.read_at_x1_2(at, out),
            (_, 1) => self.read_decimated(&KERNEL_X4, at.index, out),
            _ => self.read_interpolated(&KERNEL_X4, at, out),
        }
    }

    /// x2: the source sample at each reading point and the half-band filter of the samples at
    /// odd distances from it (the even samples of the stretch gathered), weighted.
    fn read_at_x2(&self, index: u64, out: &mut [f32]) {
        let mut source = [0.0f32; X2_SPAN];
        let span = 2 * (out.len() - 1) + 2 * X2_REACH + 1;
        self.gather(index, X2_REACH, &mut source[..span]);
        let mut odd_distances = [0.0f32; RUN_FRAMES + BRANCH_TAPS - 1];
        for (low, &sample) in odd_distances.iter_mut().zip(source.iter().step_by(2)) {
            *low = sample;
        }
        let mut filtered = [0.0f32; RUN_FRAMES];
        half_band(&odd_distances, &mut filtered);
        let (centre_weight, odd_weight) = (HALF_BAND.centre_weight, HALF_BAND.odd_weight);
        let centres = source[X2_REACH..].iter().step_by(2);
        for ((o, &centre), &odd) in out.iter_mut().zip(centres).zip(&filtered) {
            *o = centre_weight * centre + odd_weight * odd;
        }
    }

    /// x1/2: every other point is a source sample, the ones between them are the half-band
    /// filter's half-way points; `at.phase` (0 or 1) says which comes first.
    fn read_at_x1_2(&self, at: ReadPosition, out: &mut [f32]) {
        let mut source = [0.0f32; X1_2_POINTS + BRANCH_TAPS - 1];
        let last = (at.phase as usize + out.len() - 1) / 2;
        self.gather(at.index, HALF_TAPS - 1, &mut source[..last + BRANCH_TAPS]);
        let mut half_way = [0.0f32; X1_2_POINTS];
        half_band(&source, &mut half_way);
        let mut points = [0.0f32; 2 * X1_2_POINTS];
        let on_samples = &source[HALF_TAPS - 1..];
        for ((pair, &on), &between) in points.chunks_exact_mut(2).zip(on_samples).zip(&half_way) {
            pair[0] = on;
            pair[1] = between;
        }
        let first = at.phase as usize;
        out.copy_from_slice(&points[first..first + out.len()]);
    }

    /// Decimation by the kernel's factor through its branches.
    fn read_decimated(&self, kernel: &Kernel, index: u64, out: &mut [f32]) {
        let step = kernel.factor;
        let frames = out.len();
        let mut source = [0.0f32; MAX_SPAN];
        let reach = HALF_TAPS * step - 1;
        let span = step * (frames - 1) + 2 * reach + 1;
        self.gather(index, reach, &mut source[..span]);
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
    }

    /// Interpolation by the kernel's factor through its branches.
    fn read_interpolated(&self, kernel: &Kernel, at: ReadPosition, out: &mut [f32]) {
        let subdivisions = kernel.factor;
        let frames = out.len();
        let mut source = [0.0f32; MAX_SPAN];
        let phase = at.phase as usize;
        let last = (phase + frames - 1) / subdivisions;
        let span = last + BRANCH_TAPS;
        self.gather(at.index, HALF_TAPS - 1, &mut source[..span]);
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
    fn interpolation_filter(kernel: &Kernel) -> Vec<f32> {
        let factor = kernel.factor;
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
    fn decimation_filter(kernel: &Kernel) -> Vec<f32> {
        let factor = kernel.factor;
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

    /// The half-band filter at the higher rate with its centre tap and the others (`taps`)
    /// weighted: x2 reads the source through it with its own weights, and x1/2's interpolation
    /// filter is it with weights 1/2 (unity gain: the unit sample, halved, at its centre).
    fn half_band_filter(centre_weight: f32, odd_weight: f32) -> Vec<f32> {
        let mut taps = vec![0.0; 2 * X2_REACH + 1];
        taps[X2_REACH] = centre_weight;
        for (k, &tap) in HALF_BAND.taps.iter().enumerate() {
            taps[X2_REACH - 1 - 2 * k] = odd_weight * tap;
            taps[X2_REACH + 1 + 2 * k] = odd_weight * tap;
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
        for (name, factor, taps) in [
            (
                "half-band (x2)",
                2,
                half_band_filter(HALF_BAND.centre_weight, HALF_BAND.odd_weight),
            ),
            ("half-band (x1/2)", 2, half_band_filter(0.5, 0.5)),
            ("decimation (x4)", 4, decimation_filter(&KERNEL_X4)),
            ("interpolation (x1/4)", 4, interpolation_filter(&KERNEL_X4)),
        ] {
            let nyquist = 0.5 / factor as f64;
            let gain = |f: f64| db(response(&taps, f));
            for k in 0..=100 {
                let f = 0.8 * nyquist * k as f64 / 100.0;
                assert!(gain(f).abs() < 0.01, "{name}: {} dB at {f}", gain(f));
            }
            for k in 0..=200 {
                let f = 1.2 * nyquist + (0.5 - 1.2 * nyquist) * k as f64 / 200.0;
                assert!(gain(f) < -70.0, "{name}: {} dB at {f}", gain(f));
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

    #[test]
    fn the_half_band_paths_read_what_the_polyphase_kernel_at_factor_2_reads() {
        // The same half-band filter read the general way (per-phase branches, one tap at a time)
        // and the fast way: at every position and phase, both directions, across the seam.
        let noise = |t: u64| ((t.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f32) / 1e7 - 0.8;
        let audio: Vec<f32> = (0..101).map(noise).collect();
        let general = Kernel::new(2);
        for reversed in [false, true] {
            let reader = LoopReader {
                read: |index: u64, out: &mut [f32]| {
                    out.copy_from_slice(&audio[index as usize..index as usize + out.len()])
                },
                length_samples: audio.len() as u64,
                reversed,
            };
            for index in 0..audio.len() as u64 {
                for frames in [1, 2, 5, RUN_FRAMES - 1, RUN_FRAMES] {
                    let (mut fast, mut slow) = ([0.0; RUN_FRAMES], [0.0; RUN_FRAMES]);
                    let at = ReadPosition { index, phase: 0 };
                    reader.read_run(speed(1), at, &mut fast[..frames]);
                    reader.read_decimated(&general, index, &mut slow[..frames]);
                    for (a, b) in fast.iter().zip(&slow) {
                        assert!((a - b).abs() < 1e-6, "x2 at {index}: {a} vs {b}");
                    }
                    for phase in [0, 1] {
                        let at = ReadPosition { index, phase };
                        reader.read_run(speed(-1), at, &mut fast[..frames]);
                        reader.read_interpolated(&general, at, &mut slow[..frames]);
                        for (a, b) in fast.iter().zip(&slow) {
                            assert!((a - b).abs() < 1e-6, "x1/2 at {index}.{phase}: {a} vs {b}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn at_x2_and_x1_2_a_tone_plays_at_its_level_and_its_alias_or_image_is_70_db_down() {
        // (loop tone, speed, heard tone, its alias at x2 or image at x1/2), all in Hz: x2 folds
        // 15 kHz (heard 30 kHz) to 18 kHz; x1/2 of 18 kHz is 9 kHz, its image 24 - 9 = 15 kHz.
        for (tone_hz, octaves, heard_hz, ghost_hz) in [
            (9_000.0, 1, Some(18_000.0), None),
            (15_000.0, 1, None, Some(18_000.0)),
            (18_000.0, -1, Some(9_000.0), Some(15_000.0)),
            (3_000.0, -1, Some(1_500.0), Some(22_500.0)),
        ] {
            let out = play(sine(tone_hz), 48_000, speed(octaves), false, 24_000, 50);
            if let Some(ghost_hz) = ghost_hz {
                let ghost = db(level_at(&out, ghost_hz) / 0.5);
                assert!(
                    ghost < -70.0,
                    "{tone_hz} Hz at x2^{octaves}: {ghost} dB at {ghost_hz}"
                );
            }
            if let Some(heard_hz) = heard_hz {
                let level = db(level_at(&out, heard_hz) / 0.5);
                assert!(
                    level.abs() < 0.01,
                    "{tone_hz} Hz at x2^{octaves}: {level} dB"
                );
            }
        }
    }

    #[test]
    fn the_half_band_sums_are_the_same_to_the_bit_with_or_without_avx() {
        let noise = |t: u64| ((t.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f32) / 1e7 - 0.8;
        let low: Vec<f32> = (0..RUN_FRAMES as u64 + 31).map(noise).collect();
        let (mut dispatched, mut plain) = ([0.0; RUN_FRAMES], [0.0; RUN_FRAMES]);
        half_band(&low, &mut dispatched);
        half_band_sums(&low, &mut plain);
        assert_eq!(dispatched, plain);
        assert!(plain.iter().all(|x| x.abs() > 0.0));
    }
}
