//! The anchor cycle as a progress ring: readable from a few metres away on stage.

use std::f32::consts::TAU;

/// Ring diameter, in points.
const DIAMETER: f32 = 110.0;
/// Ring thickness, in points.
const THICKNESS: f32 = 10.0;
/// Points on a full circle (the arc is a polyline).
const SEGMENTS: usize = 96;

/// Draws the ring filled clockwise from the top to `progress` (0..1 of the cycle; `None`: no
/// cycle yet, an empty ring), with `centre` written inside (e.g. the beat).
pub fn show(ui: &mut egui::Ui, progress: Option<f32>, centre: &str, recording: bool) {
    let (rect, response) =
        ui.allocate_exact_size(egui::Vec2::splat(DIAMETER), egui::Sense::hover());
    // Read by screen readers (and tests): the same words the ring shows.
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::ProgressIndicator,
            true,
            format!("Cycle position: {centre}"),
        )
    });
    let painter = ui.painter_at(rect);
    let radius = DIAMETER * 0.5 - THICKNESS * 0.5 - 1.0;
    painter.circle_stroke(
        rect.center(),
        radius,
        egui::Stroke::new(THICKNESS, egui::Color32::from_gray(45)),
    );
    if let Some(progress) = progress {
        let progress = progress.clamp(0.0, 1.0);
        let points: Vec<egui::Pos2> = (0..=(SEGMENTS as f32 * progress).ceil() as usize)
            .map(|n| {
                let angle = (n as f32 / SEGMENTS as f32).min(progress) * TAU;
                // Clockwise from twelve o'clock.
                rect.center() + radius * egui::vec2(angle.sin(), -angle.cos())
            })
            .collect();
        let colour = if recording {
            egui::Color32::from_rgb(230, 60, 60)
        } else {
            egui::Color32::from_rgb(80, 200, 120)
        };
        painter.line(points, egui::Stroke::new(THICKNESS, colour));
    }
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        centre,
        egui::FontId::proportional(44.0),
        egui::Color32::WHITE,
    );
}
