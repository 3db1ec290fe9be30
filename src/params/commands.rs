//! The commands as momentary switches, for host automation, MIDI learn and control surfaces.

use nice_plug::prelude::*;

use crate::engine::command::Command;
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
