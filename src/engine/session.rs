//! The engine's side of state save and restore.
//!
//! Saving must not wait for the audio thread, which owns the tracks. So the engine tells a
//! *session mirror* (off the audio thread, see `crate::state::mirror`) about every change to the
//! performance through a wait-free queue: a complete track's audio (an `Arc` clone: an atomic
//! increment, no allocation) with a fixed-size record of its controls, then small fixed-size
//! events for every later change. The mirror is what gets saved. A capture still copying from the
//! history is announced by id (`Filling`) and its audio follows when complete, so that a save can
//! wait for it.
//!
//! Restoring goes the other way: a [`RestoredSession`] (tracks built and allocated off the audio
//! thread) comes through a second queue and is swapped in at a block start.
//!
//! Realtime: everything `SessionOut` does on the audio thread is wait-free and allocation-free.
//! The audio thread never drops the last reference to audio: tracks go to the pool keeper, and
//! events the queue refuses still leave the engine's own reference.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::cycle::Cycle;
use super::fx::chain::{FxChain, FxSettings};
use super::pool::Garbage;
use super::quantize::WholeBeats;
use super::ramp::Ramp;
use super::sync::BarLock;
use super::track::{Track, TrackAudio, TrackBuffer, TrackState};
use super::{Action, DECLICK_SECS, Engine, EngineMessage, ms_to_samples};

/// Events that can wait for the mirror (it drains them every 10 ms; a player sends a handful per
/// second, so only a flood of automation fills it, and then the engine re-sends everything).
pub const EVENT_CAPACITY: usize = 4096;
/// Restored sessions that can wait for the audio thread.
const RESTORE_CAPACITY: usize = 4;
/// Imported tracks that can wait for the audio thread.
const IMPORT_CAPACITY: usize = 8;

/// A track's identity, length, position and controls: what a saved performance keeps besides the
/// audio. Fixed-size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackRecord {
    /// The track's id (increasing in the order tracks joined the mix).
    pub id: u64,
    /// Loop length in samples.
    pub length_samples: u64,
    /// Frames of recorded audio (differs from `length_samples` after a host tempo change: see
    /// `Track::content_samples`).
    pub content_samples: u64,
    /// Absolute time (engine samples) at which buffer index 0 plays.
    pub origin_samples: u64,
    /// Gain (linear) the track rests at.
    pub gain: f32,
    /// Pan (-1 ..= 1).
    pub pan: f32,
    /// Muted by the player.
    pub muted: bool,
    /// Soloed by the player.
    pub soloed: bool,
    /// Playing backwards.
    pub reversed: bool,
    /// Undone (kept for redo) rather than playing.
    pub undone: bool,
    /// Effect settings.
    pub fx: FxSettings,
}

impl TrackRecord {
    /// The record of `track`, with its controls at their targets. Realtime-safe.
    pub fn of(track: &Track) -> Self {
        Self {
            id: track.id,
            length_samples: track.length_samples,
            content_samples: track.content_samples,
            origin_samples: track.origin_samples,
            gain: track.gain.target(),
            pan: track.pan.target(),
            muted: track.muted,
            soloed: track.soloed,
            reversed: track.reverse.target() > 0.0,
            undone: track.state == TrackState::Undoing,
            fx: track.fx.settings(),
        }
    }

    /// A track resting at this record's settings, playing `buffer` (not realtime: called when a
    /// restore is prepared).
    pub fn to_track(&self, buffer: TrackBuffer, sample_rate_hz: f32) -> Track {
        let mut track = Track::new(buffer, self.length_samples, self.origin_samples);
        track.id = self.id;
        track.content_samples = self.content_samples;
        track.gain = Ramp::at(self.gain);
        track.pan = Ramp::at(self.pan);
        track.muted = self.muted;
        track.soloed = self.soloed;
        track.reverse = Ramp::at(if self.reversed { 1.0 } else { 0.0 });
        track.fx = FxChain::with_settings(sample_rate_hz, &self.fx);
        if self.undone {
            track.state = TrackState::Undoing;
            track.fade = Ramp::at(0.0);
        }
        track
    }
}

/// A change to the performance, from the engine to the mirror.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// A complete track (take finished with its seam, or capture filled).
    Added {
        /// Its record.
        record: TrackRecord,
        /// Its audio, shared.
        audio: Arc<TrackAudio>,
    },
    /// A track's controls, undo/redo state or position changed.
    Updated(TrackRecord),
    /// A capture began copying from the history into the track with this id: it follows as
    /// `Added` once complete, or as `Removed` (or with a `Cleared`) if dropped first.
    Filling { id: u64 },
    /// The track with this id was removed by the player (not kept for redo), or a track still
    /// filling was dropped.
    Removed { id: u64 },
    /// Every undone track was dropped (a new take or capture ends the redo history).
    RedoDiscarded,
    /// Every track was cleared.
    Cleared,
    /// Every track and the cycle moved by this many samples (a restart).
    Shifted { shift_samples: u64 },
    /// The anchor cycle changed (or is gone).
    Cycle(Option<Cycle>),
    /// The anchor's lock to the host bars changed (or is gone).
    Lock(Option<BarLock>),
    /// Beat quantization made the last anchor this many whole beats (it describes the anchor
    /// while the cycle has its length; see `QuantizeState::anchor_beats`).
    Beats(Option<WholeBeats>),
    /// A restored session was installed at this engine time (its origins were relative to 0).
    Installed { at_samples: u64 },
    /// The queue overflowed: forget the tracks; every track follows as `Added` (or `Filling`).
    Resync,
}

/// An event and the session generation it belongs to (events of a replaced session are ignored).
#[derive(Debug)]
pub struct TaggedEvent {
    /// The generation of the engine's session when it sent the event.
    pub generation: u64,
    /// What changed.
    pub event: SessionEvent,
}

/// A session ready to be swapped into the engine: tracks allocated off the audio thread.
#[derive(Debug)]
pub struct RestoredSession {
    /// Its generation (the mirror's, so that events line up).
    pub generation: u64,
    /// The cycle, its origin relative to the install time.
    pub cycle: Option<Cycle>,
    /// The anchor's lock to the host bars, its origin relative to the install time.
    pub lock: Option<BarLock>,
    /// The anchor's whole beats from beat quantization.
    pub anchor_beats: Option<WholeBeats>,
    /// The tracks in id order, origins relative to the install time; capacity reserved for more.
    pub tracks: Vec<Track>,
    /// The id the next new track gets.
    pub next_track_id: u64,
}

/// What the engine and the mirror share besides the queues.
#[derive(Debug, Default)]
pub struct SessionShared {
    /// Engine time at the end of the last block (the mirror's clock).
    pub now_samples: AtomicU64,
    /// Events the queue refused (each one triggers a full re-send).
    pub overflows: AtomicU64,
}

/// The mirror's ends of the links.
pub struct SessionFeed {
    /// Events from the engine.
    pub events: rtrb::Consumer<TaggedEvent>,
    /// Sessions to install.
    pub restores: rtrb::Producer<Box<RestoredSession>>,
    /// Imported tracks to add (built off the audio thread; the engine places them on the cycle).
    pub imports: rtrb::Producer<Track>,
    /// Clock and counters.
    pub shared: Arc<SessionShared>,
}

/// The audio thread's ends, once connected.
struct Link {
    events: rtrb::Producer<TaggedEvent>,
    restores: rtrb::Consumer<Box<RestoredSession>>,
    imports: rtrb::Consumer<Track>,
    shared: Arc<SessionShared>,
}

/// The engine's end. Without a connected mirror it does nothing.
#[derive(Default)]
pub struct SessionOut {
    /// The queues, once a mirror is connected.
    link: Option<Link>,
    /// The generation events are tagged with (the last installed session's).
    generation: u64,
    /// An event was refused: everything must be sent again.
    resync_pending: bool,
}

impl SessionOut {
    /// Connects a mirror (replacing any earlier one) and returns its ends. Not realtime-safe.
    pub fn connect(&mut self) -> SessionFeed {
        let (events_tx, events_rx) = rtrb::RingBuffer::new(EVENT_CAPACITY);
        let (restores_tx, restores_rx) = rtrb::RingBuffer::new(RESTORE_CAPACITY);
        let (imports_tx, imports_rx) = rtrb::RingBuffer::new(IMPORT_CAPACITY);
        let shared = Arc::new(SessionShared::default());
        self.link = Some(Link {
            events: events_tx,
            restores: restores_rx,
            imports: imports_rx,
            shared: shared.clone(),
        });
        self.resync_pending = false;
        SessionFeed {
            events: events_rx,
            restores: restores_tx,
            imports: imports_tx,
            shared,
        }
    }

    /// Sends an event; on a full queue, counts it and asks for a resync. Realtime-safe.
    pub fn tell(&mut self, event: SessionEvent) {
        let Some(link) = &mut self.link else { return };
        let tagged = TaggedEvent {
            generation: self.generation,
            event,
        };
        if link.events.push(tagged).is_err() {
            link.shared.overflows.fetch_add(1, Ordering::Relaxed);
            self.resync_pending = true;
        }
    }

    /// Announces a track joining the mix: complete (with its audio), or still filling from the
    /// history (its audio follows when complete). Realtime-safe.
    pub fn track_added(&mut self, track: &Track) {
        if self.link.is_none() {
            return;
        }
        if track.fill.is_some() {
            self.tell(SessionEvent::Filling { id: track.id });
        } else {
            self.tell(SessionEvent::Added {
                record: TrackRecord::of(track),
                audio: track.buffer.share(),
            });
        }
    }

    /// Whether a resync is due and `events` more would fit now.
    pub fn resync_fits(&self, events: usize) -> bool {
        self.resync_pending
            && self
                .link
                .as_ref()
                .is_some_and(|link| link.events.slots() >= events)
    }

    /// Marks the resync as sent (the caller just sent it).
    pub fn resync_sent(&mut self) {
        self.resync_pending = false;
    }

    /// A session waiting to be installed. Realtime-safe.
    pub fn take_restore(&mut self) -> Option<Box<RestoredSession>> {
        self.link.as_mut()?.restores.pop().ok()
    }

    /// An imported track waiting to be added. Realtime-safe.
    pub fn take_import(&mut self) -> Option<Track> {
        self.link.as_mut()?.imports.pop().ok()
    }

    /// Tags later events with `generation` (after installing that session).
    pub fn set_generation(&mut self, generation: u64) {
        self.generation = generation;
    }

    /// Publishes the engine time for the mirror. Realtime-safe.
    pub fn publish_time(&self, now_samples: u64) {
        if let Some(link) = &self.link {
            link.shared
                .now_samples
                .store(now_samples, Ordering::Release);
        }
    }
}

/// The engine's side of restores, imports and resyncs (hooks called at every block start).
/// Realtime-safe.
impl Engine {
    /// Takes a restored session from the mirror: installed now if nothing plays, else after a
    /// declick fade-out of the loops.
    pub(super) fn receive_restore(&mut self) {
        let Some(session) = self.session.take_restore() else {
            return;
        };
        if self.tracks.is_empty() && self.take.is_none() && self.pending_install.is_none() {
            self.install_session(session);
            return;
        }
        if let Some(superseded) = self.pending_install.replace(session) {
            self.pool.retire(Garbage::Session(superseded));
        }
        let declick = ms_to_samples(DECLICK_SECS * 1000.0, self.config.sample_rate_hz);
        self.output.fade_loops_out(declick as u32);
        self.schedule.cancel(|a| *a == Action::InstallSession);
        self.schedule_action(self.now_samples + declick as u64, Action::InstallSession);
    }

    /// Replaces the performance with `session` at the current sample: the take and the tracks go
    /// to the keeper, the session's tracks continue from their saved cycle positions, and the
    /// loops fade in. Realtime-safe (the session was allocated off this thread).
    pub(super) fn install_session(&mut self, mut session: Box<RestoredSession>) {
        if let Some(take) = self.take.take() {
            self.pool.retire_buffer(take.into_buffer());
        }
        self.take_mutes_pa = false;
        self.schedule.cancel(|a| !matches!(a, Action::Command(_)));
        std::mem::swap(&mut self.tracks, &mut session.tracks);
        for track in session.tracks.drain(..) {
            self.pool.retire_buffer(track.buffer);
        }
        let now = self.now_samples;
        for track in &mut self.tracks {
            track.origin_samples += now;
        }
        self.cycle = session.cycle.map(|cycle| Cycle {
            origin_samples: cycle.origin_samples + now,
            ..cycle
        });
        self.next_track_id = session.next_track_id;
        self.quantize.anchor_beats = session.anchor_beats;
        self.session.set_generation(session.generation);
        self.session
            .tell(SessionEvent::Installed { at_samples: now });
        self.restore_lock(session.lock.map(|lock| BarLock {
            origin_samples: lock.origin_samples + now as i64,
            ..lock
        }));
        self.pool.retire(Garbage::Session(session));
        self.request_list_if_half_full();
        self.set_audibility(0);
        self.output.fade_loops_out(0);
        self.output.fade_loops_in(self.blend_samples() as u32);
    }

    /// Adds an imported track: on a cycle boundary (its length must be a cycle x 2^k), or as
    /// the anchor starting now; it fades in over the blend length.
    pub(super) fn receive_import(&mut self) {
        let Some(mut track) = self.session.take_import() else {
            return;
        };
        let length = track.length_samples;
        let new_cycle = match self.cycle {
            Some(cycle) if cycle.track_length(length) != length => {
                self.pool.retire_buffer(track.buffer);
                self.say(EngineMessage::ImportDoesNotFit);
                return;
            }
            Some(cycle) => {
                track.origin_samples = cycle.origin_samples;
                None
            }
            None => {
                track.origin_samples = self.now_samples;
                Some(Cycle {
                    origin_samples: self.now_samples,
                    length_samples: length,
                })
            }
        };
        track.fade = Ramp::at(0.0);
        track.fade.ramp_to(1.0, self.blend_samples() as u32);
        self.discard_redo();
        if self.push_track(track) && new_cycle.is_some() {
            self.set_cycle(new_cycle);
        }
    }

    /// After a refused event, sends the whole performance again once the queue has room.
    pub(super) fn resync_session_if_due(&mut self) {
        if !self.session.resync_fits(self.tracks.len() + 4) {
            return;
        }
        self.session.tell(SessionEvent::Resync);
        for track in &self.tracks {
            if track.state != TrackState::Discarding {
                self.session.track_added(track);
            }
        }
        self.session.tell(SessionEvent::Cycle(self.cycle));
        self.session.tell(SessionEvent::Lock(self.sync.lock));
        self.session
            .tell(SessionEvent::Beats(self.quantize.anchor_beats));
        self.session.resync_sent();
    }
}
