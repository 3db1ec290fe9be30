//! A thread that loops until stopped: the audio thread of the backends that run their own
//! period loop (ALSA, dummy), and the MIDI threads behind them. Started with a stop flag,
//! stopped (woken if parked) and joined when dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// A running period loop; dropping it stops the loop and waits for it.
pub struct PeriodThread {
    /// Set to stop the loop.
    stop: Arc<AtomicBool>,
    /// The thread.
    thread: Option<JoinHandle<()>>,
}

impl PeriodThread {
    /// Runs `run` on a new thread named `name`; it loops until the flag it gets is set.
    pub fn spawn(
        name: &str,
        run: impl FnOnce(&AtomicBool) + Send + 'static,
    ) -> Result<Self, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || run(&stop))
                .map_err(|error| format!("cannot start the thread {name}: {error}"))?
        };
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for PeriodThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // A thread that waits parked (the MIDI scan, the clock sender) stops at once.
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
