//! The host side of the audio thread: one block of what nice-plug delivers (MIDI notes and CCs
//! through the MIDI map, parameter values under their CC overrides, the editor's presses, the
//! demo player, the transport) translated into engine input in one pass.
//!
//! The result is a list of [`TimedInput`]s sorted by offset. A CC that sets a parameter is a
//! change point: the settings, master effects, command switches, loop selection and track
//! banks are read again there and go to the engine at that sample, after the parameter changes
//! due there and before the commands. The engine splits the block at those points (and at its
//! own scheduled times); nothing here splits it.
//!
//! Realtime: [`Host::translate`] never allocates, locks or waits; its lists are allocated in
//! [`Host::new`] with fixed capacities, and what does not fit is dropped.

use std::sync::Arc;

use nice_plug::prelude::*;

use crate::demo::DemoPlayer;
use crate::engine::command::{Command, TimedCommand, TrackTarget};
use crate::engine::fx::chain::FxControl;
use crate::engine::host_clock::HostTransport;
use crate::engine::{Engine, EngineInput, TimedInput};
use crate::midi_link::{AudioReports, ParamReport};
use crate::midi_map::{Action, MidiMap, MidiMessage, MidiRouter};
use crate::param_overrides::ParamOverrides;
use crate::params::{LoopmateParams, SWITCH_COUNT, TRACK_SLOTS};
use crate::track_bank::{SelectedValues, SlotValues, TrackBank};

/// Commands (editor, MIDI, demo) one block can carry.
pub const BLOCK_COMMAND_CAPACITY: usize = 1024;
/// CC parameter changes one block can carry.
pub const PARAM_CHANGE_CAPACITY: usize = 1024;
/// Engine inputs one block can carry: its commands, and at each change point the settings, the
/// master effects and the commands of switches and track slots. No host sends that many.
pub const INPUT_CAPACITY: usize = 4 * BLOCK_COMMAND_CAPACITY;

/// A value a CC sets for a parameter the MIDI map targets.
#[derive(Debug, Clone, Copy)]
struct ParamChange {
    /// Offset in the block.
    offset_samples: u32,
    /// Index in [`crate::params::mappable_param_ids`].
    index: u16,
    /// Normalized value, or `None` to toggle.
    value: Option<f32>,
}

/// One block's engine input.
#[derive(Debug)]
pub struct BlockInput<'a> {
    /// What the host says about its transport at the start of the block.
    pub transport: HostTransport,
    /// Commands, settings and master effect changes, sorted by offset.
    pub inputs: &'a [TimedInput],
}

/// Translates nice-plug's events, parameters and transport into engine input. Owned by the
/// plugin, used on the audio thread.
pub struct Host {
    /// Host-visible parameters.
    params: Arc<LoopmateParams>,
    /// The MIDI map (the latest the editor or the state published).
    midi_map: triple_buffer::Output<MidiMap>,
    /// MIDI map lookups and each CC's side of the trigger threshold.
    midi_router: MidiRouter,
    /// The parameters MIDI bindings target, by index (see `params::mappable_param_ids`).
    mappable: Box<[ParamPtr]>,
    /// Messages heard while the editor learns, and CC parameter values, to the editor.
    midi_reports: AudioReports,
    /// Commands from the editor.
    editor_commands: rtrb::Consumer<Command>,
    /// Parameter values set by MIDI CCs over the host's.
    overrides: ParamOverrides,
    /// The command switches' states at the last change point (a command fires on off -> on).
    command_switches: [bool; SWITCH_COUNT],
    /// The `select_loop` value at the last change point (`None` before the first block: a
    /// value the project opens with selects nothing).
    select_loop: Option<i32>,
    /// The track bank parameters' values last sent to the engine.
    track_bank: TrackBank<SlotValues, TRACK_SLOTS>,
    /// The selected-loop bank's values last sent to the engine.
    selected_bank: TrackBank<SelectedValues, 1>,
    /// The master effect settings last sent to the engine.
    master_fx_sent: Option<[FxControl; 4]>,
    /// The scripted player of `loopmate --demo`, replacing the input (standalone only).
    demo: Option<DemoPlayer>,
    /// This block's commands from the editor, MIDI and the demo, sorted by offset (stable).
    commands: Vec<TimedCommand>,
    /// This block's CC parameter changes, in the order they came.
    param_changes: Vec<ParamChange>,
    /// This block's engine input.
    inputs: Vec<TimedInput>,
}

impl Host {
    /// The host side for `params`, with the editor's command queue and the audio thread's ends of
    /// the MIDI reports. Takes the MIDI map's audio end from `params`. Not realtime-safe.
    pub fn new(
        params: Arc<LoopmateParams>,
        editor_commands: rtrb::Consumer<Command>,
        midi_reports: AudioReports,
    ) -> Self {
        let midi_map = (params.midi_map.take_audio_end()).expect("a new map's audio end is there");
        let mappable = params.mappable_params().into_iter().map(|(_, ptr)| ptr);
        Self {
            midi_map,
            midi_router: MidiRouter::default(),
            mappable: mappable.collect(),
            midi_reports,
            editor_commands,
            overrides: ParamOverrides::default(),
            command_switches: [false; SWITCH_COUNT],
            select_loop: None,
            track_bank: TrackBank::default(),
            selected_bank: TrackBank::default(),
            master_fx_sent: None,
            demo: None,
            commands: Vec::with_capacity(BLOCK_COMMAND_CAPACITY),
            param_changes: Vec::with_capacity(PARAM_CHANGE_CAPACITY),
            inputs: Vec::with_capacity(INPUT_CAPACITY),
            params,
        }
    }

    /// A new engine at `sample_rate_hz`: the master effects are sent again, and the demo player
    /// (if the standalone runs the demo) starts.
    pub fn activate(&mut self, sample_rate_hz: f32) {
        self.master_fx_sent = None;
        self.demo = crate::demo::enabled().map(|script| DemoPlayer::new(script, sample_rate_hz));
    }

    /// Translates one block: `engine` is read for its time and sample rate, the demo player (if
    /// on) writes its input into `buffer`. Realtime-safe.
    pub fn translate<P: Plugin>(
        &mut self,
        engine: &Engine,
        buffer: &mut Buffer,
        context: &mut impl ProcessContext<P>,
    ) -> BlockInput<'_> {
        let frames = buffer.samples();
        let sample_rate_hz = engine.config().sample_rate_hz;
        self.commands.clear();
        self.param_changes.clear();
        self.overrides.refresh();
        // Editor presses act at the start of the block, MIDI at its sample.
        while let Ok(command) = self.editor_commands.pop() {
            push_command(&mut self.commands, 0, command);
        }
        // MIDI through the map: commands at their sample, CC values for parameters.
        let map = self.midi_map.read();
        while let Some(event) = context.next_event() {
            let Some((timing, message)) = midi_message(&event) else {
                continue;
            };
            self.midi_reports.heard(message);
            let (MidiMessage::NoteOn { channel, .. } | MidiMessage::Cc { channel, .. }) = message;
            let omni_listens = self.params.listens_on(Some(channel));
            let (index, value) = match self.midi_router.route(map, message, omni_listens) {
                Some(Action::Command(command)) => {
                    push_command(&mut self.commands, timing, command);
                    continue;
                }
                Some(Action::SetParam { index, normalized }) => (index, Some(normalized)),
                Some(Action::ToggleParam { index }) => (index, None),
                None => continue,
            };
            if self.param_changes.len() < self.param_changes.capacity() {
                self.param_changes.push(ParamChange {
                    offset_samples: timing,
                    index,
                    value,
                });
            }
        }
        if let Some(demo) = &self.demo {
            let start = engine.now_samples();
            for channel in buffer.as_slice().iter_mut() {
                for (t, sample) in (start..).zip(channel.iter_mut()) {
                    *sample = demo.input(t);
                }
            }
            // A press aimed at a loop by its place in the mix goes to that loop's id.
            let loop_id = |n: u32| {
                engine
                    .playing_tracks()
                    .nth(n as usize)
                    .map(|track| track.id)
            };
            for (offset, command) in demo.presses_in(start, frames, loop_id) {
                push_command(&mut self.commands, offset, command);
            }
        }
        self.change_points(frames, sample_rate_hz);
        BlockInput {
            transport: host_transport(context.transport(), sample_rate_hz),
            inputs: &self.inputs,
        }
    }

    /// Builds `inputs`: the block's start and each CC parameter change is a change point, where
    /// the parameters' settings, master effects, switches and track slots are read (after the
    /// changes due there) and sent at its sample; the commands follow in time order, a point's
    /// switches and slots after the commands at its sample.
    fn change_points(&mut self, frames: usize, sample_rate_hz: f32) {
        self.inputs.clear();
        // A change timed past the block (a misbehaving host) acts on its last sample.
        let change_at =
            |change: &ParamChange| (change.offset_samples as usize).min(frames.saturating_sub(1));
        let (mut next_change, mut next_command) = (0, 0);
        let mut start = 0;
        loop {
            while let Some(change) = self.param_changes.get(next_change)
                && change_at(change) <= start
            {
                next_change += 1;
                self.apply(*change);
            }
            let end = self
                .param_changes
                .get(next_change)
                .map_or(frames, change_at);
            let point = start as u32;
            let overrides = &self.overrides;
            let settings = self.params.engine_settings(sample_rate_hz, overrides);
            push_input(&mut self.inputs, point, EngineInput::Settings(settings));
            let master_fx = self.params.master_fx.controls(overrides);
            if self.master_fx_sent != Some(master_fx) {
                for control in master_fx {
                    push_input(&mut self.inputs, point, EngineInput::MasterFx(control));
                }
                self.master_fx_sent = Some(master_fx);
            }
            // The commands before `before`, in time order.
            let mut commands_before = |inputs: &mut Vec<TimedInput>, before: usize| {
                while let Some(timed) = self.commands.get(next_command)
                    && (timed.offset_samples as usize) < before
                {
                    next_command += 1;
                    let command = EngineInput::Command(timed.command);
                    push_input(inputs, timed.offset_samples, command);
                }
            };
            // The commands at this point's sample, then its switches' and track slots'.
            commands_before(&mut self.inputs, start + 1);
            for ((on, command), was_on) in (self.params.commands.switches(overrides).into_iter())
                .zip(&mut self.command_switches)
            {
                if on && !*was_on {
                    push_input(&mut self.inputs, point, EngineInput::Command(command));
                }
                *was_on = on;
            }
            // A loop selected here, then the banks: a selected-loop value changing at the same
            // sample goes to the loop selected there.
            let (select_loop, command) = self.params.commands.select_loop(overrides);
            if let (Some(before), Some(command)) = (self.select_loop, command)
                && before != select_loop
            {
                push_input(&mut self.inputs, point, EngineInput::Command(command));
            }
            self.select_loop = Some(select_loop);
            let slots = (self.params.tracks.each_ref()).map(|slot| slot.values(overrides));
            let slot = |n: usize| TrackTarget::Index(n as u32);
            self.track_bank.changes(slots, slot, |command| {
                push_input(&mut self.inputs, point, EngineInput::Command(command));
            });
            let selected = [self.params.selected.values(overrides, sample_rate_hz)];
            (self.selected_bank).changes(
                selected,
                |_| TrackTarget::Selected,
                |command| {
                    push_input(&mut self.inputs, point, EngineInput::Command(command));
                },
            );
            // Then the rest up to the next change point; the last point takes every command left
            // (timed past the block, they act on its last sample).
            commands_before(
                &mut self.inputs,
                if end == frames { usize::MAX } else { end },
            );
            start = end;
            if start >= frames {
                break;
            }
        }
    }

    /// Sets the parameter a CC changed (over the host's value) and tells the editor.
    fn apply(&mut self, change: ParamChange) {
        let Some(&param) = self.mappable.get(usize::from(change.index)) else {
            return;
        };
        let on = self.overrides.normalized(param) >= 0.5;
        let normalized = change.value.unwrap_or(if on { 0.0 } else { 1.0 });
        self.overrides.set(param, normalized);
        let report = ParamReport {
            index: change.index,
            normalized,
        };
        let _ = self.midi_reports.params.push(report);
    }
}

/// The MIDI message of a note-on or CC event, at its offset.
fn midi_message<S>(event: &NoteEvent<S>) -> Option<(u32, MidiMessage)> {
    match *event {
        NoteEvent::NoteOn {
            timing,
            key,
            channel,
            velocity,
            ..
        } => match (key.number(), channel.number()) {
            (Some(note), Some(channel)) => {
                // The framework's 0..1 velocity, back to MIDI's 1-127 (a note-on is never 0).
                let velocity = (velocity * 127.0).round().clamp(1.0, 127.0) as u8;
                let message = MidiMessage::NoteOn {
                    channel,
                    note,
                    velocity,
                };
                Some((timing, message))
            }
            _ => None,
        },
        NoteEvent::MidiCC {
            timing,
            channel,
            cc,
            value,
        } => MidiMessage::cc(channel, cc, value).map(|message| (timing, message)),
        _ => None,
    }
}

/// The engine's view of nice-plug's transport at `sample_rate_hz`.
fn host_transport(host: &Transport, sample_rate_hz: f32) -> HostTransport {
    HostTransport {
        playing: host.playing,
        tempo_bpm: host.tempo,
        time_signature: host.time_sig_numerator.zip(host.time_sig_denominator),
        // VST3 gives the sample position; CLAP gives seconds, exact to a fraction of a sample.
        // (nice-plug's `pos_samples()` would also derive it from the rounded beats.)
        pos_samples: host.pos_samples.or_else(|| {
            host.pos_seconds
                .map(|secs| (secs * f64::from(sample_rate_hz)).round() as i64)
        }),
        pos_beats: host.pos_beats,
        bar_start_pos_beats: host.bar_start_pos_beats,
    }
}

/// Inserts a command after every command at or before its offset, unless the block's list is
/// full (never reallocates on the audio thread). Commands come nearly in order: usually this
/// appends.
fn push_command(commands: &mut Vec<TimedCommand>, offset_samples: u32, command: Command) {
    if commands.len() < commands.capacity() {
        let index = commands.partition_point(|timed| timed.offset_samples <= offset_samples);
        let timed = TimedCommand {
            offset_samples,
            command,
        };
        commands.insert(index, timed);
    }
}

/// Appends an input unless the block's list is full (never reallocates on the audio thread).
fn push_input(inputs: &mut Vec<TimedInput>, offset_samples: u32, input: EngineInput) {
    if inputs.len() < inputs.capacity() {
        inputs.push(TimedInput {
            offset_samples,
            input,
        });
    }
}
