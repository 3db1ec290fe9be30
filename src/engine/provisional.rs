//! The loop just closed, sounding from its stop press while the onset decision is pending
//! (behaviour spec section 8b: "the loop sounds from the stop press").
//!
//! A free stop press waits for the analysis to decide the stop (and the start) at a nearby
//! attack, about 360 ms later. Meanwhile the take records on, in case the decided stop is later
//! than the press, and this voice plays the loop as pressed: `[start, press)` repeated from the
//! press, read from the history, with the same seam a track of those boundaries gets
//! ([`super::take::Take::into_track`]). When the decided track joins the mix it fades in while
//! this voice fades out over the blend length: equal-sum linear ramps, so where the decision
//! kept the pressed boundaries the output does not change by a sample.
//!
//! Realtime: runs on the audio thread; it reads the preallocated history and never allocates.

use super::history::History;
use super::ramp::{Ramp, seam_weight};

/// Decided boundaries may come this long after the press, in seconds (the onset window, the
/// detection latency and the worker's margin and longest wait): the history must still hold
/// the loop then, plus the crossfade.
const DECISION_SLACK_SECS: f32 = 1.5;

/// The pressed loop, played from the history until the decided track replaces it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProvisionalLoop {
    /// Absolute time of the loop's first frame (the take's start at the press).
    start_samples: u64,
    /// The loop's length, press minus start, in samples.
    length_samples: u64,
    /// The seam's crossfade, in samples (at most the loop's length).
    blend_samples: u64,
    /// Whether the seam blends in the history's pre-roll (else the loop's first frames fade
    /// in), as the track's seam will.
    preroll_held: bool,
    /// 1 while it plays alone; ramps to 0 as the decided track fades in.
    fade: Ramp,
}

impl ProvisionalLoop {
    /// The loop `[start_samples, press_samples)`, sounding from the press; `None` when the
    /// history will not hold all of it until a decision can come (a take nearly as long as the
    /// history), or it is empty.
    pub fn new(
        start_samples: u64,
        press_samples: u64,
        blend_samples: usize,
        history: &History,
        sample_rate_hz: f32,
    ) -> Option<Self> {
        let length_samples = press_samples
            .checked_sub(start_samples)
            .filter(|&l| l > 0)?;
        let blend_samples = (blend_samples as u64).min(length_samples);
        let slack_samples = (DECISION_SLACK_SECS * sample_rate_hz) as u64 + blend_samples;
        let oldest_needed = start_samples.saturating_sub(blend_samples);
        let history_start_then =
            (press_samples + slack_samples).saturating_sub(history.capacity_frames() as u64);
        if start_samples < history_start_then {
            return None;
        }
        Some(Self {
            start_samples,
            length_samples,
            blend_samples,
            preroll_held: start_samples >= blend_samples && oldest_needed >= history_start_then,
            fade: Ramp::at(1.0),
        })
    }

    /// Starts fading out over `length_samples` (the decided track fades in meanwhile, or the
    /// take was dropped).
    pub fn fade_out(&mut self, length_samples: u32) {
        if self.fade.target() != 0.0 {
            self.fade.ramp_to(0.0, length_samples);
        }
    }

    /// True once it has faded out.
    pub fn is_silent(&self) -> bool {
        self.fade.is_idle() && self.fade.target() == 0.0
    }

    /// Adds the loop at absolute times `t_samples..` to `bus` (stereo; a mono history feeds both
    /// sides), reading the history in runs through `scratch` (at least the bus's length).
    pub fn mix_into(
        &mut self,
        t_samples: u64,
        history: &History,
        bus: &mut [&mut [f32]; 2],
        scratch: &mut [f32],
    ) {
        let frames = bus[0].len();
        let mut index = (t_samples - self.start_samples) % self.length_samples;
        let mut done = 0;
        while done < frames {
            let run = (frames - done).min((self.length_samples - index) as usize);
            let fade = self.fade;
            for (c, channel) in bus.iter_mut().enumerate() {
                let source = &mut scratch[..run];
                self.read(history, c.min(history.channels() - 1), index, source);
                self.fade = fade;
                for (out, sample) in channel[done..done + run].iter_mut().zip(source.iter()) {
                    *out += sample * self.fade.next_sample();
                }
            }
            done += run;
            index = (index + run as u64) % self.length_samples;
        }
    }

    /// The loop's frames `index..index + out.len()` (within the loop) of `channel`, with the
    /// seam as [`super::take::Take::into_track`] writes it: the last `B` frames fade out while
    /// the pre-roll fades in (or the first `B` fade in where there is no pre-roll).
    fn read(&self, history: &History, channel: usize, index: u64, out: &mut [f32]) {
        history.read(channel, self.start_samples + index, out);
        let blend = self.blend_samples;
        let seam_start = self.length_samples - blend;
        for (i, sample) in (index..).zip(out.iter_mut()) {
            if i >= seam_start {
                let j = (i - seam_start) as usize;
                let w = seam_weight(j, blend as usize);
                *sample *= 1.0 - w;
                if self.preroll_held {
                    let mut preroll = [0.0];
                    history.read(channel, self.start_samples - blend + j as u64, &mut preroll);
                    *sample += preroll[0] * w;
                }
            }
            if !self.preroll_held && i < blend {
                *sample *= seam_weight(i as usize, blend as usize);
            }
        }
    }
}
