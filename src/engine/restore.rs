//! Restores and imports from the session mirror, swapped in at block starts, and the re-send
//! of the whole performance after the mirror's queue overflowed.
//!
//! Realtime: runs on the audio thread; restored sessions and imported tracks were allocated off
//! it, and what they replace goes back to the keeper.

use super::action::Action;
use super::cycle::{BarLock, Cycle};
use super::oneshot::PADS;
use super::pool::Garbage;
use super::ramp::Ramp;
use super::recorder::Recorder;
use super::session::RestoredSession;
use super::session_event::SessionEvent;
use super::shared::Shared;
use super::status::EngineMessage;
use super::sync::HostSync;

/// A restored session waiting for the loops' fade-out before it is swapped in.
#[derive(Debug, Default)]
pub struct Restores {
    /// The session, until its `Action::InstallSession` is due.
    pending: Option<Box<RestoredSession>>,
}

impl Restores {
    /// Takes a restored session from the mirror: installed now if nothing plays, else after a
    /// declick fade-out of the loops.
    pub fn receive_restore(
        &mut self,
        shared: &mut Shared,
        recorder: &mut Recorder,
        sync: &mut HostSync,
    ) {
        let Some(session) = shared.session.take_restore() else {
            return;
        };
        if shared.tracks.is_empty() && !recorder.is_recording() && self.pending.is_none() {
            Self::install(shared, recorder, sync, session);
            return;
        }
        if let Some(superseded) = self.pending.replace(session) {
            shared.pool.retire(Garbage::Boxed(superseded));
        }
        let declick = shared.declick_samples();
        shared.output.fade_loops_out(declick as u32);
        shared.schedule.cancel(|a| *a == Action::InstallSession);
        shared.schedule_action(shared.now_samples + declick as u64, Action::InstallSession);
    }

    /// Replaces the performance with `session` at the current sample: the take and the tracks go
    /// to the keeper, the session's tracks continue from their saved cycle positions, and the
    /// loops fade in. Realtime-safe (the session was allocated off this thread).
    /// The fade-out before a pending install is over: swaps the session in.
    pub fn install_due(
        &mut self,
        shared: &mut Shared,
        recorder: &mut Recorder,
        sync: &mut HostSync,
    ) {
        if let Some(session) = self.pending.take() {
            Self::install(shared, recorder, sync, session);
        }
    }

    pub fn install(
        shared: &mut Shared,
        recorder: &mut Recorder,
        sync: &mut HostSync,
        mut session: Box<RestoredSession>,
    ) {
        recorder.discard(shared);
        shared.schedule.cancel(|a| !matches!(a, Action::Command(_)));
        (shared.tracks).install(
            &mut session.tracks,
            session.selected_track_id,
            session.next_track_id,
            &shared.pool,
        );
        for track in session.tracks.drain(..) {
            shared.pool.retire_buffer(track.buffer);
        }
        (shared.one_shots).install(&mut session.one_shots, &mut shared.pool);
        (shared.undo).restart(
            &mut shared.tracks,
            session.cycle,
            &mut shared.session,
            &mut shared.pool,
        );
        let now = shared.now_samples;
        for track in &mut shared.tracks {
            track.origin_samples += now;
        }
        shared.cycle = session.cycle.map(|cycle| Cycle {
            origin_samples: cycle.origin_samples + now,
            ..cycle
        });
        recorder.anchor_beats = session.anchor_beats;
        shared.session.set_generation(session.generation);
        shared
            .session
            .tell(SessionEvent::Installed { at_samples: now });
        sync.restore_lock(
            shared,
            recorder.take_mut(),
            session.lock.map(|lock| BarLock {
                origin_samples: lock.origin_samples + now as i64,
                ..lock
            }),
        );
        shared.pool.retire(Garbage::Boxed(session));
        shared.tracks.set_audibility(0);
        shared.output.fade_loops_out(0);
        shared.output.fade_loops_in(shared.blend_samples() as u32);
    }

    /// Adds an imported track: on a cycle boundary (its length must be a cycle x 2^k), or as
    /// the anchor (no shorter than a take's shortest anchor) starting now, or, while the loops
    /// follow the host, on the last bar line (locked to the bars if it is whole bars long); it
    /// fades in over the blend length.
    pub fn receive_import(shared: &mut Shared, sync: &mut HostSync) {
        let Some(mut track) = shared.session.take_import() else {
            return;
        };
        let length = track.length_samples;
        let new_cycle = match shared.cycle {
            Some(cycle) if cycle.track_length(length) != length => {
                shared.pool.retire_buffer(track.buffer);
                shared.say(EngineMessage::ImportDoesNotFit);
                return;
            }
            Some(cycle) => {
                track.origin_samples = cycle.origin_samples;
                None
            }
            None if length < shared.min_anchor_samples() => {
                shared.pool.retire_buffer(track.buffer);
                shared.say(EngineMessage::ImportTooShort);
                return;
            }
            None => {
                let origin = HostSync::host_import_origin(shared, shared.now_samples)
                    .unwrap_or(shared.now_samples);
                track.origin_samples = origin;
                Some(Cycle {
                    origin_samples: origin,
                    length_samples: length,
                })
            }
        };
        track.fade = Ramp::at(0.0);
        track.fade.ramp_to(1.0, shared.blend_samples() as u32);
        if shared.push_track(track)
            && let Some(cycle) = new_cycle
        {
            shared.set_cycle(new_cycle);
            sync.lock_new_anchor(shared, cycle);
        }
    }

    /// After a refused event, sends the whole performance again once the queue has room.
    pub fn resync_if_due(shared: &mut Shared, recorder: &Recorder, sync: &HostSync) {
        if !shared.session.resync_fits(shared.tracks.len() + PADS + 5) {
            return;
        }
        shared.session.tell(SessionEvent::Resync);
        for track in &shared.tracks {
            if track.state.in_session() {
                shared.session.track_added(track);
            }
        }
        shared.one_shots.resend(&mut shared.session);
        shared.session.tell(SessionEvent::Cycle(shared.cycle));
        if let Some(id) = shared.tracks.selected_id() {
            shared.session.tell(SessionEvent::Selected { id });
        }
        shared.session.tell(SessionEvent::Lock(sync.lock));
        shared
            .session
            .tell(SessionEvent::Beats(recorder.anchor_beats));
        shared.session.resync_sent();
    }
}
