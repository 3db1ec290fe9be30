//! The commands as momentary switches, for host automation, MIDI learn and control surfaces,
//! and the loop selection by number.

use std::sync::Arc;

use nice_plug::prelude::*;

use crate::engine::command::{Command, PadTarget, Select, TrackControl, selected, strike};
use crate::engine::dub::DubKind;
use crate::engine::oneshot::PADS;
use crate::param_overrides::ParamOverrides;

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
    /// Select the previous loop (wrapping around).
    #[id = "cmd_select_previous"]
    pub select_previous: BoolParam,
    /// Select the next loop (wrapping around).
    #[id = "cmd_select_next"]
    pub select_next: BoolParam,
    /// Select the newest loop.
    #[id = "cmd_select_newest"]
    pub select_newest: BoolParam,
    /// Mute/unmute the selected loop now.
    #[id = "cmd_mute_selected"]
    pub mute_selected: BoolParam,
    /// Mute/unmute the selected loop when it next wraps to its start (trigger).
    #[id = "cmd_mute_selected_at_loop_end"]
    pub mute_selected_at_loop_end: BoolParam,
    /// Solo/unsolo the selected loop.
    #[id = "cmd_solo_selected"]
    pub solo_selected: BoolParam,
    /// Restart the selected loop from its start.
    #[id = "cmd_restart_selected"]
    pub restart_selected: BoolParam,
    /// Reverse the selected loop (again: forward).
    #[id = "cmd_reverse_selected"]
    pub reverse_selected: BoolParam,
    /// Halve the selected loop's speed.
    #[id = "cmd_half_speed_selected"]
    pub half_speed_selected: BoolParam,
    /// Double the selected loop's speed.
    #[id = "cmd_double_speed_selected"]
    pub double_speed_selected: BoolParam,
    /// Take the selected loop out of the mix (undoable).
    #[id = "cmd_clear_selected"]
    pub clear_selected: BoolParam,
    /// Overdub the selected loop (again: punch out).
    #[id = "cmd_overdub"]
    pub overdub: BoolParam,
    /// Multiply the selected loop by whole cycles (again: stop at the next boundary).
    #[id = "cmd_multiply"]
    pub multiply: BoolParam,
    /// Replace a stretch of the selected loop (again: punch out).
    #[id = "cmd_replace"]
    pub replace: BoolParam,
    /// Selects loop n (1: the anchor) when it changes to n; 0 selects nothing. One parameter
    /// reaches every loop (a CC's value n selects loop n), where a switch per loop would stop
    /// at a fixed count.
    #[id = "select_loop"]
    pub select_loop: IntParam,
    /// Capture the last played phrase as a one-shot into the next free pad.
    #[id = "cmd_capture_one_shot"]
    pub capture_one_shot: BoolParam,
    /// Empty the pad captured last.
    #[id = "cmd_clear_last_one_shot"]
    pub clear_last_one_shot: BoolParam,
    /// Empty every pad.
    #[id = "cmd_clear_one_shots"]
    pub clear_one_shots: BoolParam,
    /// Strike pad n (at full level), ids `cmd_strike_pad_1` .. `cmd_strike_pad_8`.
    #[nested(array, group = "Pads")]
    pub strike_pads: [StrikePadParam; PADS],
}

/// The switch striking one pad.
#[derive(Params)]
pub struct StrikePadParam {
    /// Strike the pad.
    #[id = "cmd_strike_pad"]
    pub strike: BoolParam,
}

/// How many command switches there are.
pub const SWITCH_COUNT: usize = 34;

/// Highest loop number the `select_loop` parameter reaches (a CC's whole range, 0-127).
pub const MAX_SELECT_LOOP: i32 = 127;

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
            select_previous: switch("Select previous"),
            select_next: switch("Select next"),
            select_newest: switch("Select newest"),
            mute_selected: switch("Mute/unmute selected"),
            mute_selected_at_loop_end: switch("Mute selected at loop end"),
            solo_selected: switch("Solo/unsolo selected"),
            restart_selected: switch("Restart selected"),
            reverse_selected: switch("Reverse selected"),
            half_speed_selected: switch("Selected speed x1/2"),
            double_speed_selected: switch("Selected speed x2"),
            clear_selected: switch("Clear selected"),
            overdub: switch("Overdub"),
            multiply: switch("Multiply"),
            replace: switch("Replace"),
            select_loop: IntParam::new(
                "Select loop",
                0,
                IntRange::Linear {
                    min: 0,
                    max: MAX_SELECT_LOOP,
                },
            )
            .with_value_to_string(Arc::new(|n| match n {
                0 => NO_LOOP.to_owned(),
                n => n.to_string(),
            }))
            .with_string_to_value(Arc::new(select_loop_from_text)),
            capture_one_shot: switch("Capture one-shot"),
            clear_last_one_shot: switch("Clear last one-shot"),
            clear_one_shots: switch("Clear one-shots"),
            strike_pads: std::array::from_fn(|pad| StrikePadParam {
                strike: switch(&format!("Strike pad {}", pad + 1)),
            }),
        }
    }
}

impl CommandParams {
    /// Each switch's state (CC overrides included) with the command it sends.
    pub fn switches(&self, overrides: &ParamOverrides) -> [(bool, Command); SWITCH_COUNT] {
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
            (&self.select_previous, Command::Select(Select::Previous)),
            (&self.select_next, Command::Select(Select::Next)),
            (&self.select_newest, Command::Select(Select::Newest)),
            (&self.mute_selected, selected(TrackControl::ToggleMute)),
            (
                &self.mute_selected_at_loop_end,
                selected(TrackControl::ToggleMuteAtLoopEnd),
            ),
            (&self.solo_selected, selected(TrackControl::ToggleSolo)),
            (&self.restart_selected, selected(TrackControl::Restart)),
            (
                &self.reverse_selected,
                selected(TrackControl::ToggleReverse),
            ),
            (
                &self.half_speed_selected,
                selected(TrackControl::HalveSpeed),
            ),
            (
                &self.double_speed_selected,
                selected(TrackControl::DoubleSpeed),
            ),
            (&self.clear_selected, selected(TrackControl::Remove)),
            (&self.overdub, Command::Dub(DubKind::Overdub)),
            (&self.multiply, Command::Dub(DubKind::Multiply)),
            (&self.replace, Command::Dub(DubKind::Replace)),
            (
                &self.capture_one_shot,
                Command::CaptureOneShot(PadTarget::NextFree),
            ),
            (
                &self.clear_last_one_shot,
                Command::ClearOneShot(PadTarget::LastCaptured),
            ),
            (&self.clear_one_shots, Command::ClearOneShots),
            (&self.strike_pads[0].strike, strike(0)),
            (&self.strike_pads[1].strike, strike(1)),
            (&self.strike_pads[2].strike, strike(2)),
            (&self.strike_pads[3].strike, strike(3)),
            (&self.strike_pads[4].strike, strike(4)),
            (&self.strike_pads[5].strike, strike(5)),
            (&self.strike_pads[6].strike, strike(6)),
            (&self.strike_pads[7].strike, strike(7)),
        ]
        .map(|(switch, command)| (overrides.get(switch), command))
    }

    /// The command the `select_loop` value `n` (CC overrides included) sends when it changes to
    /// it: loop n, counting from 1; none for 0.
    pub fn select_loop(&self, overrides: &ParamOverrides) -> (i32, Option<Command>) {
        let n = overrides.get(&self.select_loop).clamp(0, MAX_SELECT_LOOP);
        let command = (n > 0).then(|| Command::Select(Select::Loop(n as u32 - 1)));
        (n, command)
    }
}

/// How the `select_loop` parameter shows 0 (no loop).
const NO_LOOP: &str = "None";

/// The `select_loop` value of a text a host shows or a player types: "None" (any case) or a
/// number from 0 to [`MAX_SELECT_LOOP`]; `None` for anything else.
fn select_loop_from_text(text: &str) -> Option<i32> {
    let text = text.trim();
    if text.eq_ignore_ascii_case(NO_LOOP) {
        return Some(0);
    }
    text.parse()
        .ok()
        .filter(|n| (0..=MAX_SELECT_LOOP).contains(n))
}
