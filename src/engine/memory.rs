//! Allocation of large sample buffers off the audio thread.

/// A zeroed buffer of `len` samples whose pages are all touched now, so the audio thread never
/// takes a page fault on first write. Returns `None` if the allocator refuses (out of memory)
/// instead of aborting. Not realtime-safe.
pub fn try_alloc_touched(len: usize) -> Option<Box<[f32]>> {
    let mut samples: Vec<f32> = Vec::new();
    samples.try_reserve_exact(len).ok()?;
    // `resize` writes every sample, unlike `vec![0.0; len]`, which may map lazily zeroed pages.
    samples.resize(len, 0.0);
    Some(samples.into_boxed_slice())
}

/// A zeroed buffer of `len` samples whose pages may be mapped lazily (the allocator's zeroed
/// allocation: a large one costs nothing until each page is first written). For buffers that
/// are filled off the audio thread before it sees them: whoever writes first takes the page
/// faults, so buffers filled on several threads are faulted in in parallel. Returns `None` if
/// the allocator refuses. Not realtime-safe.
pub fn try_alloc_zeroed(len: usize) -> Option<Box<[f32]>> {
    if len == 0 {
        return Some(Box::default());
    }
    let layout = std::alloc::Layout::array::<f32>(len).ok()?;
    // SAFETY: `layout` has a non-zero size (len > 0).
    let samples = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<f32>();
    if samples.is_null() {
        return None;
    }
    // SAFETY: `samples` was allocated by the global allocator with the layout of `[f32; len]`
    // (what `Box<[f32]>` frees with), is aligned for f32 and holds `len` zeroed f32s (all-zero
    // bits are 0.0); the box takes sole ownership of it.
    Some(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(samples, len)) })
}
