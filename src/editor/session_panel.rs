//! The saved performance in the editor: why a state was refused, WAV export to a folder and
//! import of a file (path fields: no native file dialogs), and saving the performance to a file
//! for the command line (`loopmate export FILE DIR`).
//!
//! The file work runs on its own thread: a 10-minute import takes seconds, and the host's
//! window must keep drawing meanwhile. Its result arrives as the store's message.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::state::store::SessionStore;

/// How often the editor redraws while file work runs, to show its result soon after it ends.
const BUSY_REPAINT: Duration = Duration::from_millis(100);

/// What the panel remembers between frames.
pub struct SessionPanel {
    /// The last message shown (kept while the store is busy).
    message: Option<String>,
    /// The folder exports go to.
    export_dir: String,
    /// The WAV file to import.
    import_path: String,
    /// The file work running, with what it does in words.
    job: Option<(JoinHandle<()>, &'static str)>,
}

impl Default for SessionPanel {
    fn default() -> Self {
        let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
        Self {
            message: None,
            export_dir: format!("{home}/loopmate-export"),
            import_path: String::new(),
            job: None,
        }
    }
}

/// *Save performance file*: writes the performance to `performance.loopmate` in `dir` (made if
/// missing), for `loopmate --load` and `loopmate export`; says where, or why not. Blocks until a
/// capture filling now has its audio (run it off the GUI thread).
pub fn save_performance_file(store: &SessionStore, dir: &Path) -> String {
    let path = dir.join("performance.loopmate");
    let (bytes, left_out) = store.save_reporting();
    let result = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, bytes));
    match (result, left_out) {
        (Ok(()), None) => format!("Saved {}.", path.display()),
        (Ok(()), Some(why)) => format!("Saved {}. Warning: {why}.", path.display()),
        (Err(error), _) => format!("Saving {} failed: {error}.", path.display()),
    }
}

impl SessionPanel {
    /// Draws the store's latest message (a refused state, an export's result), if any.
    pub fn message(&mut self, ui: &mut egui::Ui, store: &SessionStore) {
        if let Some((_, message)) = store.try_message() {
            self.message = message;
        }
        if let Some(message) = &self.message {
            ui.colored_label(egui::Color32::from_rgb(230, 170, 60), message);
        }
    }

    /// Draws the export and import controls; while file work runs they wait for it.
    pub fn controls(&mut self, ui: &mut egui::Ui, store: &Arc<SessionStore>) {
        if self.job.as_ref().is_some_and(|(job, _)| job.is_finished()) {
            // The thread said its result to the store before ending; nothing to collect.
            self.job = None;
        }
        if let Some((_, doing)) = &self.job {
            ui.label(format!("{doing}..."));
            ui.ctx().request_repaint_after(BUSY_REPAINT);
        }
        let idle = self.job.is_none();
        ui.horizontal(|ui| {
            let label = ui.label("Folder");
            ui.add(egui::TextEdit::singleline(&mut self.export_dir).desired_width(300.0))
                .labelled_by(label.id);
            if ui
                .add_enabled(idle, egui::Button::new("Export WAVs"))
                .clicked()
            {
                let dir = PathBuf::from(&self.export_dir);
                self.start(store, "Exporting WAVs", move |store| {
                    match store.export_wav(&dir) {
                        Ok(files) => {
                            format!("Exported {} files to {}.", files.len(), dir.display())
                        }
                        Err(error) => format!("Export failed: {error}."),
                    }
                });
            }
            let save = ui.add_enabled(idle, egui::Button::new("Save performance file"));
            if save.clicked() {
                let dir = PathBuf::from(&self.export_dir);
                self.start(store, "Saving the performance", move |store| {
                    save_performance_file(store, &dir)
                });
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("WAV file");
            ui.add(egui::TextEdit::singleline(&mut self.import_path).desired_width(300.0))
                .labelled_by(label.id);
            if ui
                .add_enabled(idle, egui::Button::new("Import WAV"))
                .clicked()
            {
                let path = PathBuf::from(&self.import_path);
                self.start(store, "Importing", move |store| {
                    match store.import_wav(Path::new(&path)) {
                        Ok(done) => done,
                        Err(error) => format!("Import refused: {error}. Nothing was changed."),
                    }
                });
            }
        });
    }

    /// Runs `work` on its own thread; its result becomes the store's message.
    fn start(
        &mut self,
        store: &Arc<SessionStore>,
        doing: &'static str,
        work: impl FnOnce(&SessionStore) -> String + Send + 'static,
    ) {
        let store = store.clone();
        let spawned = std::thread::Builder::new()
            .name("loopmate-files".into())
            .spawn(move || {
                let message = work(&store);
                store.say(message);
            });
        match spawned {
            Ok(job) => self.job = Some((job, doing)),
            Err(error) => self.message = Some(format!("{doing} failed: no thread ({error}).")),
        }
    }
}
