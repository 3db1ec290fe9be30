//! The standalone Loopmate: its own audio and MIDI host around the same plugin a DAW loads.
//!
//! - [`config`]: the configuration file and the command line;
//! - [`plugin_host`]: the plugin activated at the backend's rate, and its editor window;
//! - [`processor`]: the audio thread's side (periods in, PA and headphones out, MIDI, clock);
//! - backends: [`jack_io`] (JACK, with its own MIDI), [`alsa_io`] (an interface, full duplex),
//!   [`dummy_io`] (no hardware); [`midi_in`] brings ALSA MIDI to the last two;
//! - `link`: an Ableton Link session as the clock (the `link` feature).
//!
//! Everything that can fail (the configuration, the performance to load, the MIDI map, the
//! audio device) is checked before any audio starts, so nothing runs half-configured. Ctrl-C,
//! SIGTERM and SIGHUP close the editor window (or end a `--no-gui` run) and stop cleanly.

pub mod alsa_io;
pub mod config;
pub mod dummy_io;
pub mod jack_io;
#[cfg(feature = "link")]
pub mod link;
pub mod midi_in;
pub mod period_thread;
pub mod plugin_host;
pub mod processor;

use std::path::Path;

use nice_plug::prelude::*;

use self::config::{Backend, ClockSource, Config, ConfigError};
use self::plugin_host::PluginHost;
use self::processor::TransportSource;
use crate::Loopmate;
use crate::midi_clock::follower::ClockFollower;

/// Runs the standalone with `args` (without the program name); returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(ConfigError::Flags(error)) => error.exit(),
        Err(error) => {
            eprintln!("loopmate: {error}");
            return 2;
        }
    };
    nice_plug::wrapper::setup_logger::<Loopmate>();
    if config.demo {
        crate::demo::enable();
    }
    match start(&config) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("loopmate: {error}");
            1
        }
    }
}

/// What `--load` and `--map` bring in, read before anything starts.
struct Inputs {
    /// The performance's binary container.
    performance: Option<Vec<u8>>,
    /// The MIDI map file's text.
    map: Option<String>,
}

impl Inputs {
    fn read(config: &Config) -> Result<Self, String> {
        let performance = match &config.load {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
                let container = crate::state::persist::performance_container(&bytes)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                // Decoded here too, so a damaged file stops the start with its reason.
                crate::state::format::decode_reporting(&container)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Some(container.into_owned())
            }
            None => None,
        };
        let map = match &config.map_file {
            Some(path) => Some(read_text(path)?),
            None => None,
        };
        Ok(Self { performance, map })
    }

    /// Puts them in the plugin before it activates.
    fn install(self, plugin: &Loopmate, config: &Config) -> Result<(), String> {
        let params = plugin.loopmate_params();
        if let (Some(text), Some(path)) = (self.map, &config.map_file) {
            (params.midi_map.import(&text)).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        if let (Some(bytes), Some(path)) = (self.performance, &config.load) {
            match params.performance.store.load(bytes) {
                Ok(Some(warning)) => eprintln!("loopmate: {}: warning: {warning}", path.display()),
                Ok(None) => {}
                Err(error) => return Err(format!("{}: {error}", path.display())),
            }
            println!("Loopmate: opened {}", path.display());
        }
        Ok(())
    }
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// An opened backend, before it runs.
enum Opened {
    Jack(jack_io::JackBackend),
    Alsa(alsa_io::AlsaDuplex),
    Dummy,
}

fn start(config: &Config) -> Result<(), String> {
    let inputs = Inputs::read(config)?;
    let (opened, sample_rate_hz, max_frames) = match config.backend {
        Backend::Jack => {
            let jack = jack_io::JackBackend::open()?;
            let (rate, frames) = (jack.sample_rate_hz(), jack.max_frames());
            (Opened::Jack(jack), rate, frames)
        }
        Backend::Alsa => {
            let device = alsa_io::AlsaDuplex::open(config)?;
            let (rate, frames) = (
                device.sample_rate_hz(),
                alsa_io::DuplexDevice::period_frames(&device),
            );
            (Opened::Alsa(device), rate, frames)
        }
        Backend::Dummy => (
            Opened::Dummy,
            config.sample_rate_hz,
            config.period_frames as usize,
        ),
    };
    let sample_rate = sample_rate_hz as f32;
    let host = PluginHost::new(
        sample_rate,
        max_frames as u32,
        config.inputs.channels().len(),
        |plugin| inputs.install(plugin, config),
    )?;
    let close_requested = host.close_requested();
    let on_signal = close_requested.clone();
    ctrlc::set_handler(move || on_signal.store(true, std::sync::atomic::Ordering::Relaxed))
        .map_err(|error| format!("cannot catch Ctrl-C and SIGTERM: {error}"))?;
    let (mut processor, editor) = host.split();
    processor.set_transport_source(match config.clock {
        ClockSource::None => TransportSource::Backend,
        ClockSource::Midi => TransportSource::MidiClock(Box::new(ClockFollower::new(
            sample_rate,
            config.beats_per_bar,
        ))),
        #[cfg(feature = "link")]
        ClockSource::Link => {
            // JACK tells the playback latency; ALSA and dummy periods are taken as heard when
            // they start.
            let output_latency_frames = match &opened {
                Opened::Jack(jack) => jack.playback_latency_frames(config),
                Opened::Alsa(_) | Opened::Dummy => 0,
            };
            nice_log!(
                "Loopmate joins Ableton Link ({} beats a bar, output {output_latency_frames} \
                 frames after the period's start)",
                config.beats_per_bar
            );
            TransportSource::Link(Box::new(link::LinkSource::join(
                config.beats_per_bar,
                sample_rate,
                output_latency_frames,
            )))
        }
        #[cfg(not(feature = "link"))]
        ClockSource::Link => return Err(config::NO_LINK.to_owned()),
    });
    // Dropping the running backend stops the audio.
    let midi = || -> Result<_, String> {
        let mut wanted = config.midi_inputs.clone();
        if !wanted.is_empty() {
            wanted.extend(config.clock_input.clone());
        }
        let inputs = midi_in::MidiInputs::connect(&wanted, sample_rate_hz)?;
        nice_log!("Loopmate listens to MIDI from {:?}", inputs.names);
        Ok(inputs)
    };
    let running: Box<dyn std::any::Any> = match opened {
        Opened::Jack(jack) => Box::new(jack.start(processor, config)?),
        Opened::Alsa(device) => {
            let midi = midi().inspect_err(|e| nice_warn!("Loopmate: {e}")).ok();
            Box::new(alsa_io::start(
                device,
                processor,
                config,
                midi,
                close_requested.clone(),
            )?)
        }
        Opened::Dummy => {
            let midi = midi().inspect_err(|e| nice_warn!("Loopmate: {e}")).ok();
            Box::new(dummy_io::start(processor, config, midi)?)
        }
    };
    nice_log!(
        "Loopmate runs at {sample_rate_hz} Hz ({:?} backend){}",
        config.backend,
        if config.no_gui { "; Ctrl-C quits" } else { "" }
    );
    let result = editor.run(!config.no_gui);
    drop(running);
    result
}
