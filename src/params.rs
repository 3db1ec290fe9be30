//! The host-visible parameters. Ids are a contract with saved projects: never change one.

use std::sync::Arc;

use nice_plug::prelude::*;

use crate::engine::{EngineSettings, ms_to_samples};

/// Longest history a player can choose, in seconds.
pub const MAX_HISTORY_SECS: i32 = 600;

/// Loopmate's parameters.
#[derive(Params)]
pub struct LoopmateParams {
    /// Input monitor level on both outputs (linear gain, shown in dB).
    #[id = "monitor_gain"]
    pub monitor_gain: FloatParam,
    /// Loop mix level on both outputs (linear gain, shown in dB).
    #[id = "loop_gain"]
    pub loop_gain: FloatParam,
    /// Headphone output level (linear gain, shown in dB).
    #[id = "phones_gain"]
    pub phones_gain: FloatParam,
    /// Seam crossfade and fade length in milliseconds.
    #[id = "blend_ms"]
    pub blend_ms: FloatParam,
    /// Snap distance to a cycle boundary in milliseconds.
    #[id = "lenience_ms"]
    pub lenience_ms: FloatParam,
    /// Cycles (or host bars) a capture takes from the history.
    #[id = "capture_cycles"]
    pub capture_cycles: EnumParam<CaptureCycles>,
    /// Latency of the audio input in milliseconds: commands act this much later, so a press
    /// lines up with the audio played at that moment.
    #[id = "input_latency_ms"]
    pub input_latency_ms: FloatParam,
    /// MIDI channel the commands listen on: 0 = any (omni), else 1-16.
    #[id = "midi_channel"]
    pub midi_channel: IntParam,
    /// Always-on history length in seconds (applies at the next activation).
    #[id = "history_secs"]
    pub history_secs: IntParam,
}

/// How many cycles a capture takes.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureCycles {
    /// One cycle.
    #[id = "1"]
    #[name = "1 cycle"]
    One,
    /// Two cycles.
    #[id = "2"]
    #[name = "2 cycles"]
    Two,
    /// Four cycles.
    #[id = "4"]
    #[name = "4 cycles"]
    Four,
    /// Eight cycles.
    #[id = "8"]
    #[name = "8 cycles"]
    Eight,
}

impl CaptureCycles {
    /// The number of cycles.
    pub fn count(self) -> u32 {
        match self {
            CaptureCycles::One => 1,
            CaptureCycles::Two => 2,
            CaptureCycles::Four => 4,
            CaptureCycles::Eight => 8,
        }
    }
}

/// A level from silence to +6 dB, shown in dB.
fn level_param(name: &str) -> FloatParam {
    FloatParam::new(
        name,
        1.0,
        FloatRange::Skewed {
            min: 0.0,
            max: util::db_to_gain(6.0),
            factor: FloatRange::gain_skew_factor(-60.0, 6.0),
        },
    )
    .with_unit(" dB")
    .with_value_to_string(formatters::v2s_f32_gain_to_db(1))
    .with_string_to_value(formatters::s2v_f32_gain_to_db())
}

impl Default for LoopmateParams {
    fn default() -> Self {
        Self {
            monitor_gain: level_param("Monitor"),
            loop_gain: level_param("Loops"),
            phones_gain: level_param("Headphones"),
            blend_ms: FloatParam::new(
                "Blend",
                50.0,
                FloatRange::Skewed {
                    min: 1.0,
                    max: 500.0,
                    factor: FloatRange::skew_factor(-1.5),
                },
            )
            .with_unit(" ms")
            .with_step_size(0.1),
            lenience_ms: FloatParam::new(
                "Lenience",
                200.0,
                FloatRange::Linear {
                    min: 0.0,
                    max: 1000.0,
                },
            )
            .with_unit(" ms")
            .with_step_size(1.0),
            capture_cycles: EnumParam::new("Capture", CaptureCycles::One),
            input_latency_ms: FloatParam::new(
                "Input latency",
                0.0,
                FloatRange::Linear {
                    min: 0.0,
                    max: 200.0,
                },
            )
            .with_unit(" ms")
            .with_step_size(0.1),
            midi_channel: IntParam::new("MIDI channel", 0, IntRange::Linear { min: 0, max: 16 })
                .with_value_to_string(Arc::new(|channel| match channel {
                    0 => "Omni".to_owned(),
                    n => n.to_string(),
                })),
            history_secs: IntParam::new(
                "History",
                60,
                IntRange::Linear {
                    min: 10,
                    max: MAX_HISTORY_SECS,
                },
            )
            .with_unit(" s")
            .non_automatable(),
        }
    }
}

impl LoopmateParams {
    /// Whether a message on MIDI channel `channel` (0-15) is for Loopmate.
    pub fn listens_on(&self, channel: Option<u8>) -> bool {
        match self.midi_channel.value() {
            0 => true,
            wanted => channel.is_none_or(|c| i32::from(c) + 1 == wanted),
        }
    }

    /// The engine settings these parameters describe at `sample_rate_hz`, sanitized.
    pub fn engine_settings(&self, sample_rate_hz: f32) -> EngineSettings {
        let finite = |value: f32, fallback: f32| if value.is_finite() { value } else { fallback };
        EngineSettings {
            blend_ms: finite(self.blend_ms.value(), 50.0).clamp(1.0, 500.0),
            lenience_ms: finite(self.lenience_ms.value(), 200.0).clamp(0.0, 1000.0),
            monitor_gain: finite(self.monitor_gain.value(), 1.0).clamp(0.0, 2.0),
            loop_gain: finite(self.loop_gain.value(), 1.0).clamp(0.0, 2.0),
            phones_gain: finite(self.phones_gain.value(), 1.0).clamp(0.0, 2.0),
            input_latency_samples: ms_to_samples(
                finite(self.input_latency_ms.value(), 0.0).clamp(0.0, 200.0),
                sample_rate_hz,
            ) as u32,
            capture_cycles: self.capture_cycles.value().count(),
        }
    }
}
