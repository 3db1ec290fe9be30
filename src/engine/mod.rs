//! The loop engine: framework-free. Slices in, slices out, plain commands.
//!
//! The audio thread owns an [`Engine`] and calls [`Engine::process`] once per host block. The
//! engine splits every block at the sample times of commands (and of its own scheduled actions),
//! so its output for the same input and commands never depends on the host's block size.
//!
//! Realtime: everything reachable from `process` is allocation-free, lock-free and wait-free.
//! Allocation happens in [`Engine::new`] (from the plugin's `activate()`) and in the
//! [`TrackPoolKeeper`] on a background thread.

mod action;
pub mod audio;
pub mod board;
pub mod capture;
pub mod clock_out;
pub mod command;
pub mod cycle;
pub mod denormals;
pub mod dub;
pub mod fx;
pub mod history;
pub mod host_clock;
pub mod input;
pub mod memory;
pub mod metronome;
pub mod mix;
pub mod oneshot;
pub mod pages;
pub mod pool;
pub mod provisional;
pub mod quantize;
pub mod ramp;
pub mod recorder;
pub mod restore;
pub mod schedule;
pub mod session;
pub mod session_event;
pub mod settings;
pub mod shared;
pub mod speed;
pub mod status;
pub mod sync;
pub mod take;
pub mod timed_input;
pub mod track;
pub mod track_controls;
pub mod track_list;
pub mod triggers;
pub mod undo;
pub mod varispeed;

use action::{Action, Interval};
pub use board::{BoardWriter, LoopBoard, MAX_TILES, TilePending, TileStatus};
use capture::{FILL_SPEED, FillProgress};
pub use clock_out::ClockMessage;
use clock_out::ClockOut;
use command::{
    Command, Repeat, TimedCommand, TrackControl, TrackTarget, TriggerAction, TriggerSpec,
    TriggerTime,
};
use cycle::{Cycle, HostGrid, WholeBeats};
use denormals::FlushDenormals;
use dub::Dubber;
use fx::chain::FxControl;
use history::History;
use host_clock::{HostClock, HostTransport};
use input::InputStage;
pub use input::{InputMode, MAX_INPUT_GAIN};
use metronome::BeatGrid;
use mix::{OutputLevels, OutputStage};
use pool::{Garbage, TrackPoolKeeper};
use recorder::Recorder;
use restore::Restores;
use schedule::Schedule;
use session::{SessionFeed, SessionOut};
use session_event::SessionEvent;
pub use settings::{
    CHUNK_FRAMES, DECLICK_SECS, EngineConfig, EngineSettings, RenderMode, declick_samples_at,
    ms_to_samples,
};
use shared::Shared;
pub use status::{
    EngineMessage, EngineStatus, PendingTrigger, RecordingState, SHOWN_TRACKS, SHOWN_TRIGGERS,
    SelectedStatus, TrackStatus,
};
use sync::HostSync;
pub use timed_input::{EngineInput, TimedInput};
use track::Track;
pub use track_controls::MAX_TRACK_GAIN;
use track_list::TrackList;
use undo::UndoLog;

use crate::analysis::worker::AnalysisLink;

pub use pool::track_pool;

/// Track slots reserved up front; the keeper provides larger lists as they fill, so this is not a
/// limit.
const INITIAL_TRACK_SLOTS: usize = 256;
/// Commands and scheduled actions that can wait at once.
const SCHEDULE_CAPACITY: usize = 1024;
/// Spare take buffers the keeper keeps ready.
pub const SPARE_TAKES: usize = 4;

/// The loop engine. Owned by the audio thread.
pub struct Engine {
    /// What the parts share: clock, history, cycle, tracks, pool, schedule, outputs, session.
    shared: Shared,
    /// Follows the host's transport from block to block (the source of `host_grid`).
    host_clock: HostClock,
    /// How the loops follow the host's bars (host sync).
    sync: HostSync,
    /// Record presses, the take and captures.
    recorder: Recorder,
    /// Overdub, replace and multiply.
    dubber: Dubber,
    /// The input of the current chunk, mapped, sanitized, scaled and metered.
    input: InputStage,
    /// Loop mix of the current chunk (stereo).
    loop_bus: [Box<[f32]>; 2],
    /// One track's signal while its effects run (stereo).
    track_scratch: [Box<[f32]>; 2],
    /// Restores and imports from the session mirror.
    restores: Restores,
    /// The MIDI clock following the anchor, and the block's clock messages.
    clock: ClockOut,
}

impl Engine {
    /// Allocates everything the engine will need: the history, the schedule, track slots and
    /// spare take storage. Returns the keeper that must be serviced from a background thread, or
    /// `None` when memory is short. Not realtime-safe: call from `activate()`.
    pub fn new(config: EngineConfig) -> Option<(Self, TrackPoolKeeper)> {
        varispeed::prepare_kernels();
        let channels = config.recorded_channels.clamp(1, 2);
        let history_frames = (config.history_secs.max(1.0) * config.sample_rate_hz) as usize;
        let history = History::try_new(channels, history_frames)?;
        let fx_memory_frames = fx::delay::delay_memory_frames(config.sample_rate_hz);
        let (pool, keeper) = track_pool(channels, history_frames, fx_memory_frames, SPARE_TAKES)?;
        let scratch = || vec![0.0; CHUNK_FRAMES].into_boxed_slice();
        let engine = Self {
            shared: Shared {
                config: EngineConfig {
                    recorded_channels: channels,
                    ..config
                },
                settings: EngineSettings::default(),
                now_samples: 0,
                history,
                cycle: None,
                host_grid: None,
                tracks: TrackList::with_capacity(INITIAL_TRACK_SLOTS),
                undo: UndoLog::allocated(),
                pool,
                schedule: Schedule::with_capacity(SCHEDULE_CAPACITY),
                output: OutputStage::new(config.sample_rate_hz, CHUNK_FRAMES),
                message: None,
                message_serial: 0,
                storage_refusals: 0,
                session: SessionOut::default(),
                analysis: None,
                render_mode: RenderMode::Realtime,
                one_shots: oneshot::OneShots::default(),
            },
            host_clock: HostClock::default(),
            sync: HostSync::default(),
            recorder: Recorder::default(),
            dubber: Dubber::new(history_frames),
            input: InputStage::new(channels, config.sample_rate_hz, CHUNK_FRAMES),
            loop_bus: [scratch(), scratch()],
            track_scratch: [scratch(), scratch()],
            restores: Restores::default(),
            clock: ClockOut::new(config.sample_rate_hz),
        };
        Some((engine, keeper))
    }

    /// Connects a session mirror: from now on the engine reports every change to the performance
    /// to it and installs the sessions it sends. Not realtime-safe (allocates the queues): call
    /// before the audio thread runs the engine.
    pub fn connect_session(&mut self) -> SessionFeed {
        self.shared.session.connect()
    }

    /// Connects the analysis worker (feed and results); record boundaries follow its onsets and
    /// beats from then on. Call from `activate()`; the old link is returned to be dropped there.
    pub fn attach_analysis(&mut self, mut link: AnalysisLink) -> Option<AnalysisLink> {
        link.set_offline(self.shared.render_mode == RenderMode::Offline);
        self.shared.analysis.replace(link)
    }

    /// Sets realtime or offline rendering (from the host's process mode, at activation).
    pub fn set_render_mode(&mut self, mode: RenderMode) {
        self.shared.render_mode = mode;
        if let Some(link) = &mut self.shared.analysis {
            link.set_offline(mode == RenderMode::Offline);
        }
    }

    /// The activation settings.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// Applies player settings; level changes ramp over the blend length. Realtime-safe.
    pub fn set_settings(&mut self, settings: EngineSettings) {
        self.shared.settings = settings;
        let blend = self.shared.blend_samples() as u32;
        let phones_delay_ms = settings
            .phones_delay_ms
            .clamp(0.0, mix::MAX_PHONES_DELAY_MS);
        self.shared.output.set_levels(
            OutputLevels {
                monitor: settings.monitor_gain,
                loops: settings.loop_gain,
                master: settings.master_gain,
                ceiling: settings.limiter_ceiling,
                phones_monitor: settings.phones_monitor_gain,
                phones_loops: settings.phones_loop_gain,
                phones: settings.phones_gain,
                phones_delay_samples: ms_to_samples(
                    phones_delay_ms,
                    self.shared.config.sample_rate_hz,
                ),
            },
            blend,
        );
        if settings.metronome_gain.is_finite() {
            self.shared.output.metronome.level = settings.metronome_gain.clamp(0.0, 2.0);
        }
        self.input.set_gain(settings.input_gain, blend);
    }

    /// Gives the engine what the host says about its transport at the start of the next block;
    /// the engine keeps a bar grid from it that the host's rounding cannot move. Realtime-safe.
    pub fn set_host_transport(&mut self, transport: &HostTransport) {
        let grid = (self.host_clock).grid(
            transport,
            self.shared.now_samples,
            self.shared.config.sample_rate_hz,
        );
        self.set_host_grid(grid);
    }

    /// Sets the host's bar grid for this block (`None`: the transport is stopped or unknown).
    /// The grid is in the engine's absolute time. Realtime-safe.
    pub fn set_host_grid(&mut self, grid: Option<HostGrid>) {
        self.shared.host_grid =
            grid.filter(|g| g.bar_length_samples >= 1.0 && g.quarter_samples > 0.0);
    }

    /// Applies a change to the master effects (on the PA's loop mix). Realtime-safe.
    pub fn master_fx(&mut self, control: FxControl) {
        let blend = self.shared.blend_samples() as u32;
        self.shared.output.master_fx(control, blend);
    }

    /// Points the metronome at the host's beats, else at the anchor cycle's: the beats beat
    /// quantization found in it, else `beats_per_cycle`.
    fn update_metronome_grid(&mut self) {
        self.shared.output.metronome.grid = match (self.shared.host_grid, self.shared.cycle) {
            (Some(host), _) => Some(BeatGrid {
                origin_samples: host.bar_origin_samples,
                beat_samples: host.bar_length_samples / f64::from(host.beats_per_bar.max(1)),
                beats_per_bar: host.beats_per_bar.max(1),
            }),
            (None, Some(cycle)) => {
                let beats = self.anchor_beats().map_or_else(
                    || self.shared.settings.beats_per_cycle.clamp(1, 64),
                    |beats| beats.beats.max(1),
                );
                Some(BeatGrid {
                    origin_samples: cycle.origin_samples as f64,
                    beat_samples: cycle.length_samples as f64 / f64::from(beats),
                    beats_per_bar: beats,
                })
            }
            (None, None) => None,
        };
    }

    /// Beats of the metronome's grid in one anchor cycle, when they divide it (within two
    /// samples: a host's beat is rarely a whole number of samples).
    fn cycle_beats(&self) -> Option<u32> {
        let (grid, cycle) = (self.shared.output.metronome.grid?, self.shared.cycle?);
        let beats = cycle.length_samples as f64 / grid.beat_samples;
        let whole = beats.round();
        (whole >= 1.0 && (beats - whole).abs() * grid.beat_samples <= 2.0).then_some(whole as u32)
    }

    /// Processes one block in place. `main` holds the input on entry (1 or 2 channels) and the
    /// PA mix on return; `phones` (0 or 2 channels) receives the headphone mix; `commands` are
    /// sorted by offset. [`Engine::process_inputs`] with commands only. Realtime-safe.
    pub fn process(
        &mut self,
        main: &mut [&mut [f32]],
        phones: &mut [&mut [f32]],
        commands: &[TimedCommand],
    ) {
        self.process_block(main, phones, commands.iter().map(|&timed| timed.into()));
    }

    /// Processes one block in place, as [`Engine::process`], with `inputs` sorted by offset:
    /// commands, and settings and master effect changes that act at their sample. The block is
    /// split there and nowhere else in the plugin (see [`timed_input`]). Realtime-safe.
    pub fn process_inputs(
        &mut self,
        main: &mut [&mut [f32]],
        phones: &mut [&mut [f32]],
        inputs: &[TimedInput],
    ) {
        self.process_block(main, phones, inputs.iter().copied());
    }

    /// The block in segments: each starts at a settings or effect change (or the block's start)
    /// and runs as a block of its own would, so a change acts as a block boundary there.
    fn process_block(
        &mut self,
        main: &mut [&mut [f32]],
        phones: &mut [&mut [f32]],
        inputs: impl Iterator<Item = TimedInput>,
    ) {
        // Decaying filter and delay states must not crawl through subnormals (see
        // `denormals.rs`), whatever mode the host or the standalone left the thread in.
        let _flush = FlushDenormals::new();
        let frames = main.first().map_or(0, |channel| channel.len());
        // An input timed past the block (a misbehaving host) acts on its last sample, one timed
        // before its segment (out of order) at the segment's start.
        let last = frames.saturating_sub(1);
        let offset_in =
            |timed: &TimedInput, start: usize| (timed.offset_samples as usize).clamp(start, last);
        let block_start = self.shared.now_samples;
        self.clock.begin_block();
        let mut inputs = inputs.peekable();
        let mut start = 0;
        loop {
            // The changes at the segment's start, in order.
            let due = |timed: &TimedInput| !timed.is_command() && offset_in(timed, start) <= start;
            while let Some(change) = inputs.next_if(due) {
                match change.input {
                    EngineInput::Settings(settings) => self.set_settings(settings),
                    EngineInput::MasterFx(control) => self.master_fx(control),
                    EngineInput::Command(_) => {} // not a change (see `due`)
                }
            }
            // The segment's commands, with its settings' input latency.
            while let Some(timed) = inputs.next_if(TimedInput::is_command) {
                if let EngineInput::Command(command) = timed.input {
                    let at = block_start
                        + offset_in(&timed, start) as u64
                        + u64::from(self.shared.settings.input_latency_samples);
                    self.shared.schedule_action(at, Action::Command(command));
                }
            }
            let end = inputs.peek().map_or(frames, |next| offset_in(next, start));
            self.begin_segment();
            self.run_segment(main, phones, start, end);
            start = end;
            if start >= frames && inputs.peek().is_none() {
                break;
            }
        }
        // Actions due exactly at the block's end run at the start of the next block, at the same
        // sample, so the split point is the same whatever the block size.
        self.shared.session.publish_time(self.shared.now_samples);
    }

    /// What runs at the start of every block (and of every segment a change starts): following
    /// the host, the keeper's deliveries and the session mirror's restores and imports.
    fn begin_segment(&mut self) {
        let take = self.recorder.take_mut();
        self.sync.follow_host(&mut self.shared, take);
        self.shared.pool.flush_backlog();
        self.shared.tracks.adopt_larger(&mut self.shared.pool);
        (self.restores).receive_restore(&mut self.shared, &mut self.recorder, &mut self.sync);
        Restores::receive_import(&mut self.shared, &mut self.sync);
        Restores::resync_if_due(&mut self.shared, &self.recorder, &self.sync);
    }

    /// Renders `[start, end)` of the block in chunks split at the scheduled actions' times.
    fn run_segment(
        &mut self,
        main: &mut [&mut [f32]],
        phones: &mut [&mut [f32]],
        start: usize,
        end: usize,
    ) {
        let mut done = start;
        while done < end {
            self.run_due_actions();
            let until_next_action = self
                .shared
                .schedule
                .next_time()
                .map_or(u64::MAX, |at| at - self.shared.now_samples);
            let run = (end - done)
                .min(CHUNK_FRAMES)
                .min(until_next_action.max(1) as usize);
            self.wait_for_pages_offline(run);
            self.render(main, phones, done, run);
            done += run;
        }
    }

    /// A fixed-size picture of the engine for the editor. Realtime-safe.
    pub fn status(&self) -> EngineStatus {
        let (triggers, pending_count) = triggers::pending(&self.shared.schedule);
        let mut tracks = [None; SHOWN_TRACKS];
        for (slot, track) in tracks.iter_mut().zip(self.playing_tracks()) {
            *slot = Some(self.track_status(track));
        }
        let selected = self.shared.tracks.selected_index().and_then(|index| {
            let track = self.playing_tracks().nth(index)?;
            Some(SelectedStatus {
                index,
                track: self.track_status(track),
                fx: track.fx.settings(),
            })
        });
        EngineStatus {
            tracks,
            selected,
            sample_rate_hz: self.shared.config.sample_rate_hz,
            now_samples: self.shared.now_samples,
            cycle_length_samples: self.shared.cycle.map(|c| c.length_samples),
            cycle_position_samples: self
                .shared
                .cycle
                .map_or(0, |c| c.position(self.shared.now_samples)),
            host_bars: self.sync.host_bars(&self.shared),
            host_grid: self.shared.host_grid,
            anchor_bpm: self.anchor_bpm(),
            cycle_beats: self.cycle_beats(),
            history_filled_secs: self
                .shared
                .now_samples
                .min(self.shared.history.capacity_frames() as u64)
                as f32
                / self.shared.config.sample_rate_hz,
            history_secs: self.shared.history.capacity_frames() as f32
                / self.shared.config.sample_rate_hz,
            track_count: self.playing_tracks().count(),
            redo_count: self.shared.undo.redo_count(),
            recording: self.recorder.recording_state(),
            dub: self.dubber.state(),
            mix_muted: self.shared.output.mix_muted(),
            pa_muted: self.shared.output.pa_muted(),
            pending_count,
            triggers,
            storage_refusals: self.shared.storage_refusals,
            bad_input_chunks: self.input.bad_chunks,
            limiter_gain: self.shared.output.limiter_gain(),
            input_peak: self.input.peak,
            input_clips: self.input.clips,
            message: self.shared.message,
            message_serial: self.shared.message_serial,
            one_shots: self.shared.one_shots.status(),
        }
    }

    /// What the editor shows of `track`.
    fn track_status(&self, track: &Track) -> TrackStatus {
        let cycle_length = self.shared.cycle.map_or(1, |c| c.length_samples.max(1));
        TrackStatus {
            id: track.id,
            cycles: (track.length_samples / cycle_length) as u32,
            length_samples: track.length_samples,
            speed: track.target_speed(),
            position_samples: track.position_at(self.shared.now_samples).index,
            gain: track.gain.target(),
            pan: track.pan.target(),
            muted: track.muted,
            soloed: track.soloed,
            filter_on: track.fx.filter_on(),
            drive_on: track.fx.drive_on(),
            delay_on: track.fx.delay_on(),
            reversed: track.reverse.target() > 0.0,
            layers: track.layers,
        }
    }

    /// The anchor cycle, if any.
    pub fn cycle(&self) -> Option<Cycle> {
        self.shared.cycle
    }

    /// Tracks currently in the mix (not undone or cleared), oldest first.
    pub fn playing_tracks(&self) -> impl Iterator<Item = &Track> {
        self.shared.tracks.playing()
    }

    /// Every track held that is complete and not on its way out (what the session mirror
    /// should hold), in order.
    #[cfg(test)]
    pub fn tracks_for_test(&self) -> impl Iterator<Item = &Track> {
        self.shared
            .tracks
            .iter()
            .filter(|t| t.fill.is_none() && t.state.in_session())
    }

    /// Edits undo can take back.
    #[cfg(test)]
    pub fn undo_count(&self) -> usize {
        self.shared.undo.undo_count()
    }

    /// Tracks held in memory: playing, kept for undo or redo, or fading out (what clearing an
    /// empty mix, which forgets the undo history, gives back).
    pub fn held_track_count(&self) -> usize {
        self.shared.tracks.len()
    }

    /// Where the recorder is.
    #[cfg(test)]
    pub fn recorder_phase(&self) -> recorder::Phase {
        self.recorder.phase()
    }

    /// The anchor's bars while the loops follow the host.
    #[cfg(test)]
    pub fn host_bars(&self) -> Option<u32> {
        self.sync.host_bars(&self.shared)
    }

    /// The MIDI clock messages (24 ppqn ticks, Start, Stop) of the block just processed, in time
    /// order, following the anchor's tempo (see [`clock_out`]); the standalone sends them to its
    /// MIDI output if the player wants it. Empty without an anchor whose beats are known.
    pub fn clock_out(&self) -> &[ClockMessage] {
        self.clock.messages()
    }

    /// The anchor's whole beats from beat quantization, while the cycle is that anchor's.
    pub fn anchor_beats(&self) -> Option<WholeBeats> {
        self.recorder.anchor_beats(self.shared.cycle)
    }

    /// The anchor's tempo from beat quantization, in BPM.
    pub fn anchor_bpm(&self) -> Option<f64> {
        self.anchor_beats().map(|beats| beats.bpm)
    }

    /// Absolute time of the next sample to process.
    pub fn now_samples(&self) -> u64 {
        self.shared.now_samples
    }

    // ----- internals, all realtime-safe -----

    fn run_due_actions(&mut self) {
        while let Some(action) = self.shared.schedule.pop_due(self.shared.now_samples) {
            match action {
                Action::Command(command) => self.execute(command),
                Action::StartTake => self.recorder.start_due(&mut self.shared),
                Action::StopTake => self.recorder.stop_due(&mut self.shared, &mut self.sync),
                Action::Capture => Recorder::capture(&mut self.shared, &mut self.sync),
                Action::Trigger {
                    action,
                    every,
                    remaining,
                } => self.fire_trigger(action, every, remaining),
                Action::RestartJump => self.restart_jump(),
                Action::HostAlign { fade_in } => {
                    let take = self.recorder.take_mut();
                    self.sync.host_align(&mut self.shared, take, fade_in);
                }
                Action::InstallSession => {
                    // The dubbed loop goes with the old session (a restored loop may have its id).
                    self.dubber.cancel(&mut self.shared);
                    (self.restores).install_due(
                        &mut self.shared,
                        &mut self.recorder,
                        &mut self.sync,
                    )
                }
                Action::QuantizeStart { press } => {
                    (self.recorder).decide_start(&mut self.shared, &mut self.sync, press)
                }
                Action::QuantizeStop { press, late_press } => {
                    (self.recorder).decide_stop(&mut self.shared, &mut self.sync, press, late_press)
                }
                Action::DubStart => self.dubber.start_due(&mut self.shared),
                Action::DubSwitch => self.dubber.switch_due(&mut self.shared),
                Action::DubDecide { press } => self.dubber.decide_start(&mut self.shared, press),
                Action::CaptureOneShot { target, press } => {
                    oneshot::decide_capture(&mut self.shared, target, press)
                }
            }
            // A crossfade an action ended or replaced leaves its version for the pool.
            (self.shared.tracks).retire_spent_audio(&mut self.shared.pool);
        }
    }

    /// Acts on a command at the current sample.
    fn execute(&mut self, command: Command) {
        let once_at_cycle_end = |action| {
            Command::Trigger(TriggerSpec {
                action,
                time: TriggerTime::NextCycle,
                repeat: Repeat::Once,
            })
        };
        match command {
            Command::RecordToggle => self.recorder.press(&mut self.shared, &mut self.sync),
            Command::Capture => Recorder::capture_pressed(&mut self.shared, &mut self.sync),
            Command::Undo => self.undo(),
            Command::Redo => self.redo(),
            Command::Clear => self.clear(),
            Command::ToggleMixMute => self.toggle_mix_mute(),
            Command::MuteMixAtCycleEnd => {
                self.execute(once_at_cycle_end(TriggerAction::ToggleMixMute))
            }
            Command::RecordNextCycle => {
                self.execute(once_at_cycle_end(TriggerAction::RecordCycleWithPaMuted))
            }
            Command::Restart => self.restart(),
            Command::LastTrackGainUp => {
                self.control_track(TrackTarget::Selected, TrackControl::ScaleGain(1.2))
            }
            Command::LastTrackGainDown => {
                self.control_track(TrackTarget::Selected, TrackControl::ScaleGain(0.8))
            }
            Command::ResetLastTrack => {
                self.control_track(TrackTarget::Selected, TrackControl::Reset)
            }
            Command::Track(target, control) => self.control_track(target, control),
            Command::Trigger(spec) => triggers::toggle(&mut self.shared, spec),
            Command::ToggleLastTrackDelay => self.control_track(
                TrackTarget::Selected,
                TrackControl::Fx(FxControl::ToggleDelay),
            ),
            Command::Select(select) => {
                (self.shared.tracks).select(select, &mut self.shared.session)
            }
            Command::Dub(kind) => self.dubber.press(&mut self.shared, kind),
            Command::CaptureOneShot(target) => oneshot::capture_pressed(&mut self.shared, target),
            command @ (Command::StrikeOneShot { .. }
            | Command::ClearOneShot(_)
            | Command::ClearOneShots) => oneshot::strike_or_clear(&mut self.shared, command),
        }
    }

    fn undo(&mut self) {
        // A dub in progress goes first: it is dropped, its loop as before.
        if !self.dubber.cancel(&mut self.shared) {
            undo::undo(&mut self.shared, &mut self.sync, &mut self.recorder);
        }
    }

    fn redo(&mut self) {
        undo::redo(&mut self.shared, &mut self.sync, &mut self.recorder);
    }

    fn clear(&mut self) {
        self.dubber.cancel(&mut self.shared);
        undo::clear(&mut self.shared, &mut self.sync, &mut self.recorder);
    }

    fn toggle_mix_mute(&mut self) {
        let muted = !self.shared.output.mix_muted();
        self.shared
            .output
            .set_mix_muted(muted, self.shared.blend_samples() as u32);
    }

    /// Fires a trigger: its action now, and its next firing.
    fn fire_trigger(&mut self, action: TriggerAction, every: Interval, remaining: Option<u32>) {
        match action {
            TriggerAction::ToggleMixMute => self.toggle_mix_mute(),
            TriggerAction::RecordCycleWithPaMuted => {
                self.recorder.record_cycle_muted(&mut self.shared)
            }
            TriggerAction::Restart => self.restart(),
            TriggerAction::RecordToggle => self.recorder.press(&mut self.shared, &mut self.sync),
            TriggerAction::Capture => Recorder::capture(&mut self.shared, &mut self.sync),
            TriggerAction::ToggleLoopMute { track_id } => {
                track_controls::apply_to_loop(&mut self.shared, track_id, TrackControl::ToggleMute)
            }
        }
        triggers::repeat(&mut self.shared, action, every, remaining);
    }

    fn restart(&mut self) {
        // Locked to the host, the loops are where the host's bars say; only the host moves them.
        if self.shared.cycle.is_none() || self.sync.host_locked(&self.shared) {
            return;
        }
        let declick = self.shared.declick_samples();
        self.shared.output.fade_loops_out(declick as u32);
        self.shared.schedule.cancel(|a| *a == Action::RestartJump);
        self.shared.schedule_action(
            self.shared.now_samples + declick as u64,
            Action::RestartJump,
        );
    }

    /// Moves every loop back to the start of the longest loop's cycle, then fades them in.
    fn restart_jump(&mut self) {
        let Some(cycle) = self.shared.cycle else {
            return;
        };
        let longest = self
            .playing_tracks()
            .map(|track| track.period_samples())
            .max()
            .unwrap_or(cycle.length_samples);
        let shift = (self.shared.now_samples as i128 - cycle.origin_samples as i128)
            .rem_euclid(longest as i128) as u64;
        let current = self.shared.undo.on_current_grid();
        for track in self.shared.tracks.iter_mut().filter(|track| current(track)) {
            track.origin_samples += shift;
        }
        self.shared.session.tell(SessionEvent::Shifted {
            shift_samples: shift,
        });
        self.shared.set_cycle(Some(Cycle {
            origin_samples: cycle.origin_samples + shift,
            ..cycle
        }));
        self.sync.loops_restarted(&mut self.shared, shift);
        self.shared
            .output
            .fade_loops_in(self.shared.blend_samples() as u32);
    }

    /// Applies a control to a loop (a removal is an edit of the mix: the undo history's).
    fn control_track(&mut self, target: TrackTarget, control: TrackControl) {
        match control {
            TrackControl::Remove => {
                undo::remove_loop(&mut self.shared, &mut self.sync, &mut self.recorder, target)
            }
            _ => track_controls::apply(&mut self.shared, target, control),
        }
    }

    /// Renders `frames` frames at offset `at` of the host block.
    fn render(
        &mut self,
        main: &mut [&mut [f32]],
        phones: &mut [&mut [f32]],
        at: usize,
        frames: usize,
    ) {
        let channels = self.shared.config.recorded_channels;
        let beats = self.anchor_beats();
        (self.clock).advance(
            self.shared.cycle,
            beats,
            self.shared.now_samples,
            frames,
            at,
        );
        self.input
            .read(main, at, frames, self.shared.settings.input_mode);
        // The PA is quiet while a take that asks for it records; the chunk starts where the
        // take starts or stops, so the mute ramp begins on exactly that sample.
        let pa_quiet = self.recorder.pa_quiet(&self.shared.settings);
        self.shared
            .output
            .set_pa_muted(pa_quiet, self.shared.blend_samples() as u32);
        self.update_metronome_grid();
        let input = self.input.chunk(frames);
        self.shared.history.write(&input[..channels]);
        if let Some(analysis) = &mut self.shared.analysis {
            analysis
                .feed
                .push(self.shared.now_samples, &input[..channels]);
        }
        let take_ran_out = !(self.recorder).append(&input[..channels], &mut self.shared.pool);

        let declick = self.shared.declick_samples() as u64;
        let (mut fill_ran_out, mut delay_waits) = (false, false);
        let [bus_0, bus_1] = &mut self.loop_bus;
        let mut bus: [&mut [f32]; 2] = [&mut bus_0[..frames], &mut bus_1[..frames]];
        bus[0].fill(0.0);
        bus[1].fill(0.0);
        self.dubber.before_mix(&mut self.shared, frames);
        for track in &mut self.shared.tracks {
            // What the next frames read (more at a speed above 1, and the filter's reach).
            let (playhead, read_frames) = track.read_window(self.shared.now_samples, frames as u64);
            if let Some(fill) = &mut track.fill {
                // Copy ahead of the playhead before it plays.
                let budget = (frames as u64 * FILL_SPEED).max(read_frames);
                match fill.advance(
                    &mut track.buffer,
                    &self.shared.history,
                    playhead,
                    budget,
                    &mut self.shared.pool,
                ) {
                    FillProgress::Complete => {
                        track.fill = None;
                        if track.state.in_session() {
                            self.shared.session.track_added(track);
                        }
                    }
                    FillProgress::Copying => {}
                    FillProgress::OutOfPages => fill_ran_out = true,
                }
            }
            if track.fx.delay_on() && !track.buffer.has_fx_memory() {
                // Delay memory comes when a loop's delay is first switched on; until the keeper
                // has one ready the loop plays dry.
                match self.shared.pool.take_delay_memory() {
                    Some(memory) => track.buffer.set_fx_memory(memory),
                    None => delay_waits = true,
                }
            }
            track.mix_into(
                self.shared.now_samples,
                &mut bus,
                &mut self.track_scratch,
                declick,
            );
            if let Some(audio) = track.take_spent_audio() {
                self.shared.pool.retire(Garbage::Audio(audio));
            }
        }
        self.dubber.after_mix(&mut self.shared, frames);
        let [left, right] = &mut self.track_scratch;
        let scratch = [&mut left[..frames], &mut right[..frames]];
        (self.recorder).mix_provisional(&self.shared, &mut bus, scratch);
        let Shared {
            one_shots,
            history,
            pool,
            session,
            ..
        } = &mut self.shared;
        fill_ran_out |= !one_shots.advance_fills(history, frames, pool, session);
        one_shots.mix_into(&mut bus, frames, pool);

        let monitor_right = if channels == 2 { 1 } else { 0 };
        self.shared.output.mix(
            [input[0], input[monitor_right]],
            [&bus[0][..], &bus[1][..]],
            main,
            phones,
            at,
            self.shared.now_samples,
        );

        self.shared.now_samples += frames as u64;
        self.shared.tracks.hand_back_faded(&mut self.shared.pool);
        if take_ran_out {
            // Out of pages: the take ends cleanly at its last page; the loops play on.
            self.shared
                .storage_shortfall(EngineMessage::TakeOutOfStorage);
            (self.recorder).out_of_pages(&mut self.shared, &mut self.sync);
        }
        if fill_ran_out {
            self.shared
                .storage_shortfall(EngineMessage::CaptureOutOfStorage);
        }
        if delay_waits {
            self.shared
                .storage_shortfall(EngineMessage::DelayOutOfStorage);
        }
    }

    /// Offline rendering only (it may sleep): waits until the keeper has the pages ready that
    /// the next `frames` of the take and of the filling captures may take, so that a bounce,
    /// however fast, loses nothing for lack of memory. Realtime: returns at once.
    fn wait_for_pages_offline(&mut self, frames: usize) {
        if self.shared.render_mode != RenderMode::Offline {
            return;
        }
        let channels = self.shared.config.recorded_channels;
        // A run may straddle a page boundary: one page more per channel.
        let pages_for = |frames: usize| channels * (pages::pages_for(frames) + 1);
        let take = (self.recorder.is_recording())
            .then(|| pages_for(frames) + pages_for(self.shared.blend_samples()));
        let take = take.unwrap_or(0);
        let fills: usize = (self.shared.tracks.iter())
            .filter(|track| track.fill.is_some())
            .map(|track| pages_for((frames as u64 * FILL_SPEED).min(track.length_samples) as usize))
            .sum();
        let needed = (take + fills).min(pool::PAGE_RESERVE);
        if self.shared.pool.pages_ready() < needed {
            self.shared.pool.wait_offline(needed, false);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
