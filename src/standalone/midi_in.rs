//! MIDI input through ALSA's sequencer (`midir`), for the backends without their own MIDI (ALSA,
//! dummy). Each message is stamped when it arrives and placed in the next period at the frame
//! that keeps its distance to the others: a constant latency of one period, with the timing
//! within the period kept (so clock ticks stay even, and presses keep their order and spacing).
//!
//! Realtime: [`MidiInputs::period`] runs on the audio thread; it never allocates or blocks (the
//! queues are `rtrb` rings filled by `midir`'s threads).

use std::time::{Duration, Instant};

use midir::{Ignore, MidiInput, MidiInputConnection};

use super::processor::MidiIn;

/// Messages a source can queue between two periods.
const QUEUE_CAPACITY: usize = 1024;

/// A message as it arrived.
#[derive(Debug, Clone, Copy)]
struct Arrived {
    /// When it arrived.
    at: Instant,
    /// The message (frame 0 until placed).
    message: MidiIn,
}

/// The connected MIDI sources.
pub struct MidiInputs {
    /// The connections (kept open while they live).
    _connections: Vec<MidiInputConnection<rtrb::Producer<Arrived>>>,
    /// Each source's queue.
    queues: Vec<rtrb::Consumer<Arrived>>,
    /// Sample rate in hertz.
    sample_rate_hz: f64,
    /// The names of the connected sources, for the log.
    pub names: Vec<String>,
}

impl MidiInputs {
    /// Connects every source whose name contains one of `wanted` (all, if empty). Not
    /// realtime.
    pub fn connect(wanted: &[String], sample_rate_hz: u32) -> Result<Self, String> {
        let probe = MidiInput::new("loopmate").map_err(|e| format!("no ALSA MIDI: {e}"))?;
        let ports = probe.ports();
        let mut inputs = Self {
            _connections: Vec::new(),
            queues: Vec::new(),
            sample_rate_hz: f64::from(sample_rate_hz),
            names: Vec::new(),
        };
        for port in &ports {
            let Ok(name) = probe.port_name(port) else {
                continue;
            };
            let listened =
                wanted.is_empty() || wanted.iter().any(|part| name.contains(part.as_str()));
            if !listened || name.contains("loopmate") {
                continue;
            }
            let mut input = MidiInput::new("loopmate").map_err(|e| format!("no ALSA MIDI: {e}"))?;
            // Clock, start and stop are wanted too.
            input.ignore(Ignore::None);
            let (producer, consumer) = rtrb::RingBuffer::new(QUEUE_CAPACITY);
            let callback = |_: u64, bytes: &[u8], queue: &mut rtrb::Producer<Arrived>| {
                if let Some(message) = MidiIn::new(0, bytes) {
                    let _ = queue.push(Arrived {
                        at: Instant::now(),
                        message,
                    });
                }
            };
            match input.connect(port, "loopmate-in", callback, producer) {
                Ok(connection) => {
                    inputs._connections.push(connection);
                    inputs.queues.push(consumer);
                    inputs.names.push(name);
                }
                Err(error) => nice_plug::nice_warn!("Loopmate: cannot listen to {name}: {error}"),
            }
        }
        Ok(inputs)
    }

    /// The messages for a period of `frames` frames starting now, in time order, appended to
    /// `out`. Realtime.
    pub fn period(&mut self, frames: usize, out: &mut Vec<MidiIn>) {
        let now = Instant::now();
        let period = Duration::from_secs_f64(frames as f64 / self.sample_rate_hz);
        let window_start = now.checked_sub(period).unwrap_or(now);
        let first = out.len();
        for queue in &mut self.queues {
            while let Ok(arrived) = queue.pop() {
                if out.len() == out.capacity() {
                    continue;
                }
                let since = arrived
                    .at
                    .saturating_duration_since(window_start)
                    .as_secs_f64();
                let offset = ((since * self.sample_rate_hz) as usize).min(frames.saturating_sub(1));
                out.push(MidiIn {
                    offset: offset as u32,
                    ..arrived.message
                });
            }
        }
        // A stable insertion sort: each source's messages are in order already, and the standard
        // stable sort allocates.
        let placed = &mut out[first..];
        for i in 1..placed.len() {
            let mut j = i;
            while j > 0 && placed[j - 1].offset > placed[j].offset {
                placed.swap(j - 1, j);
                j -= 1;
            }
        }
    }
}
