//! Retroactive capture: a stretch of the history becomes a track. The copy is spread over the
//! following blocks (a bounded amount per block, starting at the new track's playhead and
//! running ahead of it) so that capturing even minutes of audio never costs one block more than
//! a few microseconds, and playback never reads a frame not yet copied. If the playhead jumps
//! out of the copied stretch (a restart), the copy starts again from the new playhead: copying
//! is idempotent, so the audio is the same whenever each frame was copied.
//!
//! Realtime: runs on the audio thread; no allocation.

use super::audio::TrackBuffer;
use super::history::History;
use super::pages::PageSource;
use super::ramp::seam_weight;

/// Frames copied per frame processed while a capture fills (the copy runs this much faster than
/// the playhead).
pub const FILL_SPEED: u64 = 32;

/// How far a fill got in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillProgress {
    /// More to copy in later blocks.
    Copying,
    /// The track holds all its audio.
    Complete,
    /// The page reserve ran dry; the copy goes on when pages come.
    OutOfPages,
}

/// A copy in progress from the history into a track buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryFill {
    /// Absolute time of the audio that goes to track index 0.
    source_start_samples: u64,
    /// Track length in frames.
    length_frames: u64,
    /// First index of the copied stretch (circular).
    start_index: u64,
    /// Frames copied from `start_index` on.
    copied_frames: u64,
    /// Seam crossfade length in frames.
    blend_frames: u64,
    /// Whether the pre-roll before the source start is in the history (else the head fades in).
    preroll_held: bool,
}

impl HistoryFill {
    /// A fill of `length_frames` from `source_start_samples`, starting at `playhead_index`.
    pub fn new(
        source_start_samples: u64,
        length_frames: u64,
        playhead_index: u64,
        blend_frames: u64,
        history: &History,
    ) -> Self {
        let blend_frames = blend_frames.min(length_frames);
        Self {
            source_start_samples,
            length_frames,
            start_index: playhead_index % length_frames,
            copied_frames: 0,
            blend_frames,
            preroll_held: source_start_samples >= blend_frames
                && history.holds(source_start_samples - blend_frames, source_start_samples),
        }
    }

    /// Copies up to `budget_frames` more frames ahead of `playhead_index`, which must be at least
    /// the number of frames about to be played, taking pages from `pages` as it goes.
    pub fn advance(
        &mut self,
        buffer: &mut TrackBuffer,
        history: &History,
        playhead_index: u64,
        budget_frames: u64,
        pages: &mut impl PageSource,
    ) -> FillProgress {
        let playhead_offset =
            (playhead_index + self.length_frames - self.start_index) % self.length_frames;
        if playhead_offset >= self.copied_frames {
            // The playhead left the copied stretch: copy again from where it is now.
            self.start_index = playhead_index;
            self.copied_frames = 0;
        }
        let mut budget = budget_frames.min(self.length_frames - self.copied_frames);
        while budget > 0 {
            let next = (self.start_index + self.copied_frames) % self.length_frames;
            let wanted = budget.min(self.length_frames - next) as usize;
            let run = buffer.reserve(next as usize, wanted, pages);
            if run == 0 {
                return FillProgress::OutOfPages;
            }
            let (from, to) = (next as usize, next as usize + run);
            let blend = self.blend_frames as usize;
            let tail_start = (self.length_frames - self.blend_frames) as usize;
            for c in 0..buffer.channels() {
                let channel = buffer.channel_mut(c);
                let source = self.source_start_samples;
                channel.for_each_run_mut(from, run, |at, samples| {
                    history.read(c, source + at as u64, samples);
                });
                // Only the seam regions need more than a copy (each index once).
                let seam_head = from..to.min(blend).min(tail_start);
                let seam_tail = from.max(tail_start)..to;
                for index in seam_head.chain(seam_tail) {
                    let sample = channel.sample_mut(index).expect("reserved just now");
                    self.apply_seam(history, c, index as u64, sample);
                }
            }
            self.copied_frames += run as u64;
            budget -= run as u64;
        }
        if self.copied_frames == self.length_frames {
            FillProgress::Complete
        } else {
            FillProgress::Copying
        }
    }

    /// The same seam as a recorded take (see `Take::into_track`): the end crossfades into the
    /// pre-roll, or, without pre-roll, fades out while the head fades in.
    fn apply_seam(&self, history: &History, channel: usize, index: u64, sample: &mut f32) {
        let blend = self.blend_frames;
        let tail_start = self.length_frames - blend;
        if index >= tail_start {
            let j = (index - tail_start) as usize;
            let w = seam_weight(j, blend as usize);
            let mut preroll = [0.0];
            if self.preroll_held {
                history.read(
                    channel,
                    self.source_start_samples - blend + j as u64,
                    &mut preroll,
                );
            }
            *sample = *sample * (1.0 - w) + preroll[0] * w;
        }
        if !self.preroll_held && index < blend {
            *sample *= seam_weight(index as usize, blend as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::pages::Allocate;
    use crate::engine::take::Take;

    #[test]
    fn a_fill_equals_a_take_of_the_same_audio() {
        let mut history = History::try_new(1, 10_000).unwrap();
        let samples: Vec<f32> = (0..3_000).map(|t| (t as f32 * 0.01).sin()).collect();
        history.write(&[&samples]);

        let mut take = Take::new(TrackBuffer::try_new(1, 2_000).unwrap(), 1_000);
        assert!(take.append(&[&samples[1_000..2_000]], &mut Allocate));
        let from_take = take.into_track(1_000, 50, &history, &mut Allocate);

        let mut buffer = TrackBuffer::try_new(1, 2_000).unwrap();
        let mut fill = HistoryFill::new(1_000, 1_000, 637, 50, &history);
        let mut steps = 0;
        let mut playhead = 637;
        while fill.advance(&mut buffer, &history, playhead, 64, &mut Allocate)
            != FillProgress::Complete
        {
            steps += 1;
            playhead = (playhead + 2) % 1_000;
            if steps == 5 {
                // A restart: the playhead jumps back behind the copied stretch.
                playhead = 100;
            }
        }
        assert_eq!(
            steps,
            5 + 1_000 / 64,
            "bounded work per step, copy restarted once"
        );
        assert_eq!(
            buffer.share().to_vec(0, 1_000),
            from_take.buffer.share().to_vec(0, 1_000)
        );
    }
}
