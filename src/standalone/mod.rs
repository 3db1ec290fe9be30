//! The standalone Loopmate: its own audio and MIDI host around the same plugin a DAW loads.
//!
//! - [`config`]: the configuration file and the command line;
//! - [`plugin_host`]: the plugin activated at the backend's rate, and its editor window;
//! - [`processor`]: the audio thread's side (periods in, PA and headphones out, MIDI, clock);
//! - backends: [`jack_io`] (JACK, with its own MIDI), [`alsa_io`] (an interface, full duplex),
//!   [`dummy_io`] (no hardware); [`midi_ports`] brings ALSA sequencer MIDI to the last two
//!   ([`midi_in`] in, [`midi_out`] clock out), connecting ports as they appear.
//! - `link`: an Ableton Link session as the clock (the `link` feature).
//!
//! Everything that can fail (the configuration, the performance to load, the MIDI map, the
//! audio device) is checked before any audio starts, so nothing runs half-configured. Ctrl-C,
//! SIGTERM and SIGHUP close the editor window (or end a `--no-gui` run) and stop cleanly.

pub mod alsa_io;
pub mod config;
pub mod dummy_io;
pub mod jack_io;
pub mod latency;
#[cfg(feature = "link")]
pub mod link;
pub mod midi_in;
pub mod midi_out;
pub mod midi_ports;
pub mod period_thread;
pub mod plugin_host;
pub mod processor;

use std::path::Path;

use nice_plug::prelude::*;

use self::config::{Backend, ClockSource, Config, ConfigError};
use self::latency::{CalibrationPorts, LatencyReport};
use self::plugin_host::{ParamWriter, PluginHost};
use self::processor::TransportSource;
use crate::Loopmate;
use crate::midi_clock::follower::ClockFollower;

/// What the standalone does once its audio runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Plays: the editor (or `--no-gui`) until closed.
    Play,
    /// Measures the round trips, saves the latencies and quits (`loopmate calibrate`).
    Calibrate,
}

/// Runs the standalone with `args` (without the program name); returns the exit code.
pub fn run(args: &[String]) -> i32 {
    run_in(args, Mode::Play)
}

/// `loopmate calibrate [OPTIONS]`: the standalone's options, then a calibration through the
/// configured interface instead of a performance; returns the exit code (1 when no path came
/// back).
pub fn calibrate(args: &[String]) -> i32 {
    run_in(args, Mode::Calibrate)
}

fn run_in(args: &[String], mode: Mode) -> i32 {
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(ConfigError::Flags(error)) => error.exit(),
        Err(error) => {
            eprintln!("loopmate: {error}");
            return 2;
        }
    };
    nice_plug::wrapper::setup_logger::<Loopmate>();
    if let Some(script) = config.demo {
        crate::demo::enable(script);
    }
    match start(&config, mode) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("loopmate: {error}");
            1
        }
    }
}

/// How long `loopmate calibrate` lets the audio run before it plays: an interface's first
/// periods, and a JACK graph still being connected, are not what a calibration should measure.
const CALIBRATION_SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

/// The *Input latency* parameter's id.
const INPUT_LATENCY_ID: &str = "input_latency_ms";
/// The *Headphone delay* parameter's id.
const HEADPHONE_DELAY_ID: &str = "phones_delay_ms";

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

fn start(config: &Config, mode: Mode) -> Result<(), String> {
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
        |plugin| {
            inputs.install(plugin, config)?;
            if let Some(script) = config.demo {
                set_up_demo(plugin, script);
            }
            Ok(())
        },
    )?;
    let params = host.param_writer();
    set_latencies(&params, config.input_latency_ms, config.headphone_delay_ms);
    let calibration_control = host.calibration_control();
    let close_requested = host.close_requested();
    let on_signal = close_requested.clone();
    ctrlc::set_handler(move || on_signal.store(true, std::sync::atomic::Ordering::Relaxed))
        .map_err(|error| format!("cannot catch Ctrl-C and SIGTERM: {error}"))?;
    let (mut processor, editor) = host.split();
    let mut calibrator = processor.calibrator();
    processor.set_transport_source(match config.clock {
        ClockSource::None => TransportSource::Backend,
        ClockSource::Midi => TransportSource::MidiClock(Box::new(ClockFollower::new(
            sample_rate,
            config.beats_per_bar,
        ))),
        #[cfg(feature = "link")]
        ClockSource::Link => {
            // When a period's first frame plays, after its processing starts: as the MIDI clock
            // out reckons it.
            let output_latency_frames = match &opened {
                Opened::Jack(jack) => jack.playback_latency_frames(config),
                Opened::Alsa(_) => alsa_io::output_latency_frames(max_frames) as u32,
                Opened::Dummy => dummy_io::output_latency_frames(max_frames) as u32,
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
    // Without ALSA's sequencer the audio runs without MIDI (said once).
    let midi = || match midi_ports::start(config, sample_rate_hz) {
        Ok((midi, threads)) => (Some(midi), Some(threads)),
        Err(error) => {
            nice_warn!("Loopmate: {error}");
            (None, None)
        }
    };
    let jack = matches!(opened, Opened::Jack(_));
    // Dropping the running backend stops the audio; the tuples drop in order, the audio first,
    // then the MIDI threads behind it.
    let running: Box<dyn std::any::Any> = match opened {
        Opened::Jack(jack) => {
            let running = jack.start(processor, config)?;
            calibrator.set_buffered_frames(running.buffered_frames()?);
            Box::new(running)
        }
        Opened::Alsa(device) => {
            let (midi, threads) = midi();
            let buffered = alsa_io::PLAYBACK_PERIODS as usize * max_frames;
            calibrator.set_buffered_frames(Box::new(move |_| buffered));
            Box::new((
                alsa_io::start(device, processor, config, midi, close_requested.clone())?,
                threads,
            ))
        }
        Opened::Dummy => {
            let (midi, threads) = midi();
            Box::new((dummy_io::start(processor, config, midi)?, threads))
        }
    };
    calibrator.set_ports(calibration_ports(config, jack));
    let save = |report: &LatencyReport| save_latencies(report, &params, config);
    if mode == Mode::Calibrate {
        std::thread::sleep(CALIBRATION_SETTLE);
        let report = calibrator.calibrate();
        println!("{}", report.summary(calibrator.ports()));
        let saved = save(&report);
        drop(running);
        return match (saved, report.input_latency_ms) {
            (Ok(saved), Some(_)) => {
                println!("{saved}");
                Ok(())
            }
            (Ok(_), None) => Err("nothing came back: no latency was measured".to_owned()),
            (Err(error), _) => Err(error),
        };
    }
    let stop_button = std::sync::atomic::AtomicBool::new(false);
    nice_log!(
        "Loopmate runs at {sample_rate_hz} Hz ({:?} backend){}",
        config.backend,
        if config.no_gui { "; Ctrl-C quits" } else { "" }
    );
    let result = std::thread::scope(|scope| {
        scope.spawn(|| latency::serve_button(calibrator, &calibration_control, &stop_button, save));
        let result = editor.run(!config.no_gui);
        stop_button.store(true, std::sync::atomic::Ordering::Relaxed);
        result
    });
    drop(running);
    result
}

/// The names calibration reports with: device channels ("output 3"), or JACK's ports.
pub(crate) fn calibration_ports(config: &Config, jack: bool) -> CalibrationPorts {
    let first = |channels: &config::Channels, jack_port: &str, device: &str| {
        let channel = channels.channels().first()?;
        Some(if jack {
            format!("loopmate:{jack_port}")
        } else {
            format!("{device} {channel}")
        })
    };
    let input_port = if config.inputs.channels().len() == 1 {
        "in"
    } else {
        "in_1"
    };
    CalibrationPorts {
        input: first(&config.inputs, input_port, "input").unwrap_or_default(),
        pa: first(&config.pa, "pa_1", "output").unwrap_or_default(),
        headphones: first(&config.headphones, "phones_1", "output"),
    }
}

/// What a demo script needs, set before the plugin activates (the engine reads the history
/// then): the history at least as long as the script asks, and *Beats per cycle* to its
/// anchors' beats, so the metronome and the editor count the player's beats.
fn set_up_demo(plugin: &Loopmate, script: crate::demo::Script) {
    let params = plugin.loopmate_params();
    let history = &params.history_secs;
    if let Some(secs) = script
        .history_secs()
        .filter(|&secs| secs > history.value() as f32)
    {
        set_before_activation(history.as_ptr(), secs);
    }
    let beats = crate::demo::BEATS_PER_CYCLE as f32;
    set_before_activation(params.beats_per_cycle.as_ptr(), beats);
}

/// Sets the plugin's parameter `param` to `plain` (in its own unit).
fn set_before_activation(param: ParamPtr, plain: f32) {
    // SAFETY: the pointer is to the plugin's own live parameter, and nothing else reads or
    // writes the parameters before the plugin activates.
    unsafe { param._internal_set_normalized_value(param.preview_normalized(plain)) };
}

/// Sets the latency parameters that are given.
fn set_latencies(params: &ParamWriter, input_ms: Option<f32>, headphone_delay_ms: Option<f32>) {
    if let Some(ms) = input_ms {
        params.set_plain(INPUT_LATENCY_ID, ms);
    }
    if let Some(ms) = headphone_delay_ms {
        params.set_plain(HEADPHONE_DELAY_ID, ms);
    }
}

/// Sets what a calibration measured and saves it in the configuration file; says where.
fn save_latencies(
    report: &LatencyReport,
    params: &ParamWriter,
    config: &Config,
) -> Result<String, String> {
    let Some(input_ms) = report.input_latency_ms else {
        return Ok("Nothing was saved.".to_owned());
    };
    set_latencies(params, Some(input_ms), report.headphone_delay_ms);
    let path = (config.file.as_ref())
        .ok_or("no configuration file to save in: pass --config FILE (or set HOME)")?;
    config::save_latency(path, input_ms, report.headphone_delay_ms)?;
    Ok(format!("Saved in {}", path.display()))
}

#[cfg(test)]
mod tests;
