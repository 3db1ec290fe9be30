//! The one-shot pads: eight in two rows of four, as on a pad controller, each a strike button
//! showing the pad's one-shot (its length, or empty) over its clear button; then the capture
//! and clear buttons.

use super::command_buttons;
use crate::engine::EngineStatus;
use crate::engine::command::{Command, PadTarget};

/// Pads in a row of the grid.
const PADS_PER_ROW: usize = 4;
/// A pad's strike button, at least this size, in points.
const PAD_SIZE: egui::Vec2 = egui::vec2(136.0, 30.0);

/// Draws the pads and the one-shot commands' buttons, labelled by `label`; returns the command
/// whose button was clicked this frame.
pub fn show(
    ui: &mut egui::Ui,
    status: &EngineStatus,
    mut label: impl FnMut(Command) -> String,
) -> Option<Command> {
    let rate = status.sample_rate_hz.max(1.0);
    let mut clicked = None;
    ui.label(egui::RichText::new("One-shot pads").strong());
    egui::Grid::new("pads").show(ui, |ui| {
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
            ui.vertical(|ui| {
                let button = egui::Button::new(text).min_size(PAD_SIZE);
                if ui.add_enabled(filled, button).clicked() {
                    clicked = Some(strike);
                }
                let clear = egui::Button::new(format!("Clear {}", pad + 1)).small();
                if ui.add_enabled(shown.length_samples > 0, clear).clicked() {
                    clicked = Some(Command::ClearOneShot(PadTarget::Pad(pad as u8)));
                }
            });
            if pad % PADS_PER_ROW == PADS_PER_ROW - 1 {
                ui.end_row();
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
