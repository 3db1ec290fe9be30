//! Loopmate: a live looper for acoustic musicians, as a CLAP/VST3 plugin and a standalone.
//!
//! This file is the thin nice-plug shell: it maps the host's buffers, parameters and MIDI onto
//! the framework-free [`engine`], and links the [`editor`] to it.

pub mod analysis;
pub mod editor;
pub mod engine;
pub mod params;
pub mod transport;

use std::num::NonZeroU32;
use std::sync::Arc;

use nice_plug::prelude::*;
use parking_lot::Mutex;

use engine::command::{Command, NoteMap, TimedCommand};
use engine::pool::KeeperThread;
use engine::{Engine, EngineConfig, EngineStatus};
use params::LoopmateParams;

/// Commands the editor can queue between two blocks.
const EDITOR_COMMAND_CAPACITY: usize = 256;
/// Commands (MIDI and editor) one block can carry.
const BLOCK_COMMAND_CAPACITY: usize = 1024;

/// The plugin.
pub struct Loopmate {
    /// Host-visible parameters.
    params: Arc<LoopmateParams>,
    /// The loop engine, once activated.
    engine: Option<Engine>,
    /// Background thread preparing and freeing track storage for `engine`.
    keeper: Option<KeeperThread>,
    /// Background thread analysing the input for `engine` (onsets, tempo).
    analysis: Option<analysis::worker::WorkerThread>,
    /// MIDI note to command map.
    note_map: NoteMap,
    /// This block's commands (capacity reserved; never grows on the audio thread).
    block_commands: Vec<TimedCommand>,
    /// Commands from the editor.
    editor_commands: rtrb::Consumer<Command>,
    /// The command switches' states at the end of the last block (a command fires on off -> on).
    command_switches: [bool; 9],
    /// The master effect settings last sent to the engine.
    master_fx_sent: Option<[engine::fx::chain::FxControl; 4]>,
    /// Status snapshots to the editor.
    status_in: triple_buffer::Input<EngineStatus>,
    /// The editor's ends of the links.
    editor_link: editor::EditorLink,
}

impl Default for Loopmate {
    fn default() -> Self {
        let (commands_tx, commands_rx) = rtrb::RingBuffer::new(EDITOR_COMMAND_CAPACITY);
        let (status_in, status_out) = triple_buffer::triple_buffer(&EngineStatus::idle(48_000.0));
        Self {
            params: Arc::new(LoopmateParams::default()),
            engine: None,
            keeper: None,
            analysis: None,
            note_map: NoteMap::default(),
            block_commands: Vec::with_capacity(BLOCK_COMMAND_CAPACITY),
            master_fx_sent: None,
            command_switches: [false; 9],
            editor_commands: commands_rx,
            status_in,
            editor_link: editor::EditorLink {
                status: Arc::new(Mutex::new(status_out)),
                commands: Arc::new(Mutex::new(commands_tx)),
            },
        }
    }
}

impl Plugin for Loopmate {
    const NAME: &'static str = "Loopmate";
    const VENDOR: &'static str = "Loopmate";
    const URL: &'static str = "https://example.invalid/loopmate";
    const EMAIL: &'static str = "loopmate@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            aux_output_ports: &[new_nonzero_u32(2)],
            names: PortNames {
                layout: Some("Stereo"),
                main_input: Some("Input"),
                main_output: Some("Main"),
                aux_outputs: &["Headphones"],
                ..PortNames::const_default()
            },
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(2),
            aux_output_ports: &[new_nonzero_u32(2)],
            names: PortNames {
                layout: Some("Mono in"),
                main_input: Some("Input"),
                main_output: Some("Main"),
                aux_outputs: &["Headphones"],
                ..PortNames::const_default()
            },
            ..AudioIOLayout::const_default()
        },
    ];

    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = nice_plug_egui::EguiEditor<editor::LoopmateApp>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(self.editor_link.clone(), self.note_map.clone())
    }

    fn activate(
        &mut self,
        audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let config = EngineConfig {
            sample_rate_hz: buffer_config.sample_rate,
            recorded_channels: audio_io_layout
                .main_input_channels
                .map_or(1, |channels| channels.get().min(2) as usize),
            history_secs: self.params.history_secs.value() as f32,
        };
        let reuse = self
            .engine
            .as_ref()
            .is_some_and(|engine| *engine.config() == config);
        if reuse {
            return true;
        }
        // Stop the old keeper before its engine goes; both are dropped here, off the audio thread.
        self.keeper = None;
        self.analysis = None;
        self.engine = None;
        let Some((mut engine, keeper)) = Engine::new(config) else {
            nice_error!(
                "Loopmate: not enough memory for a {} s history",
                config.history_secs
            );
            return false;
        };
        match keeper.spawn() {
            Ok(thread) => self.keeper = Some(thread),
            Err(error) => {
                nice_error!("Loopmate: cannot start the track pool thread: {error}");
                return false;
            }
        }
        let (link, worker) =
            analysis::worker::analysis_channel(config.sample_rate_hz, config.history_secs);
        match worker.spawn() {
            Ok(thread) => {
                engine.attach_analysis(link);
                self.analysis = Some(thread);
            }
            // The looper still works without onsets and beats: presses act where they are.
            Err(error) => nice_error!("Loopmate: cannot start the analysis thread: {error}"),
        }
        self.engine = Some(engine);
        self.master_fx_sent = None;
        true
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let Some(engine) = self.engine.as_mut() else {
            return ProcessStatus::Normal;
        };
        let commands = &mut self.block_commands;
        commands.clear();
        // Editor presses act at the start of the block; MIDI at its sample (hosts send events in
        // time order, so the list stays sorted).
        while let Ok(command) = self.editor_commands.pop() {
            push_command(commands, 0, command);
        }
        // Command switches (host automation): nice-plug splits the block at every automation
        // point, so a switch turned on acts at exactly its sample.
        for ((on, command), was_on) in self
            .params
            .commands
            .switches()
            .into_iter()
            .zip(&mut self.command_switches)
        {
            if on && !*was_on {
                push_command(commands, 0, command);
            }
            *was_on = on;
        }
        while let Some(event) = context.next_event() {
            if let NoteEvent::NoteOn {
                timing,
                key,
                channel,
                ..
            } = event
                && self.params.listens_on(channel.number())
                && let Some(command) = key.number().and_then(|n| self.note_map.command_for_note(n))
            {
                push_command(commands, timing, command);
            }
        }
        let sample_rate_hz = engine.config().sample_rate_hz;
        engine.set_settings(self.params.engine_settings(sample_rate_hz));
        let master_fx = self.params.master_fx.controls();
        if self.master_fx_sent != Some(master_fx) {
            for control in master_fx {
                engine.master_fx(control);
            }
            self.master_fx_sent = Some(master_fx);
        }
        let host = context.transport();
        let host = transport::HostTransport {
            playing: host.playing,
            tempo_bpm: host.tempo,
            time_signature: host.time_sig_numerator.zip(host.time_sig_denominator),
            pos_beats: host.pos_beats,
            bar_start_pos_beats: host.bar_start_pos_beats,
        };
        engine.set_host_grid(transport::host_grid(
            &host,
            engine.now_samples(),
            sample_rate_hz,
        ));
        let phones: &mut [&mut [f32]] = match aux.outputs.first_mut() {
            Some(phones) => phones.as_slice(),
            None => &mut [],
        };
        engine.process(buffer.as_slice(), phones, commands);
        self.status_in.write(engine.status());
        ProcessStatus::KeepAlive
    }
}

/// Appends a command unless the block's list is full (never reallocates on the audio thread).
fn push_command(commands: &mut Vec<TimedCommand>, offset_samples: u32, command: Command) {
    if commands.len() < commands.capacity() {
        commands.push(TimedCommand {
            offset_samples,
            command,
        });
    }
}

impl ClapPlugin for Loopmate {
    const CLAP_ID: &'static str = "com.loopmate.loopmate";
    const CLAP_DESCRIPTION: Option<&'static str> = Some("Live looper for acoustic musicians");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Stereo,
        ClapFeature::Mono,
        ClapFeature::Sampler,
    ];
}

impl Vst3Plugin for Loopmate {
    const VST3_CLASS_ID: [u8; 16] = *b"LoopmateLooper01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Sampler];
}

nice_export_clap!(Loopmate);
nice_export_vst3!(Loopmate);
