//! One button per command, labelled with its MIDI note.

use crate::engine::command::{Command, NoteMap};

/// Draws the buttons; returns the command whose button was clicked this frame.
pub fn show(ui: &mut egui::Ui, note_map: &NoteMap) -> Option<Command> {
    let mut clicked = None;
    ui.horizontal_wrapped(|ui| {
        for command in Command::ALL {
            let label = match note_map.note_for(command) {
                Some(note) => format!("{} ({note})", command.label()),
                None => command.label().to_owned(),
            };
            if ui
                .add(egui::Button::new(label).min_size(egui::vec2(110.0, 36.0)))
                .clicked()
            {
                clicked = Some(command);
            }
        }
    });
    clicked
}
