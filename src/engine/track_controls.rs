//! Per-loop controls: gain, pan, mute, solo, reverse, speed, effects, reset, restart, and mute at the
//! loop's end (a trigger), ramped over the blend length, each an undoable edit told to the
//! session mirror; and what undo and redo of such an edit do.
//!
//! Realtime: runs on the audio thread; nothing allocates.

use super::command::{Repeat, TrackControl, TrackTarget, TriggerAction, TriggerSpec, TriggerTime};
use super::fx::chain::FxControl;
use super::session_event::TrackRecord;
use super::shared::Shared;
use super::speed::Speed;
use super::status::EngineMessage;
use super::track::{Track, TrackState};
use super::triggers;
use super::undo::Edit;

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

/// The index in the track list of the playing loop `target` addresses.
pub fn index_of(shared: &Shared, target: TrackTarget) -> Option<usize> {
    let mut playing = (shared.tracks.iter().enumerate())
        .filter(|(_, track)| track.state == TrackState::Playing)
        .map(|(index, _)| index);
    match target {
        TrackTarget::Last => playing.next_back(),
        TrackTarget::Selected => playing.nth(shared.tracks.selected_index()?),
        TrackTarget::Index(n) => playing.nth(n as usize),
    }
}

/// Applies `control` to the loop `target` (ramped over the blend length) as an undoable edit,
/// and tells the session mirror. A removal is the undo history's (`undo::remove_loop`).
pub fn apply(shared: &mut Shared, target: TrackTarget, control: TrackControl) {
    if let Some(index) = index_of(shared, target) {
        apply_at(shared, index, control);
    }
}

/// Applies `control` to the playing loop with id `track_id`, if there is one (a trigger aimed
/// at it).
pub fn apply_to_loop(shared: &mut Shared, track_id: u64, control: TrackControl) {
    let playing = |track: &Track| track.id == track_id && track.state == TrackState::Playing;
    if let Some(index) = shared.tracks.iter().position(playing) {
        apply_at(shared, index, control);
    }
}

/// Applies `control` to the loop at `index` of the track list.
fn apply_at(shared: &mut Shared, index: usize, control: TrackControl) {
    let blend = shared.blend_samples() as u32;
    let declick = shared.declick_samples() as u32;
    let now = shared.now_samples;
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
                return;
            }
        },
        TrackControl::ToggleMuteAtLoopEnd => {
            let track_id = shared.tracks[index].id;
            let spec = TriggerSpec {
                action: TriggerAction::ToggleLoopMute { track_id },
                time: TriggerTime::LoopEnd,
                repeat: Repeat::Once,
            };
            return triggers::toggle(shared, spec);
        }
        other => other,
    };
    let track = &mut shared.tracks[index];
    let before = TrackRecord::of(track);
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
        // Reversed (or turning that way) as the session record counts it: `target > 0`.
        TrackControl::ToggleReverse => {
            let target = if track.reverse.target() > 0.0 {
                0.0
            } else {
                1.0
            };
            track.reverse.ramp_to(target, blend);
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
        // Index 0 plays now, crossfaded from where the loop was.
        TrackControl::Restart => track.jump_to_origin(now, declick),
        // Handled above (a trigger), or by the undo history (a removal: the mix's edit).
        TrackControl::ToggleMuteAtLoopEnd | TrackControl::Remove => {}
    }
    let after = TrackRecord::of(track);
    if after != before {
        shared.record_edit(Edit::Changed { before, after });
    }
    let record = track_record_if_complete(shared, index);
    shared.tell_updated(record);
    shared.update_audibility();
}

/// Ramps the playing loop `to.id` from the controls in `from` to those in `to`, changing only
/// what differs (its phase moves by the difference of the origins, crossfaded over the declick
/// fade), and tells the session mirror: what undo and redo of a control change do.
pub fn ramp_between(shared: &mut Shared, from: &TrackRecord, to: &TrackRecord) {
    let blend = shared.blend_samples() as u32;
    let declick = shared.declick_samples() as u32;
    let playing = |track: &Track| track.id == to.id && track.state == TrackState::Playing;
    let Some(index) = shared.tracks.iter().position(playing) else {
        return;
    };
    let track = &mut shared.tracks[index];
    if from.gain != to.gain {
        track.gain.ramp_to(to.gain, blend);
    }
    if from.pan != to.pan {
        track.pan.ramp_to(to.pan, blend);
    }
    if from.reversed != to.reversed {
        track
            .reverse
            .ramp_to(if to.reversed { 1.0 } else { 0.0 }, blend);
    }
    if from.fx != to.fx {
        track.fx.ramp_to_settings(&to.fx, blend);
    }
    if from.muted != to.muted {
        track.muted = to.muted;
    }
    if from.soloed != to.soloed {
        track.soloed = to.soloed;
    }
    if from.speed != to.speed {
        track.set_speed(to.speed, blend);
    }
    if from.origin_samples != to.origin_samples {
        let length = i128::from(track.period_samples());
        let moved = i128::from(track.origin_samples) + i128::from(to.origin_samples)
            - i128::from(from.origin_samples);
        // Any origin of the same phase will do when the exact one would be negative.
        let origin = if moved >= 0 {
            moved
        } else {
            moved.rem_euclid(length)
        };
        track.jump_to_origin(origin as u64, declick);
    }
    let record = track_record_if_complete(shared, index);
    shared.tell_updated(record);
    shared.update_audibility();
}

/// The record of the track at `index`, unless it is still filling (it tells its record when
/// complete).
fn track_record_if_complete(shared: &Shared, index: usize) -> Option<TrackRecord> {
    let track = &shared.tracks[index];
    track.fill.is_none().then(|| TrackRecord::of(track))
}
