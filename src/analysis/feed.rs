//! The audio thread's side of the analysis: the mono input goes into a fixed-capacity
//! lock-free SPSC ring (`rtrb`) in chunks stamped with their absolute sample time, so the worker
//! always knows where it is, even after a loss. When the worker falls behind and the ring is
//! full, the chunk is dropped and counted: the audio thread never blocks or allocates.
//!
//! Offline rendering (a bounce faster than real time) is the one exception: there a full ring is
//! waited for, so that no input is lost and the analysis is the same as in real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Samples per chunk in the ring (one hop at 48 kHz: a chunk completes exactly when a frame does,
/// so the feed adds no latency there).
pub const FEED_CHUNK_FRAMES: usize = 128;

/// Longest an offline wait goes on while the worker makes no progress, before going on without
/// it (the worker is then taken to be stuck).
pub const OFFLINE_STALL_LIMIT: Duration = Duration::from_secs(2);
/// Poll interval of an offline wait.
const OFFLINE_POLL: Duration = Duration::from_micros(100);

/// Offline rendering only (it sleeps; never call it on a realtime audio thread): polls `poll`,
/// which says whether the awaited state is there and gives a mark of the worker's progress,
/// until the state is there, `gone` holds, or the mark has not changed for
/// [`OFFLINE_STALL_LIMIT`]. Returns whether the state came. Allocation-free.
pub fn wait_offline<M: PartialEq>(
    mut poll: impl FnMut() -> (bool, M),
    gone: impl Fn() -> bool,
) -> bool {
    let (mut ready, mut mark) = poll();
    let mut since = Instant::now();
    while !ready {
        if gone() || since.elapsed() > OFFLINE_STALL_LIMIT {
            return false;
        }
        std::thread::sleep(OFFLINE_POLL);
        let (now_ready, now_mark) = poll();
        if now_mark != mark {
            since = Instant::now();
        }
        (ready, mark) = (now_ready, now_mark);
    }
    true
}

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
    /// Offline rendering: a full ring is waited for instead of dropping the chunk.
    offline: bool,
    /// An offline wait timed out (the worker looks stuck): chunks are dropped, not waited for,
    /// until one fits again.
    gave_up: bool,
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
            offline: false,
            gave_up: false,
        }
    }

    /// Offline rendering (`true`): from now on a full ring is waited for rather than dropped.
    /// Realtime (`false`, the default): never waits.
    pub fn set_offline(&mut self, offline: bool) {
        self.offline = offline;
        self.gave_up = false;
    }

    /// Whether the worker's end of the ring is gone (it will never read again).
    pub fn worker_gone(&self) -> bool {
        self.producer.is_abandoned()
    }

    /// Appends the mono mix of `channels` (equal lengths) starting at absolute time `at_samples`.
    /// Realtime-safe: no allocation, no waiting; a full ring drops (and counts) the chunk. When
    /// rendering offline it waits for room instead (see [`set_offline`](Self::set_offline)).
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
        if self.offline && !self.gave_up && self.producer.is_full() {
            let producer = &self.producer;
            let room = || (!producer.is_full(), producer.slots());
            self.gave_up = !wait_offline(room, || producer.is_abandoned());
        }
        if self.producer.push(self.staging).is_ok() {
            self.gave_up = false;
        } else {
            self.dropped_samples
                .fetch_add(self.staging.frames as u64, Ordering::Relaxed);
        }
        self.staging.frames = 0;
    }
}
