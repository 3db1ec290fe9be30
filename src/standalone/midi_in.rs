//! MIDI input through ALSA's sequencer (`midir`), for the backends without their own MIDI (ALSA,
//! dummy): the audio thread's side. Each message is stamped when it arrives and placed in the
//! next period at the frame that keeps its distance to the others: a constant latency of one
//! period, with the timing within the period kept (so clock ticks stay even, and presses keep
//! their order and spacing).
//!
//! Sources come and go while Loopmate runs (see [`super::midi_ports`]): each connected source
//! has its own queue, handed to the audio thread through a [`QueueHandover`] into one of
//! [`MAX_SOURCES`] slots allocated up front. A source that goes away leaves its queue abandoned;
//! the audio thread hands such a queue back, so that it is freed off the audio thread.
//!
//! Realtime: [`MidiInputs::period`] runs on the audio thread; it never allocates, frees, locks
//! or waits (the queues are `rtrb` rings filled by `midir`'s threads, and handed over and back
//! through `rtrb` rings).

use std::sync::atomic::{Ordering, fence};
use std::time::{Duration, Instant};

use super::processor::MidiIn;

/// Messages a source can queue between two periods.
const QUEUE_CAPACITY: usize = 1024;
/// Sources listened to at once; a source past them is not connected (and said so).
pub const MAX_SOURCES: usize = 16;

/// A message as it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrived {
    /// When it arrived.
    at: Instant,
    /// The message (frame 0 until placed).
    message: MidiIn,
}

impl Arrived {
    /// `bytes` arriving now, if Loopmate can use them (up to three bytes: no SysEx).
    pub fn now(bytes: &[u8]) -> Option<Self> {
        MidiIn::new(0, bytes).map(|message| Self {
            at: Instant::now(),
            message,
        })
    }
}

/// One source's queue, the audio thread's end.
type SourceQueue = rtrb::Consumer<Arrived>;

/// The audio thread's side: the connected sources' queues.
pub struct MidiInputs {
    /// The sources' queues (a fixed number of slots, allocated up front).
    slots: [Option<SourceQueue>; MAX_SOURCES],
    /// Queues of sources connected since, waiting for a free slot.
    new_queues: rtrb::Consumer<SourceQueue>,
    /// Queues of sources gone, on their way to be freed off the audio thread.
    retired: rtrb::Producer<SourceQueue>,
    /// Sample rate in hertz.
    sample_rate_hz: f64,
}

/// The connecting thread's side: opens the queues of new sources, frees the retired ones.
pub struct QueueHandover {
    /// Queues of new sources, to the audio thread.
    new_queues: rtrb::Producer<SourceQueue>,
    /// Queues of sources gone, from the audio thread.
    retired: rtrb::Consumer<SourceQueue>,
}

/// The two ends for a backend at `sample_rate_hz`, with no source yet. Not realtime.
pub fn midi_inputs(sample_rate_hz: u32) -> (MidiInputs, QueueHandover) {
    let (new_producer, new_consumer) = rtrb::RingBuffer::new(MAX_SOURCES);
    let (retired_producer, retired_consumer) = rtrb::RingBuffer::new(MAX_SOURCES);
    let inputs = MidiInputs {
        slots: std::array::from_fn(|_| None),
        new_queues: new_consumer,
        retired: retired_producer,
        sample_rate_hz: f64::from(sample_rate_hz.max(1)),
    };
    let handover = QueueHandover {
        new_queues: new_producer,
        retired: retired_consumer,
    };
    (inputs, handover)
}

impl QueueHandover {
    /// A queue for a new source: its end for the source's callback, or `None` when
    /// [`MAX_SOURCES`] queues are already on their way. Dropping the end (closing the source)
    /// retires the queue. Not realtime.
    pub fn open_queue(&mut self) -> Option<rtrb::Producer<Arrived>> {
        if self.new_queues.is_full() {
            return None;
        }
        let (producer, consumer) = rtrb::RingBuffer::new(QUEUE_CAPACITY);
        self.new_queues.push(consumer).ok()?;
        Some(producer)
    }

    /// Frees the queues the audio thread has retired; returns how many. Not realtime.
    pub fn free_retired(&mut self) -> usize {
        let mut freed = 0;
        while self.retired.pop().is_ok() {
            freed += 1;
        }
        freed
    }
}

impl MidiInputs {
    /// The messages for a period of `frames` frames starting now, in time order, appended to
    /// `out` (up to its capacity; the rest are dropped). Takes new sources' queues into free
    /// slots and retires those of sources gone. Realtime.
    pub fn period(&mut self, frames: usize, out: &mut Vec<MidiIn>) {
        let now = Instant::now();
        let period = Duration::from_secs_f64(frames as f64 / self.sample_rate_hz);
        let window_start = now.checked_sub(period).unwrap_or(now);
        let first = out.len();
        for slot in &mut self.slots {
            if slot.is_none() {
                *slot = self.new_queues.pop().ok();
            }
            let Some(queue) = slot else {
                continue;
            };
            // Checked before draining, so that a message the source queued just before it went
            // is still taken.
            let gone = queue.is_abandoned();
            if gone {
                // Pairs with the release of the source's end when it was dropped: everything it
                // pushed is visible below.
                fence(Ordering::Acquire);
            }
            while let Ok(arrived) = queue.pop() {
                if out.len() == out.capacity() {
                    continue;
                }
                let since = arrived
                    .at
                    .saturating_duration_since(window_start)
                    .as_secs_f64();
                let offset = ((since * self.sample_rate_hz) as usize).min(frames.saturating_sub(1));
                out.push(MidiIn {
                    offset: offset as u32,
                    ..arrived.message
                });
            }
            if gone && let Some(queue) = slot.take() {
                // Freed by the connecting thread; kept (never freed here) while its ring is full.
                if let Err(rtrb::PushError::Full(queue)) = self.retired.push(queue) {
                    *slot = Some(queue);
                }
            }
        }
        // A stable insertion sort: each source's messages are in order already, and the standard
        // stable sort allocates.
        let placed = &mut out[first..];
        for i in 1..placed.len() {
            let mut j = i;
            while j > 0 && placed[j - 1].offset > placed[j].offset {
                placed.swap(j - 1, j);
                j -= 1;
            }
        }
    }

    /// Sources whose queues the audio thread holds.
    #[cfg(test)]
    pub fn sources(&self) -> usize {
        self.slots.iter().flatten().count()
    }
}
