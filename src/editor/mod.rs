//! The egui editor: reads the engine's status snapshots and sends commands back through the same
//! queue MIDI uses. Runs on the GUI thread; it never blocks the audio thread (the status comes
//! through a triple buffer, commands through a wait-free ring).

mod calibration_panel;
mod command_buttons;
mod cycle_ring;
pub mod geometry;
mod input_view;
mod level_meter;
pub mod loop_tiles;
mod midi_panel;
mod oneshots;
mod selected_loop;
pub mod session_panel;
mod settings;
mod shortcuts;
mod state_badge;
mod status_panel;
mod tempo_view;
mod track_fx;
mod triggers;
pub mod waveform;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nice_plug::context::gui::GuiContext;
use nice_plug::editor::ResizeHint;
use nice_plug::prelude::ParamPtr;
use nice_plug_egui::{EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier};
use parking_lot::Mutex;

use crate::analysis::snapshot::AnalysisSnapshot;
use crate::calibrate::control::CalibrationControl;
use crate::engine::command::Command;
use crate::engine::{EngineStatus, LoopBoard};
use crate::midi_link::{EditorReports, SharedMidiMap};
use crate::params::LoopmateParams;
use crate::state::store::SessionStore;
use crate::tempo_source::TempoSourceReport;

/// How often the editor redraws to follow the engine, in seconds.
const REFRESH_SECS: f64 = 1.0 / 30.0;
/// The main commands' buttons, at least this size, in points: big targets.
const MAIN_BUTTON: egui::Vec2 = egui::vec2(90.0, 36.0);
/// Width of the state badge's column in the header, in points.
const STATE_WIDTH: f32 = 440.0;
/// Width of the input's meter and trace, in points.
const INPUT_WIDTH: f32 = 360.0;
/// The side panel's width at first (the player can drag it), in points.
const SIDE_WIDTH: f32 = 320.0;

/// The GUI's ends of the audio-thread links.
#[derive(Clone)]
pub struct EditorLink {
    /// Latest engine status (the audio thread writes, the editor reads).
    pub status: Arc<Mutex<triple_buffer::Output<EngineStatus>>>,
    /// Commands to the audio thread.
    pub commands: Arc<Mutex<rtrb::Producer<Command>>>,
    /// The parameters (and the shared MIDI map among them).
    pub params: Arc<LoopmateParams>,
    /// Messages heard while learning and CC parameter values, from the audio thread.
    pub midi: Arc<Mutex<EditorReports>>,
    /// The saved performance: messages about loading it, WAV export and import.
    pub session: Arc<SessionStore>,
    /// The analysis worker's snapshots (onsets, tempo, envelope), once it runs.
    pub analysis: Arc<Mutex<Option<triple_buffer::Output<AnalysisSnapshot>>>>,
    /// Every playing loop, for the tiles (the audio thread writes, the editor reads), once the
    /// engine runs.
    pub board: Arc<Mutex<Option<triple_buffer::Output<LoopBoard>>>>,
    /// Set by the standalone when it quits (Ctrl-C, SIGTERM): the editor closes its window.
    pub close_requested: Arc<AtomicBool>,
    /// Latency calibration, which the standalone offers.
    pub calibration: Arc<CalibrationControl>,
    /// What feeds the transport's tempo and bars (the host, or the standalone's clock).
    pub tempo_source: Arc<TempoSourceReport>,
}

/// The editor application: what one frame draws.
pub struct LoopmateApp {
    /// Links to the audio thread.
    link: EditorLink,
    /// The MIDI map panel (learn, export, import).
    midi: midi_panel::MidiPanel,
    /// The parameters MIDI can target, by index, and their display names.
    mappable: Vec<ParamPtr>,
    /// Display names of `mappable`.
    mappable_names: Vec<String>,
    /// The host link while the window is open (to mirror CC parameter values to the host).
    gui_context: Option<GuiContext>,
    /// The effect settings being edited.
    track_fx: track_fx::TrackFxSettings,
    /// The session panel's message and fields.
    session_panel: session_panel::SessionPanel,
    /// The input level over the last seconds, as the editor saw it.
    input_trace: input_view::InputTrace,
    /// Waveform overviews of the tracks.
    overviews: waveform::Overviews,
    /// The input meter's held peak and clip light.
    level_meter: level_meter::LevelMeter,
}

impl LoopmateApp {
    /// An editor drawing from and sending to `link`.
    pub fn new(link: EditorLink) -> Self {
        let (mappable, mappable_names) = (link.params.mappable_params().into_iter())
            // SAFETY: the pointers point into `link.params`, which this app keeps alive.
            .map(|(_, ptr)| (ptr, unsafe { ptr.name() }.to_owned()))
            .unzip();
        Self {
            link,
            midi: midi_panel::MidiPanel::default(),
            mappable,
            mappable_names,
            gui_context: None,
            track_fx: track_fx::TrackFxSettings::default(),
            session_panel: session_panel::SessionPanel::default(),
            input_trace: input_view::InputTrace::default(),
            overviews: waveform::Overviews::default(),
            level_meter: level_meter::LevelMeter::default(),
        }
    }

    /// The MIDI learn state (for tests).
    #[cfg(test)]
    pub fn midi_learn(&self) -> crate::midi_map::learn::MidiLearn {
        self.midi.learn
    }

    /// Connects the editor to a host as an open plugin window does (for tests).
    #[cfg(test)]
    pub fn attach_host(&mut self, gui_context: GuiContext) {
        self.gui_context = Some(gui_context);
    }

    /// Sends the parameter values CCs set to the host, when the window is open; else drops
    /// them (the plugin uses them either way).
    fn mirror_cc_values(&mut self, reports: &mut EditorReports) {
        let mut latest: Vec<(u16, f32)> = Vec::new();
        while let Ok(report) = reports.params.pop() {
            match latest.iter_mut().find(|(index, _)| *index == report.index) {
                Some(entry) => entry.1 = report.normalized,
                None => latest.push((report.index, report.normalized)),
            }
        }
        let Some(context) = &self.gui_context else {
            return;
        };
        for (index, normalized) in latest {
            if let Some(&param) = self.mappable.get(usize::from(index)) {
                // SAFETY: `param` points into the plugin's parameters, alive with the editor.
                unsafe {
                    context.raw_begin_set_parameter(param);
                    context.raw_set_parameter_normalized(param, normalized);
                    context.raw_end_set_parameter(param);
                }
            }
        }
    }

    /// Draws one frame (also used headless in tests): the header (state, cycle ring, tempo),
    /// the main commands, the input and pads at the bottom, the selected loop and the folded
    /// set-up sections at the side, and the loop tiles in the middle, taking the room left.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let status = *self.link.status.lock().read();
        let midi = self.link.midi.clone();
        let mut reports = midi.lock();
        let shared = self.link.params.midi_map.clone();
        self.midi.poll(&shared, &mut reports, &self.mappable_names);
        self.mirror_cc_values(&mut reports);
        self.overviews.update(&self.link.session);
        let now_secs = status.now_samples as f64 / f64::from(status.sample_rate_hz.max(1.0));
        (self.level_meter).update(status.input_peak, status.input_clips, now_secs);
        self.input_trace
            .push(status.now_samples, status.input_peak, status.sample_rate_hz);
        let analysis = self.link.analysis.lock().as_mut().map(|out| *out.read());
        let mut commands = shortcuts::pressed(ui.ctx());
        // Read once a frame, for the trigger list and the tiles.
        let board_link = self.link.board.clone();
        let mut board_out = board_link.lock();
        let board = board_out.as_mut().map(|out| out.read());

        egui::Panel::top("header").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    // Wide enough for the longest state, so the ring does not move with it.
                    ui.set_min_width(STATE_WIDTH);
                    state_badge::show(ui, &status);
                    status_panel::alerts(ui, &status);
                    // What the player must see (e.g. a refused state) stays out of the folds.
                    self.session_panel.message(ui, &self.link.session);
                });
                status_panel::ring(ui, &status);
                let tempo = &self.link.tempo_source;
                let view = tempo_view::TempoView::of(
                    &status,
                    analysis.as_ref().and_then(|a| a.bpm),
                    tempo.source(),
                    tempo.link_peers(),
                );
                tempo_view::show(ui, &view);
            });
        });
        egui::Panel::top("commands").show(ui, |ui| {
            let main = Command::ALL.into_iter().filter(|c| c.is_main());
            let label = |command| self.midi.command_label(&shared, command);
            commands.extend(command_buttons::show(ui, MAIN_BUTTON, main, label));
        });
        egui::Panel::bottom("input").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    ui.set_width(INPUT_WIDTH);
                    level_meter::show(ui, &self.level_meter);
                    self.show_input(ui, &status, analysis.as_ref());
                });
                ui.separator();
                ui.vertical(|ui| {
                    let label = |command| self.midi.command_label(&shared, command);
                    commands.extend(oneshots::show(ui, &status, label));
                });
            });
        });
        egui::Panel::right("selected loop")
            .resizable(true)
            .default_size(SIDE_WIDTH)
            .size_range(SIDE_WIDTH * 0.75..=SIDE_WIDTH * 2.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().id_salt("side").show(ui, |ui| {
                    let label = |command| self.midi.command_label(&shared, command);
                    commands.extend(selected_loop::show(ui, &status, label));
                    ui.separator();
                    commands.extend(triggers::show(ui, &status, board));
                    ui.separator();
                    commands.extend(self.folded(ui, &status, &shared, &mut reports));
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            let overviews = &self.overviews;
            let pressed = loop_tiles::show(ui, board, &status, |id| overviews.get(id));
            commands.extend(pressed);
        });
        for command in commands {
            // A full queue (the audio thread stopped) drops the press rather than block.
            let _ = self.link.commands.lock().push(command);
        }
    }

    /// The last seconds of input with the onsets heard in them.
    fn show_input(
        &self,
        ui: &mut egui::Ui,
        status: &EngineStatus,
        analysis: Option<&AnalysisSnapshot>,
    ) {
        let onsets: Vec<u64> = analysis.map_or(Vec::new(), |a| {
            a.onsets[..a.onset_count]
                .iter()
                .map(|onset| onset.time_samples.max(0.0) as u64)
                .collect()
        });
        let envelope = analysis.map_or(Vec::new(), |a| normalised(&a.envelope));
        let envelope_step_secs = crate::analysis::worker::ENVELOPE_DECIMATION as f64
            * crate::analysis::AnalysisConfig::new(status.sample_rate_hz).hop_samples as f64
            / f64::from(status.sample_rate_hz.max(1.0));
        input_view::show(
            ui,
            &input_view::InputPicture {
                trace: &self.input_trace,
                envelope: &envelope,
                envelope_step_secs,
                envelope_end_samples: analysis.map_or(0, |a| a.analysed_until_samples),
                onsets: &onsets,
                now_samples: status.now_samples,
                sample_rate_hz: status.sample_rate_hz,
            },
        );
    }

    /// The sections a player sets up before the set, folded by default: the rarer commands,
    /// settings, track effects, the MIDI map, export and import, and the engine's details.
    /// Returns the commands their controls sent.
    fn folded(
        &mut self,
        ui: &mut egui::Ui,
        status: &EngineStatus,
        shared: &SharedMidiMap,
        reports: &mut EditorReports,
    ) -> Vec<Command> {
        let mut commands = Vec::new();
        egui::CollapsingHeader::new("More commands")
            .default_open(false)
            .show(ui, |ui| {
                let rest = Command::ALL.into_iter().filter(|c| {
                    !c.is_main()
                        && !c.acts_on_the_selected_loop()
                        && !c.acts_on_the_pads()
                        && !selected_loop::STEPS.contains(c)
                });
                let label = |command| self.midi.command_label(shared, command);
                commands.extend(command_buttons::show(ui, egui::Vec2::ZERO, rest, label));
            });
        egui::CollapsingHeader::new("Settings")
            .default_open(false)
            .show(ui, |ui| {
                let setter = self.gui_context.as_ref().map(GuiContext::param_setter);
                settings::show(ui, &self.link.params, setter.as_ref());
                calibration_panel::show(ui, &self.link.calibration);
            });
        let fx_changes = egui::CollapsingHeader::new("Track effects")
            .default_open(false)
            .show(ui, |ui| {
                track_fx::show(ui, &mut self.track_fx, status.track_count)
            })
            .body_returned
            .unwrap_or_default();
        commands.extend(fx_changes);
        egui::CollapsingHeader::new("MIDI map and learn")
            .default_open(false)
            .show(ui, |ui| {
                self.midi.show(ui, shared, reports, &self.mappable_names)
            });
        egui::CollapsingHeader::new("Export and import")
            .default_open(false)
            .show(ui, |ui| self.session_panel.controls(ui, &self.link.session));
        egui::CollapsingHeader::new("Details")
            .default_open(false)
            .show(ui, |ui| status_panel::details(ui, status));
        commands
    }
}

/// `values` scaled so that the largest is 1 (all zero stays zero).
fn normalised(values: &[f32]) -> Vec<f32> {
    let peak = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f32, f32::max);
    let scale = if peak > 0.0 { 1.0 / peak } else { 0.0 };
    values.iter().map(|v| (v * scale).clamp(0.0, 1.0)).collect()
}

impl NiceEguiApp for LoopmateApp {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        gui_context: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui_context = Some(gui_context);
        Ok(())
    }

    fn editor_closed(&mut self) {
        self.gui_context = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        if self.link.close_requested.load(Ordering::Relaxed) {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        ui.ctx().set_visuals(egui::Visuals::dark());
        self.draw(ui);
        ui.ctx()
            .request_repaint_after(Duration::from_secs_f64(REFRESH_SECS));
    }
}

/// Builds the plugin's editor.
pub fn create(state: Arc<EguiEditorState>, link: EditorLink) -> Option<EguiEditor<LoopmateApp>> {
    nice_plug_egui::create_egui_editor(
        state,
        RepaintNotifier::new(),
        EguiNiceSettings::new()
            .with_tile("Loopmate")
            .with_resize_hint(ResizeHint::RESIZABLE),
        LoopmateApp::new(link),
    )
}
