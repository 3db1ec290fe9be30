//! Effect settings of one track: filter (type, cutoff, resonance), drive amount, delay (time,
//! feedback, level). Changes are sent as track commands; the engine ramps them.

use crate::engine::command::{Command, TrackControl, TrackTarget};
use crate::engine::fx::chain::FxControl;
use crate::engine::fx::filter::FilterMode;

/// The settings the editor shows and sends for the selected track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackFxSettings {
    /// Track being edited (0-based among playing tracks).
    pub track: u32,
    pub filter_mode: FilterMode,
    /// Cutoff in Hz.
    pub cutoff_hz: f32,
    /// Resonance (Q).
    pub q: f32,
    /// Drive amount (1..=20).
    pub drive: f32,
    /// Delay time in milliseconds.
    pub delay_ms: f32,
    /// Delay feedback (0..=0.95).
    pub feedback: f32,
    /// Echo level (0..=1).
    pub mix: f32,
}

impl Default for TrackFxSettings {
    fn default() -> Self {
        Self {
            track: 0,
            filter_mode: FilterMode::LowPass,
            cutoff_hz: 1_000.0,
            q: std::f32::consts::FRAC_1_SQRT_2,
            drive: 4.0,
            delay_ms: 375.0,
            feedback: 0.35,
            mix: 0.5,
        }
    }
}

/// Draws the settings of `settings.track` (of `track_count`); returns the commands to send.
pub fn show(ui: &mut egui::Ui, settings: &mut TrackFxSettings, track_count: usize) -> Vec<Command> {
    let mut changed = Vec::new();
    if track_count == 0 {
        return changed;
    }
    let before = *settings;
    ui.horizontal(|ui| {
        let label = ui.label("Effects of track");
        let mut number = settings.track.min(track_count as u32 - 1) + 1;
        ui.add(egui::DragValue::new(&mut number).range(1..=track_count as u32))
            .labelled_by(label.id);
        settings.track = number - 1;
        ui.selectable_value(&mut settings.filter_mode, FilterMode::LowPass, "Low-pass");
        ui.selectable_value(&mut settings.filter_mode, FilterMode::HighPass, "High-pass");
    });
    ui.add(
        egui::Slider::new(&mut settings.cutoff_hz, 20.0..=20_000.0)
            .logarithmic(true)
            .text("Cutoff Hz"),
    );
    ui.add(egui::Slider::new(&mut settings.q, 0.5..=10.0).text("Resonance"));
    ui.add(egui::Slider::new(&mut settings.drive, 1.0..=20.0).text("Drive"));
    ui.add(egui::Slider::new(&mut settings.delay_ms, 1.0..=2_000.0).text("Delay ms"));
    ui.add(egui::Slider::new(&mut settings.feedback, 0.0..=0.95).text("Feedback"));
    ui.add(egui::Slider::new(&mut settings.mix, 0.0..=1.0).text("Echo level"));
    let target = TrackTarget::Index(settings.track);
    let mut send = |control| changed.push(Command::Track(target, TrackControl::Fx(control)));
    let filter_changed = (before.filter_mode, before.cutoff_hz, before.q)
        != (settings.filter_mode, settings.cutoff_hz, settings.q);
    if filter_changed {
        send(FxControl::FilterSettings {
            mode: settings.filter_mode,
            cutoff_hz: settings.cutoff_hz,
            q: settings.q,
        });
    }
    if before.drive != settings.drive {
        send(FxControl::DriveAmount(settings.drive));
    }
    if (before.delay_ms, before.feedback, before.mix)
        != (settings.delay_ms, settings.feedback, settings.mix)
    {
        send(FxControl::DelaySettings {
            time_secs: settings.delay_ms / 1000.0,
            feedback: settings.feedback,
            mix: settings.mix,
        });
    }
    changed
}
