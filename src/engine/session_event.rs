//! What the engine tells the session mirror: a track's record (everything a saved performance
//! keeps besides the audio) and the changes to the performance. Fixed-size values, sent through a
//! wait-free queue from the audio thread (see `session.rs`).

use std::sync::Arc;

use super::audio::{TrackAudio, TrackBuffer};
use super::cycle::{BarLock, Cycle, WholeBeats};
use super::fx::chain::{FxChain, FxSettings};
use super::oneshot::SavedOneShot;
use super::ramp::Ramp;
use super::speed::Speed;
use super::track::{Track, TrackState};

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
    /// Playback speed (the one it is heading to).
    pub speed: Speed,
    /// Undone (kept for redo) rather than playing.
    pub undone: bool,
    /// Effect settings.
    pub fx: FxSettings,
    /// Overdub layers in its audio (the audio is saved as heard: the layers mixed).
    pub layers: u32,
}

impl TrackRecord {
    /// The time after which the loop's playback repeats: its length, times 2 or 4 when slower
    /// than normal (see `Track::period_samples`).
    pub fn period_samples(&self) -> u64 {
        self.speed.period_samples(self.length_samples)
    }

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
            speed: track.target_speed(),
            undone: track.state == TrackState::Undoing,
            fx: track.fx.settings(),
            layers: track.layers,
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
        track.jump_to_speed(self.speed);
        track.fx = FxChain::with_settings(sample_rate_hz, &self.fx);
        track.layers = self.layers;
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
    /// `Added` once complete, or as `Removed` if dropped first.
    Filling { id: u64 },
    /// The track with this id left the mix other than by undo (removed or cleared: the undo
    /// history, which is not saved, keeps it), or a track still filling was dropped.
    Removed { id: u64 },
    /// Every undone track was dropped (a new take or capture ends the redo history).
    RedoDiscarded,
    /// The player (or a loop joining the mix) selected the track with this id.
    Selected { id: u64 },
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
    /// The queue overflowed: forget the tracks and one-shots; every track follows as `Added`
    /// (or `Filling`), every one-shot as `OneShot`.
    Resync,
    /// Pad `pad` holds this one-shot (complete) from now on.
    OneShot { pad: u8, saved: SavedOneShot },
    /// Pad `pad` was emptied.
    OneShotCleared { pad: u8 },
}

/// An event and the session generation it belongs to (events of a replaced session are ignored).
#[derive(Debug)]
pub struct TaggedEvent {
    /// The generation of the engine's session when it sent the event.
    pub generation: u64,
    /// What changed.
    pub event: SessionEvent,
}
