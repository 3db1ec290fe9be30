//! Per-loop controls: gain, pan, mute, solo, reverse, speed, effects, reset and remove, ramped over
//! the blend length, each told to the session mirror.
//!
//! Realtime: runs on the audio thread; nothing allocates.

use super::command::{TrackControl, TrackTarget};
use super::fx::chain::FxControl;
use super::session_event::{SessionEvent, TrackRecord};
use super::shared::Shared;
use super::speed::Speed;
use super::status::EngineMessage;
use super::track::TrackState;

/// Highest track gain reachable with gain-up presses (+12 dB).
pub const MAX_TRACK_GAIN: f32 = 4.0;

/// The current beat length in seconds: the host's, else the anchor cycle's.
fn beat_secs(shared: &Shared) -> Option<f32> {
    shared
        .output
        .metronome
        .grid
        .map(|grid| (grid.beat_samples / f64::from(shared.config.sample_rate_hz)) as f32)
}

/// Applies `control` to the loop `target` (ramped over the blend length) and tells the
/// session mirror. Returns true when that removed the last playing loop (the caller forgets
/// the cycle).
pub fn apply(shared: &mut Shared, target: TrackTarget, control: TrackControl) -> bool {
    let blend = shared.blend_samples() as u32;
    let control = match control {
        TrackControl::Fx(FxControl::DelayBeats {
            beats,
            feedback,
            mix,
        }) => match beat_secs(shared) {
            Some(beat) => TrackControl::Fx(FxControl::DelaySettings {
                time_secs: beats * beat,
                feedback,
                mix,
            }),
            None => {
                shared.say(EngineMessage::NeedsAnchor);
                return false;
            }
        },
        other => other,
    };
    let track = match target {
        TrackTarget::Last => shared.tracks.last_playing_mut(),
        TrackTarget::Index(n) => shared.tracks.nth_playing_mut(n as usize),
    };
    let Some(track) = track else {
        return false;
    };
    let gain_limit = |gain: f32| {
        if gain.is_finite() {
            gain.clamp(0.0, MAX_TRACK_GAIN)
        } else {
            1.0
        }
    };
    match control {
        TrackControl::SetGain(gain) => track.gain.ramp_to(gain_limit(gain), blend),
        TrackControl::ScaleGain(factor) => {
            let target = gain_limit(track.gain.target() * factor);
            track.gain.ramp_to(target, blend);
        }
        TrackControl::SetPan(pan) => {
            let pan = if pan.is_finite() {
                pan.clamp(-1.0, 1.0)
            } else {
                0.0
            };
            track.pan.ramp_to(pan, blend);
        }
        TrackControl::SetMute(muted) => track.muted = muted,
        TrackControl::ToggleMute => track.muted = !track.muted,
        TrackControl::SetSolo(soloed) => track.soloed = soloed,
        TrackControl::ToggleSolo => track.soloed = !track.soloed,
        TrackControl::Fx(FxControl::SetReverse(on)) => {
            track.reverse.ramp_to(if on { 1.0 } else { 0.0 }, blend);
        }
        TrackControl::Fx(control) => track.fx.apply(control, blend),
        TrackControl::SetSpeed(speed) => track.set_speed(speed, blend),
        TrackControl::HalveSpeed => track.set_speed(track.target_speed().halved(), blend),
        TrackControl::DoubleSpeed => track.set_speed(track.target_speed().doubled(), blend),
        TrackControl::Reset => {
            track.gain.ramp_to(1.0, blend);
            track.pan.ramp_to(0.0, blend);
            track.reverse.ramp_to(0.0, blend);
            track.set_speed(Speed::NORMAL, blend);
            track.fx.apply(FxControl::Reset, blend);
            track.muted = false;
            track.soloed = false;
        }
        TrackControl::Remove => {
            track.state = TrackState::Discarding;
            track.fade.ramp_to(0.0, blend);
        }
    }
    let mut last_removed = false;
    if track.state == TrackState::Discarding {
        let id = track.id;
        shared.session.tell(SessionEvent::Removed { id });
        last_removed = shared.tracks.playing().next().is_none();
    } else {
        let record = track.fill.is_none().then(|| TrackRecord::of(track));
        shared.tell_updated(record);
    }
    shared.update_audibility();
    last_removed
}
