//! A take being recorded, and how it becomes a track: the audio is written linearly from the
//! take's start; on finishing, its end is faded out and the pre-roll from the history (the audio
//! played just before the start) is faded in underneath, so the loop seam is continuous.
//!
//! Realtime: runs on the audio thread; it only touches the blend region when finishing.

use super::audio::TrackBuffer;
use super::history::History;
use super::pages::{Page, PageSource};
use super::ramp::seam_weight;
use super::track::Track;

/// A recording in progress.
#[derive(Debug)]
pub struct Take {
    /// Storage from the pool; frames `0..written_frames` hold the take.
    buffer: TrackBuffer,
    /// Absolute time of the take's first frame.
    start_samples: u64,
    /// Frames recorded so far.
    written_frames: usize,
    /// The pages ran out: the take ends at its last page and records nothing more.
    sealed: bool,
    /// How far the loops moved while this take recorded (host-sync slips, later positive): its
    /// track plays that much later than it was recorded, keeping its place among the loops the
    /// player heard.
    placement_shift_samples: i64,
}

impl Take {
    /// Starts a take at `start_samples` in a zeroed `buffer`.
    pub fn new(buffer: TrackBuffer, start_samples: u64) -> Self {
        Self {
            buffer,
            start_samples,
            written_frames: 0,
            sealed: false,
            placement_shift_samples: 0,
        }
    }

    /// The loops moved by `shift_samples` (later positive) while this take records.
    pub fn follow_loops(&mut self, shift_samples: i64) {
        self.placement_shift_samples += shift_samples;
    }

    /// Absolute time of the first frame.
    pub fn start_samples(&self) -> u64 {
        self.start_samples
    }

    /// Absolute time just past the last recorded frame.
    pub fn end_samples(&self) -> u64 {
        self.start_samples + self.written_frames as u64
    }

    /// Frames the buffer can hold.
    pub fn capacity_frames(&self) -> usize {
        self.buffer.capacity_frames()
    }

    /// Appends a block (`input[c]` per channel), taking pages from `pages` as it goes. Frames
    /// past the capacity are dropped. Returns false when the pages ran out just now: the take
    /// then holds what fitted, ending at its last page, and is sealed (later appends add
    /// nothing, so its audio never skips time).
    pub fn append(&mut self, input: &[&[f32]], pages: &mut impl PageSource) -> bool {
        if self.sealed {
            return true;
        }
        let wanted = input[0]
            .len()
            .min(self.capacity_frames() - self.written_frames);
        let at = self.written_frames;
        let frames = self.buffer.reserve(at, wanted, pages);
        for c in 0..self.buffer.channels() {
            let source = input[c.min(input.len() - 1)];
            self.buffer
                .channel_mut(c)
                .write(at, &source[..frames], pages);
        }
        self.written_frames += frames;
        self.sealed = frames < wanted;
        !self.sealed
    }

    /// Appends the history's `[end_samples(), until_samples)`: a take that starts in the past
    /// (a late press snapped back to a boundary) catches up from the history. Returns false when
    /// the pages ran out first (the take is then sealed, as in [`Take::append`]).
    pub fn append_from_history(
        &mut self,
        history: &History,
        until_samples: u64,
        pages: &mut impl PageSource,
    ) -> bool {
        if self.sealed {
            return true;
        }
        let from = self.end_samples();
        let wanted = (until_samples.saturating_sub(from) as usize)
            .min(self.capacity_frames() - self.written_frames);
        let at = self.written_frames;
        let frames = self.buffer.reserve(at, wanted, pages);
        for c in 0..self.buffer.channels() {
            self.buffer
                .channel_mut(c)
                .for_each_run_mut(at, frames, |frame, run| {
                    history.read(c, from + (frame - at) as u64, run);
                });
        }
        self.written_frames += frames;
        self.sealed = frames < wanted;
        !self.sealed
    }

    /// Drops everything recorded from `end_samples` on (a late stop snapped back to a boundary):
    /// silenced, and the pages wholly past the end handed to `retire`.
    pub fn truncate_at(&mut self, end_samples: u64, mut retire: impl FnMut(Page)) {
        let keep = end_samples.saturating_sub(self.start_samples) as usize;
        if keep < self.written_frames {
            for c in 0..self.buffer.channels() {
                let channel = self.buffer.channel_mut(c);
                channel.silence(keep, self.written_frames - keep);
                channel.release_from(keep, &mut retire);
            }
            self.written_frames = keep;
        }
    }

    /// Starts the take over at `start_samples`, empty (its pages stay, silenced, for the new
    /// audio). Realtime-safe.
    pub fn restart_at(&mut self, start_samples: u64) {
        for c in 0..self.buffer.channels() {
            self.buffer.channel_mut(c).silence(0, self.written_frames);
        }
        self.written_frames = 0;
        self.sealed = false;
        self.start_samples = start_samples;
    }

    /// Frames recorded so far.
    pub fn len_frames(&self) -> usize {
        self.written_frames
    }

    /// Gives the buffer back (for a cancelled take).
    pub fn into_buffer(self) -> TrackBuffer {
        self.buffer
    }

    /// Turns the take into a track of `length_samples` (>= the take) playing phase-locked from its
    /// start. The last `blend_samples` fade out while the history's pre-roll fades in over the
    /// frames just before the start (the loop's end, when the take fills the track), with
    /// `w(j) = (j + 1) / (B + 1)`. Where the pre-roll is gone from the history, the take's first
    /// frames fade in instead, so no seam ever jumps.
    pub fn into_track(
        mut self,
        length_samples: u64,
        blend_samples: usize,
        history: &History,
        pages: &mut impl PageSource,
    ) -> Track {
        debug_assert!(length_samples as usize >= self.written_frames);
        let length = length_samples as usize;
        let written = self.written_frames;
        let blend = blend_samples.min(written);
        let preroll_start = self.start_samples as i64 - blend as i64;
        // The pre-roll lands on the loop's last frames, which a short take has no pages for yet.
        let preroll_held = preroll_start >= 0
            && history.holds(preroll_start as u64, self.start_samples)
            && self.buffer.reserve(length - blend, blend, pages) == blend;
        let fade_in = |j: usize| seam_weight(j, blend);
        for c in 0..self.buffer.channels() {
            let samples = self.buffer.channel_mut(c);
            for j in 0..blend {
                if let Some(sample) = samples.sample_mut(written - blend + j) {
                    *sample *= 1.0 - fade_in(j);
                }
            }
            if preroll_held {
                for j in 0..blend {
                    let mut preroll = [0.0];
                    history.read(c, preroll_start as u64 + j as u64, &mut preroll);
                    *samples.sample_mut(length - blend + j).expect("reserved") +=
                        preroll[0] * fade_in(j);
                }
            } else {
                for j in 0..blend {
                    if let Some(sample) = samples.sample_mut(j) {
                        *sample *= fade_in(j);
                    }
                }
            }
        }
        // Its start moved with the loops (an origin before time 0 wraps by its own length).
        let origin = self.start_samples as i128 + self.placement_shift_samples as i128;
        let origin = if origin < 0 {
            origin.rem_euclid(length_samples.max(1) as i128)
        } else {
            origin
        } as u64;
        Track::new(self.buffer, length_samples, origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::pages::Allocate;

    fn signal(t: u64) -> f32 {
        ((t as f32) * 0.05).sin()
    }

    fn history_until(end: u64) -> History {
        let mut history = History::try_new(1, 1000).unwrap();
        let samples: Vec<f32> = (0..end).map(signal).collect();
        history.write(&[&samples]);
        history
    }

    fn take_of(start: u64, end: u64) -> Take {
        let mut take = Take::new(TrackBuffer::try_new(1, 800).unwrap(), start);
        let samples: Vec<f32> = (start..end).map(signal).collect();
        assert!(take.append(&[&samples], &mut Allocate));
        take
    }

    #[test]
    fn full_cycle_take_crossfades_its_end_into_the_preroll() {
        let (start, end, blend) = (300u64, 500u64, 10usize);
        let track = take_of(start, end).into_track(200, blend, &history_until(end), &mut Allocate);
        let loop_ = &track.buffer.share().to_vec(0, 200);
        for (i, &sample) in loop_[..190].iter().enumerate() {
            assert_eq!(sample, signal(start + i as u64));
        }
        for j in 0..blend {
            let w = (j + 1) as f32 / (blend + 1) as f32;
            let expected =
                signal(end - 10 + j as u64) * (1.0 - w) + signal(start - 10 + j as u64) * w;
            assert!((loop_[190 + j] - expected).abs() < 1e-6);
        }
        // The seam: the loop's last sample leads into its first like the original audio did.
        let jump = (loop_[199] - loop_[0]).abs();
        assert!(jump <= 0.06, "seam step {jump}");
    }

    #[test]
    fn short_take_pads_with_silence_and_fades_its_edges() {
        let (start, end, blend) = (300u64, 400u64, 10usize);
        let track = take_of(start, end).into_track(200, blend, &history_until(end), &mut Allocate);
        let samples = track.buffer.share().to_vec(0, 200);
        assert_eq!(samples[50], signal(350));
        assert!(samples[100..190].iter().all(|&s| s == 0.0), "gap is silent");
        assert!(
            samples[99].abs() < signal(399).abs() * 0.1 + 1e-6,
            "end faded out"
        );
        assert!(
            (samples[199] - signal(299) * 10.0 / 11.0).abs() < 1e-6,
            "pre-roll faded in"
        );
    }

    #[test]
    fn late_start_catches_up_from_history_and_truncate_zeroes() {
        let history = history_until(600);
        let mut take = Take::new(TrackBuffer::try_new(1, 800).unwrap(), 450);
        assert!(take.append_from_history(&history, 600, &mut Allocate));
        assert_eq!(take.len_frames(), 150);
        assert_eq!(take.buffer.channel(0).sample(0), signal(450));
        take.truncate_at(500, drop);
        assert_eq!(take.end_samples(), 500);
        assert!(
            take.buffer.share().to_vec(0, 150)[50..]
                .iter()
                .all(|&s| s == 0.0)
        );
    }
}
