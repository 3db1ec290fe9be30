//! The egui editor: reads the engine's status snapshots and sends commands back through the same
//! queue MIDI uses. Runs on the GUI thread; it never blocks the audio thread (the status comes
//! through a triple buffer, commands through a wait-free ring).

mod command_buttons;
mod session_panel;
mod status_panel;
mod track_fx;
mod track_rows;
mod triggers;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use nice_plug::editor::dpi::LogicalSize;
use nice_plug_egui::{EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier};
use parking_lot::Mutex;

use crate::engine::EngineStatus;
use crate::engine::command::{Command, NoteMap};
use crate::state::store::SessionStore;

/// How often the editor redraws to follow the engine, in seconds.
const REFRESH_SECS: f64 = 1.0 / 30.0;

/// The GUI's ends of the audio-thread links.
#[derive(Clone)]
pub struct EditorLink {
    /// Latest engine status (the audio thread writes, the editor reads).
    pub status: Arc<Mutex<triple_buffer::Output<EngineStatus>>>,
    /// Commands to the audio thread.
    pub commands: Arc<Mutex<rtrb::Producer<Command>>>,
    /// The saved performance: messages about loading it, WAV export and import.
    pub session: Arc<SessionStore>,
}

/// The editor application: what one frame draws.
pub struct LoopmateApp {
    /// Links to the audio thread.
    link: EditorLink,
    /// The note map, for button labels.
    note_map: NoteMap,
    /// The effect settings being edited.
    track_fx: track_fx::TrackFxSettings,
    /// The session panel's message and fields.
    session_panel: session_panel::SessionPanel,
}

impl LoopmateApp {
    /// An editor drawing from and sending to `link`.
    pub fn new(link: EditorLink, note_map: NoteMap) -> Self {
        Self {
            link,
            note_map,
            track_fx: track_fx::TrackFxSettings::default(),
            session_panel: session_panel::SessionPanel::default(),
        }
    }

    /// Draws one frame (also used headless in tests).
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let status = *self.link.status.lock().read();
        ui.heading("Loopmate");
        status_panel::show(ui, &status);
        self.session_panel.show(ui, &self.link.session);
        let cancel = triggers::show(ui, &status);
        ui.separator();
        let pressed = command_buttons::show(ui, &self.note_map);
        ui.separator();
        let track_count = status.tracks.iter().flatten().count();
        let fx_changes = track_fx::show(ui, &mut self.track_fx, track_count);
        let track_control = egui::ScrollArea::vertical()
            .show(ui, |ui| track_rows::show(ui, &status))
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
pub fn create(link: EditorLink, note_map: NoteMap) -> Option<EguiEditor<LoopmateApp>> {
    nice_plug_egui::create_egui_editor(
        EguiEditorState::from_size(LogicalSize::new(820.0, 640.0), 1.0),
        RepaintNotifier::new(),
        EguiNiceSettings::new().with_tile("Loopmate"),
        LoopmateApp::new(link, note_map),
    )
}
