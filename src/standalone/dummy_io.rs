//! The dummy backend: no audio hardware. A thread runs periods of silence (or the demo player)
//! in real time and drops the output; MIDI comes from ALSA's sequencer. For trying the editor, the demo,
//! and machines without an interface.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::config::Config;
use super::midi_in::MidiInputs;
use super::processor::Processor;

/// MIDI messages one period can carry.
const MIDI_CAPACITY: usize = 1024;

/// A running dummy backend; dropping it stops the thread.
pub struct DummyRunning {
    /// Set to stop.
    stop: Arc<AtomicBool>,
    /// The period thread.
    thread: Option<JoinHandle<()>>,
}

/// Starts periods of `config.period_frames` at `config.sample_rate_hz`, paced by the clock.
pub fn start(
    mut processor: Processor,
    config: &Config,
    mut midi: Option<MidiInputs>,
) -> Result<DummyRunning, String> {
    let frames = config.period_frames as usize;
    let period = Duration::from_secs_f64(frames as f64 / f64::from(config.sample_rate_hz));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("loopmate-dummy-audio".to_owned())
            .spawn(move || {
                let mut next = Instant::now();
                let mut messages = Vec::with_capacity(MIDI_CAPACITY);
                while !stop.load(Ordering::Relaxed) {
                    for channel in 0..2 {
                        processor.input(channel, frames).fill(0.0);
                    }
                    messages.clear();
                    if let Some(midi) = &mut midi {
                        midi.period(frames, &mut messages);
                    }
                    processor.process(frames, &messages, None);
                    next += period;
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            })
            .map_err(|error| format!("cannot start the audio thread: {error}"))?
    };
    Ok(DummyRunning {
        stop,
        thread: Some(thread),
    })
}

impl Drop for DummyRunning {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
