//! libFuzzer on `loopmate_fuzz::state_text` (see there).
#![no_main]

#[global_allocator]
static ALLOCATOR: loopmate_fuzz::LimitedAllocator = loopmate_fuzz::LimitedAllocator;

libfuzzer_sys::fuzz_target!(|data: &[u8]| loopmate_fuzz::state_text(data));
