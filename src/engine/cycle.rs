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

    /// The last boundary at or before `t_samples`. Signed: a cycle restored from a saved
    /// project (or moved by the host's bars) may have its last boundary before the engine's
    /// time 0.
    pub fn boundary_at_or_before(&self, t_samples: u64) -> i64 {
        t_samples as i64 - self.position(t_samples) as i64
    }

    /// The first boundary strictly after `t_samples`.
    pub fn boundary_after(&self, t_samples: u64) -> u64 {
        t_samples + (self.length_samples - self.position(t_samples))
    }

    /// The boundary nearest to `t_samples` (the earlier one on a tie); signed, as
    /// [`Cycle::boundary_at_or_before`].
    pub fn nearest_boundary(&self, t_samples: u64) -> i64 {
        let position = self.position(t_samples);
        if position <= self.length_samples / 2 {
            t_samples as i64 - position as i64
        } else {
            self.boundary_after(t_samples) as i64
        }
    }

    /// `t_samples` moved to the nearest boundary if that is within `lenience_samples`, else as is;
    /// signed, as [`Cycle::boundary_at_or_before`].
    pub fn snap(&self, t_samples: u64, lenience_samples: u64) -> i64 {
        let boundary = self.nearest_boundary(t_samples);
        if boundary.abs_diff(t_samples as i64) <= lenience_samples {
            boundary
        } else {
            t_samples as i64
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

/// The sample at which a time on a host's grid (fractional samples) falls: the one it lies in,
/// so a bar line between two samples starts on the earlier one, as Ardour places it. (A
/// millionth of a sample of float error is forgiven, so a line on a whole sample stays there.)
pub fn grid_sample(t_samples: f64) -> i64 {
    (t_samples + 1e-6).floor() as i64
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
    /// Length of a quarter note in samples (the host's tempo).
    pub quarter_samples: f64,
}

impl HostGrid {
    /// The first bar start strictly after `t_samples`, as a sample.
    pub fn bar_after(&self, t_samples: u64) -> u64 {
        let bars = ((t_samples as f64 - self.bar_origin_samples) / self.bar_length_samples).floor();
        let mut at = self.bar_start(bars + 1.0);
        if at <= t_samples {
            at = self.bar_start(bars + 2.0);
        }
        at
    }

    /// The bar start nearest to `t_samples`, as a sample.
    pub fn nearest_bar(&self, t_samples: u64) -> u64 {
        let bars = ((t_samples as f64 - self.bar_origin_samples) / self.bar_length_samples).round();
        self.bar_start(bars)
    }

    /// Bar `bars` (counted from the origin) start, as a sample (see [`grid_sample`]), never
    /// negative.
    fn bar_start(&self, bars: f64) -> u64 {
        grid_sample(self.bar_origin_samples + bars * self.bar_length_samples).max(0) as u64
    }
}

/// A loop length made a whole number of beats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WholeBeats {
    /// The rounded length, in samples.
    pub length_samples: u64,
    /// Beats in that length (at least one).
    pub beats: u32,
    /// The tempo refined so that `length_samples` holds exactly `beats`, in BPM.
    pub bpm: f64,
}

/// A length of `length_samples` rounded to a whole number of beats at `bpm` (at least one), and
/// the tempo refined so that the loop holds exactly that many beats.
pub fn round_to_beats(length_samples: u64, bpm: f64, sample_rate_hz: f32) -> Option<WholeBeats> {
    if !(bpm.is_finite() && bpm > 0.0) {
        return None;
    }
    let beat = 60.0 * f64::from(sample_rate_hz) / bpm;
    let beats = (length_samples as f64 / beat)
        .round()
        .clamp(1.0, f64::from(u32::MAX));
    let rounded = ((beats * beat).round() as u64).max(1);
    Some(WholeBeats::new(rounded, beats as u32, sample_rate_hz))
}

impl WholeBeats {
    /// `beats` (at least one) in `length_samples` (at least one), and the tempo that makes.
    pub fn new(length_samples: u64, beats: u32, sample_rate_hz: f32) -> Self {
        Self {
            length_samples,
            beats,
            bpm: f64::from(beats) * 60.0 * f64::from(sample_rate_hz) / length_samples as f64,
        }
    }
}

/// The anchor cycle's place on the host's bar grid: cycle `k` starts on host bar
/// `start_bar + k * bars`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarLock {
    /// Host bar (counted from song position 0) on which the anchor started.
    pub start_bar: f64,
    /// Bars in one anchor cycle.
    pub bars: u32,
    /// Engine time at which the loop set's host bar `start_bar` lies: where the anchor started,
    /// moved (exactly, never modulo a loop length) with every move of the loops, so that the
    /// place of each loop in the longest loop's cycle is kept.
    pub origin_samples: i64,
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
            quarter_samples: 24_000.062_5,
        };
        // Bars at 1000.5 and 97 000.75 start in samples 1000 and 97 000.
        assert_eq!(grid.bar_after(0), 1000);
        assert_eq!(grid.bar_after(1000), 97_000);
        assert_eq!(grid.nearest_bar(45_000), 1000);
        assert_eq!(grid.nearest_bar(60_000), 97_000);
        assert_eq!(grid_sample(96_000.0 - 1e-9), 96_000, "float error forgiven");
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
        assert_eq!(
            CYCLE.boundary_at_or_before(150),
            -200,
            "a boundary before time 0 (a restored cycle's origin lies ahead)"
        );
        assert_eq!(CYCLE.nearest_boundary(100), 200);
        assert_eq!(
            CYCLE.nearest_boundary(0),
            -200,
            "a tie goes to the earlier one"
        );
        assert_eq!(CYCLE.snap(0, 250), -200);
        assert_eq!(CYCLE.boundary_after(150), 200);
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
