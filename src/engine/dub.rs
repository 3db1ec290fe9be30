//! Overdub, replace and multiply: the selected loop takes new audio in its own length and phase.
//!
//! A dub writes a new *version* of the loop. Each page of the new version starts as a copy of
//! the old one, made just before anything reads or writes it (and ahead of that, a page per
//! block, until the whole loop is copied). The player's input is then written into it in
//! place, sample by sample, as the loop passes: `new = a * new + b * input`, pass after pass.
//! - Overdub keeps what was there, scaled by the feedback on each pass (`a = feedback`,
//!   `b = 1`), as a tape loop does.
//! - Replace drops it (`a = 0`, `b = 1`).
//! - Multiply copies the old loop over whole cycles into a longer version (`a = 1`, `b = 1`).
//!
//! Punch-in and punch-out ramp `a` and `b` over the blend length, so neither clicks. A
//! multiplied loop's end crossfades into what preceded its start, as a take's seam does.
//!
//! The input is written `lag` behind the clock, from the history (which holds it). So a stop
//! pressed just after a cycle boundary (lenience), or a start waiting for its onset decision,
//! can still move the punch: nothing after it is written yet. The loop plays its new version:
//! a pass hears what earlier passes wrote, as on tape, while the current pass writes where the
//! loop has already played (the lag is at most half the loop).
//!
//! The old version is kept whole. Undo swaps it back with a crossfade, and the loop sounds
//! exactly as before the dub; redo swaps the new one in again (`Edit::Layered`).
//!
//! Realtime: runs on the audio thread. Pages come from the pool's reserve, and the page map is
//! allocated with the engine; nothing here allocates.

use super::action::Action;
use super::audio::TrackBuffer;
use super::capture::FILL_SPEED;
use super::command::TrackTarget;
use super::pages::{PAGE_FRAMES, pages_for};
use super::pool::Garbage;
use super::quantize::{self, Readiness, best_onset};
use super::ramp::{Ramp, seam_weight};
use super::shared::Shared;
use super::speed::Speed;
use super::status::EngineMessage;
use super::track::{Track, TrackState};
use super::track_controls;
use super::undo::{Edit, Multiplied};

/// What a dub does to the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DubKind {
    /// Layers the input over the loop, what was there scaled by the feedback on each pass.
    Overdub,
    /// Punches the input in over the loop, dropping what was there.
    Replace,
    /// Extends the loop by whole cycles, the input layered over its repeats.
    Multiply,
}

/// What the dubber is doing, for the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DubState {
    /// Nothing.
    #[default]
    Idle,
    /// A dub of the loop `track_id` starts at `start_samples` (a boundary ahead).
    Armed {
        kind: DubKind,
        track_id: u64,
        start_samples: u64,
    },
    /// The loop `track_id` takes input.
    Dubbing { kind: DubKind, track_id: u64 },
    /// The punch-out is set; the input up to it is still being written.
    Finishing { kind: DubKind, track_id: u64 },
}

/// Samples read and written at a time (stack buffers).
const CHUNK_FRAMES: usize = 256;

/// A dub in progress.
#[derive(Debug)]
struct Dub {
    /// What it does.
    kind: DubKind,
    /// The loop's id.
    track_id: u64,
    /// The version the track does not play: the old one (overdub and replace from the start, a
    /// multiply once its new length plays), else the new one. `None` only while it moves.
    other: Option<TrackBuffer>,
    /// Whether the track plays the new version.
    switched: bool,
    /// The old version's length, in samples.
    old_length_samples: u64,
    /// The new version's length: the old one, or a multiply's once its stop is known (until
    /// then the table's capacity).
    new_length_samples: u64,
    /// New index `j` holds old index `(j + shift_samples) mod old_length_samples`.
    shift_samples: u64,
    /// The track's origin (absolute samples) when the times below were last moved with it.
    origin_samples: u64,
    /// Punch-in (absolute samples).
    start_samples: u64,
    /// An onset decision may still move the punch-in: nothing is written until it comes.
    start_pending: bool,
    /// Punch-out (absolute samples), once known.
    stop_samples: Option<u64>,
    /// The input is written up to here (absolute samples).
    written_samples: u64,
    /// How far the writing trails the clock, in samples.
    lag_samples: u64,
    /// A multiply's new origin minus the old one, in samples, once it switched.
    origin_delta_samples: i64,
    /// The feedback (0..1), ramped per written sample when the setting changes.
    feedback: Ramp,
    /// Where the copy ahead goes on (a page of the new version).
    init_cursor_page: usize,
    /// A multiply's end is crossfaded into what preceded its start.
    tail_done: bool,
}

/// The overdub, replace and multiply part of the engine: at most one dub at a time.
#[derive(Debug)]
pub struct Dubber {
    /// The dub in progress.
    dub: Option<Dub>,
    /// A dub waiting for its start at a boundary ahead.
    armed: Option<(DubKind, u64, u64)>,
    /// One bit per page of the new version: copied from the old one.
    initialized: Box<[u64]>,
}

impl Dubber {
    /// A dubber for loops of up to `capacity_frames`. Not realtime-safe (allocates its page
    /// map).
    pub fn new(capacity_frames: usize) -> Self {
        Self {
            dub: None,
            armed: None,
            initialized: vec![0; pages_for(capacity_frames).div_ceil(64) + 1].into_boxed_slice(),
        }
    }

    /// What the dubber does, for the status.
    pub fn state(&self) -> DubState {
        if let Some((kind, track_id, start_samples)) = self.armed {
            return DubState::Armed {
                kind,
                track_id,
                start_samples,
            };
        }
        match &self.dub {
            None => DubState::Idle,
            Some(dub) if dub.stop_samples.is_some() => DubState::Finishing {
                kind: dub.kind,
                track_id: dub.track_id,
            },
            Some(dub) => DubState::Dubbing {
                kind: dub.kind,
                track_id: dub.track_id,
            },
        }
    }

    /// A dub command: starts a dub of the selected loop (at once, at a cycle boundary just
    /// past, or armed for one ahead), cancels an armed one, or sets the punch-out.
    pub fn press(&mut self, shared: &mut Shared, kind: DubKind) {
        if self.armed.take().is_some() {
            shared.schedule.cancel(|a| *a == Action::DubStart);
            return;
        }
        if let Some(dub) = &self.dub {
            if dub.stop_samples.is_none() {
                self.stop_pressed(shared);
            }
            return;
        }
        let Some(cycle) = shared.cycle else {
            shared.say(EngineMessage::NeedsAnchor);
            return;
        };
        let Some(index) = track_controls::index_of(shared, TrackTarget::Selected) else {
            return;
        };
        let now = shared.now_samples;
        let snapped = cycle.snap(now, shared.lenience_samples()).max(0) as u64;
        let away = snapped == now && cycle.position(now) != 0;
        let start = match (kind, away) {
            // A multiply spans whole cycles: it waits for the next boundary.
            (DubKind::Multiply, true) => cycle.boundary_after(now),
            _ => snapped,
        };
        let track_id = shared.tracks[index].id;
        if start > now {
            shared.schedule_action(start, Action::DubStart);
            self.armed = Some((kind, track_id, start));
            return;
        }
        self.begin(shared, kind, track_id, start);
        if away
            && let Some(dub) = &mut self.dub
            && quantize::analysis_quantizes(shared)
            && shared.settings.quantize_mode.onsets()
        {
            // The punch-in may move to an attack near the press; writing waits for it.
            dub.start_pending = true;
            let at = quantize::decision_time(shared, now);
            shared.schedule_action(at, Action::DubDecide { press: now });
        }
    }

    /// The armed dub's start is due.
    pub fn start_due(&mut self, shared: &mut Shared) {
        if let Some((kind, track_id, _)) = self.armed.take() {
            self.begin(shared, kind, track_id, shared.now_samples);
        }
    }

    /// Decides a punch-in pressed at `press` away from the boundaries: the strongest attack
    /// within the onset window moves it there.
    pub fn decide_start(&mut self, shared: &mut Shared, press: u64) {
        if !self.dub.as_ref().is_some_and(|dub| dub.start_pending) {
            return;
        }
        let window = quantize::window_samples(shared);
        let action = Action::DubDecide { press };
        let Readiness::Ready(snapshot) =
            quantize::final_snapshot(shared, press, press + window, action, 0)
        else {
            return;
        };
        let Some(dub) = &mut self.dub else { return };
        dub.start_pending = false;
        if let Some(snapshot) = snapshot
            && let Some(onset) = best_onset(snapshot.onsets(), press, window, press + window)
            && shared.history.holds(onset.time_samples, shared.now_samples)
        {
            dub.start_samples = onset.time_samples;
            dub.written_samples = dub.first_write(shared.blend_samples() as u64);
        }
    }

    /// A multiply's new length is due to play.
    pub fn switch_due(&mut self, shared: &mut Shared) {
        let Some(dub) = &mut self.dub else { return };
        if dub.switched || dub.kind != DubKind::Multiply || dub.stop_samples.is_none() {
            return;
        }
        let Some(index) = track_index(shared, dub.track_id) else {
            return;
        };
        let blend = shared.blend_samples() as u32;
        let track = &mut shared.tracks[index];
        dub.follow(track.origin_samples);
        let Some(new) = dub.other.take() else { return };
        dub.origin_delta_samples = dub.start_samples as i64 - track.origin_samples as i64;
        let old = track.switch_version(new, dub.new_length_samples, dub.start_samples, blend);
        dub.other = Some(old);
        dub.origin_samples = track.origin_samples;
        dub.switched = true;
        shared.tracks.retire_spent_audio(&mut shared.pool);
    }

    /// Undo, clear, or a restored session: drops the armed or running dub, the loop back to
    /// its old version (crossfaded). Returns whether there was one.
    pub fn cancel(&mut self, shared: &mut Shared) -> bool {
        if self.armed.take().is_some() {
            shared.schedule.cancel(|a| *a == Action::DubStart);
            return true;
        }
        let Some(dub) = self.dub.take() else {
            return false;
        };
        shared
            .schedule
            .cancel(|a| matches!(a, Action::DubSwitch | Action::DubDecide { .. }));
        let blend = shared.blend_samples() as u32;
        let Some(other) = dub.other else { return true };
        // Whatever the loop's state: a removed loop comes back by undo as it was before.
        match (shared.tracks.iter()).position(|track| track.id == dub.track_id) {
            Some(index) if dub.switched => {
                let track = &mut shared.tracks[index];
                let origin = match dub.kind {
                    DubKind::Multiply => {
                        (track.origin_samples as i64 - dub.origin_delta_samples) as u64
                    }
                    _ => track.origin_samples,
                };
                let new = track.switch_version(other, dub.old_length_samples, origin, blend);
                shared.pool.retire_buffer(new);
                shared.tracks.retire_spent_audio(&mut shared.pool);
            }
            _ => shared.pool.retire_buffer(other),
        }
        true
    }

    /// Before the loops are mixed: copies the pages of the new version the loop is about to
    /// read (and one page more ahead), and ends the dub if its loop changed under it.
    pub fn before_mix(&mut self, shared: &mut Shared, frames: usize) {
        let Some(dub) = &mut self.dub else { return };
        let Some(index) = track_index(shared, dub.track_id) else {
            // The loop left the mix.
            self.cancel(shared);
            return;
        };
        let blend = shared.blend_samples() as u64;
        let track = &shared.tracks[index];
        let jumped = track.origin_samples.abs_diff(dub.origin_samples) > blend;
        dub.follow(track.origin_samples);
        if dub.stop_samples.is_none() && (jumped || !plays_plain(track)) {
            // Another speed, a reversal or a restart: the punch-out is where the writing is.
            let stop = dub.written_samples.max(dub.start_samples);
            dub.set_stop(stop);
            self.schedule_multiply_switch(shared);
        }
        if !self.dub.as_ref().is_some_and(|dub| dub.switched) {
            return;
        }
        let track = &shared.tracks[index];
        let (first, span) = track.read_window(shared.now_samples, frames as u64);
        let ahead = (frames as u64 * FILL_SPEED).max(PAGE_FRAMES as u64);
        if !self.ensure(shared, index, first, span) || !self.copy_ahead(shared, index, ahead) {
            shared.storage_shortfall(EngineMessage::DubOutOfStorage);
            self.cancel(shared);
        }
    }

    /// After the loops are mixed: writes the input up to `lag` behind the clock, and completes
    /// the dub once its punch-out is written and the new version copied whole.
    pub fn after_mix(&mut self, shared: &mut Shared, frames: usize) {
        let Some(dub) = &mut self.dub else { return };
        let Some(index) = track_index(shared, dub.track_id) else {
            return;
        };
        let blend = shared.blend_samples() as u64;
        let target = shared.settings.dub_feedback.clamp(0.0, 1.0);
        if dub.feedback.target() != target {
            dub.feedback.ramp_to(target, blend as u32);
        }
        if dub.stop_samples.is_none()
            && dub.kind == DubKind::Multiply
            && dub.written_samples.saturating_sub(dub.start_samples) + dub.lag_samples * 2
                >= dub.new_length_samples
        {
            // The longest loop the table holds: the multiply stops at the next boundary.
            self.stop_pressed(shared);
        }
        let Some(dub) = &mut self.dub else { return };
        let until = (shared.now_samples + frames as u64).saturating_sub(dub.lag_samples);
        if !dub.start_pending && !self.write_until(shared, index, until) {
            shared.storage_shortfall(EngineMessage::DubOutOfStorage);
            self.cancel(shared);
            return;
        }
        let Some(dub) = &self.dub else { return };
        if dub.is_written(blend) && dub.switched && self.all_initialized(dub.pages()) {
            // The writing is done; a multiply's pages past its new length are not wanted.
            self.complete(shared, index);
        }
    }

    // ----- internals -----

    /// Starts a dub of the loop `track_id` punching in at `start` (now or in the recent past).
    fn begin(&mut self, shared: &mut Shared, kind: DubKind, track_id: u64, start: u64) {
        let Some(index) = track_index(shared, track_id) else {
            return;
        };
        let track = &shared.tracks[index];
        if !plays_plain(track) || track.fill.is_some() {
            shared.say(EngineMessage::DubNeedsPlainLoop);
            return;
        }
        let length = track.length_samples;
        let channels = track.buffer.channels();
        let fitted = match kind {
            DubKind::Multiply => None,
            _ => shared.pool.take_fitted(length as usize),
        };
        let Some(new) = fitted.or_else(|| shared.take_spare()) else {
            shared.say(EngineMessage::NoTrackStorage);
            return;
        };
        if (new.capacity_frames() as u64) < length || new.channels() != channels {
            shared.pool.retire_buffer(new);
            shared.say(EngineMessage::NoTrackStorage);
            return;
        }
        // A dub is a new edit: the redo history ends.
        shared.discard_redo();
        let lag = (shared.lenience_samples() + shared.blend_samples() as u64).min(length / 2);
        let feedback = Ramp::at(shared.settings.dub_feedback.clamp(0.0, 1.0));
        let track = &mut shared.tracks[index];
        let origin = track.origin_samples;
        let playhead = track.index_at(shared.now_samples) as usize;
        let (other, switched, new_length, shift, cursor) = match kind {
            DubKind::Multiply => {
                let shift = (start as i128 - origin as i128).rem_euclid(length as i128) as u64;
                let capacity = new.capacity_frames() as u64;
                (new, false, capacity, shift, 0)
            }
            _ => {
                // The new version reads exactly as the old until the input is written into
                // it: no crossfade.
                let mut new = new;
                new.set_fx_memory(track.buffer.take_fx_memory());
                let old = std::mem::replace(&mut track.buffer, new);
                (old, true, length, 0, playhead / PAGE_FRAMES)
            }
        };
        let blend = shared.blend_samples() as u64;
        let words = pages_for(new_length as usize).div_ceil(64);
        let words = words.min(self.initialized.len());
        self.initialized[..words].fill(0);
        self.dub = Some(Dub {
            kind,
            track_id,
            other: Some(other),
            switched,
            old_length_samples: length,
            new_length_samples: new_length,
            shift_samples: shift,
            origin_samples: origin,
            start_samples: start,
            start_pending: false,
            stop_samples: None,
            written_samples: 0,
            lag_samples: lag,
            origin_delta_samples: 0,
            feedback,
            init_cursor_page: cursor,
            tail_done: false,
        });
        if let Some(dub) = &mut self.dub {
            dub.written_samples = dub.first_write(blend);
        }
    }

    /// The punch-out was pressed: at a cycle boundary within the lenience, else now (a
    /// multiply: at the next boundary).
    fn stop_pressed(&mut self, shared: &mut Shared) {
        let Some(dub) = &mut self.dub else { return };
        let Some(cycle) = shared.cycle else { return };
        let now = shared.now_samples;
        let snapped = cycle.snap(now, shared.lenience_samples()).max(0) as u64;
        let away = snapped == now && cycle.position(now) != 0;
        let stop = match dub.kind {
            DubKind::Multiply => {
                let stop = if away {
                    cycle.boundary_after(now)
                } else {
                    snapped
                };
                // At least one cycle.
                stop.max(dub.start_samples + cycle.length_samples)
            }
            _ => snapped,
        };
        // Never before what is written (or the punch-in).
        let stop = stop.max(dub.written_samples).max(dub.start_samples);
        dub.set_stop(stop);
        self.schedule_multiply_switch(shared);
    }

    /// A multiply's stop is set: its new length plays from its end on (now if that passed).
    fn schedule_multiply_switch(&mut self, shared: &mut Shared) {
        let Some(dub) = &self.dub else { return };
        if dub.kind != DubKind::Multiply || dub.switched {
            return;
        }
        let at = dub.start_samples + dub.new_length_samples;
        if at <= shared.now_samples {
            self.switch_due(shared);
        } else {
            shared.schedule_action(at, Action::DubSwitch);
        }
    }

    /// Writes the input of `[written, until)` into the new version.
    fn write_until(&mut self, shared: &mut Shared, index: usize, until: u64) -> bool {
        let blend = shared.blend_samples() as u64;
        let Some(dub) = &self.dub else { return true };
        let from = dub.written_samples.max(dub.first_write(blend));
        let end = until.min(dub.write_end(blend));
        let mut t = from;
        while t < end {
            let Some(dub) = &self.dub else { return true };
            let j = dub.new_index(t, &shared.tracks[index]);
            let run = (end - t)
                .min(CHUNK_FRAMES as u64)
                .min(dub.new_length_samples - j) as usize;
            if !self.ensure(shared, index, j, run as u64) {
                return false;
            }
            let Some(dub) = &mut self.dub else {
                return true;
            };
            let mut weights = [(0.0f32, 0.0f32); CHUNK_FRAMES];
            for (k, w) in weights[..run].iter_mut().enumerate() {
                *w = dub.weights(t + k as u64, blend);
            }
            let track = &mut shared.tracks[index];
            let Some(other) = dub.other.as_mut() else {
                return true;
            };
            let new = if dub.switched {
                &mut track.buffer
            } else {
                other
            };
            if new.sole_audio_mut().is_none() {
                return false;
            }
            let mut input = [0.0f32; CHUNK_FRAMES];
            for c in 0..new.channels() {
                shared.history.read(c, t, &mut input[..run]);
                let mut done = 0;
                new.channel_mut(c)
                    .for_each_run_mut(j as usize, run, |_, samples| {
                        for (k, sample) in samples.iter_mut().enumerate() {
                            let (a, b) = weights[done + k];
                            *sample = a * *sample + b * input[done + k];
                        }
                        done += samples.len();
                    });
            }
            t += run as u64;
            dub.written_samples = t;
        }
        if let Some(dub) = &mut self.dub {
            dub.written_samples = dub.written_samples.max(end);
            if dub.kind == DubKind::Multiply && dub.is_written(blend) {
                dub.crossfade_tail(shared, index, blend);
            }
        }
        true
    }

    /// Makes sure frames `first..first + frames` of the new version (circular) are copied
    /// from the old. Returns false when out of pages.
    fn ensure(&mut self, shared: &mut Shared, index: usize, first: u64, frames: u64) -> bool {
        let Some(dub) = &self.dub else { return true };
        let length = dub.new_length_samples;
        let frames = frames.min(length);
        let (first_page, last_page) = (
            first as usize / PAGE_FRAMES,
            ((first + frames.max(1) - 1) % length) as usize / PAGE_FRAMES,
        );
        let pages = dub.pages();
        let mut page = first_page;
        loop {
            if !self.init_page(shared, index, page) {
                return false;
            }
            if page == last_page {
                return true;
            }
            page = (page + 1) % pages;
        }
    }

    /// Copies up to `ahead_frames` worth of pages not yet copied, from the copy cursor on.
    fn copy_ahead(&mut self, shared: &mut Shared, index: usize, ahead_frames: u64) -> bool {
        let Some(dub) = &self.dub else { return true };
        let pages = dub.pages();
        let mut budget = (ahead_frames as usize).div_ceil(PAGE_FRAMES);
        let mut page = dub.init_cursor_page % pages;
        let mut looked = 0;
        while budget > 0 && looked < pages {
            if !self.is_initialized(page) {
                if !self.init_page(shared, index, page) {
                    return false;
                }
                budget -= 1;
            }
            page = (page + 1) % pages;
            looked += 1;
        }
        if let Some(dub) = &mut self.dub {
            dub.init_cursor_page = page;
        }
        true
    }

    /// Whether the first `pages` pages of the new version are copied.
    fn all_initialized(&self, pages: usize) -> bool {
        let (whole, rest) = (pages / 64, pages % 64);
        self.initialized[..whole]
            .iter()
            .all(|&word| word == u64::MAX)
            && (rest == 0 || self.initialized[whole] & ((1 << rest) - 1) == (1 << rest) - 1)
    }

    /// Whether page `page` of the new version is copied.
    fn is_initialized(&self, page: usize) -> bool {
        self.initialized[page / 64] & (1 << (page % 64)) != 0
    }

    /// Copies page `page` of the new version from the old (once). False when out of pages.
    fn init_page(&mut self, shared: &mut Shared, index: usize, page: usize) -> bool {
        if self.is_initialized(page) {
            return true;
        }
        let Some(dub) = &mut self.dub else {
            return true;
        };
        let track = &mut shared.tracks[index];
        let Some(other) = dub.other.as_mut() else {
            return true;
        };
        let (old, new) = if dub.switched {
            (&*other, &mut track.buffer)
        } else {
            (&track.buffer, other)
        };
        let at = page * PAGE_FRAMES;
        let frames = PAGE_FRAMES.min(dub.new_length_samples as usize - at);
        // The new version is the dub's alone until it completes (a resync of the session
        // mirror could have shared it: the dub then stops).
        if new.sole_audio_mut().is_none() || new.reserve(at, frames, &mut shared.pool) < frames {
            return false;
        }
        let (old_length, shift) = (dub.old_length_samples, dub.shift_samples);
        let old_channels = old.channels();
        for c in 0..new.channels() {
            let source = old.channel(c.min(old_channels - 1));
            new.channel_mut(c)
                .for_each_run_mut(at, frames, |frame, run| {
                    let mut done = 0;
                    while done < run.len() {
                        let from = ((frame + done) as u64 + shift) % old_length;
                        let n = (run.len() - done).min((old_length - from) as usize);
                        source.read(from as usize, &mut run[done..done + n]);
                        done += n;
                    }
                });
        }
        self.initialized[page / 64] |= 1 << (page % 64);
        true
    }

    /// The dub is written and copied whole: the new version is the loop's, the old one kept
    /// for undo, the session mirror told.
    fn complete(&mut self, shared: &mut Shared, index: usize) {
        let Some(dub) = self.dub.take() else { return };
        let Some(old) = dub.other else { return };
        let track = &mut shared.tracks[index];
        let multiplied = (dub.kind == DubKind::Multiply).then(|| {
            let new_length = dub.new_length_samples as usize;
            let pool = &mut shared.pool;
            track
                .buffer
                .release_from(new_length, |page| pool.retire(Garbage::Page(page)));
            pool.fit_in_place(&mut track.buffer, new_length);
            Multiplied {
                old_length_samples: dub.old_length_samples,
                new_length_samples: dub.new_length_samples,
                origin_delta_samples: dub.origin_delta_samples,
            }
        });
        track.layers += 1;
        let track_id = track.id;
        shared.session.track_added(&shared.tracks[index]);
        let serial = shared.record_edit(Edit::Layered {
            track_id,
            multiplied,
        });
        shared.undo.keep_version(serial, old);
    }
}

/// The track list's index of the playing loop `track_id`.
fn track_index(shared: &Shared, track_id: u64) -> Option<usize> {
    (shared.tracks.iter())
        .position(|track| track.id == track_id && track.state == TrackState::Playing)
}

/// Whether a loop plays in a way a dub can write along: at normal speed, forwards, its audio
/// filling its length.
fn plays_plain(track: &Track) -> bool {
    track.target_speed() == Speed::NORMAL
        && track.speed_fade.is_idle()
        && track.reverse.is_idle()
        && track.reverse.target() == 0.0
        && track.content_samples == track.length_samples
}

impl Dub {
    /// Pages of the new version.
    fn pages(&self) -> usize {
        pages_for(self.new_length_samples as usize)
    }

    /// Moves the dub's times with its loop (host sync slips it by a sample now and then).
    fn follow(&mut self, origin_samples: u64) {
        let delta = origin_samples as i64 - self.origin_samples as i64;
        if delta == 0 {
            return;
        }
        let shift = |t: u64| (t as i64 + delta).max(0) as u64;
        self.start_samples = shift(self.start_samples);
        self.written_samples = shift(self.written_samples);
        self.stop_samples = self.stop_samples.map(shift);
        self.origin_samples = origin_samples;
    }

    /// Sets the punch-out; a multiply's new length follows from it: whole cycles from the
    /// punch-in, at least the old length.
    fn set_stop(&mut self, stop_samples: u64) {
        self.stop_samples = Some(stop_samples);
        if self.kind == DubKind::Multiply {
            let span = stop_samples - self.start_samples;
            self.new_length_samples = span.max(self.old_length_samples);
        }
    }

    /// The first input written (absolute samples): an overdub or a replace fades the input in
    /// (and a replace the loop out) over the `blend` samples before the punch-in, so an attack
    /// right on it sounds whole; a multiply starts at its punch-in and puts what came before
    /// at its end (see [`Dub::crossfade_tail`]).
    fn first_write(&self, blend: u64) -> u64 {
        match self.kind {
            DubKind::Multiply => self.start_samples,
            _ => self.start_samples.saturating_sub(blend),
        }
    }

    /// Whether a multiply's end is its seam (it stopped exactly one new length after its
    /// start): the input stops there and the end crossfades into the start.
    fn seam_at_stop(&self) -> bool {
        self.kind == DubKind::Multiply
            && self.stop_samples == Some(self.start_samples + self.new_length_samples)
    }

    /// Where the writing ends (absolute samples): the punch-out's ramp done, or a multiply's
    /// seam.
    fn write_end(&self, blend: u64) -> u64 {
        match self.stop_samples {
            None => u64::MAX,
            Some(stop) if self.seam_at_stop() => stop,
            Some(stop) => stop + blend,
        }
    }

    /// Whether everything up to the punch-out is written.
    fn is_written(&self, blend: u64) -> bool {
        self.stop_samples.is_some() && self.written_samples >= self.write_end(blend)
    }

    /// The new version's index written at absolute time `t_samples`.
    fn new_index(&self, t_samples: u64, track: &Track) -> u64 {
        match self.kind {
            DubKind::Multiply => (t_samples - self.start_samples) % self.new_length_samples,
            _ => track.index_at(t_samples),
        }
    }

    /// The weights `(a, b)` of `new = a * new + b * input` at absolute time `t_samples`: the
    /// punch envelope ramps in from the start and out from the stop over `blend` samples.
    fn weights(&mut self, t_samples: u64, blend: u64) -> (f32, f32) {
        let blend = blend as usize;
        // In over the `blend` samples before the start (a multiply: from its start, at once).
        let up = match self.start_samples.checked_sub(t_samples) {
            None | Some(0) => 1.0,
            Some(_) if self.kind == DubKind::Multiply => 0.0,
            Some(ahead) => seam_weight(blend.saturating_sub(ahead as usize), blend),
        };
        let down = match self.stop_samples {
            Some(stop) if t_samples >= stop => {
                let since = (t_samples - stop) as usize;
                if self.seam_at_stop() || since >= blend {
                    0.0
                } else {
                    1.0 - seam_weight(since, blend)
                }
            }
            _ => 1.0,
        };
        let env = up * down;
        match self.kind {
            DubKind::Overdub => {
                let feedback = self.feedback.next_sample();
                (1.0 - (1.0 - feedback) * env, env)
            }
            DubKind::Replace => (1.0 - env, env),
            DubKind::Multiply => (1.0, env),
        }
    }

    /// A multiply, once written: its last `blend` samples crossfade into what played just
    /// before its start, the old loop and the input (from the history), as a take's seam does,
    /// so its end runs into its start without a click.
    fn crossfade_tail(&mut self, shared: &mut Shared, index: usize, blend: u64) {
        if self.tail_done {
            return;
        }
        self.tail_done = true;
        let length = self.new_length_samples;
        let blend = blend.min(length);
        let track = &mut shared.tracks[index];
        let Some(other) = self.other.as_mut() else {
            return;
        };
        let (old, new) = if self.switched {
            (&*other, &mut track.buffer)
        } else {
            (&track.buffer, other)
        };
        if new.sole_audio_mut().is_none() {
            return;
        }
        let old_length = self.old_length_samples;
        // Old index `shift - blend + k` (circular): what the loop played just before the start.
        let before = (self.shift_samples + old_length - blend % old_length) % old_length;
        let preroll_samples = self.start_samples.saturating_sub(blend);
        for c in 0..new.channels() {
            let source = old.channel(c.min(old.channels() - 1));
            let channel = new.channel_mut(c);
            for k in 0..blend {
                let w = seam_weight(k as usize, blend as usize);
                let mut input = [0.0];
                shared.history.read(c, preroll_samples + k, &mut input);
                let preroll = source.sample(((before + k) % old_length) as usize) + input[0];
                if let Some(sample) = channel.sample_mut((length - blend + k) as usize) {
                    *sample = *sample * (1.0 - w) + preroll * w;
                }
            }
        }
    }
}
