//! The egui editor: reads the engine's status snapshots and sends commands back through the same
//! queue MIDI uses. Runs on the GUI thread; it never blocks the audio thread (the status comes
//! through a triple buffer, commands through a wait-free ring).

mod command_buttons;
mod cycle_ring;
pub mod geometry;
mod input_view;
mod status_panel;
mod track_fx;
mod track_rows;
mod triggers;
pub mod waveform;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use nice_plug::editor::ResizeHint;
use nice_plug_egui::{EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier};
use parking_lot::Mutex;

use crate::engine::EngineStatus;
use crate::engine::command::{Command, NoteMap};

/// How often the editor redraws to follow the engine, in seconds.
const REFRESH_SECS: f64 = 1.0 / 30.0;

/// The GUI's ends of the audio-thread links.
#[derive(Clone)]
pub struct EditorLink {
    /// Latest engine status (the audio thread writes, the editor reads).
    pub status: Arc<Mutex<triple_buffer::Output<EngineStatus>>>,
    /// Commands to the audio thread.
    pub commands: Arc<Mutex<rtrb::Producer<Command>>>,
}

/// The editor application: what one frame draws.
pub struct LoopmateApp {
    /// Links to the audio thread.
    link: EditorLink,
    /// The note map, for button labels.
    note_map: NoteMap,
    /// The effect settings being edited.
    track_fx: track_fx::TrackFxSettings,
    /// The input level over the last seconds, as the editor saw it.
    input_trace: input_view::InputTrace,
}

impl LoopmateApp {
    /// An editor drawing from and sending to `link`.
    pub fn new(link: EditorLink, note_map: NoteMap) -> Self {
        Self {
            link,
            note_map,
            track_fx: track_fx::TrackFxSettings::default(),
            input_trace: input_view::InputTrace::default(),
        }
    }

    /// Draws one frame (also used headless in tests).
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let status = *self.link.status.lock().read();
        ui.heading("Loopmate");
        status_panel::show(ui, &status);
        self.input_trace
            .push(status.now_samples, status.input_peak, status.sample_rate_hz);
        input_view::show(
            ui,
            &input_view::InputPicture {
                trace: &self.input_trace,
                envelope: &[],
                envelope_span_secs: 0.0,
                onsets: &[],
                now_samples: status.now_samples,
                sample_rate_hz: status.sample_rate_hz,
            },
        );
        let cancel = triggers::show(ui, &status);
        ui.separator();
        let pressed = command_buttons::show(ui, &self.note_map);
        ui.separator();
        let track_count = status.tracks.iter().flatten().count();
        // Folded by default: on stage the rows matter more than the effect sliders.
        let fx_changes = egui::CollapsingHeader::new("Track effects")
            .default_open(false)
            .show(ui, |ui| track_fx::show(ui, &mut self.track_fx, track_count))
            .body_returned
            .unwrap_or_default();
        let track_control = egui::ScrollArea::vertical()
            .show(ui, |ui| track_rows::show(ui, &status, |_| None))
            .inner;
        let commands = cancel
            .into_iter()
            .chain(pressed)
            .chain(track_control)
            .chain(fx_changes);
        for command in commands {
            // A full queue (the audio thread stopped) drops the press rather than block.
            let _ = self.link.commands.lock().push(command);
        }
    }
}

impl NiceEguiApp for LoopmateApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        ui.ctx().set_visuals(egui::Visuals::dark());
        self.draw(ui);
        ui.ctx()
            .request_repaint_after(Duration::from_secs_f64(REFRESH_SECS));
    }
}

/// Builds the plugin's editor.
pub fn create(
    state: Arc<EguiEditorState>,
    link: EditorLink,
    note_map: NoteMap,
) -> Option<EguiEditor<LoopmateApp>> {
    nice_plug_egui::create_egui_editor(
        state,
        RepaintNotifier::new(),
        EguiNiceSettings::new()
            .with_tile("Loopmate")
            .with_resize_hint(ResizeHint::RESIZABLE),
        LoopmateApp::new(link, note_map),
    )
}
