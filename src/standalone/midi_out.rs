//! MIDI clock out through ALSA's sequencer (`midir`), for the backends without their own MIDI
//! (ALSA, dummy).
//!
//! The audio thread stamps each of the engine's clock messages with the moment the audio it
//! goes with is heard: when the backend took the period in (with the thread's wake-up jitter
//! taken out, see [`PeriodTimeline`]), plus the backend's output latency (what its playback
//! buffer holds before the period), plus the message's offset in the period, so that a drum
//! machine's beat lines up with the loop the PA plays. It queues them ([`ClockQueue::period`]);
//! a sender thread ([`spawn_sender`]) sleeps until each one is due and sends it to every
//! connected sink ([`Sinks`]), which the connecting thread adds and removes as they come and go.
//!
//! Realtime: [`ClockQueue::period`] runs on the audio thread: `rtrb` pushes, no `midir` call
//! (which may block or allocate); a full queue drops the message and counts it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use midir::MidiOutputConnection;

use super::period_thread::PeriodThread;
use crate::engine::ClockMessage;

/// Clock messages queued at once: they wait at most the output latency and a period, 0.34 s
/// for periods of 8192 frames at 48 kHz with two in the playback buffer: 56 ticks at 400 BPM.
pub const CLOCK_QUEUE_CAPACITY: usize = 1024;
/// How often the sender looks for messages when none is queued: well under an output latency
/// (a message is queued at least one period before it is due), and 1000 cheap wake-ups a second.
const IDLE_POLL: Duration = Duration::from_millis(1);

/// Somewhere MIDI goes (the real one is a `midir` output connection; tests record).
pub trait MidiSink: Send + 'static {
    /// Sends one message.
    fn send(&mut self, bytes: &[u8]) -> Result<(), String>;
}

impl MidiSink for MidiOutputConnection {
    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        MidiOutputConnection::send(self, bytes).map_err(|error| error.to_string())
    }
}

/// A clock message and when it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedClock {
    /// When to send it: when the audio at its sample is heard.
    pub due: Instant,
    /// The status byte (clock, start or stop).
    pub status: u8,
}

/// The audio thread's end of the clock: stamps and queues the period's messages.
pub struct ClockQueue {
    /// To the sender thread.
    queue: rtrb::Producer<TimedClock>,
    /// Sample rate in hertz.
    sample_rate_hz: u64,
    /// From when the backend takes a period in to when its first frame plays, in frames.
    output_latency_frames: u64,
    /// Messages dropped because the queue was full (the sender thread says so).
    dropped: Arc<AtomicU64>,
    /// Where the periods are.
    timeline: PeriodTimeline,
}

/// How slowly the timeline moves later: by this fraction of a period's delay per period (it
/// only has to outrun a device clock slower than the system's, 0.3 µs a period at 100 ppm).
const CREEP_DIVISOR: u32 = 256;

/// Where the periods are in time, without the audio thread's wake-up delays. The backend takes
/// each period in some time after the device has it (the thread's wake-up, or the previous
/// period's processing, up to milliseconds on a busy machine); ticks stamped with that time
/// would carry its jitter to the drum machine. The timeline keeps to the earliest times the
/// periods come (each period one period after the one before), moving later only slowly.
#[derive(Debug, Default)]
struct PeriodTimeline {
    /// When the next period is expected, after a first one.
    next: Option<Instant>,
}

impl PeriodTimeline {
    /// Where the period taken in at `taken_in`, `period` long, is placed. Realtime.
    fn place(&mut self, taken_in: Instant, period: Duration) -> Instant {
        let placed = match self.next {
            // Later by more than a period: the device restarted (an xrun) or the thread stalled;
            // the timeline starts again from here.
            Some(expected) if taken_in >= expected && taken_in - expected <= period => {
                expected + (taken_in - expected) / CREEP_DIVISOR
            }
            // The first period, one later than that, or one earlier than expected (the timeline
            // was late, as a period is never taken in before the device has it).
            _ => taken_in,
        };
        self.next = placed.checked_add(period);
        placed
    }
}

/// `frames` at `sample_rate_hz`, to the nanosecond.
fn frames_duration(frames: u64, sample_rate_hz: u64) -> Duration {
    // Whole seconds apart, so that the nanoseconds can't overflow.
    Duration::from_secs(frames / sample_rate_hz)
        + Duration::from_nanos(frames % sample_rate_hz * 1_000_000_000 / sample_rate_hz)
}

/// The sender thread's end of the queue.
pub struct ClockReceiver {
    /// From the audio thread.
    queue: rtrb::Consumer<TimedClock>,
    /// Messages the audio thread dropped.
    dropped: Arc<AtomicU64>,
}

/// The two ends of a queue of `capacity` messages at `sample_rate_hz`, with no output latency
/// until the backend sets it. Not realtime.
pub fn clock_queue(sample_rate_hz: u32, capacity: usize) -> (ClockQueue, ClockReceiver) {
    let (producer, consumer) = rtrb::RingBuffer::new(capacity);
    let dropped = Arc::new(AtomicU64::new(0));
    let queue = ClockQueue {
        queue: producer,
        sample_rate_hz: u64::from(sample_rate_hz.max(1)),
        output_latency_frames: 0,
        dropped: dropped.clone(),
        timeline: PeriodTimeline::default(),
    };
    let receiver = ClockReceiver {
        queue: consumer,
        dropped,
    };
    (queue, receiver)
}

impl ClockQueue {
    /// Sets the backend's output latency: from when it takes a period in to when the period's
    /// first frame plays, in frames. Not realtime.
    pub fn set_output_latency_frames(&mut self, frames: usize) {
        self.output_latency_frames = frames as u64;
    }

    /// Queues the clock `messages` (from [`super::processor::Processor::clock_out`]) of a
    /// period of `frames` the backend took in at `taken_in`: each is due when its sample plays.
    /// A message the full queue can't take is dropped and counted. Realtime.
    pub fn period(&mut self, taken_in: Instant, frames: usize, messages: &[ClockMessage]) {
        let period = frames_duration(frames as u64, self.sample_rate_hz);
        let period_start = self.timeline.place(taken_in, period);
        for message in messages {
            let after = frames_duration(
                self.output_latency_frames + u64::from(message.offset_samples),
                self.sample_rate_hz,
            );
            let timed = TimedClock {
                due: period_start.checked_add(after).unwrap_or(period_start),
                status: message.status,
            };
            if self.queue.push(timed).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A change to the sinks the clock goes to, from the connecting thread.
pub enum SinkChange<S> {
    /// A sink connected, with its name.
    Add(String, S),
    /// The sink of that name went away.
    Remove(String),
}

/// A connected sink.
struct Connected<S> {
    /// Its name.
    name: String,
    /// The connection.
    sink: S,
    /// Set once a send failed (warned once, not at every tick).
    failing: bool,
}

/// The sinks the clock goes to.
pub struct Sinks<S: MidiSink> {
    /// The connected sinks.
    connected: Vec<Connected<S>>,
    /// Sinks that came or went since.
    changes: mpsc::Receiver<SinkChange<S>>,
}

impl<S: MidiSink> Sinks<S> {
    /// No sink yet; they come through the returned sender.
    pub fn new() -> (Self, mpsc::Sender<SinkChange<S>>) {
        let (sender, changes) = mpsc::channel();
        let sinks = Self {
            connected: Vec::new(),
            changes,
        };
        (sinks, sender)
    }

    /// Takes the sinks that came and went.
    fn update(&mut self) {
        while let Ok(change) = self.changes.try_recv() {
            match change {
                SinkChange::Add(name, sink) => self.connected.push(Connected {
                    name,
                    sink,
                    failing: false,
                }),
                SinkChange::Remove(name) => self.connected.retain(|c| c.name != name),
            }
        }
    }

    /// Sends `bytes` to every sink; one that fails doesn't keep it from the others.
    fn send(&mut self, bytes: &[u8]) {
        for connected in &mut self.connected {
            match connected.sink.send(bytes) {
                Ok(()) => connected.failing = false,
                Err(error) if !connected.failing => {
                    connected.failing = true;
                    nice_plug::nice_warn!(
                        "Loopmate: cannot send clock to {}: {error}",
                        connected.name
                    );
                }
                Err(_) => {}
            }
        }
    }

    /// The names of the connected sinks, in the order they came.
    #[cfg(test)]
    pub fn names(&mut self) -> Vec<String> {
        self.update();
        self.connected.iter().map(|c| c.name.clone()).collect()
    }
}

/// Starts the thread that sends what `receiver` brings to `sinks`, each message when it is due;
/// dropping the result stops it.
pub fn spawn_sender<S: MidiSink>(
    receiver: ClockReceiver,
    sinks: Sinks<S>,
) -> Result<PeriodThread, String> {
    PeriodThread::spawn("loopmate-clock-out", move |stop| {
        send_on_time(receiver, sinks, stop)
    })
}

/// The sender thread: each message in turn, sent when due (at once when late), until `stop`.
fn send_on_time<S: MidiSink>(mut receiver: ClockReceiver, mut sinks: Sinks<S>, stop: &AtomicBool) {
    let mut dropped_reported = 0;
    while !stop.load(Ordering::Relaxed) {
        sinks.update();
        let Ok(next) = receiver.queue.peek().copied() else {
            std::thread::park_timeout(IDLE_POLL);
            continue;
        };
        if !wait_until(next.due, stop) {
            break;
        }
        let _ = receiver.queue.pop();
        sinks.send(&[next.status]);
        let dropped = receiver.dropped.load(Ordering::Relaxed);
        if dropped > dropped_reported {
            nice_plug::nice_warn!(
                "Loopmate: {} clock messages dropped (the clock queue was full)",
                dropped - dropped_reported
            );
            dropped_reported = dropped;
        }
    }
}

/// Sleeps until `due`; `false` if stopped first.
fn wait_until(due: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= due {
            return true;
        }
        // No spinning before the due time: measured, it took the lateness from 85-106 µs to
        // 3-18 µs, a constant offset far under a MIDI byte's 320 µs on a cable, for 1.4% of a
        // core at 120 BPM (0.3 ms per tick); the spread, which a drum machine hears, was about
        // 20 µs either way. Woken early by a stop (or spuriously): looked at again.
        std::thread::park_timeout(due - now);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::engine::clock_out::{CLOCK, START};

    const RATE_HZ: u32 = 48_000;
    /// A long period, so that a whole-period mistake is far past the lateness allowed.
    const PERIOD_FRAMES: u32 = 1024;
    /// The ALSA backend's output latency at that period.
    const LATENCY_FRAMES: u32 = PERIOD_FRAMES;
    /// 120 BPM at 48 kHz: a tick every 1000 samples.
    const TICK_SAMPLES: u32 = 1000;
    /// How late a message may go out on a loaded 2-core machine (the sender is an ordinary
    /// thread): a few scheduler slices, and half a period of 21.3 ms.
    const LATE_ALLOWED: Duration = Duration::from_millis(10);

    /// A sink that records when each message went out.
    struct Recorder(Arc<Mutex<Vec<(Instant, u8)>>>);

    impl MidiSink for Recorder {
        fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
            self.0.lock().unwrap().push((Instant::now(), bytes[0]));
            Ok(())
        }
    }

    impl MidiSink for Box<dyn MidiSink> {
        fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
            (**self).send(bytes)
        }
    }

    /// The clock of period `k` of a run from its start: Start and a tick at 0, then ticks.
    fn period_messages(k: u32) -> Vec<ClockMessage> {
        let first = k * PERIOD_FRAMES;
        let mut messages = Vec::new();
        if k == 0 {
            messages.push(ClockMessage {
                offset_samples: 0,
                status: START,
            });
        }
        let mut tick = first.div_ceil(TICK_SAMPLES) * TICK_SAMPLES;
        while tick < first + PERIOD_FRAMES {
            messages.push(ClockMessage {
                offset_samples: tick - first,
                status: CLOCK,
            });
            tick += TICK_SAMPLES;
        }
        messages
    }

    fn seconds(frames: u32) -> Duration {
        Duration::from_secs_f64(f64::from(frames) / f64::from(RATE_HZ))
    }

    #[test]
    fn each_message_is_due_when_its_sample_plays() {
        let (mut queue, mut receiver) = clock_queue(RATE_HZ, CLOCK_QUEUE_CAPACITY);
        queue.set_output_latency_frames(256);
        let start = Instant::now();
        queue.period(
            start,
            PERIOD_FRAMES as usize,
            &[
                ClockMessage {
                    offset_samples: 0,
                    status: START,
                },
                ClockMessage {
                    offset_samples: 480,
                    status: CLOCK,
                },
            ],
        );
        let due_ns = |receiver: &mut ClockReceiver| {
            let timed = receiver.queue.pop().unwrap();
            (timed.due - start).as_nanos()
        };
        // 256 frames of playback buffer: 5.333 ms; the tick 480 samples (10 ms) later.
        assert_eq!(due_ns(&mut receiver), 5_333_333);
        assert_eq!(due_ns(&mut receiver), 15_333_333);
    }

    #[test]
    fn a_full_queue_drops_the_newest_and_counts_them_without_allocating() {
        let (mut queue, mut receiver) = clock_queue(RATE_HZ, 8);
        let start = Instant::now();
        let messages: Vec<ClockMessage> = (0..12)
            .map(|i| ClockMessage {
                offset_samples: i * TICK_SAMPLES,
                status: CLOCK,
            })
            .collect();
        // No sender: the queue fills, and the audio thread goes on.
        nice_assert_no_alloc::assert_no_alloc(|| {
            queue.period(start, PERIOD_FRAMES as usize, &messages)
        });
        assert_eq!(receiver.dropped.load(Ordering::Relaxed), 4);
        let kept: Vec<Duration> = std::iter::from_fn(|| receiver.queue.pop().ok())
            .map(|timed| timed.due - start)
            .collect();
        let first_eight: Vec<Duration> = (0..8).map(|i| seconds(i * TICK_SAMPLES)).collect();
        assert_eq!(kept.len(), 8);
        for (kept, expected) in kept.iter().zip(&first_eight) {
            assert!(
                kept.abs_diff(*expected) < Duration::from_micros(1),
                "{kept:?}"
            );
        }
    }

    /// Waits (up to 5 s, for a loaded machine) until `log` holds `count` messages.
    fn wait_for(log: &Mutex<Vec<(Instant, u8)>>, count: usize) {
        let give_up = Instant::now() + Duration::from_secs(5);
        while log.lock().unwrap().len() < count && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn the_sender_sends_each_message_in_order_when_due_and_never_early() {
        let (mut queue, receiver) = clock_queue(RATE_HZ, CLOCK_QUEUE_CAPACITY);
        queue.set_output_latency_frames(LATENCY_FRAMES as usize);
        let log = Arc::new(Mutex::new(Vec::new()));
        let (sinks, changes) = Sinks::new();
        changes
            .send(SinkChange::Add("TR-8".to_owned(), Recorder(log.clone())))
            .unwrap();
        let sender = spawn_sender(receiver, sinks).unwrap();
        // Two runs of 6 periods (127 ms each), the second after the queue was empty for a
        // while: the sender waits for new messages, then keeps their timing.
        let mut expected = Vec::new();
        for run in 0..2 {
            let start = Instant::now();
            for k in 0..6 {
                let period_start = start + seconds(k * PERIOD_FRAMES);
                let messages = period_messages(run * 6 + k);
                queue.period(period_start, PERIOD_FRAMES as usize, &messages);
                for message in messages {
                    let due = period_start + seconds(LATENCY_FRAMES + message.offset_samples);
                    expected.push((due, message.status));
                }
            }
            wait_for(&log, expected.len());
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(sender);
        let sent = log.lock().unwrap().clone();
        let statuses = |list: &[(Instant, u8)]| list.iter().map(|m| m.1).collect::<Vec<_>>();
        assert_eq!(
            statuses(&sent),
            statuses(&expected),
            "every message, in order"
        );
        // 12 periods of 1024 frames, a tick every 1000: 13 ticks and the Start.
        assert_eq!(sent.len(), 14);
        let mut late: Vec<Duration> = Vec::new();
        for (i, ((sent_at, _), (due, _))) in sent.iter().zip(&expected).enumerate() {
            // 1 µs for the rounding of the due time to nanoseconds.
            assert!(
                *sent_at + Duration::from_micros(1) >= *due,
                "message {i} went out {:?} early",
                *due - *sent_at
            );
            late.push(sent_at.saturating_duration_since(*due));
        }
        late.sort();
        let (median, worst) = (late[late.len() / 2], late[late.len() - 1]);
        eprintln!("clock out lateness: median {median:?}, worst {worst:?}");
        assert!(worst <= LATE_ALLOWED, "a message went out {worst:?} late");
    }

    #[test]
    fn a_failing_sink_does_not_keep_the_clock_from_the_others() {
        struct Unplugged;
        impl MidiSink for Unplugged {
            fn send(&mut self, _: &[u8]) -> Result<(), String> {
                Err("port gone".to_owned())
            }
        }
        let log = Arc::new(Mutex::new(Vec::new()));
        let (mut sinks, changes) = Sinks::<Box<dyn MidiSink>>::new();
        let send = |name: &str, sink: Box<dyn MidiSink>| {
            changes
                .send(SinkChange::Add(name.to_owned(), sink))
                .unwrap();
        };
        send("gone", Box::new(Unplugged));
        send("TR-8", Box::new(Recorder(log.clone())));
        sinks.update();
        sinks.send(&[START]);
        sinks.send(&[CLOCK]);
        assert_eq!(statuses_of(&log), vec![START, CLOCK]);
        changes.send(SinkChange::Remove("TR-8".to_owned())).unwrap();
        assert_eq!(sinks.names(), vec!["gone".to_owned()]);
        sinks.send(&[CLOCK]);
        assert_eq!(
            statuses_of(&log),
            vec![START, CLOCK],
            "a removed sink gets nothing"
        );
    }

    /// The periods of a device whose clock runs `ppm` slow against the system's, taken in by a
    /// thread that wakes 50 µs after each, and up to 2 ms late every tenth time; the device
    /// restarts 10 ms late after `restart_at`. Returns the worst distance of the placed period
    /// starts from the device's (plus the prompt 50 µs) after the first `settle` periods and after
    /// the restart, and the worst of the raw times.
    fn timeline_error(
        ppm: f64,
        periods: u32,
        restart_at: u32,
        settle: u32,
    ) -> (Duration, Duration) {
        let period_ns = 128.0 * 1e9 / f64::from(RATE_HZ);
        let t0 = Instant::now();
        let mut timeline = PeriodTimeline::default();
        let mut random = 12_345u64;
        let (mut worst_placed, mut worst_raw) = (Duration::ZERO, Duration::ZERO);
        for k in 0..periods {
            let restart_ns = if k >= restart_at { 10e6 } else { 0.0 };
            let device_ns = f64::from(k) * period_ns * (1.0 + ppm * 1e-6) + restart_ns;
            let device = t0 + Duration::from_nanos(device_ns as u64 + 50_000);
            random = random
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let jitter_ns = if random >> 60 == 0 {
                (random >> 33) % 2_000_000
            } else {
                (random >> 33) % 20_000
            };
            let taken_in = device + Duration::from_nanos(jitter_ns);
            let placed = timeline.place(taken_in, Duration::from_nanos(period_ns as u64));
            let settled = k >= settle && !(restart_at..restart_at + 1).contains(&k);
            if settled {
                worst_placed = worst_placed.max(
                    placed
                        .duration_since(device)
                        .max(device.saturating_duration_since(placed)),
                );
                worst_raw = worst_raw.max(taken_in - device);
            }
        }
        (worst_placed, worst_raw)
    }

    #[test]
    fn the_period_timeline_takes_the_threads_wake_up_jitter_out_of_the_clock() {
        // 20 000 periods of 128 frames: 53 s, the device restarting after 27 s.
        for ppm in [-100.0, 0.0, 100.0] {
            let (placed, raw) = timeline_error(ppm, 20_000, 10_000, 10);
            eprintln!("{ppm} ppm: ticks off by up to {placed:?} (the wake-ups by {raw:?})");
            assert!(
                raw > Duration::from_micros(1_900),
                "the test's jitter: {raw:?}"
            );
            assert!(placed < Duration::from_micros(100), "{ppm} ppm: {placed:?}");
        }
    }

    fn statuses_of(log: &Mutex<Vec<(Instant, u8)>>) -> Vec<u8> {
        log.lock().unwrap().iter().map(|m| m.1).collect()
    }
}
