//! MIDI through ALSA's sequencer for the backends without their own MIDI (ALSA, dummy): the
//! sources Loopmate listens to and the sinks its clock goes to, connected when they appear, as
//! JACK's backend does.
//!
//! [`start`] connects what is there, then a thread ([`Scan`]) looks again every
//! [`SCAN_INTERVAL`]: a new source the configuration names gets a queue handed to the audio
//! thread ([`super::midi_in`]), a new sink goes to the clock sender ([`super::midi_out`]); a port
//! that goes away is closed, and the others run on. The ports are behind [`MidiPorts`] (the real
//! one is `midir`'s ALSA sequencer), so tests run the scan on a simulated bus.
//!
//! Nothing here is realtime except [`PeriodMidi`]'s methods, which the audio thread calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use midir::{Ignore, MidiInput, MidiInputConnection, MidiOutput, MidiOutputConnection};

use super::config::Config;
use super::jack_io::CLIENT_NAME;
use super::midi_in::{self, Arrived, MAX_SOURCES, MidiInputs, QueueHandover};
use super::midi_out::{self, CLOCK_QUEUE_CAPACITY, ClockQueue, SinkChange, Sinks};
use super::period_thread::PeriodThread;
use super::processor::MidiIn;
use crate::engine::ClockMessage;

/// How often new ports are looked for.
pub const SCAN_INTERVAL: Duration = Duration::from_millis(500);

/// The MIDI ports there are, and connections to them.
pub trait MidiPorts: Send + 'static {
    /// An open connection from a source (closed when dropped).
    type Source: Send + 'static;
    /// An open connection to a sink.
    type Sink: midi_out::MidiSink;
    /// The names of the sources there are now.
    fn sources(&mut self) -> Vec<String>;
    /// The names of the sinks there are now.
    fn sinks(&mut self) -> Vec<String>;
    /// Listens to the source `name`, its messages (stamped as they arrive) into `queue`.
    fn listen(
        &mut self,
        name: &str,
        queue: rtrb::Producer<Arrived>,
    ) -> Result<Self::Source, String>;
    /// Opens the sink `name`.
    fn open_sink(&mut self, name: &str) -> Result<Self::Sink, String>;
}

/// Whether the port `name` is one of those `parts` name (by part of the name; all if none), and
/// not one of Loopmate's own.
pub fn wanted(name: &str, parts: &[String]) -> bool {
    !name.contains(CLIENT_NAME)
        && (parts.is_empty() || parts.iter().any(|p| name.contains(p.as_str())))
}

/// The sources the configuration listens to, by part of their name (all when empty): the MIDI
/// inputs, and the clock's source when inputs are named.
pub fn source_parts(config: &Config) -> Vec<String> {
    let mut parts = config.midi_inputs.clone();
    if !parts.is_empty() {
        parts.extend(config.clock_input.clone());
    }
    parts
}

/// Connects the ports the configuration wants as they appear, and closes those that go.
pub struct Scan<P: MidiPorts> {
    /// The ports.
    ports: P,
    /// The sources listened to, by part of their name (all when empty).
    source_parts: Vec<String>,
    /// The sinks the clock goes to, by part of their name (all when empty); `None`: no clock.
    sink_parts: Option<Vec<String>>,
    /// Queues to and from the audio thread.
    handover: QueueHandover,
    /// Sinks to the clock sender.
    sink_changes: mpsc::Sender<SinkChange<P::Sink>>,
    /// The sources listened to.
    listening: Vec<(String, P::Source)>,
    /// The sinks the clock goes to.
    sending: Vec<String>,
    /// Sources that could not be connected (said once; tried again when they come back).
    refused_sources: Vec<String>,
    /// Sinks that could not be connected (the same).
    refused_sinks: Vec<String>,
    /// Set once a source was left out for want of a queue (said once until one is free).
    said_full: bool,
}

impl<P: MidiPorts> Scan<P> {
    /// A scan of `ports` for the configuration's parts, handing queues through `handover` and
    /// sinks through `sink_changes`.
    pub fn new(
        ports: P,
        source_parts: Vec<String>,
        sink_parts: Option<Vec<String>>,
        handover: QueueHandover,
        sink_changes: mpsc::Sender<SinkChange<P::Sink>>,
    ) -> Self {
        Self {
            ports,
            source_parts,
            sink_parts,
            handover,
            sink_changes,
            listening: Vec::new(),
            sending: Vec::new(),
            refused_sources: Vec::new(),
            refused_sinks: Vec::new(),
            said_full: false,
        }
    }

    /// Looks at the ports once: frees retired queues, closes what went, connects what came.
    pub fn rescan(&mut self) {
        self.handover.free_retired();
        let sources = self.ports.sources();
        let sinks = match self.sink_parts {
            Some(_) => self.ports.sinks(),
            None => Vec::new(),
        };
        self.refused_sources.retain(|name| sources.contains(name));
        self.refused_sinks.retain(|name| sinks.contains(name));
        // Dropping a connection closes it; the audio thread then retires its queue.
        self.listening.retain(|(name, _)| sources.contains(name));
        for name in &sources {
            let known = self.listening.iter().any(|(n, _)| n == name)
                || self.refused_sources.contains(name);
            if known || !wanted(name, &self.source_parts) {
                continue;
            }
            // At most MAX_SOURCES, and a queue only once the audio thread has taken the last
            // ones: tried again at the next scan (said once).
            let queue = (self.listening.len() < MAX_SOURCES)
                .then(|| self.handover.open_queue())
                .flatten();
            let Some(queue) = queue else {
                if !self.said_full {
                    nice_plug::nice_warn!(
                        "Loopmate: cannot listen to {name}: already listening to {} sources",
                        self.listening.len()
                    );
                    self.said_full = true;
                }
                continue;
            };
            self.said_full = false;
            match self.ports.listen(name, queue) {
                Ok(source) => {
                    nice_plug::nice_log!("Loopmate listens to MIDI from {name}");
                    self.listening.push((name.clone(), source));
                }
                Err(error) => {
                    nice_plug::nice_warn!("Loopmate: cannot listen to {name}: {error}");
                    self.refused_sources.push(name.clone());
                }
            }
        }
        let Some(sink_parts) = &self.sink_parts else {
            return;
        };
        for name in self.sending.extract_if(.., |name| !sinks.contains(name)) {
            let _ = self.sink_changes.send(SinkChange::Remove(name));
        }
        for name in &sinks {
            let known = self.sending.contains(name) || self.refused_sinks.contains(name);
            if known || !wanted(name, sink_parts) {
                continue;
            }
            match self.ports.open_sink(name) {
                Ok(sink) => {
                    nice_plug::nice_log!("Loopmate sends MIDI clock to {name}");
                    let _ = self.sink_changes.send(SinkChange::Add(name.clone(), sink));
                    self.sending.push(name.clone());
                }
                Err(error) => {
                    nice_plug::nice_warn!("Loopmate: cannot send clock to {name}: {error}");
                    self.refused_sinks.push(name.clone());
                }
            }
        }
    }

    /// The sources listened to.
    #[cfg(test)]
    pub fn listening(&self) -> Vec<String> {
        self.listening
            .iter()
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Rescans every [`SCAN_INTERVAL`] until `stop`.
    fn run(mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            std::thread::park_timeout(SCAN_INTERVAL);
            if !stop.load(Ordering::Relaxed) {
                self.rescan();
            }
        }
    }
}

/// MIDI on the audio thread: the sources' messages in, the clock out.
pub struct PeriodMidi {
    /// The sources' queues.
    inputs: MidiInputs,
    /// The clock's queue, when Loopmate sends clock.
    clock: Option<ClockQueue>,
}

impl PeriodMidi {
    /// Sets the backend's output latency (see [`ClockQueue::set_output_latency_frames`]). Not
    /// realtime.
    pub fn set_output_latency_frames(&mut self, frames: usize) {
        if let Some(clock) = &mut self.clock {
            clock.set_output_latency_frames(frames);
        }
    }

    /// The messages for a period of `frames` frames starting now (see [`MidiInputs::period`]).
    /// Realtime.
    pub fn input(&mut self, frames: usize, out: &mut Vec<MidiIn>) {
        self.inputs.period(frames, out);
    }

    /// Queues the clock messages of a period of `frames` taken in at `taken_in` (see
    /// [`ClockQueue::period`]). Realtime.
    pub fn clock_out(&mut self, taken_in: Instant, frames: usize, messages: &[ClockMessage]) {
        if let Some(clock) = &mut self.clock {
            clock.period(taken_in, frames, messages);
        }
    }
}

/// The threads behind [`PeriodMidi`]: the scan and the clock sender. Dropping them stops them
/// (after the audio thread, which holds the other ends).
pub struct MidiThreads {
    /// The scan thread.
    _scan: PeriodThread,
    /// The clock sender, when Loopmate sends clock.
    _sender: Option<PeriodThread>,
}

/// Connects the MIDI ports `config` wants on `ports` (sinks only with `clock_out`), at
/// `sample_rate_hz`, and starts the scan and the clock sender. Not realtime.
pub fn start_on<P: MidiPorts>(
    ports: P,
    config: &Config,
    sample_rate_hz: u32,
) -> Result<(PeriodMidi, MidiThreads), String> {
    let (inputs, handover) = midi_in::midi_inputs(sample_rate_hz);
    let (sinks, sink_changes) = Sinks::new();
    let sink_parts = config
        .clock_out
        .then(|| config.clock_output.iter().cloned().collect());
    let mut scan = Scan::new(
        ports,
        source_parts(config),
        sink_parts,
        handover,
        sink_changes,
    );
    scan.rescan();
    let (clock, sender) = if config.clock_out {
        let (queue, receiver) = midi_out::clock_queue(sample_rate_hz, CLOCK_QUEUE_CAPACITY);
        (Some(queue), Some(midi_out::spawn_sender(receiver, sinks)?))
    } else {
        (None, None)
    };
    let threads = MidiThreads {
        _scan: PeriodThread::spawn("loopmate-midi-scan", move |stop| scan.run(stop))?,
        _sender: sender,
    };
    Ok((PeriodMidi { inputs, clock }, threads))
}

/// [`start_on`] ALSA's sequencer.
pub fn start(config: &Config, sample_rate_hz: u32) -> Result<(PeriodMidi, MidiThreads), String> {
    start_on(AlsaSeqPorts::new()?, config, sample_rate_hz)
}

/// The ALSA sequencer's ports, through `midir`.
pub struct AlsaSeqPorts {
    /// Lists the sources.
    inputs: MidiInput,
    /// Lists the sinks.
    outputs: MidiOutput,
}

/// What `midir` says when the sequencer is missing.
fn no_sequencer(error: midir::InitError) -> String {
    format!("no ALSA MIDI: {error}")
}

impl AlsaSeqPorts {
    /// Opens the sequencer (fails where there is none, e.g. no `/dev/snd/seq`).
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            inputs: MidiInput::new(CLIENT_NAME).map_err(no_sequencer)?,
            outputs: MidiOutput::new(CLIENT_NAME).map_err(no_sequencer)?,
        })
    }
}

/// The names of `io`'s ports (inputs or outputs).
fn port_names(io: &impl midir::MidiIO) -> Vec<String> {
    (io.ports().iter())
        .filter_map(|port| io.port_name(port).ok())
        .collect()
}

impl MidiPorts for AlsaSeqPorts {
    type Source = MidiInputConnection<rtrb::Producer<Arrived>>;
    type Sink = MidiOutputConnection;

    fn sources(&mut self) -> Vec<String> {
        port_names(&self.inputs)
    }

    fn sinks(&mut self) -> Vec<String> {
        port_names(&self.outputs)
    }

    fn listen(
        &mut self,
        name: &str,
        queue: rtrb::Producer<Arrived>,
    ) -> Result<Self::Source, String> {
        let port = (self.inputs.ports().into_iter())
            .find(|port| self.inputs.port_name(port).is_ok_and(|n| n == name))
            .ok_or("gone")?;
        let mut input = MidiInput::new(CLIENT_NAME).map_err(no_sequencer)?;
        // Clock, start and stop are wanted too.
        input.ignore(Ignore::None);
        let callback = |_: u64, bytes: &[u8], queue: &mut rtrb::Producer<Arrived>| {
            if let Some(arrived) = Arrived::now(bytes) {
                let _ = queue.push(arrived);
            }
        };
        (input.connect(&port, "loopmate-in", callback, queue)).map_err(|error| error.to_string())
    }

    fn open_sink(&mut self, name: &str) -> Result<Self::Sink, String> {
        let port = (self.outputs.ports().into_iter())
            .find(|port| self.outputs.port_name(port).is_ok_and(|n| n == name))
            .ok_or("gone")?;
        let output = MidiOutput::new(CLIENT_NAME).map_err(no_sequencer)?;
        (output.connect(&port, "loopmate-clock")).map_err(|error| error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::engine::clock_out::{CLOCK, START};
    use crate::standalone::midi_out::MidiSink;

    const RATE_HZ: u32 = 48_000;
    const PERIOD_FRAMES: usize = 128;
    const NOTE_ON: [u8; 3] = [0x90, 60, 100];

    /// A simulated ALSA sequencer: ports plugged in and out by the test.
    #[derive(Default)]
    struct Bus {
        /// Sources there are.
        sources: Vec<String>,
        /// Sinks there are.
        sinks: Vec<String>,
        /// Ports that refuse a connection.
        refusing: Vec<String>,
        /// The queues of the sources listened to.
        listened: Vec<(String, rtrb::Producer<Arrived>)>,
        /// Connection attempts to sources.
        listen_calls: usize,
        /// What went to each sink.
        sent: Vec<(String, u8)>,
    }

    #[derive(Clone, Default)]
    struct FakePorts(Arc<Mutex<Bus>>);

    /// A connection from a source; closing it drops the source's end of its queue.
    struct FakeSource {
        name: String,
        bus: Arc<Mutex<Bus>>,
    }

    impl Drop for FakeSource {
        fn drop(&mut self) {
            self.bus
                .lock()
                .unwrap()
                .listened
                .retain(|(n, _)| *n != self.name);
        }
    }

    struct FakeSink {
        name: String,
        bus: Arc<Mutex<Bus>>,
    }

    impl MidiSink for FakeSink {
        fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
            let mut bus = self.bus.lock().unwrap();
            if !bus.sinks.contains(&self.name) {
                return Err("gone".to_owned());
            }
            bus.sent.push((self.name.clone(), bytes[0]));
            Ok(())
        }
    }

    impl MidiPorts for FakePorts {
        type Source = FakeSource;
        type Sink = FakeSink;
        fn sources(&mut self) -> Vec<String> {
            self.0.lock().unwrap().sources.clone()
        }
        fn sinks(&mut self) -> Vec<String> {
            self.0.lock().unwrap().sinks.clone()
        }
        fn listen(
            &mut self,
            name: &str,
            queue: rtrb::Producer<Arrived>,
        ) -> Result<FakeSource, String> {
            let mut bus = self.0.lock().unwrap();
            bus.listen_calls += 1;
            if bus.refusing.iter().any(|n| n == name) {
                return Err("busy".to_owned());
            }
            bus.listened.push((name.to_owned(), queue));
            Ok(FakeSource {
                name: name.to_owned(),
                bus: self.0.clone(),
            })
        }
        fn open_sink(&mut self, name: &str) -> Result<FakeSink, String> {
            Ok(FakeSink {
                name: name.to_owned(),
                bus: self.0.clone(),
            })
        }
    }

    impl FakePorts {
        fn plug(&self, name: &str) {
            self.0.lock().unwrap().sources.push(name.to_owned());
        }
        fn unplug(&self, name: &str) {
            self.0.lock().unwrap().sources.retain(|n| n != name);
        }
        /// `name` plays a message; `false` when Loopmate does not listen to it.
        fn play(&self, name: &str, bytes: &[u8]) -> bool {
            let mut bus = self.0.lock().unwrap();
            let queue = bus.listened.iter_mut().find(|(n, _)| n == name);
            queue.is_some_and(|(_, queue)| queue.push(Arrived::now(bytes).unwrap()).is_ok())
        }
    }

    /// A scan of `ports` listening to sources named by `parts`, and the audio thread's side.
    fn scan_of(ports: &FakePorts, parts: &[&str]) -> (Scan<FakePorts>, MidiInputs) {
        let (inputs, handover) = midi_in::midi_inputs(RATE_HZ);
        let (_sinks, sink_changes) = Sinks::new();
        let parts = parts.iter().map(|p| p.to_string()).collect();
        let scan = Scan::new(ports.clone(), parts, None, handover, sink_changes);
        (scan, inputs)
    }

    /// One period on the audio thread (checked not to allocate or free): its messages' bytes.
    fn period(inputs: &mut MidiInputs) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(64);
        nice_assert_no_alloc::assert_no_alloc(|| inputs.period(PERIOD_FRAMES, &mut out));
        out.iter().map(|m| m.bytes().to_vec()).collect()
    }

    #[test]
    fn a_controller_plugged_in_later_is_heard_and_one_pulled_out_leaves_the_others() {
        let ports = FakePorts::default();
        ports.plug("nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0");
        let (mut scan, mut inputs) = scan_of(&ports, &[]);
        scan.rescan();
        assert!(ports.play("nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0", &NOTE_ON));
        assert_eq!(period(&mut inputs), vec![NOTE_ON.to_vec()]);

        // A pad controller plugged in while Loopmate runs: heard after the next scan.
        ports.plug("MPD218:MPD218 MIDI 1 24:0");
        assert!(!ports.play("MPD218:MPD218 MIDI 1 24:0", &NOTE_ON));
        scan.rescan();
        assert!(ports.play("MPD218:MPD218 MIDI 1 24:0", &[0x99, 36, 127]));
        assert!(ports.play("nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0", &[0xB0, 85, 127]));
        let heard = period(&mut inputs);
        assert_eq!(heard.len(), 2, "{heard:?}");
        assert!(heard.contains(&vec![0x99, 36, 127]) && heard.contains(&vec![0xB0, 85, 127]));
        assert_eq!(inputs.sources(), 2);

        // The knobs pulled out: their queue is retired on the audio thread (without freeing
        // it there), the pads play on.
        ports.unplug("nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0");
        scan.rescan();
        assert_eq!(scan.listening(), vec!["MPD218:MPD218 MIDI 1 24:0"]);
        assert!(ports.play("MPD218:MPD218 MIDI 1 24:0", &[0x99, 38, 90]));
        assert_eq!(period(&mut inputs), vec![vec![0x99, 38, 90]]);
        assert_eq!(inputs.sources(), 1);

        // Plugged back in: heard again.
        ports.plug("nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0");
        scan.rescan();
        assert!(ports.play("nanoKONTROL2:nanoKONTROL2 MIDI 1 20:0", &NOTE_ON));
        assert_eq!(period(&mut inputs), vec![NOTE_ON.to_vec()]);
        assert_eq!(inputs.sources(), 2);
    }

    #[test]
    fn a_message_sent_just_before_the_source_went_is_still_heard() {
        let ports = FakePorts::default();
        ports.plug("FCB1010 28:0");
        let (mut scan, mut inputs) = scan_of(&ports, &[]);
        scan.rescan();
        period(&mut inputs);
        assert!(ports.play("FCB1010 28:0", &NOTE_ON));
        ports.unplug("FCB1010 28:0");
        scan.rescan();
        assert_eq!(period(&mut inputs), vec![NOTE_ON.to_vec()]);
        assert_eq!(inputs.sources(), 0);
    }

    #[test]
    fn only_the_named_sources_are_heard_and_never_loopmates_own() {
        let ports = FakePorts::default();
        for name in [
            "Midi Through:Midi Through Port-0 14:0",
            "FCB1010 28:0",
            "TR-8:TR-8 MIDI 1 32:0",
            "loopmate:loopmate-clock 129:0",
        ] {
            ports.plug(name);
        }
        let (mut scan, _inputs) = scan_of(&ports, &["FCB", "TR-8"]);
        scan.rescan();
        assert_eq!(
            scan.listening(),
            vec!["FCB1010 28:0", "TR-8:TR-8 MIDI 1 32:0"]
        );
        let (mut scan, _inputs) = scan_of(&ports, &[]);
        scan.rescan();
        assert_eq!(scan.listening().len(), 3, "all but Loopmate's own");
    }

    #[test]
    fn a_source_that_refuses_is_said_once_and_the_others_still_connect() {
        let ports = FakePorts::default();
        ports.plug("busy 20:0");
        ports.plug("FCB1010 28:0");
        ports
            .0
            .lock()
            .unwrap()
            .refusing
            .push("busy 20:0".to_owned());
        let (mut scan, mut inputs) = scan_of(&ports, &[]);
        for _ in 0..4 {
            scan.rescan();
        }
        assert_eq!(scan.listening(), vec!["FCB1010 28:0"]);
        assert_eq!(
            ports.0.lock().unwrap().listen_calls,
            2,
            "not tried at every scan"
        );
        assert!(ports.play("FCB1010 28:0", &NOTE_ON));
        assert_eq!(period(&mut inputs), vec![NOTE_ON.to_vec()]);
        // Plugged in again, and free this time: connected.
        ports.unplug("busy 20:0");
        ports.0.lock().unwrap().refusing.clear();
        scan.rescan();
        ports.plug("busy 20:0");
        scan.rescan();
        assert_eq!(scan.listening(), vec!["FCB1010 28:0", "busy 20:0"]);
    }

    #[test]
    fn past_the_slots_sources_wait_until_one_is_free() {
        let ports = FakePorts::default();
        let name = |i: usize| format!("pedal {i} {}:0", 20 + i);
        for i in 0..MAX_SOURCES + 2 {
            ports.plug(&name(i));
        }
        let (mut scan, mut inputs) = scan_of(&ports, &[]);
        scan.rescan();
        period(&mut inputs);
        assert_eq!(scan.listening().len(), MAX_SOURCES);
        assert_eq!(inputs.sources(), MAX_SOURCES);
        // One pulled out: the audio thread retires its queue, and a waiting one takes its slot.
        ports.unplug(&name(0));
        scan.rescan();
        period(&mut inputs);
        scan.rescan();
        period(&mut inputs);
        assert_eq!(inputs.sources(), MAX_SOURCES);
        let waiting = name(MAX_SOURCES);
        assert!(scan.listening().contains(&waiting));
        assert!(ports.play(&waiting, &NOTE_ON));
        assert_eq!(period(&mut inputs), vec![NOTE_ON.to_vec()]);
    }

    #[test]
    fn the_clock_goes_to_a_named_sink_switched_on_after_loopmate() {
        let ports = FakePorts::default();
        ports.0.lock().unwrap().sinks = vec![
            "Midi Through:Midi Through Port-0 14:0".to_owned(),
            "loopmate:loopmate-in 128:0".to_owned(),
        ];
        let config = Config::from_toml(
            "[audio]\nbackend = \"dummy\"\n[clock]\nsend = true\noutput = \"TR-8\"\n",
            Default::default(),
        )
        .unwrap();
        let (mut midi, threads) = start_on(ports.clone(), &config, RATE_HZ).unwrap();
        midi.set_output_latency_frames(PERIOD_FRAMES);
        // The drum machine switched on after Loopmate: the scan thread connects it.
        ports
            .0
            .lock()
            .unwrap()
            .sinks
            .push("TR-8:TR-8 MIDI 1 32:0".to_owned());
        let give_up = Instant::now() + Duration::from_secs(5);
        let mut sent = Vec::new();
        let statuses = |sent: &[(String, u8)]| sent.iter().map(|m| m.1).collect::<Vec<u8>>();
        // Until a whole Start and tick went out (the sink may come between the two).
        while !statuses(&sent).windows(2).any(|w| w == [START, CLOCK]) && Instant::now() < give_up {
            let clock = [
                ClockMessage {
                    offset_samples: 0,
                    status: START,
                },
                ClockMessage {
                    offset_samples: 0,
                    status: CLOCK,
                },
            ];
            nice_assert_no_alloc::assert_no_alloc(|| {
                midi.clock_out(Instant::now(), PERIOD_FRAMES, &clock)
            });
            std::thread::sleep(Duration::from_millis(100));
            sent = ports.0.lock().unwrap().sent.clone();
        }
        drop(threads);
        assert!(
            statuses(&sent).windows(2).any(|w| w == [START, CLOCK]),
            "{sent:?}"
        );
        // Not to Midi Through (not named), nor to Loopmate's own input.
        assert!(
            sent.iter().all(|(name, _)| name.starts_with("TR-8")),
            "{sent:?}"
        );
    }

    #[test]
    fn a_sink_switched_off_is_closed_and_connected_again_when_it_comes_back() {
        let ports = FakePorts::default();
        let tr8 = "TR-8:TR-8 MIDI 1 32:0".to_owned();
        let through = "Midi Through:Midi Through Port-0 14:0".to_owned();
        ports.0.lock().unwrap().sinks = vec![through.clone(), tr8.clone()];
        let (_inputs, handover) = midi_in::midi_inputs(RATE_HZ);
        let (mut sinks, sink_changes) = Sinks::new();
        // No `clock_output`: every sink but Loopmate's own.
        let mut scan = Scan::new(ports.clone(), vec![], Some(vec![]), handover, sink_changes);
        scan.rescan();
        assert_eq!(sinks.names(), vec![through.clone(), tr8.clone()]);
        ports.0.lock().unwrap().sinks.retain(|n| *n != tr8);
        scan.rescan();
        assert_eq!(sinks.names(), vec![through.clone()]);
        ports.0.lock().unwrap().sinks.push(tr8.clone());
        scan.rescan();
        assert_eq!(sinks.names(), vec![through, tr8]);
    }

    #[test]
    fn without_clock_out_no_sink_is_connected() {
        let ports = FakePorts::default();
        ports.0.lock().unwrap().sinks = vec!["TR-8:TR-8 MIDI 1 32:0".to_owned()];
        ports.plug("TR-8:TR-8 MIDI 1 32:0");
        let config = Config::from_toml("[audio]\nbackend = \"dummy\"\n", Default::default());
        let (mut midi, threads) = start_on(ports.clone(), &config.unwrap(), RATE_HZ).unwrap();
        let tick = [ClockMessage {
            offset_samples: 0,
            status: CLOCK,
        }];
        midi.clock_out(Instant::now(), PERIOD_FRAMES, &tick);
        let mut out = Vec::with_capacity(8);
        assert!(ports.play("TR-8:TR-8 MIDI 1 32:0", &[CLOCK]));
        midi.input(PERIOD_FRAMES, &mut out);
        assert_eq!(out.len(), 1, "its clock is still heard");
        // Stopped, the scan closes the sources.
        drop(threads);
        assert!(!ports.play("TR-8:TR-8 MIDI 1 32:0", &[CLOCK]));
        assert!(ports.0.lock().unwrap().sent.is_empty());
    }
}
