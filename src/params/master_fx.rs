//! The master effects' parameters: a filter and a delay on the PA's loop mix.

use nice_plug::prelude::*;

use crate::engine::fx::chain::FxControl;
use crate::engine::fx::filter::FilterMode;
use crate::param_overrides::ParamOverrides;

/// Filter type of the master filter and of the selected loop's.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterType {
    /// Low-pass.
    #[id = "low_pass"]
    #[name = "Low-pass"]
    LowPass,
    /// High-pass.
    #[id = "high_pass"]
    #[name = "High-pass"]
    HighPass,
}

impl FilterType {
    /// The engine's filter mode of this type.
    pub fn mode(self) -> FilterMode {
        match self {
            FilterType::LowPass => FilterMode::LowPass,
            FilterType::HighPass => FilterMode::HighPass,
        }
    }
}

/// The master effects' parameters.
#[derive(Params)]
pub struct MasterFxParams {
    /// Filter on the loop mix on or off.
    #[id = "master_filter"]
    pub filter: BoolParam,
    /// Filter type.
    #[id = "master_filter_type"]
    pub filter_type: EnumParam<FilterType>,
    /// Filter cutoff in Hz.
    #[id = "master_cutoff_hz"]
    pub cutoff_hz: FloatParam,
    /// Filter resonance (Q).
    #[id = "master_resonance"]
    pub resonance: FloatParam,
    /// Delay on the loop mix on or off.
    #[id = "master_delay"]
    pub delay: BoolParam,
    /// Delay time in milliseconds.
    #[id = "master_delay_ms"]
    pub delay_ms: FloatParam,
    /// Delay feedback (0..0.95).
    #[id = "master_delay_feedback"]
    pub delay_feedback: FloatParam,
    /// Echo level (0..1).
    #[id = "master_delay_mix"]
    pub delay_mix: FloatParam,
}

impl Default for MasterFxParams {
    fn default() -> Self {
        Self {
            filter: BoolParam::new("Master filter", false),
            filter_type: EnumParam::new("Master filter type", FilterType::LowPass),
            cutoff_hz: cutoff_param("Master cutoff", 2_000.0),
            resonance: resonance_param("Master resonance"),
            delay: BoolParam::new("Master delay", false),
            delay_ms: delay_time_param("Master delay time"),
            delay_feedback: delay_feedback_param("Master delay feedback"),
            delay_mix: delay_mix_param("Master delay mix"),
        }
    }
}

/// A filter cutoff, 20 Hz to 20 kHz, in whole Hz.
pub(super) fn cutoff_param(name: &str, default_hz: f32) -> FloatParam {
    FloatParam::new(
        name,
        default_hz,
        FloatRange::Skewed {
            min: 20.0,
            max: 20_000.0,
            factor: FloatRange::skew_factor(-2.0),
        },
    )
    .with_unit(" Hz")
    .with_step_size(1.0)
}

/// A filter resonance (Q), 0.5 to 10, default 0.707.
pub(super) fn resonance_param(name: &str) -> FloatParam {
    FloatParam::new(
        name,
        0.707,
        FloatRange::Linear {
            min: 0.5,
            max: 10.0,
        },
    )
}

/// A delay time, 1 to 2000 ms in steps of 0.1 ms, default 375 ms.
pub(super) fn delay_time_param(name: &str) -> FloatParam {
    FloatParam::new(
        name,
        375.0,
        FloatRange::Linear {
            min: 1.0,
            max: 2_000.0,
        },
    )
    .with_unit(" ms")
    .with_step_size(0.1)
}

/// A delay feedback, 0 to 0.95, default 0.35.
pub(super) fn delay_feedback_param(name: &str) -> FloatParam {
    FloatParam::new(
        name,
        0.35,
        FloatRange::Linear {
            min: 0.0,
            max: 0.95,
        },
    )
}

/// A delay's echo level, 0 to 1, default 0.5.
pub(super) fn delay_mix_param(name: &str) -> FloatParam {
    FloatParam::new(name, 0.5, FloatRange::Linear { min: 0.0, max: 1.0 })
}

impl MasterFxParams {
    /// The effect-chain changes these parameters (with CC overrides `v`) describe, sanitized by the chain itself.
    pub fn controls(&self, v: &ParamOverrides) -> [FxControl; 4] {
        [
            FxControl::FilterSettings {
                mode: v.get(&self.filter_type).mode(),
                cutoff_hz: v.get(&self.cutoff_hz),
                q: v.get(&self.resonance),
            },
            FxControl::SetFilter(v.get(&self.filter)),
            FxControl::DelaySettings {
                time_secs: v.get(&self.delay_ms) / 1000.0,
                feedback: v.get(&self.delay_feedback),
                mix: v.get(&self.delay_mix),
            },
            FxControl::SetDelay(v.get(&self.delay)),
        ]
    }
}
