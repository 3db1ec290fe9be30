//! The selected loop: which one it is and every value the *Selected loop* parameters reach, as
//! the engine has them (the host's parameters may show other values: see the README), its
//! effect switches and pan slider, and the buttons of its actions (mute, solo, restart,
//! reverse, speed, clear). The one detail panel: the tiles only select.

use super::command_buttons;
use super::loop_tiles::{gain_text, speed_text};
use crate::engine::EngineStatus;
use crate::engine::command::{Command, Select, TrackControl, TrackTarget};
use crate::engine::dub::{DubKind, DubState};
use crate::engine::fx::chain::FxControl;
use crate::engine::fx::filter::FilterMode;

/// The commands that step the selection, shown at the panel's top.
pub const STEPS: [Command; 3] = [
    Command::Select(Select::Previous),
    Command::Select(Select::Next),
    Command::Select(Select::Newest),
];

/// Draws the selected loop's values, switches and its actions' buttons, labelled by `label`;
/// returns the command of the control used this frame (all sent to the selected loop).
pub fn show(
    ui: &mut egui::Ui,
    status: &EngineStatus,
    mut label: impl FnMut(Command) -> String,
) -> Option<Command> {
    let stepped = command_buttons::show(ui, egui::Vec2::ZERO, STEPS, &mut label);
    let Some(selected) = status.selected else {
        ui.label("Selected loop: none");
        return stepped;
    };
    let (track, fx) = (&selected.track, &selected.fx);
    let on = |on: bool| if on { "on" } else { "off" };
    let mut used = None;
    ui.horizontal_wrapped(|ui| {
        ui.label(
            egui::RichText::new(format!("Selected loop {}", selected.index + 1))
                .strong()
                .size(20.0),
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
    // On a line of its own: a slider in a wrapped row overflows it rather than wrap, and
    // widens the whole panel.
    let mut pan = track.pan;
    let slider = egui::Slider::new(&mut pan, -1.0..=1.0)
        .text("Pan")
        .show_value(false);
    if ui.add(slider).changed() {
        used = Some(TrackControl::SetPan(pan));
    }
    // One switch a line, their long words wrapped to the panel.
    ui.vertical(|ui| {
        let mode = match fx.filter_mode {
            FilterMode::LowPass => "low-pass",
            FilterMode::HighPass => "high-pass",
        };
        let delay_ms =
            f64::from(fx.delay_frames) * 1000.0 / f64::from(status.sample_rate_hz.max(1.0));
        // Each switch reads its state and settings; a click turns it the other way.
        let switches = [
            (
                format!(
                    "Filter {} ({mode}, {:.0} Hz, Q {:.2})",
                    on(fx.filter_on),
                    fx.cutoff_hz,
                    fx.q
                ),
                fx.filter_on,
                FxControl::SetFilter(!fx.filter_on),
            ),
            (
                format!("Drive {} ({:.2})", on(fx.drive_on), fx.drive_amount),
                fx.drive_on,
                FxControl::SetDrive(!fx.drive_on),
            ),
            (
                format!(
                    "Delay {} ({delay_ms:.1} ms, feedback {:.2}, echo {:.2})",
                    on(fx.delay_on),
                    fx.delay_feedback,
                    fx.delay_mix
                ),
                fx.delay_on,
                FxControl::SetDelay(!fx.delay_on),
            ),
        ];
        for (text, is_on, control) in switches {
            if ui
                .add(egui::Button::selectable(is_on, text).wrap())
                .clicked()
            {
                used = Some(TrackControl::Fx(control));
            }
        }
    });
    let actions = Command::ALL
        .into_iter()
        .filter(|c| c.acts_on_the_selected_loop());
    // Plain-sized: the tiles below must keep their room.
    let pressed = command_buttons::show(ui, egui::Vec2::ZERO, actions, label);
    let used = used.map(|control| Command::Track(TrackTarget::Selected, control));
    stepped.or(pressed).or(used)
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
