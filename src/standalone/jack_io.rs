//! The JACK backend: Loopmate as a JACK client with its own ports, connected to the system's
//! capture and playback ports and to every MIDI source (unless `connect = false`).
//!
//! Ports: `in_1`, `in_2` (or `in` for one recorded channel), `pa_1`, `pa_2`, `phones_1`,
//! `phones_2` (unless the headphones are routed nowhere), `midi_in`, and `clock_out` when
//! Loopmate sends MIDI clock. JACK delivers MIDI with its frame in the period, so notes, CCs and
//! clock ticks act at their exact sample.
//!
//! Realtime: [`JackProcess::process`] runs on JACK's process thread; it never allocates, locks
//! or waits (the MIDI list is allocated up front).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use jack::{
    AudioIn, AudioOut, Client, ClientOptions, Control, LatencyType, MidiIn as JackMidiIn, MidiOut,
    Port, PortFlags, ProcessScope,
};

use super::config::{Channels, Config};
use super::latency::{BufferedFrames, OutputPath};
use super::midi_ports;
use super::processor::{MidiIn, Processor};
use crate::engine::host_clock::HostTransport;

/// The client's name, and so its ports' prefix.
pub const CLIENT_NAME: &str = "loopmate";
/// The longest period the buffers are sized for: JACK's largest.
const MAX_PERIOD_FRAMES: usize = 8192;
/// MIDI messages one period can carry.
const MIDI_CAPACITY: usize = 1024;
/// How often new MIDI sources are looked for and connected.
const MIDI_SCAN_INTERVAL: Duration = Duration::from_millis(500);
/// JACK's port type names.
const AUDIO_TYPE: &str = "32 bit float mono audio";
const MIDI_TYPE: &str = "8 bit raw midi";

/// A JACK client before it runs.
pub struct JackBackend {
    /// The client.
    client: Client,
}

impl JackBackend {
    /// Opens a client on the running JACK server (never starts one).
    pub fn open() -> Result<Self, String> {
        let (client, _) =
            Client::new(CLIENT_NAME, ClientOptions::NO_START_SERVER).map_err(|error| {
                format!(
                    "cannot reach a JACK server ({error}): start one (e.g. `jackd -d alsa`, or \
                 PipeWire's JACK), or use --backend alsa"
                )
            })?;
        Ok(Self { client })
    }

    /// The server's sample rate in hertz.
    pub fn sample_rate_hz(&self) -> u32 {
        self.client.sample_rate()
    }

    /// The longest period the processor must take, in frames.
    pub fn max_frames(&self) -> usize {
        (self.client.buffer_size() as usize).max(MAX_PERIOD_FRAMES)
    }

    /// The playback latency of the interface channel the PA's first channel goes to, in frames:
    /// from a period's start to its first sample at that output (0 when the interface lacks it
    /// or JACK does not say).
    pub fn playback_latency_frames(&self, config: &Config) -> u32 {
        let playback = self.client.ports(
            None,
            Some(AUDIO_TYPE),
            PortFlags::IS_PHYSICAL | PortFlags::IS_INPUT,
        );
        (config.pa.channels().first())
            .and_then(|channel| playback.get(channel.index()))
            .and_then(|name| self.client.port_by_name(name))
            .map_or(0, |port| port.get_latency_range(LatencyType::Playback).1)
    }

    /// Registers the ports, starts processing with `processor` and makes the connections the
    /// configuration asks for. Processing stops when the result is dropped.
    pub fn start(self, processor: Processor, config: &Config) -> Result<JackRunning, String> {
        let client = self.client;
        let register_audio_in = |name: &str| client.register_port(name, AudioIn::default());
        let register_audio_out = |name: &str| client.register_port(name, AudioOut::default());
        let failed = |error: jack::Error| format!("cannot register a JACK port: {error}");
        let inputs = match config.inputs.channels().len() {
            1 => vec![register_audio_in("in").map_err(failed)?],
            _ => vec![
                register_audio_in("in_1").map_err(failed)?,
                register_audio_in("in_2").map_err(failed)?,
            ],
        };
        let pa = [
            register_audio_out("pa_1").map_err(failed)?,
            register_audio_out("pa_2").map_err(failed)?,
        ];
        let phones = if config.headphones.channels().is_empty() {
            None
        } else {
            Some([
                register_audio_out("phones_1").map_err(failed)?,
                register_audio_out("phones_2").map_err(failed)?,
            ])
        };
        let midi_in = (client.register_port("midi_in", JackMidiIn::default())).map_err(failed)?;
        let clock_out = if config.clock_out {
            Some(
                client
                    .register_port("clock_out", MidiOut::default())
                    .map_err(failed)?,
            )
        } else {
            None
        };
        let names = Names {
            inputs: inputs.iter().map(port_name).collect(),
            pa: pa.iter().map(port_name).collect(),
            phones: phones.iter().flatten().map(port_name).collect(),
            midi_in: port_name(&midi_in),
            clock_out: clock_out.as_ref().map(port_name),
        };
        let ours = names.clone();
        let process = JackProcess {
            processor,
            inputs,
            pa,
            phones,
            midi_in,
            clock_out,
            midi: Vec::with_capacity(MIDI_CAPACITY),
        };
        let active = client
            .activate_async((), process)
            .map_err(|error| format!("cannot start the JACK client: {error}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut scanner = None;
        if config.connect {
            connect_audio(active.as_client(), config, &names);
            let scan = MidiScan {
                config: config.clone(),
                names,
                stop: stop.clone(),
            };
            // The scanner connects MIDI ports that appear later (a controller plugged in) on its
            // own client, so it never touches the audio client's callbacks.
            scanner = Some(std::thread::spawn(move || scan.run()));
        }
        Ok(JackRunning {
            _active: active,
            ports: ours,
            stop,
            scanner,
        })
    }
}

/// A running JACK client; dropping it stops processing.
pub struct JackRunning {
    /// The active client.
    _active: jack::AsyncClient<(), JackProcess>,
    /// Loopmate's ports.
    ports: Names,
    /// Stops the MIDI scanner.
    stop: Arc<AtomicBool>,
    /// The MIDI scanner thread.
    scanner: Option<JoinHandle<()>>,
}

impl JackRunning {
    /// What JACK buffers on each path's round trip: the capture latency of the first input plus
    /// the playback latency of the path's first output, as JACK reports them for the ports
    /// connected (its periods, and the latencies its driver was told). Read when asked, on a
    /// client of its own, so connections made later count.
    pub fn buffered_frames(&self) -> Result<BufferedFrames, String> {
        let (client, _) = Client::new("loopmate-latency", ClientOptions::NO_START_SERVER)
            .map_err(|error| format!("cannot read JACK's latencies: {error}"))?;
        let ports = self.ports.clone();
        Ok(Box::new(move |path| {
            let latency = |name: Option<&String>, mode| {
                let port = name.and_then(|name| client.port_by_name(name));
                port.map_or(0, |port| port.get_latency_range(mode).1 as usize)
            };
            let output = match path {
                OutputPath::Pa => ports.pa.first(),
                OutputPath::Headphones => ports.phones.first(),
            };
            latency(ports.inputs.first(), LatencyType::Capture)
                + latency(output, LatencyType::Playback)
        }))
    }
}

impl Drop for JackRunning {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(scanner) = self.scanner.take() {
            let _ = scanner.join();
        }
    }
}

/// The full names of Loopmate's ports.
#[derive(Debug, Clone)]
struct Names {
    /// Recorded inputs.
    inputs: Vec<String>,
    /// PA outputs.
    pa: Vec<String>,
    /// Headphone outputs.
    phones: Vec<String>,
    /// MIDI input.
    midi_in: String,
    /// MIDI clock output.
    clock_out: Option<String>,
}

fn port_name<PS>(port: &Port<PS>) -> String {
    port.name().unwrap_or_default()
}

/// Connects the system's capture channels to the inputs and the outputs to its playback
/// channels, as the configuration routes them; a channel the interface lacks is reported.
fn connect_audio(client: &Client, config: &Config, names: &Names) {
    let capture = client.ports(
        None,
        Some(AUDIO_TYPE),
        PortFlags::IS_PHYSICAL | PortFlags::IS_OUTPUT,
    );
    let playback = client.ports(
        None,
        Some(AUDIO_TYPE),
        PortFlags::IS_PHYSICAL | PortFlags::IS_INPUT,
    );
    let connect = |from: &str, to: &str| {
        if let Err(error) = client.connect_ports_by_name(from, to) {
            nice_plug::nice_warn!("Loopmate: cannot connect {from} to {to}: {error}");
        }
    };
    let device = |ports: &[String], channels: &Channels, what: &str| -> Vec<Option<String>> {
        channels
            .channels()
            .iter()
            .map(|channel| {
                let port = ports.get(channel.index()).cloned();
                if port.is_none() {
                    nice_plug::nice_warn!(
                        "Loopmate: the interface has no {what} channel {channel} ({} in all)",
                        ports.len()
                    );
                }
                port
            })
            .collect()
    };
    for (system, ours) in device(&capture, &config.inputs, "capture")
        .iter()
        .zip(&names.inputs)
    {
        if let Some(system) = system {
            connect(system, ours);
        }
    }
    // A stereo mix to one channel goes to it from both sides (JACK sums them).
    let outputs = |ours: &[String], channels: &Channels, what: &str| {
        let system = device(&playback, channels, what);
        for (i, our) in ours.iter().enumerate() {
            if let Some(Some(port)) = system.get(i.min(system.len().saturating_sub(1))) {
                connect(our, port);
            }
        }
    };
    outputs(&names.pa, &config.pa, "playback");
    outputs(&names.phones, &config.headphones, "playback");
}

/// Connects MIDI sources (and sinks, for the clock) as they appear.
struct MidiScan {
    /// What to connect.
    config: Config,
    /// Loopmate's ports.
    names: Names,
    /// Set to end the scan.
    stop: Arc<AtomicBool>,
}

impl MidiScan {
    fn run(self) {
        let Ok((client, _)) = Client::new(
            &format!("{CLIENT_NAME}_connect"),
            ClientOptions::NO_START_SERVER,
        ) else {
            nice_plug::nice_warn!("Loopmate: cannot open a JACK client to connect MIDI ports");
            return;
        };
        // The same name rules as the ALSA scan's (Loopmate's own ports never).
        let source_parts = midi_ports::source_parts(&self.config);
        let sink_parts: Vec<String> = self.config.clock_output.iter().cloned().collect();
        while !self.stop.load(Ordering::Relaxed) {
            let sources = client.ports(None, Some(MIDI_TYPE), PortFlags::IS_OUTPUT);
            for source in sources.iter() {
                if midi_ports::wanted(source, &source_parts)
                    && !is_connected(&client, source, &self.names.midi_in)
                {
                    let _ = client.connect_ports_by_name(source, &self.names.midi_in);
                }
            }
            if let Some(clock_out) = &self.names.clock_out {
                let sinks = client.ports(None, Some(MIDI_TYPE), PortFlags::IS_INPUT);
                for sink in sinks.iter() {
                    if midi_ports::wanted(sink, &sink_parts)
                        && !is_connected(&client, clock_out, sink)
                    {
                        let _ = client.connect_ports_by_name(clock_out, sink);
                    }
                }
            }
            std::thread::sleep(MIDI_SCAN_INTERVAL);
        }
    }
}

/// Whether `from` is connected to `to`.
fn is_connected(client: &Client, from: &str, to: &str) -> bool {
    client
        .port_by_name(from)
        .is_some_and(|port| port.is_connected_to(to).unwrap_or(false))
}

/// The process callback's state.
struct JackProcess {
    /// The plugin's side.
    processor: Processor,
    /// Recorded input ports.
    inputs: Vec<Port<AudioIn>>,
    /// PA output ports.
    pa: [Port<AudioOut>; 2],
    /// Headphone output ports, if routed.
    phones: Option<[Port<AudioOut>; 2]>,
    /// MIDI input port.
    midi_in: Port<JackMidiIn>,
    /// MIDI clock output port.
    clock_out: Option<Port<MidiOut>>,
    /// The period's MIDI (capacity kept).
    midi: Vec<MidiIn>,
}

impl jack::ProcessHandler for JackProcess {
    fn process(&mut self, client: &Client, scope: &ProcessScope) -> Control {
        let frames = scope.n_frames() as usize;
        for (channel, port) in self.inputs.iter().enumerate() {
            self.processor
                .input(channel, frames)
                .copy_from_slice(port.as_slice(scope));
        }
        self.midi.clear();
        for event in self.midi_in.iter(scope) {
            if self.midi.len() < self.midi.capacity()
                && let Some(message) = MidiIn::new(event.time, event.bytes)
            {
                self.midi.push(message);
            }
        }
        let transport = jack_transport(client);
        self.processor.process(frames, &self.midi, transport);
        for (channel, port) in self.pa.iter_mut().enumerate() {
            port.as_mut_slice(scope)
                .copy_from_slice(self.processor.pa(channel, frames));
        }
        if let Some(phones) = &mut self.phones {
            for (channel, port) in phones.iter_mut().enumerate() {
                port.as_mut_slice(scope)
                    .copy_from_slice(self.processor.headphones(channel, frames));
            }
        }
        if let Some(clock_out) = &mut self.clock_out {
            let mut writer = clock_out.writer(scope);
            for message in self.processor.clock_out() {
                let _ = writer.write(&jack::RawMidi {
                    time: message.offset_samples,
                    bytes: &[message.status],
                });
            }
        }
        Control::Continue
    }
}

/// JACK's transport, when it rolls with a tempo (a JACK timebase master such as a DAW).
fn jack_transport(client: &Client) -> Option<HostTransport> {
    let state = client.transport().query().ok()?;
    let bbt = state.pos.bbt()?;
    let quarters_per_beat = 4.0 / f64::from(bbt.sig_denom);
    let beats_in_bar = (bbt.beat.max(1) - 1) as f64 + bbt.tick as f64 / bbt.ticks_per_beat;
    let bar_start_beats = (bbt.bar.max(1) - 1) as f64 * f64::from(bbt.sig_num) * quarters_per_beat;
    Some(HostTransport {
        playing: state.state == jack::TransportState::Rolling,
        tempo_bpm: Some(bbt.bpm * quarters_per_beat),
        time_signature: Some((bbt.sig_num as i32, bbt.sig_denom as i32)),
        pos_samples: Some(i64::from(state.pos.frame())),
        pos_beats: Some(bar_start_beats + beats_in_bar * quarters_per_beat),
        bar_start_pos_beats: Some(bar_start_beats),
    })
}
