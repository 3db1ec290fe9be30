//! The metronome: a short click on every beat, accented on the first beat of the bar, for the
//! headphone output only (never the PA, never a recording).
//!
//! Realtime: runs on the audio thread; no allocation.

use super::cycle::grid_sample;

/// Click length, in seconds.
const CLICK_SECS: f64 = 0.03;
/// Click decay time constant, in seconds.
const DECAY_SECS: f64 = 0.008;

/// The beat grid the clicks follow: beat `k` starts at `origin + k * beat`; beats
/// `0, n, 2n, ...` are accented.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeatGrid {
    /// Absolute time of an accented beat, in samples (fractional).
    pub origin_samples: f64,
    /// Beat length in samples (> 0).
    pub beat_samples: f64,
    /// Beats per bar (accent period).
    pub beats_per_bar: u32,
}

impl BeatGrid {
    /// The absolute sample at which beat `k` starts (see [`grid_sample`]).
    pub fn beat_start(&self, k: i64) -> i64 {
        grid_sample(self.origin_samples + k as f64 * self.beat_samples)
    }

    /// The index of the last beat starting at or before `t_samples`.
    fn beat_index(&self, t_samples: u64) -> i64 {
        let mut k = ((t_samples as f64 - self.origin_samples) / self.beat_samples).floor() as i64;
        // Rounding of the start can put it one sample either side of the floor.
        while self.beat_start(k) > t_samples as i64 {
            k -= 1;
        }
        while self.beat_start(k + 1) <= t_samples as i64 {
            k += 1;
        }
        k
    }
}

/// Click generator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metronome {
    /// Sample rate in Hz.
    sample_rate_hz: f64,
    /// The beats to click on, when on.
    pub grid: Option<BeatGrid>,
    /// Click level (linear); 0 = off.
    pub level: f32,
}

impl Metronome {
    /// A silent metronome at `sample_rate_hz`.
    pub fn new(sample_rate_hz: f32) -> Self {
        Self {
            sample_rate_hz: f64::from(sample_rate_hz),
            grid: None,
            level: 0.0,
        }
    }

    /// The click sample at absolute time `t_samples` (0 between clicks).
    #[inline]
    pub fn next_sample(&self, t_samples: u64) -> f32 {
        let Some(grid) = self
            .grid
            .filter(|g| g.beat_samples >= 1.0 && self.level > 0.0)
        else {
            return 0.0;
        };
        let k = grid.beat_index(t_samples);
        let since = t_samples as i64 - grid.beat_start(k);
        let secs = since as f64 / self.sample_rate_hz;
        if !(0.0..CLICK_SECS).contains(&secs) {
            return 0.0;
        }
        let accent = k.rem_euclid(i64::from(grid.beats_per_bar.max(1))) == 0;
        let (freq, gain) = if accent {
            (1_760.0, 1.0)
        } else {
            (1_320.0, 0.6)
        };
        let tone = (std::f64::consts::TAU * freq * secs).sin() * (-secs / DECAY_SECS).exp();
        (tone * gain) as f32 * self.level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clicks_start_exactly_on_beats_and_accent_the_bar() {
        let mut metronome = Metronome::new(48_000.0);
        metronome.level = 1.0;
        // 100 BPM: a beat is 28 800 samples; 3 beats a bar from 1 000.5, so each beat starts in
        // the sample it falls in (1 000, 29 800, ...).
        metronome.grid = Some(BeatGrid {
            origin_samples: 1_000.5,
            beat_samples: 28_800.0,
            beats_per_bar: 3,
        });
        let out: Vec<f32> = (0..200_000).map(|t| metronome.next_sample(t)).collect();
        let onsets: Vec<usize> = (1..out.len())
            .filter(|&t| {
                out[t - 1] == 0.0 && out[t] == 0.0 && out.get(t + 1).is_some_and(|s| *s != 0.0)
            })
            .collect();
        assert_eq!(
            onsets,
            vec![1_000, 29_800, 58_600, 87_400, 116_200, 145_000, 173_800]
        );
        let peak = |from: usize| {
            out[from..from + 1_000]
                .iter()
                .fold(0.0f32, |m, s| m.max(s.abs()))
        };
        assert!(peak(1_000) > peak(29_800), "first beat of the bar accented");
        assert!(peak(87_400) > peak(58_600));
    }
}
