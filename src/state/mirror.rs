//! The session mirror: a model of the performance (tracks with their shared audio, the cycle)
//! kept off the audio thread from the engine's events, so that saving never waits for the audio
//! thread (only, briefly, for a capture still copying: see `SessionStore::save`). Only non-audio
//! threads touch it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::engine::audio::{TrackAudio, TrackBuffer};
use crate::engine::cycle::BarLock;
use crate::engine::cycle::Cycle;
use crate::engine::cycle::WholeBeats;
use crate::engine::memory::try_alloc_touched;
use crate::engine::oneshot::{PADS, SavedOneShot};
use crate::engine::session::{RestoredSession, SessionFeed};
use crate::engine::session_event::{SessionEvent, TaggedEvent, TrackRecord};

/// Track slots a restored session reserves beyond its own tracks (more come from the keeper).
const RESTORE_SPARE_SLOTS: usize = 256;

/// One track of the model.
#[derive(Debug, Clone)]
pub struct ModelTrack {
    /// Its record (origin in the model's time).
    pub record: TrackRecord,
    /// Its audio, shared with the engine (or about to be).
    pub audio: Arc<TrackAudio>,
}

/// What the model's track origins are relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Not playing in an engine: origins are relative to time 0, which stands for "now".
    Frozen,
    /// Installed: origins are engine times; "now" is the engine's published time.
    Live,
}

/// The performance as the mirror knows it.
#[derive(Debug, Clone)]
pub struct SessionModel {
    /// The session generation; engine events of another generation are ignored.
    pub generation: u64,
    /// Sample rate of the audio in Hz.
    pub sample_rate_hz: f32,
    /// The anchor cycle.
    pub cycle: Option<Cycle>,
    /// The anchor's lock to the host bars (its origin in the model's time, like the cycle's).
    pub lock: Option<BarLock>,
    /// The last anchor's whole beats from beat quantization, as the engine keeps them: they
    /// describe the anchor while the cycle has their length ([`SessionModel::anchor_beats`]).
    pub beats: Option<WholeBeats>,
    /// Complete tracks (playing and undone), in id order.
    pub tracks: Vec<ModelTrack>,
    /// Ids of the captures the engine is still copying from the history (not yet in `tracks`).
    pub filling: Vec<u64>,
    /// The id of the loop last selected (`None`, or not a playing track: the newest loop is).
    pub selected_id: Option<u64>,
    /// What the origins are relative to.
    pub clock: Clock,
    /// Each pad's one-shot.
    pub one_shots: [Option<SavedOneShot>; PADS],
}

impl SessionModel {
    /// No tracks, no cycle.
    pub fn empty(sample_rate_hz: f32) -> Self {
        Self {
            generation: 0,
            sample_rate_hz,
            cycle: None,
            lock: None,
            beats: None,
            tracks: Vec::new(),
            filling: Vec::new(),
            selected_id: None,
            clock: Clock::Frozen,
            one_shots: Default::default(),
        }
    }

    /// The anchor's whole beats, while the cycle is that anchor's.
    pub fn anchor_beats(&self) -> Option<WholeBeats> {
        let cycle = self.cycle?;
        self.beats
            .filter(|beats| beats.length_samples == cycle.length_samples)
    }

    /// Applies every event waiting in `feed`.
    pub fn catch_up(&mut self, feed: &mut SessionFeed) {
        while let Ok(event) = feed.events.pop() {
            self.apply(event);
        }
    }

    /// "Now" in the model's time: 0 when frozen, else the engine's last published time.
    pub fn now_samples(&self, feed: Option<&SessionFeed>) -> u64 {
        match (self.clock, feed) {
            (Clock::Live, Some(feed)) => feed.shared.now_samples.load(Ordering::Acquire),
            _ => 0,
        }
    }

    /// Re-expresses the origins relative to `now_samples` (which becomes time 0): the model then
    /// no longer depends on an engine, and captures it was still copying are gone with it.
    pub fn freeze_at(&mut self, now_samples: u64) {
        self.filling.clear();
        let relative = |origin: u64, period: u64| {
            (i128::from(origin) - i128::from(now_samples)).rem_euclid(i128::from(period.max(1)))
                as u64
        };
        for track in &mut self.tracks {
            // Modulo the loop's period: at half speed it repeats after twice its length.
            track.record.origin_samples =
                relative(track.record.origin_samples, track.record.period_samples());
        }
        if let Some(cycle) = &mut self.cycle {
            cycle.origin_samples = relative(cycle.origin_samples, cycle.length_samples);
        }
        if let Some(lock) = &mut self.lock {
            // Exact, never modulo a loop length (see `BarLock::origin_samples`).
            lock.origin_samples -= now_samples as i64;
        }
        self.clock = Clock::Frozen;
    }

    /// Builds the session an engine at the model's rate installs: buffers sharing the model's
    /// audio, fresh delay memory of `fx_memory_frames` for the loops whose delay is on. Call on a frozen model. `None` when out
    /// of memory. Not realtime-safe.
    pub fn to_restore(&self, fx_memory_frames: usize) -> Option<Box<RestoredSession>> {
        let mut tracks = Vec::new();
        tracks
            .try_reserve_exact(self.tracks.len() + RESTORE_SPARE_SLOTS)
            .ok()?;
        for track in &self.tracks {
            let mut buffer = TrackBuffer::with_audio(track.audio.clone());
            if track.record.fx.delay_on {
                let memory = try_alloc_touched(fx_memory_frames.checked_mul(2)?)?;
                buffer.set_fx_memory(memory);
            }
            tracks.push(track.record.to_track(buffer, self.sample_rate_hz));
        }
        Some(Box::new(RestoredSession {
            generation: self.generation,
            cycle: self.cycle,
            lock: self.lock,
            anchor_beats: self.beats,
            next_track_id: self
                .tracks
                .last()
                .map_or(0, |t| t.record.id.saturating_add(1)),
            selected_track_id: self.selected_id,
            tracks,
            one_shots: self.one_shots.clone(),
        }))
    }

    fn apply(&mut self, tagged: TaggedEvent) {
        if tagged.generation != self.generation {
            return;
        }
        match tagged.event {
            SessionEvent::Added { record, audio } => {
                let at = self.tracks.partition_point(|t| t.record.id < record.id);
                self.filling.retain(|&id| id != record.id);
                if self
                    .tracks
                    .get(at)
                    .is_some_and(|t| t.record.id == record.id)
                {
                    self.tracks[at] = ModelTrack { record, audio };
                } else {
                    self.tracks.insert(at, ModelTrack { record, audio });
                }
            }
            SessionEvent::Updated(record) => {
                if let Some(track) = self.tracks.iter_mut().find(|t| t.record.id == record.id) {
                    track.record = record;
                }
            }
            SessionEvent::Filling { id } => self.filling.push(id),
            SessionEvent::Removed { id } => {
                self.tracks.retain(|t| t.record.id != id);
                self.filling.retain(|&filling| filling != id);
            }
            SessionEvent::RedoDiscarded => self.tracks.retain(|t| !t.record.undone),
            SessionEvent::Resync => {
                self.tracks.clear();
                self.filling.clear();
                self.one_shots = Default::default();
            }
            SessionEvent::OneShot { pad, saved } => {
                if let Some(slot) = self.one_shots.get_mut(usize::from(pad)) {
                    *slot = Some(saved);
                }
            }
            SessionEvent::OneShotCleared { pad } => {
                if let Some(slot) = self.one_shots.get_mut(usize::from(pad)) {
                    *slot = None;
                }
            }
            SessionEvent::Selected { id } => self.selected_id = Some(id),
            SessionEvent::Shifted { shift_samples } => {
                for track in &mut self.tracks {
                    track.record.origin_samples += shift_samples;
                }
            }
            SessionEvent::Cycle(cycle) => self.cycle = cycle,
            SessionEvent::Lock(lock) => self.lock = lock,
            SessionEvent::Beats(beats) => self.beats = beats,
            SessionEvent::Installed { at_samples } => {
                if self.clock == Clock::Frozen {
                    for track in &mut self.tracks {
                        track.record.origin_samples += at_samples;
                    }
                    if let Some(cycle) = &mut self.cycle {
                        cycle.origin_samples += at_samples;
                    }
                    if let Some(lock) = &mut self.lock {
                        lock.origin_samples += at_samples as i64;
                    }
                    self.clock = Clock::Live;
                }
            }
        }
    }
}
