//! The nice-plug shell: the plugin struct, its Plugin/ClapPlugin/Vst3Plugin impls and exports.
//! It maps the host's buffers, parameters, MIDI and transport onto the framework-free
//! [`engine`](crate::engine), and links the [`editor`](crate::editor) to it.

use std::num::NonZeroU32;
use std::sync::Arc;

use nice_plug::prelude::*;
use parking_lot::Mutex;

use crate::engine::command::{Command, TimedCommand};
use crate::engine::host_clock::HostTransport;
use crate::engine::pool::KeeperThread;
use crate::engine::{Engine, EngineConfig, EngineStatus, RenderMode};
use crate::midi_link::{AudioReports, ParamReport};
use crate::midi_map::{Action, MidiMap, MidiMessage, MidiRouter};
use crate::param_overrides::ParamOverrides;
use crate::params::{LoopmateParams, TRACK_SLOTS};
use crate::track_bank::TrackBank;
use crate::{analysis, demo, editor, engine, midi_link};

/// Commands the editor can queue between two blocks.
const EDITOR_COMMAND_CAPACITY: usize = 256;
/// Commands (MIDI and editor) one block can carry.
const BLOCK_COMMAND_CAPACITY: usize = 1024;
/// Hidden parameters nice-plug's VST3 wrapper adds so that hosts can send MIDI CCs: 16 channels
/// of 128 CCs, channel pressure and pitch bend.
const VST3_MIDI_CC_PARAMS: usize = 16 * 130;
/// Room for Loopmate's own parameters in the input event queue (a test checks they fit).
const PARAM_CAPACITY: usize = 128;
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
    /// The MIDI map (the latest the editor or the state published).
    midi_map: triple_buffer::Output<MidiMap>,
    /// MIDI map lookups and each CC's side of the trigger threshold.
    midi_router: MidiRouter,
    /// The parameters MIDI bindings target, by index (see `params::mappable_param_ids`).
    mappable: Box<[ParamPtr]>,
    /// Messages heard while the editor learns, and CC parameter values, to the editor.
    midi_reports: AudioReports,
    /// Background thread analysing the input for `engine` (onsets, tempo).
    analysis: Option<analysis::worker::WorkerThread>,
    /// This block's commands (capacity reserved; never grows on the audio thread).
    block_commands: Vec<TimedCommand>,
    /// The commands of the segment being processed, offsets from the segment's start.
    segment_commands: Vec<TimedCommand>,
    /// This block's CC parameter changes: (offset, mappable index, value or `None` to toggle).
    param_changes: Vec<(u32, u16, Option<f32>)>,
    /// Commands from the editor.
    editor_commands: rtrb::Consumer<Command>,
    /// The command switches' states at the end of the last block (a command fires on off -> on).
    command_switches: [bool; 9],
    /// Parameter values set by MIDI CCs over the host's.
    overrides: ParamOverrides,
    /// The track bank parameters' values last sent to the engine.
    track_bank: TrackBank<TRACK_SLOTS>,
    /// The master effect settings last sent to the engine.
    master_fx_sent: Option<[engine::fx::chain::FxControl; 4]>,
    /// The scripted player of `loopmate --demo`, replacing the input (standalone only).
    demo: Option<demo::DemoPlayer>,
    /// Status snapshots to the editor.
    status_in: triple_buffer::Input<EngineStatus>,
    /// The editor's ends of the links.
    editor_link: editor::EditorLink,
}

impl Default for Loopmate {
    fn default() -> Self {
        let (commands_tx, commands_rx) = rtrb::RingBuffer::new(EDITOR_COMMAND_CAPACITY);
        let (status_in, status_out) = triple_buffer::triple_buffer(&EngineStatus::idle(48_000.0));
        let params = Arc::new(LoopmateParams::default());
        let midi_map = (params.midi_map.take_audio_end()).expect("a new map's audio end is there");
        let mappable = params.mappable_params().into_iter().map(|(_, ptr)| ptr);
        let (midi_reports, editor_reports) = midi_link::reports();
        let session = params.performance.store.clone();
        Self {
            engine: None,
            keeper: None,
            midi_map,
            midi_router: MidiRouter::default(),
            mappable: mappable.collect(),
            midi_reports,
            analysis: None,
            block_commands: Vec::with_capacity(BLOCK_COMMAND_CAPACITY),
            segment_commands: Vec::with_capacity(BLOCK_COMMAND_CAPACITY),
            param_changes: Vec::with_capacity(BLOCK_COMMAND_CAPACITY),
            master_fx_sent: None,
            overrides: ParamOverrides::default(),
            track_bank: TrackBank::default(),
            command_switches: [false; 9],
            demo: None,
            editor_commands: commands_rx,
            status_in,
            editor_link: editor::EditorLink {
                status: Arc::new(Mutex::new(status_out)),
                commands: Arc::new(Mutex::new(commands_tx)),
                params: params.clone(),
                midi: Arc::new(Mutex::new(editor_reports)),
                session,
                analysis: Arc::default(),
            },
            params,
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
        self.engine = Some(engine);
        self.master_fx_sent = None;
        self.demo = demo::enabled().then(|| demo::DemoPlayer::new(buffer_config.sample_rate));
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
        // Editor presses act at the start of the block, MIDI at its sample (the engine orders
        // commands by time).
        while let Ok(command) = self.editor_commands.pop() {
            push_command(commands, 0, command);
        }
        // MIDI through the map: commands at their sample, CC values over the parameters.
        self.overrides.refresh();
        self.param_changes.clear();
        let map = self.midi_map.read();
        while let Some(event) = context.next_event() {
            let (timing, message) = match event {
                NoteEvent::NoteOn {
                    timing,
                    key,
                    channel,
                    ..
                } => match (key.number(), channel.number()) {
                    (Some(note), Some(channel)) => (timing, MidiMessage::NoteOn { channel, note }),
                    _ => continue,
                },
                NoteEvent::MidiCC {
                    timing,
                    channel,
                    cc,
                    value,
                } => match MidiMessage::cc(channel, cc, value) {
                    Some(message) => (timing, message),
                    None => continue,
                },
                _ => continue,
            };
            self.midi_reports.heard(message);
            let (MidiMessage::NoteOn { channel, .. } | MidiMessage::Cc { channel, .. }) = message;
            let omni_listens = self.params.listens_on(Some(channel));
            let change = match self.midi_router.route(map, message, omni_listens) {
                Some(Action::Command(command)) => {
                    push_command(commands, timing, command);
                    continue;
                }
                Some(Action::SetParam { index, normalized }) => (index, Some(normalized)),
                Some(Action::ToggleParam { index }) => (index, None),
                None => continue,
            };
            if self.param_changes.len() < self.param_changes.capacity() {
                self.param_changes.push((timing, change.0, change.1));
            }
        }
        if let Some(demo) = &self.demo {
            let start = engine.now_samples();
            for channel in buffer.as_slice().iter_mut() {
                for (t, sample) in (start..).zip(channel.iter_mut()) {
                    *sample = demo.input(t);
                }
            }
            for (offset, command) in demo.presses_in(start, buffer.samples()) {
                push_command(commands, offset, command);
            }
        }
        let host = context.transport();
        let sample_rate_hz = engine.config().sample_rate_hz;
        engine.set_host_transport(&HostTransport {
            playing: host.playing,
            tempo_bpm: host.tempo,
            time_signature: host.time_sig_numerator.zip(host.time_sig_denominator),
            // VST3 gives the sample position; CLAP gives seconds, exact to a fraction of a
            // sample. (nice-plug's `pos_samples()` would also derive it from the rounded beats.)
            pos_samples: host.pos_samples.or_else(|| {
                host.pos_seconds
                    .map(|secs| (secs * f64::from(sample_rate_hz)).round() as i64)
            }),
            pos_beats: host.pos_beats,
            bar_start_pos_beats: host.bar_start_pos_beats,
        });
        // The block runs in segments split at the CCs that set parameters, so each acts at its
        // sample (nice-plug already splits at host automation).
        let frames = buffer.samples();
        let main = buffer.as_slice();
        let phones: &mut [&mut [f32]] = match aux.outputs.first_mut() {
            Some(phones) => phones.as_slice(),
            None => &mut [],
        };
        let mut changes = &self.param_changes[..];
        // A change timed past the block (a misbehaving host) acts on its last sample.
        let change_at =
            |change: &(u32, u16, Option<f32>)| (change.0 as usize).min(frames.saturating_sub(1));
        let mut start = 0;
        loop {
            while let Some((&(_, index, value), rest)) = changes.split_first()
                && change_at(&changes[0]) <= start
            {
                changes = rest;
                let Some(&param) = self.mappable.get(usize::from(index)) else {
                    continue;
                };
                let on = self.overrides.normalized(param) >= 0.5;
                let normalized = value.unwrap_or(if on { 0.0 } else { 1.0 });
                self.overrides.set(param, normalized);
                let report = ParamReport { index, normalized };
                let _ = self.midi_reports.params.push(report);
            }
            let end = changes.first().map_or(frames, change_at);
            let segment = &mut self.segment_commands;
            segment.clear();
            for timed in commands.iter() {
                let at = timed.offset_samples as usize;
                if at >= start && (at < end || end == frames) {
                    push_command(segment, (at - start) as u32, timed.command);
                }
            }
            // Command switches and track slots (host automation, CC values): a change acts at
            // the start of its segment.
            let overrides = &self.overrides;
            for ((on, command), was_on) in (self.params.commands.switches(overrides).into_iter())
                .zip(&mut self.command_switches)
            {
                if on && !*was_on {
                    push_command(segment, 0, command);
                }
                *was_on = on;
            }
            let slots = (self.params.tracks.each_ref()).map(|slot| slot.values(overrides));
            self.track_bank
                .changes(slots, |command| push_command(segment, 0, command));
            engine.set_settings(self.params.engine_settings(sample_rate_hz, overrides));
            let master_fx = self.params.master_fx.controls(overrides);
            if self.master_fx_sent != Some(master_fx) {
                for control in master_fx {
                    engine.master_fx(control);
                }
                self.master_fx_sent = Some(master_fx);
            }
            let (mut main_part, mut phones_part) = (channel_slices(), channel_slices());
            engine.process(
                sub_channels(main, start..end, &mut main_part),
                sub_channels(phones, start..end, &mut phones_part),
                segment,
            );
            start = end;
            if start >= frames {
                break;
            }
        }
        self.status_in.write(engine.status());
        ProcessStatus::KeepAlive
    }
}

/// Room for up to two channels' sub-slices.
fn channel_slices<'a>() -> [&'a mut [f32]; 2] {
    [&mut [], &mut []]
}

/// The `range` of each of `channels` (at most two), in `storage`. Realtime-safe.
fn sub_channels<'a>(
    channels: &'a mut [&mut [f32]],
    range: std::ops::Range<usize>,
    storage: &'a mut [&'a mut [f32]; 2],
) -> &'a mut [&'a mut [f32]] {
    let mut count = 0;
    for (slot, channel) in storage.iter_mut().zip(channels.iter_mut()) {
        *slot = &mut channel[range.clone()];
        count += 1;
    }
    &mut storage[..count]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_event_queue_holds_a_replay_of_every_parameter() {
        let params = LoopmateParams::default().param_map().len();
        assert!(
            params <= PARAM_CAPACITY,
            "{params} parameters: raise PARAM_CAPACITY"
        );
    }
}
