//! What the engine tells the editor: a fixed-size snapshot of its state (recording, cycle,
//! tracks, pending triggers, meters) and the last message for the player. Plain `Copy` data,
//! made on the audio thread and read through a triple buffer.

use super::command::TriggerAction;
use super::cycle::HostGrid;
use super::dub::DubState;
use super::fx::chain::FxSettings;
use super::oneshot::{PADS, PadStatus};
use super::speed::Speed;

/// Pending triggers the status reports.
pub const SHOWN_TRIGGERS: usize = 8;

/// Something the engine wants the player to know (shown by the editor).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EngineMessage {
    /// No storage was ready for a new take (memory exhausted or the keeper is behind).
    NoTrackStorage,
    /// Memory ran out during a take (exhausted, or the keeper is behind): the take ended at its
    /// last page.
    TakeOutOfStorage,
    /// Memory ran short while a capture copied its audio: the part not yet copied is silent
    /// until memory comes.
    CaptureOutOfStorage,
    /// No memory was ready for a loop's delay: the delay stays off.
    DelayOutOfStorage,
    /// The take was shorter than the shortest anchor and was dropped.
    TakeTooShort,
    /// The take reached the longest track the history length allows and was stopped there.
    TakeStoppedAtLimit,
    /// Too many commands waiting; one was dropped.
    ScheduleFull,
    /// No free track slot yet (the keeper is preparing more); the take was refused.
    TooManyTracks,
    /// A command that needs an anchor loop (or a playing host transport) was sent with none.
    NeedsAnchor,
    /// A trigger on the host's bars was sent while the host transport is not playing.
    NeedsHostTransport,
    /// A capture asked for more audio than the history holds.
    CaptureTooLong,
    /// An imported track's length no longer fits the cycle (it changed meanwhile): not added.
    ImportDoesNotFit,
    /// An imported file is shorter than the shortest anchor: not added.
    ImportTooShort,
    /// Memory ran short while a dub copied or wrote its loop: the dub was dropped.
    DubOutOfStorage,
    /// Dubs need the loop at normal speed, forwards, and whole (not still capturing).
    DubNeedsPlainLoop,
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
    /// Bars in the anchor cycle while the loops follow the host's bars (host sync), else `None`.
    pub host_bars: Option<u32>,
    /// The host's bar grid while its transport plays.
    pub host_grid: Option<HostGrid>,
    /// The anchor's tempo in BPM when beat quantization made it a whole number of beats.
    pub anchor_bpm: Option<f64>,
    /// Beats the metronome clicks in one anchor cycle, when its beats divide the cycle: what the
    /// editor's cycle ring counts, so the ring and the click agree.
    pub cycle_beats: Option<u32>,
    /// Seconds of input the history holds now (it fills up after activation, then stays full).
    pub history_filled_secs: f32,
    /// Seconds the history can hold.
    pub history_secs: f32,
    /// Tracks playing.
    pub track_count: usize,
    /// Edits redo can re-apply (see `undo.rs`).
    pub redo_count: usize,
    /// The take recorder.
    pub recording: RecordingState,
    /// The dub (overdub, replace, multiply) armed or in progress.
    pub dub: DubState,
    /// Whether the loop mix is muted.
    pub mix_muted: bool,
    /// Whether the PA (main output) is muted.
    pub pa_muted: bool,
    /// The first `SHOWN_TRACKS` playing tracks.
    pub tracks: [Option<TrackStatus>; SHOWN_TRACKS],
    /// The selected loop (the one per-loop commands act on), whichever its place in the mix.
    pub selected: Option<SelectedStatus>,
    /// Triggers waiting to fire (the first `SHOWN_TRIGGERS` are listed in `triggers`).
    pub pending_count: usize,
    /// Pending triggers, earliest first.
    pub triggers: [Option<PendingTrigger>; SHOWN_TRIGGERS],
    /// New takes or captures refused because no storage was ready.
    pub storage_refusals: u64,
    /// Input chunks replaced by silence because they held NaN or infinite samples.
    pub bad_input_chunks: u64,
    /// The PA limiter's gain (1 = not limiting).
    pub limiter_gain: f32,
    /// Input peak level with a 300 ms fall (linear, both channels).
    pub input_peak: f32,
    /// Chunks whose input reached full scale (clipping at the interface), since activation.
    pub input_clips: u64,
    /// The latest message, and a counter that changes with every new one.
    pub message: Option<EngineMessage>,
    /// Increments with every message.
    pub message_serial: u64,
    /// The one-shot pads.
    pub one_shots: [PadStatus; PADS],
}

/// Tracks whose controls the status reports (the first ones in the mix).
pub const SHOWN_TRACKS: usize = 16;

/// One track's state, as the editor shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackStatus {
    /// The track's id (as in the saved performance).
    pub id: u64,
    /// Loop length in cycles of the anchor.
    pub cycles: u32,
    /// Loop length in samples.
    pub length_samples: u64,
    /// Playback speed (the one it is heading to).
    pub speed: Speed,
    /// Where the playhead is in the loop's audio, in samples from its start (at speed 1/2 it
    /// moves a sample every two).
    pub position_samples: u64,
    /// Gain (linear) the track is heading to.
    pub gain: f32,
    /// Pan (-1 ..= 1) the track is heading to.
    pub pan: f32,
    /// Muted by the player.
    pub muted: bool,
    /// Soloed by the player.
    pub soloed: bool,
    /// Filter on.
    pub filter_on: bool,
    /// Drive on.
    pub drive_on: bool,
    /// Delay on.
    pub delay_on: bool,
    /// Playing backwards.
    pub reversed: bool,
    /// Overdub layers in the loop.
    pub layers: u32,
}

/// The selected loop, as the editor shows it: every control the *Selected loop* parameters
/// reach, at the values the loop is heading to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectedStatus {
    /// Its place among the playing tracks (0: the anchor).
    pub index: usize,
    /// Its length, position, gain, pan, mute, solo and switches.
    pub track: TrackStatus,
    /// Its effect settings.
    pub fx: FxSettings,
}

impl TrackStatus {
    /// How long one pass of the loop takes at its speed, in anchor cycles (a one-cycle loop at x2
    /// is 0.5, at x1/2 2).
    pub fn cycles_at_speed(&self) -> f64 {
        f64::from(self.cycles) / self.speed.ratio()
    }
}

/// A trigger waiting to fire, as the editor lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingTrigger {
    /// What it will do.
    pub action: TriggerAction,
    /// Absolute time at which it fires next.
    pub at_samples: u64,
    /// Firings left, `None` for forever.
    pub remaining: Option<u32>,
}

impl EngineStatus {
    /// The status before activation.
    pub fn idle(sample_rate_hz: f32) -> Self {
        Self {
            sample_rate_hz,
            now_samples: 0,
            cycle_length_samples: None,
            cycle_position_samples: 0,
            host_bars: None,
            host_grid: None,
            anchor_bpm: None,
            cycle_beats: None,
            history_filled_secs: 0.0,
            history_secs: 0.0,
            track_count: 0,
            redo_count: 0,
            recording: RecordingState::Idle,
            dub: DubState::Idle,
            mix_muted: false,
            pa_muted: false,
            tracks: [None; SHOWN_TRACKS],
            selected: None,
            pending_count: 0,
            triggers: [None; SHOWN_TRIGGERS],
            storage_refusals: 0,
            bad_input_chunks: 0,
            limiter_gain: 1.0,
            input_peak: 0.0,
            input_clips: 0,
            message: None,
            message_serial: 0,
            one_shots: [PadStatus::default(); PADS],
        }
    }
}
