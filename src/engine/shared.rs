//! What the engine's parts share: the clock, the history, the anchor cycle, the host's grid,
//! the tracks, the storage pool, the schedule, the outputs, the session link and the messages
//! for the player, with the small operations every part needs on them.
//!
//! The parts ([`Recorder`](super::recorder::Recorder), [`HostSync`](super::sync::HostSync),
//! the restore part, the triggers) keep their own state and take a `&mut Shared` for the rest,
//! so none of them needs the [`Engine`](super::Engine) and the engine's modules import each
//! other in one direction only.
//!
//! Realtime: everything here runs on the audio thread and is allocation-, lock- and wait-free,
//! except the waits of offline rendering (`take_spare` in [`RenderMode::Offline`]).

use super::action::Action;
use super::audio::TrackBuffer;
use super::cycle::{Cycle, HostGrid};
use super::fx::chain::FxChain;
use super::history::History;
use super::mix::OutputStage;
use super::oneshot::OneShots;
use super::pool::TrackPool;
use super::schedule::Schedule;
use super::session::SessionOut;
use super::session_event::{SessionEvent, TrackRecord};
use super::settings::{
    EngineConfig, EngineSettings, MIN_ANCHOR_SECS, RenderMode, SyncMode, declick_samples_at,
    ms_to_samples,
};
use super::status::EngineMessage;
use super::track::Track;
use super::track_list::TrackList;
use super::undo::{Edit, UndoLog};
use crate::analysis::worker::AnalysisLink;

/// The engine's shared state. Owned by the audio thread.
pub struct Shared {
    /// Activation settings.
    pub config: EngineConfig,
    /// Current player settings.
    pub settings: EngineSettings,
    /// Absolute time of the next sample to process.
    pub now_samples: u64,
    /// Always-on input history.
    pub history: History,
    /// The anchor cycle, once there is an anchor.
    pub cycle: Option<Cycle>,
    /// The host's bar grid while its transport plays.
    pub host_grid: Option<HostGrid>,
    /// Every track: playing, kept for undo or redo, or fading out to be handed back.
    pub tracks: TrackList,
    /// The undo history.
    pub undo: UndoLog,
    /// Spare take storage, larger track lists, and the way out for what is no longer needed.
    pub pool: TrackPool,
    /// Commands and actions waiting for their sample.
    pub schedule: Schedule<Action>,
    /// The PA and headphone outputs: gains, master effects, limiter, delay, metronome.
    pub output: OutputStage,
    /// Latest message for the editor.
    pub message: Option<EngineMessage>,
    /// Increments with every message.
    pub message_serial: u64,
    /// New takes or captures refused because no storage was ready.
    pub storage_refusals: u64,
    /// The link to the session mirror (what gets saved) and restores from it.
    pub session: SessionOut,
    /// The analysis worker's feed and results, once attached.
    pub analysis: Option<AnalysisLink>,
    /// Realtime or offline rendering (offline, analysis decisions wait for the worker).
    pub render_mode: RenderMode,
    /// The one-shot pads.
    pub one_shots: OneShots,
}

impl Shared {
    /// The seam crossfade and ramp length, in samples.
    pub fn blend_samples(&self) -> usize {
        ms_to_samples(self.settings.blend_ms, self.config.sample_rate_hz)
    }

    /// The shortest anchor loop, in samples (a double tap is not a loop).
    pub fn min_anchor_samples(&self) -> u64 {
        ms_to_samples(MIN_ANCHOR_SECS * 1000.0, self.config.sample_rate_hz).max(1) as u64
    }

    /// The declick fade (5 ms) at this sample rate, in samples.
    pub fn declick_samples(&self) -> usize {
        declick_samples_at(self.config.sample_rate_hz)
    }

    /// Distance within which record presses snap to a cycle boundary, in samples.
    pub fn lenience_samples(&self) -> u64 {
        ms_to_samples(self.settings.lenience_ms, self.config.sample_rate_hz) as u64
    }

    /// The host grid when loops follow it: host mode and a playing transport.
    pub fn sync_grid(&self) -> Option<HostGrid> {
        self.host_grid
            .filter(|_| self.settings.sync.mode == SyncMode::Host)
    }

    /// Shows `message` to the player.
    pub fn say(&mut self, message: EngineMessage) {
        self.message = Some(message);
        self.message_serial += 1;
    }

    /// Queues `action` for `at_samples`; says so when the schedule is full.
    pub fn schedule_action(&mut self, at_samples: u64, action: Action) {
        // The engine's own actions due at a sample run before the player's commands at that
        // sample, whichever block queued them; host alignment runs first of all, so that what
        // starts or ends at that sample sees the aligned loops.
        let priority = match action {
            Action::HostAlign { .. } => 0,
            Action::Command(_) => 2,
            _ => 1,
        };
        if self.schedule.push(at_samples, priority, action).is_err() {
            self.say(EngineMessage::ScheduleFull);
        }
    }

    /// Memory was not ready where the audio thread needed it: counted, and said once per
    /// shortfall (a fill that stays short says it once).
    pub fn storage_shortfall(&mut self, message: EngineMessage) {
        self.storage_refusals += 1;
        self.pool.report_shortfall();
        if self.message != Some(message) {
            self.say(message);
        }
    }

    /// Storage for a new take or capture; says so when none is ready.
    pub fn take_spare(&mut self) -> Option<TrackBuffer> {
        if self.render_mode == RenderMode::Offline && self.pool.spares_ready() == 0 {
            self.pool.wait_offline(0, true);
        }
        let spare = self.pool.take_spare();
        if spare.is_none() {
            self.storage_shortfall(EngineMessage::NoTrackStorage);
        }
        spare
    }

    /// The longest take storage of `capacity_frames` can turn into a track: all of it for an
    /// anchor, else the longest cycle x 2^k that fits.
    pub fn take_limit_samples(&self, capacity_frames: usize) -> Option<u64> {
        match self.cycle {
            None => Some(capacity_frames as u64),
            Some(cycle) => cycle.longest_track_within(capacity_frames as u64),
        }
    }

    /// Adds a track to the mix (an undoable edit); refuses (handing its storage back) when no
    /// slot is free yet.
    pub fn push_track(&mut self, mut track: Track) -> bool {
        track.fx = FxChain::new(self.config.sample_rate_hz);
        match self.tracks.push(track, &mut self.pool, &mut self.session) {
            Some(track_id) => {
                self.record_edit(Edit::Joined { track_id });
                true
            }
            None => {
                self.say(EngineMessage::TooManyTracks);
                false
            }
        }
    }

    /// Drops the redo history (a new take): undone tracks are handed back.
    pub fn discard_redo(&mut self) {
        (self.undo).drop_redo(&mut self.tracks, &mut self.session, &mut self.pool);
    }

    /// Sets the anchor cycle and tells the session mirror.
    pub fn set_cycle(&mut self, cycle: Option<Cycle>) {
        self.cycle = cycle;
        self.session.tell(SessionEvent::Cycle(cycle));
    }

    /// Tells the mirror a complete track's new record (`None`: the track is still filling; its
    /// record goes with it when it completes).
    pub fn tell_updated(&mut self, record: Option<TrackRecord>) {
        if let Some(record) = record {
            self.session.tell(SessionEvent::Updated(record));
        }
    }

    /// Ramps every track to audible or silent from its mute and the solos.
    pub fn update_audibility(&mut self) {
        self.tracks.set_audibility(self.blend_samples() as u32);
    }

    /// Forgets the cycle and everything that waits on it.
    pub fn reset_cycle(&mut self) {
        self.set_cycle(None);
        self.schedule
            .cancel(|a| !matches!(a, Action::Command(_) | Action::InstallSession));
        // A cancelled restart must not leave the loop bus faded out.
        self.output.fade_loops_in(self.blend_samples() as u32);
    }
}
