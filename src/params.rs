//! The host-visible parameters. Ids are a contract with saved projects: never change one.

use std::sync::Arc;

use nice_plug::prelude::*;

use crate::editor::geometry::EditorGeometry;
use crate::engine::command::Command;
use crate::engine::fx::chain::FxControl;
use crate::engine::fx::filter::FilterMode;
use crate::engine::mix::MAX_PHONES_DELAY_MS;
use crate::engine::quantize::QuantizeMode;
use crate::engine::sync::{BarCount, SyncMode, SyncSettings, TransportStop};
use crate::engine::{EngineSettings, InputMode, MAX_INPUT_GAIN, MAX_TRACK_GAIN, ms_to_samples};
use crate::midi_link::SharedMidiMap;
use crate::param_overrides::ParamOverrides;
use crate::state::persist::PerformanceField;
use crate::track_bank::SlotValues;

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
    /// Input gain before the history (linear gain, shown in dB): recordings follow it.
    #[id = "input_gain"]
    pub input_gain: FloatParam,
    /// Gain, pan, mute and solo of the first [`TRACK_SLOTS`] tracks in the mix (ids
    /// `track_gain_1` .. `track_solo_16`).
    #[nested(array, group = "Track")]
    pub tracks: [TrackSlotParams; TRACK_SLOTS],
    /// The MIDI map, saved with the state as mapping-file text.
    #[persist = "midi_map"]
    pub midi_map: SharedMidiMap,
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
    /// Host sync.
    #[nested(group = "Host sync")]
    pub sync: SyncParams,
    /// The performance (tracks, audio, cycle position), saved with the host's project.
    #[persist = "performance"]
    pub performance: PerformanceField,
    /// The editor window's size and zoom (not a parameter; saved with the project).
    #[persist = "editor_geometry"]
    pub editor_geometry: EditorGeometry,
}

// ----- Host sync -----

/// Host-sync parameters (see `engine::sync`).
#[derive(Params)]
pub struct SyncParams {
    /// Free (the anchor defines the tempo) or host (loops follow the host transport's bars).
    #[id = "sync_mode"]
    pub mode: EnumParam<SyncModeChoice>,
    /// Bars of a host-synced anchor: auto (1, 2, 4, 8... by the recorded length) or fixed.
    #[id = "bars"]
    pub bars: EnumParam<BarsChoice>,
    /// What the loops do when the host transport stops (host mode).
    #[id = "transport_stop"]
    pub transport_stop: EnumParam<TransportStopChoice>,
}

/// Where the loops take their tempo from.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncModeChoice {
    /// The anchor loop defines the tempo.
    #[id = "free"]
    Free,
    /// Follow the host transport.
    #[id = "host"]
    Host,
}

/// Bars of a host-synced anchor.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarsChoice {
    /// By the recorded length, rounded to 1, 2, 4, 8... bars.
    #[id = "auto"]
    Auto,
    /// One bar.
    #[id = "1"]
    #[name = "1 bar"]
    One,
    /// Two bars.
    #[id = "2"]
    #[name = "2 bars"]
    Two,
    /// Four bars.
    #[id = "4"]
    #[name = "4 bars"]
    Four,
    /// Eight bars.
    #[id = "8"]
    #[name = "8 bars"]
    Eight,
    /// Sixteen bars.
    #[id = "16"]
    #[name = "16 bars"]
    Sixteen,
}

/// What the loops do when the transport stops.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportStopChoice {
    /// Loops run on (free) from where they are.
    #[id = "keep_running"]
    #[name = "Keep running"]
    KeepRunning,
    /// Loops fade out and resume aligned when the transport plays again.
    #[id = "stop_loops"]
    #[name = "Stop loops"]
    StopLoops,
}

impl Default for SyncParams {
    fn default() -> Self {
        Self {
            mode: EnumParam::new("Sync", SyncModeChoice::Free),
            bars: EnumParam::new("Bars", BarsChoice::Auto),
            transport_stop: EnumParam::new("Transport stop", TransportStopChoice::KeepRunning),
        }
    }
}

impl SyncParams {
    /// The engine's host-sync settings (a mapped CC's value wins over the host's).
    pub fn settings(&self, v: &ParamOverrides) -> SyncSettings {
        SyncSettings {
            mode: match v.get(&self.mode) {
                SyncModeChoice::Free => SyncMode::Free,
                SyncModeChoice::Host => SyncMode::Host,
            },
            bars: match v.get(&self.bars) {
                BarsChoice::Auto => BarCount::Auto,
                BarsChoice::One => BarCount::Fixed(1),
                BarsChoice::Two => BarCount::Fixed(2),
                BarsChoice::Four => BarCount::Fixed(4),
                BarsChoice::Eight => BarCount::Fixed(8),
                BarsChoice::Sixteen => BarCount::Fixed(16),
            },
            on_stop: match v.get(&self.transport_stop) {
                TransportStopChoice::KeepRunning => TransportStop::KeepRunning,
                TransportStopChoice::StopLoops => TransportStop::StopLoops,
            },
        }
    }
}

// ----- end of host sync -----

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
    /// The effect-chain changes these parameters (with CC overrides `v`) describe, sanitized by the chain itself.
    pub fn controls(&self, v: &ParamOverrides) -> [FxControl; 4] {
        [
            FxControl::FilterSettings {
                mode: match v.get(&self.filter_type) {
                    FilterType::LowPass => FilterMode::LowPass,
                    FilterType::HighPass => FilterMode::HighPass,
                },
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
    /// Each switch's state (CC overrides included) with the command it sends.
    pub fn switches(&self, overrides: &ParamOverrides) -> [(bool, Command); 9] {
        [
            (&self.record, Command::RecordToggle),
            (&self.capture, Command::Capture),
            (&self.undo, Command::Undo),
            (&self.redo, Command::Redo),
            (&self.clear, Command::Clear),
            (&self.mute_at_cycle_end, Command::MuteMixAtCycleEnd),
            (&self.mute_mix, Command::ToggleMixMute),
            (&self.record_next_cycle, Command::RecordNextCycle),
            (&self.restart, Command::Restart),
        ]
        .map(|(switch, command)| (overrides.get(switch), command))
    }
}

/// The ids of the parameters a MIDI binding can target: every automatable parameter, in
/// declaration order (a binding's `Target::Param` index points into this list).
pub fn mappable_param_ids() -> &'static [String] {
    static IDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    IDS.get_or_init(|| {
        LoopmateParams::default()
            .mappable_params()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    })
}

impl LoopmateParams {
    /// The parameters a MIDI binding can target with their ids, in the order of
    /// [`mappable_param_ids`]. Not realtime-safe (allocates).
    pub fn mappable_params(&self) -> Vec<(String, ParamPtr)> {
        self.param_map()
            .into_iter()
            // SAFETY: the pointers point into `self`, alive during this call.
            .filter(|(_, ptr, _)| !unsafe { ptr.flags() }.contains(ParamFlags::NON_AUTOMATABLE))
            .map(|(id, ptr, _)| (id, ptr))
            .collect()
    }
}

/// Track slots the host sees as parameters: slot n addresses the n-th track in the mix.
pub const TRACK_SLOTS: usize = 16;
/// Highest input gain, in dB.
const MAX_INPUT_GAIN_DB: f32 = 12.0;
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
    fn new(number: usize) -> Self {
        Self {
            gain: gain_param(&format!("Track {number} gain"), MAX_TRACK_GAIN_DB),
            pan: FloatParam::new(
                format!("Track {number} pan"),
                0.0,
                FloatRange::Linear {
                    min: -1.0,
                    max: 1.0,
                },
            )
            .with_step_size(0.01)
            .with_value_to_string(formatters::v2s_f32_panning())
            .with_string_to_value(formatters::s2v_f32_panning()),
            mute: BoolParam::new(format!("Track {number} mute"), false),
            solo: BoolParam::new(format!("Track {number} solo"), false),
        }
    }

    /// The slot's values as the plugin uses them (CC overrides included), sanitized.
    pub fn values(&self, overrides: &ParamOverrides) -> SlotValues {
        let finite = |value: f32, fallback: f32| if value.is_finite() { value } else { fallback };
        SlotValues {
            gain: finite(overrides.get(&self.gain), 1.0).clamp(0.0, MAX_TRACK_GAIN),
            pan: finite(overrides.get(&self.pan), 0.0).clamp(-1.0, 1.0),
            mute: overrides.get(&self.mute),
            solo: overrides.get(&self.solo),
        }
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
    gain_param(name, 6.0)
}

/// A gain from silence to `max_db`, default 0 dB, shown in dB.
fn gain_param(name: &str, max_db: f32) -> FloatParam {
    FloatParam::new(
        name,
        1.0,
        FloatRange::Skewed {
            min: 0.0,
            max: util::db_to_gain(max_db),
            factor: FloatRange::gain_skew_factor(-60.0, max_db),
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
            input_gain: gain_param("Input gain", MAX_INPUT_GAIN_DB),
            tracks: std::array::from_fn(|slot| TrackSlotParams::new(slot + 1)),
            midi_map: SharedMidiMap::default(),
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
            sync: SyncParams::default(),
            performance: PerformanceField::default(),
            editor_geometry: EditorGeometry::default(),
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

    /// The engine settings these parameters (with CC overrides `v`) describe at `sample_rate_hz`,
    /// sanitized.
    pub fn engine_settings(&self, sample_rate_hz: f32, v: &ParamOverrides) -> EngineSettings {
        let finite = |value: f32, fallback: f32| if value.is_finite() { value } else { fallback };
        let level = |param: &FloatParam| finite(v.get(param), 1.0).clamp(0.0, 2.0);
        EngineSettings {
            blend_ms: finite(v.get(&self.blend_ms), 50.0).clamp(1.0, 500.0),
            lenience_ms: finite(v.get(&self.lenience_ms), 200.0).clamp(0.0, 1000.0),
            monitor_gain: if v.get(&self.monitor_on) {
                level(&self.monitor_gain)
            } else {
                0.0
            },
            loop_gain: level(&self.loop_gain),
            master_gain: level(&self.master_gain),
            limiter_ceiling: util::db_to_gain(
                finite(v.get(&self.limiter_ceiling_db), -0.3).clamp(-24.0, 0.0),
            ),
            pa_mute_while_recording: v.get(&self.pa_mute_while_recording),
            phones_monitor_gain: level(&self.phones_monitor_gain),
            phones_loop_gain: level(&self.phones_loop_gain),
            phones_gain: level(&self.phones_gain),
            phones_delay_ms: finite(v.get(&self.phones_delay_ms), 0.0)
                .clamp(0.0, MAX_PHONES_DELAY_MS),
            metronome_gain: if v.get(&self.metronome) {
                level(&self.metronome_gain)
            } else {
                0.0
            },
            beats_per_cycle: v.get(&self.beats_per_cycle).clamp(1, 16) as u32,
            input_mode: match v.get(&self.input_mode) {
                InputChannels::Stereo => InputMode::Stereo,
                InputChannels::Left => InputMode::Left,
                InputChannels::Right => InputMode::Right,
                InputChannels::MonoSum => InputMode::MonoSum,
            },
            input_latency_samples: ms_to_samples(
                finite(v.get(&self.input_latency_ms), 0.0).clamp(0.0, 200.0),
                sample_rate_hz,
            ) as u32,
            capture_cycles: v.get(&self.capture_cycles).count(),
            input_gain: finite(v.get(&self.input_gain), 1.0).clamp(0.0, MAX_INPUT_GAIN),
            sync: self.sync.settings(v),
            quantize_mode: match v.get(&self.quantize_mode) {
                Quantize::Off => QuantizeMode::Off,
                Quantize::Onset => QuantizeMode::Onset,
                Quantize::Beat => QuantizeMode::Beat,
                Quantize::OnsetBeat => QuantizeMode::OnsetBeat,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_automatable_parameter_is_mappable_by_its_stable_id() {
        let ids = mappable_param_ids();
        for id in [
            "input_gain",
            "loop_gain",
            "cmd_record",
            "track_gain_1",
            "track_solo_16",
        ] {
            assert!(ids.iter().any(|known| known == id), "{id}");
        }
        assert!(
            !ids.iter().any(|id| id == "history_secs"),
            "not automatable"
        );
        assert_eq!(
            ids.iter().filter(|id| id.starts_with("track_")).count(),
            4 * TRACK_SLOTS
        );
    }
}
