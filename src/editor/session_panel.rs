//! The saved performance in the editor: why a state was refused, WAV export to a folder and
//! import of a file (path fields: no native file dialogs), and saving the performance to a file
//! for the command line (`loopmate export FILE DIR`).

use std::path::Path;

use crate::state::store::SessionStore;

/// What the panel remembers between frames.
pub struct SessionPanel {
    /// The last message shown (kept while the store is busy).
    message: Option<String>,
    /// The folder exports go to.
    export_dir: String,
    /// The WAV file to import.
    import_path: String,
}

impl Default for SessionPanel {
    fn default() -> Self {
        let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
        Self {
            message: None,
            export_dir: format!("{home}/loopmate-export"),
            import_path: String::new(),
        }
    }
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
        ui.horizontal(|ui| {
            let label = ui.label("Folder");
            ui.add(egui::TextEdit::singleline(&mut self.export_dir).desired_width(300.0))
                .labelled_by(label.id);
            if ui.button("Export WAVs").clicked() {
                let dir = Path::new(&self.export_dir);
                store.say(match store.export_wav(dir) {
                    Ok(files) => format!("Exported {} files to {}.", files.len(), dir.display()),
                    Err(error) => format!("Export failed: {error}."),
                });
            }
            if ui.button("Save performance file").clicked() {
                let path = Path::new(&self.export_dir).join("performance.loopmate");
                let result = std::fs::create_dir_all(&self.export_dir)
                    .and_then(|()| std::fs::write(&path, store.save()));
                store.say(match result {
                    Ok(()) => format!("Saved {}.", path.display()),
                    Err(error) => format!("Saving {} failed: {error}.", path.display()),
                });
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("WAV file");
            ui.add(egui::TextEdit::singleline(&mut self.import_path).desired_width(300.0))
                .labelled_by(label.id);
            if ui.button("Import WAV").clicked() {
                let path = Path::new(&self.import_path);
                store.say(match store.import_wav(path) {
                    Ok(done) => done,
                    Err(error) => format!("Import refused: {error}. Nothing was changed."),
                });
            }
        });
    }
}
