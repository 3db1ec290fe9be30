//! Effects: realtime and non-destructive (the recorded audio is never altered). Each effect is
//! switched on and off, and changed, through ramps, so nothing clicks.
//!
//! Realtime: everything here runs on the audio thread; memory (delay lines) is handed in.

pub mod chain;
pub mod delay;
pub mod drive;
pub mod filter;
pub mod limiter;
