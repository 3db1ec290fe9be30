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
    /// sides), reading the history in runs through `scratch` (two channels, each at least the
    /// bus's length). Both sides take the same fade gain at a frame: it advances once per frame.
    pub fn mix_into(
        &mut self,
        t_samples: u64,
        history: &History,
        bus: &mut [&mut [f32]; 2],
        scratch: [&mut [f32]; 2],
    ) {
        let frames = bus[0].len();
        let [left_scratch, right_scratch] = scratch;
        let [bus_left, bus_right] = bus;
        let mut index = (t_samples - self.start_samples) % self.length_samples;
        let mut done = 0;
        while done < frames {
            let run = (frames - done).min((self.length_samples - index) as usize);
            let (left, right) = (&mut left_scratch[..run], &mut right_scratch[..run]);
            self.read(history, 0, index, left);
            self.read(history, 1.min(history.channels() - 1), index, right);
            let outputs = bus_left[done..done + run]
                .iter_mut()
                .zip(&mut bus_right[done..done + run]);
            for ((out_left, out_right), (&l, &r)) in outputs.zip(left.iter().zip(right.iter())) {
                let gain = self.fade.next_sample();
                *out_left += l * gain;
                *out_right += r * gain;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fade_across_blocks_gives_both_sides_the_same_continuous_ramp() {
        // Left 1, right -0.5 (constants stay constant through the seam): each side is its level
        // times the fade, which runs across several blocks and the loop's seam.
        let mut history = History::try_new(2, 200_000).unwrap();
        let (left, right) = (vec![1.0f32; 10_000], vec![-0.5f32; 10_000]);
        history.write(&[&left, &right]);
        let (start, press, fade_samples, frames) = (8_800, 9_000, 300, 400);
        let mut reference = Ramp::at(1.0);
        reference.ramp_to(0.0, fade_samples);
        let expected: Vec<f32> = (0..frames).map(|_| reference.next_sample()).collect();
        for block in [1, 7, 64, 512] {
            let mut voice = ProvisionalLoop::new(start, press, 64, &history, 48_000.0).unwrap();
            voice.fade_out(fade_samples);
            let mut out = [vec![0.0f32; frames], vec![0.0f32; frames]];
            let mut scratch = [vec![0.0f32; block], vec![0.0f32; block]];
            let [out_left, out_right] = &mut out;
            for (n, (l, r)) in out_left
                .chunks_mut(block)
                .zip(out_right.chunks_mut(block))
                .enumerate()
            {
                let [a, b] = &mut scratch;
                let t = press + (n * block) as u64;
                voice.mix_into(t, &history, &mut [l, r], [a, b]);
            }
            for (i, &gain) in expected.iter().enumerate() {
                let (l, r) = (out[0][i], out[1][i]);
                assert!(
                    (l - gain).abs() < 1e-6,
                    "frame {i}, blocks of {block}: {l} vs {gain}"
                );
                assert_eq!(r, -0.5 * l, "frame {i}, blocks of {block}");
            }
            assert!(voice.is_silent());
        }
    }
}
