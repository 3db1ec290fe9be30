//! The host-visible parameters. Ids are a contract with saved projects: never change one.

use std::sync::Arc;

use nice_plug::prelude::*;

use crate::engine::command::Command;
use crate::engine::fx::chain::FxControl;
use crate::engine::fx::filter::FilterMode;
use crate::engine::mix::MAX_PHONES_DELAY_MS;
use crate::engine::quantize::QuantizeMode;
use crate::engine::{EngineSettings, InputMode, ms_to_samples};

/// Longest history a player can choose, in seconds.
pub const MAX_HISTORY_SECS: i32 = 600;

/// Loopmate's parameters.
#[derive(Params)]
pub struct LoopmateParams {
    /// Input monitor level on the PA (linear gain, shown in dB).
    #[id = "monitor_gain"]
    pub monitor_gain: FloatParam,
    /// Input monitor on the PA on or off (the level is kept).
    #[id = "monitor_on"]
    pub monitor_on: BoolParam,
    /// Loop mix level on the PA (linear gain, shown in dB).
    #[id = "loop_gain"]
    pub loop_gain: FloatParam,
    /// Master gain before the PA limiter (linear gain, shown in dB).
    #[id = "master_gain"]
    pub master_gain: FloatParam,
    /// PA limiter ceiling in dBFS.
    #[id = "limiter_ceiling_db"]
    pub limiter_ceiling_db: FloatParam,
    /// Mute the PA while a take records (the headphones keep playing).
    #[id = "pa_mute_recording"]
    pub pa_mute_while_recording: BoolParam,
    /// Input level in the headphones (linear gain, shown in dB).
    #[id = "phones_monitor_gain"]
    pub phones_monitor_gain: FloatParam,
    /// Loop level in the headphones (linear gain, shown in dB).
    #[id = "phones_loop_gain"]
    pub phones_loop_gain: FloatParam,
    /// Headphone output level (linear gain, shown in dB).
    #[id = "phones_gain"]
    pub phones_gain: FloatParam,
    /// Headphone delay in milliseconds, to line the in-ear mix up with the PA.
    #[id = "phones_delay_ms"]
    pub phones_delay_ms: FloatParam,
    /// Metronome in the headphones on or off.
    #[id = "metronome"]
    pub metronome: BoolParam,
    /// Metronome level (linear gain, shown in dB).
    #[id = "metronome_gain"]
    pub metronome_gain: FloatParam,
    /// Beats in one anchor cycle (metronome without a host tempo).
    #[id = "beats_per_cycle"]
    pub beats_per_cycle: IntParam,
    /// Which input channels are recorded.
    #[id = "input_mode"]
    pub input_mode: EnumParam<InputChannels>,
    /// Master effects on the PA's loop mix.
    #[nested(group = "Master FX")]
    pub master_fx: MasterFxParams,
    /// The commands as momentary switches, for host automation, MIDI learn and control surfaces.
    #[nested(group = "Commands")]
    pub commands: CommandParams,
    /// Seam crossfade and fade length in milliseconds.
    #[id = "blend_ms"]
    pub blend_ms: FloatParam,
    /// Snap distance to a cycle boundary in milliseconds.
    #[id = "lenience_ms"]
    pub lenience_ms: FloatParam,
    /// Cycles (or host bars) a capture takes from the history.
    #[id = "capture_cycles"]
    pub capture_cycles: EnumParam<CaptureCycles>,
    /// How the first loop's start and stop follow the analysis: onsets, beats, both or neither.
    #[id = "quantize_mode"]
    pub quantize_mode: EnumParam<Quantize>,
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

/// Which input channels are recorded (a mono choice makes pannable mono tracks).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputChannels {
    /// Both, as stereo.
    #[id = "stereo"]
    Stereo,
    /// Left only.
    #[id = "left"]
    Left,
    /// Right only.
    #[id = "right"]
    Right,
    /// Both summed to mono.
    #[id = "mono_sum"]
    #[name = "Mono sum"]
    MonoSum,
}

/// Filter type of the master filter.
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
            cutoff_hz: FloatParam::new(
                "Master cutoff",
                2_000.0,
                FloatRange::Skewed {
                    min: 20.0,
                    max: 20_000.0,
                    factor: FloatRange::skew_factor(-2.0),
                },
            )
            .with_unit(" Hz")
            .with_step_size(1.0),
            resonance: FloatParam::new(
                "Master resonance",
                0.707,
                FloatRange::Linear {
                    min: 0.5,
                    max: 10.0,
                },
            ),
            delay: BoolParam::new("Master delay", false),
            delay_ms: FloatParam::new(
                "Master delay time",
                375.0,
                FloatRange::Linear {
                    min: 1.0,
                    max: 2_000.0,
                },
            )
            .with_unit(" ms")
            .with_step_size(0.1),
            delay_feedback: FloatParam::new(
                "Master delay feedback",
                0.35,
                FloatRange::Linear {
                    min: 0.0,
                    max: 0.95,
                },
            ),
            delay_mix: FloatParam::new(
                "Master delay mix",
                0.5,
                FloatRange::Linear { min: 0.0, max: 1.0 },
            ),
        }
    }
}

impl MasterFxParams {
    /// The effect-chain changes these parameters describe, sanitized by the chain itself.
    pub fn controls(&self) -> [FxControl; 4] {
        [
            FxControl::FilterSettings {
                mode: match self.filter_type.value() {
                    FilterType::LowPass => FilterMode::LowPass,
                    FilterType::HighPass => FilterMode::HighPass,
                },
                cutoff_hz: self.cutoff_hz.value(),
                q: self.resonance.value(),
            },
            FxControl::SetFilter(self.filter.value()),
            FxControl::DelaySettings {
                time_secs: self.delay_ms.value() / 1000.0,
                feedback: self.delay_feedback.value(),
                mix: self.delay_mix.value(),
            },
            FxControl::SetDelay(self.delay.value()),
        ]
    }
}

/// One momentary switch per command: a command fires when its switch goes from off to on.
#[derive(Params)]
pub struct CommandParams {
    /// Record toggle.
    #[id = "cmd_record"]
    pub record: BoolParam,
    /// Capture the last cycles.
    #[id = "cmd_capture"]
    pub capture: BoolParam,
    /// Undo.
    #[id = "cmd_undo"]
    pub undo: BoolParam,
    /// Redo.
    #[id = "cmd_redo"]
    pub redo: BoolParam,
    /// Clear everything.
    #[id = "cmd_clear"]
    pub clear: BoolParam,
    /// Mute/unmute the mix at the cycle end (trigger).
    #[id = "cmd_mute_cycle_end"]
    pub mute_at_cycle_end: BoolParam,
    /// Mute/unmute the mix now.
    #[id = "cmd_mute_mix"]
    pub mute_mix: BoolParam,
    /// Record the next cycle with the PA muted (trigger).
    #[id = "cmd_record_next_cycle"]
    pub record_next_cycle: BoolParam,
    /// Restart the loops.
    #[id = "cmd_restart"]
    pub restart: BoolParam,
}

impl Default for CommandParams {
    fn default() -> Self {
        let switch = |name: &str| BoolParam::new(name, false);
        Self {
            record: switch("Record"),
            capture: switch("Capture"),
            undo: switch("Undo"),
            redo: switch("Redo"),
            clear: switch("Clear"),
            mute_at_cycle_end: switch("Mute at cycle end"),
            mute_mix: switch("Mute mix"),
            record_next_cycle: switch("Record next cycle"),
            restart: switch("Restart"),
        }
    }
}

impl CommandParams {
    /// Each switch's state with the command it sends.
    pub fn switches(&self) -> [(bool, Command); 9] {
        [
            (self.record.value(), Command::RecordToggle),
            (self.capture.value(), Command::Capture),
            (self.undo.value(), Command::Undo),
            (self.redo.value(), Command::Redo),
            (self.clear.value(), Command::Clear),
            (self.mute_at_cycle_end.value(), Command::MuteMixAtCycleEnd),
            (self.mute_mix.value(), Command::ToggleMixMute),
            (self.record_next_cycle.value(), Command::RecordNextCycle),
            (self.restart.value(), Command::Restart),
        ]
    }
}

/// How the anchor's record boundaries are quantized.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantize {
    /// Presses act where they are.
    #[id = "off"]
    Off,
    /// Start and stop snap to the strongest onset within 250 ms.
    #[id = "onset"]
    Onset,
    /// The anchor length is a whole number of beats of the detected tempo.
    #[id = "beat"]
    Beat,
    /// Both.
    #[id = "onset_beat"]
    #[name = "Onset + beat"]
    OnsetBeat,
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
            monitor_on: BoolParam::new("Monitor on", true),
            loop_gain: level_param("Loops"),
            master_gain: level_param("Master"),
            limiter_ceiling_db: FloatParam::new(
                "Limiter ceiling",
                -0.3,
                FloatRange::Linear {
                    min: -24.0,
                    max: 0.0,
                },
            )
            .with_unit(" dBFS")
            .with_step_size(0.1),
            pa_mute_while_recording: BoolParam::new("PA mute while recording", false),
            phones_monitor_gain: level_param("Headphone input"),
            phones_loop_gain: level_param("Headphone loops"),
            phones_gain: level_param("Headphones"),
            phones_delay_ms: FloatParam::new(
                "Headphone delay",
                0.0,
                FloatRange::Linear {
                    min: 0.0,
                    max: MAX_PHONES_DELAY_MS,
                },
            )
            .with_unit(" ms")
            .with_step_size(0.1),
            metronome: BoolParam::new("Metronome", false),
            metronome_gain: level_param("Metronome level"),
            beats_per_cycle: IntParam::new(
                "Beats per cycle",
                4,
                IntRange::Linear { min: 1, max: 16 },
            ),
            input_mode: EnumParam::new("Input", InputChannels::Stereo),
            master_fx: MasterFxParams::default(),
            commands: CommandParams::default(),
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
            quantize_mode: EnumParam::new("Quantize", Quantize::Onset),
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
        let level = |param: &FloatParam| finite(param.value(), 1.0).clamp(0.0, 2.0);
        EngineSettings {
            blend_ms: finite(self.blend_ms.value(), 50.0).clamp(1.0, 500.0),
            lenience_ms: finite(self.lenience_ms.value(), 200.0).clamp(0.0, 1000.0),
            monitor_gain: if self.monitor_on.value() {
                level(&self.monitor_gain)
            } else {
                0.0
            },
            loop_gain: level(&self.loop_gain),
            master_gain: level(&self.master_gain),
            limiter_ceiling: util::db_to_gain(
                finite(self.limiter_ceiling_db.value(), -0.3).clamp(-24.0, 0.0),
            ),
            pa_mute_while_recording: self.pa_mute_while_recording.value(),
            phones_monitor_gain: level(&self.phones_monitor_gain),
            phones_loop_gain: level(&self.phones_loop_gain),
            phones_gain: level(&self.phones_gain),
            phones_delay_ms: finite(self.phones_delay_ms.value(), 0.0)
                .clamp(0.0, MAX_PHONES_DELAY_MS),
            metronome_gain: if self.metronome.value() {
                level(&self.metronome_gain)
            } else {
                0.0
            },
            beats_per_cycle: self.beats_per_cycle.value().clamp(1, 16) as u32,
            input_mode: match self.input_mode.value() {
                InputChannels::Stereo => InputMode::Stereo,
                InputChannels::Left => InputMode::Left,
                InputChannels::Right => InputMode::Right,
                InputChannels::MonoSum => InputMode::MonoSum,
            },
            input_latency_samples: ms_to_samples(
                finite(self.input_latency_ms.value(), 0.0).clamp(0.0, 200.0),
                sample_rate_hz,
            ) as u32,
            capture_cycles: self.capture_cycles.value().count(),
            quantize_mode: match self.quantize_mode.value() {
                Quantize::Off => QuantizeMode::Off,
                Quantize::Onset => QuantizeMode::Onset,
                Quantize::Beat => QuantizeMode::Beat,
                Quantize::OnsetBeat => QuantizeMode::OnsetBeat,
            },
        }
    }
}
