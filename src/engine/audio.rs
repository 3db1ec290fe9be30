//! A track's storage: its audio in pages (shared with the session mirror once complete) and,
//! once its delay was switched on, the delay's memory.
//!
//! Page tables and delay memory are allocated and freed by the pool keeper (see `pool.rs`),
//! never on the audio thread; pages come from the keeper's reserve as the audio is written.

use std::sync::Arc;

use super::pages::{PAGE_FRAMES, PageSource, PagedChannel};

/// A track's audio, one paged channel per recorded channel. Shared (`Arc`) with the session
/// mirror once the track is complete, and then never written again.
#[derive(Debug)]
pub struct TrackAudio {
    /// The channels' page tables, inline (one pointer less to chase per channel and block);
    /// only the first `channel_count` are used.
    tables: [PagedChannel; 2],
    /// Number of channels (1 or 2).
    channel_count: usize,
    /// Frames per channel the audio can hold.
    capacity_frames: usize,
}

impl TrackAudio {
    /// Empty audio (no pages yet) of `channels` x `capacity_frames`, or `None` when `channels`
    /// is not 1 or 2 or the tables cannot be allocated. Not realtime-safe.
    pub fn try_empty(channels: usize, capacity_frames: usize) -> Option<Self> {
        if !(1..=2).contains(&channels) {
            return None;
        }
        let mut tables = [PagedChannel::default(), PagedChannel::default()];
        for table in &mut tables[..channels] {
            *table = PagedChannel::try_with_capacity(capacity_frames)?;
        }
        Some(Self {
            tables,
            channel_count: channels,
            capacity_frames,
        })
    }

    /// Audio of `channels` x `capacity_frames` from planar `samples` (channel after channel; the
    /// length must match), in just the pages it needs, or `None`. Not realtime-safe.
    pub fn from_planar(channels: usize, capacity_frames: usize, samples: &[f32]) -> Option<Self> {
        if samples.len() != channels.checked_mul(capacity_frames)? {
            return None;
        }
        if capacity_frames == 0 {
            return Self::try_empty(channels, 0);
        }
        let paged = (samples.chunks(capacity_frames))
            .map(PagedChannel::try_from_samples)
            .collect::<Option<Vec<_>>>()?;
        Self::from_channels(paged, capacity_frames)
    }

    /// Audio of the given one or two channels, each holding at least `capacity_frames`, or
    /// `None`.
    pub fn from_channels(channels: Vec<PagedChannel>, capacity_frames: usize) -> Option<Self> {
        let channel_count = channels.len();
        if !(1..=2).contains(&channel_count)
            || channels
                .iter()
                .any(|c| c.capacity_frames() < capacity_frames)
        {
            return None;
        }
        let mut tables = [PagedChannel::default(), PagedChannel::default()];
        for (table, channel) in tables.iter_mut().zip(channels) {
            *table = channel;
        }
        Some(Self {
            tables,
            channel_count,
            capacity_frames,
        })
    }

    /// Frames per channel.
    pub fn capacity_frames(&self) -> usize {
        self.capacity_frames
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.channel_count
    }

    /// One channel.
    pub fn channel(&self, channel: usize) -> &PagedChannel {
        &self.tables[..self.channel_count][channel]
    }

    /// Frames `0..frames` of one channel, copied out. Not realtime-safe (it allocates): for
    /// saving, exporting, drawing and tests.
    pub fn to_vec(&self, channel: usize, frames: usize) -> Vec<f32> {
        let mut samples = vec![0.0; frames];
        self.channel(channel).read(0, &mut samples);
        samples
    }

    /// Takes every page out (the tables stay, empty), handing each to `into`.
    pub fn drain_pages(&mut self, mut into: impl FnMut(super::pages::Page)) {
        for channel in self.tables.iter_mut() {
            channel.drain_pages(&mut into);
        }
    }

    /// Pages held by all channels.
    pub fn held_pages(&self) -> usize {
        self.tables.iter().map(PagedChannel::held_pages).sum()
    }
}

/// Storage for a track or a take in progress: the audio, and the memory of the track's delay
/// effect (owned here, always mutable; empty until the delay is first switched on).
#[derive(Debug)]
pub struct TrackBuffer {
    /// The audio; the audio thread is its only owner until the track is complete and shared.
    audio: Arc<TrackAudio>,
    /// The delay effect's memory (two channels, one after the other), or empty.
    fx_memory: Box<[f32]>,
    /// Made by the pool keeper, which recycles and counts only its own tables (a restored or
    /// imported track's may happen to have the same size).
    pooled: bool,
    /// The page the mix read last (see [`TrackBuffer::stereo_run`]).
    cursor: PageCursor,
}

/// Both channels' samples of one page of a track's audio, kept next to the track so that the
/// mix reads the page table once per page (every 32 blocks of 128 frames) instead of once per
/// channel and block: with hundreds of loops the table is one dependent cache miss between a
/// track and its samples, which made `process()` at 256 loops 9 % slower than contiguous
/// buffers (BENCHMARKS.md).
///
/// The pointers point into pages owned by the `TrackAudio` of the buffer holding the cursor (or
/// into the static silent page). They stay valid while the buffer holds that audio unchanged:
/// the buffer never swaps its audio, and every method of [`TrackBuffer`] that gives mutable
/// access to the audio (where pages may be added, written or taken out) empties the cursor
/// first. Shared audio is never written (see [`TrackBuffer::share`]).
#[derive(Debug, Clone, Copy)]
struct PageCursor {
    /// The page number the pointers are for, `usize::MAX` when empty.
    page: usize,
    /// Left and right samples of that page (the same page twice for mono audio).
    samples: [*const [f32; PAGE_FRAMES]; 2],
}

impl PageCursor {
    const EMPTY: Self = Self {
        page: usize::MAX,
        samples: [std::ptr::null(); 2],
    };
}

// SAFETY: the pointers are only read through `&TrackBuffer` borrows, into pages the buffer owns
// (through its `Arc<TrackAudio>`) and that nothing writes while the cursor holds them (see
// `PageCursor`); sending or sharing the buffer sends or shares the owner with them.
unsafe impl Send for PageCursor {}
// SAFETY: as for `Send`.
unsafe impl Sync for PageCursor {}

impl TrackBuffer {
    /// Empty storage (page tables only), or `None` when out of memory. Not realtime-safe:
    /// called by the pool keeper.
    pub fn try_new(channels: usize, capacity_frames: usize) -> Option<Self> {
        Some(Self::with_audio(Arc::new(TrackAudio::try_empty(
            channels,
            capacity_frames,
        )?)))
    }

    /// A buffer playing `audio` (shared, e.g. restored from a saved state), without delay
    /// memory.
    pub fn with_audio(audio: Arc<TrackAudio>) -> Self {
        Self {
            audio,
            fx_memory: Box::default(),
            pooled: false,
            cursor: PageCursor::EMPTY,
        }
    }

    /// This buffer, marked as the pool keeper's own.
    pub fn pooled(self) -> Self {
        Self {
            pooled: true,
            ..self
        }
    }

    /// Whether the pool keeper made this buffer.
    pub fn is_pooled(&self) -> bool {
        self.pooled
    }

    /// The audio and the delay memory (empty if none), borrowed together.
    pub fn audio_and_fx_memory(&mut self) -> (&TrackAudio, &mut [f32]) {
        (&self.audio, &mut self.fx_memory)
    }

    /// Whether delay memory is attached.
    pub fn has_fx_memory(&self) -> bool {
        !self.fx_memory.is_empty()
    }

    /// Attaches delay memory (zeroed). Realtime-safe (a move).
    pub fn set_fx_memory(&mut self, memory: Box<[f32]>) {
        self.fx_memory = memory;
    }

    /// Takes the delay memory out (empty if none). Realtime-safe (a move).
    pub fn take_fx_memory(&mut self) -> Box<[f32]> {
        std::mem::take(&mut self.fx_memory)
    }

    /// The audio, to read.
    pub fn audio(&self) -> &TrackAudio {
        &self.audio
    }

    /// A new reference to the audio (an atomic increment: realtime-safe). After this the audio
    /// must not be written again; the engine shares only complete tracks.
    pub fn share(&self) -> Arc<TrackAudio> {
        self.audio.clone()
    }

    /// The audio, for writing, if nothing else holds it (the keeper recycles only such
    /// buffers' pages).
    pub fn sole_audio_mut(&mut self) -> Option<&mut TrackAudio> {
        // Pages may be added, written or taken out: the mix's cursor must read the table again.
        self.cursor = PageCursor::EMPTY;
        Arc::get_mut(&mut self.audio)
    }

    /// Left and right samples from frame `at` to the end of its page, at most `max` of them (a
    /// mono track's channel on both sides; silence where no page is held or past the capacity).
    /// Never empty when `max > 0`. Reads the page table only when `at` lies on another page
    /// than at the last call. Realtime-safe.
    #[inline]
    pub fn stereo_run(&mut self, at: usize, max: usize) -> [&[f32]; 2] {
        let page = at / PAGE_FRAMES;
        if self.cursor.page != page {
            self.cursor = self.cursor_at(page);
        }
        let offset = at % PAGE_FRAMES;
        let len = max.min(PAGE_FRAMES - offset);
        // SAFETY: the cursor is for this page and points into pages of `self.audio` (or the
        // silent page), which stay put and unwritten while `self` is borrowed (see
        // `PageCursor`); `offset + len <= PAGE_FRAMES`.
        self.cursor
            .samples
            .map(|samples| unsafe { &(&*samples)[offset..offset + len] })
    }

    /// Prefetches both channels' frames `at..at + frames` (up to the end of their page, see
    /// [`super::pages::prefetch`]). Realtime-safe.
    #[inline]
    pub fn prefetch(&mut self, at: usize, frames: usize) {
        for run in self.stereo_run(at, frames) {
            super::pages::prefetch(run);
        }
    }

    /// A cursor at page `page`, from the page tables.
    #[inline(never)]
    fn cursor_at(&self, page: usize) -> PageCursor {
        let last = self.audio.channels() - 1;
        PageCursor {
            page,
            samples: [0, last].map(|c| std::ptr::from_ref(self.audio.channel(c).page(page))),
        }
    }

    /// Moves the pages of every channel into `other`'s table, as far as it reaches (what lies
    /// beyond stays here). Returns false, moving nothing, unless both hold their audio alone
    /// and have the same channels. Realtime-safe: moves one pointer per page.
    pub fn move_pages_into(&mut self, other: &mut TrackBuffer) -> bool {
        if self.channels() != other.channels() {
            return false;
        }
        let (Some(from), Some(to)) = (self.sole_audio_mut(), other.sole_audio_mut()) else {
            return false;
        };
        for (from, to) in from.tables.iter_mut().zip(&mut to.tables) {
            from.move_pages_into(to);
        }
        true
    }

    /// Frames per channel.
    pub fn capacity_frames(&self) -> usize {
        self.audio.capacity_frames
    }

    /// Takes out every page wholly at or after frame `from` (audio not shared), handing each to
    /// `into`. Realtime-safe when `into` is.
    pub fn release_from(&mut self, from: usize, mut into: impl FnMut(super::pages::Page)) {
        if let Some(audio) = self.sole_audio_mut() {
            for table in &mut audio.tables {
                table.release_from(from, &mut into);
            }
        }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.audio.channels()
    }

    /// Pages held by the audio.
    pub fn held_pages(&self) -> usize {
        self.audio.held_pages()
    }

    /// One channel.
    pub fn channel(&self, channel: usize) -> &PagedChannel {
        self.audio.channel(channel)
    }

    /// One channel, mutable. Only takes and captures in progress write, and their audio is not
    /// shared yet (see [`TrackBuffer::share`]); writing shared audio is a bug.
    pub fn channel_mut(&mut self, channel: usize) -> &mut PagedChannel {
        &mut self
            .sole_audio_mut()
            .expect("only unshared audio (a take or capture in progress) is written")
            .tables[channel]
    }

    /// Frames `0..frames` of one channel, copied out (see [`TrackAudio::to_vec`]).
    pub fn to_vec(&self, channel: usize, frames: usize) -> Vec<f32> {
        self.audio.to_vec(channel, frames)
    }

    /// Backs frames `at..at + frames` of every channel with pages from `source`; returns how
    /// many frames from `at` on every channel holds (fewer when the source ran dry).
    /// Realtime-safe when `source` is.
    pub fn reserve(&mut self, at: usize, frames: usize, source: &mut impl PageSource) -> usize {
        (0..self.channels())
            .map(|c| self.channel_mut(c).reserve(at, frames, source))
            .min()
            .unwrap_or(0)
    }
}
