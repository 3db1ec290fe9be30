//! The loop engine: framework-free. Slices in, slices out, plain commands.
//!
//! The audio thread owns an [`Engine`] and calls [`Engine::process`] once per host block. The
//! engine splits every block at the sample times of commands (and of its own scheduled actions),
//! so its output for the same input and commands never depends on the host's block size.
//!
//! Realtime: everything reachable from `process` is allocation-free, lock-free and wait-free.
//! Allocation happens in [`Engine::new`] (from the plugin's `activate()`) and in the
//! [`TrackPoolKeeper`] on a background thread.

pub mod audio;
pub mod capture;
pub mod command;
pub mod cycle;
pub mod denormals;
pub mod fx;
pub mod history;
pub mod host_clock;
pub mod input;
pub mod memory;
pub mod metronome;
pub mod mix;
pub mod pages;
pub mod pool;
pub mod quantize;
pub mod ramp;
pub mod schedule;
pub mod session;
pub mod session_event;
pub mod status;
pub mod sync;
pub mod take;
pub mod timed_input;
pub mod track;
pub mod track_list;

use capture::{FILL_SPEED, FillProgress, HistoryFill};
use command::{
    Command, Repeat, TimedCommand, TrackControl, TrackTarget, TriggerAction, TriggerSpec,
    TriggerTime,
};
use cycle::{Cycle, HostGrid};
use denormals::FlushDenormals;
use fx::chain::{FxChain, FxControl};
use history::History;
use host_clock::{HostClock, HostTransport};
use input::InputStage;
pub use input::{InputMode, MAX_INPUT_GAIN};
use metronome::BeatGrid;
use mix::{OutputLevels, OutputStage};
use pool::{Garbage, TrackPool, TrackPoolKeeper};
use quantize::{QuantizeMode, QuantizeState};
use schedule::Schedule;
use session::{RestoredSession, SessionFeed, SessionOut};
use session_event::{SessionEvent, TrackRecord};
pub use status::{
    EngineMessage, EngineStatus, PendingTrigger, RecordingState, SHOWN_TRACKS, SHOWN_TRIGGERS,
    TrackStatus,
};
use sync::{HostSync, SyncSettings};
use take::Take;
pub use timed_input::{EngineInput, TimedInput};
use track::{Track, TrackState};
use track_list::TrackList;

use crate::analysis::worker::AnalysisLink;

pub use pool::track_pool;

/// Frames processed at a time internally (the scratch buffers' size).
const CHUNK_FRAMES: usize = 256;
/// Track slots reserved up front; the keeper provides larger lists as they fill, so this is not a
/// limit.
const INITIAL_TRACK_SLOTS: usize = 256;
/// Commands and scheduled actions that can wait at once.
const SCHEDULE_CAPACITY: usize = 1024;
/// Spare take buffers the keeper keeps ready.
pub const SPARE_TAKES: usize = 4;
/// Shortest anchor loop accepted, in seconds (a double tap is not a loop).
const MIN_ANCHOR_SECS: f32 = 0.1;
/// Fade used around a restart's jump, a re-alignment and a loop restarting before or after its
/// audio ends, in seconds.
pub const DECLICK_SECS: f32 = 0.005;
/// Highest track gain reachable with gain-up presses (+12 dB).
pub const MAX_TRACK_GAIN: f32 = 4.0;

/// Fixed at activation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineConfig {
    /// Sample rate in Hz.
    pub sample_rate_hz: f32,
    /// Input channels the host delivers (1 with the mono-in layout, else 2), and so the
    /// channels the history and the tracks record. A buffer may hold more channels than this
    /// (a mono input comes in the first of two): only these are input.
    pub recorded_channels: usize,
    /// Length of the always-on history in seconds; also the longest take.
    pub history_secs: f32,
}

/// Player settings, read at every block (from the host's parameters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineSettings {
    /// Seam crossfade and fade/ramp length in milliseconds.
    pub blend_ms: f32,
    /// Distance in milliseconds within which record presses snap to a cycle boundary.
    pub lenience_ms: f32,
    /// Input gain (linear), applied before the history: recordings and the monitors follow it.
    pub input_gain: f32,
    /// Input monitor level on the PA (linear gain).
    pub monitor_gain: f32,
    /// Loop mix level on the PA (linear gain).
    pub loop_gain: f32,
    /// Master gain of the PA before its limiter (linear gain).
    pub master_gain: f32,
    /// Limiter ceiling of the PA (linear, e.g. 0.966 for -0.3 dBFS).
    pub limiter_ceiling: f32,
    /// Mute the PA while a take records (the headphones keep playing).
    pub pa_mute_while_recording: bool,
    /// Input level in the headphones (linear gain).
    pub phones_monitor_gain: f32,
    /// Loop level in the headphones (linear gain).
    pub phones_loop_gain: f32,
    /// Headphone output level (linear gain).
    pub phones_gain: f32,
    /// Headphone delay in milliseconds (0..=100), to line the in-ear mix up with the PA.
    pub phones_delay_ms: f32,
    /// Metronome click level in the headphones (linear; 0 = off).
    pub metronome_gain: f32,
    /// Beats in one anchor cycle, for the metronome when the host gives no tempo.
    pub beats_per_cycle: u32,
    /// Which input channels are recorded and monitored.
    pub input_mode: InputMode,
    /// Input latency in samples: commands act this much later, when the audio the player was
    /// playing at the press reaches the plugin.
    pub input_latency_samples: u32,
    /// Cycles a capture takes from the history (1, 2, 4 or 8).
    pub capture_cycles: u32,
    /// Host sync: free or following the host's bars, the anchor's bar count, transport stop.
    pub sync: SyncSettings,
    /// How the anchor's record boundaries follow onsets and beats.
    pub quantize_mode: QuantizeMode,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            blend_ms: 50.0,
            lenience_ms: 200.0,
            input_gain: 1.0,
            monitor_gain: 1.0,
            loop_gain: 1.0,
            master_gain: 1.0,
            limiter_ceiling: 1.0,
            pa_mute_while_recording: false,
            phones_monitor_gain: 1.0,
            phones_loop_gain: 1.0,
            phones_gain: 1.0,
            phones_delay_ms: 0.0,
            metronome_gain: 0.0,
            beats_per_cycle: 4,
            input_mode: InputMode::Stereo,
            input_latency_samples: 0,
            capture_cycles: 1,
            sync: SyncSettings::default(),
            quantize_mode: QuantizeMode::Onset,
        }
    }
}

/// How the host runs the engine (from nice-plug's process mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RenderMode {
    /// Live, at the pace of the audio interface: the audio thread never waits; a late analysis
    /// worker makes quantization fall back to the press.
    #[default]
    Realtime,
    /// An offline bounce, possibly much faster than real time: where a decision needs the
    /// analysis, the engine waits for the worker (and the feed never drops input), so the
    /// result does not depend on thread speed.
    Offline,
}

/// What a repeating trigger waits for between firings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interval {
    /// The next anchor cycle boundary.
    Cycle,
    /// The next host bar.
    Bar,
}

/// What waits in the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    /// A command from MIDI, the editor or a parameter, delayed by the input latency.
    Command(Command),
    /// Start a take (a press snapped forward to a boundary).
    StartTake,
    /// Stop the take (snapped forward to a boundary, one cycle of a PA-muted take, or the length
    /// limit).
    StopTake,
    /// Capture ending at this boundary (it was ahead when pressed).
    Capture,
    /// A player's trigger; `remaining` firings left (`None`: forever), repeating every `every`.
    Trigger {
        action: TriggerAction,
        every: Interval,
        remaining: Option<u32>,
    },
    /// The jump of a restart, after its declick fade-out.
    RestartJump,
    /// Host sync: align the loops to the host's bars (fading them in after a jump's fade-out).
    HostAlign { fade_in: bool },
    /// Swap in the restored session waiting in `pending_install`, after a declick fade-out.
    InstallSession,
    /// Decide where a take pressed at `press` starts (onset quantization).
    QuantizeStart { press: u64 },
    /// Decide where a take whose stop was pressed at `press` ends (onset/beat quantization).
    QuantizeStop { press: u64 },
}

/// The loop engine. Owned by the audio thread.
pub struct Engine {
    /// Activation settings.
    config: EngineConfig,
    /// Current player settings.
    settings: EngineSettings,
    /// Absolute time of the next sample to process.
    now_samples: u64,
    /// Always-on input history.
    history: History,
    /// The anchor cycle, once there is an anchor.
    cycle: Option<Cycle>,
    /// The host's bar grid while its transport plays.
    host_grid: Option<HostGrid>,
    /// Follows the host's transport from block to block (the source of `host_grid`).
    host_clock: HostClock,
    /// How the loops follow the host's bars (host sync).
    sync: HostSync,
    /// Every track: playing, kept for redo, or fading out to be handed back.
    tracks: TrackList,
    /// The take being recorded.
    take: Option<Take>,
    /// Whether the current take mutes the PA.
    take_mutes_pa: bool,
    /// Spare take storage, larger track lists, and the way out for what is no longer needed.
    pool: TrackPool,
    /// Commands and actions waiting for their sample.
    schedule: Schedule<Action>,
    /// The PA and headphone outputs: gains, master effects, limiter, delay, metronome.
    output: OutputStage,
    /// The input of the current chunk, mapped, sanitized, scaled and metered.
    input: InputStage,
    /// Loop mix of the current chunk (stereo).
    loop_bus: [Box<[f32]>; 2],
    /// One track's signal while its effects run (stereo).
    track_scratch: [Box<[f32]>; 2],
    /// Latest message for the editor.
    message: Option<EngineMessage>,
    /// Increments with every message.
    message_serial: u64,
    /// New takes or captures refused because no storage was ready.
    storage_refusals: u64,
    /// The link to the session mirror (what gets saved) and restores from it.
    session: SessionOut,
    /// A restored session waiting for the fade-out before it is swapped in.
    pending_install: Option<Box<RestoredSession>>,
    /// The analysis worker's feed and results, once attached.
    analysis: Option<AnalysisLink>,
    /// Pending onset/beat quantization, and the anchor's beats.
    quantize: QuantizeState,
    /// Realtime or offline rendering (offline, analysis decisions wait for the worker).
    render_mode: RenderMode,
}

impl Engine {
    /// Allocates everything the engine will need: the history, the schedule, track slots and
    /// spare take storage. Returns the keeper that must be serviced from a background thread, or
    /// `None` when memory is short. Not realtime-safe: call from `activate()`.
    pub fn new(config: EngineConfig) -> Option<(Self, TrackPoolKeeper)> {
        let channels = config.recorded_channels.clamp(1, 2);
        let history_frames = (config.history_secs.max(1.0) * config.sample_rate_hz) as usize;
        let history = History::try_new(channels, history_frames)?;
        let fx_memory_frames = fx::delay::delay_memory_frames(config.sample_rate_hz);
        let (pool, keeper) = track_pool(channels, history_frames, fx_memory_frames, SPARE_TAKES)?;
        let scratch = || vec![0.0; CHUNK_FRAMES].into_boxed_slice();
        let engine = Self {
            config: EngineConfig {
                recorded_channels: channels,
                ..config
            },
            settings: EngineSettings::default(),
            now_samples: 0,
            history,
            cycle: None,
            host_grid: None,
            host_clock: HostClock::default(),
            sync: HostSync::default(),
            tracks: TrackList::with_capacity(INITIAL_TRACK_SLOTS),
            take: None,
            take_mutes_pa: false,
            pool,
            schedule: Schedule::with_capacity(SCHEDULE_CAPACITY),
            output: OutputStage::new(config.sample_rate_hz, CHUNK_FRAMES),
            input: InputStage::new(channels, config.sample_rate_hz, CHUNK_FRAMES),
            loop_bus: [scratch(), scratch()],
            track_scratch: [scratch(), scratch()],
            message: None,
            message_serial: 0,
            storage_refusals: 0,
            session: SessionOut::default(),
            pending_install: None,
            analysis: None,
            quantize: QuantizeState::default(),
            render_mode: RenderMode::Realtime,
        };
        Some((engine, keeper))
    }

    /// Connects a session mirror: from now on the engine reports every change to the performance
    /// to it and installs the sessions it sends. Not realtime-safe (allocates the queues): call
    /// before the audio thread runs the engine.
    pub fn connect_session(&mut self) -> SessionFeed {
        self.session.connect()
    }

    /// Connects the analysis worker (feed and results); record boundaries follow its onsets and
    /// beats from then on. Call from `activate()`; the old link is returned to be dropped there.
    pub fn attach_analysis(&mut self, mut link: AnalysisLink) -> Option<AnalysisLink> {
        link.set_offline(self.render_mode == RenderMode::Offline);
        self.analysis.replace(link)
    }

    /// Sets realtime or offline rendering (from the host's process mode, at activation).
    pub fn set_render_mode(&mut self, mode: RenderMode) {
        self.render_mode = mode;
        if let Some(link) = &mut self.analysis {
            link.set_offline(mode == RenderMode::Offline);
        }
    }

    /// The activation settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Applies player settings; level changes ramp over the blend length. Realtime-safe.
    pub fn set_settings(&mut self, settings: EngineSettings) {
        self.settings = settings;
        let blend = self.blend_samples() as u32;
        let phones_delay_ms = settings
            .phones_delay_ms
            .clamp(0.0, mix::MAX_PHONES_DELAY_MS);
        self.output.set_levels(
            OutputLevels {
                monitor: settings.monitor_gain,
                loops: settings.loop_gain,
                master: settings.master_gain,
                ceiling: settings.limiter_ceiling,
                phones_monitor: settings.phones_monitor_gain,
                phones_loops: settings.phones_loop_gain,
                phones: settings.phones_gain,
                phones_delay_samples: ms_to_samples(phones_delay_ms, self.config.sample_rate_hz),
            },
            blend,
        );
        if settings.metronome_gain.is_finite() {
            self.output.metronome.level = settings.metronome_gain.clamp(0.0, 2.0);
        }
        self.input.set_gain(settings.input_gain, blend);
    }

    /// Gives the engine what the host says about its transport at the start of the next block;
    /// the engine keeps a bar grid from it that the host's rounding cannot move. Realtime-safe.
    pub fn set_host_transport(&mut self, transport: &HostTransport) {
        let grid = (self.host_clock).grid(transport, self.now_samples, self.config.sample_rate_hz);
        self.set_host_grid(grid);
    }

    /// Sets the host's bar grid for this block (`None`: the transport is stopped or unknown).
    /// The grid is in the engine's absolute time. Realtime-safe.
    pub fn set_host_grid(&mut self, grid: Option<HostGrid>) {
        self.host_grid = grid.filter(|g| g.bar_length_samples >= 1.0 && g.quarter_samples > 0.0);
    }

    /// Applies a change to the master effects (on the PA's loop mix). Realtime-safe.
    pub fn master_fx(&mut self, control: FxControl) {
        let blend = self.blend_samples() as u32;
        self.output.master_fx(control, blend);
    }

    /// Points the metronome at the host's beats, else at the anchor cycle's: the beats beat
    /// quantization found in it, else `beats_per_cycle`.
    fn update_metronome_grid(&mut self) {
        self.output.metronome.grid = match (self.host_grid, self.cycle) {
            (Some(host), _) => Some(BeatGrid {
                origin_samples: host.bar_origin_samples,
                beat_samples: host.bar_length_samples / f64::from(host.beats_per_bar.max(1)),
                beats_per_bar: host.beats_per_bar.max(1),
            }),
            (None, Some(cycle)) => {
                let beats = self.anchor_beats().map_or_else(
                    || self.settings.beats_per_cycle.clamp(1, 64),
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
        let (grid, cycle) = (self.output.metronome.grid?, self.cycle?);
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
        let block_start = self.now_samples;
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
                        + u64::from(self.settings.input_latency_samples);
                    self.schedule_action(at, Action::Command(command));
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
        self.session.publish_time(self.now_samples);
    }

    /// What runs at the start of every block (and of every segment a change starts): following
    /// the host, the keeper's deliveries and the session mirror's restores and imports.
    fn begin_segment(&mut self) {
        self.follow_host();
        self.pool.flush_backlog();
        self.tracks.adopt_larger(&mut self.pool);
        self.receive_restore();
        self.receive_import();
        self.resync_session_if_due();
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
                .schedule
                .next_time()
                .map_or(u64::MAX, |at| at - self.now_samples);
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
        let mut triggers = [None; SHOWN_TRIGGERS];
        let mut pending_count = 0;
        for scheduled in self.schedule.iter() {
            if let Action::Trigger {
                action, remaining, ..
            } = scheduled.action
            {
                if let Some(slot) = triggers.get_mut(pending_count) {
                    *slot = Some(PendingTrigger {
                        action,
                        at_samples: scheduled.at_samples,
                        remaining,
                    });
                }
                pending_count += 1;
            }
        }
        let mut tracks = [None; SHOWN_TRACKS];
        let cycle_length = self.cycle.map_or(1, |c| c.length_samples.max(1));
        for (slot, track) in tracks.iter_mut().zip(self.playing_tracks()) {
            *slot = Some(TrackStatus {
                id: track.id,
                cycles: (track.length_samples / cycle_length) as u32,
                length_samples: track.length_samples,
                position_samples: track.index_at(self.now_samples),
                gain: track.gain.target(),
                pan: track.pan.target(),
                muted: track.muted,
                soloed: track.soloed,
                filter_on: track.fx.filter_on(),
                drive_on: track.fx.drive_on(),
                delay_on: track.fx.delay_on(),
                reversed: track.reverse.target() > 0.0,
            });
        }
        EngineStatus {
            tracks,
            sample_rate_hz: self.config.sample_rate_hz,
            now_samples: self.now_samples,
            cycle_length_samples: self.cycle.map(|c| c.length_samples),
            cycle_position_samples: self.cycle.map_or(0, |c| c.position(self.now_samples)),
            host_bars: self.host_bars(),
            host_grid: self.host_grid,
            anchor_bpm: self.anchor_bpm(),
            cycle_beats: self.cycle_beats(),
            history_filled_secs: self.now_samples.min(self.history.capacity_frames() as u64) as f32
                / self.config.sample_rate_hz,
            history_secs: self.history.capacity_frames() as f32 / self.config.sample_rate_hz,
            track_count: self.playing_tracks().count(),
            redo_count: self.count_tracks(TrackState::Undoing),
            recording: self.recording_state(),
            mix_muted: self.output.mix_muted(),
            pa_muted: self.output.pa_muted(),
            pending_count,
            triggers,
            storage_refusals: self.storage_refusals,
            bad_input_chunks: self.input.bad_chunks,
            limiter_gain: self.output.limiter_gain(),
            input_peak: self.input.peak,
            input_clips: self.input.clips,
            message: self.message,
            message_serial: self.message_serial,
        }
    }

    /// The anchor cycle, if any.
    pub fn cycle(&self) -> Option<Cycle> {
        self.cycle
    }

    /// Tracks currently in the mix (not undone or cleared), oldest first.
    pub fn playing_tracks(&self) -> impl Iterator<Item = &Track> {
        self.tracks.playing()
    }

    /// Every track held that is complete and not on its way out (what the session mirror
    /// should hold), in order.
    #[cfg(test)]
    pub fn tracks_for_test(&self) -> impl Iterator<Item = &Track> {
        self.tracks
            .iter()
            .filter(|t| t.fill.is_none() && t.state != TrackState::Discarding)
    }

    /// Tracks held in memory, playing or kept for redo (what `clear` gives back).
    pub fn held_track_count(&self) -> usize {
        self.tracks.len()
    }

    /// Absolute time of the next sample to process.
    pub fn now_samples(&self) -> u64 {
        self.now_samples
    }

    // ----- internals, all realtime-safe -----

    fn blend_samples(&self) -> usize {
        ms_to_samples(self.settings.blend_ms, self.config.sample_rate_hz)
    }

    /// The shortest anchor loop, in samples (a double tap is not a loop).
    fn min_anchor_samples(&self) -> u64 {
        ms_to_samples(MIN_ANCHOR_SECS * 1000.0, self.config.sample_rate_hz).max(1) as u64
    }

    /// The declick fade (5 ms) at this sample rate, in samples.
    fn declick_samples(&self) -> usize {
        declick_samples_at(self.config.sample_rate_hz)
    }

    fn lenience_samples(&self) -> u64 {
        ms_to_samples(self.settings.lenience_ms, self.config.sample_rate_hz) as u64
    }

    fn count_tracks(&self, state: TrackState) -> usize {
        self.tracks
            .iter()
            .filter(|track| track.state == state)
            .count()
    }

    fn recording_state(&self) -> RecordingState {
        if let Some(take) = &self.take {
            return RecordingState::Recording {
                start_samples: take.start_samples(),
            };
        }
        self.schedule
            .iter()
            .find(|s| s.action == Action::StartTake)
            .map_or(RecordingState::Idle, |s| RecordingState::Armed {
                start_samples: s.at_samples,
            })
    }

    fn say(&mut self, message: EngineMessage) {
        self.message = Some(message);
        self.message_serial += 1;
    }

    fn schedule_action(&mut self, at_samples: u64, action: Action) {
        // The engine's own actions due at a sample run before the player's commands at that
        // sample, whichever block queued them; host alignment runs first of all, so that what
        // starts or ends at that sample sees the aligned loops.
        let priority = match action {
            Action::HostAlign { .. } => 0,
            Action::Command(_) => 2,
            _ => 1,
        };
        if self.schedule.push(at_samples, priority, action).is_err() {
            self.say(EngineMessage::ScheduleFull);
        }
    }

    fn run_due_actions(&mut self) {
        while let Some(action) = self.schedule.pop_due(self.now_samples) {
            match action {
                Action::Command(command) => self.execute(command),
                Action::StartTake => self.begin_take(self.now_samples, false),
                Action::StopTake => self.stop_take_at(self.now_samples),
                Action::Capture => self.capture(),
                Action::Trigger {
                    action,
                    every,
                    remaining,
                } => self.fire_trigger(action, every, remaining),
                Action::RestartJump => self.restart_jump(),
                Action::HostAlign { fade_in } => self.host_align(fade_in),
                Action::InstallSession => {
                    if let Some(session) = self.pending_install.take() {
                        self.install_session(session);
                    }
                }
                Action::QuantizeStart { press } => self.quantize_start(press),
                Action::QuantizeStop { press } => self.quantize_stop(press),
            }
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
            Command::RecordToggle => self.record_toggle(),
            Command::Capture => self.capture_pressed(),
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
                self.control_track(TrackTarget::Last, TrackControl::ScaleGain(1.2))
            }
            Command::LastTrackGainDown => {
                self.control_track(TrackTarget::Last, TrackControl::ScaleGain(0.8))
            }
            Command::ResetLastTrack => self.control_track(TrackTarget::Last, TrackControl::Reset),
            Command::Track(target, control) => self.control_track(target, control),
            Command::Trigger(spec) => self.toggle_trigger(spec),
            Command::ToggleLastTrackDelay => {
                self.control_track(TrackTarget::Last, TrackControl::Fx(FxControl::ToggleDelay))
            }
        }
    }

    fn record_toggle(&mut self) {
        let now = self.now_samples;
        if self.take.is_some() {
            self.stop_pressed(now);
            return;
        }
        // A second press before a forward-snapped start fires cancels it.
        if self.schedule.cancel(|a| *a == Action::StartTake) > 0 {
            return;
        }
        let start = match self.cycle {
            None => match self.host_take_start(now) {
                Some(start) => start,
                None => {
                    // Free: start now; the start may still move to a nearby onset.
                    self.begin_take(now, false);
                    self.quantize_start_pressed(now);
                    return;
                }
            },
            Some(cycle) => {
                let start = cycle.snap(now, self.lenience_samples());
                if start == now as i64 && cycle.position(now) != 0 {
                    // Away from the boundaries: start now; the start may still move to a
                    // nearby onset, keeping its place in the cycle.
                    self.begin_take(now, false);
                    self.quantize_start_pressed(now);
                    return;
                }
                // A boundary before the engine's time 0 (a cycle restored just now): the take
                // starts at 0, keeping its place in the cycle (nothing was played before).
                start.max(0) as u64
            }
        };
        if start > now {
            self.schedule_action(start, Action::StartTake);
        } else {
            self.begin_take(start, false);
        }
    }

    /// The longest take storage of `capacity_frames` can turn into a track: all of it for an
    /// anchor, else the longest cycle x 2^k that fits.
    fn take_limit_samples(&self, capacity_frames: usize) -> Option<u64> {
        match self.cycle {
            None => Some(capacity_frames as u64),
            Some(cycle) => cycle.longest_track_within(capacity_frames as u64),
        }
    }

    /// Starts a take at `start` (now, or a boundary in the recent past filled from the history).
    fn begin_take(&mut self, start_samples: u64, pa_muted: bool) {
        if self.take.is_some() {
            return;
        }
        let Some(buffer) = self.take_spare() else {
            return;
        };
        // A new take ends the redo history.
        self.discard_redo();
        self.cancel_quantize();
        let mut take = Take::new(buffer, start_samples);
        if !take.append_from_history(&self.history, self.now_samples, &mut self.pool) {
            self.say(EngineMessage::TakeOutOfStorage);
        }
        let Some(limit) = self.take_limit_samples(take.capacity_frames()) else {
            self.pool.retire_buffer(take.into_buffer());
            self.say(EngineMessage::TakeStoppedAtLimit);
            return;
        };
        self.schedule_action(start_samples + limit, Action::StopTake);
        if let Some(end) = self.host_fixed_take_end(start_samples) {
            self.schedule_action(end.min(start_samples + limit), Action::StopTake);
        }
        self.take = Some(take);
        self.take_mutes_pa = pa_muted;
    }

    fn stop_pressed(&mut self, now: u64) {
        if self.stop_deferred() || self.quantize_stop_pressed(now) {
            return;
        }
        let Some(take) = &self.take else { return };
        let start = take.start_samples();
        let limit = self
            .take_limit_samples(take.capacity_frames())
            .map_or(now, |limit| start + limit);
        let stop = match self.cycle {
            None => self
                .host_take_stop(start, now)
                .map_or(now, |stop| stop.min(limit)),
            Some(cycle) => {
                let snapped = cycle.snap(now, self.lenience_samples());
                // Never past the length limit (a restart can move the grid under a take).
                if snapped > start as i64 {
                    (snapped as u64).min(limit)
                } else {
                    now
                }
            }
        };
        self.stop_take_at(stop);
    }

    /// Ends the take at `stop`: later (scheduled) or now or in the past (truncated there, once
    /// its start is decided).
    fn stop_take_at(&mut self, stop: u64) {
        if stop > self.now_samples {
            self.schedule.cancel(|a| *a == Action::StopTake);
            self.schedule_action(stop, Action::StopTake);
        } else if self.start_undecided() {
            self.defer_stop(stop);
        } else {
            if let Some(take) = &mut self.take {
                let pool = &mut self.pool;
                take.truncate_at(stop, |page| pool.retire(Garbage::Page(page)));
            }
            self.finish_take();
        }
    }

    /// Ends the take at its current end and turns it into a track.
    fn finish_take(&mut self) {
        self.schedule.cancel(|a| *a == Action::StopTake);
        self.cancel_quantize();
        let Some(take) = self.take.take() else { return };
        self.take_mutes_pa = false;
        let mut take = take;
        let limit = self.take_limit_samples(take.capacity_frames());
        if let Some(limit) = limit {
            // The track must fit its storage whatever happened to the grid meanwhile.
            let pool = &mut self.pool;
            take.truncate_at(take.start_samples() + limit, |page| {
                pool.retire(Garbage::Page(page))
            });
        }
        let take_samples = take.len_frames() as u64;
        let at_limit = limit == Some(take_samples);
        let (length, new_cycle) = match self.cycle {
            Some(cycle) => {
                // Following the host, the grid may have slipped a sample under the take.
                let slack = self.host_slip_samples();
                let length = cycle.track_length(take_samples.saturating_sub(slack).max(1));
                let pool = &mut self.pool;
                take.truncate_at(take.start_samples() + length, |page| {
                    pool.retire(Garbage::Page(page))
                });
                (length, None)
            }
            None => {
                if (take.len_frames() as u64) < self.min_anchor_samples() {
                    self.pool.retire_buffer(take.into_buffer());
                    self.say(EngineMessage::TakeTooShort);
                    return;
                }
                let cycle = Cycle {
                    origin_samples: take.start_samples(),
                    length_samples: take_samples,
                };
                (take_samples, Some(cycle))
            }
        };
        let track = take.into_track(length, self.blend_samples(), &self.history, &mut self.pool);
        if self.push_track(track) {
            if let Some(cycle) = new_cycle {
                self.set_cycle(new_cycle);
                self.lock_new_anchor(cycle);
            }
            if at_limit {
                self.say(EngineMessage::TakeStoppedAtLimit);
            }
        }
    }

    /// Storage for a new take or capture; says so when none is ready.
    fn take_spare(&mut self) -> Option<audio::TrackBuffer> {
        if self.render_mode == RenderMode::Offline && self.pool.spares_ready() == 0 {
            self.pool.wait_offline(0, true);
        }
        let spare = self.pool.take_spare();
        if spare.is_none() {
            self.storage_shortfall(EngineMessage::NoTrackStorage);
        }
        spare
    }

    /// Adds a track to the mix; refuses (handing its storage back) when no slot is free yet.
    fn push_track(&mut self, mut track: Track) -> bool {
        track.fx = FxChain::new(self.config.sample_rate_hz);
        let pushed = self.tracks.push(track, &mut self.pool, &mut self.session);
        if !pushed {
            self.say(EngineMessage::TooManyTracks);
        }
        pushed
    }

    /// Capture pressed: from the history, the last cycles (or host bars) up to the nearest
    /// boundary become a track; a boundary just ahead is waited for. Pressing again while it
    /// waits cancels it.
    fn capture_pressed(&mut self) {
        if self.schedule.cancel(|a| *a == Action::Capture) == 0 {
            self.capture();
        }
    }

    fn capture(&mut self) {
        let now = self.now_samples;
        let cycles = u64::from(self.settings.capture_cycles.clamp(1, 8).next_power_of_two());
        let (end, length) = match (self.cycle, self.host_grid) {
            (Some(cycle), _) => (cycle.nearest_boundary(now), cycle.length_samples * cycles),
            (None, Some(grid)) => (
                grid.nearest_bar(now) as i64,
                (grid.bar_length_samples * cycles as f64).round() as u64,
            ),
            (None, None) => {
                self.say(EngineMessage::NeedsAnchor);
                return;
            }
        };
        if end > now as i64 {
            self.schedule_action(end as u64, Action::Capture);
            return;
        }
        // The history must still hold the source and its pre-roll when the copy completes (with
        // room for the copy to start over twice after restarts). A source before time 0 (right
        // after activation, or a cycle restored just now) was never played.
        let blend = self.blend_samples() as u64;
        let source = end - length as i64;
        let needed = (now as i64 - end) as u64
            + length
            + blend
            + 3 * length / FILL_SPEED
            + CHUNK_FRAMES as u64;
        if length == 0 || source < 0 || needed > self.history.capacity_frames() as u64 {
            self.say(EngineMessage::CaptureTooLong);
            return;
        }
        let source = source as u64;
        let Some(buffer) = self.take_spare() else {
            return;
        };
        let mut track = Track::new(buffer, length, source);
        track.fill = Some(HistoryFill::new(
            source,
            length,
            track.index_at(now),
            blend,
            &self.history,
        ));
        self.discard_redo();
        if self.push_track(track) && self.cycle.is_none() {
            let cycle = Cycle {
                origin_samples: source,
                length_samples: length,
            };
            self.set_cycle(Some(cycle));
            self.lock_new_anchor(cycle);
        }
    }

    fn undo(&mut self) {
        if let Some(take) = self.take.take() {
            self.schedule.cancel(|a| *a == Action::StopTake);
            self.cancel_quantize();
            self.take_mutes_pa = false;
            self.pool.retire_buffer(take.into_buffer());
            return;
        }
        if self.schedule.cancel(|a| *a == Action::StartTake) > 0 {
            return;
        }
        let blend = self.blend_samples() as u32;
        if let Some(track) = self.last_playing_track() {
            track.state = TrackState::Undoing;
            track.fade.ramp_to(0.0, blend);
            let record = track.fill.is_none().then(|| TrackRecord::of(track));
            self.tell_updated(record);
        }
        if self.playing_tracks().next().is_none() {
            self.reset_cycle();
        }
        self.update_audibility();
    }

    fn redo(&mut self) {
        let blend = self.blend_samples() as u32;
        let Some(track) = self.tracks.next_to_redo() else {
            return;
        };
        track.state = TrackState::Playing;
        track.fade.ramp_to(1.0, blend);
        let record = track.fill.is_none().then(|| TrackRecord::of(track));
        self.tell_updated(record);
        if self.cycle.is_none() {
            let anchor = self
                .playing_tracks()
                .next()
                .expect("a track was just restored");
            let cycle = Cycle {
                origin_samples: anchor.origin_samples,
                length_samples: anchor.length_samples,
            };
            self.set_cycle(Some(cycle));
            self.arm_host_alignment(self.now_samples);
        }
        self.update_audibility();
    }

    fn clear(&mut self) {
        if let Some(take) = self.take.take() {
            self.pool.retire_buffer(take.into_buffer());
        }
        self.take_mutes_pa = false;
        let blend = self.blend_samples() as u32;
        // A clean slate: the next loop must be heard.
        self.output.set_mix_muted(false, blend);
        self.tracks.discard_all(blend);
        self.session.tell(SessionEvent::Cleared);
        self.reset_cycle();
    }

    /// Forgets the cycle and everything that waits on it.
    fn reset_cycle(&mut self) {
        self.set_cycle(None);
        self.schedule
            .cancel(|a| !matches!(a, Action::Command(_) | Action::InstallSession));
        // A cancelled restart must not leave the loop bus faded out.
        self.output.fade_loops_in(self.blend_samples() as u32);
    }

    /// Drops the redo history (a new take or capture): undone tracks are handed back.
    fn discard_redo(&mut self) {
        self.tracks.discard_redo(&mut self.session);
    }

    /// Sets the anchor cycle and tells the session mirror.
    fn set_cycle(&mut self, cycle: Option<Cycle>) {
        self.cycle = cycle;
        self.session.tell(SessionEvent::Cycle(cycle));
    }

    /// Tells the mirror a complete track's new record (`None`: the track is still filling; its
    /// record goes with it when it completes).
    fn tell_updated(&mut self, record: Option<TrackRecord>) {
        if let Some(record) = record {
            self.session.tell(SessionEvent::Updated(record));
        }
    }

    fn toggle_mix_mute(&mut self) {
        let muted = !self.output.mix_muted();
        self.output
            .set_mix_muted(muted, self.blend_samples() as u32);
    }

    /// Schedules a trigger, or cancels the pending one with the same action.
    fn toggle_trigger(&mut self, spec: TriggerSpec) {
        let same =
            |a: &Action| matches!(a, Action::Trigger { action, .. } if *action == spec.action);
        if self.schedule.cancel(same) > 0 {
            return;
        }
        let now = self.now_samples;
        let (first, every) = match spec.time {
            TriggerTime::NextCycle => (self.cycle.map(|c| c.boundary_after(now)), Interval::Cycle),
            TriggerTime::NextBar => (self.host_grid.map(|g| g.bar_after(now)), Interval::Bar),
            TriggerTime::AtSample(at) => (Some(at.max(now)), Interval::Cycle),
        };
        let Some(first) = first else {
            self.say(match spec.time {
                TriggerTime::NextBar => EngineMessage::NeedsHostTransport,
                _ => EngineMessage::NeedsAnchor,
            });
            return;
        };
        let remaining = match spec.repeat {
            Repeat::Once => Some(1),
            Repeat::Times(times) => Some(times.max(1)),
            Repeat::Forever => None,
        };
        self.schedule_action(
            first,
            Action::Trigger {
                action: spec.action,
                every,
                remaining,
            },
        );
    }

    fn fire_trigger(&mut self, action: TriggerAction, every: Interval, remaining: Option<u32>) {
        match action {
            TriggerAction::ToggleMixMute => self.toggle_mix_mute(),
            TriggerAction::RecordCycleWithPaMuted => {
                if let (Some(cycle), None) = (self.cycle, &self.take) {
                    self.begin_take(self.now_samples, true);
                    if self.take.is_some() {
                        self.schedule.cancel(|a| *a == Action::StopTake);
                        self.schedule_action(
                            self.now_samples + cycle.length_samples,
                            Action::StopTake,
                        );
                    }
                }
            }
            TriggerAction::Restart => self.restart(),
            TriggerAction::RecordToggle => self.record_toggle(),
            TriggerAction::Capture => self.capture(),
        }
        let remaining = match remaining {
            Some(1) => return,
            Some(n) => Some(n - 1),
            None => None,
        };
        let next = match every {
            Interval::Cycle => self.cycle.map(|c| c.boundary_after(self.now_samples)),
            Interval::Bar => self.host_grid.map(|g| g.bar_after(self.now_samples)),
        };
        if let Some(next) = next {
            self.schedule_action(
                next,
                Action::Trigger {
                    action,
                    every,
                    remaining,
                },
            );
        }
    }

    fn restart(&mut self) {
        // Locked to the host, the loops are where the host's bars say; only the host moves them.
        if self.cycle.is_none() || self.host_locked() {
            return;
        }
        let declick = self.declick_samples();
        self.output.fade_loops_out(declick as u32);
        self.schedule.cancel(|a| *a == Action::RestartJump);
        self.schedule_action(self.now_samples + declick as u64, Action::RestartJump);
    }

    /// Moves every loop back to the start of the longest loop's cycle, then fades them in.
    fn restart_jump(&mut self) {
        let Some(cycle) = self.cycle else { return };
        let longest = self
            .playing_tracks()
            .map(|track| track.length_samples)
            .max()
            .unwrap_or(cycle.length_samples);
        let shift = (self.now_samples as i128 - cycle.origin_samples as i128)
            .rem_euclid(longest as i128) as u64;
        for track in &mut self.tracks {
            track.origin_samples += shift;
        }
        self.session.tell(SessionEvent::Shifted {
            shift_samples: shift,
        });
        self.set_cycle(Some(Cycle {
            origin_samples: cycle.origin_samples + shift,
            ..cycle
        }));
        self.loops_restarted(shift);
        self.output.fade_loops_in(self.blend_samples() as u32);
    }

    fn last_playing_track(&mut self) -> Option<&mut Track> {
        self.tracks.last_playing_mut()
    }

    /// The current beat length in seconds: the host's, else the anchor cycle's.
    fn beat_secs(&self) -> Option<f32> {
        self.output
            .metronome
            .grid
            .map(|grid| (grid.beat_samples / f64::from(self.config.sample_rate_hz)) as f32)
    }

    fn control_track(&mut self, target: TrackTarget, control: TrackControl) {
        let blend = self.blend_samples() as u32;
        let control = match control {
            TrackControl::Fx(FxControl::DelayBeats {
                beats,
                feedback,
                mix,
            }) => match self.beat_secs() {
                Some(beat) => TrackControl::Fx(FxControl::DelaySettings {
                    time_secs: beats * beat,
                    feedback,
                    mix,
                }),
                None => {
                    self.say(EngineMessage::NeedsAnchor);
                    return;
                }
            },
            other => other,
        };
        let track = match target {
            TrackTarget::Last => self.last_playing_track(),
            TrackTarget::Index(n) => self.tracks.nth_playing_mut(n as usize),
        };
        let Some(track) = track else { return };
        let gain_limit = |gain: f32| {
            if gain.is_finite() {
                gain.clamp(0.0, MAX_TRACK_GAIN)
            } else {
                1.0
            }
        };
        match control {
            TrackControl::SetGain(gain) => track.gain.ramp_to(gain_limit(gain), blend),
            TrackControl::ScaleGain(factor) => {
                let target = gain_limit(track.gain.target() * factor);
                track.gain.ramp_to(target, blend);
            }
            TrackControl::SetPan(pan) => {
                let pan = if pan.is_finite() {
                    pan.clamp(-1.0, 1.0)
                } else {
                    0.0
                };
                track.pan.ramp_to(pan, blend);
            }
            TrackControl::SetMute(muted) => track.muted = muted,
            TrackControl::ToggleMute => track.muted = !track.muted,
            TrackControl::SetSolo(soloed) => track.soloed = soloed,
            TrackControl::ToggleSolo => track.soloed = !track.soloed,
            TrackControl::Fx(FxControl::SetReverse(on)) => {
                track.reverse.ramp_to(if on { 1.0 } else { 0.0 }, blend);
            }
            TrackControl::Fx(control) => track.fx.apply(control, blend),
            TrackControl::Reset => {
                track.gain.ramp_to(1.0, blend);
                track.pan.ramp_to(0.0, blend);
                track.reverse.ramp_to(0.0, blend);
                track.fx.apply(FxControl::Reset, blend);
                track.muted = false;
                track.soloed = false;
            }
            TrackControl::Remove => {
                track.state = TrackState::Discarding;
                track.fade.ramp_to(0.0, blend);
            }
        }
        if track.state == TrackState::Discarding {
            let id = track.id;
            self.session.tell(SessionEvent::Removed { id });
            if self.playing_tracks().next().is_none() {
                self.reset_cycle();
            }
        } else {
            let record = track.fill.is_none().then(|| TrackRecord::of(track));
            self.tell_updated(record);
        }
        self.update_audibility();
    }

    /// Ramps every track to audible or silent from its mute and the solos.
    fn update_audibility(&mut self) {
        self.set_audibility(self.blend_samples() as u32);
    }

    /// Ramps every track to audible or silent from its mute and the solos over `ramp_samples`.
    fn set_audibility(&mut self, ramp_samples: u32) {
        self.tracks.set_audibility(ramp_samples);
    }

    /// Renders `frames` frames at offset `at` of the host block.
    fn render(
        &mut self,
        main: &mut [&mut [f32]],
        phones: &mut [&mut [f32]],
        at: usize,
        frames: usize,
    ) {
        let channels = self.config.recorded_channels;
        self.input.read(main, at, frames, self.settings.input_mode);
        // The PA is quiet while a take that asks for it records; the chunk starts where the
        // take starts or stops, so the mute ramp begins on exactly that sample.
        let pa_quiet =
            self.take.is_some() && (self.take_mutes_pa || self.settings.pa_mute_while_recording);
        self.output
            .set_pa_muted(pa_quiet, self.blend_samples() as u32);
        self.update_metronome_grid();
        let input = self.input.chunk(frames);
        self.history.write(&input[..channels]);
        if let Some(analysis) = &mut self.analysis {
            analysis.feed.push(self.now_samples, &input[..channels]);
        }
        let take_ran_out = (self.take.as_mut())
            .is_some_and(|take| !take.append(&input[..channels], &mut self.pool));

        let declick = self.declick_samples() as u64;
        let (mut fill_ran_out, mut delay_waits) = (false, false);
        let [bus_0, bus_1] = &mut self.loop_bus;
        let mut bus: [&mut [f32]; 2] = [&mut bus_0[..frames], &mut bus_1[..frames]];
        bus[0].fill(0.0);
        bus[1].fill(0.0);
        for track in &mut self.tracks {
            let playhead = track.index_at(self.now_samples);
            if let Some(fill) = &mut track.fill {
                // Copy ahead of the playhead before it plays.
                let budget = frames as u64 * FILL_SPEED;
                match fill.advance(
                    &mut track.buffer,
                    &self.history,
                    playhead,
                    budget,
                    &mut self.pool,
                ) {
                    FillProgress::Complete => {
                        track.fill = None;
                        if track.state != TrackState::Discarding {
                            self.session.track_added(track);
                        }
                    }
                    FillProgress::Copying => {}
                    FillProgress::OutOfPages => fill_ran_out = true,
                }
            }
            if track.fx.delay_on() && !track.buffer.has_fx_memory() {
                // Delay memory comes when a loop's delay is first switched on; until the keeper
                // has one ready the loop plays dry.
                match self.pool.take_delay_memory() {
                    Some(memory) => track.buffer.set_fx_memory(memory),
                    None => delay_waits = true,
                }
            }
            track.mix_into(self.now_samples, &mut bus, &mut self.track_scratch, declick);
        }

        let monitor_right = if channels == 2 { 1 } else { 0 };
        self.output.mix(
            [input[0], input[monitor_right]],
            [&bus[0][..], &bus[1][..]],
            main,
            phones,
            at,
            self.now_samples,
        );

        self.now_samples += frames as u64;
        self.tracks.hand_back_faded(&mut self.pool);
        if take_ran_out {
            // Out of pages: the take ends cleanly at its last page; the loops play on.
            self.storage_shortfall(EngineMessage::TakeOutOfStorage);
            if let Some(end) = self.take.as_ref().map(Take::end_samples) {
                self.stop_take_at(end);
            }
        }
        if fill_ran_out {
            self.storage_shortfall(EngineMessage::CaptureOutOfStorage);
        }
        if delay_waits {
            self.storage_shortfall(EngineMessage::DelayOutOfStorage);
        }
    }

    /// Offline rendering only (it may sleep): waits until the keeper has the pages ready that
    /// the next `frames` of the take and of the filling captures may take, so that a bounce,
    /// however fast, loses nothing for lack of memory. Realtime: returns at once.
    fn wait_for_pages_offline(&mut self, frames: usize) {
        if self.render_mode != RenderMode::Offline {
            return;
        }
        let channels = self.config.recorded_channels;
        // A run may straddle a page boundary: one page more per channel.
        let pages_for = |frames: usize| channels * (pages::pages_for(frames) + 1);
        let take =
            (self.take.as_ref()).map_or(0, |_| pages_for(frames) + pages_for(self.blend_samples()));
        let fills: usize = (self.tracks.iter())
            .filter(|track| track.fill.is_some())
            .map(|track| pages_for((frames as u64 * FILL_SPEED).min(track.length_samples) as usize))
            .sum();
        let needed = (take + fills).min(pool::PAGE_RESERVE);
        if self.pool.pages_ready() < needed {
            self.pool.wait_offline(needed, false);
        }
    }

    /// Memory was not ready where the audio thread needed it: counted, and said once per
    /// shortfall (a fill that stays short says it once).
    fn storage_shortfall(&mut self, message: EngineMessage) {
        self.storage_refusals += 1;
        self.pool.report_shortfall();
        if self.message != Some(message) {
            self.say(message);
        }
    }
}

/// The declick fade ([`DECLICK_SECS`]) at `sample_rate_hz`, in samples: the engine's and the
/// WAV export's, so an export declicks as the engine plays.
pub fn declick_samples_at(sample_rate_hz: f32) -> usize {
    ms_to_samples(DECLICK_SECS * 1000.0, sample_rate_hz)
}

/// Milliseconds to a whole number of samples (rounded), never negative.
pub fn ms_to_samples(ms: f32, sample_rate_hz: f32) -> usize {
    (ms.max(0.0) as f64 * sample_rate_hz as f64 / 1000.0).round() as usize
}

#[cfg(test)]
pub(crate) mod tests;
