//! The one-shot pads: a row of eight, each a strike button showing the pad's one-shot (its
//! length, or empty) with a clear button, then the capture and clear buttons. One wrapped row,
//! so the loop tiles below keep their room.

use super::command_buttons;
use crate::engine::EngineStatus;
use crate::engine::command::{Command, PadTarget};

/// Draws the pads and the one-shot commands' buttons, labelled by `label`; returns the command
/// whose button was clicked this frame.
pub fn show(
    ui: &mut egui::Ui,
    status: &EngineStatus,
    mut label: impl FnMut(Command) -> String,
) -> Option<Command> {
    let rate = status.sample_rate_hz.max(1.0);
    let mut clicked = None;
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new("One-shots").strong());
        for (pad, shown) in status.one_shots.iter().enumerate() {
            let state = match (shown.length_samples, shown.filling) {
                (0, _) => "empty".to_owned(),
                (_, true) => "capturing".to_owned(),
                (length, false) => format!("{:.2} s", length as f32 / rate),
            };
            let playing = if shown.playing { " >" } else { "" };
            let strike = Command::StrikeOneShot {
                pad: pad as u8,
                velocity: 127,
            };
            let text = format!("{}: {state}{playing}", label(strike));
            let filled = shown.length_samples > 0 && !shown.filling;
            if ui.add_enabled(filled, egui::Button::new(text)).clicked() {
                clicked = Some(strike);
            }
            let clear = egui::Button::new(format!("Clear {}", pad + 1));
            if ui.add_enabled(shown.length_samples > 0, clear).clicked() {
                clicked = Some(Command::ClearOneShot(PadTarget::Pad(pad as u8)));
            }
        }
    });
    let others = Command::ALL
        .into_iter()
        .filter(|c| c.acts_on_the_pads() && !matches!(c, Command::StrikeOneShot { .. }));
    // Drawn whether or not a pad was clicked.
    let other_clicked = command_buttons::show(ui, egui::Vec2::ZERO, others, label);
    clicked.or(other_clicked)
}
