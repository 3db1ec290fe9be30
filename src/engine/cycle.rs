//! The anchor cycle: its boundaries in absolute time, snapping presses to them, and the rule that
//! gives every track a length of the cycle times a power of two.
//!
//! All positions are integer sample counts, so tracks never drift against the anchor.

/// The anchor loop's cycle: boundaries at `origin_samples + m * length_samples`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    /// An absolute time (samples since activation) at which the cycle starts.
    pub origin_samples: u64,
    /// Cycle length L in samples (> 0).
    pub length_samples: u64,
}

impl Cycle {
    /// Position inside the cycle at absolute time `t_samples`, in `0..length_samples`.
    pub fn position(&self, t_samples: u64) -> u64 {
        (t_samples as i128 - self.origin_samples as i128).rem_euclid(self.length_samples as i128)
            as u64
    }

    /// The last boundary at or before `t_samples`.
    pub fn boundary_at_or_before(&self, t_samples: u64) -> u64 {
        t_samples - self.position(t_samples)
    }

    /// The first boundary strictly after `t_samples`.
    pub fn boundary_after(&self, t_samples: u64) -> u64 {
        self.boundary_at_or_before(t_samples) + self.length_samples
    }

    /// The boundary nearest to `t_samples` (the earlier one on a tie).
    pub fn nearest_boundary(&self, t_samples: u64) -> u64 {
        let before = self.boundary_at_or_before(t_samples);
        if t_samples - before <= self.length_samples / 2 {
            before
        } else {
            before + self.length_samples
        }
    }

    /// `t_samples` moved to the nearest boundary if that is within `lenience_samples`, else as is.
    pub fn snap(&self, t_samples: u64, lenience_samples: u64) -> u64 {
        let boundary = self.nearest_boundary(t_samples);
        if boundary.abs_diff(t_samples) <= lenience_samples {
            boundary
        } else {
            t_samples
        }
    }

    /// Length of a track holding a take of `take_samples`: the smallest L x 2^k >= the take.
    pub fn track_length(&self, take_samples: u64) -> u64 {
        let mut length = self.length_samples;
        while length < take_samples {
            length *= 2;
        }
        length
    }

    /// The longest track that fits in `capacity_frames`: the largest L x 2^k <= capacity, or
    /// `None` if even one cycle does not fit.
    pub fn longest_track_within(&self, capacity_frames: u64) -> Option<u64> {
        if self.length_samples > capacity_frames {
            return None;
        }
        let mut length = self.length_samples;
        while length * 2 <= capacity_frames {
            length *= 2;
        }
        Some(length)
    }
}

/// The host transport's bar grid while it plays: bar `k` starts at
/// `bar_origin_samples + k * bar_length_samples` (absolute engine time, fractional).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostGrid {
    /// Absolute time of a bar start (any bar), in samples.
    pub bar_origin_samples: f64,
    /// Length of one bar in samples (> 0).
    pub bar_length_samples: f64,
    /// Beats in a bar (the time signature's numerator).
    pub beats_per_bar: u32,
    /// The host's bar count at `bar_origin_samples` (bar 0 starts at song position 0), so that
    /// loops can follow the host's bar positions, not only its bar lines.
    pub origin_bar: f64,
}

impl HostGrid {
    /// The first bar start strictly after `t_samples`, rounded to a sample.
    pub fn bar_after(&self, t_samples: u64) -> u64 {
        let bars = ((t_samples as f64 - self.bar_origin_samples) / self.bar_length_samples).floor();
        let mut at = self.bar_start(bars + 1.0);
        if at <= t_samples {
            at = self.bar_start(bars + 2.0);
        }
        at
    }

    /// The bar start nearest to `t_samples`, rounded to a sample.
    pub fn nearest_bar(&self, t_samples: u64) -> u64 {
        let bars = ((t_samples as f64 - self.bar_origin_samples) / self.bar_length_samples).round();
        self.bar_start(bars)
    }

    /// Bar `bars` (counted from the origin) start, rounded to a sample, never negative.
    fn bar_start(&self, bars: f64) -> u64 {
        (self.bar_origin_samples + bars * self.bar_length_samples)
            .round()
            .max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_bars() {
        let grid = HostGrid {
            bar_origin_samples: 1000.5,
            bar_length_samples: 96_000.25,
            beats_per_bar: 4,
            origin_bar: 0.0,
        };
        assert_eq!(grid.bar_after(0), 1001);
        assert_eq!(grid.bar_after(1001), 97_001);
        assert_eq!(grid.nearest_bar(45_000), 1001);
        assert_eq!(grid.nearest_bar(60_000), 97_001);
    }

    const CYCLE: Cycle = Cycle {
        origin_samples: 1000,
        length_samples: 400,
    };

    #[test]
    fn boundaries_and_positions() {
        assert_eq!(CYCLE.position(1000), 0);
        assert_eq!(CYCLE.position(1399), 399);
        assert_eq!(CYCLE.position(1400), 0);
        assert_eq!(
            CYCLE.position(999),
            399,
            "before the origin the grid extends backwards"
        );
        assert_eq!(CYCLE.boundary_at_or_before(1550), 1400);
        assert_eq!(CYCLE.boundary_after(1400), 1800);
        assert_eq!(CYCLE.nearest_boundary(1599), 1400);
        assert_eq!(CYCLE.nearest_boundary(1601), 1800);
    }

    #[test]
    fn snap_only_within_lenience() {
        assert_eq!(CYCLE.snap(1450, 50), 1400, "late press snaps back");
        assert_eq!(CYCLE.snap(1750, 50), 1800, "early press snaps forward");
        assert_eq!(
            CYCLE.snap(1451, 50),
            1451,
            "outside lenience keeps its offset"
        );
    }

    #[test]
    fn track_lengths_are_cycle_times_power_of_two() {
        assert_eq!(CYCLE.track_length(1), 400, "a short take pads to one cycle");
        assert_eq!(CYCLE.track_length(400), 400);
        assert_eq!(CYCLE.track_length(401), 800);
        assert_eq!(CYCLE.track_length(600), 800, "4 s anchor, 6 s take -> 8 s");
        assert_eq!(CYCLE.track_length(1601), 3200);
        assert_eq!(CYCLE.longest_track_within(3199), Some(1600));
        assert_eq!(CYCLE.longest_track_within(399), None);
    }
}
