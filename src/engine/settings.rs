//! The engine's settings: fixed at activation ([`EngineConfig`]), the player's
//! ([`EngineSettings`], read at every block) and how the host runs it ([`RenderMode`]), with the
//! unit conversions they need. Plain data, shared by every part of the engine.

/// Frames processed at a time internally (the scratch buffers' size).
pub const CHUNK_FRAMES: usize = 256;
/// Fade used around a restart's jump, a re-alignment and a loop restarting before or after its
/// audio ends, in seconds.
pub const DECLICK_SECS: f32 = 0.005;
/// Shortest anchor loop accepted, in seconds (a double tap is not a loop).
pub const MIN_ANCHOR_SECS: f32 = 0.1;

use super::input::InputMode;

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
    /// Overdub feedback (0..=1): what was in the loop is multiplied by it on each pass of an
    /// overdub (1 keeps it all, as on tape at full feedback).
    pub dub_feedback: f32,
    /// Beats a one-shot capture takes when there is a beat grid (0: one bar of it).
    pub one_shot_beats: u32,
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
            dub_feedback: 1.0,
            one_shot_beats: 0,
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

/// How record boundaries of the anchor follow the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantizeMode {
    /// Presses act where they are.
    Off,
    /// Start and stop snap to the strongest nearby onset.
    Onset,
    /// The anchor length is rounded to a whole number of beats.
    Beat,
    /// Both.
    OnsetBeat,
}

impl QuantizeMode {
    /// Whether boundaries snap to onsets.
    pub fn onsets(self) -> bool {
        matches!(self, Self::Onset | Self::OnsetBeat)
    }

    /// Whether the anchor length is rounded to beats.
    pub fn beats(self) -> bool {
        matches!(self, Self::Beat | Self::OnsetBeat)
    }
}

/// Where the loops take their tempo from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// The anchor loop defines the tempo; the host transport is ignored (except by triggers on
    /// the next bar, capture without an anchor and the metronome).
    Free,
    /// Follow the host transport while it plays: whole bars, started and stopped on the host's
    /// bar grid, kept aligned to its bar positions and tempo.
    Host,
}

/// How many bars a host-synced anchor spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarCount {
    /// 1, 2, 4, 8... bars: the power of two nearest to the recorded length.
    Auto,
    /// Exactly this many bars: the take stops by itself after them.
    Fixed(u32),
}

/// What loops do when the host transport stops (host mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportStop {
    /// Loops run on freely from where they are (and re-align when the transport plays again).
    KeepRunning,
    /// Loops fade out, and fade back in aligned to the host when the transport plays again.
    StopLoops,
}

/// The player's host-sync settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSettings {
    /// Free or host.
    pub mode: SyncMode,
    /// Bars of a host-synced anchor.
    pub bars: BarCount,
    /// Loops when the transport stops.
    pub on_stop: TransportStop,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            mode: SyncMode::Free,
            bars: BarCount::Auto,
            on_stop: TransportStop::KeepRunning,
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
