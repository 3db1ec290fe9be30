//! The always-on input history: a circular buffer per recorded channel, written every sample,
//! so that audio played before a press can still become part of a loop (pre-roll for seams,
//! late presses snapped back to a boundary, retroactive capture).
//!
//! Allocated once, off the audio thread; writing and reading never allocate.

use super::memory::try_alloc_touched;

/// Circular, planar store of the last `capacity_frames` input frames.
#[derive(Debug)]
pub struct History {
    /// Planar samples: channel `c` occupies `data[c * capacity_frames..(c + 1) * capacity_frames]`.
    data: Box<[f32]>,
    /// Frames held per channel.
    capacity_frames: usize,
    /// Number of recorded channels (1 or 2).
    channels: usize,
    /// Absolute time (samples since activation) of the next frame to be written.
    end_samples: u64,
}

impl History {
    /// Allocates `capacity_frames` frames of silence for each channel, or `None` when out of
    /// memory. Not realtime-safe.
    pub fn try_new(channels: usize, capacity_frames: usize) -> Option<Self> {
        let capacity_frames = capacity_frames.max(1);
        Some(Self {
            data: try_alloc_touched(channels.checked_mul(capacity_frames)?)?,
            capacity_frames,
            channels,
            end_samples: 0,
        })
    }

    /// Frames held per channel.
    pub fn capacity_frames(&self) -> usize {
        self.capacity_frames
    }

    /// Number of channels recorded.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Absolute time of the next frame to be written (= frames written so far).
    pub fn end_samples(&self) -> u64 {
        self.end_samples
    }

    /// The oldest absolute time still held.
    pub fn start_samples(&self) -> u64 {
        self.end_samples.saturating_sub(self.capacity_frames as u64)
    }

    /// True if every frame of `[from, to)` is still held.
    pub fn holds(&self, from_samples: u64, to_samples: u64) -> bool {
        from_samples >= self.start_samples() && to_samples <= self.end_samples
    }

    /// Appends one block; `input[c]` is channel `c`, all the same length. Realtime-safe.
    pub fn write(&mut self, input: &[&[f32]]) {
        let frames = input.first().map_or(0, |channel| channel.len());
        let mut written = 0;
        while written < frames {
            let at = ((self.end_samples + written as u64) % self.capacity_frames as u64) as usize;
            let run = (frames - written).min(self.capacity_frames - at);
            for (c, channel) in input.iter().enumerate().take(self.channels) {
                let base = c * self.capacity_frames + at;
                self.data[base..base + run].copy_from_slice(&channel[written..written + run]);
            }
            written += run;
        }
        self.end_samples += frames as u64;
    }

    /// Copies channel `channel` of `[from_samples, from_samples + out.len())` into `out`; frames
    /// no longer (or not yet) held read as silence. Realtime-safe.
    pub fn read(&self, channel: usize, from_samples: u64, out: &mut [f32]) {
        let base = channel.min(self.channels - 1) * self.capacity_frames;
        let capacity = self.capacity_frames as u64;
        // Silence outside what is held; contiguous copies (at most two) inside.
        let held_from = self
            .start_samples()
            .max(from_samples)
            .min(from_samples + out.len() as u64);
        let held_to = self
            .end_samples
            .max(held_from)
            .min(from_samples + out.len() as u64);
        let (lead, held) = (
            (held_from - from_samples) as usize,
            (held_to - held_from) as usize,
        );
        out[..lead].fill(0.0);
        out[lead + held..].fill(0.0);
        let mut done = 0;
        while done < held {
            let at = ((held_from + done as u64) % capacity) as usize;
            let run = (held - done).min(self.capacity_frames - at);
            out[lead + done..lead + done + run]
                .copy_from_slice(&self.data[base + at..base + at + run]);
            done += run;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_keeps_the_last_capacity_frames() {
        let mut history = History::try_new(2, 10).unwrap();
        let left: Vec<f32> = (0..25).map(|i| i as f32).collect();
        let right: Vec<f32> = (0..25).map(|i| -(i as f32)).collect();
        // Uneven block sizes across the wrap point.
        let mut at = 0;
        for size in [3, 7, 1, 9, 5] {
            history.write(&[&left[at..at + size], &right[at..at + size]]);
            at += size;
        }
        assert_eq!(history.end_samples(), 25);
        assert_eq!(history.start_samples(), 15);
        assert!(history.holds(15, 25));
        assert!(!history.holds(14, 25));
        let mut out = [0.0; 12];
        history.read(0, 14, &mut out);
        assert_eq!(out[0], 0.0, "frame 14 has been overwritten");
        assert_eq!(&out[1..11], &left[15..25]);
        assert_eq!(out[11], 0.0, "frame 25 is in the future");
        history.read(1, 20, &mut out[..5]);
        assert_eq!(&out[..5], &right[20..25]);
    }
}
