//! The one command type that MIDI, editor buttons, parameters and triggers all send to the
//! engine, and the spec's default MIDI notes.

use super::dub::DubKind;
use super::fx::chain::FxControl;
pub use super::oneshot::PadTarget;
use super::speed::Speed;

/// Something a player asks the looper to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Start or stop a take (the first take makes the anchor).
    RecordToggle,
    /// Turn the last cycles of the history into a new track.
    Capture,
    /// Undo the last edit (a loop joining, a loop's control change, a removal, a clear), or
    /// cancel the take being recorded.
    Undo,
    /// Re-apply the last undone edit.
    Redo,
    /// Remove every track (undoable); with none playing, forget the undo history (freeing the
    /// loops it kept).
    Clear,
    /// Toggle the loop mix's mute at the next cycle boundary (a trigger; again cancels).
    MuteMixAtCycleEnd,
    /// Toggle the loop mix's mute now, with a fade.
    ToggleMixMute,
    /// Record exactly the next cycle with the PA muted (a trigger; again cancels).
    RecordNextCycle,
    /// Restart every loop from the cycle start, with a fade-in.
    Restart,
    /// The selected loop's gain x1.2, ramped (the original map's "last track" command: a new
    /// loop selects itself).
    LastTrackGainUp,
    /// The selected loop's gain x0.8, ramped.
    LastTrackGainDown,
    /// Toggle a delay effect on the selected loop.
    ToggleLastTrackDelay,
    /// Reset the selected loop's gain and effects.
    ResetLastTrack,
    /// Choose the selected loop (what the per-loop commands act on).
    Select(Select),
    /// Change one track's controls.
    Track(TrackTarget, TrackControl),
    /// Schedule (or, if the same one is pending, cancel) a trigger.
    Trigger(TriggerSpec),
    /// Start a dub of the selected loop (overdub, replace, multiply), quantized to the cycle;
    /// again (any kind) sets its punch-out, before it starts cancels it.
    Dub(DubKind),
    /// Capture the last played phrase from the history into a pad, as a one-shot (see
    /// `oneshot.rs` for which phrase).
    CaptureOneShot(PadTarget),
    /// Play pad `pad`'s (0-7) one-shot once from its attack, at `velocity / 127` (a note's
    /// velocity; 127 from switches and buttons; 0 does nothing).
    StrikeOneShot { pad: u8, velocity: u8 },
    /// Empty a pad (its voices fade out).
    ClearOneShot(PadTarget),
    /// Empty every pad. The main Clear leaves the pads alone: they are a kit, not loops.
    ClearOneShots,
}

/// Which loop a select command chooses. Next and previous wrap around (after the newest comes
/// the anchor), so a single foot switch reaches every loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// The loop after the selected one in the mix (the anchor after the newest).
    Next,
    /// The loop before the selected one in the mix (the newest before the anchor).
    Previous,
    /// The newest loop in the mix.
    Newest,
    /// The n-th loop in the mix, counting from 0 (the anchor); nothing changes when there is none.
    Loop(u32),
}

/// Which track a track command addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackTarget {
    /// The newest track in the mix.
    Last,
    /// The selected loop (see [`Select`]).
    Selected,
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
    /// Mute toggled when the loop next wraps to its start (its own cycle's end, whatever its
    /// length): a trigger; sending it again before then cancels it.
    ToggleMuteAtLoopEnd,
    /// Solo on or off.
    SetSolo(bool),
    /// Solo toggled.
    ToggleSolo,
    /// Reverse playback toggled.
    ToggleReverse,
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
    /// Play the loop from its start now (crossfaded from where it was over the declick fade).
    Restart,
    /// Take the track out of the mix (faded out; kept while undo can bring it back).
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
    /// Toggle the mute of the loop with this id (ramped), if it is still in the mix.
    ToggleLoopMute { track_id: u64 },
}

impl TriggerAction {
    /// The id of the loop this trigger is aimed at, for the actions aimed at one loop.
    pub fn track_id(self) -> Option<u64> {
        match self {
            TriggerAction::ToggleLoopMute { track_id } => Some(track_id),
            _ => None,
        }
    }
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
    /// The next time the loop the action is aimed at wraps to its start (for actions aimed at
    /// one loop).
    LoopEnd,
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
    /// Every command, in the order the editor lists them (the selected loop's actions last, in
    /// its panel: see [`Command::acts_on_the_selected_loop`]).
    pub const ALL: [Command; 46] = [
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
        Command::Select(Select::Previous),
        Command::Select(Select::Next),
        Command::Select(Select::Newest),
        Command::Select(Select::Loop(0)),
        Command::Select(Select::Loop(1)),
        Command::Select(Select::Loop(2)),
        Command::Select(Select::Loop(3)),
        Command::Select(Select::Loop(4)),
        Command::Select(Select::Loop(5)),
        Command::Select(Select::Loop(6)),
        Command::Select(Select::Loop(7)),
        selected(TrackControl::ToggleMute),
        selected(TrackControl::ToggleMuteAtLoopEnd),
        selected(TrackControl::ToggleSolo),
        selected(TrackControl::Restart),
        selected(TrackControl::ToggleReverse),
        selected(TrackControl::HalveSpeed),
        selected(TrackControl::DoubleSpeed),
        selected(TrackControl::Remove),
        Command::Dub(DubKind::Overdub),
        Command::Dub(DubKind::Multiply),
        Command::Dub(DubKind::Replace),
        Command::CaptureOneShot(PadTarget::NextFree),
        Command::ClearOneShot(PadTarget::LastCaptured),
        Command::ClearOneShots,
        strike(0),
        strike(1),
        strike(2),
        strike(3),
        strike(4),
        strike(5),
        strike(6),
        strike(7),
    ];

    /// Whether this is one of the commands a set is played with (the editor's main buttons):
    /// record, capture, undo, redo, restart, the mix mutes.
    pub fn is_main(self) -> bool {
        matches!(
            self,
            Command::RecordToggle
                | Command::Capture
                | Command::RecordNextCycle
                | Command::Undo
                | Command::Redo
                | Command::Restart
                | Command::ToggleMixMute
                | Command::MuteMixAtCycleEnd
        )
    }

    /// Whether this is a one-shot command (the editor shows them with the pads).
    pub fn acts_on_the_pads(self) -> bool {
        matches!(
            self,
            Command::CaptureOneShot(_)
                | Command::StrikeOneShot { .. }
                | Command::ClearOneShot(_)
                | Command::ClearOneShots
        )
    }

    /// This command with a note's `velocity`: a strike takes it, anything else ignores it.
    pub fn with_velocity(self, velocity: u8) -> Self {
        match self {
            Command::StrikeOneShot { pad, .. } => Command::StrikeOneShot { pad, velocity },
            command => command,
        }
    }

    /// Whether this is one of the selected loop's actions the editor shows in the
    /// selected-loop panel (a control sent to [`TrackTarget::Selected`], or a dub).
    pub fn acts_on_the_selected_loop(self) -> bool {
        matches!(
            self,
            Command::Track(TrackTarget::Selected, _) | Command::Dub(_)
        )
    }

    /// Select-loop commands with a place in the map and the editor (loops 1 to 8); further
    /// loops are reached by next and previous or by the `select_loop` parameter.
    pub const SELECTABLE_BY_NUMBER: u32 = 8;

    /// A short label for buttons and logs.
    pub fn label(self) -> &'static str {
        const SELECT_LOOP: [&str; Command::SELECTABLE_BY_NUMBER as usize] = [
            "Select 1", "Select 2", "Select 3", "Select 4", "Select 5", "Select 6", "Select 7",
            "Select 8",
        ];
        const STRIKE_PAD: [&str; super::oneshot::PADS] = [
            "Pad 1", "Pad 2", "Pad 3", "Pad 4", "Pad 5", "Pad 6", "Pad 7", "Pad 8",
        ];
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
            Command::LastTrackGainUp => "Selected gain up",
            Command::LastTrackGainDown => "Selected gain down",
            Command::ToggleLastTrackDelay => "Selected delay",
            Command::ResetLastTrack => "Reset selected",
            Command::Select(Select::Next) => "Select next",
            Command::Select(Select::Previous) => "Select previous",
            Command::Select(Select::Newest) => "Select newest",
            Command::Select(Select::Loop(n)) => SELECT_LOOP.get(n as usize).unwrap_or(&"Select"),
            Command::Track(TrackTarget::Selected, control) => match control {
                TrackControl::ToggleMute => "Mute/unmute selected",
                TrackControl::ToggleMuteAtLoopEnd => "Mute selected at loop end",
                TrackControl::ToggleSolo => "Solo/unsolo selected",
                TrackControl::Restart => "Restart selected",
                TrackControl::ToggleReverse => "Reverse selected",
                TrackControl::HalveSpeed => "Selected speed x1/2",
                TrackControl::DoubleSpeed => "Selected speed x2",
                TrackControl::Remove => "Clear selected",
                _ => "Selected loop",
            },
            Command::Track(..) => "Track",
            Command::Trigger(..) => "Trigger",
            Command::Dub(DubKind::Overdub) => "Overdub",
            Command::Dub(DubKind::Replace) => "Replace",
            Command::Dub(DubKind::Multiply) => "Multiply",
            Command::CaptureOneShot(_) => "Capture one-shot",
            Command::StrikeOneShot { pad, .. } => STRIKE_PAD.get(pad as usize).unwrap_or(&"Pad"),
            Command::ClearOneShot(PadTarget::LastCaptured) => "Clear last one-shot",
            Command::ClearOneShot(_) => "Clear one-shot",
            Command::ClearOneShots => "Clear one-shots",
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

/// The spec's default note map (velocity ignored, any channel), with the additions since.
pub const DEFAULT_NOTE_MAP: [(u8, Command); 46] = [
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
    (58, Command::Select(Select::Previous)),
    (59, Command::Select(Select::Next)),
    (56, Command::Select(Select::Newest)),
    (60, Command::Select(Select::Loop(0))),
    (61, Command::Select(Select::Loop(1))),
    (62, Command::Select(Select::Loop(2))),
    (63, Command::Select(Select::Loop(3))),
    (64, Command::Select(Select::Loop(4))),
    (65, Command::Select(Select::Loop(5))),
    (66, Command::Select(Select::Loop(6))),
    (67, Command::Select(Select::Loop(7))),
    (68, selected(TrackControl::ToggleMute)),
    (69, selected(TrackControl::ToggleMuteAtLoopEnd)),
    (70, selected(TrackControl::ToggleSolo)),
    (71, selected(TrackControl::Restart)),
    (72, selected(TrackControl::ToggleReverse)),
    (73, selected(TrackControl::HalveSpeed)),
    (74, selected(TrackControl::DoubleSpeed)),
    (75, selected(TrackControl::Remove)),
    (76, Command::Dub(DubKind::Overdub)),
    (77, Command::Dub(DubKind::Multiply)),
    (78, Command::Dub(DubKind::Replace)),
    (36, strike(0)),
    (37, strike(1)),
    (38, strike(2)),
    (39, strike(3)),
    (40, strike(4)),
    (41, strike(5)),
    (42, strike(6)),
    (43, strike(7)),
    (44, Command::CaptureOneShot(PadTarget::NextFree)),
    (45, Command::ClearOneShot(PadTarget::LastCaptured)),
    (46, Command::ClearOneShots),
];

/// A strike of pad `pad` (0-7) at full velocity (a note's velocity replaces it).
pub const fn strike(pad: u8) -> Command {
    Command::StrikeOneShot { pad, velocity: 127 }
}

/// `control` sent to the selected loop.
pub const fn selected(control: TrackControl) -> Command {
    Command::Track(TrackTarget::Selected, control)
}

/// The default CC switches (any channel): a small foot controller of switches sending 127 when
/// pressed and 0 when released reaches these (a command fires when its CC crosses 64 upwards).
pub const DEFAULT_CC_MAP: [(u8, Command); 10] = [
    (80, Command::Select(Select::Next)),
    (81, Command::Select(Select::Previous)),
    (82, Command::Select(Select::Newest)),
    (83, selected(TrackControl::ToggleMuteAtLoopEnd)),
    (84, selected(TrackControl::Restart)),
    (86, Command::Dub(DubKind::Overdub)),
    (87, Command::Dub(DubKind::Multiply)),
    (88, Command::Dub(DubKind::Replace)),
    (85, Command::CaptureOneShot(PadTarget::NextFree)),
    (89, Command::ClearOneShot(PadTarget::LastCaptured)),
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
        assert_eq!(command_for_note(59), Some(Command::Select(Select::Next)));
        assert_eq!(
            command_for_note(58),
            Some(Command::Select(Select::Previous))
        );
        assert_eq!(command_for_note(56), Some(Command::Select(Select::Newest)));
        assert_eq!(command_for_note(60), Some(Command::Select(Select::Loop(0))));
        assert_eq!(command_for_note(67), Some(Command::Select(Select::Loop(7))));
        let selected = |control| Some(Command::Track(TrackTarget::Selected, control));
        assert_eq!(command_for_note(68), selected(TrackControl::ToggleMute));
        assert_eq!(
            command_for_note(69),
            selected(TrackControl::ToggleMuteAtLoopEnd)
        );
        assert_eq!(command_for_note(70), selected(TrackControl::ToggleSolo));
        assert_eq!(command_for_note(71), selected(TrackControl::Restart));
        assert_eq!(command_for_note(72), selected(TrackControl::ToggleReverse));
        assert_eq!(command_for_note(73), selected(TrackControl::HalveSpeed));
        assert_eq!(command_for_note(74), selected(TrackControl::DoubleSpeed));
        assert_eq!(command_for_note(75), selected(TrackControl::Remove));
        assert_eq!(command_for_note(79), None);
        let command_for_cc = |cc| match map.lookup(0, crate::midi_map::Control::Cc(cc), true) {
            Some(crate::midi_map::Target::Command(command)) => Some(command),
            _ => None,
        };
        assert_eq!(command_for_cc(80), Some(Command::Select(Select::Next)));
        assert_eq!(command_for_cc(81), Some(Command::Select(Select::Previous)));
        assert_eq!(command_for_cc(82), Some(Command::Select(Select::Newest)));
        assert_eq!(
            command_for_cc(83),
            selected(TrackControl::ToggleMuteAtLoopEnd)
        );
        assert_eq!(command_for_cc(84), selected(TrackControl::Restart));
        assert_eq!(command_for_cc(86), Some(Command::Dub(DubKind::Overdub)));
        assert_eq!(command_for_note(76), Some(Command::Dub(DubKind::Overdub)));
        assert_eq!(command_for_note(77), Some(Command::Dub(DubKind::Multiply)));
        assert_eq!(command_for_note(78), Some(Command::Dub(DubKind::Replace)));
        assert_eq!(
            command_for_cc(85),
            Some(Command::CaptureOneShot(PadTarget::NextFree))
        );
        assert_eq!(
            command_for_cc(89),
            Some(Command::ClearOneShot(PadTarget::LastCaptured))
        );
        assert_eq!(command_for_cc(87), Some(Command::Dub(DubKind::Multiply)));
        assert_eq!(command_for_cc(90), None);
        for pad in 0..8 {
            assert_eq!(command_for_note(36 + pad), Some(strike(pad)));
        }
        assert_eq!(
            command_for_note(44),
            Some(Command::CaptureOneShot(PadTarget::NextFree))
        );
        assert_eq!(
            command_for_note(45),
            Some(Command::ClearOneShot(PadTarget::LastCaptured))
        );
        assert_eq!(command_for_note(46), Some(Command::ClearOneShots));
        for command in Command::ALL {
            let target = crate::midi_map::Target::Command(command);
            assert!(
                map.bindings_of(target).next().is_some(),
                "{command:?} has no note"
            );
        }
    }
}
