//! The streaming analysis of one input: samples in, envelope frames, tempo novelty and onsets
//! out. The worker thread runs it on the live input; [`super::offline`] runs the very
//! same code over a buffer, so online and offline results are identical.

use super::AnalysisConfig;
use super::envelope::{FluxEnvelope, PITCH_CLASSES};
use super::picking::OnsetPicker;
use super::tempo::Novelty;

/// How far the attack is inside the frame (from its end) when the envelope has risen through
/// half its peak, as a fraction of the frame length: a log spectrum jumps as soon as the attack
/// enters the window's tail. Measured on clicks and tone bursts (see the tests) and on the
/// corpus' mean deviation; one constant, not tuned per clip.
pub const ONSET_DELAY_FRACTION_OF_FRAME: f64 = 0.205;
/// Reported onsets lead the estimated physical attack by this much, in seconds: a loop that
/// starts there keeps the whole transient, and played notes (the corpus' note-on annotations)
/// begin before their sound has energy, by an amount the signal does not tell (bass and pads
/// start softly, a strum's first string is quieter than the chord; tone bursts of any pitch from
/// 41 Hz to 1.8 kHz are found alike). Centring the note-ons of a development corpus
/// (`make_corpus.py --seed 4242`; `scripts/mir_onset_timing.py` re-derives it) would take
/// 8.4 ms, which would start loops 8 ms before a click, beyond the engine's 5 ms: this keeps
/// clicks within a hop and takes about half of it.
pub const ONSET_LEAD_SECS: f64 = 0.004;

/// A detected onset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Onset {
    /// When the attack happened, in samples from the start of the stream, corrected for the
    /// analysis delay.
    pub time_samples: f64,
    /// Envelope height at the peak (log10 units summed over bands).
    pub strength: f32,
}

/// One envelope frame's results.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameOut {
    /// Frame index from the start of the stream.
    pub frame: u64,
    /// The timing envelope's value (see [`super::envelope::Flux`]; the tempo and the display
    /// read it).
    pub envelope: f32,
    /// Tempo novelty (the envelope above its moving mean).
    pub novelty: f32,
    /// The onset this frame decided (an earlier frame's peak), if any.
    pub onset: Option<Onset>,
    /// The frame's chroma (magnitude per pitch class, see [`FluxEnvelope::chroma`]).
    pub chroma: [f32; PITCH_CLASSES],
}

/// The streaming analyser. Allocation-free after [`OnlineAnalyzer::new`].
pub struct OnlineAnalyzer {
    /// Frame sizes.
    config: AnalysisConfig,
    /// Envelope of each frame.
    envelope: FluxEnvelope,
    /// Causal onset picking.
    picker: OnsetPicker,
    /// Detrend for the tempogram.
    novelty: Novelty,
    /// The last `frame_samples` input samples (ring; zeros before the stream's start).
    ring: Box<[f32]>,
    /// Samples received.
    samples: u64,
    /// Where the next sample goes in `ring` (`samples` modulo its length).
    ring_pos: usize,
    /// Samples still to come before the next frame is complete.
    until_frame: usize,
    /// Frames produced.
    frames: u64,
}

impl OnlineAnalyzer {
    /// Allocates everything for `config`.
    pub fn new(config: AnalysisConfig) -> Self {
        let rate = config.frame_rate_hz();
        Self {
            config,
            envelope: FluxEnvelope::new(&config),
            // The first frame whose window lies wholly within the stream.
            picker: OnsetPicker::new(rate, (config.frame_samples / config.hop_samples) as u64),
            novelty: Novelty::new(rate),
            ring: vec![0.0; config.frame_samples].into_boxed_slice(),
            samples: 0,
            ring_pos: 0,
            until_frame: config.hop_samples,
            frames: 0,
        }
    }

    /// The frame sizes.
    pub fn config(&self) -> &AnalysisConfig {
        &self.config
    }

    /// Samples received so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The onset delay correction in samples (frame end minus onset).
    pub fn onset_delay_samples(&self) -> f64 {
        ONSET_DELAY_FRACTION_OF_FRAME * self.config.frame_samples as f64
            + ONSET_LEAD_SECS * f64::from(self.config.sample_rate_hz)
    }

    /// Time from an attack until its onset is surely reported, in samples: the delay inside the
    /// frame plus the picker's look-back (rise to peak) and look-ahead.
    pub fn detection_latency_samples(&self) -> f64 {
        self.onset_delay_samples() + (self.picker.latency_frames() * self.config.hop_samples) as f64
    }

    /// Onsets with attack times before this (in samples from the start of the stream) are all
    /// reported: where the earliest onset still undecided could lie (see
    /// [`OnsetPicker::final_before_frame`]). Usually the input received minus the onset delay;
    /// at most [`detection_latency_samples`](Self::detection_latency_samples) behind it.
    pub fn final_until_samples(&self) -> f64 {
        let hop = self.config.hop_samples as f64;
        ((self.picker.final_before_frame() + 1.0) * hop - self.onset_delay_samples()).max(0.0)
    }

    /// Feeds samples; calls `on_frame` for every completed frame. Allocation-free.
    pub fn push(&mut self, samples: &[f32], mut on_frame: impl FnMut(&FrameOut)) {
        let mut rest = samples;
        while !rest.is_empty() {
            // Copy up to the next frame or the ring's end, whichever comes first.
            let room = self.ring.len() - self.ring_pos;
            let take = rest.len().min(self.until_frame).min(room);
            let (now, later) = rest.split_at(take);
            for (slot, &x) in self.ring[self.ring_pos..self.ring_pos + take]
                .iter_mut()
                .zip(now)
            {
                *slot = if x.is_finite() { x } else { 0.0 };
            }
            rest = later;
            self.samples += take as u64;
            self.ring_pos = (self.ring_pos + take) % self.ring.len();
            self.until_frame -= take;
            if self.until_frame == 0 {
                self.until_frame = self.config.hop_samples;
                let out = self.frame();
                on_frame(&out);
            }
        }
    }

    fn frame(&mut self) -> FrameOut {
        // The ring's oldest sample sits right after the newest one.
        let (newer, older) = self.ring.split_at(self.ring_pos);
        let flux = self.envelope.process_frame(older, newer);
        let envelope = flux.timing;
        let chroma = self.envelope.chroma();
        let novelty = self.novelty.push(envelope);
        let hop = self.config.hop_samples as f64;
        let delay = self.onset_delay_samples();
        let onset = self
            .picker
            .push(flux.detection, flux.timing)
            .map(|picked| Onset {
                time_samples: ((picked.rise_frame + 1.0) * hop - delay).max(0.0),
                strength: picked.strength,
            });
        let frame = self.frames;
        self.frames += 1;
        FrameOut {
            frame,
            envelope,
            novelty,
            onset,
            chroma,
        }
    }
}
