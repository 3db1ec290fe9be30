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

/// Coefficients for one cutoff and resonance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SvfCoefficients {
    /// Damping, 1 / Q.
    k: f32,
    a1: f32,
    a2: f32,
    a3: f32,
}

impl SvfCoefficients {
    /// Coefficients for `cutoff_hz` (clamped below Nyquist) and `q` (0.5 gentle ..= 10 sharp).
    pub fn new(cutoff_hz: f32, q: f32, sample_rate_hz: f32) -> Self {
        let cutoff = cutoff_hz.clamp(10.0, 0.49 * sample_rate_hz);
        let g = (PI * cutoff / sample_rate_hz).tan();
        let k = 1.0 / q.clamp(0.5, 10.0);
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        Self {
            k,
            a1,
            a2,
            a3: g * a2,
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
    pub fn process(&mut self, x: f32, c: &SvfCoefficients, mode: FilterMode) -> f32 {
        let v3 = x - self.ic2eq;
        let v1 = c.a1 * self.ic1eq + c.a2 * v3;
        let v2 = self.ic2eq + c.a2 * self.ic1eq + c.a3 * v3;
        self.ic1eq = 2.0 * v1 - self.ic1eq;
        self.ic2eq = 2.0 * v2 - self.ic2eq;
        match mode {
            FilterMode::LowPass => v2,
            FilterMode::HighPass => x - c.k * v1 - v2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steady-state RMS gain of the filter for a sine at `freq_hz`.
    fn gain_at(freq_hz: f32, mode: FilterMode) -> f32 {
        let rate = 48_000.0;
        let c = SvfCoefficients::new(1_000.0, std::f32::consts::FRAC_1_SQRT_2, rate);
        let mut svf = Svf::default();
        let (mut in_power, mut out_power) = (0.0, 0.0);
        for t in 0..96_000 {
            let x = (2.0 * PI * freq_hz * t as f32 / rate).sin();
            let y = svf.process(x, &c, mode);
            if t >= 48_000 {
                in_power += x * x;
                out_power += y * y;
            }
        }
        (out_power / in_power).sqrt()
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
