//! Track storage handed between the audio thread and a background keeper: the keeper keeps a
//! reserve of zeroed audio pages, spare page tables for new takes and delay memories topped up,
//! makes larger track lists when the audio thread asks for them, and frees (or recycles) what
//! the audio thread no longer needs, so the audio thread never allocates or frees. Tracks are
//! therefore limited by memory only, and each costs the pages it holds.
//!
//! A take records into a table sized for the longest take (the history's length); when it
//! becomes a track, its pages move into a *fitted* table of the next power of two of pages it
//! needs, which the keeper also keeps ready (a few per size), and the long table goes back to
//! be a spare again. A capture, whose length is known from the start, copies straight into a
//! fitted table. So a finished track costs its pages and a table of at most twice their count
//! (8 bytes per page and channel), whatever the history length.
//!
//! `TrackPool` is the audio thread's end; `TrackPoolKeeper` is the background end.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::audio::TrackBuffer;
use super::pages::{PAGE_FRAMES, Page, PageSource, pages_for, try_alloc_page};
use super::track::Track;

/// Pages the keeper keeps ready (4 MiB; 10.9 s of stereo audio at 48 kHz). A take uses a page
/// per channel every 85 ms at 48 kHz and a capture 32 times as fast, so in a realtime host the
/// reserve outlasts a keeper held up for seconds; an offline bounce waits for it instead.
pub const PAGE_RESERVE: usize = 256;

/// Delay memories the keeper keeps ready for loops whose delay is switched on.
pub const DELAY_MEMORY_RESERVE: usize = 2;

/// Fitted tables the keeper keeps ready per size.
pub const FITTED_PER_SIZE: usize = 2;

/// The fitted table sizes below a long table of `capacity_frames`: size `k` holds `2^k` pages
/// per channel, and only sizes smaller than the long table are worth having.
fn fitted_sizes(capacity_frames: usize) -> usize {
    pages_for(capacity_frames)
        .next_power_of_two()
        .trailing_zeros() as usize
}

/// The fitted size for `frames` (`2^k` pages, the smallest that holds them).
fn fitted_size_for(frames: usize) -> usize {
    pages_for(frames)
        .max(1)
        .next_power_of_two()
        .trailing_zeros() as usize
}

/// What the audio thread hands back to be freed or recycled.
pub enum Garbage {
    /// A removed track's (or cancelled take's) storage.
    Buffer(TrackBuffer),
    /// A version of a loop's audio a crossfade read last (see `Track::take_spent_audio`).
    Audio(Arc<super::audio::TrackAudio>),
    /// A page a take no longer needs (cut off its end).
    Page(Page),
    /// A track list replaced by a larger one (empty).
    List(Vec<Track>),
    /// Anything else already boxed, to be dropped (a restored session once installed, holding
    /// the replaced, empty track list).
    Boxed(Box<dyn Send>),
}

/// How many retired items can wait for the keeper before the audio thread keeps them itself.
const RETIRE_QUEUE_CAPACITY: usize = 1024;

/// The audio thread's end: takes spares, pages and delay memory, returns what is no longer
/// needed. Realtime-safe.
pub struct TrackPool {
    /// Empty page tables ready for the next take or capture.
    spares: rtrb::Consumer<TrackBuffer>,
    /// Empty fitted tables, by size (`2^k` pages per channel).
    fitted: Vec<rtrb::Consumer<TrackBuffer>>,
    /// Zeroed pages.
    pages: rtrb::Consumer<Page>,
    /// Zeroed delay memories.
    delay_memories: rtrb::Consumer<Box<[f32]>>,
    /// Larger, empty track lists the keeper prepared on request.
    lists: rtrb::Consumer<Vec<Track>>,
    /// The list capacity wanted from the keeper (0: none).
    wanted_list_capacity: Arc<AtomicUsize>,
    /// What the audio thread no longer needs, on its way to the keeper.
    retired: rtrb::Producer<Garbage>,
    /// Garbage that did not fit in the queue; retried every block (capacity reserved).
    backlog: Vec<Garbage>,
    /// How many times the keeper has serviced the queues (its progress, for offline waits).
    services: Arc<AtomicU64>,
    /// How many times memory was not ready where the audio thread needed it.
    shortfalls: Arc<AtomicU64>,
}

/// The background end: keeps the reserves topped up, recycles or frees what comes back. Not
/// realtime: it allocates, zeroes and frees.
pub struct TrackPoolKeeper {
    /// Queue of spare tables to the audio thread.
    spares: rtrb::Producer<TrackBuffer>,
    /// Queues of fitted tables to the audio thread, by size.
    fitted: Vec<rtrb::Producer<TrackBuffer>>,
    /// Queue of zeroed pages to the audio thread.
    pages: rtrb::Producer<Page>,
    /// Queue of zeroed delay memories to the audio thread.
    delay_memories: rtrb::Producer<Box<[f32]>>,
    /// Queue of larger track lists to the audio thread.
    lists: rtrb::Producer<Vec<Track>>,
    /// The list capacity the audio thread wants.
    wanted_list_capacity: Arc<AtomicUsize>,
    /// The largest list capacity provided so far.
    provided_list_capacity: usize,
    /// Page tables of the keeper's own shape made and not yet freed (spares, takes, tracks).
    live_buffers: usize,
    /// Queue of garbage from the audio thread.
    retired: rtrb::Consumer<Garbage>,
    /// Channels per table.
    channels: usize,
    /// Frames per channel a table can hold (the history's length).
    capacity_frames: usize,
    /// Samples of a delay memory (both channels).
    delay_memory_samples: usize,
    /// Services done, shared with the audio thread's end.
    services: Arc<AtomicU64>,
    /// Shortfalls the audio thread reported.
    shortfalls: Arc<AtomicU64>,
    /// A fault the tests make the keeper act out.
    #[cfg(test)]
    pub fault: Option<KeeperFault>,
}

/// What can go wrong with a keeper, acted out in tests.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeeperFault {
    /// The keeper thread is held up: it does nothing.
    Stalled,
    /// Every allocation fails (memory is exhausted); what comes back is still recycled.
    OutOfMemory,
}

/// Creates both ends, with `spare_count` tables of `channels` x `capacity_frames`, the page
/// reserve and the delay memories (of `fx_memory_frames` stereo frames) allocated now. Returns
/// `None` if that memory cannot be had. Not realtime-safe.
pub fn track_pool(
    channels: usize,
    capacity_frames: usize,
    fx_memory_frames: usize,
    spare_count: usize,
) -> Option<(TrackPool, TrackPoolKeeper)> {
    let (spares_tx, spares_rx) = rtrb::RingBuffer::new(spare_count.max(1));
    let (fitted_tx, fitted_rx): (Vec<_>, Vec<_>) = (0..fitted_sizes(capacity_frames))
        .map(|_| rtrb::RingBuffer::new(FITTED_PER_SIZE))
        .unzip();
    let (pages_tx, pages_rx) = rtrb::RingBuffer::new(PAGE_RESERVE);
    let (delay_tx, delay_rx) = rtrb::RingBuffer::new(DELAY_MEMORY_RESERVE);
    let (retired_tx, retired_rx) = rtrb::RingBuffer::new(RETIRE_QUEUE_CAPACITY);
    let (lists_tx, lists_rx) = rtrb::RingBuffer::new(2);
    let wanted_list_capacity = Arc::new(AtomicUsize::new(0));
    let services = Arc::new(AtomicU64::new(0));
    let shortfalls = Arc::new(AtomicU64::new(0));
    let mut keeper = TrackPoolKeeper {
        spares: spares_tx,
        fitted: fitted_tx,
        pages: pages_tx,
        delay_memories: delay_tx,
        lists: lists_tx,
        wanted_list_capacity: wanted_list_capacity.clone(),
        provided_list_capacity: 0,
        live_buffers: 0,
        retired: retired_rx,
        channels,
        capacity_frames,
        delay_memory_samples: fx_memory_frames.checked_mul(2)?,
        services: services.clone(),
        shortfalls: shortfalls.clone(),
        #[cfg(test)]
        fault: None,
    };
    keeper.service().ok()?;
    let pool = TrackPool {
        spares: spares_rx,
        fitted: fitted_rx,
        pages: pages_rx,
        delay_memories: delay_rx,
        lists: lists_rx,
        wanted_list_capacity,
        retired: retired_tx,
        backlog: Vec::with_capacity(RETIRE_QUEUE_CAPACITY),
        services,
        shortfalls,
    };
    Some((pool, keeper))
}

impl PageSource for TrackPool {
    /// A zeroed page from the reserve, if one is left. Realtime-safe.
    fn page(&mut self) -> Option<Page> {
        self.pages.pop().ok()
    }
}

impl TrackPool {
    /// Empty storage for a new take, if the keeper has one ready. Realtime-safe.
    pub fn take_spare(&mut self) -> Option<TrackBuffer> {
        self.spares.pop().ok()
    }

    /// An empty table fitted to `frames` (at most twice their pages), if the keeper has one
    /// ready and it is smaller than a spare. Realtime-safe.
    pub fn take_fitted(&mut self, frames: usize) -> Option<TrackBuffer> {
        let size = fitted_size_for(frames);
        let sizes = self.fitted.get_mut(size..)?;
        sizes.iter_mut().find_map(|queue| queue.pop().ok())
    }

    /// A finished take's storage, its pages moved into a fitted table for its first `frames`
    /// when one is ready (the long table goes back to the keeper), else as it is. Realtime-safe:
    /// moves one pointer per page.
    pub fn fit(&mut self, mut buffer: TrackBuffer, frames: usize) -> TrackBuffer {
        self.fit_in_place(&mut buffer, frames);
        buffer
    }

    /// [`TrackPool::fit`] in place: `buffer` becomes the fitted table (its delay memory moved
    /// along) when one is ready. Realtime-safe.
    pub fn fit_in_place(&mut self, buffer: &mut TrackBuffer, frames: usize) {
        let Some(mut fitted) = self.take_fitted(frames) else {
            return;
        };
        if buffer.move_pages_into(&mut fitted) {
            fitted.set_fx_memory(buffer.take_fx_memory());
            std::mem::swap(buffer, &mut fitted);
        }
        self.retire_buffer(fitted);
    }

    /// Zeroed delay memory, if the keeper has one ready. Realtime-safe.
    pub fn take_delay_memory(&mut self) -> Option<Box<[f32]>> {
        self.delay_memories.pop().ok()
    }

    /// Hands something no longer needed to the keeper. Realtime-safe: never frees here.
    pub fn retire(&mut self, garbage: Garbage) {
        if let Err(rtrb::PushError::Full(garbage)) = self.retired.push(garbage) {
            if self.backlog.len() < self.backlog.capacity() {
                self.backlog.push(garbage);
            } else {
                // Unreachable in practice (2048 hand-backs within one keeper period); leaking
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

    /// Retries handing over what did not fit in the queue. Realtime-safe.
    pub fn flush_backlog(&mut self) {
        while !self.retired.is_full() {
            match self.backlog.pop() {
                Some(garbage) => {
                    let _ = self.retired.push(garbage);
                }
                None => break,
            }
        }
    }

    /// Counts a shortfall (memory not ready where it was needed), for the keeper's side to
    /// log. Realtime-safe.
    pub fn report_shortfall(&self) {
        self.shortfalls.fetch_add(1, Ordering::Relaxed);
    }

    /// Spare tables ready right now.
    pub fn spares_ready(&self) -> usize {
        self.spares.slots()
    }

    /// Pages ready right now.
    pub fn pages_ready(&self) -> usize {
        self.pages.slots()
    }

    /// Offline rendering only (it sleeps; never on a realtime thread): waits until at least
    /// `pages` pages (at most the reserve) and, if `spare`, a spare table are ready, or the
    /// keeper makes no progress for `OFFLINE_STALL_LIMIT`. Returns whether they came.
    /// Allocation-free.
    pub fn wait_offline(&self, pages: usize, spare: bool) -> bool {
        let pages = pages.min(PAGE_RESERVE);
        let poll = || {
            let ready = self.pages.slots() >= pages && (!spare || !self.spares.is_empty());
            (ready, self.services.load(Ordering::Acquire))
        };
        crate::analysis::feed::wait_offline(poll, || false)
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

    /// The count of shortfalls the audio thread reported, to be read off the audio thread (the
    /// plugin logs them).
    pub fn shortfalls(&self) -> Arc<AtomicU64> {
        self.shortfalls.clone()
    }

    /// Page tables of the keeper's own shape made and not yet dropped: what the engine holds
    /// plus the spares. Back to the spare count once every track is gone and handed back.
    pub fn live_buffers(&self) -> usize {
        self.live_buffers
    }

    /// Recycles what came back (pages zeroed), frees the rest, and tops up the reserves. Call
    /// regularly from a background thread. Returns how many spare tables it added.
    pub fn service(&mut self) -> Result<usize, OutOfMemory> {
        #[cfg(test)]
        if self.fault == Some(KeeperFault::Stalled) {
            return Ok(0);
        }
        let mut added = 0;
        while let Ok(garbage) = self.retired.pop() {
            match garbage {
                Garbage::Buffer(buffer) => added += self.recycle(buffer),
                Garbage::Page(page) => self.recycle_page(page),
                Garbage::List(list) => drop(list),
                Garbage::Audio(audio) => drop(audio),
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
        #[cfg(test)]
        if self.fault == Some(KeeperFault::OutOfMemory) {
            return Err(OutOfMemory);
        }
        while !self.pages.is_full() {
            let _ = self.pages.push(try_alloc_page().ok_or(OutOfMemory)?);
        }
        while !self.delay_memories.is_full() {
            let memory = super::memory::try_alloc_touched(self.delay_memory_samples);
            let _ = self.delay_memories.push(memory.ok_or(OutOfMemory)?);
        }
        for (size, queue) in self.fitted.iter_mut().enumerate() {
            while !queue.is_full() {
                let frames = PAGE_FRAMES << size;
                let buffer = TrackBuffer::try_new(self.channels, frames).ok_or(OutOfMemory)?;
                let _ = queue.push(buffer);
            }
        }
        while !self.spares.is_full() {
            let buffer = TrackBuffer::try_new(self.channels, self.capacity_frames)
                .ok_or(OutOfMemory)?
                .pooled();
            let _ = self.spares.push(buffer);
            self.live_buffers += 1;
            added += 1;
        }
        self.services.fetch_add(1, Ordering::Release);
        Ok(added)
    }

    /// Takes a retired buffer apart: its pages and delay memory go back to the reserves (or are
    /// freed), and its table becomes a spare again if it is the keeper's own. Audio the session
    /// mirror still holds is left to the mirror, which frees it when it lets go. Returns 1 if
    /// the table became a spare.
    fn recycle(&mut self, mut buffer: TrackBuffer) -> usize {
        let memory = buffer.take_fx_memory();
        if memory.len() == self.delay_memory_samples && !self.delay_memories.is_full() {
            let mut memory = memory;
            memory.fill(0.0);
            let _ = self.delay_memories.push(memory);
        }
        let own = buffer.is_pooled();
        let Some(audio) = buffer.sole_audio_mut() else {
            self.live_buffers -= usize::from(own);
            return 0;
        };
        audio.drain_pages(|page| self.recycle_page(page));
        if own && !self.spares.is_full() {
            let _ = self.spares.push(buffer);
            1
        } else {
            self.live_buffers -= usize::from(own);
            0
        }
    }

    /// Zeroes a page back into the reserve, or frees it when the reserve is full.
    fn recycle_page(&mut self, mut page: Page) {
        if !self.pages.is_full() {
            page.fill(0.0);
            let _ = self.pages.push(page);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_and_pages_are_prepared_and_retired_ones_recycled_zeroed() {
        let (mut pool, mut keeper) = track_pool(2, 3 * PAGE_FRAMES, 0, 2).unwrap();
        assert_eq!((pool.spares_ready(), pool.pages_ready()), (2, PAGE_RESERVE));
        let mut a = pool.take_spare().unwrap();
        let b = pool.take_spare().unwrap();
        assert!(pool.take_spare().is_none(), "only two were prepared");
        assert_eq!(a.held_pages(), 0, "a spare is a table only");
        assert_eq!(a.reserve(PAGE_FRAMES, 10, &mut pool), 10);
        *a.channel_mut(1).sample_mut(PAGE_FRAMES + 3).unwrap() = 0.5;
        assert_eq!(pool.pages_ready(), PAGE_RESERVE - 2, "one page per channel");
        pool.retire_buffer(a);
        assert_eq!(keeper.service(), Ok(2));
        assert_eq!(keeper.live_buffers(), 2 + 1, "b is still out");
        let mut recycled = pool.take_spare().unwrap();
        assert_eq!(recycled.held_pages(), 0);
        while pool.pages_ready() > 0 {
            let page = pool.page().unwrap();
            assert!(page.iter().all(|&s| s == 0.0), "recycled pages are zeroed");
        }
        assert_eq!(recycled.reserve(0, 1, &mut pool), 0, "the reserve is empty");
        drop((b, recycled));
    }

    #[test]
    fn a_finished_take_moves_into_a_fitted_table_and_its_long_one_becomes_a_spare() {
        let capacity = 100 * PAGE_FRAMES;
        let (mut pool, mut keeper) = track_pool(2, capacity, 0, 1).unwrap();
        let mut take = pool.take_spare().unwrap();
        let frames = 5 * PAGE_FRAMES + 7;
        assert_eq!(take.reserve(0, frames, &mut pool), frames);
        for (c, value) in [(0, 0.25), (1, -0.5)] {
            *take.channel_mut(c).sample_mut(frames - 1).unwrap() = value;
        }
        let track = pool.fit(take, frames);
        assert_eq!(
            track.capacity_frames(),
            8 * PAGE_FRAMES,
            "6 pages: a table of 8"
        );
        assert_eq!(track.held_pages(), 2 * 6);
        assert_eq!(track.channel(0).sample(frames - 1), 0.25);
        assert_eq!(track.channel(1).sample(frames - 1), -0.5);
        keeper.service().unwrap();
        let spare = pool
            .take_spare()
            .expect("the long table came back as a spare");
        assert_eq!((spare.capacity_frames(), spare.held_pages()), (capacity, 0));
        // Sizes 1, 2, 4, ... 64 pages are kept ready, none as long as the long table.
        assert!(pool.take_fitted(64 * PAGE_FRAMES).is_some());
        assert!(pool.take_fitted(65 * PAGE_FRAMES).is_none());
        let small = pool.take_fitted(1).unwrap();
        assert_eq!(small.capacity_frames(), PAGE_FRAMES);
        drop((track, spare, small));
    }

    #[test]
    fn without_a_fitted_table_ready_a_take_keeps_its_long_one() {
        let (mut pool, _keeper) = track_pool(1, 100 * PAGE_FRAMES, 0, 1).unwrap();
        // The keeper is held up: every table that could fit 3 pages is taken.
        let mut taken = 0;
        while pool.take_fitted(3 * PAGE_FRAMES).is_some() {
            taken += 1;
        }
        assert_eq!(
            taken,
            5 * FITTED_PER_SIZE,
            "sizes 4, 8, 16, 32 and 64 pages"
        );
        let mut take = pool.take_spare().unwrap();
        assert_eq!(take.reserve(0, 10, &mut pool), 10);
        let track = pool.fit(take, 3 * PAGE_FRAMES);
        assert_eq!(
            (track.capacity_frames(), track.held_pages()),
            (100 * PAGE_FRAMES, 1)
        );
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

    #[test]
    fn delay_memory_comes_zeroed_and_goes_back_with_its_track() {
        let (mut pool, mut keeper) = track_pool(1, 8, 100, 1).unwrap();
        let mut buffer = pool.take_spare().unwrap();
        let mut memory = pool.take_delay_memory().unwrap();
        assert_eq!(memory.len(), 200);
        memory[7] = 1.0;
        buffer.set_fx_memory(memory);
        pool.retire_buffer(buffer);
        keeper.service().unwrap();
        let memories: Vec<_> = std::iter::from_fn(|| pool.take_delay_memory()).collect();
        assert_eq!(memories.len(), DELAY_MEMORY_RESERVE);
        assert!(memories.iter().all(|m| m.iter().all(|&s| s == 0.0)));
    }
}
