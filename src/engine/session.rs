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

use super::cycle::{BarLock, Cycle, WholeBeats};
use super::oneshot::{PADS, SavedOneShot};
use super::session_event::{SessionEvent, TaggedEvent, TrackRecord};
use super::track::Track;

/// Events that can wait for the mirror (it drains them every 10 ms; a player sends a handful per
/// second, so only a flood of automation fills it, and then the engine re-sends everything).
pub const EVENT_CAPACITY: usize = 4096;
/// Restored sessions that can wait for the audio thread.
const RESTORE_CAPACITY: usize = 4;
/// Imported tracks that can wait for the audio thread.
const IMPORT_CAPACITY: usize = 8;

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
    /// The id of the loop last selected (`None`, or not a playing track: the newest loop).
    pub selected_track_id: Option<u64>,
    /// Each pad's one-shot (taken out when installed).
    pub one_shots: [Option<SavedOneShot>; PADS],
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
