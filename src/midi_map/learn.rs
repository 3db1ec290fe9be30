//! MIDI learn, as a plain state machine the editor drives: click a target's learn button, then
//! press a pedal or move a control; the next note-on or CC heard is bound to it. Clicking the same
//! button again, or Escape, cancels.
//!
//! A learned binding replaces the target's previous bindings (one pedal per command; a mapping
//! file can give a target several), and a note or CC already used by another target moves to the
//! new one: the outcome says which target lost it, so the editor can tell the player.

use super::{Binding, MidiMap, MidiMessage, Target};

/// What one learn did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Learned {
    /// The target that was learned.
    pub target: Target,
    /// Its new binding (the message's note or CC on the message's channel).
    pub binding: Binding,
    /// The target that had this binding before, if another.
    pub moved_from: Option<Target>,
}

/// The learn state: idle, or waiting for a message for one target.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MidiLearn {
    /// The target waiting for a message.
    waiting: Option<Target>,
}

impl MidiLearn {
    /// The learn button of `target` was clicked: start learning it, or cancel if it was the one
    /// waiting.
    pub fn click(&mut self, target: Target) {
        self.waiting = if self.waiting == Some(target) {
            None
        } else {
            Some(target)
        };
    }

    /// Stops waiting (Escape).
    pub fn cancel(&mut self) {
        self.waiting = None;
    }

    /// The target waiting for a message, if any.
    pub fn waiting(&self) -> Option<Target> {
        self.waiting
    }

    /// A message was heard: binds it to the waiting target in `map`. Returns what was learned,
    /// or `None` (nothing is waiting; the map is unchanged).
    pub fn hear(&mut self, message: MidiMessage, map: &mut MidiMap) -> Option<Learned> {
        let target = self.waiting.take()?;
        let binding = message.binding();
        map.unbind_target(target);
        let moved_from = map.bind(binding, target);
        Some(Learned {
            target,
            binding,
            moved_from,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::command::Command;
    use crate::midi_map::Control;

    const UNDO: Target = Target::Command(Command::Undo);
    const RECORD: Target = Target::Command(Command::RecordToggle);

    #[test]
    fn click_then_a_cc_binds_it_on_its_channel() {
        let mut map = MidiMap::default();
        let mut learn = MidiLearn::default();
        learn.click(UNDO);
        assert_eq!(learn.waiting(), Some(UNDO));
        let pedal = MidiMessage::Cc {
            channel: 2,
            cc: 80,
            value: 127,
        };
        let learned = learn.hear(pedal, &mut map).expect("learned");
        assert_eq!(learned.binding, pedal.binding());
        assert_eq!(learned.moved_from, None);
        assert_eq!(learn.waiting(), None, "one message, one binding");
        assert_eq!(
            map.bindings_of(UNDO).collect::<Vec<_>>(),
            [Binding {
                channel: Some(2),
                control: Control::Cc(80)
            }],
            "note 27 no longer undoes"
        );
        // The release (value 0) that follows is not learned again.
        assert_eq!(learn.hear(pedal, &mut map), None);
    }

    #[test]
    fn a_used_note_moves_and_clicking_again_cancels() {
        let mut map = MidiMap::default();
        let mut learn = MidiLearn::default();
        learn.click(UNDO);
        learn.click(UNDO);
        assert_eq!(learn.waiting(), None, "a second click cancels");
        let before = map.clone();
        let note_47 = MidiMessage::NoteOn {
            channel: 0,
            note: 47,
            velocity: 127,
        };
        assert_eq!(learn.hear(note_47, &mut map), None);
        assert_eq!(map, before);

        learn.click(RECORD);
        learn.click(UNDO);
        assert_eq!(learn.waiting(), Some(UNDO), "another button switches");
        let learned = learn.hear(note_47, &mut map).expect("learned");
        assert_eq!(
            learned.moved_from, None,
            "omni 47 is another binding than 47 on 1"
        );
        learn.click(RECORD);
        let undo_note = MidiMessage::NoteOn {
            channel: 0,
            note: 47,
            velocity: 127,
        };
        let learned = learn.hear(undo_note, &mut map).expect("learned");
        assert_eq!(
            learned.moved_from,
            Some(UNDO),
            "the note moved from undo to record"
        );
        assert_eq!(map.bindings_of(UNDO).count(), 0);
        learn.click(UNDO);
        learn.cancel();
        assert_eq!(learn.waiting(), None);
    }
}
