//! A state-variable filter (the topology-preserving "SVF" of Andrew Simper), low- or high-pass,
//! stable under fast cutoff changes, so cutoff ramps never blow up.

use std::f32::consts::PI;

/// Which side of the cutoff passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterMode {
    /// Passes below the cutoff.
    LowPass,
    /// Passes above the cutoff.
    HighPass,
}

/// Coefficients for one cutoff, resonance and mode, in the SVF's state-space form: the state
/// update is written as increments, `ic' = ic + E ic + b x`, and the output as `y = c ic + d x`.
/// The same filter as the textbook form (the same trapezoidal integrator states, so just as
/// stable under modulation), but its recursion is one multiply and two adds deep instead of
/// five operations, which is what bounds a per-sample filter's speed; and the mode is folded
/// into `c` and `d`, so the loop has no branch. The increments keep precision at low cutoffs,
/// where `E` is tiny next to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SvfCoefficients {
    /// `E` (row-major) and `b` of the state update.
    e11: f32,
    e12: f32,
    e21: f32,
    e22: f32,
    b1: f32,
    b2: f32,
    /// `c` and `d` of the output.
    c1: f32,
    c2: f32,
    d: f32,
}

impl SvfCoefficients {
    /// Coefficients for `cutoff_hz` (clamped below Nyquist), `q` (0.5 gentle ..= 10 sharp) and
    /// `mode`.
    pub fn new(cutoff_hz: f32, q: f32, mode: FilterMode, sample_rate_hz: f32) -> Self {
        let cutoff = cutoff_hz.clamp(10.0, 0.49 * sample_rate_hz);
        let g = (PI * cutoff / sample_rate_hz).tan();
        let k = 1.0 / q.clamp(0.5, 10.0);
        // The textbook form: v3 = x - ic2, v1 = a1 ic1 + a2 v3, v2 = ic2 + a2 ic1 + a3 v3,
        // ic1' = 2 v1 - ic1, ic2' = 2 v2 - ic2; low-pass v2, high-pass x - k v1 - v2.
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        let a3 = g * a2;
        let (c1, c2, d) = match mode {
            FilterMode::LowPass => (a2, 1.0 - a3, a3),
            FilterMode::HighPass => (-(k * a1 + a2), k * a2 - (1.0 - a3), 1.0 - k * a2 - a3),
        };
        Self {
            // 2 a1 - 2, computed without the cancellation.
            e11: -2.0 * g * (g + k) * a1,
            e12: -2.0 * a2,
            e21: 2.0 * a2,
            e22: -2.0 * a3,
            b1: 2.0 * a2,
            b2: 2.0 * a3,
            c1,
            c2,
            d,
        }
    }
}

/// Filter state for one channel.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Svf {
    ic1eq: f32,
    ic2eq: f32,
}

impl Svf {
    /// Filters one sample.
    #[inline]
    pub fn process(&mut self, x: f32, c: &SvfCoefficients) -> f32 {
        let (s1, s2) = (self.ic1eq, self.ic2eq);
        let y = c.c1 * s1 + c.c2 * s2 + c.d * x;
        // Grouped so that each state waits on one multiply and two adds of its own.
        self.ic1eq = (s1 + c.e11 * s1) + (c.e12 * s2 + c.b1 * x);
        self.ic2eq = (s2 + c.e22 * s2) + (c.e21 * s1 + c.b2 * x);
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steady-state RMS gain of the filter for a sine at `freq_hz`.
    fn gain_at(freq_hz: f32, mode: FilterMode) -> f32 {
        let rate = 48_000.0;
        let c = SvfCoefficients::new(1_000.0, std::f32::consts::FRAC_1_SQRT_2, mode, rate);
        let mut svf = Svf::default();
        let (mut in_power, mut out_power) = (0.0, 0.0);
        for t in 0..96_000 {
            let x = (2.0 * PI * freq_hz * t as f32 / rate).sin();
            let y = svf.process(x, &c);
            if t >= 48_000 {
                in_power += x * x;
                out_power += y * y;
            }
        }
        (out_power / in_power).sqrt()
    }

    /// The textbook SVF (Simper's form), in f64: the reference.
    fn textbook(x: &[f32], cutoff_hz: &dyn Fn(usize) -> f32, q: f32, mode: FilterMode) -> Vec<f64> {
        let (mut ic1, mut ic2) = (0.0f64, 0.0f64);
        let rate = 48_000.0f64;
        (x.iter().enumerate())
            .map(|(t, &x)| {
                let g = (std::f64::consts::PI * f64::from(cutoff_hz(t)) / rate).tan();
                let k = 1.0 / f64::from(q);
                let a1 = 1.0 / (1.0 + g * (g + k));
                let (a2, x) = (g * a1, f64::from(x));
                let a3 = g * a2;
                let v3 = x - ic2;
                let v1 = a1 * ic1 + a2 * v3;
                let v2 = ic2 + a2 * ic1 + a3 * v3;
                ic1 = 2.0 * v1 - ic1;
                ic2 = 2.0 * v2 - ic2;
                match mode {
                    FilterMode::LowPass => v2,
                    FilterMode::HighPass => x - k * v1 - v2,
                }
            })
            .collect()
    }

    #[test]
    fn the_state_space_form_is_the_textbook_filter_from_10_hz_to_nyquist() {
        let rate = 48_000.0;
        let mut seed = 1u32;
        let noise: Vec<f32> = (0..48_000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect();
        let sweep = |t: usize| 10.0 * 2000f32.powf(t as f32 / 48_000.0);
        let fixed: [&dyn Fn(usize) -> f32; 4] = [&|_| 10.0, &|_| 1_000.0, &|_| 20_000.0, &sweep];
        for cutoff in fixed {
            for q in [0.5, std::f32::consts::FRAC_1_SQRT_2, 10.0] {
                for mode in [FilterMode::LowPass, FilterMode::HighPass] {
                    let reference = textbook(&noise, cutoff, q, mode);
                    let mut svf = Svf::default();
                    let worst = (noise.iter().enumerate())
                        .map(|(t, &x)| {
                            let c = SvfCoefficients::new(cutoff(t), q, mode, rate);
                            (f64::from(svf.process(x, &c)) - reference[t]).abs()
                        })
                        .fold(0.0, f64::max);
                    // f32 against f64 over 48 000 samples of full-scale noise (the f32 textbook form itself
                    // is off by up to 4e-5 at Q 10).
                    assert!(
                        worst < 2e-4,
                        "cutoff {} Hz, q {q}, {mode:?}: {worst}",
                        cutoff(0)
                    );
                }
            }
        }
    }

    #[test]
    fn low_pass_attenuates_above_the_cutoff_and_high_pass_below() {
        let db = |g: f32| 20.0 * g.log10();
        // Butterworth (Q = 0.707): -3 dB at the cutoff, -12 dB/octave beyond.
        assert!((db(gain_at(1_000.0, FilterMode::LowPass)) + 3.0).abs() < 0.3);
        assert!(db(gain_at(100.0, FilterMode::LowPass)).abs() < 0.1);
        assert!(db(gain_at(8_000.0, FilterMode::LowPass)) < -34.0);
        assert!(db(gain_at(125.0, FilterMode::HighPass)) < -34.0);
        assert!(db(gain_at(10_000.0, FilterMode::HighPass)).abs() < 0.1);
    }
}
