//! The selected loop: which one it is and every value the *Selected loop* parameters reach, as
//! the engine has them (the host's parameters may show other values: see the README), and the
//! buttons of its actions (mute, solo, restart, reverse, speed, clear).

use super::command_buttons;
use super::track_rows::{gain_text, speed_text};
use crate::engine::EngineStatus;
use crate::engine::command::Command;
use crate::engine::dub::{DubKind, DubState};
use crate::engine::fx::filter::FilterMode;

/// Draws the selected loop's values and its actions' buttons, labelled by `label`; returns the
/// command whose button was clicked this frame.
pub fn show(
    ui: &mut egui::Ui,
    status: &EngineStatus,
    label: impl FnMut(Command) -> String,
) -> Option<Command> {
    let Some(selected) = status.selected else {
        ui.label("Selected loop: none");
        return None;
    };
    let (track, fx) = (&selected.track, &selected.fx);
    let on = |on: bool| if on { "on" } else { "off" };
    ui.horizontal_wrapped(|ui| {
        ui.label(
            egui::RichText::new(format!("Selected loop: track {}", selected.index + 1)).strong(),
        );
        ui.label(format!("Gain {}", gain_text(track.gain)));
        ui.label(format!("Pan {}", pan_text(track.pan)));
        ui.label(format!("Mute {}", on(track.muted)));
        ui.label(format!("Solo {}", on(track.soloed)));
        ui.label(format!("Reverse {}", on(track.reversed)));
        ui.label(format!("Speed {}", speed_text(track.speed)));
        ui.label(format!("Layers {}", track.layers));
        if let Some(dub) = dub_text(status.dub, track.id) {
            ui.label(egui::RichText::new(dub).strong());
        }
    });
    ui.horizontal_wrapped(|ui| {
        let mode = match fx.filter_mode {
            FilterMode::LowPass => "low-pass",
            FilterMode::HighPass => "high-pass",
        };
        ui.label(format!(
            "Filter {} ({mode}, {:.0} Hz, Q {:.2})",
            on(fx.filter_on),
            fx.cutoff_hz,
            fx.q
        ));
        ui.label(format!(
            "Drive {} ({:.2})",
            on(fx.drive_on),
            fx.drive_amount
        ));
        let delay_ms =
            f64::from(fx.delay_frames) * 1000.0 / f64::from(status.sample_rate_hz.max(1.0));
        ui.label(format!(
            "Delay {} ({delay_ms:.1} ms, feedback {:.2}, echo {:.2})",
            on(fx.delay_on),
            fx.delay_feedback,
            fx.delay_mix
        ));
    });
    let actions = Command::ALL
        .into_iter()
        .filter(|c| c.acts_on_the_selected_loop());
    // Plain-sized: the track rows below must keep their room.
    command_buttons::show(ui, egui::Vec2::ZERO, actions, label)
}

/// What a dub does to the loop `track_id`, if one is armed or running on it.
fn dub_text(dub: DubState, track_id: u64) -> Option<String> {
    let name = |kind| match kind {
        DubKind::Overdub => "Overdubbing",
        DubKind::Replace => "Replacing",
        DubKind::Multiply => "Multiplying",
    };
    match dub {
        DubState::Armed {
            kind, track_id: id, ..
        } if id == track_id => Some(format!("{} at the cycle start", name(kind))),
        DubState::Dubbing { kind, track_id: id } if id == track_id => Some(name(kind).to_owned()),
        DubState::Finishing { kind, track_id: id } if id == track_id => {
            Some(format!("{} (punched out)", name(kind)))
        }
        _ => None,
    }
}

/// A pan position as a host shows it: C, L30, R100.
fn pan_text(pan: f32) -> String {
    let percent = (pan * 100.0).round() as i32;
    match percent {
        0 => "C".to_owned(),
        p if p < 0 => format!("L{}", -p),
        p => format!("R{p}"),
    }
}
