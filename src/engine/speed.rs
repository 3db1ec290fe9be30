//! A loop's playback speed (varispeed, as on tape: the pitch follows) and where a loop at that
//! speed reads at a given time.
//!
//! A speed is a power of two, 1/4 to 4. A loop of `L` samples at speed `r` plays through in
//! `L / r` samples. Its *period* (the time after which its playback repeats exactly, a whole
//! number of samples) is `L` at `r >= 1` and `L / r` at `r < 1`. With the origin `o` unchanged,
//! the loop reads at time `t`, in source samples,
//!
//! ```text
//! position(t) = r * ((t - o) mod period)  mod L
//! ```
//!
//! a whole sample at `r >= 1` (x2 reads every other sample), a multiple of `r` at `r < 1` (x1/2
//! reads every sample and every half-way point). So the loop starts (`position == 0`) at
//! `o + k L / r` for every whole `k`: a loop whose origin is on an anchor boundary and whose
//! length is the cycle times `2^n` starts on an anchor boundary every `L / r` samples (twice a
//! cycle for a one-cycle loop at x2).
//!
//! Realtime: plain arithmetic, nothing allocates.

/// Octaves from normal speed a loop can be set to, either way (speeds 1/4 ..= 4).
pub const MAX_SPEED_OCTAVES: i8 = 2;

/// A loop's playback speed: `2^octaves`, `octaves` in `-MAX_SPEED_OCTAVES..=MAX_SPEED_OCTAVES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Speed {
    /// The speed's base-2 logarithm (0 normal, -1 half, 1 double), in octaves.
    octaves: i8,
}

/// Where a loop reads: source sample `index` plus `phase / subdivisions` of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPosition {
    /// The whole source sample, in `0..length`.
    pub index: u64,
    /// The fraction past it, in units of 1 / the speed's subdivisions (0 at speed >= 1).
    pub phase: u64,
}

impl Speed {
    /// Normal speed (x1).
    pub const NORMAL: Self = Self { octaves: 0 };

    /// The speed `2^octaves`, or `None` outside 1/4 ..= 4.
    pub fn from_octaves(octaves: i8) -> Option<Self> {
        (-MAX_SPEED_OCTAVES..=MAX_SPEED_OCTAVES)
            .contains(&octaves)
            .then_some(Self { octaves })
    }

    /// The speed's base-2 logarithm, in octaves.
    pub fn octaves(self) -> i8 {
        self.octaves
    }

    /// Half this speed (1/4 stays 1/4).
    pub fn halved(self) -> Self {
        Self::from_octaves(self.octaves - 1).unwrap_or(self)
    }

    /// Twice this speed (4 stays 4).
    pub fn doubled(self) -> Self {
        Self::from_octaves(self.octaves + 1).unwrap_or(self)
    }

    /// The speed as a factor (0.25 ..= 4).
    pub fn ratio(self) -> f64 {
        2f64.powi(i32::from(self.octaves))
    }

    /// Source samples read per output sample at speeds >= 1 (1 below): the decimation factor.
    pub fn step(self) -> u64 {
        1 << self.octaves.max(0)
    }

    /// Reading points per source sample at speeds <= 1 (1 above): the interpolation factor.
    pub fn subdivisions(self) -> u64 {
        1 << (-self.octaves).max(0)
    }

    /// The resampling factor either way (1 at normal speed, 2 at x2 and x1/2, 4 at x4 and
    /// x1/4).
    pub fn factor(self) -> u64 {
        self.step().max(self.subdivisions())
    }

    /// The period of a loop of `length_samples` at this speed: `length` at speeds >= 1,
    /// `length / speed` below (saturating; no real loop comes near).
    pub fn period_samples(self, length_samples: u64) -> u64 {
        length_samples.saturating_mul(self.subdivisions())
    }

    /// Where a loop of `length_samples` (at least 1) whose index 0 played at `origin_samples`
    /// reads at `t_samples` (see the module documentation).
    pub fn position(
        self,
        t_samples: u64,
        origin_samples: u64,
        length_samples: u64,
    ) -> ReadPosition {
        let period = self.period_samples(length_samples);
        let elapsed = time_in_period(t_samples, origin_samples, period);
        // `elapsed * step < period * 4`: fits 128 bits whatever the length.
        let units = (u128::from(elapsed) * u128::from(self.step()) % u128::from(period)) as u64;
        ReadPosition {
            index: units / self.subdivisions(),
            phase: units % self.subdivisions(),
        }
    }
}

/// `(t - origin) mod period` (Euclidean) in 64-bit arithmetic (a 128-bit remainder is a library
/// call, twice per loop and block). `period` must be at least 1.
pub fn time_in_period(t_samples: u64, origin_samples: u64, period_samples: u64) -> u64 {
    match t_samples.checked_sub(origin_samples) {
        Some(ahead) => ahead % period_samples,
        None => period_samples - 1 - (origin_samples - t_samples - 1) % period_samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speed(octaves: i8) -> Speed {
        Speed::from_octaves(octaves).unwrap()
    }

    #[test]
    fn speeds_are_powers_of_two_from_a_quarter_to_four() {
        assert_eq!(Speed::default(), Speed::NORMAL);
        assert_eq!(Speed::from_octaves(3), None);
        assert_eq!(Speed::from_octaves(-3), None);
        assert_eq!(speed(-2).halved(), speed(-2));
        assert_eq!(speed(2).doubled(), speed(2));
        assert_eq!(Speed::NORMAL.halved().ratio(), 0.5);
        assert_eq!(Speed::NORMAL.doubled().doubled().ratio(), 4.0);
        assert_eq!((speed(1).step(), speed(1).subdivisions()), (2, 1));
        assert_eq!((speed(-2).step(), speed(-2).subdivisions()), (1, 4));
        assert_eq!(speed(-1).period_samples(1000), 2000);
        assert_eq!(speed(2).period_samples(1000), 1000);
    }

    #[test]
    fn a_loop_at_double_speed_reads_every_other_sample_and_restarts_every_half_length() {
        let (origin, length) = (1_000, 400);
        let at = |t| speed(1).position(t, origin, length);
        assert_eq!(at(1_000).index, 0);
        assert_eq!(at(1_001).index, 2);
        assert_eq!(at(1_199).index, 398);
        assert_eq!(at(1_200).index, 0, "the loop starts again after L / 2");
        assert_eq!(at(999).index, 398, "before the origin too");
        // An odd length: the start lands on every whole L, reading the odd samples between.
        let at = |t| speed(1).position(t, 0, 5);
        let indices: Vec<u64> = (0..10).map(|t| at(t).index).collect();
        assert_eq!(indices, [0, 2, 4, 1, 3, 0, 2, 4, 1, 3]);
    }

    #[test]
    fn a_loop_at_half_speed_reads_half_way_points_and_restarts_every_two_lengths() {
        let (origin, length) = (1_000, 400);
        let at = |t| {
            let p = speed(-1).position(t, origin, length);
            (p.index, p.phase)
        };
        assert_eq!(at(1_000), (0, 0));
        assert_eq!(at(1_001), (0, 1));
        assert_eq!(at(1_002), (1, 0));
        assert_eq!(at(1_799), (399, 1));
        assert_eq!(at(1_800), (0, 0), "the loop starts again after 2 L");
        assert_eq!(at(1_400), (200, 0), "half-way through at L");
        assert_eq!(at(999), (399, 1));
        let quarter = speed(-2).position(1_007, origin, length);
        assert_eq!((quarter.index, quarter.phase), (1, 3));
    }

    #[test]
    fn time_in_period_is_the_euclidean_remainder() {
        for (t, origin, period) in [(0, 0, 1), (5, 3, 4), (3, 5, 4), (0, u64::MAX, 7), (9, 9, 9)] {
            let expected = (t as i128 - origin as i128).rem_euclid(period as i128) as u64;
            assert_eq!(time_in_period(t, origin, period), expected);
        }
    }
}
