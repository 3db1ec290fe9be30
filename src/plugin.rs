//! The nice-plug shell: the plugin struct, its Plugin/ClapPlugin/Vst3Plugin impls and exports.
//! It maps the host's buffers, parameters, MIDI and transport onto the framework-free
//! [`engine`](crate::engine), and links the [`editor`](crate::editor) to it.

use std::num::NonZeroU32;
use std::sync::Arc;

use nice_plug::prelude::*;
use parking_lot::Mutex;

use crate::engine::pool::KeeperThread;
use crate::engine::{BoardWriter, Engine, EngineConfig, EngineStatus, MAX_TILES, RenderMode};
use crate::host::Host;
use crate::params::LoopmateParams;
use crate::{analysis, editor, midi_link};

/// Commands the editor can queue between two blocks.
const EDITOR_COMMAND_CAPACITY: usize = 256;
/// Hidden parameters nice-plug's VST3 wrapper adds so that hosts can send MIDI CCs: 16 channels
/// of 128 CCs, channel pressure and pitch bend.
const VST3_MIDI_CC_PARAMS: usize = 16 * 130;
/// Room for Loopmate's own parameters in the input event queue (a test checks they fit).
const PARAM_CAPACITY: usize = 160;
/// Room for one block's notes, CCs and automation points on top of a replay of every parameter
/// (nice-plug's default capacity for a whole block).
const BLOCK_EVENT_CAPACITY: usize = 1024;

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
    /// Turns each block's events, parameters and transport into engine input.
    host: Host,
    /// Status snapshots to the editor.
    status_in: triple_buffer::Input<EngineStatus>,
    /// The loop board to the editor's tiles, once activated.
    board: Option<BoardWriter>,
    /// The editor's ends of the links.
    editor_link: editor::EditorLink,
}

impl Default for Loopmate {
    fn default() -> Self {
        let (commands_tx, commands_rx) = rtrb::RingBuffer::new(EDITOR_COMMAND_CAPACITY);
        let (status_in, status_out) = triple_buffer::triple_buffer(&EngineStatus::idle(48_000.0));
        let params = Arc::new(LoopmateParams::default());
        let (midi_reports, editor_reports) = midi_link::reports();
        let session = params.performance.store.clone();
        Self {
            engine: None,
            keeper: None,
            analysis: None,
            host: Host::new(params.clone(), commands_rx, midi_reports),
            status_in,
            board: None,
            editor_link: editor::EditorLink {
                status: Arc::new(Mutex::new(status_out)),
                commands: Arc::new(Mutex::new(commands_tx)),
                params: params.clone(),
                midi: Arc::new(Mutex::new(editor_reports)),
                session,
                analysis: Arc::default(),
                board: Arc::default(),
                close_requested: Arc::default(),
                calibration: Arc::default(),
                tempo_source: Arc::default(),
            },
            params,
        }
    }
}

impl Loopmate {
    /// The parameters, for the standalone (its MIDI map file, the performance it opens).
    pub fn loopmate_params(&self) -> &Arc<LoopmateParams> {
        &self.params
    }

    /// The MIDI clock messages of the block just processed (none before activation).
    pub fn clock_out(&self) -> &[crate::engine::ClockMessage] {
        self.engine
            .as_ref()
            .map_or(&[], |engine| engine.clock_out())
    }

    /// The editor's *Calibrate latency* button, which the standalone serves.
    pub fn calibration_control(&self) -> Arc<crate::calibrate::control::CalibrationControl> {
        self.editor_link.calibration.clone()
    }

    /// The anchor's tempo from its whole beats, in BPM (what the MIDI clock out follows); `None`
    /// before activation or without such an anchor. Realtime-safe.
    pub fn anchor_bpm(&self) -> Option<f64> {
        self.engine.as_ref().and_then(|engine| engine.anchor_bpm())
    }

    /// What the editor says feeds the transport (the standalone sets its clock there).
    /// Realtime-safe.
    pub fn tempo_source(&self) -> &crate::tempo_source::TempoSourceReport {
        &self.editor_link.tempo_source
    }

    /// Set to make the editor close its window (the standalone quitting on a signal).
    pub fn close_request_flag(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.editor_link.close_requested.clone()
    }
}

/// How a layout carries the PA and headphone mixes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outputs {
    /// A stereo main output (the PA) and a stereo "Headphones" output.
    PaAndHeadphonePorts,
    /// One 4-channel output: the PA on 1/2, the headphones on 3/4 (for hosts that route by
    /// pins rather than by ports).
    FourChannels,
}

/// One stereo auxiliary output.
const STEREO_PORT: &[NonZeroU32] = &[new_nonzero_u32(2)];

/// A layout recording `input_channels` (1 or 2).
const fn layout(input_channels: u32, outputs: Outputs, name: &'static str) -> AudioIOLayout {
    let (main_output_channels, aux_output_ports, main_output, aux_outputs): (
        u32,
        &'static [NonZeroU32],
        &'static str,
        &'static [&'static str],
    ) = match outputs {
        Outputs::PaAndHeadphonePorts => (2, STEREO_PORT, "Main", &["Headphones"]),
        Outputs::FourChannels => (4, &[], "PA 1-2, Headphones 3-4", &[]),
    };
    AudioIOLayout {
        main_input_channels: NonZeroU32::new(input_channels),
        main_output_channels: NonZeroU32::new(main_output_channels),
        aux_output_ports,
        names: PortNames {
            layout: Some(name),
            // nice-plug 0.4.2 names the main *output* after `main_input` (falling back to
            // "Output"), so a named input would name both "Input": JACK then refuses the second
            // `input_1` port, and hosts show the PA output as "Input". Left unnamed, the input
            // is "Input" and the output is named here.
            main_input: None,
            main_output: Some(main_output),
            aux_outputs,
            ..PortNames::const_default()
        },
        ..AudioIOLayout::const_default()
    }
}

impl Plugin for Loopmate {
    const NAME: &'static str = "Loopmate";
    const VENDOR: &'static str = "Loopmate";
    const URL: &'static str = "https://example.invalid/loopmate";
    const EMAIL: &'static str = "loopmate@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        layout(2, Outputs::PaAndHeadphonePorts, "Stereo"),
        layout(1, Outputs::PaAndHeadphonePorts, "Mono in"),
        layout(2, Outputs::FourChannels, "Stereo in, 4 out"),
        layout(1, Outputs::FourChannels, "Mono in, 4 out"),
    ];

    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;
    // nice-plug queues a block's parameter changes and MIDI events together and allocates, on
    // the audio thread, when the queue is full. After a project loads, Ardour sends every
    // parameter in the first block, the MIDI-CC ones included (2185 events in Ardour 7.3, which
    // overflowed the default 1024): room for all of them and a block's own events.
    const INPUT_EVENT_CAPACITY: usize = PARAM_CAPACITY + VST3_MIDI_CC_PARAMS + BLOCK_EVENT_CAPACITY;

    type Editor = nice_plug_egui::EguiEditor<editor::LoopmateApp>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(
            self.params.editor_geometry.state(),
            self.editor_link.clone(),
        )
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
        // An offline bounce (CLAP render extension, VST3 kOffline) waits for the analysis where
        // quantization needs it; anything else is live and never waits. The host reactivates
        // the plugin when the mode changes.
        let render_mode = match buffer_config.process_mode {
            ProcessMode::Offline => RenderMode::Offline,
            ProcessMode::Realtime | ProcessMode::Buffered => RenderMode::Realtime,
        };
        if let Some(engine) = &mut self.engine
            && *engine.config() == config
        {
            engine.set_render_mode(render_mode);
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
        engine.set_render_mode(render_mode);
        // The performance (loaded with the project, or what the previous engine played) moves
        // to the new engine through the session mirror.
        let store = self.params.performance.store.clone();
        store.attach(engine.connect_session(), config.sample_rate_hz);
        // Memory not ready for a take, a capture or a delay is shown in the editor, and logged
        // here, off the audio thread.
        let shortfalls = keeper.shortfalls();
        let mut logged = 0;
        let tick = move || {
            store.tick();
            let count = shortfalls.load(std::sync::atomic::Ordering::Relaxed);
            if count > logged {
                nice_warn!(
                    "Loopmate: memory was not ready where a take, capture or delay needed it \
                     ({count} times so far); the editor says what was cut short"
                );
                logged = count;
            }
        };
        match keeper.spawn_with(tick) {
            Ok(thread) => self.keeper = Some(thread),
            Err(error) => {
                nice_error!("Loopmate: cannot start the track pool thread: {error}");
                return false;
            }
        }
        let (link, mut worker) =
            analysis::worker::analysis_channel(config.sample_rate_hz, config.history_secs);
        *self.editor_link.analysis.lock() = Some(worker.display());
        match worker.spawn() {
            Ok(thread) => {
                engine.attach_analysis(link);
                self.analysis = Some(thread);
            }
            // The looper still works without onsets and beats: presses act where they are.
            Err(error) => nice_error!("Loopmate: cannot start the analysis thread: {error}"),
        }
        // The board's buffers are allocated here, once; the audio thread rewrites them in place.
        let (board, board_out) = BoardWriter::new(MAX_TILES, config.sample_rate_hz);
        self.board = Some(board);
        *self.editor_link.board.lock() = Some(board_out);
        self.engine = Some(engine);
        self.host.activate(buffer_config.sample_rate);
        true
    }

    /// One block: the host module turns its events, parameters and transport into engine input,
    /// the engine renders it (splitting it at every input's sample), and the editor gets a
    /// status snapshot.
    fn process(
        &mut self,
        buffer: &mut Buffer,
        aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let Some(engine) = self.engine.as_mut() else {
            return ProcessStatus::Normal;
        };
        let block = self.host.translate(engine, buffer, context);
        engine.set_host_transport(&block.transport);
        match aux.outputs.first_mut() {
            Some(phones) => {
                engine.process_inputs(buffer.as_slice(), phones.as_slice(), block.inputs)
            }
            // A 4-channel layout: the PA on 1/2, the headphones on 3/4 of the one port.
            None => {
                let channels = buffer.as_slice();
                let (main, phones) = channels.split_at_mut(channels.len().min(2));
                engine.process_inputs(main, phones, block.inputs);
            }
        }
        self.status_in.write(engine.status());
        if let Some(board) = &mut self.board {
            board.update(engine);
        }
        ProcessStatus::KeepAlive
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_names_its_ports_apart() {
        // The names a host and JACK see (JACK refuses two ports of one name).
        for layout in Loopmate::AUDIO_IO_LAYOUTS {
            let mut names = vec![layout.main_input_name(), layout.main_output_name()];
            names.extend(
                (0..layout.aux_output_ports.len()).filter_map(|i| layout.aux_output_name(i)),
            );
            let mut unique = names.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{names:?}");
        }
    }

    #[test]
    fn the_input_event_queue_holds_a_replay_of_every_parameter() {
        let params = LoopmateParams::default().param_map().len();
        assert!(
            params <= PARAM_CAPACITY,
            "{params} parameters: raise PARAM_CAPACITY"
        );
    }
}
