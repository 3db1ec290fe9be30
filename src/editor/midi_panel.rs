//! The MIDI map in the editor: each command's binding with a learn button, learning a parameter,
//! and export/import of the mapping file by path.

use std::sync::atomic::Ordering;

use crate::engine::command::Command;
use crate::midi_link::{EditorReports, SharedMidiMap};
use crate::midi_map::learn::{Learned, MidiLearn};
use crate::midi_map::{Binding, Control, MidiMap, Target};

/// What the MIDI panel keeps between frames.
pub struct MidiPanel {
    /// The map as last copied from the shared one.
    map: MidiMap,
    /// The shared map's serial when `map` was copied (`None`: never).
    serial: Option<u64>,
    /// The learn state.
    pub learn: MidiLearn,
    /// The parameter chosen for learning (index in the mappable list).
    param: usize,
    /// The mapping file's path.
    path: String,
    /// The last thing to tell the player.
    message: Option<String>,
}

impl Default for MidiPanel {
    fn default() -> Self {
        Self {
            map: MidiMap::default(),
            serial: None,
            learn: MidiLearn::default(),
            param: 0,
            path: "loopmate-midi-map.toml".to_owned(),
            message: None,
        }
    }
}

/// A binding as the player reads it: "47", "47 ch 2", "CC 64", "CC 64 ch 2".
pub fn binding_label(binding: Binding) -> String {
    let control = match binding.control {
        Control::Note(n) => n.to_string(),
        Control::Cc(n) => format!("CC {n}"),
    };
    match binding.channel {
        Some(channel) => format!("{control} ch {}", channel + 1),
        None => control,
    }
}

/// A target's name for the player.
fn target_label(target: Target, param_names: &[String]) -> String {
    match target {
        Target::Command(command) => command.label().to_owned(),
        Target::Param(index) => param_names
            .get(usize::from(index))
            .cloned()
            .unwrap_or_else(|| format!("parameter {index}")),
    }
}

impl MidiPanel {
    /// The current map (refreshed from `shared` when it changed).
    pub fn map(&mut self, shared: &SharedMidiMap) -> &MidiMap {
        let serial = shared.serial();
        if self.serial != Some(serial) {
            self.map = shared.map();
            self.serial = Some(serial);
        }
        &self.map
    }

    /// The label of `command`'s button: its first binding in brackets.
    pub fn command_label(&mut self, shared: &SharedMidiMap, command: Command) -> String {
        match self
            .map(shared)
            .bindings_of(Target::Command(command))
            .next()
        {
            Some(binding) => format!("{} ({})", command.label(), binding_label(binding)),
            None => command.label().to_owned(),
        }
    }

    /// Takes the messages the audio thread heard; the first one is learned if a target waits.
    pub fn poll(&mut self, shared: &SharedMidiMap, reports: &mut EditorReports, names: &[String]) {
        while let Ok(message) = reports.heard.pop() {
            self.map(shared);
            if let Some(learned) = self.learn.hear(message, &mut self.map) {
                shared.replace(self.map.clone());
                self.serial = Some(shared.serial());
                self.message = Some(learned_message(learned, names));
            }
        }
        reports
            .learning
            .store(self.learn.waiting().is_some(), Ordering::Relaxed);
    }

    /// Draws the panel. `names` are the mappable parameters' display names.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        shared: &SharedMidiMap,
        reports: &mut EditorReports,
        names: &[String],
    ) {
        if ui.input(|input| input.key_pressed(egui::Key::Escape)) {
            self.learn.cancel();
        }
        let was_waiting = self.learn.waiting();
        ui.label("MIDI map: click Learn, then press a pedal or move a control (Esc cancels).");
        ui.horizontal_wrapped(|ui| {
            for command in Command::ALL {
                let target = Target::Command(command);
                let waiting = self.learn.waiting() == Some(target);
                let text = if waiting {
                    format!("Waiting: {}", command.label())
                } else {
                    format!("Learn {}", command.label())
                };
                if ui.selectable_label(waiting, text).clicked() {
                    self.learn.click(target);
                }
            }
        });
        ui.horizontal(|ui| {
            let chosen = names.get(self.param).cloned().unwrap_or_default();
            let label = ui.label("Parameter");
            egui::ComboBox::from_id_salt("learn_param")
                .selected_text(chosen)
                .show_ui(ui, |ui| {
                    for (index, name) in names.iter().enumerate() {
                        ui.selectable_value(&mut self.param, index, name);
                    }
                })
                .response
                .labelled_by(label.id);
            let target = Target::Param(self.param as u16);
            let waiting = self.learn.waiting() == Some(target);
            let text = if waiting {
                "Waiting: parameter"
            } else {
                "Learn parameter"
            };
            if ui.selectable_label(waiting, text).clicked() {
                self.learn.click(target);
            }
            let bound: Vec<String> = (self.map(shared).bindings_of(target))
                .map(binding_label)
                .collect();
            ui.label(if bound.is_empty() {
                "not mapped".to_owned()
            } else {
                bound.join(", ")
            });
        });
        if self.learn.waiting().is_some() && was_waiting != self.learn.waiting() {
            // Only what is played from now on is learned.
            while reports.heard.pop().is_ok() {}
        }
        ui.horizontal(|ui| {
            let label = ui.label("Mapping file");
            ui.text_edit_singleline(&mut self.path)
                .labelled_by(label.id);
            if ui.button("Export map").clicked() {
                self.message = Some(match std::fs::write(&self.path, shared.export()) {
                    Ok(()) => format!("Exported the MIDI map to {}", self.path),
                    Err(error) => format!("Cannot write {}: {error}", self.path),
                });
            }
            if ui.button("Import map").clicked() {
                self.message = Some(match std::fs::read_to_string(&self.path) {
                    Ok(text) => match shared.import(&text) {
                        Ok(()) => format!("Imported the MIDI map from {}", self.path),
                        Err(error) => {
                            format!("{}: {error}; the current map is kept", self.path)
                        }
                    },
                    Err(error) => format!("Cannot read {}: {error}", self.path),
                });
            }
            if ui.button("Default map").clicked() {
                shared.replace(MidiMap::default());
                self.message = Some("The default MIDI map is back".to_owned());
            }
        });
        if let Some(message) = self.message.clone().or_else(|| shared.message()) {
            ui.label(message);
        }
        reports
            .learning
            .store(self.learn.waiting().is_some(), Ordering::Relaxed);
    }
}

/// What to tell the player after a learn.
fn learned_message(learned: Learned, names: &[String]) -> String {
    let mut text = format!(
        "{} now controls {}",
        binding_label(learned.binding),
        target_label(learned.target, names)
    );
    if let Some(before) = learned.moved_from {
        text.push_str(&format!(" (moved from {})", target_label(before, names)));
    }
    text
}
