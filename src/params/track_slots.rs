//! The track bank: gain, pan, mute and solo of the first [`TRACK_SLOTS`] tracks.

use nice_plug::prelude::*;

use crate::engine::MAX_TRACK_GAIN;
use crate::param_overrides::ParamOverrides;
use crate::track_bank::SlotValues;

/// Track slots the host sees as parameters: slot n addresses the n-th track in the mix.
pub const TRACK_SLOTS: usize = 16;
/// Highest track gain, in dB (the engine's limit).
const MAX_TRACK_GAIN_DB: f32 = 12.0;

/// One track slot's parameters. A slot's value is sent to its track when it changes (see
/// [`crate::track_bank`]), so the editor and MIDI can change the same track in between.
#[derive(Params)]
pub struct TrackSlotParams {
    /// Track gain (linear, shown in dB).
    #[id = "track_gain"]
    pub gain: FloatParam,
    /// Track pan (-1 left ..= 1 right).
    #[id = "track_pan"]
    pub pan: FloatParam,
    /// Track mute.
    #[id = "track_mute"]
    pub mute: BoolParam,
    /// Track solo.
    #[id = "track_solo"]
    pub solo: BoolParam,
}

impl TrackSlotParams {
    /// The parameters of track slot `number` (1-based, as shown).
    pub(super) fn new(number: usize) -> Self {
        Self {
            gain: track_gain_param(&format!("Track {number} gain")),
            pan: pan_param(&format!("Track {number} pan")),
            mute: BoolParam::new(format!("Track {number} mute"), false),
            solo: BoolParam::new(format!("Track {number} solo"), false),
        }
    }

    /// The slot's values as the plugin uses them (CC overrides included), sanitized.
    pub fn values(&self, overrides: &ParamOverrides) -> SlotValues {
        mix_values([&self.gain, &self.pan], [&self.mute, &self.solo], overrides)
    }
}

/// A track gain, from silence to the engine's limit, shown in dB.
pub(super) fn track_gain_param(name: &str) -> FloatParam {
    super::gain_param(name, MAX_TRACK_GAIN_DB)
}

/// A track pan, L100 to R100 in steps of 1 %.
pub(super) fn pan_param(name: &str) -> FloatParam {
    FloatParam::new(
        name,
        0.0,
        FloatRange::Linear {
            min: -1.0,
            max: 1.0,
        },
    )
    .with_step_size(0.01)
    .with_value_to_string(formatters::v2s_f32_panning())
    .with_string_to_value(formatters::s2v_f32_panning())
}

/// Gain, pan, mute and solo as the plugin uses them (CC overrides included), sanitized.
pub(super) fn mix_values(
    [gain, pan]: [&FloatParam; 2],
    [mute, solo]: [&BoolParam; 2],
    overrides: &ParamOverrides,
) -> SlotValues {
    let finite = |value: f32, fallback: f32| if value.is_finite() { value } else { fallback };
    SlotValues {
        gain: finite(overrides.get(gain), 1.0).clamp(0.0, MAX_TRACK_GAIN),
        pan: finite(overrides.get(pan), 0.0).clamp(-1.0, 1.0),
        mute: overrides.get(mute),
        solo: overrides.get(solo),
    }
}
