//! The one command type that MIDI, editor buttons, parameters and triggers all send to the
//! engine, and the spec's default MIDI notes.

use super::fx::chain::FxControl;
use super::speed::Speed;

/// Something a player asks the looper to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Start or stop a take (the first take makes the anchor).
    RecordToggle,
    /// Turn the last cycles of the history into a new track.
    Capture,
    /// Remove the last track (or cancel the take being recorded).
    Undo,
    /// Bring back the last undone track.
    Redo,
    /// Remove every track.
    Clear,
    /// Toggle the loop mix's mute at the next cycle boundary (a trigger; again cancels).
    MuteMixAtCycleEnd,
    /// Toggle the loop mix's mute now, with a fade.
    ToggleMixMute,
    /// Record exactly the next cycle with the PA muted (a trigger; again cancels).
    RecordNextCycle,
    /// Restart every loop from the cycle start, with a fade-in.
    Restart,
    /// Last track's gain x1.2, ramped.
    LastTrackGainUp,
    /// Last track's gain x0.8, ramped.
    LastTrackGainDown,
    /// Toggle a delay effect on the last track.
    ToggleLastTrackDelay,
    /// Reset the last track's gain and effects.
    ResetLastTrack,
    /// Change one track's controls.
    Track(TrackTarget, TrackControl),
    /// Schedule (or, if the same one is pending, cancel) a trigger.
    Trigger(TriggerSpec),
}

/// Which track a track command addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackTarget {
    /// The newest track in the mix.
    Last,
    /// The n-th track in the mix, counting from 0 (the anchor).
    Index(u32),
}

/// A change to one track's controls; every change is ramped over the blend length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrackControl {
    /// Gain to this linear value.
    SetGain(f32),
    /// Gain multiplied by this factor.
    ScaleGain(f32),
    /// Pan to this position (-1 left ..= 1 right).
    SetPan(f32),
    /// Mute on or off.
    SetMute(bool),
    /// Mute toggled.
    ToggleMute,
    /// Solo on or off.
    SetSolo(bool),
    /// Solo toggled.
    ToggleSolo,
    /// An effect change (filter, drive, delay, reverse).
    Fx(FxControl),
    /// Playback speed to this (varispeed: pitch follows), crossfaded.
    SetSpeed(Speed),
    /// Playback speed halved (down to 1/4), crossfaded.
    HalveSpeed,
    /// Playback speed doubled (up to 4), crossfaded.
    DoubleSpeed,
    /// Gain, pan, mute, solo, speed and every effect back to their defaults.
    Reset,
    /// Take the track out of the mix (faded out, then freed; not kept for redo).
    Remove,
}

/// What a trigger does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerAction {
    /// Toggle the loop mix mute (with a fade).
    ToggleMixMute,
    /// Record exactly one cycle from the firing time, with the PA muted meanwhile.
    RecordCycleWithPaMuted,
    /// Restart the loops from the cycle start.
    Restart,
    /// Start or stop a take.
    RecordToggle,
    /// Capture the last cycles from the history.
    Capture,
}

/// When a trigger fires first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerTime {
    /// The next anchor cycle boundary.
    NextCycle,
    /// The next bar of the host's transport.
    NextBar,
    /// An absolute sample time (samples since activation).
    AtSample(u64),
}

/// How often a trigger fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Once.
    Once,
    /// This many times (at least once), each at the next boundary of its kind.
    Times(u32),
    /// At every boundary of its kind until cancelled.
    Forever,
}

/// A trigger: an action at a time, possibly repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerSpec {
    /// What it does.
    pub action: TriggerAction,
    /// When it first fires.
    pub time: TriggerTime,
    /// How often.
    pub repeat: Repeat,
}

impl Command {
    /// Every command, in the order the editor lists them.
    pub const ALL: [Command; 13] = [
        Command::RecordToggle,
        Command::Capture,
        Command::Undo,
        Command::Redo,
        Command::Clear,
        Command::MuteMixAtCycleEnd,
        Command::ToggleMixMute,
        Command::RecordNextCycle,
        Command::Restart,
        Command::LastTrackGainUp,
        Command::LastTrackGainDown,
        Command::ToggleLastTrackDelay,
        Command::ResetLastTrack,
    ];

    /// A short label for buttons and logs.
    pub fn label(self) -> &'static str {
        match self {
            Command::RecordToggle => "Record",
            Command::Capture => "Capture",
            Command::Undo => "Undo",
            Command::Redo => "Redo",
            Command::Clear => "Clear",
            Command::MuteMixAtCycleEnd => "Mute at cycle end",
            Command::ToggleMixMute => "Mute mix",
            Command::RecordNextCycle => "Record next cycle",
            Command::Restart => "Restart",
            Command::LastTrackGainUp => "Gain up",
            Command::LastTrackGainDown => "Gain down",
            Command::ToggleLastTrackDelay => "Delay",
            Command::ResetLastTrack => "Reset track",
            Command::Track(..) => "Track",
            Command::Trigger(..) => "Trigger",
        }
    }
}

/// A command acting at a sample offset inside the current block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedCommand {
    /// Offset in samples from the start of the block.
    pub offset_samples: u32,
    /// The command.
    pub command: Command,
}

/// The spec's default note map (velocity ignored, any channel).
pub const DEFAULT_NOTE_MAP: [(u8, Command); 13] = [
    (47, Command::RecordToggle),
    (48, Command::Capture),
    (27, Command::Undo),
    (30, Command::MuteMixAtCycleEnd),
    (35, Command::ToggleMixMute),
    (57, Command::RecordNextCycle),
    (25, Command::Restart),
    (50, Command::LastTrackGainUp),
    (52, Command::LastTrackGainDown),
    (53, Command::ToggleLastTrackDelay),
    (55, Command::ResetLastTrack),
    (28, Command::Redo),
    (26, Command::Clear),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_map_is_the_specs() {
        let map = crate::midi_map::MidiMap::default();
        let command_for_note =
            |note| match map.lookup(0, crate::midi_map::Control::Note(note), true) {
                Some(crate::midi_map::Target::Command(command)) => Some(command),
                _ => None,
            };
        assert_eq!(command_for_note(47), Some(Command::RecordToggle));
        assert_eq!(command_for_note(48), Some(Command::Capture));
        assert_eq!(command_for_note(27), Some(Command::Undo));
        assert_eq!(command_for_note(30), Some(Command::MuteMixAtCycleEnd));
        assert_eq!(command_for_note(35), Some(Command::ToggleMixMute));
        assert_eq!(command_for_note(57), Some(Command::RecordNextCycle));
        assert_eq!(command_for_note(25), Some(Command::Restart));
        assert_eq!(command_for_note(50), Some(Command::LastTrackGainUp));
        assert_eq!(command_for_note(52), Some(Command::LastTrackGainDown));
        assert_eq!(command_for_note(53), Some(Command::ToggleLastTrackDelay));
        assert_eq!(command_for_note(55), Some(Command::ResetLastTrack));
        assert_eq!(command_for_note(28), Some(Command::Redo));
        assert_eq!(command_for_note(26), Some(Command::Clear));
        assert_eq!(command_for_note(60), None);
        for command in Command::ALL {
            let target = crate::midi_map::Target::Command(command);
            assert!(
                map.bindings_of(target).next().is_some(),
                "{command:?} has no note"
            );
        }
    }
}
