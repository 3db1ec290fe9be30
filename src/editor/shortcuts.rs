//! Keyboard shortcuts for the main commands, for a player at a laptop: Space records, C
//! captures, Z undoes, the arrows choose a loop, and so on. A key sends the same command its
//! button and its MIDI binding send. Shown in the buttons' hover text.
//!
//! Keys held down do not repeat a command (a held Space records once), and no key acts while
//! a text field has the keyboard or with Ctrl, Alt or Cmd held (the host's own shortcuts).

use egui::Key;

use crate::engine::command::{Command, Select, TrackControl, selected};
use crate::engine::dub::DubKind;

/// A key, with or without Shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortcut {
    /// The key.
    pub key: Key,
    /// Whether Shift is held.
    pub shift: bool,
}

impl Shortcut {
    const fn key(key: Key) -> Self {
        Self { key, shift: false }
    }

    const fn shift(key: Key) -> Self {
        Self { key, shift: true }
    }

    /// The shortcut in words: "Space", "Shift+Z".
    pub fn text(self) -> String {
        let key = match self.key {
            Key::ArrowLeft => "Left arrow",
            Key::ArrowRight => "Right arrow",
            other => other.name(),
        };
        if self.shift {
            format!("Shift+{key}")
        } else {
            key.to_owned()
        }
    }
}

/// Every shortcut and its command.
pub const SHORTCUTS: [(Shortcut, Command); 23] = [
    (Shortcut::key(Key::Space), Command::RecordToggle),
    (Shortcut::key(Key::C), Command::Capture),
    (Shortcut::key(Key::N), Command::RecordNextCycle),
    (Shortcut::key(Key::Z), Command::Undo),
    (Shortcut::shift(Key::Z), Command::Redo),
    (Shortcut::key(Key::M), Command::ToggleMixMute),
    (Shortcut::shift(Key::M), Command::MuteMixAtCycleEnd),
    (Shortcut::key(Key::R), Command::Restart),
    (
        Shortcut::key(Key::ArrowLeft),
        Command::Select(Select::Previous),
    ),
    (
        Shortcut::key(Key::ArrowRight),
        Command::Select(Select::Next),
    ),
    (Shortcut::key(Key::End), Command::Select(Select::Newest)),
    (Shortcut::key(Key::Num1), Command::Select(Select::Loop(0))),
    (Shortcut::key(Key::Num2), Command::Select(Select::Loop(1))),
    (Shortcut::key(Key::Num3), Command::Select(Select::Loop(2))),
    (Shortcut::key(Key::Num4), Command::Select(Select::Loop(3))),
    (Shortcut::key(Key::Num5), Command::Select(Select::Loop(4))),
    (Shortcut::key(Key::Num6), Command::Select(Select::Loop(5))),
    (Shortcut::key(Key::Num7), Command::Select(Select::Loop(6))),
    (Shortcut::key(Key::Num8), Command::Select(Select::Loop(7))),
    (Shortcut::key(Key::O), Command::Dub(DubKind::Overdub)),
    (Shortcut::key(Key::S), selected(TrackControl::ToggleSolo)),
    (Shortcut::key(Key::U), selected(TrackControl::ToggleMute)),
    (Shortcut::key(Key::Delete), selected(TrackControl::Remove)),
];

/// The shortcut of `command`, if it has one.
pub fn shortcut_of(command: Command) -> Option<Shortcut> {
    SHORTCUTS
        .iter()
        .find(|(_, c)| *c == command)
        .map(|(shortcut, _)| *shortcut)
}

/// The commands whose keys were pressed this frame, in the order pressed.
pub fn pressed(ctx: &egui::Context) -> Vec<Command> {
    if ctx.egui_wants_keyboard_input() {
        return Vec::new();
    }
    ctx.input(|input| {
        (input.events.iter())
            .filter_map(|event| match event {
                egui::Event::Key {
                    key,
                    pressed: true,
                    repeat: false,
                    modifiers,
                    ..
                } if !(modifiers.ctrl
                    || modifiers.alt
                    || modifiers.command
                    || modifiers.mac_cmd) =>
                {
                    let shortcut = Shortcut {
                        key: *key,
                        shift: modifiers.shift,
                    };
                    command_of(shortcut)
                }
                _ => None,
            })
            .collect()
    })
}

/// The command of `shortcut`, if one has it.
fn command_of(shortcut: Shortcut) -> Option<Command> {
    (SHORTCUTS.iter())
        .find(|(s, _)| *s == shortcut)
        .map(|(_, command)| *command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_one_commands_and_every_command_has_one_key() {
        for (n, (shortcut, command)) in SHORTCUTS.iter().enumerate() {
            for (other_shortcut, other_command) in &SHORTCUTS[n + 1..] {
                assert_ne!(
                    shortcut, other_shortcut,
                    "{command:?} and {other_command:?}"
                );
                assert_ne!(
                    command, other_command,
                    "{shortcut:?} and {other_shortcut:?}"
                );
            }
            assert!(Command::ALL.contains(command), "{command:?}");
        }
        assert_eq!(shortcut_of(Command::RecordToggle).unwrap().text(), "Space");
        assert_eq!(shortcut_of(Command::Redo).unwrap().text(), "Shift+Z");
    }
}
