//! What waits in the engine's schedule: the player's commands (delayed by the input latency)
//! and the engine's own timed actions. Plain data.

use super::command::{Command, PadTarget, TriggerAction};

/// What a repeating trigger waits for between firings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// The next anchor cycle boundary.
    Cycle,
    /// The next host bar.
    Bar,
    /// The next wrap of the loop the trigger's action is aimed at.
    LoopEnd,
}

/// What waits in the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// A command from MIDI, the editor or a parameter, delayed by the input latency.
    Command(Command),
    /// Start a take (a press snapped forward to a boundary).
    StartTake,
    /// Stop the take (snapped forward to a boundary, one cycle of a PA-muted take, or the length
    /// limit).
    StopTake,
    /// Capture ending at this boundary (it was ahead when pressed).
    Capture,
    /// A player's trigger; `remaining` firings left (`None`: forever), repeating every `every`.
    Trigger {
        action: TriggerAction,
        every: Interval,
        remaining: Option<u32>,
    },
    /// The jump of a restart, after its declick fade-out.
    RestartJump,
    /// Host sync: align the loops to the host's bars (fading them in after a jump's fade-out).
    HostAlign { fade_in: bool },
    /// Swap in the restored session waiting in `pending_install`, after a declick fade-out.
    InstallSession,
    /// Decide where a take pressed at `press` starts (onset quantization).
    QuantizeStart { press: u64 },
    /// Decide where a take whose stop was pressed at `press` ends (onset/beat quantization):
    /// first at a closing attack before the press (`late_press`), failing one over the whole
    /// window.
    QuantizeStop { press: u64, late_press: bool },
    /// Start the armed dub (a press snapped forward to a boundary).
    DubStart,
    /// A multiply's new length starts playing.
    DubSwitch,
    /// Decide where a dub pressed at `press` punches in (onset quantization).
    DubDecide { press: u64 },
    /// Decide which phrase a one-shot capture pressed at `press` takes (once the onsets up to
    /// the press are final) and start copying it into the pad `target` names.
    CaptureOneShot { target: PadTarget, press: u64 },
}
