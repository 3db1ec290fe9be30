//! The standalone's audio thread: one period of the interface in, the plugin's PA and headphone
//! mixes out, MIDI in at its frame, and the transport from the chosen clock.
//!
//! Every backend (JACK, ALSA, dummy) fills [`Processor::input`], lists the period's MIDI in a
//! [`MidiIn`] slice and calls [`Processor::process`], then copies [`Processor::pa`] and
//! [`Processor::headphones`] to the device channels the configuration routes them to.
//!
//! Realtime: [`Processor::process`] never allocates, locks or waits (checked by nice-plug's
//! allocation checker in debug builds); every buffer is allocated in [`Processor::new`].

use nice_plug::context::PluginApi;
use nice_plug::context::process::{SendEventError, Transport};
use nice_plug::params::internals::ParamPtr;
use nice_plug::prelude::*;

use super::latency::{self, CalibrationSlot, Calibrator};
use crate::Loopmate;
use crate::engine::host_clock::HostTransport;
use crate::midi_clock::follower::ClockFollower;
use crate::tempo_source::TempoSource;

/// MIDI messages one period can carry to the plugin (notes and CCs; realtime messages go to the
/// clock follower and don't count).
const MIDI_CAPACITY: usize = 1024;

/// A parameter change from the editor, applied at the next period's start.
#[derive(Debug, Clone, Copy)]
pub struct ParamChange {
    /// The parameter.
    pub param: ParamPtr,
    /// Its new normalized value.
    pub normalized: f32,
}

// SAFETY: a `ParamPtr` points into the plugin's parameters, which live (behind an `Arc`) as
// long as the plugin; their values are atomics, set from the audio thread only.
unsafe impl Send for ParamChange {}

/// A MIDI message of a period, at its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MidiIn {
    /// Frame in the period.
    pub offset: u32,
    /// Status and data bytes (a realtime message uses the first only).
    pub bytes: [u8; 3],
    /// Bytes used.
    pub len: u8,
}

impl MidiIn {
    /// A message of up to three bytes at `offset` (longer ones, SysEx, are not for Loopmate).
    pub fn new(offset: u32, bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() || bytes.len() > 3 {
            return None;
        }
        let mut message = [0; 3];
        message[..bytes.len()].copy_from_slice(bytes);
        Some(Self {
            offset,
            bytes: message,
            len: bytes.len() as u8,
        })
    }

    /// The bytes used.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// What the plugin's transport follows.
pub enum TransportSource {
    /// Nothing: the transport stops (free mode works, host-sync mode waits).
    None,
    /// The backend's own transport (JACK's, when it rolls with a tempo).
    Backend,
    /// MIDI beat clock.
    MidiClock(Box<ClockFollower>),
    /// An Ableton Link session (the `link` feature).
    #[cfg(feature = "link")]
    Link(Box<super::link::LinkSource>),
}

/// The audio thread's side of the standalone. Owns the plugin.
pub struct Processor {
    /// The plugin.
    plugin: Loopmate,
    /// Sample rate in hertz.
    sample_rate_hz: f32,
    /// Channels recorded (1 or 2): with one, the second main channel is cleared each period.
    input_channels: usize,
    /// Longest period the buffers hold, in frames.
    max_frames: usize,
    /// The recorded input, then the PA mix (the plugin works in place), two channels.
    main: [Box<[f32]>; 2],
    /// The headphone mix, two channels.
    phones: [Box<[f32]>; 2],
    /// nice-plug's view of `main`, its slices set each period.
    main_buffer: Buffer<'static>,
    /// nice-plug's view of `phones`.
    aux_buffers: [Buffer<'static>; 1],
    /// The period's notes and CCs for the plugin.
    events: Vec<PluginNoteEvent<Loopmate>>,
    /// Parameter changes from the editor.
    param_changes: rtrb::Consumer<ParamChange>,
    /// What the transport follows.
    transport_source: TransportSource,
    /// Frames processed since the start: the clock follower's time base, in samples.
    now_samples: u64,
    /// Latency calibration, once [`Processor::calibrator`] set it up.
    calibration: Option<CalibrationSlot>,
}

impl Processor {
    /// The processor of `plugin` (activated) for periods up to `max_frames`. Not realtime.
    pub(super) fn new(
        plugin: Loopmate,
        sample_rate_hz: f32,
        input_channels: usize,
        max_frames: usize,
        param_changes: rtrb::Consumer<ParamChange>,
    ) -> Self {
        let channel = || vec![0.0f32; max_frames].into_boxed_slice();
        let mut processor = Self {
            plugin,
            sample_rate_hz,
            input_channels,
            max_frames,
            main: [channel(), channel()],
            phones: [channel(), channel()],
            main_buffer: Buffer::default(),
            aux_buffers: [Buffer::default()],
            events: Vec::with_capacity(MIDI_CAPACITY),
            param_changes,
            transport_source: TransportSource::None,
            now_samples: 0,
            calibration: None,
        };
        // The buffers' slice lists get their capacity here, off the audio thread.
        processor.point_buffers(max_frames);
        processor
    }

    /// Sets what the transport follows. Not realtime (call before the audio starts).
    pub fn set_transport_source(&mut self, source: TransportSource) {
        let shown = match &source {
            // Only JACK has a transport of its own.
            TransportSource::None | TransportSource::Backend => TempoSource::JackTransport,
            TransportSource::MidiClock(_) => TempoSource::MidiClock,
            #[cfg(feature = "link")]
            TransportSource::Link(_) => TempoSource::Link,
        };
        self.plugin.tempo_source().set_source(shown);
        self.transport_source = source;
    }

    /// The worker's end of latency calibration: runs it hands over play on the outputs instead
    /// of the mixes. Not realtime (call before the audio starts).
    pub fn calibrator(&mut self) -> Calibrator {
        let (slot, calibrator) = latency::link(self.sample_rate_hz, self.max_frames);
        self.calibration = Some(slot);
        calibrator
    }

    /// The longest period the processor takes, in frames.
    pub fn max_frames(&self) -> usize {
        self.max_frames
    }

    /// The MIDI clock (0xF8, start, stop) of the last period, at its frames: Loopmate as the
    /// master, from the anchor's whole beats.
    pub fn clock_out(&self) -> &[crate::engine::ClockMessage] {
        self.plugin.clock_out()
    }

    /// Input channel `channel` (0 or 1) for the next `frames`-frame period, to fill. With one
    /// recorded channel, only channel 0 is read.
    pub fn input(&mut self, channel: usize, frames: usize) -> &mut [f32] {
        &mut self.main[channel][..frames.min(self.max_frames)]
    }

    /// The PA mix of the last period, channel 0 or 1.
    pub fn pa(&self, channel: usize, frames: usize) -> &[f32] {
        &self.main[channel][..frames.min(self.max_frames)]
    }

    /// The headphone mix of the last period, channel 0 or 1.
    pub fn headphones(&self, channel: usize, frames: usize) -> &[f32] {
        &self.phones[channel][..frames.min(self.max_frames)]
    }

    /// Points nice-plug's buffers at the first `frames` of the channels.
    fn point_buffers(&mut self, frames: usize) {
        let [main_0, main_1] = &mut self.main;
        let [phones_0, phones_1] = &mut self.phones;
        // SAFETY: the slices point into boxes this processor owns and never reallocates; the
        // buffers holding them are only used while `self` is borrowed, in `process`.
        unsafe {
            let (main_0, main_1) = (extend(main_0, frames), extend(main_1, frames));
            self.main_buffer.set_slices(frames, |slices| {
                slices.clear();
                slices.extend([main_0, main_1]);
            });
            let (phones_0, phones_1) = (extend(phones_0, frames), extend(phones_1, frames));
            self.aux_buffers[0].set_slices(frames, |slices| {
                slices.clear();
                slices.extend([phones_0, phones_1]);
            });
        }
    }

    /// Processes one period of `frames` frames whose input is in [`Self::input`], with its
    /// MIDI. `backend_transport` is the backend's own transport, used when it is the source.
    /// Realtime.
    pub fn process(
        &mut self,
        frames: usize,
        midi: &[MidiIn],
        backend_transport: Option<HostTransport>,
    ) {
        #[cfg(debug_assertions)]
        nice_assert_no_alloc::assert_no_alloc(|| {
            self.process_period(frames, midi, backend_transport)
        });
        #[cfg(not(debug_assertions))]
        self.process_period(frames, midi, backend_transport);
    }

    fn process_period(
        &mut self,
        frames: usize,
        midi: &[MidiIn],
        backend_transport: Option<HostTransport>,
    ) {
        // No backend gives longer periods than it said (JACK's largest is the buffers' size);
        // if one did, silence is safer than reading past the buffers.
        if frames > self.max_frames {
            for channel in self.main.iter_mut().chain(&mut self.phones) {
                channel.fill(0.0);
            }
            return;
        }
        while let Ok(change) = self.param_changes.pop() {
            // SAFETY: the pointer comes from the plugin's own live parameters.
            unsafe {
                if change
                    .param
                    ._internal_set_normalized_value(change.normalized)
                {
                    change
                        .param
                        ._internal_update_smoother(self.sample_rate_hz, false);
                }
            }
        }
        if self.input_channels < 2 {
            self.main[1][..frames].fill(0.0);
        }
        if let Some(calibration) = &mut self.calibration {
            calibration.capture(&self.main[0][..frames]);
        }
        self.events.clear();
        for message in midi {
            let offset = message.offset.min(frames.saturating_sub(1) as u32);
            if let TransportSource::MidiClock(follower) = &mut self.transport_source
                && message.bytes[0] >= 0xF0
            {
                let at_samples = self.now_samples as f64 + f64::from(offset);
                follower.message(message.bytes[0], &message.bytes()[1..], at_samples);
                continue;
            }
            if self.events.len() < self.events.capacity()
                && let Ok(event) = NoteEvent::from_midi(offset, message.bytes())
            {
                self.events.push(event);
            }
        }
        let host = match &mut self.transport_source {
            TransportSource::None => HostTransport::default(),
            TransportSource::Backend => backend_transport.unwrap_or_default(),
            TransportSource::MidiClock(follower) => follower.transport_at(self.now_samples),
            #[cfg(feature = "link")]
            TransportSource::Link(link) => {
                self.plugin.tempo_source().set_link_peers(link.peers());
                link.transport_at(self.now_samples)
            }
        };
        let transport = nice_transport(&host, self.sample_rate_hz);
        self.point_buffers(frames);
        // SAFETY: the same buffers with the lifetime of this borrow instead of 'static (the
        // slices point into `self`, which outlives the call).
        let aux_outputs =
            unsafe { &mut *(self.aux_buffers.as_mut_slice() as *mut [Buffer<'static>]) };
        let mut aux = AuxiliaryBuffers {
            inputs: &mut [],
            outputs: aux_outputs,
        };
        let mut context = ProcessCx {
            events: &self.events,
            next_event: 0,
            transport,
        };
        self.plugin
            .process(&mut self.main_buffer, &mut aux, &mut context);
        if let Some(calibration) = &mut self.calibration {
            calibration.play(frames, &mut self.main, &mut self.phones);
        }
        #[cfg(feature = "link")]
        if let TransportSource::Link(link) = &mut self.transport_source {
            link.propose(self.plugin.anchor_bpm());
        }
        self.now_samples += frames as u64;
    }
}

/// `slice`'s first `frames` with a `'static` lifetime.
///
/// # Safety
/// The result must not outlive `slice`'s box, nor be used while the box is borrowed otherwise.
unsafe fn extend(slice: &mut [f32], frames: usize) -> &'static mut [f32] {
    // SAFETY: in bounds (frames <= len, checked by the callers' `max_frames`); the caller keeps
    // the box alive.
    unsafe { std::slice::from_raw_parts_mut(slice.as_mut_ptr(), frames.min(slice.len())) }
}

/// nice-plug's transport for what a clock says.
fn nice_transport(host: &HostTransport, sample_rate_hz: f32) -> Transport {
    let mut transport = Transport::new(sample_rate_hz);
    transport.playing = host.playing;
    transport.tempo = host.tempo_bpm;
    transport.time_sig_numerator = host.time_signature.map(|(n, _)| n);
    transport.time_sig_denominator = host.time_signature.map(|(_, d)| d);
    transport.pos_samples = host.pos_samples;
    transport.pos_beats = host.pos_beats;
    transport.bar_start_pos_beats = host.bar_start_pos_beats;
    transport
}

/// The plugin's process context in the standalone: the period's MIDI and transport.
struct ProcessCx<'a> {
    /// The period's notes and CCs, in time order.
    events: &'a [PluginNoteEvent<Loopmate>],
    /// The next event to hand out.
    next_event: usize,
    /// The transport at the period's start.
    transport: Transport,
}

impl ProcessContext<Loopmate> for ProcessCx<'_> {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Standalone
    }

    fn execute_background(&self, _task: ()) {}

    fn execute_gui(&self, _task: ()) {}

    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn next_event(&mut self) -> Option<PluginNoteEvent<Loopmate>> {
        let event = *self.events.get(self.next_event)?;
        self.next_event += 1;
        Some(event)
    }

    /// Loopmate sends no notes.
    fn try_send_event(
        &mut self,
        event: PluginNoteEvent<Loopmate>,
    ) -> Result<(), (PluginNoteEvent<Loopmate>, SendEventError)> {
        Err((event, SendEventError::NoOutputBuffer))
    }

    fn set_latency_samples(&self, _samples: u32) {}

    fn request_restart(&self) {}

    fn set_current_voice_capacity(&self, _capacity: u32) {}
}
