//! One row per track: its length, mute, solo, effect switches, gain and reset.

use crate::engine::EngineStatus;
use crate::engine::command::{Command, TrackControl, TrackTarget};
use crate::engine::fx::chain::FxControl;

/// Draws the rows; returns the command of the control clicked this frame.
pub fn show(ui: &mut egui::Ui, status: &EngineStatus) -> Option<Command> {
    let mut clicked = None;
    for (n, track) in status.tracks.iter().enumerate() {
        let Some(track) = track else { break };
        let target = TrackTarget::Index(n as u32);
        let mut send = |control| clicked = Some(Command::Track(target, control));
        ui.horizontal(|ui| {
            ui.label(format!(
                "Track {} ({} cycle{})",
                n + 1,
                track.cycles,
                if track.cycles == 1 { "" } else { "s" }
            ));
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
                    send(control);
                }
            }
            ui.label(format!("{:+.1} dB", 20.0 * track.gain.max(1e-6).log10()));
            let buttons = [
                ("-", TrackControl::ScaleGain(0.8)),
                ("+", TrackControl::ScaleGain(1.2)),
                ("Reset", TrackControl::Reset),
            ];
            for (name, control) in buttons {
                if ui.button(format!("{name} {}", n + 1)).clicked() {
                    send(control);
                }
            }
        });
    }
    clicked
}

fn fx(control: FxControl) -> TrackControl {
    TrackControl::Fx(control)
}
