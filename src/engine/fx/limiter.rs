//! A look-ahead-free peak limiter: the gain drops at once to what keeps the sample at the
//! ceiling (so no sample ever exceeds it), then recovers smoothly. It never outputs NaN or
//! infinity.

/// Release time constant, in seconds.
const RELEASE_SECS: f32 = 0.1;

/// Limiter state for a stereo pair (the gain is linked).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limiter {
    /// Current gain (linear, <= 1).
    gain: f32,
    /// Per-sample recovery coefficient toward unity.
    release: f32,
}

impl Limiter {
    /// A limiter at `sample_rate_hz`, at unity gain.
    pub fn new(sample_rate_hz: f32) -> Self {
        Self {
            gain: 1.0,
            release: 1.0 - (-1.0 / (RELEASE_SECS * sample_rate_hz)).exp(),
        }
    }

    /// Limits one stereo frame to `ceiling` (linear, > 0). A NaN or infinite sample becomes
    /// silence and does not move the gain: the limiter is the PA's last stage, and `clamp`
    /// keeps a NaN.
    #[inline]
    pub fn process(&mut self, frame: [f32; 2], ceiling: f32) -> [f32; 2] {
        let frame = frame.map(|x| if x.is_finite() { x } else { 0.0 });
        let peak = frame[0].abs().max(frame[1].abs());
        let needed = if peak > ceiling { ceiling / peak } else { 1.0 };
        self.gain = (self.gain + (1.0 - self.gain) * self.release).min(needed);
        // Rounding of `ceiling / peak * x` can land one ulp above; clamp keeps the promise.
        frame.map(|x| (x * self.gain).clamp(-ceiling, ceiling))
    }

    /// Current gain reduction (linear gain, 1 = none), for meters.
    pub fn gain(&self) -> f32 {
        self.gain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_exceeds_the_ceiling_and_is_unity_below_it() {
        for rate in [44_100.0, 48_000.0, 96_000.0] {
            let mut limiter = Limiter::new(rate);
            let ceiling = 10f32.powf(-1.0 / 20.0);
            let overdriven = 10f32.powf(12.0 / 20.0);
            let mut peak: f32 = 0.0;
            for t in 0..(rate as usize) {
                let x = (t as f32 * 0.0371).sin() * overdriven;
                let y = limiter.process([x, -0.5 * x], ceiling);
                peak = peak.max(y[0].abs()).max(y[1].abs());
            }
            assert!(
                peak <= ceiling,
                "{rate} Hz: peak {peak} above ceiling {ceiling}"
            );
            // Below the ceiling, after release, the limiter is transparent.
            for _ in 0..(rate as usize) {
                limiter.process([0.1, 0.1], ceiling);
            }
            let quiet = limiter.process([0.3, -0.2], ceiling);
            assert!((quiet[0] - 0.3).abs() < 1e-4 && (quiet[1] + 0.2).abs() < 1e-4);
        }
    }

    #[test]
    fn never_passes_nan_or_infinity_and_does_not_duck_for_them() {
        let mut limiter = Limiter::new(48_000.0);
        let ceiling = 0.5;
        // Not-numbers become silence and leave the gain alone: the sound beside them and after
        // them is untouched.
        let nan = f32::from_bits(0xFFC0_1234);
        assert_eq!(limiter.process([f32::NAN, 0.3], ceiling), [0.0, 0.3]);
        assert_eq!(
            limiter.process([f32::INFINITY, f32::NEG_INFINITY], ceiling),
            [0.0, 0.0]
        );
        assert_eq!(limiter.process([-0.2, nan], ceiling), [-0.2, 0.0]);
        assert_eq!(limiter.process([0.2, -0.3], ceiling), [0.2, -0.3]);
        // The largest finite peak is limited like any other.
        let out = limiter.process([f32::MAX, -f32::MAX], ceiling);
        assert!(out.iter().all(|y| y.abs() <= ceiling), "{out:?}");
    }
}
