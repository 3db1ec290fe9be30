//! The dummy backend: no audio hardware. A thread runs periods of silence (or the demo player)
//! in real time and drops the output; MIDI comes from ALSA's sequencer, and the clock goes out
//! through it (see [`super::midi_ports`]). For trying the editor, the demo, and machines
//! without an interface.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::config::Config;
use super::midi_ports::PeriodMidi;
use super::period_thread::PeriodThread;
use super::processor::Processor;

/// MIDI messages one period can carry.
const MIDI_CAPACITY: usize = 1024;

/// As if each period played once processed, in the period after its time: the clock then goes
/// out evenly, ahead of the processing's own jitter. In frames.
pub fn output_latency_frames(period_frames: usize) -> usize {
    period_frames
}

/// Starts periods of `config.period_frames` at `config.sample_rate_hz`, paced by the clock;
/// MIDI in and clock out through `midi`.
pub fn start(
    mut processor: Processor,
    config: &Config,
    mut midi: Option<PeriodMidi>,
) -> Result<PeriodThread, String> {
    let frames = config.period_frames as usize;
    let period = Duration::from_secs_f64(frames as f64 / f64::from(config.sample_rate_hz));
    if let Some(midi) = &mut midi {
        midi.set_output_latency_frames(output_latency_frames(frames));
    }
    PeriodThread::spawn("loopmate-dummy-audio", move |stop| {
        let mut next = Instant::now();
        let mut messages = Vec::with_capacity(MIDI_CAPACITY);
        while !stop.load(Ordering::Relaxed) {
            for channel in 0..2 {
                processor.input(channel, frames).fill(0.0);
            }
            messages.clear();
            if let Some(midi) = &mut midi {
                midi.input(frames, &mut messages);
            }
            processor.process(frames, &messages, None);
            if let Some(midi) = &mut midi {
                midi.clock_out(next, frames, processor.clock_out());
            }
            next += period;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    })
}
