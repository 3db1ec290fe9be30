//! One loop track: its audio, its length (cycle x 2^k), where its buffer index 0 sits in absolute
//! time, and its ramped gain.
//!
//! Realtime: `Track::mix_into` runs on the audio thread and never allocates. `TrackBuffer`s are
//! allocated and freed by the pool keeper (see `pool.rs`), never on the audio thread.

use super::memory::try_alloc_touched;
use super::ramp::Ramp;

/// Planar audio storage for a track or a take in progress, sized when allocated.
#[derive(Debug)]
pub struct TrackBuffer {
    /// Planar samples: channel `c` is `data[c * capacity_frames..(c + 1) * capacity_frames]`.
    data: Box<[f32]>,
    /// Frames per channel.
    capacity_frames: usize,
    /// Number of channels (1 or 2).
    channels: usize,
}

impl TrackBuffer {
    /// Allocates a silent buffer, or `None` when out of memory. Not realtime-safe: called by the
    /// pool keeper.
    pub fn try_new(channels: usize, capacity_frames: usize) -> Option<Self> {
        Some(Self {
            data: try_alloc_touched(channels.checked_mul(capacity_frames)?)?,
            capacity_frames,
            channels,
        })
    }

    /// Frames per channel.
    pub fn capacity_frames(&self) -> usize {
        self.capacity_frames
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// One channel's samples.
    pub fn channel(&self, channel: usize) -> &[f32] {
        let start = channel * self.capacity_frames;
        &self.data[start..start + self.capacity_frames]
    }

    /// One channel's samples, mutable.
    pub fn channel_mut(&mut self, channel: usize) -> &mut [f32] {
        let start = channel * self.capacity_frames;
        &mut self.data[start..start + self.capacity_frames]
    }

    /// Silences every sample (done by the keeper before a buffer is reused).
    pub fn clear(&mut self) {
        self.data.fill(0.0);
    }
}

/// Whether a track sounds, or is fading out on its way to the redo stack or to be freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackState {
    /// Part of the mix.
    Playing,
    /// Undone: fading out, then kept for redo.
    Undoing,
    /// Cleared or superseded: fading out, then freed.
    Discarding,
}

/// A loop: audio of `length_samples` frames played phase-locked to absolute time.
#[derive(Debug)]
pub struct Track {
    /// The audio; frames `0..length_samples` are the loop.
    pub buffer: TrackBuffer,
    /// Loop length in samples: the cycle length times a power of two.
    pub length_samples: u64,
    /// Absolute time (samples since activation) at which buffer index 0 plays; the index played at
    /// time `t` is `(t - origin_samples) mod length_samples`.
    pub origin_samples: u64,
    /// User gain (linear), ramped.
    pub gain: Ramp,
    /// Fade for undo/redo/clear (0..1, linear), ramped.
    pub fade: Ramp,
    /// Pan in -1 (left) ..= 1 (right); 0 plays both channels at unity.
    pub pan: f32,
    /// Whether the track sounds or is on its way out.
    pub state: TrackState,
}

impl Track {
    /// The buffer index that plays at absolute time `t_samples`.
    pub fn index_at(&self, t_samples: u64) -> u64 {
        (t_samples as i128 - self.origin_samples as i128).rem_euclid(self.length_samples as i128)
            as u64
    }

    /// True once a fade-out has completed and the track no longer sounds.
    pub fn is_faded_out(&self) -> bool {
        self.fade.is_idle() && self.fade.target() == 0.0
    }

    /// Adds this track's next `out[0].len()` samples, starting at absolute time `t_samples`, to the
    /// stereo bus `out`. Realtime-safe.
    pub fn mix_into(&mut self, t_samples: u64, out: &mut [&mut [f32]; 2]) {
        let frames = out[0].len();
        if self.is_faded_out() {
            self.gain.skip(frames as u32);
            return;
        }
        let (pan_left, pan_right) = balance(self.pan);
        let length = self.length_samples as usize;
        let mut index = self.index_at(t_samples) as usize;
        let mut done = 0;
        while done < frames {
            let run = (frames - done).min(length - index);
            for (c, out_channel) in out.iter_mut().enumerate() {
                let source =
                    &self.buffer.channel(c.min(self.buffer.channels() - 1))[index..index + run];
                let pan = if c == 0 { pan_left } else { pan_right };
                let dest = &mut out_channel[done..done + run];
                if self.gain.is_idle() && self.fade.is_idle() {
                    let g = self.gain.value() * self.fade.value() * pan;
                    for (d, s) in dest.iter_mut().zip(source) {
                        *d += s * g;
                    }
                } else {
                    // Ramps advance once per frame: step a copy for the left channel and keep the
                    // advanced state after the right one.
                    let (mut gain, mut fade) = (self.gain, self.fade);
                    for (d, s) in dest.iter_mut().zip(source) {
                        *d += s * gain.next_sample() * fade.next_sample() * pan;
                    }
                    if c == 1 {
                        self.gain = gain;
                        self.fade = fade;
                    }
                }
            }
            done += run;
            index = (index + run) % length;
        }
    }
}

/// Balance law: centre is unity on both sides, so a loop reproduces its input exactly.
pub fn balance(pan: f32) -> (f32, f32) {
    let pan = pan.clamp(-1.0, 1.0);
    ((1.0 - pan).min(1.0), (1.0 + pan).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp_track(length: u64, origin: u64) -> Track {
        let mut buffer = TrackBuffer::try_new(2, length as usize).unwrap();
        for i in 0..length as usize {
            buffer.channel_mut(0)[i] = i as f32;
            buffer.channel_mut(1)[i] = -(i as f32);
        }
        Track {
            buffer,
            length_samples: length,
            origin_samples: origin,
            gain: Ramp::at(1.0),
            fade: Ramp::at(1.0),
            pan: 0.0,
            state: TrackState::Playing,
        }
    }

    fn render(track: &mut Track, from: u64, sizes: &[usize]) -> Vec<f32> {
        let mut all = Vec::new();
        let mut t = from;
        for &size in sizes {
            let mut left = vec![0.0; size];
            let mut right = vec![0.0; size];
            track.mix_into(t, &mut [&mut left, &mut right]);
            all.extend(left);
            t += size as u64;
        }
        all
    }

    #[test]
    fn plays_phase_locked_to_its_origin_across_wraps() {
        let mut track = ramp_track(10, 3);
        let out = render(&mut track, 0, &[25]);
        let expected: Vec<f32> = (0..25).map(|t| ((t + 10 - 3) % 10) as f32).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn block_split_does_not_change_a_ramped_gain() {
        let mut a = ramp_track(10, 0);
        let mut b = ramp_track(10, 0);
        a.gain.ramp_to(0.3, 17);
        b.gain.ramp_to(0.3, 17);
        assert_eq!(
            render(&mut a, 5, &[40]),
            render(&mut b, 5, &[1, 3, 7, 2, 27])
        );
    }

    #[test]
    fn balance_is_unity_at_centre() {
        assert_eq!(balance(0.0), (1.0, 1.0));
        assert_eq!(balance(1.0), (0.0, 1.0));
        assert_eq!(balance(-0.5), (1.0, 0.5));
    }
}
