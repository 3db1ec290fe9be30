//! The saved performance in the editor: why a state was refused (or a WAV export/import result).

use crate::state::store::SessionStore;

/// What the panel remembers between frames.
#[derive(Default)]
pub struct SessionPanel {
    /// The last message shown (kept while the store is busy).
    message: Option<String>,
}

impl SessionPanel {
    /// Draws the panel.
    pub fn show(&mut self, ui: &mut egui::Ui, store: &SessionStore) {
        if let Some((_, message)) = store.try_message() {
            self.message = message;
        }
        if let Some(message) = &self.message {
            ui.colored_label(egui::Color32::from_rgb(230, 170, 60), message);
        }
    }
}
