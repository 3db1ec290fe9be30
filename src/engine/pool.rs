//! Track storage handed between the audio thread and a background keeper: the keeper allocates
//! spare buffers ahead of need, larger track lists when the audio thread asks for them, and frees
//! (or recycles) what the audio thread no longer needs, so the audio thread never allocates or
//! frees. Tracks are therefore limited by memory only.
//!
//! `TrackPool` is the audio thread's end; `TrackPoolKeeper` is the background end.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::audio::TrackBuffer;
use super::track::Track;

/// What the audio thread hands back to be freed or recycled.
pub enum Garbage {
    /// A removed track's (or cancelled take's) audio.
    Buffer(TrackBuffer),
    /// A track list replaced by a larger one (empty).
    List(Vec<Track>),
    /// Anything else already boxed, to be dropped (a restored session once installed, holding
    /// the replaced, empty track list).
    Boxed(Box<dyn Send>),
}

/// How many retired buffers can wait for the keeper before the audio thread keeps them itself.
const RETIRE_QUEUE_CAPACITY: usize = 1024;

/// The audio thread's end: takes spares, returns retired buffers. Realtime-safe.
pub struct TrackPool {
    /// Zeroed buffers ready for the next take.
    spares: rtrb::Consumer<TrackBuffer>,
    /// Larger, empty track lists the keeper prepared on request.
    lists: rtrb::Consumer<Vec<Track>>,
    /// The list capacity wanted from the keeper (0: none).
    wanted_list_capacity: Arc<AtomicUsize>,
    /// What the audio thread no longer needs, on its way to the keeper.
    retired: rtrb::Producer<Garbage>,
    /// Garbage that did not fit in the queue; retried every block (capacity reserved).
    backlog: Vec<Garbage>,
}

/// The background end: keeps `target_spares` zeroed buffers queued, recycles or frees retired
/// ones. Not realtime: it allocates, zeroes and frees.
pub struct TrackPoolKeeper {
    /// Queue of spares to the audio thread.
    spares: rtrb::Producer<TrackBuffer>,
    /// Queue of larger track lists to the audio thread.
    lists: rtrb::Producer<Vec<Track>>,
    /// The list capacity the audio thread wants.
    wanted_list_capacity: Arc<AtomicUsize>,
    /// The largest list capacity provided so far.
    provided_list_capacity: usize,
    /// Track buffers allocated and not yet freed (spares, takes and tracks).
    live_buffers: usize,
    /// Queue of garbage from the audio thread.
    retired: rtrb::Consumer<Garbage>,
    /// Channels per buffer.
    channels: usize,
    /// Frames per channel per buffer.
    capacity_frames: usize,
    /// Stereo frames of effect (delay) memory per buffer.
    fx_memory_frames: usize,
}

/// Creates both ends, with `spare_count` buffers of `channels` x `capacity_frames` (plus
/// `fx_memory_frames` of effect memory) allocated now. Returns `None` if that memory cannot be
/// had. Not realtime-safe.
pub fn track_pool(
    channels: usize,
    capacity_frames: usize,
    fx_memory_frames: usize,
    spare_count: usize,
) -> Option<(TrackPool, TrackPoolKeeper)> {
    let (spares_tx, spares_rx) = rtrb::RingBuffer::new(spare_count.max(1));
    let (retired_tx, retired_rx) = rtrb::RingBuffer::new(RETIRE_QUEUE_CAPACITY);
    let (lists_tx, lists_rx) = rtrb::RingBuffer::new(2);
    let wanted_list_capacity = Arc::new(AtomicUsize::new(0));
    let mut keeper = TrackPoolKeeper {
        spares: spares_tx,
        lists: lists_tx,
        wanted_list_capacity: wanted_list_capacity.clone(),
        provided_list_capacity: 0,
        live_buffers: 0,
        retired: retired_rx,
        channels,
        capacity_frames,
        fx_memory_frames,
    };
    keeper.service().ok()?;
    let pool = TrackPool {
        spares: spares_rx,
        lists: lists_rx,
        wanted_list_capacity,
        retired: retired_tx,
        backlog: Vec::with_capacity(RETIRE_QUEUE_CAPACITY),
    };
    Some((pool, keeper))
}

impl TrackPool {
    /// A zeroed buffer for a new take, if the keeper has one ready. Realtime-safe.
    pub fn take_spare(&mut self) -> Option<TrackBuffer> {
        self.spares.pop().ok()
    }

    /// Hands something no longer needed to the keeper. Realtime-safe: never frees here.
    pub fn retire(&mut self, garbage: Garbage) {
        if let Err(rtrb::PushError::Full(garbage)) = self.retired.push(garbage) {
            if self.backlog.len() < self.backlog.capacity() {
                self.backlog.push(garbage);
            } else {
                // Unreachable in practice (2048 removals within one keeper period); leaking
                // beats freeing on the audio thread.
                std::mem::forget(garbage);
            }
        }
    }

    /// Hands a buffer back to the keeper. Realtime-safe.
    pub fn retire_buffer(&mut self, buffer: TrackBuffer) {
        self.retire(Garbage::Buffer(buffer));
    }

    /// Asks the keeper for an empty track list of at least `capacity`. Realtime-safe.
    pub fn request_list(&self, capacity: usize) {
        self.wanted_list_capacity
            .fetch_max(capacity, Ordering::AcqRel);
    }

    /// A larger list the keeper prepared, if one is ready. Realtime-safe.
    pub fn take_list(&mut self) -> Option<Vec<Track>> {
        self.lists.pop().ok()
    }

    /// Retries handing over buffers that did not fit in the queue. Realtime-safe.
    pub fn flush_backlog(&mut self) {
        while !self.retired.is_full() {
            match self.backlog.pop() {
                Some(buffer) => {
                    let _ = self.retired.push(buffer);
                }
                None => break,
            }
        }
    }

    /// Spares ready right now.
    pub fn spares_ready(&self) -> usize {
        self.spares.slots()
    }
}

/// How often the keeper thread looks at the queues.
const KEEPER_PERIOD: std::time::Duration = std::time::Duration::from_millis(10);

/// A running keeper thread; stops (and frees what it holds) when dropped.
pub struct KeeperThread {
    /// Set to ask the thread to finish.
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The thread, joined on drop.
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for KeeperThread {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// Allocating a spare buffer failed: the system is out of memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

impl TrackPoolKeeper {
    /// Runs `service` every few milliseconds on a background thread until the handle is dropped.
    /// When memory runs out it keeps trying; the audio thread refuses new takes meanwhile.
    pub fn spawn(self) -> std::io::Result<KeeperThread> {
        self.spawn_with(|| {})
    }

    /// Like [`TrackPoolKeeper::spawn`], also calling `also` every period (the session mirror
    /// catching up with the engine's events).
    pub fn spawn_with(
        mut self,
        mut also: impl FnMut() + Send + 'static,
    ) -> std::io::Result<KeeperThread> {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread_stop = stop.clone();
        let handle = std::thread::Builder::new()
            .name("loopmate-track-pool".into())
            .spawn(move || {
                while !thread_stop.load(std::sync::atomic::Ordering::Acquire) {
                    let _ = self.service();
                    also();
                    std::thread::sleep(KEEPER_PERIOD);
                }
            })?;
        Ok(KeeperThread {
            stop,
            handle: Some(handle),
        })
    }

    /// Track buffers of the keeper's own shape allocated and not yet dropped: what the engine
    /// holds plus the spares. Back to the spare count once every track is gone and handed back.
    pub fn live_buffers(&self) -> usize {
        self.live_buffers
    }

    /// Recycles retired buffers into spares (zeroed), frees the rest, and tops up the spares.
    /// Call regularly from a background thread. Returns how many spares it added.
    pub fn service(&mut self) -> Result<usize, OutOfMemory> {
        let mut added = 0;
        while let Ok(garbage) = self.retired.pop() {
            match garbage {
                Garbage::Buffer(mut buffer) => {
                    let own = buffer.is_pooled();
                    // Audio the session mirror still holds is not reused: dropping this reference
                    // leaves it to the mirror, which frees it when it lets go.
                    if own && buffer.is_sole_owner() && !self.spares.is_full() {
                        buffer.clear();
                        let _ = self.spares.push(buffer);
                        added += 1;
                    } else {
                        drop(buffer);
                        if own {
                            self.live_buffers -= 1;
                        }
                    }
                }
                Garbage::List(list) => drop(list),
                Garbage::Boxed(boxed) => drop(boxed),
            }
        }
        let wanted = self.wanted_list_capacity.load(Ordering::Acquire);
        if wanted > self.provided_list_capacity && !self.lists.is_full() {
            let mut list = Vec::new();
            list.try_reserve_exact(wanted).map_err(|_| OutOfMemory)?;
            let _ = self.lists.push(list);
            self.provided_list_capacity = wanted;
        }
        while !self.spares.is_full() {
            let buffer = TrackBuffer::try_with_fx_memory(
                self.channels,
                self.capacity_frames,
                self.fx_memory_frames,
            )
            .ok_or(OutOfMemory)?
            .pooled();
            let _ = self.spares.push(buffer);
            self.live_buffers += 1;
            added += 1;
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_are_prepared_and_retired_buffers_recycled_zeroed() {
        let (mut pool, mut keeper) = track_pool(2, 8, 0, 2).unwrap();
        assert_eq!(pool.spares_ready(), 2);
        let mut a = pool.take_spare().unwrap();
        let b = pool.take_spare().unwrap();
        assert!(pool.take_spare().is_none(), "only two were prepared");
        a.channel_mut(1)[3] = 0.5;
        pool.retire_buffer(a);
        assert_eq!(keeper.service(), Ok(2));
        let recycled = pool.take_spare().unwrap();
        assert!(recycled.channel(1).iter().all(|&s| s == 0.0));
        drop((b, recycled));
    }

    #[test]
    fn larger_track_lists_come_on_request() {
        let (mut pool, mut keeper) = track_pool(1, 8, 0, 1).unwrap();
        assert!(pool.take_list().is_none());
        pool.request_list(100);
        pool.request_list(40);
        keeper.service().unwrap();
        let list = pool.take_list().expect("a list");
        assert!(list.capacity() >= 100 && list.is_empty());
        keeper.service().unwrap();
        assert!(pool.take_list().is_none(), "only one list per request");
        pool.retire(Garbage::List(list));
        keeper.service().unwrap();
    }
}
