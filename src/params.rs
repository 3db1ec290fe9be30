//! The host-visible parameters. Ids are a contract with saved projects: never change one.

use nice_plug::prelude::*;

use crate::engine::EngineSettings;

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
    /// Always-on history length in seconds (applies at the next activation).
    #[id = "history_secs"]
    pub history_secs: IntParam,
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
    /// The engine settings these parameters describe, sanitized.
    pub fn engine_settings(&self) -> EngineSettings {
        let finite = |value: f32, fallback: f32| if value.is_finite() { value } else { fallback };
        EngineSettings {
            blend_ms: finite(self.blend_ms.value(), 50.0).clamp(1.0, 500.0),
            lenience_ms: finite(self.lenience_ms.value(), 200.0).clamp(0.0, 1000.0),
            monitor_gain: finite(self.monitor_gain.value(), 1.0).clamp(0.0, 2.0),
            loop_gain: finite(self.loop_gain.value(), 1.0).clamp(0.0, 2.0),
            phones_gain: finite(self.phones_gain.value(), 1.0).clamp(0.0, 2.0),
            input_latency_samples: 0,
        }
    }
}
