//! The loop engine: framework-free. Slices in, slices out, plain commands.
//!
//! The audio thread owns an [`Engine`] and calls [`Engine::process`] once per host block. The
//! engine splits every block at the sample times of commands (and of its own scheduled actions),
//! so its output for the same input and commands never depends on the host's block size.
//!
//! Realtime: everything reachable from `process` is allocation-free, lock-free and wait-free.
//! Allocation happens in [`Engine::new`] (from the plugin's `activate()`) and in the
//! [`TrackPoolKeeper`] on a background thread.

pub mod command;
pub mod cycle;
pub mod history;
pub mod memory;
pub mod mix;
pub mod pool;
pub mod ramp;
pub mod schedule;
pub mod take;
pub mod track;

use command::{Command, TimedCommand};
use cycle::Cycle;
use history::History;
use mix::MixGains;
use pool::{TrackPool, TrackPoolKeeper};
use schedule::Schedule;
use take::Take;
use track::{Track, TrackState};

pub use pool::track_pool;

/// Frames processed at a time internally (the scratch buffers' size).
const CHUNK_FRAMES: usize = 256;
/// Track slots reserved up front (removed tracks are kept for redo in a second list as large).
const TRACK_SLOTS: usize = 1024;
/// Commands and scheduled actions that can wait at once.
const SCHEDULE_CAPACITY: usize = 1024;
/// Spare take buffers the keeper keeps ready.
const SPARE_TAKES: usize = 2;
/// Shortest anchor loop accepted, in seconds (a double tap is not a loop).
const MIN_ANCHOR_SECS: f32 = 0.1;
/// Fade used around a restart's jump, in seconds.
const DECLICK_SECS: f32 = 0.005;
/// Highest track gain reachable with gain-up presses (+12 dB).
const MAX_TRACK_GAIN: f32 = 4.0;

/// Fixed at activation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineConfig {
    /// Sample rate in Hz.
    pub sample_rate_hz: f32,
    /// Recorded input channels: 1 (mono) or 2 (stereo).
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
    /// Input monitor level on both outputs (linear gain).
    pub monitor_gain: f32,
    /// Loop mix level on both outputs (linear gain).
    pub loop_gain: f32,
    /// Headphone output level (linear gain).
    pub phones_gain: f32,
    /// Input latency in samples reported by the host: commands act this much later, when the
    /// audio the player heard at the press reaches the plugin.
    pub input_latency_samples: u32,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            blend_ms: 50.0,
            lenience_ms: 200.0,
            monitor_gain: 1.0,
            loop_gain: 1.0,
            phones_gain: 1.0,
            input_latency_samples: 0,
        }
    }
}

/// Something the engine wants the player to know (shown by the editor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineMessage {
    /// No storage was ready for a new take (memory exhausted or the keeper is behind).
    NoTrackStorage,
    /// The take was shorter than the shortest anchor and was dropped.
    TakeTooShort,
    /// The take reached the longest track the history length allows and was stopped there.
    TakeStoppedAtLimit,
    /// Too many commands waiting; one was dropped.
    ScheduleFull,
    /// Too many tracks for the reserved slots.
    TooManyTracks,
    /// A command that needs an anchor loop was sent with none.
    NeedsAnchor,
    /// The command is not available yet in this version.
    NotImplemented(Command),
}

/// What the take recorder is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingState {
    /// Not recording.
    Idle,
    /// A take will start at this absolute time.
    Armed { start_samples: u64 },
    /// A take started at this absolute time.
    Recording { start_samples: u64 },
}

/// A fixed-size picture of the engine for the editor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineStatus {
    /// Sample rate in Hz.
    pub sample_rate_hz: f32,
    /// Absolute time in samples since activation.
    pub now_samples: u64,
    /// The anchor cycle length in samples, if there is one.
    pub cycle_length_samples: Option<u64>,
    /// Position inside the cycle in samples (0 with no cycle).
    pub cycle_position_samples: u64,
    /// Tracks playing.
    pub track_count: usize,
    /// Tracks that redo can bring back.
    pub redo_count: usize,
    /// The take recorder.
    pub recording: RecordingState,
    /// Whether the loop mix is muted.
    pub mix_muted: bool,
    /// Whether the PA (main output) is muted.
    pub pa_muted: bool,
    /// Actions waiting for their time (triggers, quantized starts and stops).
    pub pending_count: usize,
    /// The latest message, and a counter that changes with every new one.
    pub message: Option<EngineMessage>,
    /// Increments with every message.
    pub message_serial: u64,
}

impl EngineStatus {
    /// The status before activation.
    pub fn idle(sample_rate_hz: f32) -> Self {
        Self {
            sample_rate_hz,
            now_samples: 0,
            cycle_length_samples: None,
            cycle_position_samples: 0,
            track_count: 0,
            redo_count: 0,
            recording: RecordingState::Idle,
            mix_muted: false,
            pa_muted: false,
            pending_count: 0,
            message: None,
            message_serial: 0,
        }
    }
}

/// What waits in the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// A command from MIDI, the editor or a parameter, delayed by the input latency.
    Command(Command),
    /// Start a take (a press snapped forward to a boundary, or a trigger). With `pa_muted`, the
    /// PA stays muted while it records and it stops one cycle later.
    StartTake { pa_muted: bool },
    /// Stop the take (snapped forward to a boundary, or its length limit).
    StopTake,
    /// Toggle the loop mix mute (the mute-at-cycle-end trigger).
    MixMuteTrigger,
    /// Start a take at this boundary (the record-next-cycle trigger).
    RecordNextCycleTrigger,
    /// The jump of a restart, after its declick fade-out.
    RestartJump,
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
    /// Tracks in the mix, oldest (the anchor) first; undone or cleared ones stay here, fading
    /// out, until silent.
    tracks: Vec<Track>,
    /// Undone tracks, most recent last.
    redo: Vec<Track>,
    /// The take being recorded.
    take: Option<Take>,
    /// Whether the current take mutes the PA.
    take_mutes_pa: bool,
    /// Spare take storage and the way out for removed tracks.
    pool: TrackPool,
    /// Commands and actions waiting for their sample.
    schedule: Schedule<Action>,
    /// Output gains (monitor, loops, mix mute, PA mute, headphones).
    gains: MixGains,
    /// Input of the current chunk, sanitized (per recorded channel).
    input: [Box<[f32]>; 2],
    /// Loop mix of the current chunk (stereo).
    loop_bus: [Box<[f32]>; 2],
    /// Latest message for the editor.
    message: Option<EngineMessage>,
    /// Increments with every message.
    message_serial: u64,
}

impl Engine {
    /// Allocates everything the engine will need: the history, the schedule, track slots and
    /// spare take storage. Returns the keeper that must be serviced from a background thread, or
    /// `None` when memory is short. Not realtime-safe: call from `activate()`.
    pub fn new(config: EngineConfig) -> Option<(Self, TrackPoolKeeper)> {
        let channels = config.recorded_channels.clamp(1, 2);
        let history_frames = (config.history_secs.max(1.0) * config.sample_rate_hz) as usize;
        let history = History::try_new(channels, history_frames)?;
        let (pool, keeper) = track_pool(channels, history_frames, SPARE_TAKES)?;
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
            tracks: Vec::with_capacity(TRACK_SLOTS),
            redo: Vec::with_capacity(TRACK_SLOTS),
            take: None,
            take_mutes_pa: false,
            pool,
            schedule: Schedule::with_capacity(SCHEDULE_CAPACITY),
            gains: MixGains::default(),
            input: [scratch(), scratch()],
            loop_bus: [scratch(), scratch()],
            message: None,
            message_serial: 0,
        };
        Some((engine, keeper))
    }

    /// The activation settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Applies player settings; level changes ramp over the blend length. Realtime-safe.
    pub fn set_settings(&mut self, settings: EngineSettings) {
        self.settings = settings;
        let blend = self.blend_samples() as u32;
        self.gains.set_levels(
            settings.monitor_gain,
            settings.loop_gain,
            settings.phones_gain,
            blend,
        );
    }

    /// Processes one block in place. `main` holds the input on entry (1 or 2 channels) and the
    /// PA mix on return; `phones` (0 or 2 channels) receives the headphone mix; `commands` are
    /// sorted by offset. Realtime-safe.
    pub fn process(
        &mut self,
        main: &mut [&mut [f32]],
        phones: &mut [&mut [f32]],
        commands: &[TimedCommand],
    ) {
        let frames = main.first().map_or(0, |channel| channel.len());
        let block_start = self.now_samples;
        for timed in commands {
            let at = block_start
                + u64::from(timed.offset_samples.min(frames.saturating_sub(1) as u32))
                + u64::from(self.settings.input_latency_samples);
            self.schedule_action(at, Action::Command(timed.command));
        }
        self.pool.flush_backlog();

        let mut done = 0;
        while done < frames {
            self.run_due_actions();
            let until_next_action = self
                .schedule
                .next_time()
                .map_or(u64::MAX, |at| at - self.now_samples);
            let run = (frames - done)
                .min(CHUNK_FRAMES)
                .min(until_next_action.max(1) as usize);
            self.render(main, phones, done, run);
            done += run;
        }
        // Actions due exactly at the block's end run at the start of the next block, at the same
        // sample, so the split point is the same whatever the block size.
    }

    /// A fixed-size picture of the engine for the editor. Realtime-safe.
    pub fn status(&self) -> EngineStatus {
        EngineStatus {
            sample_rate_hz: self.config.sample_rate_hz,
            now_samples: self.now_samples,
            cycle_length_samples: self.cycle.map(|c| c.length_samples),
            cycle_position_samples: self.cycle.map_or(0, |c| c.position(self.now_samples)),
            track_count: self.playing_track_count(),
            redo_count: self.redo_count(),
            recording: self.recording_state(),
            mix_muted: self.gains.mix_muted(),
            pa_muted: self.gains.pa_muted(),
            pending_count: self
                .schedule
                .iter()
                .filter(|s| !matches!(s.action, Action::Command(_)))
                .count(),
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
        self.tracks
            .iter()
            .filter(|track| track.state == TrackState::Playing)
    }

    /// Absolute time of the next sample to process.
    pub fn now_samples(&self) -> u64 {
        self.now_samples
    }

    // ----- internals, all realtime-safe -----

    fn blend_samples(&self) -> usize {
        ms_to_samples(self.settings.blend_ms, self.config.sample_rate_hz)
    }

    fn lenience_samples(&self) -> u64 {
        ms_to_samples(self.settings.lenience_ms, self.config.sample_rate_hz) as u64
    }

    fn playing_track_count(&self) -> usize {
        self.playing_tracks().count()
    }

    fn redo_count(&self) -> usize {
        self.redo.len()
            + self
                .tracks
                .iter()
                .filter(|track| track.state == TrackState::Undoing)
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
            .find(|s| matches!(s.action, Action::StartTake { .. }))
            .map_or(RecordingState::Idle, |s| RecordingState::Armed {
                start_samples: s.at_samples,
            })
    }

    fn say(&mut self, message: EngineMessage) {
        self.message = Some(message);
        self.message_serial += 1;
    }

    fn schedule_action(&mut self, at_samples: u64, action: Action) {
        if self.schedule.push(at_samples, action).is_err() {
            self.say(EngineMessage::ScheduleFull);
        }
    }

    fn run_due_actions(&mut self) {
        while let Some(action) = self.schedule.pop_due(self.now_samples) {
            match action {
                Action::Command(command) => self.execute(command),
                Action::StartTake { pa_muted } => self.begin_take(self.now_samples, pa_muted),
                Action::StopTake => self.finish_take(),
                Action::MixMuteTrigger => self.toggle_mix_mute(),
                Action::RecordNextCycleTrigger => {
                    if let Some(cycle) = self.cycle {
                        self.begin_take(self.now_samples, true);
                        let stop = self.now_samples + cycle.length_samples;
                        self.schedule_action(stop, Action::StopTake);
                    }
                }
                Action::RestartJump => self.restart_jump(),
            }
        }
    }

    /// Acts on a command at the current sample.
    fn execute(&mut self, command: Command) {
        match command {
            Command::RecordToggle => self.record_toggle(),
            Command::Undo => self.undo(),
            Command::Redo => self.redo(),
            Command::Clear => self.clear(),
            Command::ToggleMixMute => self.toggle_mix_mute(),
            Command::MuteMixAtCycleEnd => self.toggle_trigger(Action::MixMuteTrigger),
            Command::RecordNextCycle => self.toggle_trigger(Action::RecordNextCycleTrigger),
            Command::Restart => self.restart(),
            Command::LastTrackGainUp => self.scale_last_track_gain(1.2),
            Command::LastTrackGainDown => self.scale_last_track_gain(0.8),
            Command::ResetLastTrack => self.reset_last_track(),
            Command::Capture | Command::ToggleLastTrackDelay => {
                self.say(EngineMessage::NotImplemented(command))
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
        if self
            .schedule
            .cancel(|a| matches!(a, Action::StartTake { .. }))
            > 0
        {
            return;
        }
        match self.cycle {
            None => self.begin_take(now, false),
            Some(cycle) => {
                let start = cycle.snap(now, self.lenience_samples());
                if start > now {
                    self.schedule_action(start, Action::StartTake { pa_muted: false });
                } else {
                    self.begin_take(start, false);
                }
            }
        }
    }

    /// Starts a take at `start` (now, or a boundary in the recent past filled from the history).
    fn begin_take(&mut self, start_samples: u64, pa_muted: bool) {
        let Some(buffer) = self.pool.take_spare() else {
            self.say(EngineMessage::NoTrackStorage);
            return;
        };
        // A new take ends the redo history.
        self.discard_redo();
        let mut take = Take::new(buffer, start_samples);
        take.append_from_history(&self.history, self.now_samples);
        match self.take_limit_samples(take.capacity_frames()) {
            Some(limit) => self.schedule_action(start_samples + limit, Action::StopTake),
            None => {
                self.pool.retire(take.into_buffer());
                self.say(EngineMessage::TakeStoppedAtLimit);
                return;
            }
        }
        self.take = Some(take);
        self.take_mutes_pa = pa_muted;
        if pa_muted {
            self.gains.set_pa_muted(true, self.blend_samples() as u32);
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

    fn stop_pressed(&mut self, now: u64) {
        let Some(take) = &self.take else { return };
        let start = take.start_samples();
        let stop = match self.cycle {
            None => now,
            Some(cycle) => {
                let snapped = cycle.snap(now, self.lenience_samples());
                if snapped > start { snapped } else { now }
            }
        };
        if stop > now {
            // Replaces the length-limit stop, which is always later.
            self.schedule.cancel(|a| *a == Action::StopTake);
            self.schedule_action(stop, Action::StopTake);
        } else {
            if let Some(take) = &mut self.take {
                take.truncate_at(stop);
            }
            self.finish_take();
        }
    }

    /// Ends the take at its current end and turns it into a track.
    fn finish_take(&mut self) {
        self.schedule.cancel(|a| *a == Action::StopTake);
        let Some(take) = self.take.take() else { return };
        if self.take_mutes_pa {
            self.gains.set_pa_muted(false, self.blend_samples() as u32);
            self.take_mutes_pa = false;
        }
        let at_limit =
            self.take_limit_samples(take.capacity_frames()) == Some(take.len_frames() as u64);
        let take_samples = take.len_frames() as u64;
        let length = match self.cycle {
            Some(cycle) => cycle.track_length(take_samples.max(1)),
            None => {
                let min = ms_to_samples(MIN_ANCHOR_SECS * 1000.0, self.config.sample_rate_hz);
                if take.len_frames() < min.max(1) {
                    self.pool.retire(take.into_buffer());
                    self.say(EngineMessage::TakeTooShort);
                    return;
                }
                self.cycle = Some(Cycle {
                    origin_samples: take.start_samples(),
                    length_samples: take_samples,
                });
                take_samples
            }
        };
        if self.tracks.len() == self.tracks.capacity() {
            self.pool.retire(take.into_buffer());
            self.say(EngineMessage::TooManyTracks);
            return;
        }
        let track = take.into_track(length, self.blend_samples(), &self.history);
        self.tracks.push(track);
        if at_limit {
            self.say(EngineMessage::TakeStoppedAtLimit);
        }
    }

    fn undo(&mut self) {
        if let Some(take) = self.take.take() {
            self.schedule.cancel(|a| *a == Action::StopTake);
            if self.take_mutes_pa {
                self.gains.set_pa_muted(false, self.blend_samples() as u32);
                self.take_mutes_pa = false;
            }
            self.pool.retire(take.into_buffer());
            return;
        }
        if self
            .schedule
            .cancel(|a| matches!(a, Action::StartTake { .. }))
            > 0
        {
            return;
        }
        let blend = self.blend_samples() as u32;
        if let Some(track) = self
            .tracks
            .iter_mut()
            .rev()
            .find(|track| track.state == TrackState::Playing)
        {
            track.state = TrackState::Undoing;
            track.fade.ramp_to(0.0, blend);
        }
        if self.playing_track_count() == 0 {
            self.reset_cycle();
        }
    }

    fn redo(&mut self) {
        let blend = self.blend_samples() as u32;
        // The most recent undo still fading out is the first of the trailing undoing tracks.
        let fading = self
            .tracks
            .iter()
            .rposition(|track| track.state == TrackState::Playing)
            .map_or(0, |last_playing| last_playing + 1);
        if let Some(track) = self.tracks[fading..]
            .iter_mut()
            .find(|track| track.state == TrackState::Undoing)
        {
            track.state = TrackState::Playing;
            track.fade.ramp_to(1.0, blend);
        } else if let Some(mut track) = self.redo.pop() {
            if self.tracks.len() == self.tracks.capacity() {
                self.redo.push(track);
                self.say(EngineMessage::TooManyTracks);
                return;
            }
            track.state = TrackState::Playing;
            track.fade.set(0.0);
            track.fade.ramp_to(1.0, blend);
            self.tracks.push(track);
        } else {
            return;
        }
        if self.cycle.is_none() {
            let anchor = self
                .playing_tracks()
                .next()
                .expect("a track was just restored");
            self.cycle = Some(Cycle {
                origin_samples: anchor.origin_samples,
                length_samples: anchor.length_samples,
            });
        }
    }

    fn clear(&mut self) {
        if let Some(take) = self.take.take() {
            self.pool.retire(take.into_buffer());
        }
        self.take_mutes_pa = false;
        let blend = self.blend_samples() as u32;
        // A clean slate: the next loop must be heard.
        self.gains.set_pa_muted(false, blend);
        self.gains.set_mix_muted(false, blend);
        for track in &mut self.tracks {
            track.state = TrackState::Discarding;
            track.fade.ramp_to(0.0, blend);
        }
        self.discard_redo();
        self.reset_cycle();
    }

    /// Forgets the cycle and everything that waits on it.
    fn reset_cycle(&mut self) {
        self.cycle = None;
        self.schedule.cancel(|a| !matches!(a, Action::Command(_)));
        // A cancelled restart must not leave the loop bus faded out.
        self.gains.fade_loops_in(self.blend_samples() as u32);
    }

    /// Drops the redo history (a new take or clear): undone tracks are freed once silent.
    fn discard_redo(&mut self) {
        while let Some(track) = self.redo.pop() {
            self.pool.retire(track.buffer);
        }
        for track in &mut self.tracks {
            if track.state == TrackState::Undoing {
                track.state = TrackState::Discarding;
            }
        }
    }

    fn toggle_mix_mute(&mut self) {
        let muted = !self.gains.mix_muted();
        self.gains.set_mix_muted(muted, self.blend_samples() as u32);
    }

    /// Schedules `trigger` at the next cycle boundary, or cancels it if it is already pending.
    fn toggle_trigger(&mut self, trigger: Action) {
        if self.schedule.cancel(|a| *a == trigger) > 0 {
            return;
        }
        match self.cycle {
            Some(cycle) => self.schedule_action(cycle.boundary_after(self.now_samples), trigger),
            None => self.say(EngineMessage::NeedsAnchor),
        }
    }

    fn restart(&mut self) {
        if self.cycle.is_none() {
            return;
        }
        let declick = ms_to_samples(DECLICK_SECS * 1000.0, self.config.sample_rate_hz);
        self.gains.fade_loops_out(declick as u32);
        self.schedule.cancel(|a| *a == Action::RestartJump);
        self.schedule_action(self.now_samples + declick as u64, Action::RestartJump);
    }

    /// Moves every loop back to the start of the longest loop's cycle, then fades them in.
    fn restart_jump(&mut self) {
        let Some(cycle) = self.cycle else { return };
        let longest = self
            .tracks
            .iter()
            .map(|track| track.length_samples)
            .max()
            .unwrap_or(cycle.length_samples);
        let shift = (self.now_samples as i128 - cycle.origin_samples as i128)
            .rem_euclid(longest as i128) as u64;
        for track in &mut self.tracks {
            track.origin_samples += shift;
        }
        self.cycle = Some(Cycle {
            origin_samples: cycle.origin_samples + shift,
            ..cycle
        });
        self.gains.fade_loops_in(self.blend_samples() as u32);
    }

    fn last_playing_track(&mut self) -> Option<&mut Track> {
        self.tracks
            .iter_mut()
            .rev()
            .find(|track| track.state == TrackState::Playing)
    }

    fn scale_last_track_gain(&mut self, factor: f32) {
        let blend = self.blend_samples() as u32;
        if let Some(track) = self.last_playing_track() {
            let target = (track.gain.target() * factor).min(MAX_TRACK_GAIN);
            track.gain.ramp_to(target, blend);
        }
    }

    fn reset_last_track(&mut self) {
        let blend = self.blend_samples() as u32;
        if let Some(track) = self.last_playing_track() {
            track.gain.ramp_to(1.0, blend);
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
        let channels = self.config.recorded_channels;
        // Input, sanitized: NaN or infinite samples must not poison the history and loops.
        for c in 0..channels {
            let source = &main[c.min(main.len() - 1)][at..at + frames];
            for (d, &s) in self.input[c][..frames].iter_mut().zip(source) {
                *d = if s.is_finite() { s } else { 0.0 };
            }
        }
        let [input_0, input_1] = &self.input;
        let input: [&[f32]; 2] = [&input_0[..frames], &input_1[..frames]];
        self.history.write(&input[..channels]);
        if let Some(take) = &mut self.take {
            take.append(&input[..channels]);
        }

        let [bus_0, bus_1] = &mut self.loop_bus;
        let mut bus: [&mut [f32]; 2] = [&mut bus_0[..frames], &mut bus_1[..frames]];
        bus[0].fill(0.0);
        bus[1].fill(0.0);
        for track in &mut self.tracks {
            track.mix_into(self.now_samples, &mut bus);
        }

        let monitor_right = if channels == 2 { 1 } else { 0 };
        self.gains.mix(
            [input[0], input[monitor_right]],
            [&bus[0][..], &bus[1][..]],
            main,
            phones,
            at,
        );

        self.now_samples += frames as u64;
        self.reap_faded_tracks();
    }

    /// Moves tracks whose fade-out has finished to the redo list (undone) or the keeper (cleared).
    fn reap_faded_tracks(&mut self) {
        while let Some(last) = self.tracks.last() {
            if last.state == TrackState::Playing || !last.is_faded_out() {
                break;
            }
            let track = self.tracks.pop().expect("checked above");
            if track.state == TrackState::Undoing && self.redo.len() < self.redo.capacity() {
                self.redo.push(track);
            } else {
                self.pool.retire(track.buffer);
            }
        }
        while let Some(index) = self
            .tracks
            .iter()
            .position(|track| track.state == TrackState::Discarding && track.is_faded_out())
        {
            let track = self.tracks.remove(index);
            self.pool.retire(track.buffer);
        }
    }
}

/// Milliseconds to a whole number of samples (rounded), never negative.
pub fn ms_to_samples(ms: f32, sample_rate_hz: f32) -> usize {
    (ms.max(0.0) as f64 * sample_rate_hz as f64 / 1000.0).round() as usize
}

#[cfg(test)]
mod tests;
