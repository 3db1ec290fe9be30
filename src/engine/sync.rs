//! Host sync: loops that follow the host's bars.
//!
//! In host mode, with the transport playing and no anchor yet, a take starts on a host bar line
//! and stops on one, so the anchor cycle is a whole number of bars at the host tempo. The anchor
//! is then *locked* to the host: it knows which host bar it started on and how many bars it
//! spans. At every block the engine compares where its loops are with where the host says they
//! should be, and:
//! - at every anchor-cycle boundary on the host's grid, moves all loops by the rounding error
//!   (at most a sample or two: a bar is rarely a whole number of samples, so loop positions are
//!   derived from the host's bar positions instead of accumulating a rounded length);
//! - after a jump of the host timeline (a loop region, scrubbing) or a tempo change, fades the
//!   loops out, puts them where the host is, and fades them back in;
//! - when the transport stops, keeps them running or fades them out, as the player chose.
//!
//! Tempo changes *restart* the loops: each loop's length becomes its bar count at the new tempo
//! and its audio plays at the recorded speed from every loop start (never resampled: the pitch
//! of an acoustic instrument must not change), cut short or followed by silence, with 5 ms
//! declick fades (see `Track::apply_restart_fades`).
//!
//! Realtime: everything here runs on the audio thread; nothing allocates.

use super::action::Action;
use super::cycle::{BarLock, Cycle, HostGrid, grid_sample};
use super::host_clock::HINT_TOLERANCE_QUARTERS;
use super::session_event::{SessionEvent, TrackRecord};
use super::settings::ms_to_samples;
pub use super::settings::{BarCount, SyncMode, SyncSettings, TransportStop};
use super::shared::Shared;
use super::take::Take;

/// Phase differences up to this, in milliseconds, are corrected at the next loop boundary
/// without a fade; larger ones are a jump of the host timeline.
const JUMP_TOLERANCE_MS: f32 = 1.0;
/// Longest anchor the "auto" bar count picks, in bars.
const MAX_AUTO_BARS: u32 = 64;

/// Host-sync state of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HostSync {
    /// The anchor's lock to the host bars, when it was made in host mode.
    pub lock: Option<BarLock>,
    /// The loops are faded out because the transport stopped ("stop loops").
    stopped: bool,
}

impl HostGrid {
    /// The host's bar position (bars since song position 0) at absolute time `t_samples`.
    pub fn bars_at(&self, t_samples: f64) -> f64 {
        self.origin_bar + (t_samples - self.bar_origin_samples) / self.bar_length_samples
    }

    /// Absolute time (fractional samples) of host bar position `bar`.
    pub fn time_of_bar(&self, bar: f64) -> f64 {
        self.bar_origin_samples + (bar - self.origin_bar) * self.bar_length_samples
    }

    /// The lines `first_bar + k * step_bars` on the grid: the last one at or before `t_samples`,
    /// as `(k, sample)`, each line at its sample (see [`grid_sample`]).
    fn line_at_or_before(&self, t_samples: u64, first_bar: f64, step_bars: f64) -> (i64, i64) {
        let line = |k: i64| grid_sample(self.time_of_bar(first_bar + k as f64 * step_bars));
        let t = t_samples as i64;
        let mut k = ((self.bars_at(t_samples as f64) - first_bar) / step_bars).floor() as i64;
        // Placing a line on a sample can put it a sample either side of the division's floor.
        while line(k) > t {
            k -= 1;
        }
        while line(k + 1) <= t {
            k += 1;
        }
        (k, line(k))
    }

    /// How far a line of this grid may move under a take, in samples: a host tick (at least a
    /// sample).
    fn tick_tolerance_samples(&self) -> f64 {
        (HINT_TOLERANCE_QUARTERS * self.quarter_samples).max(1.0)
    }

    /// The length of `bars` bars in whole samples.
    pub fn bars_length(&self, bars: u32) -> u64 {
        (f64::from(bars) * self.bar_length_samples).round().max(1.0) as u64
    }
}

/// Where a record press at `now_samples` starts the first take on the host grid: the bar line
/// just before it if it is at most `lenience_samples` back (the history holds the audio),
/// else the next bar line.
pub fn take_start(grid: &HostGrid, now_samples: u64, lenience_samples: u64) -> u64 {
    let (k, before) = grid.line_at_or_before(now_samples, 0.0, 1.0);
    if before >= 0 && now_samples - before as u64 <= lenience_samples {
        before as u64
    } else {
        grid_sample(grid.time_of_bar((k + 1) as f64)).max(0) as u64
    }
}

/// The anchor's bar count for a take recorded for `recorded_samples` (the stop press): the
/// nearest of 1, 2, 4, 8... bars, the longer one on a tie.
pub fn auto_bars(recorded_samples: u64, bar_length_samples: f64) -> u32 {
    let recorded_bars = recorded_samples as f64 / bar_length_samples;
    let mut bars = 1;
    while bars < MAX_AUTO_BARS && recorded_bars >= 1.5 * f64::from(bars) {
        bars *= 2;
    }
    bars
}

impl HostSync {
    /// Whether the loops are locked to the host bars right now.
    pub fn host_locked(&self, shared: &Shared) -> bool {
        shared.cycle.is_some() && self.lock.is_some() && shared.sync_grid().is_some()
    }

    /// The anchor's bars while the loops follow the host (for the status).
    pub fn host_bars(&self, shared: &Shared) -> Option<u32> {
        self.lock
            .filter(|_| self.host_locked(shared))
            .map(|lock| lock.bars)
    }

    /// Samples by which the host grid may have slipped under a take (the jump tolerance while
    /// locked to the host, else 0): a take this much longer than a loop length is that length.
    pub fn host_slip_samples(&self, shared: &Shared) -> u64 {
        if self.host_locked(shared) {
            ms_to_samples(JUMP_TOLERANCE_MS, shared.config.sample_rate_hz) as u64
        } else {
            0
        }
    }

    /// Realtime hook of `record_toggle` with no anchor: where the take starts on the host grid.
    pub fn host_take_start(shared: &Shared, now_samples: u64) -> Option<u64> {
        let grid = shared.sync_grid().filter(|_| shared.cycle.is_none())?;
        Some(take_start(&grid, now_samples, shared.lenience_samples()))
    }

    /// Realtime hook of an import becoming the anchor: while the loops follow the host, it plays
    /// in phase with the bars from the last bar line at or before `now_samples`.
    pub fn host_import_origin(shared: &Shared, now_samples: u64) -> Option<u64> {
        let grid = shared.sync_grid().filter(|_| shared.cycle.is_none())?;
        let (_, line) = grid.line_at_or_before(now_samples, 0.0, 1.0);
        Some(line.max(0) as u64)
    }

    /// Realtime hook of the stop of a first take started at `start_samples`, pressed at
    /// `now_samples` (`None` with a fixed bar count: the take ends by itself): where it ends on
    /// the host grid, so that the anchor is a whole number of bars.
    pub fn host_take_stop(shared: &Shared, start_samples: u64, now_samples: u64) -> Option<u64> {
        let grid = shared.sync_grid().filter(|_| shared.cycle.is_none())?;
        let bars = match shared.settings.sync.bars {
            BarCount::Fixed(bars) => bars,
            BarCount::Auto => auto_bars(now_samples - start_samples, grid.bar_length_samples),
        };
        // On the host's bar line `bars` bars after the start's (its own sample: a whole number
        // of bars rounded once would end a sample off the line). A grid that moved under the
        // take by up to a host tick (a MIDI clock, followed by its phase at a held tempo) ends
        // it whole bars at the grid's tempo after the start instead, so that it locks; the
        // alignment at its first boundary takes up the difference.
        let start_bar = grid.bars_at(start_samples as f64).round();
        let line = grid_sample(grid.time_of_bar(start_bar + f64::from(bars)));
        let whole = start_samples as i64 + grid.bars_length(bars) as i64;
        let moved = (line - whole).unsigned_abs();
        let end = if moved > 1 && moved as f64 <= grid.tick_tolerance_samples() {
            whole
        } else {
            line
        };
        Some((end.max(0) as u64).max(start_samples + 1))
    }

    /// Realtime hook of `begin_take`: a first take with a fixed bar count in host mode stops by
    /// itself after those bars.
    pub fn host_fixed_take_end(shared: &Shared, start_samples: u64) -> Option<u64> {
        match shared.settings.sync.bars {
            BarCount::Fixed(_) => Self::host_take_stop(shared, start_samples, start_samples),
            BarCount::Auto => None,
        }
    }

    /// Realtime hook of every new anchor: locks it to the host's bars when it was made in host
    /// mode of whole bars starting on a bar line (else it runs free).
    pub fn lock_new_anchor(&mut self, shared: &mut Shared, cycle: Cycle) {
        self.lock = Self::bar_lock_for(shared, cycle);
        self.tell_lock(shared);
        self.arm_host_alignment(shared, shared.now_samples);
    }

    /// Realtime hook of installing a restored session: its anchor's saved lock (origin in engine
    /// time), or none. When the loops follow the host right now, they are put where its bars
    /// are before they fade in (else at the first block the host plays).
    pub fn restore_lock(
        &mut self,
        shared: &mut Shared,
        take: Option<&mut Take>,
        lock: Option<BarLock>,
    ) {
        self.lock = lock;
        self.tell_lock(shared);
        if let (Some(grid), Some(_), Some(_)) = (shared.sync_grid(), lock, shared.cycle) {
            self.align_to_host(shared, take, grid);
        }
        self.arm_host_alignment(shared, shared.now_samples);
    }

    /// Tells the saved performance the anchor's lock (it moves with the loops).
    fn tell_lock(&self, shared: &mut Shared) {
        shared.session.tell(SessionEvent::Lock(self.lock));
    }

    /// Realtime hook of everything that makes the loops follow the host in the middle of a
    /// block (a new anchor, a redone one, an alignment): schedules the alignment at the next
    /// anchor boundary from `from_samples` on, so that none is missed before the next block.
    pub fn arm_host_alignment(&self, shared: &mut Shared, from_samples: u64) {
        shared
            .schedule
            .cancel(|a| *a == Action::HostAlign { fade_in: false });
        let fading = shared
            .schedule
            .iter()
            .any(|s| s.action == Action::HostAlign { fade_in: true });
        if let (Some(grid), Some(lock), Some(_), false) =
            (shared.sync_grid(), self.lock, shared.cycle, fading)
        {
            Self::schedule_boundary_alignment(shared, grid, lock, from_samples);
        }
    }

    /// The lock of a new anchor `cycle`: when made in host mode from whole bars starting on a
    /// bar line, its place on the host grid; else `None`.
    fn bar_lock_for(shared: &Shared, cycle: Cycle) -> Option<BarLock> {
        let grid = shared.sync_grid()?;
        let bars = (cycle.length_samples as f64 / grid.bar_length_samples).round();
        let start_bar = grid.bars_at(cycle.origin_samples as f64).round();
        // Within a host tick: the grid is exact once the host's hints have pinned it down, but
        // may still move by a fraction of a tick under a take made just after the transport
        // started (and a capture rounds its end and length separately); the first alignment
        // takes up the difference.
        let tolerance = grid.tick_tolerance_samples();
        let on_bar_line =
            (grid.time_of_bar(start_bar) - cycle.origin_samples as f64).abs() <= tolerance;
        let whole_bars =
            bars >= 1.0 && grid.bars_length(bars as u32).abs_diff(cycle.length_samples) <= 1;
        (on_bar_line && whole_bars).then_some(BarLock {
            start_bar,
            bars: bars as u32,
            origin_samples: cycle.origin_samples as i64,
        })
    }

    /// Realtime hook at the start of every block: compares the loops with the host and
    /// schedules what keeps them aligned.
    pub fn follow_host(&mut self, shared: &mut Shared, take: Option<&mut Take>) {
        shared
            .schedule
            .cancel(|a| *a == Action::HostAlign { fade_in: false });
        let blend = shared.blend_samples() as u32;
        let (Some(_), Some(_)) = (self.lock, shared.cycle) else {
            self.resume_loops(shared, blend);
            return;
        };
        if shared.settings.sync.mode == SyncMode::Free {
            self.resume_loops(shared, blend);
            return;
        }
        let Some(grid) = shared.host_grid else {
            // Transport stopped or unknown: loops run free, or stop.
            if shared.settings.sync.on_stop == TransportStop::StopLoops && !self.stopped {
                shared.output.fade_loops_out(blend);
                self.stopped = true;
            }
            return;
        };
        if self.stopped {
            // The transport plays again: start the silent loops where the host is.
            self.align_to_host(shared, take, grid);
            self.resume_loops(shared, blend);
        }
        let Some(lock) = self.lock else { return };
        let pending_fade = Action::HostAlign { fade_in: true };
        if shared.schedule.iter().any(|s| s.action == pending_fade) {
            return;
        }
        let now = shared.now_samples;
        let (error, _) = Self::host_phase_error(shared, grid, lock, now);
        let tolerance = ms_to_samples(JUMP_TOLERANCE_MS, shared.config.sample_rate_hz) as u64;
        let tempo_changed = shared.cycle.is_some_and(|c| tempo_changed(c, grid, lock));
        if tempo_changed || error.unsigned_abs() > tolerance {
            let declick = shared.declick_samples();
            shared.output.fade_loops_out(declick as u32);
            shared.schedule_action(now + declick as u64, pending_fade);
            return;
        }
        // The rounding error is corrected on the next anchor boundary of the host's grid.
        Self::schedule_boundary_alignment(shared, grid, lock, now);
    }

    /// Schedules the alignment at the first anchor boundary of the host's grid at or after
    /// `from_samples`.
    fn schedule_boundary_alignment(
        shared: &mut Shared,
        grid: HostGrid,
        lock: BarLock,
        from_samples: u64,
    ) {
        let step = f64::from(lock.bars);
        let (k, at_or_before) = grid.line_at_or_before(from_samples, lock.start_bar, step);
        let next = if at_or_before as u64 == from_samples {
            from_samples
        } else {
            grid_sample(grid.time_of_bar(lock.start_bar + (k + 1) as f64 * step)) as u64
        };
        shared.schedule_action(next, Action::HostAlign { fade_in: false });
    }

    /// Runs a scheduled alignment: puts the loops where the host is (the host may have stopped
    /// meanwhile: then they stay as they are), fading them back in after a jump.
    pub fn host_align(&mut self, shared: &mut Shared, take: Option<&mut Take>, fade_in: bool) {
        if let (Some(grid), Some(_)) = (shared.sync_grid(), shared.cycle) {
            self.align_to_host(shared, take, grid);
        }
        // The next boundary may come before the next block.
        self.arm_host_alignment(shared, shared.now_samples + 1);
        if fade_in && !self.stopped {
            let declick = shared.declick_samples();
            shared.output.fade_loops_in(declick as u32);
        }
    }

    /// Fades stopped loops back in.
    fn resume_loops(&mut self, shared: &mut Shared, blend: u32) {
        if self.stopped {
            self.stopped = false;
            shared.output.fade_loops_in(blend);
        }
    }

    /// The longest loop period in anchor cycles (a power of two; a loop slower than normal
    /// repeats after more than its length): the period of the whole loop set.
    fn loop_set_cycles(shared: &Shared, cycle: Cycle) -> u64 {
        let current = shared.undo.on_current_grid();
        (shared.tracks.iter())
            .filter(|track| current(track))
            .map(|track| (track.period_samples() / cycle.length_samples).max(1))
            .max()
            .unwrap_or(1)
    }

    /// How far (samples, forward positive) the loops' position in the loop set is behind the
    /// host's at `t_samples`, in `-period/2 ..= period/2`; and the period.
    fn host_phase_error(
        shared: &Shared,
        grid: HostGrid,
        lock: BarLock,
        t_samples: u64,
    ) -> (i64, u64) {
        let Some(cycle) = shared.cycle else {
            return (0, 1);
        };
        let cycles = Self::loop_set_cycles(shared, cycle);
        let period = cycles * cycle.length_samples;
        let (k, start) = grid.line_at_or_before(t_samples, lock.start_bar, f64::from(lock.bars));
        let wanted = (t_samples as i64 - start) as i128
            + k.rem_euclid(cycles as i64) as i128 * cycle.length_samples as i128;
        let actual = (t_samples as i128 - lock.origin_samples as i128).rem_euclid(period as i128);
        let mut error = (wanted - actual).rem_euclid(period as i128);
        if error > period as i128 / 2 {
            error -= period as i128;
        }
        (error as i64, period)
    }

    /// Makes every loop's length its bar count at the host tempo (after a tempo change) and moves
    /// all loops together so that the loop set is where the host's bars say it is.
    fn align_to_host(&mut self, shared: &mut Shared, take: Option<&mut Take>, grid: HostGrid) {
        let Some(lock) = self.lock else { return };
        if let Some(cycle) = shared.cycle
            && tempo_changed(cycle, grid, lock)
        {
            Self::follow_tempo(shared, cycle, lock, grid.bars_length(lock.bars));
        }
        let Some(lock) = self.lock else { return };
        let (error, _) = Self::host_phase_error(shared, grid, lock, shared.now_samples);
        // Playing `error` samples further on is an origin `error` earlier.
        self.move_loops(shared, take, -error);
    }

    /// Moves every loop and the lock's origin by `shift_samples` (later: positive).
    fn move_loops(&mut self, shared: &mut Shared, take: Option<&mut Take>, shift_samples: i64) {
        if shift_samples == 0 {
            return;
        }
        let moved = |origin: u64, period: u64| {
            // An origin may only wrap by its own loop's period; the lock's origin keeps the rest.
            (origin as i128 + shift_samples as i128).rem_euclid(period.max(1) as i128) as u64
        };
        let current = shared.undo.on_current_grid();
        for track in shared.tracks.iter_mut().filter(|track| current(track)) {
            track.origin_samples = moved(track.origin_samples, track.period_samples());
        }
        if let Some(cycle) = &mut shared.cycle {
            cycle.origin_samples = moved(cycle.origin_samples, cycle.length_samples);
        }
        if let Some(lock) = &mut self.lock {
            lock.origin_samples += shift_samples;
        }
        if let Some(take) = take {
            take.follow_loops(shift_samples);
        }
        self.tell_lock(shared);
        Self::tell_loops_moved(shared);
    }

    /// Tells the saved performance where every loop now is and how long it is (after a
    /// re-alignment or a tempo change), so a project saved now reloads them there.
    fn tell_loops_moved(shared: &mut Shared) {
        for track in &shared.tracks {
            // A filling capture tells its record when it completes; the mirror forgets removed
            // and discarded ones.
            if track.fill.is_none() && track.state.in_session() {
                shared
                    .session
                    .tell(SessionEvent::Updated(TrackRecord::of(track)));
            }
        }
        shared.set_cycle(shared.cycle);
    }

    /// Realtime hook of a restart (free-running loops moved by `shift_samples`): the lock moves
    /// with them, so that the host's bars put them back where they were recorded.
    pub fn loops_restarted(&mut self, shared: &mut Shared, shift_samples: u64) {
        if let Some(lock) = &mut self.lock {
            lock.origin_samples += shift_samples as i64;
            self.tell_lock(shared);
        }
    }

    /// A tempo change: every loop becomes its cycle count times `length_samples` (its audio is
    /// kept, so it restarts on its new boundaries), keeping its place in the longest loop's cycle
    /// (scaled to the new tempo).
    fn follow_tempo(shared: &mut Shared, cycle: Cycle, lock: BarLock, length_samples: u64) {
        let scale = length_samples as f64 / cycle.length_samples as f64;
        let rescaled = |origin: u64, period: u64, new_period: u64| {
            let offset = (origin as i128 - lock.origin_samples as i128).rem_euclid(period as i128);
            let offset = (offset as f64 * scale).round() as i128;
            (lock.origin_samples as i128 + offset).rem_euclid(new_period.max(1) as i128) as u64
        };
        let current = shared.undo.on_current_grid();
        for track in shared.tracks.iter_mut().filter(|track| current(track)) {
            // Longer than the audio at a slower tempo: silence follows it (the buffer is not
            // grown: a restored or imported loop's buffer holds exactly its audio). A loop
            // slower than normal keeps its place in its longer period.
            let cycles = (track.length_samples / cycle.length_samples).max(1);
            let new_length = cycles * length_samples;
            let period = track.period_samples();
            let new_period = period / track.length_samples * new_length;
            track.origin_samples = rescaled(track.origin_samples, period, new_period);
            track.length_samples = new_length;
        }
        shared.cycle = Some(Cycle {
            origin_samples: rescaled(cycle.origin_samples, cycle.length_samples, length_samples),
            length_samples,
        });
        Self::tell_loops_moved(shared);
    }
}

/// Whether the anchor `cycle` is no longer its bars at the grid's tempo (a sample of difference
/// is rounding, corrected by the alignment's slips).
fn tempo_changed(cycle: Cycle, grid: HostGrid, lock: BarLock) -> bool {
    cycle.length_samples.abs_diff(grid.bars_length(lock.bars)) > 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(bar_length_samples: f64) -> HostGrid {
        HostGrid {
            bar_origin_samples: 1_000.0,
            bar_length_samples,
            beats_per_bar: 4,
            origin_bar: 2.0,
            quarter_samples: bar_length_samples / 4.0,
        }
    }

    #[test]
    fn a_press_just_after_a_bar_starts_there_else_at_the_next_bar() {
        let grid = grid(82_285.714_285_714_29);
        assert_eq!(take_start(&grid, 1_000, 9_600), 1_000);
        assert_eq!(
            take_start(&grid, 10_600, 9_600),
            1_000,
            "within lenience: back"
        );
        assert_eq!(
            take_start(&grid, 10_601, 9_600),
            83_285,
            "later: the next bar"
        );
        assert_eq!(
            take_start(&grid, 999, 9_600),
            1_000,
            "just before a bar: that bar"
        );
        assert_eq!(grid.bars_at(1_000.0), 2.0);
        assert_eq!(grid.bars_length(7), 576_000);
    }

    #[test]
    fn auto_bars_rounds_to_the_nearest_power_of_two() {
        let bar = 96_000.0;
        for (recorded_bars, bars) in [
            (0.2, 1),
            (1.4, 1),
            (1.5, 2),
            (2.9, 2),
            (3.0, 4),
            (5.9, 4),
            (6.0, 8),
            (11.0, 8),
            (13.0, 16),
            (1000.0, MAX_AUTO_BARS),
        ] {
            let samples = (recorded_bars * bar) as u64;
            assert_eq!(auto_bars(samples, bar), bars, "{recorded_bars} bars");
        }
    }

    #[test]
    fn grid_lines_are_the_host_positions_samples_without_drift() {
        // 140 BPM at 48 kHz: a bar is 82 285.714... samples; bar k must start in the sample its
        // exact position falls in, however far from the origin.
        let grid = grid(82_285.714_285_714_29);
        for k in [1i64, 7, 100, 10_000] {
            let exact = 1_000.0 + k as f64 * 82_285.714_285_714_29;
            let t = exact.floor() as u64;
            assert_eq!(grid.line_at_or_before(t, 2.0, 1.0), (k, t as i64));
            assert_eq!(grid.line_at_or_before(t - 1, 2.0, 1.0).0, k - 1);
        }
    }
}
