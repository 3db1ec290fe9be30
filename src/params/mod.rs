//! The host-visible parameters. Ids are a contract with saved projects: never change one.

mod choices;
mod commands;
mod master_fx;
mod selected_loop;
mod sync;
mod track_slots;

pub use choices::{CaptureCycles, InputChannels, Quantize};
pub use commands::{CommandParams, SWITCH_COUNT};
pub use master_fx::{FilterType, MasterFxParams};
pub use selected_loop::SelectedLoopParams;
pub use sync::{BarsChoice, SyncModeChoice, SyncParams, TransportStopChoice};
pub use track_slots::{TRACK_SLOTS, TrackSlotParams};

use std::sync::Arc;

use nice_plug::prelude::*;

use crate::editor::geometry::EditorGeometry;
use crate::engine::mix::MAX_PHONES_DELAY_MS;
use crate::engine::quantize::QuantizeMode;
use crate::engine::{EngineSettings, InputMode, MAX_INPUT_GAIN, ms_to_samples};
use crate::midi_link::SharedMidiMap;
use crate::param_overrides::ParamOverrides;
use crate::state::persist::PerformanceField;

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
    /// Every control of the selected loop (ids `selected_gain` .. `selected_delay_mix`).
    #[nested(group = "Selected loop")]
    pub selected: SelectedLoopParams,
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
    /// Overdub feedback in percent: what was in the loop is multiplied by it on each pass.
    #[id = "dub_feedback"]
    pub dub_feedback: FloatParam,
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
    /// Beats a one-shot capture takes when there is a beat grid: 0 = one bar.
    #[id = "one_shot_beats"]
    pub one_shot_beats: IntParam,
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

/// Highest input gain, in dB.
const MAX_INPUT_GAIN_DB: f32 = 12.0;

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
            selected: SelectedLoopParams::default(),
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
            dub_feedback: FloatParam::new(
                "Feedback",
                100.0,
                FloatRange::Linear {
                    min: 0.0,
                    max: 100.0,
                },
            )
            .with_unit(" %")
            .with_step_size(0.1),
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
                    0 => OMNI.to_owned(),
                    n => n.to_string(),
                }))
                .with_string_to_value(Arc::new(midi_channel_from_text)),
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
            one_shot_beats: IntParam::new(
                "One-shot beats",
                0,
                IntRange::Linear {
                    min: 0,
                    max: MAX_ONE_SHOT_BEATS,
                },
            )
            .with_value_to_string(Arc::new(|beats| match beats {
                0 => ONE_BAR.to_owned(),
                n => n.to_string(),
            }))
            .with_string_to_value(Arc::new(one_shot_beats_from_text)),
        }
    }
}

/// Most beats a one-shot capture can take.
const MAX_ONE_SHOT_BEATS: i32 = 32;

/// How the one-shot beats parameter shows its value 0 (one bar of the beat grid).
const ONE_BAR: &str = "Bar";

/// The one-shot beats value of a text: "Bar" (any case) or 0 for one bar, else 1 to
/// [`MAX_ONE_SHOT_BEATS`] beats; `None` for anything else.
fn one_shot_beats_from_text(text: &str) -> Option<i32> {
    let text = text.trim();
    if text.eq_ignore_ascii_case(ONE_BAR) {
        return Some(0);
    }
    text.parse()
        .ok()
        .filter(|beats| (0..=MAX_ONE_SHOT_BEATS).contains(beats))
}

/// How the MIDI channel parameter shows "any channel" (its value 0).
const OMNI: &str = "Omni";

/// The MIDI channel parameter's value for a text a host shows or a player types: "Omni" (any
/// case) or 0 for any channel, 1-16 for that channel; `None` for anything else.
fn midi_channel_from_text(text: &str) -> Option<i32> {
    let text = text.trim();
    if text.eq_ignore_ascii_case(OMNI) {
        return Some(0);
    }
    text.parse()
        .ok()
        .filter(|channel| (0..=16).contains(channel))
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
            dub_feedback: finite(v.get(&self.dub_feedback), 100.0).clamp(0.0, 100.0) / 100.0,
            one_shot_beats: v.get(&self.one_shot_beats).clamp(0, MAX_ONE_SHOT_BEATS) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_midi_channel_reads_what_it_shows_and_refuses_other_channels() {
        let channel = LoopmateParams::default().midi_channel;
        for (text, value) in [("Omni", 0), ("omni", 0), (" 0 ", 0), ("1", 1), ("16", 16)] {
            let normalized = channel.string_to_normalized_value(text);
            assert_eq!(
                normalized.map(|n| channel.preview_plain(n)),
                Some(value),
                "{text:?}"
            );
        }
        for text in ["17", "-1", "any", ""] {
            assert_eq!(channel.string_to_normalized_value(text), None, "{text:?}");
        }
    }

    #[test]
    fn every_automatable_parameter_is_mappable_by_its_stable_id() {
        let ids = mappable_param_ids();
        for id in [
            "input_gain",
            "loop_gain",
            "cmd_record",
            "track_gain_1",
            "track_solo_16",
            "cmd_select_next",
            "select_loop",
            "selected_gain",
            "selected_speed",
            "selected_delay_mix",
            "cmd_mute_selected",
            "cmd_mute_selected_at_loop_end",
            "cmd_solo_selected",
            "cmd_restart_selected",
            "cmd_reverse_selected",
            "cmd_half_speed_selected",
            "cmd_double_speed_selected",
            "cmd_clear_selected",
            "cmd_overdub",
            "cmd_multiply",
            "cmd_replace",
            "dub_feedback",
            "cmd_capture_one_shot",
            "cmd_clear_last_one_shot",
            "cmd_clear_one_shots",
            "cmd_strike_pad_1",
            "cmd_strike_pad_8",
            "one_shot_beats",
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
