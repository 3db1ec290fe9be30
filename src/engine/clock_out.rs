//! MIDI beat clock out: Loopmate as the master, a drum machine following the anchor's tempo.
//!
//! The clock follows the anchor's whole beats (beat quantization's [`WholeBeats`]): a cycle of
//! `N` beats holds `24 N` clock ticks (0xF8, 24 per quarter note), tick `k` at the sample
//! `origin + round(k * L / (24 N))`, computed from the cycle's origin exactly (integer
//! arithmetic) for every tick, never accumulated, so the ticks never drift from the loops.
//!
//! Transport, as a drum machine should hear it:
//! - Ticks run whenever the anchor's tempo is known, so that a drum machine has locked on the
//!   tempo by the time Start comes (MIDI allows clock while stopped).
//! - Start (0xFA) where the anchor starts playing: at the first cycle boundary at or after the
//!   moment its tempo is known, followed by the tick at the same sample (MIDI: the first clock
//!   after Start is beat 0). For an anchor whose stop was scheduled ahead that is its first
//!   repeat (the take closes on that boundary). Beat quantization decides the take's end once
//!   the analysis has heard past it (up to about 300 ms after the stop press), often after the
//!   first repeat has begun: a boundary at most [`LATE_START_MS`] (and half a tick) past is
//!   still started, at once (Start and the tick of beat 0 that late, the next ticks on the
//!   grid). Later than that, or when the grid comes back (redo, a loaded project), Start waits
//!   for the next boundary: the drum machine comes in at the top of a cycle, never mid-bar.
//! - Stop (0xFC) where the anchor's grid goes: a clear that empties the mix, undo of the anchor
//!   take (the same), or the anchor's tempo no longer known (a host tempo change rescales the
//!   cycle without beats). A new anchor afterwards starts the clock again at its first repeat.
//! - When the grid moves under the clock (a restart moves the cycle's origin; an undo or a
//!   loaded project brings another one), Stop at that sample and Start at the new grid's next
//!   boundary (at once for a restart, which puts a boundary on its own sample), so the drum
//!   machine's bar 1 is the loops' cycle start again. A grid that only moves by whole cycles
//!   is the same grid: the clock runs on.
//! - No tempo (beat quantization off, or no beat heard): no clock at all. Tempos outside
//!   [`MIN_CLOCK_BPM`]..=[`MAX_CLOCK_BPM`] (an analysis mistake, or a garbled project) send none
//!   either: no drum machine follows them and their ticks would crowd a block.
//!
//! Realtime: [`ClockOut::advance`] runs on the audio thread for every chunk the engine renders;
//! the messages go to a fixed-capacity list allocated with the engine. With no anchor it is a
//! comparison and returns.

use super::cycle::{Cycle, WholeBeats};

/// MIDI clock ticks per quarter note (beat).
pub const TICKS_PER_BEAT: u64 = 24;
/// MIDI timing clock status byte.
pub const CLOCK: u8 = 0xF8;
/// MIDI Start status byte.
pub const START: u8 = 0xFA;
/// MIDI Stop status byte.
pub const STOP: u8 = 0xFC;
/// The slowest tempo the clock is sent at, in BPM.
pub const MIN_CLOCK_BPM: f64 = 20.0;
/// The fastest tempo the clock is sent at, in BPM.
pub const MAX_CLOCK_BPM: f64 = 400.0;
/// How late a Start may still be sent at once, in ms (a drum machine's first beat that late is
/// heard as on the loop's downbeat).
pub const LATE_START_MS: f64 = 10.0;
/// Messages one block can hold: ticks every 300 samples (400 BPM at 48 kHz) fill it in a block of
/// 300 000 frames, far beyond any host's; past it further messages are counted and dropped.
pub const CLOCK_OUT_CAPACITY: usize = 1024;

/// One MIDI clock message of the block just processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockMessage {
    /// Where in the block it falls, in samples from the block's first frame.
    pub offset_samples: u32,
    /// The status byte: [`CLOCK`], [`START`] or [`STOP`].
    pub status: u8,
}

/// The tick grid of an anchor cycle, normalized so that grids that differ by whole cycles
/// compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TickGrid {
    /// A cycle boundary, reduced into `0..length_samples` (samples).
    origin_samples: u64,
    /// The cycle length, in samples.
    length_samples: u64,
    /// Ticks in one cycle (24 per beat).
    ticks_per_cycle: u64,
}

impl TickGrid {
    /// The grid of `cycle` holding `beats`, if its tempo is one a drum machine can follow.
    fn of(cycle: Cycle, beats: WholeBeats) -> Option<Self> {
        let tempo_ok = (MIN_CLOCK_BPM..=MAX_CLOCK_BPM).contains(&beats.bpm);
        (tempo_ok && beats.beats >= 1 && cycle.length_samples >= 1).then(|| Self {
            origin_samples: cycle.origin_samples % cycle.length_samples,
            length_samples: cycle.length_samples,
            ticks_per_cycle: u64::from(beats.beats) * TICKS_PER_BEAT,
        })
    }

    /// The sample of tick `k` (from the origin): the exact position rounded, half up.
    fn tick(&self, k: u64) -> u64 {
        let (l, d) = (
            u128::from(self.length_samples),
            u128::from(self.ticks_per_cycle),
        );
        let offset = (2 * u128::from(k) * l + d) / (2 * d);
        self.origin_samples + offset as u64
    }

    /// The first tick at or after `t_samples` (its index).
    fn first_tick_from(&self, t_samples: u64) -> u64 {
        let since = t_samples.saturating_sub(self.origin_samples);
        let estimate =
            u128::from(since) * u128::from(self.ticks_per_cycle) / u128::from(self.length_samples);
        // The estimate is within one tick of the answer (rounding moves a tick half a sample).
        let mut k = (estimate as u64).saturating_sub(1);
        while self.tick(k) < t_samples {
            k += 1;
        }
        k
    }

    /// Half a tick, in samples (rounded down).
    fn half_tick_samples(&self) -> u64 {
        self.length_samples / self.ticks_per_cycle / 2
    }

    /// The first cycle boundary at or after `t_samples`.
    fn boundary_from(&self, t_samples: u64) -> u64 {
        let since = t_samples.saturating_sub(self.origin_samples);
        let cycles = since.div_ceil(self.length_samples);
        self.origin_samples + cycles * self.length_samples
    }
}

/// Where the clock is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// Nothing is sent.
    Stopped,
    /// Ticks run on `grid`; Start is due at `start_samples`, a boundary of it.
    Armed { grid: TickGrid, start_samples: u64 },
    /// Ticks run on `grid`.
    Running { grid: TickGrid },
}

/// The MIDI clock the engine sends, and the messages of the block being processed.
#[derive(Debug)]
pub struct ClockOut {
    /// Where the clock is.
    transport: Transport,
    /// The block's messages, in time order; never grows past [`CLOCK_OUT_CAPACITY`].
    messages: Vec<ClockMessage>,
    /// [`LATE_START_MS`] in samples.
    late_start_samples: u64,
    /// Messages dropped because a block held more than [`CLOCK_OUT_CAPACITY`].
    pub dropped_messages: u64,
}

impl ClockOut {
    /// A stopped clock at `sample_rate_hz`, its message list allocated. Not realtime-safe
    /// (allocates).
    pub fn new(sample_rate_hz: f32) -> Self {
        let late_start_samples = LATE_START_MS * 1e-3 * f64::from(sample_rate_hz);
        Self {
            transport: Transport::Stopped,
            messages: Vec::with_capacity(CLOCK_OUT_CAPACITY),
            late_start_samples: if late_start_samples.is_finite() {
                late_start_samples.max(0.0) as u64
            } else {
                0
            },
            dropped_messages: 0,
        }
    }

    /// Forgets the previous block's messages (at the start of a block).
    pub fn begin_block(&mut self) {
        self.messages.clear();
    }

    /// The messages of the block just processed, in time order.
    pub fn messages(&self) -> &[ClockMessage] {
        &self.messages
    }

    /// Sends what falls in the chunk of `frames` samples from `now_samples`, which starts
    /// `block_offset` samples into the block, with the anchor `cycle` and its `beats` as they
    /// are during that chunk (the engine splits its chunks wherever they change).
    pub fn advance(
        &mut self,
        cycle: Option<Cycle>,
        beats: Option<WholeBeats>,
        now_samples: u64,
        frames: usize,
        block_offset: usize,
    ) {
        let grid = match (cycle, beats) {
            (Some(cycle), Some(beats)) => TickGrid::of(cycle, beats),
            _ => None,
        };
        if self.transport == Transport::Stopped && grid.is_none() {
            return;
        }
        let end_samples = now_samples + frames as u64;
        let mut send = |at_samples: u64, status: u8| {
            let offset_samples = (block_offset as u64 + (at_samples - now_samples)) as u32;
            if self.messages.len() < CLOCK_OUT_CAPACITY {
                self.messages.push(ClockMessage {
                    offset_samples,
                    status,
                });
            } else {
                self.dropped_messages += 1;
            }
        };
        // A clock on another grid (or none) stops here; a new grid arms a Start.
        let same_grid = match self.transport {
            Transport::Stopped => false,
            Transport::Armed { grid: armed, .. } | Transport::Running { grid: armed } => {
                Some(armed) == grid
            }
        };
        if !same_grid {
            if let Transport::Running { .. } = self.transport {
                send(now_samples, STOP);
            }
            self.transport = match grid {
                Some(grid) => {
                    let late = self.late_start_samples.min(grid.half_tick_samples());
                    Transport::Armed {
                        grid,
                        start_samples: grid.boundary_from(now_samples.saturating_sub(late)),
                    }
                }
                None => Transport::Stopped,
            };
        }
        if let Transport::Armed {
            grid,
            start_samples,
        } = self.transport
            && start_samples < now_samples
        {
            // A boundary just past: Start and beat 0 now; the grid's next tick is ahead (less
            // than half a tick has passed).
            send(now_samples, START);
            send(now_samples, CLOCK);
            self.transport = Transport::Running { grid };
        }
        let grid = match self.transport {
            Transport::Armed { grid, .. } | Transport::Running { grid } => grid,
            Transport::Stopped => return,
        };
        let mut k = grid.first_tick_from(now_samples);
        while grid.tick(k) < end_samples {
            let at_samples = grid.tick(k);
            // Start falls on a boundary, which is a tick: it goes just before that tick.
            if let Transport::Armed { start_samples, .. } = self.transport
                && at_samples >= start_samples
            {
                send(start_samples, START);
                self.transport = Transport::Running { grid };
            }
            send(at_samples, CLOCK);
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 8 beats at 120 BPM at 48 kHz.
    fn anchor(origin_samples: u64) -> (Cycle, WholeBeats) {
        let cycle = Cycle {
            origin_samples,
            length_samples: 192_000,
        };
        (cycle, WholeBeats::new(192_000, 8, 48_000.0))
    }

    #[test]
    fn a_start_a_little_late_is_sent_at_once_and_a_later_one_waits_a_cycle() {
        let (cycle, beats) = anchor(1_000);
        // Known 5 ms after the boundary at 193 000: Start and beat 0 at once, then the grid.
        let mut clock = ClockOut::new(48_000.0);
        run(&mut clock, cycle, beats, 193_240, 2_000);
        let sent: Vec<(u32, u8)> = (clock.messages().iter())
            .map(|m| (m.offset_samples, m.status))
            .collect();
        assert_eq!(
            sent,
            vec![(0, START), (0, CLOCK), (760, CLOCK), (1_760, CLOCK)]
        );
        // Known 11 ms after it: ticks on the grid, Start at the next boundary (385 000).
        let mut clock = ClockOut::new(48_000.0);
        run(&mut clock, cycle, beats, 193_528, 2_000);
        assert!(clock.messages().iter().all(|m| m.status == CLOCK));
        assert_eq!(clock.messages()[0].offset_samples, 472);
        run(&mut clock, cycle, beats, 384_500, 1_000);
        let on_time = [(500, START), (500, CLOCK)].map(|(offset_samples, status)| ClockMessage {
            offset_samples,
            status,
        });
        assert_eq!(clock.messages(), on_time);
    }

    #[test]
    fn a_block_too_long_for_its_ticks_drops_the_rest_and_counts_them() {
        // 400 BPM, a tick every 300 samples: 1 024 fit in 307 200 frames; a block of 10 s
        // (1 600 ticks and Start) drops 577 of them.
        let cycle = Cycle {
            origin_samples: 0,
            length_samples: 28_800,
        };
        let beats = WholeBeats::new(28_800, 4, 48_000.0);
        assert_eq!(beats.bpm, 400.0);
        let mut clock = ClockOut::new(48_000.0);
        run(&mut clock, cycle, beats, 0, 480_000);
        assert_eq!(clock.messages().len(), CLOCK_OUT_CAPACITY);
        assert_eq!(clock.dropped_messages, 577);
        assert_eq!(clock.messages()[1_023].offset_samples, 1_022 * 300);
    }

    fn run(clock: &mut ClockOut, cycle: Cycle, beats: WholeBeats, from: u64, frames: usize) {
        clock.begin_block();
        clock.advance(Some(cycle), Some(beats), from, frames, 0);
    }

    #[test]
    fn uneven_ticks_round_to_the_nearest_sample_without_drift() {
        // 7 beats in 100 001 samples: a tick every 595.24 samples.
        let grid = TickGrid {
            origin_samples: 10,
            length_samples: 100_001,
            ticks_per_cycle: 168,
        };
        for k in [0u64, 1, 167, 168, 1_000_000] {
            let exact = 10.0 + k as f64 * 100_001.0 / 168.0;
            assert!((grid.tick(k) as f64 - exact).abs() <= 0.5, "tick {k}");
        }
        assert_eq!(
            grid.tick(168),
            10 + 100_001,
            "a cycle later, on the boundary"
        );
        for t in [0u64, 10, 11, 605, 606, 5_000_000] {
            let k = grid.first_tick_from(t);
            assert!(
                grid.tick(k) >= t && (k == 0 || grid.tick(k - 1) < t),
                "from {t}"
            );
        }
    }

    #[test]
    fn absurd_tempos_send_nothing() {
        let mut clock = ClockOut::new(48_000.0);
        let cycle = Cycle {
            origin_samples: 0,
            length_samples: 4_800,
        };
        // 64 beats in 0.1 s (38 400 BPM), and a NaN tempo.
        for beats in [
            WholeBeats::new(4_800, 64, 48_000.0),
            WholeBeats {
                bpm: f64::NAN,
                ..WholeBeats::new(4_800, 1, 48_000.0)
            },
        ] {
            run(&mut clock, cycle, beats, 0, 48_000);
            assert!(clock.messages().is_empty());
        }
    }

    #[test]
    fn a_grid_moved_by_whole_cycles_keeps_running() {
        let mut clock = ClockOut::new(48_000.0);
        let (cycle, beats) = anchor(1_000);
        run(&mut clock, cycle, beats, 1_000, 2_000);
        assert_eq!(clock.messages()[0].status, START);
        let moved = Cycle {
            origin_samples: 1_000 + 3 * 192_000,
            ..cycle
        };
        run(&mut clock, moved, beats, 3_000, 2_000);
        assert!(clock.messages().iter().all(|m| m.status == CLOCK));
        // 2 000 samples at a tick every 1 000: ticks at 3 000 and 4 000.
        assert_eq!(clock.messages().len(), 2);
    }
}
