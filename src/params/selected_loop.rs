//! The *Selected loop* bank: every control of the selected loop as a host parameter, so
//! automation, control surfaces and MIDI learn reach any loop's mix and effects, not only the
//! first 16 tracks' gain, pan, mute and solo. A value is sent to the loop selected at the
//! sample it changes (see [`crate::track_bank`]); selecting another loop sends nothing.

use nice_plug::prelude::*;

use super::choices::SpeedChoice;
use super::master_fx::{
    FilterType, cutoff_param, delay_feedback_param, delay_mix_param, delay_time_param,
    resonance_param,
};
use super::track_slots::{mix_values, pan_param, track_gain_param};
use crate::engine::fx::chain::FxSettings;
use crate::engine::fx::drive::DRIVE_RANGE;
use crate::param_overrides::ParamOverrides;
use crate::track_bank::SelectedValues;

/// The selected loop's parameters. Their defaults are a new loop's settings.
#[derive(Params)]
pub struct SelectedLoopParams {
    /// Gain (linear, shown in dB).
    #[id = "selected_gain"]
    pub gain: FloatParam,
    /// Pan (-1 left ..= 1 right).
    #[id = "selected_pan"]
    pub pan: FloatParam,
    /// Mute.
    #[id = "selected_mute"]
    pub mute: BoolParam,
    /// Solo.
    #[id = "selected_solo"]
    pub solo: BoolParam,
    /// Reverse playback.
    #[id = "selected_reverse"]
    pub reverse: BoolParam,
    /// Playback speed (x1/4 ..= x4).
    #[id = "selected_speed"]
    pub speed: EnumParam<SpeedChoice>,
    /// Filter on or off.
    #[id = "selected_filter"]
    pub filter: BoolParam,
    /// Filter type.
    #[id = "selected_filter_type"]
    pub filter_type: EnumParam<FilterType>,
    /// Filter cutoff in Hz.
    #[id = "selected_cutoff_hz"]
    pub cutoff_hz: FloatParam,
    /// Filter resonance (Q).
    #[id = "selected_resonance"]
    pub resonance: FloatParam,
    /// Drive on or off.
    #[id = "selected_drive"]
    pub drive: BoolParam,
    /// Drive amount (1..=20).
    #[id = "selected_drive_amount"]
    pub drive_amount: FloatParam,
    /// Delay on or off.
    #[id = "selected_delay"]
    pub delay: BoolParam,
    /// Delay time in milliseconds.
    #[id = "selected_delay_ms"]
    pub delay_ms: FloatParam,
    /// Delay feedback (0..0.95).
    #[id = "selected_delay_feedback"]
    pub delay_feedback: FloatParam,
    /// Echo level (0..1).
    #[id = "selected_delay_mix"]
    pub delay_mix: FloatParam,
}

impl Default for SelectedLoopParams {
    fn default() -> Self {
        Self {
            gain: track_gain_param("Selected gain"),
            pan: pan_param("Selected pan"),
            mute: BoolParam::new("Selected mute", false),
            solo: BoolParam::new("Selected solo", false),
            reverse: BoolParam::new("Selected reverse", false),
            speed: EnumParam::new("Selected speed", SpeedChoice::Normal),
            filter: BoolParam::new("Selected filter", false),
            filter_type: EnumParam::new("Selected filter type", FilterType::LowPass),
            cutoff_hz: cutoff_param("Selected cutoff", 1_000.0),
            resonance: resonance_param("Selected resonance"),
            drive: BoolParam::new("Selected drive", false),
            drive_amount: FloatParam::new(
                "Selected drive amount",
                4.0,
                FloatRange::Linear {
                    min: DRIVE_RANGE.0,
                    max: DRIVE_RANGE.1,
                },
            )
            .with_step_size(0.01),
            delay: BoolParam::new("Selected delay", false),
            delay_ms: delay_time_param("Selected delay time"),
            delay_feedback: delay_feedback_param("Selected delay feedback"),
            delay_mix: delay_mix_param("Selected delay mix"),
        }
    }
}

impl SelectedLoopParams {
    /// The bank's values as the plugin uses them (CC overrides `v` included), the delay time
    /// in frames at `sample_rate_hz`; the effect values are sanitized by the engine's effect
    /// chain.
    pub fn values(&self, v: &ParamOverrides, sample_rate_hz: f32) -> SelectedValues {
        SelectedValues {
            mix: mix_values([&self.gain, &self.pan], [&self.mute, &self.solo], v),
            reverse: v.get(&self.reverse),
            speed: v.get(&self.speed).speed(),
            fx: FxSettings {
                filter_on: v.get(&self.filter),
                filter_mode: v.get(&self.filter_type).mode(),
                cutoff_hz: v.get(&self.cutoff_hz),
                q: v.get(&self.resonance),
                drive_on: v.get(&self.drive),
                drive_amount: v.get(&self.drive_amount),
                delay_on: v.get(&self.delay),
                delay_frames: v.get(&self.delay_ms) / 1000.0 * sample_rate_hz,
                delay_feedback: v.get(&self.delay_feedback),
                delay_mix: v.get(&self.delay_mix),
            },
            sample_rate_hz,
        }
    }
}
