//! Paged audio: a channel of a track is a table of fixed-size pages, filled in as the audio is
//! written, so a track costs what it holds, not what it might have held. Unwritten pages read
//! as silence.
//!
//! Page tables are sized off the audio thread (a spare is a table with no pages); pages come
//! from a [`PageSource`], which on the audio thread is the pool's reserve that the keeper tops
//! up (see `pool.rs`). Reading and writing here never allocate.
//!
//! Why 4096 frames: mixing reads a contiguous run up to the next page boundary, so a block of
//! 128 frames crosses at most one boundary whatever the page size, and the mixing cost is that
//! of contiguous buffers (an earlier measurement of 64 stereo loops at 1024, 4096 and 16384
//! frames found them within noise of each other and of contiguous buffers; `process()` before
//! and after paging is in BENCHMARKS.md). The size then only trades memory: a finished track
//! wastes less than one page per channel (16 KiB), a page is four of the system's 4 KiB pages
//! (one allocation, faulted in by the keeper), and the table of a 600 s take at 48 kHz is 7 k
//! entries (56 KiB).

/// Frames of one channel in a page.
pub const PAGE_FRAMES: usize = 4096;

/// One page of one channel's samples.
pub type Page = Box<[f32; PAGE_FRAMES]>;

/// What unwritten pages read as.
static SILENT_PAGE: [f32; PAGE_FRAMES] = [0.0; PAGE_FRAMES];

/// Asks the CPU to bring `samples` into its caches ahead of use (a hint: nothing is read, nothing
/// waits, the values never change). Loops and delay lines are read where they were left a block
/// earlier, so with dozens of loops each block starts with a cache miss per stream, which costs
/// the most on CPUs with a slow last-level cache. Realtime-safe.
#[inline]
pub fn prefetch(samples: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        const LINE_FLOATS: usize = 64 / size_of::<f32>();
        let ptr = samples.as_ptr();
        // The first line, then one per 64 bytes, and the line of the last sample.
        let mut at = 0;
        while at < samples.len() {
            // SAFETY: `prefetch` reads nothing and cannot fault; the address is inside `samples`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.add(at).cast()) };
            at += LINE_FLOATS;
        }
        if let Some(last) = samples.last() {
            // SAFETY: as above.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(last).cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = samples;
}

/// A zeroed page, or `None` when the allocator refuses. Not realtime-safe.
pub fn try_alloc_page() -> Option<Page> {
    let samples = super::memory::try_alloc_touched(PAGE_FRAMES)?;
    samples.try_into().ok()
}

/// Pages on demand: the pool's reserve on the audio thread, the allocator elsewhere.
pub trait PageSource {
    /// A zeroed page, or `None` when there is none to be had now.
    fn page(&mut self) -> Option<Page>;
}

/// Allocates pages as asked. Not realtime-safe: for loads, imports and tests.
pub struct Allocate;

impl PageSource for Allocate {
    fn page(&mut self) -> Option<Page> {
        try_alloc_page()
    }
}

/// The pages needed to hold `frames`.
pub fn pages_for(frames: usize) -> usize {
    frames.div_ceil(PAGE_FRAMES)
}

/// One channel of audio in pages. The table's length (the capacity) is fixed when it is made.
#[derive(Debug, Default)]
pub struct PagedChannel {
    /// Page `p` holds frames `p * PAGE_FRAMES..(p + 1) * PAGE_FRAMES`; `None` is silence.
    pages: Box<[Option<Page>]>,
}

impl PagedChannel {
    /// An empty channel that can hold `capacity_frames` (rounded up to whole pages), or `None`
    /// when its table cannot be allocated. Not realtime-safe.
    pub fn try_with_capacity(capacity_frames: usize) -> Option<Self> {
        let mut pages = Vec::new();
        pages.try_reserve_exact(pages_for(capacity_frames)).ok()?;
        pages.resize_with(pages_for(capacity_frames), || None);
        Some(Self {
            pages: pages.into_boxed_slice(),
        })
    }

    /// A channel holding `samples` in just the pages they need, or `None` when memory runs out.
    /// Not realtime-safe.
    pub fn try_from_samples(samples: &[f32]) -> Option<Self> {
        let mut channel = Self::try_with_capacity(samples.len())?;
        (channel.write(0, samples, &mut Allocate) == samples.len()).then_some(channel)
    }

    /// Moves the pages this table holds into the same places of `other`'s, as far as `other`
    /// reaches, where `other` holds none (what stays here is recycled with it). Realtime-safe: moves one pointer per page.
    pub fn move_pages_into(&mut self, other: &mut PagedChannel) {
        for (from, to) in self.pages.iter_mut().zip(other.pages.iter_mut()) {
            // Never over a page `other` holds: that page would be freed here.
            if to.is_none() {
                *to = from.take();
            }
        }
    }

    /// Frames the table can hold.
    pub fn capacity_frames(&self) -> usize {
        self.pages.len() * PAGE_FRAMES
    }

    /// Pages held (allocated) now.
    pub fn held_pages(&self) -> usize {
        self.pages.iter().filter(|page| page.is_some()).count()
    }

    /// The samples of page `page` (frames `page * PAGE_FRAMES..`): silence where no page is held
    /// or past the capacity. Realtime-safe.
    pub fn page(&self, page: usize) -> &[f32; PAGE_FRAMES] {
        match self.pages.get(page) {
            Some(Some(page)) => page,
            _ => &SILENT_PAGE,
        }
    }

    /// The samples from `at` to the end of its page, at most `max` of them; silence where no page
    /// is held or past the capacity. Never empty when `max > 0`. Realtime-safe.
    pub fn run(&self, at: usize, max: usize) -> &[f32] {
        let offset = at % PAGE_FRAMES;
        let len = max.min(PAGE_FRAMES - offset);
        &self.page(at / PAGE_FRAMES)[offset..offset + len]
    }

    /// The sample at frame `at` (silence where nothing is held). Realtime-safe.
    pub fn sample(&self, at: usize) -> f32 {
        self.run(at, 1)[0]
    }

    /// Frames `0..frames` as consecutive runs, each up to a page boundary (whole pages but the
    /// last; silence where no page is held). Realtime-safe.
    pub fn runs(&self, frames: usize) -> impl Iterator<Item = &[f32]> {
        (0..frames)
            .step_by(PAGE_FRAMES)
            .map(move |at| self.run(at, frames - at))
    }

    /// Copies frames `at..at + out.len()` into `out`. Realtime-safe.
    pub fn read(&self, at: usize, out: &mut [f32]) {
        let mut done = 0;
        while done < out.len() {
            let run = self.run(at + done, out.len() - done);
            out[done..done + run.len()].copy_from_slice(run);
            done += run.len();
        }
    }

    /// Makes sure frames `at..at + frames` are backed by pages, taking missing ones from
    /// `source`. Returns how many frames from `at` on are backed (fewer when the source ran dry
    /// or the table ends). Realtime-safe when `source` is.
    pub fn reserve(&mut self, at: usize, frames: usize, source: &mut impl PageSource) -> usize {
        let end = (at + frames).min(self.capacity_frames());
        if end <= at {
            return 0;
        }
        for p in at / PAGE_FRAMES..pages_for(end) {
            if self.pages[p].is_none() {
                match source.page() {
                    Some(page) => self.pages[p] = Some(page),
                    None => return (p * PAGE_FRAMES).saturating_sub(at),
                }
            }
        }
        end - at
    }

    /// The held samples from `at` to the end of its page, at most `max`; `None` where no page is
    /// held (see [`PagedChannel::reserve`]). Realtime-safe.
    pub fn run_mut(&mut self, at: usize, max: usize) -> Option<&mut [f32]> {
        let offset = at % PAGE_FRAMES;
        let len = max.min(PAGE_FRAMES - offset);
        let page = self.pages.get_mut(at / PAGE_FRAMES)?.as_mut()?;
        Some(&mut page[offset..offset + len])
    }

    /// The sample at frame `at`, mutable, if its page is held. Realtime-safe.
    pub fn sample_mut(&mut self, at: usize) -> Option<&mut f32> {
        self.run_mut(at, 1).map(|run| &mut run[0])
    }

    /// Writes `samples` from frame `at`, taking pages from `source` as needed. Returns the frames
    /// written: all of them unless the source ran dry or the table ended. Realtime-safe when
    /// `source` is.
    pub fn write(&mut self, at: usize, samples: &[f32], source: &mut impl PageSource) -> usize {
        let backed = self.reserve(at, samples.len(), source);
        self.for_each_run_mut(at, backed, |frame, run| {
            run.copy_from_slice(&samples[frame - at..frame - at + run.len()]);
        });
        backed
    }

    /// Silences frames `at..at + frames` where pages are held. Realtime-safe.
    pub fn silence(&mut self, at: usize, frames: usize) {
        self.for_each_run_mut(at, frames, |_, run| run.fill(0.0));
    }

    /// Calls `f(frame, run)` for each held run of frames `at..at + frames` (up to a page boundary
    /// each; unheld pages and frames past the capacity are skipped). Realtime-safe when `f` is.
    pub fn for_each_run_mut(
        &mut self,
        at: usize,
        frames: usize,
        mut f: impl FnMut(usize, &mut [f32]),
    ) {
        let end = (at + frames).min(self.capacity_frames());
        let mut frame = at;
        while frame < end {
            let len = (PAGE_FRAMES - frame % PAGE_FRAMES).min(end - frame);
            if let Some(run) = self.run_mut(frame, len) {
                f(frame, run);
            }
            frame += len;
        }
    }

    /// Takes every held page out (the table stays, empty), handing each to `into`.
    pub fn drain_pages(&mut self, into: impl FnMut(Page)) {
        self.release_from(0, into);
    }

    /// Takes out every held page that lies wholly at or after frame `from`, handing each to
    /// `into`. Realtime-safe when `into` is.
    pub fn release_from(&mut self, from: usize, mut into: impl FnMut(Page)) {
        let first = pages_for(from).min(self.pages.len());
        for page in self.pages[first..].iter_mut().filter_map(Option::take) {
            into(page);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source with a fixed number of pages to give.
    struct Limited(usize);

    impl PageSource for Limited {
        fn page(&mut self) -> Option<Page> {
            self.0 = self.0.checked_sub(1)?;
            try_alloc_page()
        }
    }

    fn ramp(frames: usize) -> Vec<f32> {
        (0..frames).map(|i| i as f32).collect()
    }

    #[test]
    fn written_audio_reads_back_across_page_boundaries_and_the_rest_is_silent() {
        let mut channel = PagedChannel::try_with_capacity(5 * PAGE_FRAMES).unwrap();
        let samples = ramp(2 * PAGE_FRAMES + 10);
        let at = PAGE_FRAMES - 5;
        assert_eq!(channel.write(at, &samples, &mut Allocate), samples.len());
        assert_eq!(channel.held_pages(), 4, "pages 0 to 3 only");
        let mut out = vec![1.0; samples.len() + 20];
        channel.read(at - 10, &mut out);
        assert!(out[..10].iter().all(|&s| s == 0.0));
        assert_eq!(&out[10..10 + samples.len()], &samples[..]);
        assert!(out[10 + samples.len()..].iter().all(|&s| s == 0.0));
        assert_eq!(channel.sample(4 * PAGE_FRAMES + 7), 0.0, "an unheld page");
        assert_eq!(channel.sample(10 * PAGE_FRAMES), 0.0, "past the capacity");
    }

    #[test]
    fn runs_end_at_page_boundaries_and_are_never_empty() {
        let channel = PagedChannel::try_from_samples(&ramp(3 * PAGE_FRAMES)).unwrap();
        assert_eq!(channel.run(PAGE_FRAMES - 3, 100).len(), 3);
        assert_eq!(channel.run(PAGE_FRAMES, 100).len(), 100);
        assert_eq!(
            channel.run(PAGE_FRAMES - 3, 100)[2],
            (PAGE_FRAMES - 1) as f32
        );
        assert_eq!(
            channel.run(50 * PAGE_FRAMES, 7).len(),
            7,
            "silence past the end"
        );
    }

    #[test]
    fn a_dry_source_stops_the_write_at_the_last_page_it_gave() {
        let mut channel = PagedChannel::try_with_capacity(10 * PAGE_FRAMES).unwrap();
        let samples = ramp(4 * PAGE_FRAMES);
        let written = channel.write(100, &samples, &mut Limited(2));
        assert_eq!(written, 2 * PAGE_FRAMES - 100);
        assert_eq!(
            channel.sample(2 * PAGE_FRAMES - 1),
            (2 * PAGE_FRAMES - 101) as f32
        );
        assert_eq!(channel.sample(2 * PAGE_FRAMES), 0.0);
        assert_eq!(channel.write(0, &samples, &mut Limited(0)), 2 * PAGE_FRAMES);
    }

    #[test]
    fn a_loaded_channel_holds_just_the_pages_it_needs_and_drains_them() {
        let mut channel = PagedChannel::try_from_samples(&ramp(PAGE_FRAMES + 1)).unwrap();
        assert_eq!(
            (channel.held_pages(), channel.capacity_frames()),
            (2, 2 * PAGE_FRAMES)
        );
        channel.silence(PAGE_FRAMES - 2, 10);
        assert_eq!(channel.sample(PAGE_FRAMES - 3), (PAGE_FRAMES - 3) as f32);
        assert_eq!(channel.sample(PAGE_FRAMES), 0.0);
        let mut drained = 0;
        channel.drain_pages(|_| drained += 1);
        assert_eq!((drained, channel.held_pages()), (2, 0));
        assert_eq!(
            channel.capacity_frames(),
            2 * PAGE_FRAMES,
            "the table stays"
        );
    }
}
