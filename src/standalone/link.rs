//! Ableton Link in the standalone (the `link` feature): Loopmate joins the Link session on the
//! network and its transport follows the session's tempo and bar phase, with the quantum = the
//! clock's beats per bar. The maths is [`crate::link_clock`]; this is the session around it.
//!
//! Time: Link works in host time (its clock, in microseconds); the engine in samples. Each
//! period, the host time read when the period starts goes through [`HostTimeMap`] (which takes
//! out the callback's wake-up delays), and the output latency the backend reports is added: the
//! transport is the session's beat at the moment the period's first sample leaves the
//! interface, as Link asks.
//!
//! Start/stop sync is off: the session's timeline always runs, so the transport always plays.
//!
//! Realtime: [`LinkSource::transport_at`] and [`LinkSource::propose`] run on the audio thread
//! once a period, through Link's audio-thread calls (`capture_audio_session_state`,
//! `commit_audio_session_state`, `clock_micros`, `num_peers`), which are realtime-safe; the
//! session state and the host time map's readings are allocated in [`LinkSource::join`].

use rusty_link::{AblLink, SessionState};

use crate::engine::host_clock::HostTransport;
use crate::link_clock::{HostTimeMap, TempoProposal, link_transport};

/// The tempo Loopmate's Link session starts at, in BPM, until a peer or its anchor sets one.
pub const INITIAL_TEMPO_BPM: f64 = 120.0;

/// Loopmate's peer in a Link session, as a transport source. Owned by the audio thread.
pub struct LinkSource {
    /// The Link instance (enabled).
    link: AblLink,
    /// The session state, captured and committed on the audio thread.
    state: SessionState,
    /// Maps engine time to host time.
    host_time: HostTimeMap,
    /// Beats in a bar, the quantum.
    beats_per_bar: u32,
    /// Sample rate in hertz.
    sample_rate_hz: f32,
    /// From a period's start to its first sample at the output, in microseconds.
    output_latency_micros: i64,
    /// Host time of the current period's first output sample, in microseconds.
    period_micros: i64,
    /// When to propose the anchor's tempo.
    proposal: TempoProposal,
}

impl LinkSource {
    /// Joins the Link session (enables Link) with `beats_per_bar` a bar, at `sample_rate_hz`,
    /// the period's output `output_latency_samples` after its start. Not realtime.
    pub fn join(beats_per_bar: u32, sample_rate_hz: f32, output_latency_samples: u32) -> Self {
        let link = AblLink::new(INITIAL_TEMPO_BPM);
        link.enable(true);
        let output_latency_secs = f64::from(output_latency_samples) / f64::from(sample_rate_hz);
        Self {
            link,
            state: SessionState::new(),
            host_time: HostTimeMap::new(sample_rate_hz),
            beats_per_bar,
            sample_rate_hz,
            output_latency_micros: if output_latency_secs.is_finite() {
                (output_latency_secs * 1e6).round() as i64
            } else {
                0
            },
            period_micros: 0,
            proposal: TempoProposal::default(),
        }
    }

    /// Other peers in the session. Realtime-safe.
    pub fn peers(&self) -> u64 {
        self.link.num_peers()
    }

    /// The transport for the period starting at engine time `period_start_samples`. Call once
    /// per period, on the audio thread. Realtime-safe.
    pub fn transport_at(&mut self, period_start_samples: u64) -> HostTransport {
        let reading_micros = self.link.clock_micros();
        self.period_micros = self
            .host_time
            .host_micros(reading_micros, period_start_samples)
            + self.output_latency_micros;
        self.link.capture_audio_session_state(&mut self.state);
        let quantum = f64::from(self.beats_per_bar);
        link_transport(
            self.state.beat_at_time(self.period_micros, quantum),
            self.state.tempo(),
            self.beats_per_bar,
            self.sample_rate_hz,
        )
    }

    /// After the period: proposes the anchor's tempo (`anchor_bpm`, from its whole beats) to the
    /// session when Loopmate is alone in it (see [`TempoProposal`]), from the period's start
    /// (the beat there is kept). Realtime-safe.
    pub fn propose(&mut self, anchor_bpm: Option<f64>) {
        let tempo = self
            .proposal
            .propose(anchor_bpm, self.state.tempo(), self.peers());
        if let Some(bpm) = tempo {
            self.state.set_tempo(bpm, self.period_micros);
            self.link.commit_audio_session_state(&self.state);
        }
    }
}
