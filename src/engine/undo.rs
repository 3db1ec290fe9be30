//! The undo history: every edit of the performance, undoable and redoable, in a fixed-capacity
//! log allocated up front.
//!
//! An edit is a loop joining the mix (a take, a capture, an import), a change of one loop's
//! controls (gain, pan, mute, solo, reverse, effects, reset, a restart of the loop: its record
//! before and after), or loops leaving it (one removed, or all of them: clear). Undo applies an
//! edit backwards, ramped over the blend length; redo applies it again. A new edit ends the
//! redo history. When the log is full, the oldest edit is forgotten.
//!
//! Loops out of the mix stay in the track list, silent, while an edit can bring them back:
//! undone ones (`TrackState::Undoing`) while their `Joined` edit waits for redo, removed and
//! cleared ones (`TrackState::Removed`, tagged with the removal's serial) while the removal
//! waits for undo. An edit that is forgotten (the oldest of a full log, the redo history a new
//! edit ends, all of it on a clear with nothing playing) hands the loops it kept to be freed:
//! they go to the keeper with the track list's hand-back, off the audio thread.
//!
//! An edit that empties the mix keeps the anchor's grid (cycle, host lock, beats) with it, and
//! applying it the other way brings that grid back with the loops, in phase: loops keep their
//! origins while they are out, the loops kept with a grid stay where they are while later loops
//! move (restarts, host re-alignments, tempo changes: see [`UndoLog::on_current_grid`]), and a
//! grid locked to the host's bars re-aligns its loops when it comes back.
//!
//! A dub (overdub, replace, multiply: see `dub.rs`) is an `Edit::Layered`: the loop's version
//! before it is kept here, with the edit's serial, while undo can bring it back; undo swaps it
//! in (crossfaded) and keeps the dubbed version for redo. A forgotten edit hands its version to
//! the pool.
//!
//! The history is not saved with the performance; the undone loops are (so that redo brings
//! them back after a reload: an installed session's undone loops start the redo history).
//!
//! Realtime: runs on the audio thread; the log never grows past its capacity and nothing here
//! allocates.

use std::collections::VecDeque;

use super::audio::TrackBuffer;
use super::command::TrackTarget;
use super::cycle::{BarLock, Cycle, WholeBeats};
use super::fx::chain::FxSettings;
use super::pool::TrackPool;
use super::recorder::{Phase, Recorder};
use super::session::SessionOut;
use super::session_event::{SessionEvent, TrackRecord};
use super::shared::Shared;
use super::sync::HostSync;
use super::track::{Track, TrackState};
use super::track_controls;
use super::track_list::TrackList;

/// Edits the log holds; the oldest is forgotten beyond this.
pub const UNDO_CAPACITY: usize = 256;
/// Changes of the same continuous controls of one loop (a knob's sweep, automation) this close
/// together, in seconds, are one edit.
const SWEEP_SECS: f32 = 0.5;

/// A change to the performance that undo can take back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Edit {
    /// A loop joined the mix (a take, a capture, an import). Undo takes it out and keeps it
    /// for redo.
    Joined {
        /// The loop's id.
        track_id: u64,
    },
    /// A loop's controls (or its phase: a restart of the loop) changed. Undo ramps what differs
    /// back to `before`; redo to `after`.
    Changed {
        /// The loop's record before the change.
        before: TrackRecord,
        /// Its record after it.
        after: TrackRecord,
    },
    /// Loops left the mix: the ones whose `removed_by` is this edit's serial (one removed
    /// loop, or every loop of a clear). Undo brings them back.
    Removed {
        /// The clear unmuted the loop mix (undo mutes it again).
        unmuted_mix: bool,
    },
    /// A dub gave a loop a new version of its audio (see `dub.rs`); the other version waits in
    /// the log's kept versions under the edit's serial. Undo and redo swap them.
    Layered {
        /// The loop's id.
        track_id: u64,
        /// A multiply's change of length and phase.
        multiplied: Option<Multiplied>,
    },
}

/// How a multiply changed a loop's length and phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Multiplied {
    /// The length before, in samples.
    pub old_length_samples: u64,
    /// The length after, in samples.
    pub new_length_samples: u64,
    /// The origin after minus the origin before, in samples (origins move together later, so
    /// the difference stays exact).
    pub origin_delta_samples: i64,
}

/// The anchor's grid as it was when an edit emptied the mix.
#[derive(Debug, Clone, Copy, PartialEq)]
struct HeldGrid {
    /// The anchor cycle.
    cycle: Cycle,
    /// The anchor's lock to the host bars.
    lock: Option<BarLock>,
    /// The anchor's whole beats from beat quantization.
    beats: Option<WholeBeats>,
}

/// One edit in the log.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    /// Its serial (increasing from 1; what removed loops are tagged with).
    serial: u64,
    /// What changed.
    edit: Edit,
    /// The grid, while applying the edit (either way) left the mix empty.
    grid: Option<HeldGrid>,
    /// When the edit was made (or a sweep last extended it), in absolute samples.
    at_samples: u64,
}

/// The undo history: the edits undo can take back, then the ones redo can re-apply.
#[derive(Debug)]
pub struct UndoLog {
    /// Oldest first; `..done` are done (undo takes back the last), `done..` undone (redo
    /// re-applies the first).
    entries: VecDeque<Entry>,
    /// How many entries are done.
    done: usize,
    /// The serial the next edit gets.
    next_serial: u64,
    /// The versions `Layered` edits keep, by serial (at most one per edit).
    versions: Vec<(u64, TrackBuffer)>,
}

impl UndoLog {
    /// An empty log with room for [`UNDO_CAPACITY`] edits. Not realtime-safe (allocates).
    pub fn allocated() -> Self {
        Self {
            entries: VecDeque::with_capacity(UNDO_CAPACITY),
            done: 0,
            next_serial: 1,
            versions: Vec::with_capacity(UNDO_CAPACITY),
        }
    }

    /// Keeps the version of a loop the `Layered` edit `serial` does not play.
    pub fn keep_version(&mut self, serial: u64, version: TrackBuffer) {
        // One per edit, and the log holds at most its capacity.
        debug_assert!(self.versions.len() < self.versions.capacity());
        self.versions.push((serial, version));
    }

    /// Takes out the version kept for the edit `serial`.
    fn take_version(&mut self, serial: u64) -> Option<TrackBuffer> {
        let at = self.versions.iter().position(|(s, _)| *s == serial)?;
        Some(self.versions.swap_remove(at).1)
    }

    /// Edits undo can take back.
    pub fn undo_count(&self) -> usize {
        self.done
    }

    /// Edits redo can re-apply.
    pub fn redo_count(&self) -> usize {
        self.entries.len() - self.done
    }

    /// Records an edit made at `now_samples`: ends the redo history, merges a sweep of the
    /// same continuous controls of one loop within `sweep_samples` into the edit before, and
    /// forgets the oldest edit when full. Returns the edit's serial.
    fn record(
        &mut self,
        edit: Edit,
        now_samples: u64,
        sweep_samples: u64,
        tracks: &mut TrackList,
        session: &mut SessionOut,
        pool: &mut TrackPool,
    ) -> u64 {
        self.drop_redo(tracks, session, pool);
        if let (Edit::Changed { before, after }, Some(last)) = (edit, self.entries.back_mut())
            && let Edit::Changed {
                before: last_before,
                after: last_after,
            } = &mut last.edit
            && last_before.id == before.id
            && now_samples.saturating_sub(last.at_samples) <= sweep_samples
            && swept(last_before, last_after).is_some()
            && swept(last_before, last_after) == swept(&before, &after)
        {
            *last_after = after;
            last.at_samples = now_samples;
            let serial = last.serial;
            if last_before == last_after {
                // Swept back to where it started: nothing to undo.
                self.entries.pop_back();
                self.done -= 1;
            }
            return serial;
        }
        if self.entries.len() == UNDO_CAPACITY
            && let Some(oldest) = self.entries.pop_front()
        {
            self.done -= 1;
            self.release(&oldest, tracks, session, pool);
        }
        let serial = self.next_serial;
        self.next_serial += 1;
        self.entries.push_back(Entry {
            serial,
            edit,
            grid: None,
            at_samples: now_samples,
        });
        self.done += 1;
        serial
    }

    /// Ends the redo history: the loops its edits kept are handed back.
    pub fn drop_redo(
        &mut self,
        tracks: &mut TrackList,
        session: &mut SessionOut,
        pool: &mut TrackPool,
    ) {
        if self.redo_count() == 0 {
            return;
        }
        while self.entries.len() > self.done {
            if let Some(entry) = self.entries.pop_back() {
                self.release(&entry, tracks, session, pool);
            }
        }
        session.tell(SessionEvent::RedoDiscarded);
    }

    /// Forgets every edit: the loops they kept are handed back.
    fn forget(&mut self, tracks: &mut TrackList, session: &mut SessionOut, pool: &mut TrackPool) {
        self.drop_redo(tracks, session, pool);
        while let Some(entry) = self.entries.pop_back() {
            self.release(&entry, tracks, session, pool);
        }
        self.done = 0;
    }

    /// Hands back the loops a forgotten edit kept out of the mix (a redo's undone loop, an
    /// undo's removed ones) and the version it kept; the loops it concerns that play stay.
    fn release(
        &mut self,
        entry: &Entry,
        tracks: &mut TrackList,
        session: &mut SessionOut,
        pool: &mut TrackPool,
    ) {
        if let Some(version) = self.take_version(entry.serial) {
            pool.retire_buffer(version);
        }
        release_loops(entry, tracks, session);
    }

    /// Starts over with an installed session's `tracks` (the old ones are gone with the old
    /// list): its undone loops are the redo history, the oldest redone first (as they were
    /// undone from the newest down). Undone loops beyond the capacity are dropped, and so are
    /// those that do not fit the session's `cycle` (undone from another grid, which an edit
    /// not saved with the session, such as an undone clear, had replaced).
    pub fn restart(
        &mut self,
        tracks: &mut TrackList,
        cycle: Option<Cycle>,
        session: &mut SessionOut,
        pool: &mut TrackPool,
    ) {
        self.entries.clear();
        for (_, version) in self.versions.drain(..) {
            pool.retire_buffer(version);
        }
        self.done = 0;
        for track in tracks.iter_mut() {
            if track.state != TrackState::Undoing {
                continue;
            }
            let fits = cycle.is_none_or(|cycle| {
                track.length_samples % cycle.length_samples == 0
                    && (track.length_samples / cycle.length_samples).is_power_of_two()
            });
            if !fits || self.entries.len() == UNDO_CAPACITY {
                track.state = TrackState::Discarding;
                session.tell(SessionEvent::Removed { id: track.id });
                continue;
            }
            self.entries.push_back(Entry {
                serial: self.next_serial,
                edit: Edit::Joined { track_id: track.id },
                grid: None,
                at_samples: 0,
            });
            self.next_serial += 1;
        }
    }

    /// Whether a track plays on the current grid (or will when an edit brings it back): all
    /// but the loops an edit that emptied the mix keeps with its grid, and loops removed before
    /// that edit. Moves of the loops (a restart, a host re-alignment, a tempo change) leave those
    /// where they are, with their grid.
    pub fn on_current_grid(&self) -> impl Fn(&Track) -> bool + use<> {
        let last_grid = (self.entries.iter().take(self.done))
            .filter(|entry| entry.grid.is_some())
            .map(|entry| entry.serial)
            .max();
        move |track| match (track.state, track.removed_by, last_grid) {
            (TrackState::Removed, Some(removed_by), Some(last_grid)) => removed_by > last_grid,
            _ => true,
        }
    }
}

/// Which continuous controls (gain, pan, effect parameters) `before` and `after` differ in, if
/// they differ in nothing else: a sweep that later changes of the same controls extend.
fn swept(before: &TrackRecord, after: &TrackRecord) -> Option<(bool, bool, bool)> {
    let switches_only = TrackRecord {
        gain: before.gain,
        pan: before.pan,
        fx: FxSettings {
            filter_on: after.fx.filter_on,
            drive_on: after.fx.drive_on,
            delay_on: after.fx.delay_on,
            ..before.fx
        },
        ..*after
    };
    let changed = (
        before.gain != after.gain,
        before.pan != after.pan,
        before.fx != after.fx,
    );
    (switches_only == *before && changed != (false, false, false)).then_some(changed)
}

/// Hands back the loops a forgotten edit kept out of the mix (a redo's undone loop, an undo's
/// removed ones); the loops it concerns that play stay.
fn release_loops(entry: &Entry, tracks: &mut TrackList, session: &mut SessionOut) {
    for track in tracks.iter_mut() {
        let kept = match entry.edit {
            Edit::Joined { track_id } => track.id == track_id && track.state == TrackState::Undoing,
            Edit::Removed { .. } => {
                track.removed_by == Some(entry.serial) && track.state == TrackState::Removed
            }
            Edit::Changed { .. } | Edit::Layered { .. } => false,
        };
        if kept {
            if track.fill.is_some() && track.state == TrackState::Undoing {
                // The mirror knows a filling track only by id, not as undone.
                session.tell(SessionEvent::Removed { id: track.id });
            }
            track.state = TrackState::Discarding;
        }
    }
}

impl Shared {
    /// Records an edit made now (see [`UndoLog::record`]); returns its serial.
    pub fn record_edit(&mut self, edit: Edit) -> u64 {
        let sweep_samples = (SWEEP_SECS * self.config.sample_rate_hz) as u64;
        (self.undo).record(
            edit,
            self.now_samples,
            sweep_samples,
            &mut self.tracks,
            &mut self.session,
            &mut self.pool,
        )
    }
}

/// Undo: cancels the take (or the armed start), else takes back the last edit.
pub fn undo(shared: &mut Shared, sync: &mut HostSync, recorder: &mut Recorder) {
    if recorder.undo(shared) || shared.undo.done == 0 {
        return;
    }
    shared.undo.done -= 1;
    let index = shared.undo.done;
    step(shared, sync, recorder, index, false);
}

/// Redo: re-applies the last undone edit.
pub fn redo(shared: &mut Shared, sync: &mut HostSync, recorder: &mut Recorder) {
    let index = shared.undo.done;
    if index == shared.undo.entries.len() {
        return;
    }
    shared.undo.done += 1;
    step(shared, sync, recorder, index, true);
}

/// Clear: takes every loop out of the mix (undoable, the cycle kept with them) and drops the
/// take; with nothing playing and no take, forgets the undo history (freeing what it kept).
pub fn clear(shared: &mut Shared, sync: &mut HostSync, recorder: &mut Recorder) {
    let had_take = recorder.phase() != Phase::Idle;
    recorder.discard(shared);
    if shared.tracks.playing().next().is_some() {
        let unmuted_mix = shared.output.mix_muted();
        take_out(shared, sync, recorder, unmuted_mix, |_| true);
        return;
    }
    if !had_take {
        (shared.undo).forget(&mut shared.tracks, &mut shared.session, &mut shared.pool);
    }
    // A clean slate: the next loop must be heard.
    shared
        .output
        .set_mix_muted(false, shared.blend_samples() as u32);
    forget_grid(shared, recorder);
}

/// Takes the loop `target` out of the mix (undoable).
pub fn remove_loop(
    shared: &mut Shared,
    sync: &mut HostSync,
    recorder: &mut Recorder,
    target: TrackTarget,
) {
    if let Some(index) = track_controls::index_of(shared, target) {
        let id = shared.tracks[index].id;
        take_out(shared, sync, recorder, false, |track| track.id == id);
    }
}

/// Records a removal of the playing loops `which` selects and applies it.
fn take_out(
    shared: &mut Shared,
    sync: &mut HostSync,
    recorder: &mut Recorder,
    unmuted_mix: bool,
    which: impl Fn(&Track) -> bool,
) {
    let serial = shared.record_edit(Edit::Removed { unmuted_mix });
    for track in shared.tracks.iter_mut() {
        if track.state == TrackState::Playing && which(track) {
            track.removed_by = Some(serial);
        }
    }
    let index = shared.undo.done - 1;
    step(shared, sync, recorder, index, true);
}

/// Applies the entry at `index` forwards (do, redo) or backwards (undo): the loops it concerns
/// in or out of the mix, or their controls, ramped; the grid kept when the mix empties and
/// brought back when it fills again; the session mirror told.
fn step(
    shared: &mut Shared,
    sync: &mut HostSync,
    recorder: &mut Recorder,
    index: usize,
    forward: bool,
) {
    let entry = shared.undo.entries[index];
    let was_playing = shared.tracks.playing().next().is_some();
    let blend = shared.blend_samples() as u32;
    match entry.edit {
        Edit::Joined { track_id } => {
            let wanted = if forward {
                TrackState::Undoing
            } else {
                TrackState::Playing
            };
            if let Some(track) = (shared.tracks.iter_mut())
                .find(|track| track.id == track_id && track.state == wanted)
            {
                move_in_or_out(track, forward, TrackState::Undoing, blend);
                let record = track.fill.is_none().then(|| TrackRecord::of(track));
                shared.tell_updated(record);
                if forward {
                    // Back in the mix, it is the newest loop and selects itself, as a take does.
                    (shared.tracks).select_id(track_id, &mut shared.session);
                }
            }
        }
        Edit::Changed { before, after } => {
            let (from, to) = if forward {
                (before, after)
            } else {
                (after, before)
            };
            track_controls::ramp_between(shared, &from, &to);
        }
        Edit::Removed { unmuted_mix } => {
            let wanted = if forward {
                TrackState::Playing
            } else {
                TrackState::Removed
            };
            for track in shared.tracks.iter_mut() {
                if track.removed_by != Some(entry.serial) || track.state != wanted {
                    continue;
                }
                move_in_or_out(track, !forward, TrackState::Removed, blend);
                if forward {
                    shared.session.tell(SessionEvent::Removed { id: track.id });
                } else {
                    shared.session.track_added(track);
                }
            }
            if unmuted_mix {
                shared.output.set_mix_muted(!forward, blend);
            }
        }
        Edit::Layered {
            track_id,
            multiplied,
        } => swap_version(shared, entry.serial, track_id, multiplied, forward),
    }
    let playing = shared.tracks.playing().next().is_some();
    let grid = match (was_playing, playing) {
        (true, false) => {
            let grid = shared.cycle.map(|cycle| HeldGrid {
                cycle,
                lock: sync.lock,
                beats: recorder.anchor_beats,
            });
            forget_grid(shared, recorder);
            grid
        }
        (false, true) => {
            bring_back_grid(shared, sync, recorder, entry.grid);
            None
        }
        _ => entry.grid,
    };
    shared.undo.entries[index].grid = grid;
    shared.update_audibility();
}

/// Swaps the version a `Layered` edit keeps with the one its loop plays (crossfaded): the
/// dubbed one back in (`forward`) or the one before the dub.
fn swap_version(
    shared: &mut Shared,
    serial: u64,
    track_id: u64,
    multiplied: Option<Multiplied>,
    forward: bool,
) {
    let Some(index) = shared.tracks.iter().position(|track| track.id == track_id) else {
        return;
    };
    let Some(version) = shared.undo.take_version(serial) else {
        return;
    };
    let blend = shared.blend_samples() as u32;
    let track = &mut shared.tracks[index];
    let (length, origin) = match multiplied {
        Some(m) if forward => (
            m.new_length_samples,
            (track.origin_samples as i64 + m.origin_delta_samples) as u64,
        ),
        Some(m) => (
            m.old_length_samples,
            (track.origin_samples as i64 - m.origin_delta_samples) as u64,
        ),
        None => (track.length_samples, track.origin_samples),
    };
    let other = track.switch_version(version, length, origin, blend);
    track.layers = if forward {
        track.layers + 1
    } else {
        track.layers.saturating_sub(1)
    };
    shared.undo.keep_version(serial, other);
    if shared.tracks[index].state.in_session() {
        shared.session.track_added(&shared.tracks[index]);
    }
}

/// Fades `track` into the mix, or out of it into `out_state`.
fn move_in_or_out(track: &mut Track, into_mix: bool, out_state: TrackState, blend: u32) {
    if into_mix {
        if track.is_faded_out() {
            track.fx.forget_memory();
        }
        track.state = TrackState::Playing;
        track.fade.ramp_to(1.0, blend);
    } else {
        track.state = out_state;
        track.fade.ramp_to(0.0, blend);
    }
}

/// Forgets the cycle and everything that waits on it (the recorder's wake-ups too).
fn forget_grid(shared: &mut Shared, recorder: &mut Recorder) {
    shared.reset_cycle();
    recorder.schedule_cleared();
}

/// Loops came back into an empty mix: their grid comes back with them (from the first of
/// them, as an anchor, when the edit kept none: a reloaded session's undone loops).
fn bring_back_grid(
    shared: &mut Shared,
    sync: &mut HostSync,
    recorder: &mut Recorder,
    grid: Option<HeldGrid>,
) {
    let grid = grid.or_else(|| {
        let anchor = shared.tracks.playing().next()?;
        Some(HeldGrid {
            cycle: Cycle {
                origin_samples: anchor.origin_samples,
                length_samples: anchor.length_samples,
            },
            lock: sync.lock,
            beats: recorder.anchor_beats,
        })
    });
    let Some(grid) = grid else { return };
    shared.set_cycle(Some(grid.cycle));
    recorder.anchor_beats = grid.beats;
    shared.session.tell(SessionEvent::Beats(grid.beats));
    sync.restore_lock(shared, recorder.take_mut(), grid.lock);
}
