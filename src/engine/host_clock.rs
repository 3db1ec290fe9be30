//! The host's transport as the engine needs it: a bar grid in the engine's absolute time that
//! the host's rounding cannot move.
//!
//! Real hosts round the musical position they report: Ardour to 1/1920 of a quarter note, which
//! is up to ±8 samples at 90 BPM, and some jitter it by a tick from block to block. The timeline
//! position in samples and the tempo are exact. So the grid is built from those two, and the
//! musical position is only a hint, accurate to a tick, of where quarter 0 lies on the timeline:
//! - within one stretch of steady tempo, `quarters(p) = offset + p / samples_per_quarter` for
//!   timeline sample `p`; the only unknown is the offset;
//! - it is exactly known when the tempo has held since the song's start (offset 0), or when the
//!   tempo changed on a sixteenth between two blocks (the previous stretch's mapping continued to
//!   that point); such a candidate is kept while every hint agrees with it within a tick;
//! - else it is the midpoint of the smallest and largest hint residual seen in the stretch, which
//!   converges on the offset as the blocks fall on different phases of the host's rounding.
//!
//! The grid then stays put from block to block (the same numbers, not a re-rounded estimate), so
//! a loop locked to it never accumulates rounding.
//!
//! Realtime: [`HostClock::grid`] runs on the audio thread once per block; it never allocates.

use super::cycle::HostGrid;

/// How far the host's musical position may be from the truth, in quarter notes: a tick of a
/// 480-per-quarter grid, which covers Ardour's rounding to 1/1920 and a host rounding to 1/960
/// and jittering by a tick. Also the tolerance within which an anchor counts as started on a
/// bar line.
pub const HINT_TOLERANCE_QUARTERS: f64 = 1.0 / 480.0;
/// A hint further than this from the stretch's mapping, in quarter notes, means the host's
/// tempo map moved (a new stretch), not rounding.
const REMAP_QUARTERS: f64 = 1.0 / 32.0;
/// Tempo changes are looked for on this grid of the song position, in quarter notes (a
/// sixteenth): hosts put tempo markers on beats, bars or their subdivisions.
const TEMPO_CHANGE_GRID_QUARTERS: f64 = 0.25;

/// What the host said about its transport for this block (all optional, as hosts differ).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HostTransport {
    /// Whether the transport plays.
    pub playing: bool,
    /// Tempo in quarter notes per minute.
    pub tempo_bpm: Option<f64>,
    /// Time signature numerator and denominator.
    pub time_signature: Option<(i32, i32)>,
    /// Timeline position at the block start, in samples (exact in VST3; from CLAP's seconds).
    pub pos_samples: Option<i64>,
    /// Position at the block start, in quarter notes (rounded by some hosts).
    pub pos_beats: Option<f64>,
    /// Start of the current bar, in quarter notes.
    pub bar_start_pos_beats: Option<f64>,
}

/// Where quarter 0 of a stretch of steady tempo lies: `quarters(p) = offset + p / spq`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OffsetFit {
    /// An exact candidate for the offset, in quarters, while every hint agrees with it.
    exact: Option<f64>,
    /// The smallest hint residual (musical position minus `p / spq`) seen, in quarters.
    low_quarters: f64,
    /// The largest hint residual seen, in quarters.
    high_quarters: f64,
}

impl OffsetFit {
    /// A fit from its first residual and the exact candidates, the first that agrees with it.
    fn new(residual_quarters: f64, candidates: impl IntoIterator<Item = f64>) -> Self {
        let agrees =
            |candidate: &f64| (residual_quarters - candidate).abs() <= HINT_TOLERANCE_QUARTERS;
        Self {
            exact: candidates.into_iter().find(agrees),
            low_quarters: residual_quarters,
            high_quarters: residual_quarters,
        }
    }

    /// The offset in quarters.
    fn offset_quarters(&self) -> f64 {
        self.exact
            .unwrap_or(0.5 * (self.low_quarters + self.high_quarters))
    }

    /// Takes in another block's residual.
    fn observe(&mut self, residual_quarters: f64) {
        self.low_quarters = self.low_quarters.min(residual_quarters);
        self.high_quarters = self.high_quarters.max(residual_quarters);
        if self
            .exact
            .is_some_and(|exact| (residual_quarters - exact).abs() > HINT_TOLERANCE_QUARTERS)
        {
            self.exact = None;
        }
    }
}

/// A stretch of the host's timeline at one tempo.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stretch {
    /// Tempo in quarter notes per minute.
    tempo_bpm: f64,
    /// Samples per quarter note.
    quarter_samples: f64,
    /// Where quarter 0 lies.
    fit: OffsetFit,
    /// A bar line the grid counts from, in quarters.
    bar_quarters: f64,
    /// Quarters per bar.
    bar_quarters_length: f64,
    /// Beats in a bar (the time signature's numerator).
    beats_per_bar: u32,
}

impl Stretch {
    /// Song position in quarters at timeline sample `p` by this stretch.
    fn quarters_at(&self, timeline_samples: f64) -> f64 {
        self.fit.offset_quarters() + timeline_samples / self.quarter_samples
    }
}

/// The previous block, to tell a continuous timeline from a jump.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LastBlock {
    /// Engine time at its start.
    engine_samples: u64,
    /// Timeline position at its start, in samples.
    timeline_samples: i64,
    /// Whether the transport played.
    playing: bool,
}

/// Follows the host's transport from block to block and keeps its bar grid. Owned by the engine.
#[derive(Debug, Clone, Default)]
pub struct HostClock {
    /// The current stretch of steady tempo (kept while the transport stops, since the tempo map
    /// stays).
    stretch: Option<Stretch>,
    /// The previous block.
    last: Option<LastBlock>,
}

impl HostClock {
    /// The bar grid for the block starting at engine time `block_start_samples`; `None` unless
    /// the transport plays with a usable tempo and position. Realtime-safe.
    pub fn grid(
        &mut self,
        transport: &HostTransport,
        block_start_samples: u64,
        sample_rate_hz: f32,
    ) -> Option<HostGrid> {
        let last = self.last.take();
        let timeline_samples =
            timeline_samples(transport, block_start_samples, last, sample_rate_hz);
        self.last = timeline_samples.map(|timeline_samples| LastBlock {
            engine_samples: block_start_samples,
            timeline_samples,
            playing: transport.playing,
        });
        if !transport.playing {
            return None;
        }
        let tempo_bpm = transport
            .tempo_bpm
            .filter(|t| t.is_finite() && *t > 1.0 && *t < 2000.0)?;
        let pos_quarters = transport.pos_beats.filter(|p| p.is_finite())?;
        let timeline_samples = timeline_samples?;
        let (numerator, denominator) = transport
            .time_signature
            .filter(|(n, d)| (1..=64).contains(n) && (1..=64).contains(d))
            .unwrap_or((4, 4));
        let quarter_samples = 60.0 / tempo_bpm * f64::from(sample_rate_hz);
        let residual = pos_quarters - timeline_samples as f64 / quarter_samples;
        let continuous = last.is_some_and(|last| {
            last.playing
                && last.timeline_samples + (block_start_samples - last.engine_samples) as i64
                    == timeline_samples
        });
        let stretch = match self.stretch {
            Some(mut stretch)
                if stretch.tempo_bpm == tempo_bpm
                    && (residual - stretch.fit.offset_quarters()).abs() <= REMAP_QUARTERS =>
            {
                stretch.fit.observe(residual);
                stretch
            }
            previous => {
                // A tempo change on a sixteenth continues the previous mapping exactly; else the
                // tempo may have held since the song's start.
                let change =
                    previous
                        .filter(|_| continuous)
                        .zip(last)
                        .and_then(|(previous, last)| {
                            tempo_change_offset(
                                &previous,
                                last.timeline_samples,
                                timeline_samples,
                                quarter_samples,
                                residual,
                            )
                        });
                let from_song_start = transport.pos_samples.map(|_| 0.0);
                Stretch {
                    tempo_bpm,
                    quarter_samples,
                    fit: OffsetFit::new(residual, change.into_iter().chain(from_song_start)),
                    bar_quarters: f64::NAN,
                    bar_quarters_length: 0.0,
                    beats_per_bar: 0,
                }
            }
        };
        let stretch = self.stretch.insert(stretch);
        let bar_quarters_length = f64::from(numerator) * 4.0 / f64::from(denominator);
        let bar_start = transport
            .bar_start_pos_beats
            .filter(|b| b.is_finite() && *b <= pos_quarters + 1e-9)
            .unwrap_or_else(|| (pos_quarters / bar_quarters_length).floor() * bar_quarters_length);
        // The host's bar start is a bar line (perhaps of a neighbouring bar, when its rounding
        // crosses one); a new meter or a bar start off the grid sets a new reference line.
        let bars_off = (bar_start - stretch.bar_quarters) / bar_quarters_length;
        // False for the NaN of a new stretch.
        let on_grid =
            (bars_off - bars_off.round()).abs() * bar_quarters_length <= HINT_TOLERANCE_QUARTERS;
        if stretch.bar_quarters_length != bar_quarters_length
            || stretch.beats_per_bar != numerator as u32
            || !on_grid
        {
            stretch.bar_quarters = bar_start;
            stretch.bar_quarters_length = bar_quarters_length;
            stretch.beats_per_bar = numerator as u32;
        }
        let engine_minus_timeline = block_start_samples as i64 - timeline_samples;
        let bar_timeline_samples =
            (stretch.bar_quarters - stretch.fit.offset_quarters()) * quarter_samples;
        Some(HostGrid {
            bar_origin_samples: engine_minus_timeline as f64 + bar_timeline_samples,
            bar_length_samples: bar_quarters_length * quarter_samples,
            beats_per_bar: stretch.beats_per_bar,
            origin_bar: (stretch.bar_quarters / bar_quarters_length).round(),
            quarter_samples,
        })
    }
}

/// The timeline position at the block start: the host's, else continued from the previous block
/// while the transport plays, else the musical position at the tempo (a fresh start).
fn timeline_samples(
    transport: &HostTransport,
    block_start_samples: u64,
    last: Option<LastBlock>,
    sample_rate_hz: f32,
) -> Option<i64> {
    if let Some(pos) = transport.pos_samples {
        return Some(pos);
    }
    match last {
        Some(last) if last.playing && transport.playing => {
            Some(last.timeline_samples + (block_start_samples - last.engine_samples) as i64)
        }
        _ => {
            let tempo = transport.tempo_bpm.filter(|t| t.is_finite() && *t > 1.0)?;
            let pos = transport.pos_beats.filter(|p| p.is_finite())?;
            Some((pos * 60.0 / tempo * f64::from(sample_rate_hz)).round() as i64)
        }
    }
}

/// The offset of a new stretch at `quarter_samples` per quarter if the tempo changed on a
/// sixteenth between timeline samples `from` and `to` (the previous stretch continued to that
/// point), the candidate nearest `residual`; `None` if no sixteenth lies there.
fn tempo_change_offset(
    previous: &Stretch,
    from_samples: i64,
    to_samples: i64,
    quarter_samples: f64,
    residual_quarters: f64,
) -> Option<f64> {
    let grid = TEMPO_CHANGE_GRID_QUARTERS;
    let first = (previous.quarters_at(from_samples as f64) / grid).ceil() as i64;
    let last = (previous.quarters_at(to_samples as f64) / grid).floor() as i64;
    (first..=last.min(first + 64))
        .map(|k| {
            let change_quarters = k as f64 * grid;
            let change_samples =
                (change_quarters - previous.fit.offset_quarters()) * previous.quarter_samples;
            change_quarters - change_samples / quarter_samples
        })
        .min_by(|a, b| {
            (a - residual_quarters)
                .abs()
                .total_cmp(&(b - residual_quarters).abs())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE_HZ: f32 = 48_000.0;
    const BLOCK: u64 = 512;

    /// A host at `tempo_bpm` in 4/4 whose song position 0 lies at timeline sample
    /// `song_start_samples`, rounding its musical position to `ticks` per quarter; the transport
    /// at engine time `t` (the timeline runs with the engine).
    fn transport(tempo_bpm: f64, song_start_samples: f64, ticks: f64, t: u64) -> HostTransport {
        let quarter = 60.0 / tempo_bpm * f64::from(RATE_HZ);
        rounded(
            tempo_bpm,
            (t as f64 - song_start_samples) / quarter,
            ticks,
            t,
        )
    }

    /// A playing 4/4 host at `tempo_bpm`, at timeline sample `t` and song position
    /// `exact_quarters`, which it reports rounded to `ticks` per quarter.
    fn rounded(tempo_bpm: f64, exact_quarters: f64, ticks: f64, t: u64) -> HostTransport {
        let pos = (exact_quarters * ticks).round() / ticks;
        HostTransport {
            playing: true,
            tempo_bpm: Some(tempo_bpm),
            time_signature: Some((4, 4)),
            pos_samples: Some(t as i64),
            pos_beats: Some(pos),
            bar_start_pos_beats: Some((pos / 4.0).floor() * 4.0),
        }
    }

    /// How far the grid's bar lines are from the true ones (`song_start + k bars`), in samples.
    fn grid_error(grid: &HostGrid, song_start_samples: f64) -> f64 {
        let bars = (grid.bar_origin_samples - song_start_samples) / grid.bar_length_samples;
        (bars - bars.round()) * grid.bar_length_samples
    }

    #[test]
    fn a_tempo_held_since_the_song_start_gives_the_exact_grid_from_the_first_block() {
        for tempo in [90.0, 93.75, 140.0] {
            let mut clock = HostClock::default();
            let first = clock.grid(&transport(tempo, 0.0, 1920.0, 99_999), 99_999, RATE_HZ);
            let first = first.unwrap();
            assert_eq!(grid_error(&first, 0.0), 0.0, "{tempo} BPM");
            for k in 1..1000 {
                let t = 99_999 + k * BLOCK;
                let grid = clock.grid(&transport(tempo, 0.0, 1920.0, t), t, RATE_HZ);
                assert_eq!(grid, Some(first), "{tempo} BPM: the grid never moves");
            }
        }
    }

    #[test]
    fn the_grid_of_an_offset_song_converges_on_the_hosts_bars_within_a_bar() {
        // Song position 0 at an odd timeline sample: no exact candidate fits, so the grid comes
        // from the hints alone; a tick is 16.7 samples at 90 BPM.
        for (tempo, ticks) in [(90.0, 1920.0), (140.0, 960.0)] {
            let start = -12_345.678;
            let mut clock = HostClock::default();
            let mut worst_late = 0.0f64;
            let bar_blocks = (4.0 * 60.0 / tempo * f64::from(RATE_HZ)) as u64 / BLOCK;
            for k in 0..4 * bar_blocks {
                let t = k * BLOCK;
                let grid = clock
                    .grid(&transport(tempo, start, ticks, t), t, RATE_HZ)
                    .unwrap();
                let error = grid_error(&grid, start).abs();
                let tick = grid.quarter_samples / ticks;
                assert!(error <= tick, "{tempo} BPM, block {k}: {error} samples off");
                if k >= bar_blocks {
                    worst_late = worst_late.max(error);
                }
            }
            // 512-sample blocks at 90 BPM step the rounding's phase by 18/25 of a tick, so
            // the hints cannot tell apart offsets closer than 1/25 of a tick (0.67 samples).
            assert!(
                worst_late < 0.5,
                "{tempo} BPM: {worst_late} samples off after a bar"
            );
        }
    }

    #[test]
    fn a_tempo_change_on_a_sixteenth_continues_the_grid_exactly() {
        // 120 BPM from song start, 90 BPM from quarter 16.25 (between two blocks), rounded to
        // 1/1920: the new bar lines are where the tempo map puts them, from the first block.
        let (q1, q2) = (24_000.0, 32_000.0);
        let change_samples = 16.25 * q1;
        let mut clock = HostClock::default();
        for k in 0..2_000u64 {
            let t = k * BLOCK;
            let (tempo, exact) = if (t as f64) < change_samples {
                (120.0, t as f64 / q1)
            } else {
                (90.0, 16.25 + (t as f64 - change_samples) / q2)
            };
            let host = rounded(tempo, exact, 1920.0, t);
            let grid = clock.grid(&host, t, RATE_HZ).unwrap();
            // Bar 5 (quarter 20) lies at the change plus 3.75 quarters at the new tempo.
            let bar_5 = if tempo == 90.0 {
                change_samples + 3.75 * q2
            } else {
                20.0 * q1
            };
            let error = grid_error(&grid, bar_5);
            assert!(error.abs() < 1e-6, "block {k}: {error} samples off");
        }
    }

    #[test]
    fn without_a_sample_position_the_grid_comes_from_the_hints() {
        // A host giving only the rounded musical position: the timeline is continued from block
        // to block and the grid converges on the bars.
        let mut clock = HostClock::default();
        let mut last_error = f64::MAX;
        for k in 0..2_000u64 {
            let t = 5_000 + k * BLOCK;
            let mut host = transport(140.0, 0.0, 1920.0, t);
            host.pos_samples = None;
            let grid = clock.grid(&host, t, RATE_HZ).unwrap();
            last_error = grid_error(&grid, 0.0).abs();
            assert!(last_error <= grid.quarter_samples / 1920.0, "block {k}");
        }
        assert!(last_error < 0.25, "{last_error} samples off after 21 s");
    }

    #[test]
    fn a_stopped_transport_gives_no_grid_and_the_grid_returns_when_it_plays() {
        let mut clock = HostClock::default();
        let playing = clock.grid(&transport(120.0, 0.0, 1920.0, 0), 0, RATE_HZ);
        let mut stopped = transport(120.0, 0.0, 1920.0, 0);
        stopped.playing = false;
        assert_eq!(clock.grid(&stopped, 512, RATE_HZ), None);
        // Playing again from the same song position, 512 samples later in engine time: the same
        // bars, moved by the pause.
        let again = clock.grid(&transport(120.0, 0.0, 1920.0, 0), 1024, RATE_HZ);
        let moved = again.unwrap().bar_origin_samples - playing.unwrap().bar_origin_samples;
        assert_eq!(moved, 1024.0);
    }
}
