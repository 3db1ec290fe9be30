//! Linear ramps: the one mechanism for every transition that spans blocks (fades, gain jumps,
//! mutes, undo fade-outs). A ramp is advanced per sample from an integer counter, so its value at
//! a given sample never depends on how the host split the audio into blocks.
//!
//! Realtime: everything here runs on the audio thread; nothing allocates.

/// A gain (or any scalar) that moves linearly to a target over a whole number of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    /// Value at the start of the current ramp.
    start: f32,
    /// Value the ramp ends at, and holds afterwards.
    target: f32,
    /// Length of the current ramp in samples (at least 1 while ramping).
    length_samples: u32,
    /// Samples of the current ramp already produced; `== length_samples` when idle.
    done_samples: u32,
}

impl Ramp {
    /// A ramp resting at `value`.
    pub const fn at(value: f32) -> Self {
        Self {
            start: value,
            target: value,
            length_samples: 1,
            done_samples: 1,
        }
    }

    /// The value of the sample produced last (the target once idle).
    pub fn value(&self) -> f32 {
        if self.done_samples >= self.length_samples {
            self.target
        } else {
            self.start
                + (self.target - self.start)
                    * (self.done_samples as f32 / self.length_samples as f32)
        }
    }

    /// The value the ramp is heading to.
    pub fn target(&self) -> f32 {
        self.target
    }

    /// True when the ramp holds its target.
    pub fn is_idle(&self) -> bool {
        self.done_samples >= self.length_samples
    }

    /// Samples until the ramp holds its target (0 when idle).
    pub fn remaining_samples(&self) -> u32 {
        self.length_samples.saturating_sub(self.done_samples)
    }

    /// Start moving from the current value to `target` over `length_samples` (0 = jump now).
    pub fn ramp_to(&mut self, target: f32, length_samples: u32) {
        self.start = self.value();
        self.target = target;
        self.length_samples = length_samples.max(1);
        self.done_samples = if length_samples == 0 { 1 } else { 0 };
    }

    /// Jump to `value` with no ramp.
    pub fn set(&mut self, value: f32) {
        *self = Self::at(value);
    }

    /// The value for the next sample, advancing the ramp by one sample.
    #[inline]
    pub fn next_sample(&mut self) -> f32 {
        if self.done_samples < self.length_samples {
            self.done_samples += 1;
        }
        self.value()
    }

    /// Advance by `samples` without producing values (used when a ramped voice is not audible).
    pub fn skip(&mut self, samples: u32) {
        self.done_samples = self
            .done_samples
            .saturating_add(samples)
            .min(self.length_samples);
    }
}

/// Weight of the incoming side at frame `j` of a `blend`-frame crossfade: `(j + 1) / (blend + 1)`,
/// so neither end of the fade repeats a sample at full weight.
pub fn seam_weight(j: usize, blend: usize) -> f32 {
    (j + 1) as f32 / (blend + 1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaches_target_exactly_after_length() {
        let mut ramp = Ramp::at(0.0);
        ramp.ramp_to(1.0, 4);
        let values: Vec<f32> = (0..6).map(|_| ramp.next_sample()).collect();
        assert_eq!(values, vec![0.25, 0.5, 0.75, 1.0, 1.0, 1.0]);
        assert!(ramp.is_idle());
    }

    #[test]
    fn retarget_mid_ramp_starts_from_current_value() {
        let mut ramp = Ramp::at(1.0);
        ramp.ramp_to(0.0, 10);
        for _ in 0..5 {
            ramp.next_sample();
        }
        assert!((ramp.value() - 0.5).abs() < 1e-6);
        ramp.ramp_to(1.0, 5);
        let first = ramp.next_sample();
        assert!((first - 0.6).abs() < 1e-6, "{first}");
    }

    #[test]
    fn skip_equals_stepping() {
        let mut a = Ramp::at(0.2);
        let mut b = a;
        a.ramp_to(0.9, 100);
        b.ramp_to(0.9, 100);
        for _ in 0..37 {
            a.next_sample();
        }
        b.skip(37);
        assert_eq!(a.value(), b.value());
    }

    #[test]
    fn zero_length_jumps() {
        let mut ramp = Ramp::at(0.0);
        ramp.ramp_to(0.5, 0);
        assert!(ramp.is_idle());
        assert_eq!(ramp.next_sample(), 0.5);
    }
}
