//! Where the editor's *Calibrate latency* button and the standalone's calibration worker meet.
//!
//! Only the standalone can calibrate (it owns the interface's inputs and outputs); in a DAW
//! nothing offers it, and the editor hides the button. The editor and the worker are both
//! off the audio thread, so a small lock around the message is fine.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

/// The button's request, the worker's progress and its last result.
#[derive(Debug, Default)]
pub struct CalibrationControl {
    /// Set by the standalone: calibration is possible here.
    available: AtomicBool,
    /// Set by the button, taken by the worker.
    requested: AtomicBool,
    /// Set while a calibration plays and records.
    running: AtomicBool,
    /// What the last calibration found, or why it failed, for the player.
    message: Mutex<String>,
}

impl CalibrationControl {
    /// The standalone says it can calibrate.
    pub fn offer(&self) {
        self.available.store(true, Ordering::Relaxed);
    }

    /// Whether calibration is possible (the standalone, not a DAW).
    pub fn is_available(&self) -> bool {
        self.available.load(Ordering::Relaxed)
    }

    /// The button: asks for a calibration (ignored while one runs).
    pub fn request(&self) {
        if !self.is_running() {
            self.requested.store(true, Ordering::Relaxed);
        }
    }

    /// The worker: whether a calibration was asked for since it last looked; clears the ask.
    pub fn take_request(&self) -> bool {
        self.requested.swap(false, Ordering::Relaxed)
    }

    /// The worker: a calibration starts (`true`) or ends.
    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Relaxed);
    }

    /// Whether a calibration is playing and recording now.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed) || self.requested.load(Ordering::Relaxed)
    }

    /// The worker: what the calibration found, or why it failed.
    pub fn report(&self, message: String) {
        *self.message.lock() = message;
    }

    /// The last report (empty before the first calibration).
    pub fn message(&self) -> String {
        self.message.lock().clone()
    }
}
