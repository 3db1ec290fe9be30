//! A track's storage: its audio (shared with the session mirror once complete) and its delay
//! effect's memory.
//!
//! Allocated and freed by the pool keeper (see `pool.rs`), never on the audio thread.

use std::sync::Arc;

use super::memory::try_alloc_touched;

/// A track's audio, planar: channel `c` is `samples[c * capacity_frames..(c + 1) *
/// capacity_frames]`. Shared (`Arc`) with the session mirror once the track is complete, and then
/// never written again.
#[derive(Debug)]
pub struct TrackAudio {
    /// The samples, all channels one after the other.
    samples: Box<[f32]>,
    /// Frames per channel.
    capacity_frames: usize,
    /// Number of channels (1 or 2).
    channels: usize,
}

impl TrackAudio {
    /// Audio of `channels` x `capacity_frames` from planar `samples` (their length must match),
    /// or `None` if it does not.
    pub fn from_planar(
        channels: usize,
        capacity_frames: usize,
        samples: Box<[f32]>,
    ) -> Option<Self> {
        (samples.len() == channels.checked_mul(capacity_frames)? && (1..=2).contains(&channels))
            .then_some(Self {
                samples,
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
        &self.samples[start..start + self.capacity_frames]
    }

    /// One channel's samples, mutable.
    pub fn channel_mut(&mut self, channel: usize) -> &mut [f32] {
        let start = channel * self.capacity_frames;
        &mut self.samples[start..start + self.capacity_frames]
    }
}

/// Storage for a track or a take in progress, sized when allocated: the audio, and the memory of
/// the track's delay effect (owned here, always mutable).
#[derive(Debug)]
pub struct TrackBuffer {
    /// The audio; the audio thread is its only owner until the track is complete and shared.
    audio: Arc<TrackAudio>,
    /// The delay effect's memory (two channels, one after the other).
    fx_memory: Box<[f32]>,
    /// Allocated by the pool keeper, which recycles and counts only its own buffers (a restored
    /// or imported track's buffer may happen to have the same size).
    pooled: bool,
}

impl TrackBuffer {
    /// Allocates a silent buffer, or `None` when out of memory. Not realtime-safe: called by the
    /// pool keeper.
    pub fn try_new(channels: usize, capacity_frames: usize) -> Option<Self> {
        Self::try_with_fx_memory(channels, capacity_frames, 0)
    }

    /// A silent buffer with `fx_memory_frames` stereo frames of delay memory after the audio.
    pub fn try_with_fx_memory(
        channels: usize,
        capacity_frames: usize,
        fx_memory_frames: usize,
    ) -> Option<Self> {
        let samples = try_alloc_touched(channels.checked_mul(capacity_frames)?)?;
        let audio = TrackAudio::from_planar(channels, capacity_frames, samples)?;
        Self::with_audio(Arc::new(audio), fx_memory_frames)
    }

    /// A buffer playing `audio` (shared, e.g. restored from a saved state), with
    /// `fx_memory_frames` of fresh delay memory. Not realtime-safe.
    pub fn with_audio(audio: Arc<TrackAudio>, fx_memory_frames: usize) -> Option<Self> {
        Some(Self {
            audio,
            fx_memory: try_alloc_touched(fx_memory_frames.checked_mul(2)?)?,
            pooled: false,
        })
    }

    /// This buffer, marked as the pool keeper's own.
    pub fn pooled(self) -> Self {
        Self {
            pooled: true,
            ..self
        }
    }

    /// Whether the pool keeper allocated this buffer.
    pub fn is_pooled(&self) -> bool {
        self.pooled
    }

    /// The audio and the delay memory, borrowed together.
    pub fn audio_and_fx_memory(&mut self) -> (&TrackAudio, &mut [f32]) {
        (&self.audio, &mut self.fx_memory)
    }

    /// A new reference to the audio (an atomic increment: realtime-safe). After this the audio
    /// must not be written again; the engine shares only complete tracks.
    pub fn share(&self) -> Arc<TrackAudio> {
        self.audio.clone()
    }

    /// Whether nothing else holds the audio (the keeper recycles only such buffers).
    pub fn is_sole_owner(&mut self) -> bool {
        Arc::get_mut(&mut self.audio).is_some()
    }

    /// Frames per channel.
    pub fn capacity_frames(&self) -> usize {
        self.audio.capacity_frames
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.audio.channels
    }

    /// Stereo frames of delay memory.
    pub fn fx_memory_frames(&self) -> usize {
        self.fx_memory.len() / 2
    }

    /// One channel's samples.
    pub fn channel(&self, channel: usize) -> &[f32] {
        self.audio.channel(channel)
    }

    /// One channel's samples, mutable. Only takes and captures in progress write, and their audio
    /// is not shared yet (see [`TrackBuffer::share`]); writing shared audio is a bug.
    pub fn channel_mut(&mut self, channel: usize) -> &mut [f32] {
        Arc::get_mut(&mut self.audio)
            .expect("only unshared audio (a take or capture in progress) is written")
            .channel_mut(channel)
    }

    /// Silences every sample (done by the keeper before a buffer is reused); the audio must be
    /// unshared.
    pub fn clear(&mut self) {
        if let Some(audio) = Arc::get_mut(&mut self.audio) {
            audio.samples.fill(0.0);
        }
        self.fx_memory.fill(0.0);
    }
}
