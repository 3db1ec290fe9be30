//! A minimal real CLAP host for integration tests, built on `clack-host`.
//!
//! It loads the bundled Loopmate plugin (a shared object exporting `clap_entry`), instantiates and
//! activates it, then feeds it blocks of stereo input with timed note and parameter events and an
//! optional host transport, returning what the plugin wrote to its main output and to its
//! "Headphones" auxiliary output. Host buffers are separate for input and output (no in-place
//! processing) and output buffers are filled with NaN before every call, so a sample the plugin
//! fails to write cannot pass for a correct one.
//!
//! Times are absolute sample positions counted from activation (also passed to the plugin as its
//! steady time), so a test states "note 47 at sample 10 007" once and the harness works out which
//! block and which offset that is for any block-size sequence.

use std::ffi::{CStr, c_char, c_void};
use std::ops::Range;
use std::path::PathBuf;
use std::ptr;

use clack_host::events::event_types::{
    MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::{EventFlags, EventHeader, Match, Pckn};
use clack_host::extensions::{Extension, PluginExtensionSide, RawExtension};
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};

/// The CLAP id of the plugin under test.
pub const PLUGIN_ID: &CStr = c"com.loopmate.loopmate";
/// Largest block the harness ever passes (the `max_frames_count` given at activation).
pub const MAX_BLOCK: usize = 4096;
/// Name of the auxiliary output port carrying the headphone mix.
pub const HEADPHONES_PORT_NAME: &str = "Headphones";
/// How long after its note-on a [`pedal_press`] sends the note-off, in samples.
pub const NOTE_OFF_DELAY: u64 = 3;
/// The environment variable overriding where the CLAP bundle is.
pub const BUNDLE_ENV_VAR: &str = "LOOPMATE_CLAP";

/// Where the plugin bundle is: `$LOOPMATE_CLAP`, else `<workspace>/target/bundled/Loopmate.clap`.
///
/// # Panics
///
/// If there is no file there: the test must fail, not skip, when the plugin has not been built.
pub fn bundle_path() -> PathBuf {
    let path = std::env::var_os(BUNDLE_ENV_VAR).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bundled/Loopmate.clap"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "the Loopmate CLAP plugin was not found at {}: run `cargo xtask bundle loopmate` first \
         (or point {BUNDLE_ENV_VAR} at a built Loopmate.clap)",
        path.display()
    );
    path
}

/// Loads the plugin bundle's CLAP entry.
fn load_entry() -> PluginEntry {
    let path = bundle_path();
    // SAFETY: loading a shared object runs its initialisers; this is our own plugin, built from
    // this workspace, and it exports a CLAP entry as `clap_entry`.
    unsafe { PluginEntry::load(&path) }
        .unwrap_or_else(|error| panic!("cannot load the CLAP entry of {}: {error}", path.display()))
}

/// The ids of every plugin in the bundle's plugin factory, in factory order.
pub fn factory_plugin_ids() -> Vec<String> {
    let entry = load_entry();
    let factory = entry
        .get_plugin_factory()
        .expect("the CLAP entry has no plugin factory");
    factory
        .plugin_descriptors()
        .map(|descriptor| {
            descriptor
                .id()
                .expect("a plugin descriptor has no id")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// A stereo signal: two channels of equal length.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stereo {
    /// Left and right samples.
    pub channels: [Vec<f32>; 2],
}

impl Stereo {
    /// `len` samples of silence.
    pub fn silence(len: usize) -> Self {
        Self {
            channels: [vec![0.0; len], vec![0.0; len]],
        }
    }

    /// Number of samples per channel.
    pub fn len(&self) -> usize {
        self.channels[0].len()
    }

    /// Whether the signal has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Both channels of the samples in `range`.
    pub fn slice(&self, range: Range<usize>) -> [&[f32]; 2] {
        let [left, right] = &self.channels;
        [&left[range.clone()], &right[range]]
    }

    /// Appends the samples of both channels.
    fn extend_from(&mut self, samples: [&[f32]; 2]) {
        for (channel, more) in self.channels.iter_mut().zip(samples) {
            channel.extend_from_slice(more);
        }
    }
}

/// What the plugin wrote to its two stereo outputs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rendered {
    /// Output port 0, the main mix.
    pub main: Stereo,
    /// Output port 1, "Headphones".
    pub phones: Stereo,
}

/// An event the host sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind {
    /// A CLAP note-on (port 0, channel 0, velocity 1, no note id).
    NoteOn {
        /// MIDI key number.
        key: u8,
    },
    /// A CLAP note-off (port 0, channel 0, velocity 0, no note id).
    NoteOff {
        /// MIDI key number.
        key: u8,
    },
    /// A raw MIDI 1.0 message on port 0 (e.g. a CC: `[0xB0 | channel, cc, value]`).
    Midi {
        /// The three MIDI bytes.
        data: [u8; 3],
    },
    /// A CLAP parameter value change. For a nice-plug plugin, `param_id` is [`param_id`] of the
    /// parameter's string id and `value` is in the range the plugin's params extension declares.
    ParamValue {
        /// The CLAP parameter id.
        param_id: u32,
        /// The new value.
        value: f64,
    },
}

/// An event at an absolute sample position (counted from activation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedEvent {
    /// Absolute sample position.
    pub time: u64,
    /// The event.
    pub kind: EventKind,
}

impl TimedEvent {
    /// A note-on of `key` at `time`.
    pub fn note_on(time: u64, key: u8) -> Self {
        Self {
            time,
            kind: EventKind::NoteOn { key },
        }
    }

    /// A note-off of `key` at `time`.
    pub fn note_off(time: u64, key: u8) -> Self {
        Self {
            time,
            kind: EventKind::NoteOff { key },
        }
    }

    /// A MIDI control change on `channel` (0-15) at `time`.
    pub fn cc(time: u64, channel: u8, cc: u8, value: u8) -> Self {
        Self {
            time,
            kind: EventKind::Midi {
                data: [0xb0 | (channel & 0x0f), cc & 0x7f, value & 0x7f],
            },
        }
    }

    /// A parameter change at `time`.
    pub fn param_value(time: u64, param_id: u32, value: f64) -> Self {
        Self {
            time,
            kind: EventKind::ParamValue { param_id, value },
        }
    }

    /// Appends this event to `buffer` as a CLAP event at `offset` samples into the block.
    fn push_to(&self, buffer: &mut EventBuffer, offset: u32) {
        let note = |key: u8| Pckn::new(0u16, 0u16, u16::from(key), Match::All);
        match self.kind {
            EventKind::NoteOn { key } => buffer.push(&NoteOnEvent::new(offset, note(key), 1.0)),
            EventKind::NoteOff { key } => buffer.push(&NoteOffEvent::new(offset, note(key), 0.0)),
            EventKind::Midi { data } => buffer.push(&MidiEvent::new(offset, 0, data)),
            EventKind::ParamValue { param_id, value } => buffer.push(&ParamValueEvent::new(
                offset,
                ClapId::new(param_id),
                Pckn::match_all(),
                value,
            )),
        }
    }
}

/// A foot-pedal press of `key` at `time`: the note-on, and its note-off [`NOTE_OFF_DELAY`] samples
/// later (the plugin acts on the note-on; a real pedal sends both).
pub fn pedal_press(time: u64, key: u8) -> [TimedEvent; 2] {
    [
        TimedEvent::note_on(time, key),
        TimedEvent::note_off(time + NOTE_OFF_DELAY, key),
    ]
}

/// The CLAP parameter id nice-plug gives the parameter with string id `id` (its Rabin
/// fingerprint, top bit cleared; mirrors `hash_param_id` in nice-plug's wrapper).
pub fn param_id(id: &str) -> u32 {
    id.bytes().fold(0u32, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u32::from(byte))
    }) & !(1 << 31)
}

/// The automation event that turns onset quantization off at the start: for tests about exact
/// press-to-press anchors (quantization has its own tests in src/engine/tests/quantize.rs).
pub fn quantize_off() -> TimedEvent {
    TimedEvent::param_value(0, param_id("quantize_mode"), 0.0)
}

/// A playing host transport at a steady tempo, at song position 0 at activation, with an
/// optional change (tempo, jump, stop or start) from a given sample on. Its seconds are the
/// timeline's (a jump moves them too); its musical position is exact or, like Ardour's, rounded
/// to a tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transport {
    /// Tempo in quarter notes per minute.
    pub tempo_bpm: f64,
    /// Time signature numerator.
    pub beats_per_bar: u16,
    /// Time signature denominator.
    pub beat_unit: u16,
    /// What changes, and from when.
    pub change: Option<TransportChange>,
    /// Ticks per quarter note the musical position is rounded to (Ardour: 1920), or `None`.
    pub hint_ticks: Option<f64>,
}

/// A change of the host transport from sample `at` on (give `at` as a block start: hosts send
/// the transport once per block).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransportChange {
    /// Absolute sample from which the change applies.
    pub at: u64,
    /// The tempo from then on, in quarter notes per minute.
    pub tempo_bpm: f64,
    /// The song position at `at` in quarter notes (a jump), or `None` to continue.
    pub jump_to_beats: Option<f64>,
    /// Whether the transport plays from then on (a stopped transport holds its position).
    pub playing: bool,
}

impl Transport {
    /// A steady, playing transport.
    pub fn steady(tempo_bpm: f64, beats_per_bar: u16, beat_unit: u16) -> Self {
        Self {
            tempo_bpm,
            beats_per_bar,
            beat_unit,
            change: None,
            hint_ticks: None,
        }
    }

    /// The same transport rounding its musical position to `ticks` per quarter note.
    pub fn rounded_to(self, ticks: f64) -> Self {
        Self {
            hint_ticks: Some(ticks),
            ..self
        }
    }

    /// The same transport with `change`.
    pub fn with_change(self, change: TransportChange) -> Self {
        Self {
            change: Some(change),
            ..self
        }
    }

    /// Quarter notes in a bar.
    pub fn quarters_per_bar(&self) -> f64 {
        f64::from(self.beats_per_bar) * 4.0 / f64::from(self.beat_unit)
    }

    /// The stretch holding `position`: (its start sample, song position there, tempo, playing).
    fn segment(&self, position: u64, sample_rate: f64) -> (u64, f64, f64, bool) {
        match self.change {
            Some(change) if position >= change.at => {
                let beats = change
                    .jump_to_beats
                    .unwrap_or_else(|| change.at as f64 / sample_rate * self.tempo_bpm / 60.0);
                (change.at, beats, change.tempo_bpm, change.playing)
            }
            _ => (0, 0.0, self.tempo_bpm, true),
        }
    }

    /// Song position in quarter notes at absolute sample `position`.
    pub fn beats_at(&self, position: u64, sample_rate: f64) -> f64 {
        let (from, beats, tempo, playing) = self.segment(position, sample_rate);
        if !playing {
            return beats;
        }
        beats + (position - from) as f64 / sample_rate * tempo / 60.0
    }

    /// Bar length in samples at `position`.
    pub fn bar_samples(&self, position: u64, sample_rate: f64) -> f64 {
        let (_, _, tempo, _) = self.segment(position, sample_rate);
        self.quarters_per_bar() * 60.0 / tempo * sample_rate
    }

    /// The sample in which bar position `bar` lies (a line between two samples starts on the
    /// earlier one, as Ardour places it), on the stretch of the timeline holding `position`.
    pub fn bar_line(&self, position: u64, bar: f64, sample_rate: f64) -> i64 {
        let (from, beats, tempo, _) = self.segment(position, sample_rate);
        let samples_per_quarter = 60.0 / tempo * sample_rate;
        (from as f64 + (bar * self.quarters_per_bar() - beats) * samples_per_quarter + 1e-6).floor()
            as i64
    }

    /// Where a loop of `bars` bars first started on bar `start_bar` is at `position` by the
    /// host's bars: the samples since its last start on the grid (rounded), modulo `length`.
    pub fn loop_index(
        &self,
        position: u64,
        start_bar: f64,
        bars: f64,
        length: u64,
        sample_rate: f64,
    ) -> u64 {
        let bar_now = self.beats_at(position, sample_rate) / self.quarters_per_bar();
        let line = |k: i64| self.bar_line(position, start_bar + k as f64 * bars, sample_rate);
        let mut k = ((bar_now - start_bar) / bars).floor() as i64;
        while line(k) > position as i64 {
            k -= 1;
        }
        while line(k + 1) <= position as i64 {
            k += 1;
        }
        (position as i64 - line(k)) as u64 % length
    }

    /// The timeline position in seconds at absolute sample `position`: the sample time, moved
    /// by a jump to where the jumped-to song position lies (at the first tempo) and held while
    /// stopped.
    fn seconds_at(&self, position: u64, sample_rate: f64) -> f64 {
        match self.change {
            Some(change) if position >= change.at => {
                let at_change = match change.jump_to_beats {
                    Some(beats) => beats * 60.0 / self.tempo_bpm,
                    None => change.at as f64 / sample_rate,
                };
                let since = if change.playing {
                    (position - change.at) as f64 / sample_rate
                } else {
                    0.0
                };
                at_change + since
            }
            _ => position as f64 / sample_rate,
        }
    }

    /// The transport state at the start of the block beginning at absolute sample `position`.
    fn event_at(&self, position: u64, sample_rate: f64) -> TransportEvent {
        let seconds = self.seconds_at(position, sample_rate);
        let exact = self.beats_at(position, sample_rate);
        let beats = self
            .hint_ticks
            .map_or(exact, |ticks| (exact * ticks).round() / ticks);
        let (_, _, tempo, playing) = self.segment(position, sample_rate);
        let bar_beats = self.quarters_per_bar();
        let bar_number = (beats / bar_beats).floor();
        let mut flags = TransportFlags::HAS_TEMPO
            | TransportFlags::HAS_BEATS_TIMELINE
            | TransportFlags::HAS_SECONDS_TIMELINE
            | TransportFlags::HAS_TIME_SIGNATURE;
        if playing {
            flags |= TransportFlags::IS_PLAYING;
        }
        TransportEvent {
            header: EventHeader::new_core(0, EventFlags::empty()),
            flags,
            song_pos_beats: BeatTime::from_float(beats),
            song_pos_seconds: SecondsTime::from_float(seconds),
            tempo,
            tempo_inc: 0.0,
            loop_start_beats: BeatTime::from_int(0),
            loop_end_beats: BeatTime::from_int(0),
            loop_start_seconds: SecondsTime::from_int(0),
            loop_end_seconds: SecondsTime::from_int(0),
            bar_start: BeatTime::from_float(bar_number * bar_beats),
            bar_number: bar_number as i32,
            time_signature_numerator: self.beats_per_bar,
            time_signature_denominator: self.beat_unit,
        }
    }
}

/// The host's handler types: every callback is a no-op (the tests drive everything themselves).
struct TestHost;

/// The host's thread-safe handler.
struct TestHostShared;

impl SharedHandler<'_> for TestHostShared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

impl HostHandlers for TestHost {
    type Shared<'a> = TestHostShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

/// A plugin extension wrapper `$name` around the raw struct `$raw` (the C struct behind the
/// extension `$id`, declared `#[repr(C)]` with the header's field order): clack-host ships only
/// the raw plumbing.
macro_rules! plugin_extension {
    ($(#[$doc:meta])* $name:ident, $raw:ident, $id:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        struct $name(RawExtension<PluginExtensionSide, $raw>);

        // SAFETY: `$raw` is the C struct the CLAP headers define for the extension `$id`.
        unsafe impl Extension for $name {
            const IDENTIFIERS: &'static [&'static CStr] = &[$id];
            type ExtensionSide = PluginExtensionSide;

            unsafe fn from_raw(raw: RawExtension<PluginExtensionSide>) -> Self {
                // SAFETY: the caller guarantees the pointer is the extension named by
                // IDENTIFIERS.
                Self(unsafe { raw.cast() })
            }
        }
    };
}

/// Number of bytes in a CLAP name (`CLAP_NAME_SIZE`).
const CLAP_NAME_SIZE: usize = 256;

/// `clap_audio_port_info`.
#[repr(C)]
struct RawAudioPortInfo {
    id: u32,
    name: [c_char; CLAP_NAME_SIZE],
    flags: u32,
    channel_count: u32,
    port_type: *const c_char,
    in_place_pair: u32,
}

/// `clap_plugin_audio_ports` (the plugin pointer is passed as an untyped pointer).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawAudioPorts {
    count: Option<unsafe extern "C" fn(plugin: *const c_void, is_input: bool) -> u32>,
    get: Option<
        unsafe extern "C" fn(
            plugin: *const c_void,
            index: u32,
            is_input: bool,
            info: *mut RawAudioPortInfo,
        ) -> bool,
    >,
}

plugin_extension!(
    /// The plugin's `clap.audio-ports` extension (clack-host itself only ships the raw plumbing).
    PluginAudioPorts,
    RawAudioPorts,
    c"clap.audio-ports"
);

/// One audio port as the plugin declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPortInfo {
    /// Display name.
    pub name: String,
    /// Number of channels.
    pub channel_count: u32,
}

/// The input (`is_input`) or output audio ports the plugin declares.
fn audio_ports(instance: &mut PluginInstance<TestHost>, is_input: bool) -> Vec<AudioPortInfo> {
    let handle = instance.plugin_handle();
    let extension = handle
        .get_extension::<PluginAudioPorts>()
        .expect("the plugin has no clap.audio-ports extension");
    let functions = handle.use_extension(&extension.0);
    let (Some(count), Some(get)) = (functions.count, functions.get) else {
        panic!("the plugin's clap.audio-ports extension has null functions");
    };
    let plugin = extension
        .0
        .plugin_ptr()
        .as_ptr()
        .cast::<c_void>()
        .cast_const();
    // SAFETY: `plugin` is the live instance the extension came from, on its main thread.
    let port_count = unsafe { count(plugin, is_input) };
    (0..port_count)
        .map(|index| {
            let mut info = RawAudioPortInfo {
                id: 0,
                name: [0; CLAP_NAME_SIZE],
                flags: 0,
                channel_count: 0,
                port_type: ptr::null(),
                in_place_pair: 0,
            };
            // SAFETY: as above; `info` is a valid, writable `clap_audio_port_info`.
            assert!(
                unsafe { get(plugin, index, is_input, &mut info) },
                "audio-ports get({index}, is_input: {is_input}) failed"
            );
            // SAFETY: CLAP names are NUL-terminated within CLAP_NAME_SIZE; force it regardless.
            info.name[CLAP_NAME_SIZE - 1] = 0;
            let name = unsafe { CStr::from_ptr(info.name.as_ptr()) };
            AudioPortInfo {
                name: name.to_string_lossy().into_owned(),
                channel_count: info.channel_count,
            }
        })
        .collect()
}

/// `clap_plugin_latency` (the plugin pointer is passed as an untyped pointer).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawLatency {
    get: Option<unsafe extern "C" fn(plugin: *const c_void) -> u32>,
}

plugin_extension!(
    /// The plugin's `clap.latency` extension.
    PluginLatency,
    RawLatency,
    c"clap.latency"
);

/// `clap_plugin_render` (the plugin pointer is passed as an untyped pointer).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawRender {
    has_hard_realtime_requirement: Option<unsafe extern "C" fn(plugin: *const c_void) -> bool>,
    set: Option<unsafe extern "C" fn(plugin: *const c_void, mode: i32) -> bool>,
}

/// `CLAP_RENDER_OFFLINE`: the host renders as fast as it can (a bounce).
const CLAP_RENDER_OFFLINE: i32 = 1;

plugin_extension!(
    /// The plugin's `clap.render` extension.
    PluginRender,
    RawRender,
    c"clap.render"
);

/// Puts the (not yet activated) instance in offline render mode through `clap.render`.
fn set_render_offline(instance: &mut PluginInstance<TestHost>) {
    let handle = instance.plugin_handle();
    let extension = handle
        .get_extension::<PluginRender>()
        .expect("the plugin has no clap.render extension");
    let set = handle
        .use_extension(&extension.0)
        .set
        .expect("null render.set");
    let plugin = extension
        .0
        .plugin_ptr()
        .as_ptr()
        .cast::<c_void>()
        .cast_const();
    // SAFETY: `plugin` is the live instance, on its main thread, not yet activated.
    assert!(
        unsafe { set(plugin, CLAP_RENDER_OFFLINE) },
        "render.set(offline) failed"
    );
}

/// `clap_ostream`.
#[repr(C)]
struct RawOStream {
    ctx: *mut c_void,
    write: unsafe extern "C" fn(stream: *const RawOStream, buffer: *const c_void, size: u64) -> i64,
}

/// `clap_istream`.
#[repr(C)]
struct RawIStream {
    ctx: *mut c_void,
    read: unsafe extern "C" fn(stream: *const RawIStream, buffer: *mut c_void, size: u64) -> i64,
}

/// `clap_plugin_state` (the plugin pointer is passed as an untyped pointer).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawState {
    save: Option<unsafe extern "C" fn(plugin: *const c_void, stream: *const RawOStream) -> bool>,
    load: Option<unsafe extern "C" fn(plugin: *const c_void, stream: *const RawIStream) -> bool>,
}

plugin_extension!(
    /// The plugin's `clap.state` extension.
    PluginStateExt,
    RawState,
    c"clap.state"
);

/// Appends what the plugin writes to the `Vec<u8>` behind `ctx`.
unsafe extern "C" fn write_to_vec(
    stream: *const RawOStream,
    buffer: *const c_void,
    size: u64,
) -> i64 {
    // SAFETY: `stream` is the stream `save_state` passed, whose `ctx` is a live `Vec<u8>`, and
    // the plugin hands a buffer of `size` readable bytes.
    unsafe {
        let out = &mut *((*stream).ctx as *mut Vec<u8>);
        out.extend_from_slice(std::slice::from_raw_parts(
            buffer as *const u8,
            size as usize,
        ));
    }
    size as i64
}

/// A byte slice being read by the plugin, and how far.
struct ReadCursor<'a> {
    data: &'a [u8],
    at: usize,
}

/// Copies the next bytes of the `ReadCursor` behind `ctx` (at most `size`); 0 at the end.
unsafe extern "C" fn read_from_slice(
    stream: *const RawIStream,
    buffer: *mut c_void,
    size: u64,
) -> i64 {
    // SAFETY: `stream` is the stream `load_state` passed, whose `ctx` is a live `ReadCursor`, and
    // the plugin hands a buffer of `size` writable bytes.
    unsafe {
        let cursor = &mut *((*stream).ctx as *mut ReadCursor);
        let n = (cursor.data.len() - cursor.at).min(size as usize);
        std::ptr::copy_nonoverlapping(cursor.data[cursor.at..].as_ptr(), buffer as *mut u8, n);
        cursor.at += n;
        n as i64
    }
}

/// Saves the instance's state through `clap.state` (on its main thread).
fn save_state(instance: &mut PluginInstance<TestHost>) -> Vec<u8> {
    let handle = instance.plugin_handle();
    let extension = handle
        .get_extension::<PluginStateExt>()
        .expect("the plugin has no clap.state extension");
    let save = handle
        .use_extension(&extension.0)
        .save
        .expect("null state.save");
    let plugin = extension
        .0
        .plugin_ptr()
        .as_ptr()
        .cast::<c_void>()
        .cast_const();
    let mut out: Vec<u8> = Vec::new();
    let stream = RawOStream {
        ctx: (&mut out as *mut Vec<u8>).cast(),
        write: write_to_vec,
    };
    // SAFETY: `plugin` is the live instance, on its main thread; `stream` outlives the call.
    assert!(unsafe { save(plugin, &stream) }, "state.save failed");
    out
}

/// Loads `data` through `clap.state` (on the instance's main thread); the plugin's answer.
fn load_state(instance: &mut PluginInstance<TestHost>, data: &[u8]) -> bool {
    let handle = instance.plugin_handle();
    let extension = handle
        .get_extension::<PluginStateExt>()
        .expect("the plugin has no clap.state extension");
    let load = handle
        .use_extension(&extension.0)
        .load
        .expect("null state.load");
    let plugin = extension
        .0
        .plugin_ptr()
        .as_ptr()
        .cast::<c_void>()
        .cast_const();
    let mut cursor = ReadCursor { data, at: 0 };
    let stream = RawIStream {
        ctx: (&mut cursor as *mut ReadCursor).cast(),
        read: read_from_slice,
    };
    // SAFETY: `plugin` is the live instance, on its main thread; `stream` outlives the call.
    unsafe { load(plugin, &stream) }
}

/// `clap_audio_ports_config`.
#[repr(C)]
struct RawAudioPortsConfig {
    id: u32,
    name: [c_char; CLAP_NAME_SIZE],
    input_port_count: u32,
    output_port_count: u32,
    has_main_input: bool,
    main_input_channel_count: u32,
    main_input_port_type: *const c_char,
    has_main_output: bool,
    main_output_channel_count: u32,
    main_output_port_type: *const c_char,
}

/// `clap_plugin_audio_ports_config` (the plugin pointer is passed as an untyped pointer).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawAudioPortsConfigs {
    count: Option<unsafe extern "C" fn(plugin: *const c_void) -> u32>,
    get: Option<
        unsafe extern "C" fn(
            plugin: *const c_void,
            index: u32,
            config: *mut RawAudioPortsConfig,
        ) -> bool,
    >,
    select: Option<unsafe extern "C" fn(plugin: *const c_void, config_id: u32) -> bool>,
}

plugin_extension!(
    /// The plugin's `clap.audio-ports-config` extension: the layouts a host offers the user.
    PluginAudioPortsConfigs,
    RawAudioPortsConfigs,
    c"clap.audio-ports-config"
);

/// The untyped plugin pointer an extension's functions take.
fn plugin_pointer<T>(extension: &RawExtension<PluginExtensionSide, T>) -> *const c_void {
    extension
        .plugin_ptr()
        .as_ptr()
        .cast::<c_void>()
        .cast_const()
}

/// Selects the audio-ports configuration (layout) named `name`, as a host does before
/// activating when the user picks a layout (nice-plug names them after `AudioIOLayout::names`).
fn select_layout(instance: &mut PluginInstance<TestHost>, name: &str) {
    let handle = instance.plugin_handle();
    let extension = handle
        .get_extension::<PluginAudioPortsConfigs>()
        .expect("the plugin has no clap.audio-ports-config extension");
    let functions = handle.use_extension(&extension.0);
    let (Some(count), Some(get), Some(select)) = (functions.count, functions.get, functions.select)
    else {
        panic!("the plugin's clap.audio-ports-config extension has null functions");
    };
    let plugin = plugin_pointer(&extension.0);
    let mut names = Vec::new();
    // SAFETY: `plugin` is the live instance the extension came from, on its main thread, not
    // activated.
    for index in 0..unsafe { count(plugin) } {
        // SAFETY: all-zero is a valid `clap_audio_ports_config` (null pointers, false, 0).
        let mut config: RawAudioPortsConfig = unsafe { std::mem::zeroed() };
        // SAFETY: as above; `config` is valid and writable.
        assert!(
            unsafe { get(plugin, index, &mut config) },
            "audio-ports-config get({index}) failed"
        );
        config.name[CLAP_NAME_SIZE - 1] = 0;
        // SAFETY: NUL-terminated within the array (forced above).
        let config_name = unsafe { CStr::from_ptr(config.name.as_ptr()) }.to_string_lossy();
        if config_name == name {
            // SAFETY: as above; `config.id` is an id the plugin gave.
            assert!(
                unsafe { select(plugin, config.id) },
                "audio-ports-config select({name:?}) failed"
            );
            return;
        }
        names.push(config_name.into_owned());
    }
    panic!("the plugin has no audio-ports configuration {name:?}, only {names:?}");
}

/// Bytes in a CLAP module path (`CLAP_PATH_SIZE`).
const CLAP_PATH_SIZE: usize = 1024;
/// `CLAP_PARAM_IS_STEPPED`: the parameter takes whole values only.
const CLAP_PARAM_IS_STEPPED: u32 = 1;

/// `clap_param_info`.
#[repr(C)]
struct RawParamInfo {
    id: u32,
    flags: u32,
    cookie: *mut c_void,
    name: [c_char; CLAP_NAME_SIZE],
    module: [c_char; CLAP_PATH_SIZE],
    min_value: f64,
    max_value: f64,
    default_value: f64,
}

/// `clap_plugin_params` (the plugin pointer is passed as an untyped pointer).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawParams {
    count: Option<unsafe extern "C" fn(plugin: *const c_void) -> u32>,
    get_info: Option<
        unsafe extern "C" fn(plugin: *const c_void, index: u32, info: *mut RawParamInfo) -> bool,
    >,
    get_value:
        Option<unsafe extern "C" fn(plugin: *const c_void, id: u32, value: *mut f64) -> bool>,
    value_to_text: Option<
        unsafe extern "C" fn(
            plugin: *const c_void,
            id: u32,
            value: f64,
            display: *mut c_char,
            size: u32,
        ) -> bool,
    >,
    text_to_value: Option<
        unsafe extern "C" fn(
            plugin: *const c_void,
            id: u32,
            display: *const c_char,
            value: *mut f64,
        ) -> bool,
    >,
}

plugin_extension!(
    /// The plugin's `clap.params` extension.
    PluginParams,
    RawParams,
    c"clap.params"
);

/// A parameter as the plugin declares it through `clap.params`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    /// The CLAP parameter id.
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Whether it takes whole values only (`CLAP_PARAM_IS_STEPPED`): then its values are the
    /// steps 0 ..= `max_value`.
    pub stepped: bool,
    /// Lowest value.
    pub min_value: f64,
    /// Highest value.
    pub max_value: f64,
}

/// An activated, processing instance of the plugin.
///
/// Dropping it stops processing and deactivates the plugin (also when a test panics).
pub struct TestPlugin {
    /// The running audio processor; `None` once deactivated.
    processor: Option<StartedPluginAudioProcessor<TestHost>>,
    /// The plugin instance (keeps the entry loaded).
    instance: PluginInstance<TestHost>,
    /// Sample rate given at activation.
    sample_rate: f64,
    /// Absolute sample position of the next block.
    position: u64,
    /// Port descriptors for the input buffers.
    input_ports: AudioPorts,
    /// Port descriptors for the output buffers.
    output_ports: AudioPorts,
    /// Host input buffers, left and right, [`MAX_BLOCK`] long.
    input: [Vec<f32>; 2],
    /// Channels of the plugin's input port (1 or 2): the first this many of `input` are sent.
    input_channels: usize,
    /// Whether the plugin's output is one 4-channel port (PA 1/2, headphones 3/4) rather than
    /// two stereo ports.
    four_out: bool,
    /// Host output buffers: main left, main right, headphones left, headphones right.
    outputs: [Vec<f32>; 4],
    /// This block's input events.
    events: EventBuffer,
    /// Events the plugin sends back (ignored).
    output_events: EventBuffer,
}

impl TestPlugin {
    /// Loads the bundle, instantiates the plugin, checks its audio ports (stereo input; stereo
    /// main output and a stereo "Headphones" output), activates it at `sample_rate` with blocks of
    /// 1 ..= [`MAX_BLOCK`] samples, and starts processing.
    pub fn activate(sample_rate: f64) -> Self {
        Self::activate_after_loading(sample_rate, None).0
    }

    /// Like [`activate`](Self::activate), with the audio-ports configuration (layout) named
    /// `layout` selected first, as a host does when the user picks one. With a one-channel input
    /// ("Mono in") the plugin gets only the left channel of the signals the harness is given.
    pub fn activate_with_layout(sample_rate: f64, layout: &str) -> Self {
        Self::activate_with(sample_rate, None, false, Some(layout)).0
    }

    /// Like [`activate`](Self::activate), loading `state` (through `clap.state`) into the fresh
    /// instance before activating it; also returns what the plugin answered to the load.
    pub fn activate_after_loading(sample_rate: f64, state: Option<&[u8]>) -> (Self, bool) {
        Self::activate_with(sample_rate, state, false, None)
    }

    /// Like [`activate`](Self::activate), in offline render mode (`clap.render`, set before
    /// activation, as a host does for a bounce faster than real time).
    pub fn activate_offline(sample_rate: f64) -> Self {
        Self::activate_with(sample_rate, None, true, None).0
    }

    /// Instantiates, loads `state` if any, sets offline render mode if asked, selects `layout`
    /// if given (else the plugin's default, stereo in), and activates.
    fn activate_with(
        sample_rate: f64,
        state: Option<&[u8]>,
        offline: bool,
        layout: Option<&str>,
    ) -> (Self, bool) {
        let entry = load_entry();
        let host_info = HostInfo::new(
            "Loopmate test host",
            "Loopmate",
            "https://example.invalid/loopmate",
            env!("CARGO_PKG_VERSION"),
        )
        .expect("host info strings contain no NUL");
        let mut instance = PluginInstance::<TestHost>::new(
            |_| TestHostShared,
            |_| (),
            &entry,
            PLUGIN_ID,
            &host_info,
        )
        .unwrap_or_else(|error| panic!("cannot instantiate {PLUGIN_ID:?}: {error}"));

        let loaded = state.is_none_or(|state| load_state(&mut instance, state));
        if offline {
            set_render_offline(&mut instance);
        }
        if let Some(layout) = layout {
            select_layout(&mut instance, layout);
        }
        let inputs = audio_ports(&mut instance, true);
        let outputs = audio_ports(&mut instance, false);
        let input_channels = match (inputs.as_slice(), layout) {
            ([port], None) if port.channel_count == 2 => 2,
            ([port], Some(_)) if (1..=2).contains(&port.channel_count) => port.channel_count,
            _ => panic!(
                "expected one stereo (or chosen mono) input port, the plugin declares {inputs:?}"
            ),
        };
        let four_out = match outputs.as_slice() {
            [main, phones]
                if main.channel_count == 2
                    && phones.channel_count == 2
                    && phones.name == HEADPHONES_PORT_NAME
                    && main.name != inputs[0].name =>
            {
                false
            }
            [pa_and_phones] if layout.is_some() && pa_and_phones.channel_count == 4 => true,
            _ => panic!(
                "expected a stereo main output (not named as the input) and a stereo \
                 \"{HEADPHONES_PORT_NAME}\" output, or a chosen 4-channel output, the plugin \
                 declares {outputs:?}"
            ),
        };

        let configuration = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: MAX_BLOCK as u32,
        };
        let processor = instance
            .activate(|_, _| (), configuration)
            .unwrap_or_else(|error| panic!("activation at {sample_rate} Hz failed: {error}"))
            .start_processing()
            .unwrap_or_else(|error| panic!("start_processing failed: {error}"));

        let plugin = Self {
            processor: Some(processor),
            instance,
            sample_rate,
            position: 0,
            // Capacities cover every channel: clack-host mis-slices its pointer list if it has to
            // grow it while several ports are being set up.
            input_ports: AudioPorts::with_capacity(2, 1),
            output_ports: AudioPorts::with_capacity(4, 2),
            input: [vec![0.0; MAX_BLOCK], vec![0.0; MAX_BLOCK]],
            input_channels: input_channels as usize,
            four_out,
            outputs: std::array::from_fn(|_| vec![0.0; MAX_BLOCK]),
            events: EventBuffer::with_capacity(64),
            output_events: EventBuffer::with_capacity(64),
        };
        (plugin, loaded)
    }

    /// The plugin's state as the host would save it with a project (`clap.state` save, on the
    /// main thread, while the plugin is processing).
    pub fn save_state(&mut self) -> Vec<u8> {
        save_state(&mut self.instance)
    }

    /// Loads a state into the running plugin (`clap.state` load); the plugin's answer.
    pub fn load_state(&mut self, data: &[u8]) -> bool {
        load_state(&mut self.instance, data)
    }

    /// The sample rate the plugin was activated at.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// The latency the plugin reports to the host (`clap.latency`), in samples.
    pub fn latency_samples(&mut self) -> u32 {
        let handle = self.instance.plugin_handle();
        let extension = handle
            .get_extension::<PluginLatency>()
            .expect("the plugin has no clap.latency extension");
        let get = handle
            .use_extension(&extension.0)
            .get
            .expect("the plugin's clap.latency extension has a null get()");
        let plugin = extension
            .0
            .plugin_ptr()
            .as_ptr()
            .cast::<c_void>()
            .cast_const();
        // SAFETY: `plugin` is the live, activated instance the extension came from, on its main
        // thread (where the host asks for the latency).
        unsafe { get(plugin) }
    }

    /// The plugin's `clap.params` functions and the plugin pointer they take.
    fn params_extension(&mut self) -> (RawParams, *const c_void) {
        let handle = self.instance.plugin_handle();
        let extension = handle
            .get_extension::<PluginParams>()
            .expect("the plugin has no clap.params extension");
        (
            *handle.use_extension(&extension.0),
            plugin_pointer(&extension.0),
        )
    }

    /// Every parameter the plugin declares (`clap.params`), in its order.
    pub fn params(&mut self) -> Vec<ParamInfo> {
        let (functions, plugin) = self.params_extension();
        let (Some(count), Some(get_info)) = (functions.count, functions.get_info) else {
            panic!("the plugin's clap.params extension has null functions");
        };
        // SAFETY: `plugin` is the live instance the extension came from, on its main thread.
        let params = unsafe { count(plugin) };
        (0..params)
            .map(|index| {
                // SAFETY: all-zero is a valid `clap_param_info` (a null cookie, empty names).
                let mut info: RawParamInfo = unsafe { std::mem::zeroed() };
                // SAFETY: as above; `info` is valid and writable.
                assert!(
                    unsafe { get_info(plugin, index, &mut info) },
                    "params get_info({index}) failed"
                );
                info.name[CLAP_NAME_SIZE - 1] = 0;
                // SAFETY: NUL-terminated within the array (forced above).
                let name = unsafe { CStr::from_ptr(info.name.as_ptr()) };
                ParamInfo {
                    id: info.id,
                    name: name.to_string_lossy().into_owned(),
                    stepped: info.flags & CLAP_PARAM_IS_STEPPED != 0,
                    min_value: info.min_value,
                    max_value: info.max_value,
                }
            })
            .collect()
    }

    /// The plugin's text for `value` of the parameter `id` (`value_to_text`, the text a host
    /// shows), or `None` if the plugin gives none.
    pub fn value_to_text(&mut self, id: u32, value: f64) -> Option<String> {
        let (functions, plugin) = self.params_extension();
        let value_to_text = functions.value_to_text.expect("null params.value_to_text");
        let mut text: [c_char; CLAP_NAME_SIZE] = [0; CLAP_NAME_SIZE];
        // SAFETY: `plugin` is the live instance, on its main thread; `text` holds the size given.
        let given =
            unsafe { value_to_text(plugin, id, value, text.as_mut_ptr(), CLAP_NAME_SIZE as u32) };
        text[CLAP_NAME_SIZE - 1] = 0;
        // SAFETY: NUL-terminated within the array (forced above).
        given.then(|| {
            unsafe { CStr::from_ptr(text.as_ptr()) }
                .to_string_lossy()
                .into_owned()
        })
    }

    /// The value the plugin reads from `text` for the parameter `id` (`text_to_value`, what a
    /// host does with what the user types), or `None` if it cannot read it.
    pub fn text_to_value(&mut self, id: u32, text: &str) -> Option<f64> {
        let (functions, plugin) = self.params_extension();
        let text_to_value = functions.text_to_value.expect("null params.text_to_value");
        let text = std::ffi::CString::new(text).expect("a parameter text has no NUL");
        let mut value = f64::NAN;
        // SAFETY: `plugin` is the live instance, on its main thread; `text` is NUL-terminated
        // and `value` writable.
        unsafe { text_to_value(plugin, id, text.as_ptr(), &mut value) }.then_some(value)
    }

    /// Absolute sample position of the next block.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Processes one block of `input` (both channels 1 ..= [`MAX_BLOCK`] samples long) starting
    /// at [`position`](Self::position), with `events` (absolute times, all inside this block) and
    /// the transport state at the block start, and returns what the plugin wrote.
    pub fn process_block(
        &mut self,
        input: [&[f32]; 2],
        events: &[TimedEvent],
        transport: Option<&Transport>,
    ) -> Rendered {
        let frames = input[0].len();
        assert_eq!(input[1].len(), frames, "input channels differ in length");
        assert!(
            (1..=MAX_BLOCK).contains(&frames),
            "block of {frames} samples: must be 1 ..= {MAX_BLOCK}"
        );
        let start = self.position;
        let block = start..start + frames as u64;

        self.events.clear();
        for event in events {
            assert!(
                block.contains(&event.time),
                "event {event:?} is outside the block {block:?}"
            );
            event.push_to(&mut self.events, (event.time - start) as u32);
        }
        self.events.sort();

        for (buffer, samples) in self.input.iter_mut().zip(input) {
            buffer[..frames].copy_from_slice(samples);
        }
        for buffer in &mut self.outputs {
            buffer[..frames].fill(f32::NAN);
        }
        let transport = transport.map(|transport| transport.event_at(start, self.sample_rate));

        let input_channels = (self.input.iter_mut().take(self.input_channels))
            .map(|channel| InputChannel::variable(&mut channel[..frames]));
        let input_audio = self.input_ports.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only(input_channels),
        }]);
        let [main_left, main_right, phones_left, phones_right] = &mut self.outputs;
        let (main, phones) = (
            [&mut main_left[..frames], &mut main_right[..frames]],
            [&mut phones_left[..frames], &mut phones_right[..frames]],
        );
        let mut output_audio = if self.four_out {
            let [main_left, main_right] = main;
            let [phones_left, phones_right] = phones;
            self.output_ports.with_output_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only([
                    main_left,
                    main_right,
                    phones_left,
                    phones_right,
                ]),
            }])
        } else {
            self.output_ports.with_output_buffers([
                AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_output_only(main),
                },
                AudioPortBuffer {
                    latency: 0,
                    channels: AudioPortBufferType::f32_output_only(phones),
                },
            ])
        };
        self.output_events.clear();
        let processor = self
            .processor
            .as_mut()
            .expect("process_block after deactivate");
        processor
            .process(
                &input_audio,
                &mut output_audio,
                &self.events.as_input(),
                &mut self.output_events.as_output(),
                Some(start),
                transport.as_ref(),
            )
            .unwrap_or_else(|error| panic!("process() of block {block:?} failed: {error}"));
        self.position = block.end;

        let [main_left, main_right, phones_left, phones_right] = &self.outputs;
        Rendered {
            main: Stereo {
                channels: [main_left[..frames].to_vec(), main_right[..frames].to_vec()],
            },
            phones: Stereo {
                channels: [
                    phones_left[..frames].to_vec(),
                    phones_right[..frames].to_vec(),
                ],
            },
        }
    }

    /// Runs all of `input` through the plugin from the current position, in blocks whose sizes
    /// are taken in turn from `block_sizes` (the last block is cut to what remains), sending each
    /// of `events` (absolute times, in any order, all inside the signal) in its block.
    ///
    /// # Panics
    ///
    /// If `block_sizes` runs out before the signal does, or yields 0 or more than [`MAX_BLOCK`].
    pub fn run(
        &mut self,
        input: &Stereo,
        events: &[TimedEvent],
        block_sizes: impl IntoIterator<Item = usize>,
        transport: Option<&Transport>,
    ) -> Rendered {
        let start = self.position;
        let span = start..start + input.len() as u64;
        let mut events = events.to_vec();
        events.sort_by_key(|event| event.time);
        if let Some(outside) = events.iter().find(|event| !span.contains(&event.time)) {
            panic!("event {outside:?} is outside the signal {span:?}");
        }

        let mut rendered = Rendered {
            main: Stereo::default(),
            phones: Stereo::default(),
        };
        let mut block_sizes = block_sizes.into_iter();
        let mut offset = 0;
        let mut pending = events.as_slice();
        while offset < input.len() {
            let size = block_sizes
                .next()
                .expect("the block size sequence ended before the signal")
                .min(input.len() - offset);
            let end = self.position + size as u64;
            let in_block = pending.partition_point(|event| event.time < end);
            let block = self.process_block(
                input.slice(offset..offset + size),
                &pending[..in_block],
                transport,
            );
            pending = &pending[in_block..];
            rendered.main.extend_from(block.main.slice(0..size));
            rendered.phones.extend_from(block.phones.slice(0..size));
            offset += size;
        }
        rendered
    }

    /// [`run`](Self::run) with every block `block_size` samples long.
    pub fn run_fixed(
        &mut self,
        input: &Stereo,
        events: &[TimedEvent],
        block_size: usize,
        transport: Option<&Transport>,
    ) -> Rendered {
        self.run(input, events, std::iter::repeat(block_size), transport)
    }

    /// Stops processing and deactivates the plugin (dropping does the same).
    pub fn deactivate(mut self) {
        self.shut_down();
    }

    /// Stops processing and deactivates, once.
    fn shut_down(&mut self) {
        if let Some(processor) = self.processor.take() {
            self.instance.deactivate(processor.stop_processing());
        }
    }
}

impl Drop for TestPlugin {
    fn drop(&mut self) {
        self.shut_down();
    }
}
