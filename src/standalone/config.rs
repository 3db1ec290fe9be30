//! The standalone's configuration: a TOML file (`~/.config/loopmate/config.toml`, or
//! `--config FILE`) under command-line flags. Every value is checked while the file is read, so
//! a bad one is reported with its line and nothing starts half-configured.
//!
//! ```toml
//! [audio]
//! backend = "alsa"          # jack | alsa | dummy
//! device = "hw:CARD=USB"    # ALSA: one device for both directions (or input_device/output_device)
//! sample_rate_hz = 48000
//! period_frames = 128
//! inputs = [1]              # device channels the looper records (one or two)
//! pa = [1, 2]               # device channels of the PA mix
//! headphones = [3, 4]       # device channels of the headphone mix ([] for none)
//! connect = true            # JACK: connect to the system ports and every MIDI source
//!
//! [midi]
//! inputs = ["nanoKONTROL"]  # MIDI sources, by part of their name (all when absent)
//! map_file = "~/pedal.toml" # a MIDI map file (see assets/default-midi-map.toml)
//!
//! [clock]
//! source = "midi"           # none | midi | link: what host-sync mode follows
//! input = "TR-8"            # where the clock comes from (any MIDI input when absent)
//! beats_per_bar = 4         # also Link's quantum
//! send = true               # send MIDI clock (Loopmate as the master)
//! output = "TR-8"           # where the clock goes (every MIDI sink but our own when absent)
//!
//! [latency]                 # written by `loopmate calibrate`
//! input_ms = 1.2            # the plugin's *Input latency*
//! headphone_delay_ms = 0.0  # the plugin's *Headphone delay*
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;
use serde::de::{self, Deserializer};

/// Lowest sample rate accepted, in hertz.
const MIN_SAMPLE_RATE_HZ: u32 = 8_000;
/// Highest sample rate accepted, in hertz.
const MAX_SAMPLE_RATE_HZ: u32 = 384_000;
/// Shortest period accepted, in frames.
const MIN_PERIOD_FRAMES: u32 = 16;
/// Longest period accepted, in frames.
const MAX_PERIOD_FRAMES: u32 = 8_192;
/// Most channels an interface is taken to have.
const MAX_CHANNEL: u32 = 64;
/// Longest input latency accepted, in milliseconds (the *Input latency* parameter's range).
pub const MAX_INPUT_LATENCY_MS: u32 = 200;
/// Longest headphone delay accepted, in milliseconds (the *Headphone delay* parameter's range).
pub const MAX_HEADPHONE_DELAY_MS: u32 = crate::engine::mix::MAX_PHONES_DELAY_MS as u32;

/// Where audio and MIDI come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A JACK (or PipeWire-JACK) server.
    Jack,
    /// An ALSA device, full duplex at its own period.
    Alsa,
    /// No audio hardware: silence in, output dropped, in real time.
    Dummy,
}

/// What host-sync mode follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ClockSource {
    /// Nothing (JACK's transport, when it rolls with a tempo).
    #[default]
    None,
    /// MIDI beat clock from a MIDI input.
    Midi,
    /// An Ableton Link session (needs the `link` feature: [`NO_LINK`] otherwise).
    Link,
}

/// Why `link` is refused by a build without the `link` feature.
pub const NO_LINK: &str = "this Loopmate was built without Ableton Link: `--clock link` (source = \
     \"link\") needs the `link` feature (cargo build --release --features link)";

/// A device channel, 1-based, as interfaces label them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel(u32);

impl Channel {
    /// The 0-based index.
    pub fn index(self) -> usize {
        self.0 as usize - 1
    }

    fn new(number: u32) -> Result<Self, String> {
        if (1..=MAX_CHANNEL).contains(&number) {
            Ok(Self(number))
        } else {
            Err(format!(
                "channel {number} does not exist: channels are numbered 1 to {MAX_CHANNEL}"
            ))
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One or two channels (a mono or stereo path), or none where `allow_none`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels(Vec<Channel>);

impl Channels {
    /// The channels in order.
    pub fn channels(&self) -> &[Channel] {
        &self.0
    }

    /// The highest 1-based channel number used (0 for none).
    pub fn highest(&self) -> u32 {
        self.0.iter().map(|c| c.0).max().unwrap_or(0)
    }

    fn parse(numbers: &[u32], allow_none: bool) -> Result<Self, String> {
        match numbers.len() {
            0 if !allow_none => return Err("at least one channel is needed".to_owned()),
            0..=2 => {}
            n => {
                return Err(format!(
                    "{n} channels given: a path is mono or stereo (1 or 2)"
                ));
            }
        }
        if numbers.len() == 2 && numbers[0] == numbers[1] {
            return Err(format!("channel {} given twice", numbers[0]));
        }
        numbers
            .iter()
            .map(|&n| Channel::new(n))
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// The channels of a path that must exist (inputs, PA).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Required(Channels);

/// The channels of a path that may be empty (headphones).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Optional(Channels);

impl<'de> Deserialize<'de> for Required {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let numbers = Vec::<u32>::deserialize(deserializer)?;
        Channels::parse(&numbers, false)
            .map(Self)
            .map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Optional {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let numbers = Vec::<u32>::deserialize(deserializer)?;
        Channels::parse(&numbers, true)
            .map(Self)
            .map_err(de::Error::custom)
    }
}

/// A number checked against a range while it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ranged<const LOW: u32, const HIGH: u32>(u32);

impl<'de, const LOW: u32, const HIGH: u32> Deserialize<'de> for Ranged<LOW, HIGH> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = u32::deserialize(deserializer)?;
        in_range(value, LOW, HIGH)
            .map(Self)
            .map_err(de::Error::custom)
    }
}

/// Milliseconds checked against 0..=HIGH_MS while they are read.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Millis<const HIGH_MS: u32>(f32);

impl<'de, const HIGH_MS: u32> Deserialize<'de> for Millis<HIGH_MS> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        millis_in_range(value, HIGH_MS)
            .map(Self)
            .map_err(de::Error::custom)
    }
}

fn millis_in_range(value: f64, high_ms: u32) -> Result<f32, String> {
    if (0.0..=f64::from(high_ms)).contains(&value) {
        Ok(value as f32)
    } else {
        Err(format!("{value} ms is out of range: 0 to {high_ms} ms"))
    }
}

fn in_range(value: u32, low: u32, high: u32) -> Result<u32, String> {
    if (low..=high).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is out of range: {low} to {high}"))
    }
}

/// The file's `[audio]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AudioFile {
    backend: Option<Backend>,
    device: Option<String>,
    input_device: Option<String>,
    output_device: Option<String>,
    sample_rate_hz: Option<Ranged<MIN_SAMPLE_RATE_HZ, MAX_SAMPLE_RATE_HZ>>,
    period_frames: Option<Ranged<MIN_PERIOD_FRAMES, MAX_PERIOD_FRAMES>>,
    inputs: Option<Required>,
    pa: Option<Required>,
    headphones: Option<Optional>,
    connect: Option<bool>,
}

/// The file's `[midi]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MidiFile {
    inputs: Option<Vec<String>>,
    map_file: Option<PathBuf>,
}

/// The file's `[clock]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockFile {
    source: Option<ClockSource>,
    input: Option<String>,
    beats_per_bar: Option<Ranged<1, 16>>,
    send: Option<bool>,
    output: Option<String>,
}

/// The file's `[latency]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyFile {
    input_ms: Option<Millis<MAX_INPUT_LATENCY_MS>>,
    headphone_delay_ms: Option<Millis<MAX_HEADPHONE_DELAY_MS>>,
}

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    audio: AudioFile,
    #[serde(default)]
    midi: MidiFile,
    #[serde(default)]
    clock: ClockFile,
    #[serde(default)]
    latency: LatencyFile,
}

/// The command line: `loopmate [OPTIONS]`. Flags override the configuration file.
#[derive(Debug, Default, Parser)]
#[command(
    name = "loopmate",
    version,
    about = "Loopmate, a live looper: the standalone program"
)]
pub struct Flags {
    /// The configuration file [default: ~/.config/loopmate/config.toml, if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Audio and MIDI backend [default: jack].
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// ALSA: the device for both directions, e.g. hw:CARD=USB [default: "default"].
    #[arg(long)]
    pub device: Option<String>,
    /// ALSA: the capture device, if not `--device`.
    #[arg(long)]
    pub input_device: Option<String>,
    /// ALSA: the playback device, if not `--device`.
    #[arg(long)]
    pub output_device: Option<String>,
    /// Sample rate in Hz (ALSA and dummy; JACK uses the server's) [default: 48000].
    #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(MIN_SAMPLE_RATE_HZ)..=i64::from(MAX_SAMPLE_RATE_HZ)))]
    pub sample_rate: Option<u32>,
    /// Period in frames (ALSA and dummy; JACK uses the server's) [default: 128].
    #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(MIN_PERIOD_FRAMES)..=i64::from(MAX_PERIOD_FRAMES)))]
    pub period: Option<u32>,
    /// Device channels the looper records, 1-based: `1` or `1,2` [default: 1,2].
    #[arg(long, value_delimiter = ',')]
    pub inputs: Option<Vec<u32>>,
    /// Device channels of the PA mix [default: 1,2].
    #[arg(long, value_delimiter = ',')]
    pub pa: Option<Vec<u32>>,
    /// Device channels of the headphone mix; `none` for none [default: 3,4].
    #[arg(long, value_delimiter = ',', value_parser = channel_or_none)]
    pub headphones: Option<Vec<Option<u32>>>,
    /// JACK: don't connect to the system ports and MIDI sources.
    #[arg(long)]
    pub no_connect: bool,
    /// A MIDI source to listen to, by part of its name (repeat for more) [default: all].
    #[arg(long = "midi-input", value_name = "NAME")]
    pub midi_inputs: Vec<String>,
    /// A MIDI map file to use instead of the saved map.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// What host-sync mode follows [default: none].
    #[arg(long, value_enum)]
    pub clock: Option<ClockSource>,
    /// The MIDI source of the clock, by part of its name [default: any MIDI input].
    #[arg(long, value_name = "NAME")]
    pub clock_input: Option<String>,
    /// Beats in a bar of the clock [default: 4].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub beats_per_bar: Option<u32>,
    /// Send MIDI clock, start and stop from the anchor loop.
    #[arg(long)]
    pub clock_out: bool,
    /// Where the clock goes, by part of its name [default: every MIDI sink but our own].
    #[arg(long, value_name = "NAME")]
    pub clock_output: Option<String>,
    /// The audio input's latency in ms, the plugin's *Input latency* [default: the file's
    /// `[latency]`, as `loopmate calibrate` measured it].
    #[arg(long, value_name = "MS", value_parser = |text: &str| millis_flag(text, MAX_INPUT_LATENCY_MS))]
    pub input_latency_ms: Option<f32>,
    /// The headphones' delay in ms, the plugin's *Headphone delay* [default: the file's
    /// `[latency]`].
    #[arg(long, value_name = "MS", value_parser = |text: &str| millis_flag(text, MAX_HEADPHONE_DELAY_MS))]
    pub headphone_delay_ms: Option<f32>,
    /// A saved performance (.loopmate, or a host state) to open.
    #[arg(long, value_name = "FILE")]
    pub load: Option<PathBuf>,
    /// Replace the input with a scripted player, to try Loopmate without an instrument.
    #[arg(long)]
    pub demo: bool,
    /// The demo's script (implies --demo): `stage` (a set in progress: seven loops, one
    /// recording) or `crowd` (a hundred loops) [default: `parts`, four parts looped in turn].
    #[arg(long, value_name = "NAME", value_parser = demo_script)]
    pub demo_script: Option<crate::demo::Script>,
    /// Run without the editor window (quit with Ctrl-C).
    #[arg(long)]
    pub no_gui: bool,
}

/// `--headphones`: a channel number, or `none`.
fn channel_or_none(text: &str) -> Result<Option<u32>, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("`{text}` is not a channel number"))
}

/// `--demo-script`: a script's name.
fn demo_script(text: &str) -> Result<crate::demo::Script, String> {
    crate::demo::Script::named(text).ok_or_else(|| {
        let names: Vec<&str> = (crate::demo::Script::ALL.iter())
            .map(|s| s.name())
            .collect();
        format!(
            "no demo script `{text}`: choose one of {}",
            names.join(", ")
        )
    })
}

/// `--input-latency-ms` and `--headphone-delay-ms`: milliseconds in 0..=`high_ms`.
fn millis_flag(text: &str, high_ms: u32) -> Result<f32, String> {
    let value: f64 = (text.parse()).map_err(|_| format!("`{text}` is not a number of ms"))?;
    millis_in_range(value, high_ms)
}

/// The resolved configuration the standalone starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Audio and MIDI backend.
    pub backend: Backend,
    /// ALSA capture device.
    pub input_device: String,
    /// ALSA playback device.
    pub output_device: String,
    /// Sample rate in hertz (ALSA, dummy).
    pub sample_rate_hz: u32,
    /// Period in frames (ALSA, dummy).
    pub period_frames: u32,
    /// Device channels recorded.
    pub inputs: Channels,
    /// Device channels of the PA mix.
    pub pa: Channels,
    /// Device channels of the headphone mix (maybe none).
    pub headphones: Channels,
    /// JACK: connect to the system ports and MIDI sources.
    pub connect: bool,
    /// MIDI sources to listen to, by part of their name; all when empty.
    pub midi_inputs: Vec<String>,
    /// A MIDI map file.
    pub map_file: Option<PathBuf>,
    /// What host-sync mode follows.
    pub clock: ClockSource,
    /// The clock's MIDI source, by part of its name; any MIDI input when `None`.
    pub clock_input: Option<String>,
    /// Beats in a bar of the clock.
    pub beats_per_bar: u32,
    /// Send MIDI clock.
    pub clock_out: bool,
    /// Where the clock goes, by part of its name; every MIDI sink when `None`.
    pub clock_output: Option<String>,
    /// The input latency to set, in ms (else the plugin's own, or the loaded performance's).
    pub input_latency_ms: Option<f32>,
    /// The headphone delay to set, in ms.
    pub headphone_delay_ms: Option<f32>,
    /// The configuration file read, or where one would be (`loopmate calibrate` writes there).
    pub file: Option<PathBuf>,
    /// A performance to open.
    pub load: Option<PathBuf>,
    /// The scripted demo player and its script, if it replaces the input.
    pub demo: Option<crate::demo::Script>,
    /// No editor window.
    pub no_gui: bool,
}

/// The default configuration file: `$XDG_CONFIG_HOME/loopmate/config.toml`, else
/// `~/.config/loopmate/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))?;
    Some(base.join("loopmate").join("config.toml"))
}

impl Config {
    /// The configuration from the command line (without the program name) and the file it
    /// names, or the default file if that exists. The error says what is wrong, and where.
    pub fn from_args(args: &[String]) -> Result<Self, ConfigError> {
        let flags = Flags::try_parse_from(
            std::iter::once("loopmate".to_owned()).chain(args.iter().cloned()),
        )
        .map_err(ConfigError::Flags)?;
        let path = flags.config.clone().or_else(default_path);
        let file = match &path {
            Some(path) if flags.config.is_some() || path.exists() => read(path)?,
            _ => ConfigFile::default(),
        };
        let mut config = Self::resolve(flags, file)?;
        config.file = path;
        Ok(config)
    }

    /// Parses a configuration file's text (for tests and `from_args`).
    pub fn from_toml(text: &str, flags: Flags) -> Result<Self, ConfigError> {
        let file = parse(text, Path::new("config.toml"))?;
        Self::resolve(flags, file)
    }

    fn resolve(flags: Flags, file: ConfigFile) -> Result<Self, ConfigError> {
        let flag_channels = |numbers: Option<Vec<u32>>, what: &str, allow_none: bool| {
            numbers
                .map(|numbers| {
                    Channels::parse(&numbers, allow_none)
                        .map_err(|why| ConfigError::Invalid(format!("--{what}: {why}")))
                })
                .transpose()
        };
        let headphones_flag = flags
            .headphones
            .map(|numbers| numbers.into_iter().flatten().collect());
        let device = flags.device.or(file.audio.device);
        let midi_inputs = if flags.midi_inputs.is_empty() {
            file.midi.inputs.unwrap_or_default()
        } else {
            flags.midi_inputs
        };
        let config = Self {
            backend: flags
                .backend
                .or(file.audio.backend)
                .unwrap_or(Backend::Jack),
            input_device: (flags.input_device.or(file.audio.input_device))
                .or_else(|| device.clone())
                .unwrap_or_else(|| "default".to_owned()),
            output_device: (flags.output_device.or(file.audio.output_device))
                .or(device)
                .unwrap_or_else(|| "default".to_owned()),
            sample_rate_hz: (flags.sample_rate)
                .or(file.audio.sample_rate_hz.map(|r| r.0))
                .unwrap_or(48_000),
            period_frames: (flags.period)
                .or(file.audio.period_frames.map(|p| p.0))
                .unwrap_or(128),
            inputs: flag_channels(flags.inputs, "inputs", false)?
                .or(file.audio.inputs.map(|c| c.0))
                .unwrap_or(Channels(vec![Channel(1), Channel(2)])),
            pa: flag_channels(flags.pa, "pa", false)?
                .or(file.audio.pa.map(|c| c.0))
                .unwrap_or(Channels(vec![Channel(1), Channel(2)])),
            headphones: flag_channels(headphones_flag, "headphones", true)?
                .or(file.audio.headphones.map(|c| c.0))
                .unwrap_or(Channels(vec![Channel(3), Channel(4)])),
            connect: !flags.no_connect && file.audio.connect.unwrap_or(true),
            midi_inputs,
            map_file: flags.map.or(file.midi.map_file).map(|p| expand_home(&p)),
            clock: flags.clock.or(file.clock.source).unwrap_or_default(),
            clock_input: flags.clock_input.or(file.clock.input),
            beats_per_bar: (flags.beats_per_bar)
                .or(file.clock.beats_per_bar.map(|b| b.0))
                .unwrap_or(4),
            clock_out: flags.clock_out || file.clock.send.unwrap_or(false),
            clock_output: flags.clock_output.or(file.clock.output),
            input_latency_ms: (flags.input_latency_ms).or(file.latency.input_ms.map(|m| m.0)),
            headphone_delay_ms: (flags.headphone_delay_ms)
                .or(file.latency.headphone_delay_ms.map(|m| m.0)),
            file: None,
            load: flags.load.map(|p| expand_home(&p)),
            demo: flags
                .demo_script
                .or(flags.demo.then_some(crate::demo::Script::Parts)),
            no_gui: flags.no_gui,
        };
        config.check()?;
        Ok(config)
    }

    /// What no single value shows: paths that share a channel; Link without the feature.
    fn check(&self) -> Result<(), ConfigError> {
        if !cfg!(feature = "link") && self.clock == ClockSource::Link {
            return Err(ConfigError::Invalid(NO_LINK.to_owned()));
        }
        let shared = self
            .pa
            .channels()
            .iter()
            .find(|c| self.headphones.channels().contains(c));
        if let Some(channel) = shared {
            return Err(ConfigError::Invalid(format!(
                "output channel {channel} is both PA and headphones: give them different channels \
                 (e.g. pa = [1, 2], headphones = [3, 4]) or headphones = []"
            )));
        }
        Ok(())
    }
}

/// `~/x` as the home folder's `x`.
fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => Path::new(&home).join(rest),
        _ => path.to_owned(),
    }
}

/// Writes measured latencies into the `[latency]` table of the file at `path` (created, with its
/// folder, if missing), keeping the rest of the file as it is: its other values, comments and
/// layout. `headphone_delay_ms` of `None` leaves the headphone delay as it was.
pub fn save_latency(
    path: &Path,
    input_ms: f32,
    headphone_delay_ms: Option<f32>,
) -> Result<(), String> {
    let failed = |error: &dyn fmt::Display| format!("{}: {error}", path.display());
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(failed(&error)),
    };
    // The file must stay one the standalone reads: refuse to edit one it would refuse.
    parse(&text, path).map_err(|error| error.to_string())?;
    let mut document: toml_edit::DocumentMut = text.parse().map_err(|e| failed(&e))?;
    let table = document["latency"].or_insert(toml_edit::table());
    // Hundredths of a millisecond: finer than the parameters' 0.1 ms steps.
    let rounded = |ms: f32| (f64::from(ms) * 100.0).round() / 100.0;
    table["input_ms"] = toml_edit::value(rounded(input_ms));
    if let Some(delay_ms) = headphone_delay_ms {
        table["headphone_delay_ms"] = toml_edit::value(rounded(delay_ms));
    }
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(|e| failed(&e))?;
    }
    std::fs::write(path, document.to_string()).map_err(|e| failed(&e))
}

fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| ConfigError::Invalid(format!("{}: {error}", path.display())))?;
    parse(&text, path)
}

fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
    toml::from_str(text).map_err(|error| {
        let line = error.span().map(|span| {
            text.as_bytes()[..span.start.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        });
        ConfigError::File {
            path: path.to_owned(),
            line,
            message: error.message().to_owned(),
        }
    })
}

/// Why the configuration was refused.
#[derive(Debug)]
pub enum ConfigError {
    /// A bad flag, or `--help`/`--version` (clap prints these itself).
    Flags(clap::Error),
    /// A bad file, at a line.
    File {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the bad value, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A bad combination, or an unreadable file.
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::Flags(error) => write!(f, "{error}"),
            Self::File {
                path,
                line: Some(line),
                message,
            } => write!(f, "{}, line {line}: {message}", path.display()),
            Self::File {
                path,
                line: None,
                message,
            } => write!(f, "{}: {message}", path.display()),
            Self::Invalid(message) => f.write_str(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        Flags::try_parse_from(std::iter::once("loopmate").chain(args.iter().copied())).unwrap()
    }

    fn numbers(channels: &Channels) -> Vec<u32> {
        channels.channels().iter().map(|c| c.0).collect()
    }

    #[test]
    fn a_four_out_interface_file_routes_pa_to_1_2_and_headphones_to_3_4() {
        let text = r#"
[audio]
backend = "alsa"
device = "hw:CARD=USB"
period_frames = 64
inputs = [1]
pa = [1, 2]
headphones = [3, 4]

[clock]
source = "midi"
beats_per_bar = 3
send = true
"#;
        let config = Config::from_toml(text, Flags::default()).unwrap();
        assert_eq!(config.backend, Backend::Alsa);
        assert_eq!(config.input_device, "hw:CARD=USB");
        assert_eq!(config.output_device, "hw:CARD=USB");
        assert_eq!(config.period_frames, 64);
        assert_eq!(config.sample_rate_hz, 48_000);
        assert_eq!(numbers(&config.inputs), [1]);
        assert_eq!(numbers(&config.pa), [1, 2]);
        assert_eq!(numbers(&config.headphones), [3, 4]);
        assert_eq!(config.clock, ClockSource::Midi);
        assert_eq!(config.beats_per_bar, 3);
        assert!(config.clock_out);
        assert!(config.connect);
    }

    #[test]
    fn a_demo_script_is_chosen_by_name_and_implies_the_demo() {
        let demo = |args: &[&str]| Config::from_toml("", flags(args)).unwrap().demo;
        assert_eq!(demo(&[]), None);
        assert_eq!(demo(&["--demo"]), Some(crate::demo::Script::Parts));
        assert_eq!(
            demo(&["--demo-script", "stage"]),
            Some(crate::demo::Script::Stage)
        );
        assert_eq!(
            demo(&["--demo", "--demo-script", "crowd"]),
            Some(crate::demo::Script::Crowd)
        );
        let args = ["loopmate", "--demo-script", "stadium"];
        let error = Flags::try_parse_from(args).unwrap_err().to_string();
        assert!(
            error.contains("no demo script `stadium`: choose one of parts, stage, crowd"),
            "{error}"
        );
    }

    #[test]
    fn flags_override_the_file() {
        let text = "[audio]\nbackend = \"alsa\"\npa = [1, 2]\nheadphones = [3, 4]\n";
        let config = Config::from_toml(
            text,
            flags(&[
                "--backend",
                "jack",
                "--pa",
                "3,4",
                "--headphones",
                "none",
                "--no-connect",
            ]),
        )
        .unwrap();
        assert_eq!(config.backend, Backend::Jack);
        assert_eq!(numbers(&config.pa), [3, 4]);
        assert!(config.headphones.channels().is_empty());
        assert!(!config.connect);
    }

    #[test]
    fn a_malformed_file_names_its_line() {
        let cases = [
            (
                "[audio]\nbackend = \"alsa\"\nperiod_frames = 5\n",
                3,
                "out of range",
            ),
            ("[audio]\n\npa = [0, 1]\n", 3, "channel 0"),
            ("[audio]\nheadphones = [3, 4, 5]\n", 2, "mono or stereo"),
            ("[clock]\nsource = \"ptp\"\n", 2, "ptp"),
            ("[audio]\nbackend = \"alsa\"\nbakend = 1\n", 3, "bakend"),
            ("[audio\nbackend = \"alsa\"\n", 1, ""),
            ("[midi]\ninputs = \"all\"\n", 2, "sequence"),
            (
                "[latency]\ninput_ms = 250\n",
                2,
                "250 ms is out of range: 0 to 200 ms",
            ),
            ("[latency]\n\nheadphone_delay_ms = -1\n", 3, "0 to 100 ms"),
        ];
        for (text, line, says) in cases {
            let error = Config::from_toml(text, Flags::default()).unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, ConfigError::File { line: Some(l), .. } if l == line),
                "{text:?}: {message}"
            );
            assert!(message.contains(says), "{text:?}: {message}");
            assert!(message.starts_with(&format!("config.toml, line {line}")));
        }
    }

    #[test]
    fn pa_and_headphones_on_one_channel_are_refused() {
        let error = Config::from_toml(
            "[audio]\npa = [1, 2]\nheadphones = [2, 3]\n",
            Flags::default(),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("channel 2 is both PA and headphones")
        );
    }

    #[test]
    fn bad_flags_are_refused_by_name() {
        let parse = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            Config::from_args(&args).unwrap_err().to_string()
        };
        assert!(parse(&["--period", "3"]).contains("--period"));
        assert!(parse(&["--pa", "1,2,3"]).contains("--pa"));
        assert!(parse(&["--config", "/nonexistent/loopmate.toml"]).contains("/nonexistent"));
    }

    #[test]
    fn link_is_taken_with_the_feature_and_refused_by_name_without_it() {
        let from_file = Config::from_toml("[clock]\nsource = \"link\"\n", Flags::default());
        let from_flag = Config::from_toml("", flags(&["--clock", "link"]));
        for config in [from_file, from_flag] {
            if cfg!(feature = "link") {
                assert_eq!(config.unwrap().clock, ClockSource::Link);
            } else {
                let message = config.unwrap_err().to_string();
                assert!(message.contains("`link` feature"), "{message}");
            }
        }
    }

    #[test]
    fn without_a_file_the_defaults_are_stereo_in_pa_1_2_headphones_3_4_on_jack() {
        let config = Config::from_toml("", Flags::default()).unwrap();
        assert_eq!(config.backend, Backend::Jack);
        assert_eq!(numbers(&config.inputs), [1, 2]);
        assert_eq!(numbers(&config.pa), [1, 2]);
        assert_eq!(numbers(&config.headphones), [3, 4]);
        assert_eq!(config.clock, ClockSource::None);
        assert_eq!(config.beats_per_bar, 4);
    }

    #[test]
    fn calibrated_latencies_are_saved_beside_the_files_own_values_and_read_back() {
        let dir = std::env::temp_dir().join(format!("loopmate-config-{}", std::process::id()));
        let path = dir.join("loopmate").join("config.toml");
        let _ = std::fs::remove_dir_all(&dir);
        // A missing file (and folder) is created.
        save_latency(&path, 0.384, None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "[latency]\ninput_ms = 0.38\n");
        // A player's file keeps its comments, layout and values; the latencies are replaced.
        let mine = "# stage rig\n[audio]\nbackend = \"alsa\"   # the USB box\n\n[latency]\n\
                    input_ms = 3.0\nheadphone_delay_ms = 2.5\n";
        std::fs::write(&path, mine).unwrap();
        save_latency(&path, 1.25, Some(9.999)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# stage rig\n[audio]\nbackend = \"alsa\"   # the USB box\n"),
            "{text}"
        );
        let config = Config::from_toml(&text, Flags::default()).unwrap();
        assert_eq!(config.backend, Backend::Alsa);
        assert_eq!(config.input_latency_ms, Some(1.25));
        assert_eq!(config.headphone_delay_ms, Some(10.0));
        // A flag overrides the file.
        let config = Config::from_toml(&text, flags(&["--input-latency-ms", "4.5"])).unwrap();
        assert_eq!(config.input_latency_ms, Some(4.5));
        // A file the standalone would refuse is not edited.
        std::fs::write(&path, "[audio]\nbakend = 1\n").unwrap();
        let error = save_latency(&path, 1.0, None).unwrap_err();
        assert!(
            error.contains("line 2") && error.contains("bakend"),
            "{error}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[audio]\nbakend = 1\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
