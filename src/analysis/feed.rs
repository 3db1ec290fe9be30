//! The audio thread's side of the analysis: the mono input goes into a fixed-capacity
//! lock-free SPSC ring (`rtrb`) in chunks stamped with their absolute sample time, so the worker
//! always knows where it is, even after a loss. When the worker falls behind and the ring is
//! full, the chunk is dropped and counted: the audio thread never blocks or allocates.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Samples per chunk in the ring (one hop at 48 kHz: a chunk completes exactly when a frame does,
/// so the feed adds no latency there).
pub const FEED_CHUNK_FRAMES: usize = 128;

/// A run of consecutive mono input samples.
#[derive(Clone, Copy)]
pub struct FeedChunk {
    /// Absolute engine time of the first sample.
    pub start_samples: u64,
    /// Samples used in `samples`.
    pub frames: usize,
    /// The samples.
    pub samples: [f32; FEED_CHUNK_FRAMES],
}

/// The producer end, owned by the engine on the audio thread.
pub struct AnalysisFeed {
    /// The ring to the worker.
    producer: rtrb::Producer<FeedChunk>,
    /// The chunk being filled.
    staging: FeedChunk,
    /// Samples dropped because the ring was full (shared with the worker for its report).
    dropped_samples: Arc<AtomicU64>,
}

impl AnalysisFeed {
    /// Wraps the producer end of a chunk ring.
    pub fn new(producer: rtrb::Producer<FeedChunk>, dropped_samples: Arc<AtomicU64>) -> Self {
        Self {
            producer,
            staging: FeedChunk {
                start_samples: 0,
                frames: 0,
                samples: [0.0; FEED_CHUNK_FRAMES],
            },
            dropped_samples,
        }
    }

    /// Appends the mono mix of `channels` (equal lengths) starting at absolute time `at_samples`.
    /// Realtime-safe: no allocation, no waiting; a full ring drops (and counts) the chunk.
    pub fn push(&mut self, at_samples: u64, channels: &[&[f32]]) {
        let Some(first) = channels.first() else {
            return;
        };
        let gain = 1.0 / channels.len() as f32;
        for i in 0..first.len() {
            if self.staging.frames == 0 {
                self.staging.start_samples = at_samples + i as u64;
            }
            let sum: f32 = channels.iter().map(|c| c[i]).sum();
            self.staging.samples[self.staging.frames] = sum * gain;
            self.staging.frames += 1;
            if self.staging.frames == FEED_CHUNK_FRAMES {
                self.send();
            }
        }
    }

    fn send(&mut self) {
        if self.producer.push(self.staging).is_err() {
            self.dropped_samples
                .fetch_add(self.staging.frames as u64, Ordering::Relaxed);
        }
        self.staging.frames = 0;
    }
}
