//! One button per command, labelled with its MIDI binding, its key in the hover text.

use super::shortcuts;
use crate::engine::command::Command;

/// Draws a button of at least `min_size` (points) for each of `commands`, labelled by `label`;
/// returns the command whose button was clicked this frame.
pub fn show(
    ui: &mut egui::Ui,
    min_size: egui::Vec2,
    commands: impl IntoIterator<Item = Command>,
    mut label: impl FnMut(Command) -> String,
) -> Option<Command> {
    let mut clicked = None;
    ui.horizontal_wrapped(|ui| {
        for command in commands {
            let label = label(command);
            let mut button = ui.add(egui::Button::new(&label).min_size(min_size));
            if let Some(shortcut) = shortcuts::shortcut_of(command) {
                button = button.on_hover_text(format!("{label}\nKey: {}", shortcut.text()));
            }
            if button.clicked() {
                clicked = Some(command);
            }
        }
    });
    clicked
}
