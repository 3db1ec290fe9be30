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
