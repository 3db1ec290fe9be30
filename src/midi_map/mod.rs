//! The MIDI map: which note or CC, on which channel (or omni), sends which command or sets which
//! parameter. Framework-free: plain MIDI messages in, commands and parameter values out.
//!
//! - A note-on triggers its command (velocity ignored, but a pad strike's level follows it); on a
//!   parameter it toggles it (off if at or above half, else on: mute, solo, switches).
//! - A CC mapped to a command triggers it when its value crosses the threshold upwards (>= 64
//!   after < 64), so a foot switch sending 127/0 presses once. A CC mapped to a parameter sets it:
//!   0..=127 maps to the whole range.
//! - A binding on a channel (1-16) wins over an omni binding of the same note or CC. Omni
//!   bindings listen on the channel the *MIDI channel* parameter picks (any, if omni).
//!
//! The tables are fixed-size, so a lookup on the audio thread is two array reads; the map itself
//! is built and replaced off the audio thread (see [`crate::midi_link`]).

pub mod file;
pub mod learn;

use crate::engine::command::{Command, DEFAULT_CC_MAP, DEFAULT_NOTE_MAP};

/// MIDI channels.
pub const CHANNELS: usize = 16;
/// Index of the omni row in the tables.
const OMNI_ROW: usize = CHANNELS;
/// Threshold a CC mapped to a command must reach (from below) to trigger.
pub const CC_THRESHOLD: u8 = 64;

/// Where a MIDI message goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// A player command (one of [`Command::ALL`]).
    Command(Command),
    /// A parameter, by its index in the list of mappable parameter ids the map was built with
    /// (the plugin's automatable parameters, in their declaration order).
    Param(u16),
}

/// The kind of MIDI message a binding listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Control {
    /// A note-on of this note (0-127).
    Note(u8),
    /// A control change of this controller (0-127).
    Cc(u8),
}

/// A note or CC on a channel (0-15) or on any (`None`, omni).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Binding {
    /// Channel 0-15, or `None` for omni.
    pub channel: Option<u8>,
    /// The note or CC.
    pub control: Control,
}

/// A MIDI message Loopmate reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MidiMessage {
    /// Note-on on `channel` (0-15) at `velocity` (1-127).
    NoteOn { channel: u8, note: u8, velocity: u8 },
    /// Control change on `channel` (0-15) to `value` (0-127).
    Cc { channel: u8, cc: u8, value: u8 },
}

impl MidiMessage {
    /// A control change from the framework's normalized value (`value / 127` for a MIDI CC), or
    /// `None` when the value is no 7-bit MIDI value. A VST3 host reopening a project replays the
    /// framework's hidden CC parameters at 0.5 (63.5 / 127): that is not a controller moving,
    /// and must neither fire a command bound to the CC nor move a parameter.
    pub fn cc(channel: u8, cc: u8, normalized: f32) -> Option<Self> {
        let value = normalized * 127.0;
        let whole = value.round();
        ((value - whole).abs() <= 0.01 && (0.0..=127.0).contains(&whole)).then_some(
            MidiMessage::Cc {
                channel,
                cc,
                value: whole as u8,
            },
        )
    }

    /// The binding this exact message has (its own channel).
    pub fn binding(self) -> Binding {
        match self {
            MidiMessage::NoteOn { channel, note, .. } => Binding {
                channel: Some(channel),
                control: Control::Note(note),
            },
            MidiMessage::Cc { channel, cc, .. } => Binding {
                channel: Some(channel),
                control: Control::Cc(cc),
            },
        }
    }
}

/// What a message does, once routed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Send this command.
    Command(Command),
    /// Set parameter `index` to `normalized` (0..=1).
    SetParam { index: u16, normalized: f32 },
    /// Toggle parameter `index` (off if at or above half, else on).
    ToggleParam { index: u16 },
}

/// One table row per channel plus the omni row, one entry per note or CC.
type Table = [[Option<Target>; 128]; CHANNELS + 1];

/// The map. Cloning allocates (the tables are boxed); lookups never do.
#[derive(Debug, Clone, PartialEq)]
pub struct MidiMap {
    /// Note-on bindings.
    notes: Box<Table>,
    /// CC bindings.
    ccs: Box<Table>,
}

impl Default for MidiMap {
    /// The default map: the notes of [`DEFAULT_NOTE_MAP`] and the CC switches of
    /// [`DEFAULT_CC_MAP`], omni.
    fn default() -> Self {
        let mut map = Self::empty();
        let notes = DEFAULT_NOTE_MAP.map(|(note, command)| (Control::Note(note), command));
        let ccs = DEFAULT_CC_MAP.map(|(cc, command)| (Control::Cc(cc), command));
        for (control, command) in notes.into_iter().chain(ccs) {
            let binding = Binding {
                channel: None,
                control,
            };
            map.bind(binding, Target::Command(command));
        }
        map
    }
}

impl MidiMap {
    /// A map with no bindings.
    pub fn empty() -> Self {
        Self {
            notes: Box::new([[None; 128]; CHANNELS + 1]),
            ccs: Box::new([[None; 128]; CHANNELS + 1]),
        }
    }

    fn slot(&mut self, binding: Binding) -> &mut Option<Target> {
        let row = binding
            .channel
            .map_or(OMNI_ROW, |c| usize::from(c).min(CHANNELS - 1));
        match binding.control {
            Control::Note(n) => &mut self.notes[row][usize::from(n & 0x7f)],
            Control::Cc(n) => &mut self.ccs[row][usize::from(n & 0x7f)],
        }
    }

    /// Binds `binding` to `target`; returns the target it had before, if another (the binding
    /// moves).
    pub fn bind(&mut self, binding: Binding, target: Target) -> Option<Target> {
        self.slot(binding)
            .replace(target)
            .filter(|before| *before != target)
    }

    /// Removes a binding.
    pub fn unbind(&mut self, binding: Binding) {
        *self.slot(binding) = None;
    }

    /// Removes every binding of `target`.
    pub fn unbind_target(&mut self, target: Target) {
        for table in [&mut self.notes, &mut self.ccs] {
            for entry in table.iter_mut().flatten() {
                if *entry == Some(target) {
                    *entry = None;
                }
            }
        }
    }

    /// The target of `binding` exactly (no omni fallback).
    pub fn get(&self, binding: Binding) -> Option<Target> {
        let row = binding
            .channel
            .map_or(OMNI_ROW, |c| usize::from(c).min(CHANNELS - 1));
        match binding.control {
            Control::Note(n) => self.notes[row][usize::from(n & 0x7f)],
            Control::Cc(n) => self.ccs[row][usize::from(n & 0x7f)],
        }
    }

    /// The target a message on `channel` (0-15) reaches: its channel's binding, else the omni
    /// binding when `omni_listens`. Realtime-safe.
    pub fn lookup(&self, channel: u8, control: Control, omni_listens: bool) -> Option<Target> {
        let table = match control {
            Control::Note(_) => &self.notes,
            Control::Cc(_) => &self.ccs,
        };
        let (Control::Note(n) | Control::Cc(n)) = control;
        let index = usize::from(n & 0x7f);
        table[usize::from(channel).min(CHANNELS - 1)][index]
            .or_else(|| table[OMNI_ROW][index].filter(|_| omni_listens))
    }

    /// Every binding with its target: notes then CCs, omni first, then channels 1-16.
    pub fn bindings(&self) -> impl Iterator<Item = (Binding, Target)> + '_ {
        table_bindings(&self.notes, Control::Note).chain(table_bindings(&self.ccs, Control::Cc))
    }

    /// The bindings of `target`.
    pub fn bindings_of(&self, target: Target) -> impl Iterator<Item = Binding> + '_ {
        self.bindings()
            .filter(move |(_, t)| *t == target)
            .map(|(binding, _)| binding)
    }
}

/// The bindings of one table, omni row first.
fn table_bindings(
    table: &Table,
    control: fn(u8) -> Control,
) -> impl Iterator<Item = (Binding, Target)> + '_ {
    (0..=CHANNELS).flat_map(move |r| {
        let row = if r == 0 { OMNI_ROW } else { r - 1 };
        let channel = (row != OMNI_ROW).then_some(row as u8);
        (0u8..128).filter_map(move |n| {
            table[row][usize::from(n)].map(|target| {
                (
                    Binding {
                        channel,
                        control: control(n),
                    },
                    target,
                )
            })
        })
    })
}

/// Turns MIDI messages into actions through a map; remembers each CC's side of the threshold.
/// Realtime-safe: fixed-size state.
#[derive(Debug, Clone)]
pub struct MidiRouter {
    /// Whether each channel's CC was at or above [`CC_THRESHOLD`] at its last value.
    cc_high: [[bool; 128]; CHANNELS],
}

impl Default for MidiRouter {
    fn default() -> Self {
        Self {
            cc_high: [[false; 128]; CHANNELS],
        }
    }
}

impl MidiRouter {
    /// The action `message` causes under `map`, if any; `omni_listens` says whether omni
    /// bindings hear the message's channel. Realtime-safe.
    pub fn route(
        &mut self,
        map: &MidiMap,
        message: MidiMessage,
        omni_listens: bool,
    ) -> Option<Action> {
        match message {
            MidiMessage::NoteOn {
                channel,
                note,
                velocity,
            } => match map.lookup(channel, Control::Note(note), omni_listens)? {
                Target::Command(command) => Some(Action::Command(command.with_velocity(velocity))),
                Target::Param(index) => Some(Action::ToggleParam { index }),
            },
            MidiMessage::Cc { channel, cc, value } => {
                let high = value >= CC_THRESHOLD;
                let was_high = std::mem::replace(
                    &mut self.cc_high[usize::from(channel).min(CHANNELS - 1)]
                        [usize::from(cc & 0x7f)],
                    high,
                );
                match map.lookup(channel, Control::Cc(cc), omni_listens)? {
                    Target::Command(command) => {
                        (high && !was_high).then_some(Action::Command(command))
                    }
                    Target::Param(index) => Some(Action::SetParam {
                        index,
                        normalized: f32::from(value.min(127)) / 127.0,
                    }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(channel: Option<u8>, n: u8) -> Binding {
        Binding {
            channel,
            control: Control::Note(n),
        }
    }

    fn cc(channel: Option<u8>, n: u8) -> Binding {
        Binding {
            channel,
            control: Control::Cc(n),
        }
    }

    #[test]
    fn the_default_map_is_the_specs_note_map_and_the_cc_switches_on_every_channel() {
        let map = MidiMap::default();
        for (n, command) in DEFAULT_NOTE_MAP {
            for channel in [0, 9, 15] {
                assert_eq!(
                    map.lookup(channel, Control::Note(n), true),
                    Some(Target::Command(command))
                );
            }
        }
        for (n, command) in DEFAULT_CC_MAP {
            for channel in [0, 9, 15] {
                assert_eq!(
                    map.lookup(channel, Control::Cc(n), true),
                    Some(Target::Command(command))
                );
            }
        }
        assert_eq!(map.lookup(0, Control::Note(79), true), None);
        assert_eq!(
            map.lookup(0, Control::Cc(47), true),
            None,
            "a note is no CC"
        );
        assert_eq!(
            map.bindings().count(),
            DEFAULT_NOTE_MAP.len() + DEFAULT_CC_MAP.len()
        );
    }

    #[test]
    fn a_channel_binding_wins_over_omni_and_omni_follows_the_channel_parameter() {
        let mut map = MidiMap::default();
        map.bind(note(Some(2), 47), Target::Command(Command::Undo));
        assert_eq!(
            map.lookup(2, Control::Note(47), true),
            Some(Target::Command(Command::Undo))
        );
        assert_eq!(
            map.lookup(3, Control::Note(47), true),
            Some(Target::Command(Command::RecordToggle))
        );
        assert_eq!(
            map.lookup(3, Control::Note(47), false),
            None,
            "omni bindings do not hear a channel the MIDI channel parameter excludes"
        );
        assert_eq!(
            map.lookup(2, Control::Note(47), false),
            Some(Target::Command(Command::Undo)),
            "a channel binding always hears its channel"
        );
    }

    #[test]
    fn binding_a_used_control_moves_it() {
        let mut map = MidiMap::default();
        let moved = map.bind(note(None, 47), Target::Command(Command::Capture));
        assert_eq!(moved, Some(Target::Command(Command::RecordToggle)));
        assert_eq!(
            map.bindings_of(Target::Command(Command::Capture))
                .collect::<Vec<_>>(),
            [note(None, 47), note(None, 48)]
        );
        assert_eq!(
            map.bindings_of(Target::Command(Command::RecordToggle))
                .count(),
            0
        );
        map.unbind_target(Target::Command(Command::Capture));
        assert_eq!(
            map.bindings().count(),
            DEFAULT_NOTE_MAP.len() + DEFAULT_CC_MAP.len() - 2
        );
    }

    #[test]
    fn a_cc_triggers_a_command_on_each_upward_threshold_crossing() {
        let mut map = MidiMap::empty();
        map.bind(cc(None, 64), Target::Command(Command::RecordToggle));
        let mut router = MidiRouter::default();
        let mut send = |value| {
            router.route(
                &map,
                MidiMessage::Cc {
                    channel: 0,
                    cc: 64,
                    value,
                },
                true,
            )
        };
        let record = Some(Action::Command(Command::RecordToggle));
        // A foot switch: 127 on press, 0 on release; a fader sweeping through the threshold.
        let presses: Vec<_> = [127, 0, 127, 127, 0, 10, 63, 64, 100, 20, 64]
            .into_iter()
            .map(|value| send(value) == record)
            .collect();
        assert_eq!(
            presses,
            [
                true, false, true, false, false, false, false, true, false, false, true
            ]
        );
    }

    #[test]
    fn a_cc_sets_a_parameter_over_its_whole_range_and_a_note_toggles_it() {
        let mut map = MidiMap::empty();
        map.bind(cc(Some(0), 7), Target::Param(3));
        map.bind(note(None, 60), Target::Param(4));
        let mut router = MidiRouter::default();
        let set = |router: &mut MidiRouter, channel, value| {
            router.route(
                &map,
                MidiMessage::Cc {
                    channel,
                    cc: 7,
                    value,
                },
                true,
            )
        };
        assert_eq!(
            set(&mut router, 0, 127),
            Some(Action::SetParam {
                index: 3,
                normalized: 1.0
            })
        );
        assert_eq!(
            set(&mut router, 0, 0),
            Some(Action::SetParam {
                index: 3,
                normalized: 0.0
            })
        );
        assert_eq!(set(&mut router, 1, 127), None, "channel 1 only");
        assert_eq!(
            router.route(
                &map,
                MidiMessage::NoteOn {
                    channel: 5,
                    note: 60,
                    velocity: 127
                },
                true
            ),
            Some(Action::ToggleParam { index: 4 })
        );
    }

    #[test]
    fn only_seven_bit_cc_values_are_control_changes() {
        for value in 0..=127u8 {
            let normalized = f32::from(value) / 127.0;
            assert_eq!(
                MidiMessage::cc(2, 20, normalized),
                Some(MidiMessage::Cc {
                    channel: 2,
                    cc: 20,
                    value
                })
            );
        }
        // A VST3 host's replay of the hidden CC parameters on reopening a project.
        assert_eq!(MidiMessage::cc(0, 20, 0.5), None);
        assert_eq!(MidiMessage::cc(0, 20, f32::NAN), None);
        assert_eq!(MidiMessage::cc(0, 20, 1.5), None);
    }
}
