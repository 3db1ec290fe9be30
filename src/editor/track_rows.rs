//! One row per track: its waveform with the playhead, its length, its speed off x1 (a badge), a
//! select button (lit on the selected loop), mute, solo, effect switches, gain, pan, reset and remove.

use super::waveform::{self, Overview};
use crate::engine::command::{Command, Select, TrackControl, TrackTarget};
use crate::engine::fx::chain::FxControl;
use crate::engine::speed::Speed;
use crate::engine::{EngineStatus, TrackStatus};

/// Draws the rows; `overview(n)` is the waveform of the n-th track, if computed. Returns the
/// command of the control used this frame.
pub fn show<'a>(
    ui: &mut egui::Ui,
    status: &EngineStatus,
    overview: impl Fn(usize) -> Option<&'a Overview>,
) -> Option<Command> {
    let mut clicked = None;
    let rate = f64::from(status.sample_rate_hz.max(1.0));
    let selected = status.selected.map(|selected| selected.index);
    for (n, track) in status.tracks.iter().enumerate() {
        let Some(track) = track else { break };
        match row(ui, n, track, rate, selected == Some(n)) {
            Some(Used::Select) => clicked = Some(Command::Select(Select::Loop(n as u32))),
            Some(Used::Control(control)) => {
                clicked = Some(Command::Track(TrackTarget::Index(n as u32), control));
            }
            None => {}
        }
        let playhead = track.position_samples as f32 / track.length_samples.max(1) as f32;
        waveform::show(ui, overview(n), playhead, !track.muted);
        ui.add_space(4.0);
    }
    if status.track_count > status.tracks.len() {
        ui.label(format!(
            "... and {} more tracks (MIDI and undo reach them; the editor shows the first {})",
            status.track_count - status.tracks.len(),
            status.tracks.len()
        ));
    }
    clicked
}

/// What a row's control did.
enum Used {
    /// The select button: select this loop.
    Select,
    /// A control of this loop.
    Control(TrackControl),
}

/// The controls of track `n` (0-based), `selected` or not; returns what was used.
fn row(
    ui: &mut egui::Ui,
    n: usize,
    track: &TrackStatus,
    rate: f64,
    selected: bool,
) -> Option<Used> {
    let mut used = None;
    let mut select = false;
    // Wraps in a narrow window rather than hiding controls past the edge.
    ui.horizontal_wrapped(|ui| {
        ui.label(
            egui::RichText::new(format!(
                "Track {} ({} cycle{})",
                n + 1,
                track.cycles,
                if track.cycles == 1 { "" } else { "s" }
            ))
            .strong(),
        );
        ui.label(format!("{:.2} s", track.length_samples as f64 / rate));
        // Off normal speed only: the badge is what a player must notice.
        if track.speed != Speed::NORMAL {
            ui.label(egui::RichText::new(speed_text(track.speed)).strong());
        }
        if track.layers > 0 {
            ui.label(format!(
                "+{} layer{}",
                track.layers,
                if track.layers == 1 { "" } else { "s" }
            ));
        }
        select = ui
            .selectable_label(selected, format!("Select {}", n + 1))
            .clicked();
        let switches = [
            ("Mute", track.muted, TrackControl::SetMute(!track.muted)),
            ("Solo", track.soloed, TrackControl::SetSolo(!track.soloed)),
            (
                "Filter",
                track.filter_on,
                fx(FxControl::SetFilter(!track.filter_on)),
            ),
            (
                "Drive",
                track.drive_on,
                fx(FxControl::SetDrive(!track.drive_on)),
            ),
            (
                "Delay",
                track.delay_on,
                fx(FxControl::SetDelay(!track.delay_on)),
            ),
            (
                "Reverse",
                track.reversed,
                fx(FxControl::SetReverse(!track.reversed)),
            ),
        ];
        for (name, on, control) in switches {
            // Each switch carries the track number so the labels are unique.
            if ui
                .selectable_label(on, format!("{name} {}", n + 1))
                .clicked()
            {
                used = Some(control);
            }
        }
        ui.label(gain_text(track.gain));
        let buttons = [
            ("-", TrackControl::ScaleGain(0.8)),
            ("+", TrackControl::ScaleGain(1.2)),
        ];
        for (name, control) in buttons {
            if ui.button(format!("{name} {}", n + 1)).clicked() {
                used = Some(control);
            }
        }
        let mut pan = track.pan;
        let slider = egui::Slider::new(&mut pan, -1.0..=1.0)
            .text(format!("Pan {}", n + 1))
            .fixed_decimals(2);
        if ui.add(slider).changed() {
            used = Some(TrackControl::SetPan(pan));
        }
        for (name, control) in [
            ("Reset", TrackControl::Reset),
            ("Remove", TrackControl::Remove),
        ] {
            if ui.button(format!("{name} {}", n + 1)).clicked() {
                used = Some(control);
            }
        }
    });
    if select {
        Some(Used::Select)
    } else {
        used.map(Used::Control)
    }
}

/// A gain (linear) in dB, as the rows and the selected loop show it.
pub fn gain_text(gain: f32) -> String {
    format!("{:+.1} dB", 20.0 * gain.max(1e-6).log10())
}

/// A speed as the player reads it: x1/4, x1/2, x1, x2, x4.
pub fn speed_text(speed: Speed) -> String {
    let factor = 1u32 << speed.octaves().unsigned_abs();
    if speed.octaves() < 0 {
        format!("x1/{factor}")
    } else {
        format!("x{factor}")
    }
}

fn fx(control: FxControl) -> TrackControl {
    TrackControl::Fx(control)
}
