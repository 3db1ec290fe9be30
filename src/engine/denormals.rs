//! Subnormal floats flushed to zero while the engine processes.
//!
//! A decaying recursion (a filter's state, a delay's feedback, a fade to silence) passes through
//! subnormal values on its way to zero, and a filter's state can stay there for good: the
//! smallest subnormal times a coefficient near 1 rounds back to itself. On x86 every operation on
//! a subnormal costs on the order of a hundred cycles, and overdub tracks are mostly silence. So
//! [`FlushDenormals`] turns on flush-to-zero (results) and denormals-are-zero (inputs) for the
//! thread while the engine runs, whatever the host or the standalone set, and restores the
//! caller's mode after.
//!
//! Realtime: two accesses to the floating-point control register per `process` call.

use std::marker::PhantomData;

/// MXCSR bit 15: flush-to-zero (subnormal results become 0).
#[cfg(target_arch = "x86_64")]
const X86_FTZ: u32 = 1 << 15;
/// MXCSR bit 6: denormals-are-zero (subnormal inputs read as 0).
#[cfg(target_arch = "x86_64")]
const X86_DAZ: u32 = 1 << 6;
/// FPCR bit 24 (FZ): subnormal inputs and results are zero.
#[cfg(target_arch = "aarch64")]
const AARCH64_FZ: u64 = 1 << 24;

/// While alive, the current thread flushes subnormal floats to zero; dropping it restores the
/// mode it found. Not `Send`: the mode belongs to the thread.
#[derive(Debug)]
pub struct FlushDenormals {
    /// The control register as it was (restored on drop).
    #[cfg(target_arch = "x86_64")]
    saved: u32,
    /// The control register as it was (restored on drop).
    #[cfg(target_arch = "aarch64")]
    saved: u64,
    /// Keeps the guard on its thread.
    _thread: PhantomData<*const ()>,
}

impl FlushDenormals {
    /// Turns flushing on for the current thread. Realtime-safe.
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let mut saved: u32 = 0;
            // SAFETY: `stmxcsr` stores the 32-bit MXCSR register to the given address, which is
            // a live, aligned `u32`; SSE is part of the x86_64 baseline.
            unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut saved, options(nostack)) };
            let flushing = saved | X86_FTZ | X86_DAZ;
            // SAFETY: `ldmxcsr` loads MXCSR from a live `u32`; the value is the current one with
            // only the FTZ and DAZ mode bits added (both supported by every x86_64 CPU).
            unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &flushing, options(nostack)) };
            Self {
                saved,
                _thread: PhantomData,
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            let saved: u64;
            // SAFETY: reading FPCR has no side effect.
            unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) saved, options(nomem, nostack)) };
            // SAFETY: writing FPCR with only the FZ mode bit added to its current value.
            unsafe {
                std::arch::asm!("msr fpcr, {}", in(reg) saved | AARCH64_FZ, options(nomem, nostack))
            };
            Self {
                saved,
                _thread: PhantomData,
            }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        Self {
            _thread: PhantomData,
        }
    }
}

impl Default for FlushDenormals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: restores the MXCSR value read in `new` on this same thread (the guard is not
        // `Send`).
        unsafe {
            std::arch::asm!("ldmxcsr [{}]", in(reg) &self.saved, options(nostack))
        };
        #[cfg(target_arch = "aarch64")]
        // SAFETY: restores the FPCR value read in `new` on this same thread.
        unsafe {
            std::arch::asm!("msr fpcr, {}", in(reg) self.saved, options(nomem, nostack))
        };
    }
}

/// Whether an operation on the current thread read a subnormal operand since the last call
/// (MXCSR's sticky denormal flag, cleared here). Tests only: it shows subnormal arithmetic the
/// outputs never reveal (a filter state stuck at a subnormal, a vector lane of one).
#[cfg(all(test, target_arch = "x86_64"))]
pub fn took_subnormal_operand() -> bool {
    /// MXCSR bit 1: a subnormal operand was seen (sticky).
    const X86_DENORMAL_SEEN: u32 = 1 << 1;
    let mut mxcsr: u32 = 0;
    // SAFETY: as in `FlushDenormals::new`: stores MXCSR to a live, aligned `u32`.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut mxcsr, options(nostack)) };
    let cleared = mxcsr & !X86_DENORMAL_SEEN;
    // SAFETY: loads MXCSR with only a sticky status flag cleared; no mode changes.
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &cleared, options(nostack)) };
    mxcsr & X86_DENORMAL_SEEN != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    #[test]
    fn subnormals_are_zero_while_the_guard_lives_and_come_back_after() {
        let smallest_normal = black_box(f32::MIN_POSITIVE);
        let smallest_subnormal = black_box(f32::from_bits(1));
        let halved = || black_box(smallest_normal) * black_box(0.5f32);
        let read = || black_box(smallest_subnormal) * black_box(1.0f32);
        assert!(
            halved().is_subnormal(),
            "the test thread starts without flushing"
        );
        {
            let _flush = FlushDenormals::new();
            assert_eq!(halved(), 0.0, "a subnormal result is flushed");
            assert_eq!(read(), 0.0, "a subnormal input reads as zero");
        }
        assert!(halved().is_subnormal(), "the caller's mode is restored");
        assert!(read().is_subnormal());
    }
}
