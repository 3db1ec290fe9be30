//! The ALSA backend: one thread runs the interface full duplex at its own period, with no
//! buffer between input and output. Each period is read from the capture device, processed and
//! written to the playback device, which holds two periods: the round trip is the interface's
//! own (one capture period plus two playback periods plus its converters), and Loopmate adds
//! none (measured in the tests below through a simulated interface).
//!
//! The device channels the configuration names carry the recorded input, the PA and the
//! headphones (e.g. PA on 1/2 and headphones on 3/4 of a 4-out interface). MIDI comes through
//! ALSA's sequencer (see [`super::midi_in`]), placed in the period by its arrival time; MIDI
//! clock goes out through it (see [`super::midi_out`]), each message when the audio of its
//! sample plays: one period after its period is read (the period still in the playback
//! buffer), so two after it was captured.
//!
//! Realtime: the period loop ([`run_duplex`]) never allocates; its buffers are allocated when
//! the devices open.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};

use super::config::{Channels, Config};
use super::midi_ports::PeriodMidi;
use super::period_thread::PeriodThread;
use super::processor::{MidiIn, Processor};

/// Periods in the playback buffer: the least that runs without gaps.
pub const PLAYBACK_PERIODS: u32 = 2;
/// From a period's read to when its first frame plays, in frames: a period is read once
/// captured, and written behind the one period still in the playback buffer, so it plays that
/// period after the read (two after it was captured, as the round trip test measures).
pub fn output_latency_frames(period_frames: usize) -> usize {
    (PLAYBACK_PERIODS as usize - 1) * period_frames
}

/// MIDI messages one period can carry.
const MIDI_CAPACITY: usize = 1024;

/// A full-duplex device, one period at a time (the real one is [`AlsaDuplex`]; tests simulate
/// one).
pub trait DuplexDevice: Send + 'static {
    /// Channels captured.
    fn input_channels(&self) -> usize;
    /// Channels played.
    fn output_channels(&self) -> usize;
    /// Frames in a period.
    fn period_frames(&self) -> usize;
    /// Starts the device: the playback buffer is filled with silence and both directions run.
    fn start(&mut self) -> Result<(), String>;
    /// Reads the next captured period (interleaved), waiting for it.
    fn read(&mut self, interleaved: &mut [f32]) -> Result<(), String>;
    /// Writes a period (interleaved) to play.
    fn write(&mut self, interleaved: &[f32]) -> Result<(), String>;
}

/// Where each path's channels are on the device, 0-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// Device channels recorded, in order.
    pub inputs: Vec<usize>,
    /// Device channels of the PA mix (one: both sides summed into it).
    pub pa: Vec<usize>,
    /// Device channels of the headphone mix.
    pub headphones: Vec<usize>,
}

impl Routing {
    /// The configuration's routing.
    pub fn new(config: &Config) -> Self {
        let indices = |channels: &Channels| channels.channels().iter().map(|c| c.index()).collect();
        Self {
            inputs: indices(&config.inputs),
            pa: indices(&config.pa),
            headphones: indices(&config.headphones),
        }
    }

    /// Checks the routing against a device's channel counts.
    fn check(&self, input_channels: usize, output_channels: usize) -> Result<(), String> {
        if let Some(&missing) = self.inputs.iter().find(|&&c| c >= input_channels) {
            return Err(format!(
                "the capture device has {input_channels} channels, so no input channel {}",
                missing + 1
            ));
        }
        let outputs = self.pa.iter().chain(&self.headphones);
        if let Some(&missing) = outputs.clone().find(|&&c| c >= output_channels) {
            return Err(format!(
                "the playback device has {output_channels} channels, so no output channel {}",
                missing + 1
            ));
        }
        Ok(())
    }
}

/// The period loop: reads a period, processes it, writes it, until `stop` is set or the device
/// fails. Realtime (after the first period).
pub fn run_duplex<D: DuplexDevice>(
    device: &mut D,
    processor: &mut Processor,
    routing: &Routing,
    mut midi: Option<PeriodMidi>,
    stop: &AtomicBool,
) -> Result<(), String> {
    let frames = device.period_frames();
    if let Some(midi) = &mut midi {
        midi.set_output_latency_frames(output_latency_frames(frames));
    }
    let (inputs, outputs) = (device.input_channels(), device.output_channels());
    routing.check(inputs, outputs)?;
    let mut captured = vec![0.0f32; frames * inputs];
    let mut played = vec![0.0f32; frames * outputs];
    let mut messages: Vec<MidiIn> = Vec::with_capacity(MIDI_CAPACITY);
    device.start()?;
    while !stop.load(Ordering::Relaxed) {
        device.read(&mut captured)?;
        let read_at = Instant::now();
        for (channel, &device_channel) in routing.inputs.iter().enumerate() {
            let input = processor.input(channel, frames);
            for (sample, frame) in input.iter_mut().zip(captured.chunks_exact(inputs)) {
                *sample = frame[device_channel];
            }
        }
        messages.clear();
        if let Some(midi) = &mut midi {
            midi.input(frames, &mut messages);
        }
        processor.process(frames, &messages, None);
        if let Some(midi) = &mut midi {
            midi.clock_out(read_at, frames, processor.clock_out());
        }
        played.fill(0.0);
        let mut route = |channels: &[usize], mix: [&[f32]; 2]| {
            for (i, &device_channel) in channels.iter().enumerate() {
                // A mono path takes both sides of the mix.
                let sides: &[&[f32]] = if channels.len() == 1 {
                    &mix
                } else {
                    &mix[i..=i]
                };
                for side in sides {
                    for (frame, sample) in played.chunks_exact_mut(outputs).zip(side.iter()) {
                        frame[device_channel] += sample;
                    }
                }
            }
        };
        route(
            &routing.pa,
            [processor.pa(0, frames), processor.pa(1, frames)],
        );
        let phones = [
            processor.headphones(0, frames),
            processor.headphones(1, frames),
        ];
        route(&routing.headphones, phones);
        device.write(&played)?;
    }
    Ok(())
}

/// The sample format a device runs in (interfaces differ; the conversion is to and from f32).
enum DeviceSamples {
    F32(Vec<f32>),
    I32(Vec<i32>),
    I16(Vec<i16>),
}

/// An ALSA capture and playback device pair, linked so they start together.
pub struct AlsaDuplex {
    /// The capture device.
    capture: PCM,
    /// The playback device.
    playback: PCM,
    /// Channels captured.
    input_channels: usize,
    /// Channels played.
    output_channels: usize,
    /// Frames in a period.
    period_frames: usize,
    /// The sample rate the devices run at, in hertz.
    sample_rate_hz: u32,
    /// Conversion buffers in the devices' formats.
    capture_samples: DeviceSamples,
    /// Conversion buffers in the devices' formats.
    playback_samples: DeviceSamples,
    /// A period of silence, to fill the playback buffer at the start and after an xrun.
    silence: Vec<f32>,
}

// SAFETY: the PCM handles are used by one thread at a time (opened on the main thread, then
// moved to the audio thread, which alone uses them); alsa-lib allows that.
unsafe impl Send for AlsaDuplex {}

/// Opens `name` in `direction` at `rate_hz` and `period_frames`, with at least `channels`.
fn open_pcm(
    name: &str,
    direction: Direction,
    rate_hz: u32,
    period_frames: u32,
    channels: u32,
) -> Result<(PCM, u32, u32, usize, Format), String> {
    let what = match direction {
        Direction::Capture => "capture",
        Direction::Playback => "playback",
    };
    let failed =
        |step: &str, error: alsa::Error| format!("ALSA {what} device {name}: {step}: {error}");
    let pcm = PCM::new(name, direction, false).map_err(|e| failed("cannot open it", e))?;
    let (channels, rate, period, format) = {
        let hw = HwParams::any(&pcm).map_err(|e| failed("no parameters", e))?;
        hw.set_access(Access::RWInterleaved)
            .map_err(|e| failed("no interleaved access", e))?;
        let format = [Format::float(), Format::s32(), Format::s16()]
            .into_iter()
            .find(|format| hw.set_format(*format).is_ok())
            .ok_or_else(|| format!("ALSA {what} device {name}: no float, 32 or 16-bit format"))?;
        let min_channels = hw.get_channels_min().unwrap_or(1);
        let max_channels = hw.get_channels_max().unwrap_or(channels);
        if channels > max_channels {
            return Err(format!(
                "ALSA {what} device {name} has {max_channels} channels, the routing needs {channels}"
            ));
        }
        hw.set_channels(channels.max(min_channels))
            .map_err(|e| failed("channel count refused", e))?;
        hw.set_rate_resample(false)
            .map_err(|e| failed("resampling", e))?;
        hw.set_rate(rate_hz, ValueOr::Nearest)
            .map_err(|e| failed(&format!("{rate_hz} Hz refused"), e))?;
        let period = hw
            .set_period_size_near(period_frames as alsa::pcm::Frames, ValueOr::Nearest)
            .map_err(|e| failed("period refused", e))?;
        if direction == Direction::Playback {
            hw.set_periods(PLAYBACK_PERIODS, ValueOr::Nearest)
                .map_err(|e| failed("two periods refused", e))?;
        }
        pcm.hw_params(&hw)
            .map_err(|e| failed("parameters refused", e))?;
        let rate = hw.get_rate().map_err(|e| failed("rate", e))?;
        (channels.max(min_channels), rate, period as u32, format)
    };
    Ok((pcm, channels, rate, period as usize, format))
}

fn samples_for(format: Format, len: usize) -> DeviceSamples {
    if format == Format::float() {
        DeviceSamples::F32(vec![0.0; len])
    } else if format == Format::s32() {
        DeviceSamples::I32(vec![0; len])
    } else {
        DeviceSamples::I16(vec![0; len])
    }
}

impl AlsaDuplex {
    /// Opens the configured devices with the channels the routing needs, at the configured rate
    /// and period (the devices may pick the nearest they support).
    pub fn open(config: &Config) -> Result<Self, String> {
        let routing = Routing::new(config);
        let needed = |channels: &[usize]| channels.iter().max().map_or(1, |c| c + 1) as u32;
        let outputs: Vec<usize> = routing
            .pa
            .iter()
            .chain(&routing.headphones)
            .copied()
            .collect();
        let (capture, input_channels, rate, period, capture_format) = open_pcm(
            &config.input_device,
            Direction::Capture,
            config.sample_rate_hz,
            config.period_frames,
            needed(&routing.inputs),
        )?;
        let (playback, output_channels, playback_rate, playback_period, playback_format) =
            open_pcm(
                &config.output_device,
                Direction::Playback,
                rate,
                period as u32,
                needed(&outputs),
            )?;
        if playback_rate != rate || playback_period != period {
            return Err(format!(
                "the capture device runs {rate} Hz / {period} frames, the playback device \
                 {playback_rate} Hz / {playback_period}: pick one device, or a period both take"
            ));
        }
        // Linked devices start and stop together; where the driver can't link them they still
        // run, started one right after the other.
        let _ = capture.link(&playback);
        Ok(Self {
            capture_samples: samples_for(capture_format, period * input_channels as usize),
            playback_samples: samples_for(playback_format, period * output_channels as usize),
            silence: vec![0.0; period * output_channels as usize],
            capture,
            playback,
            input_channels: input_channels as usize,
            output_channels: output_channels as usize,
            period_frames: period,
            sample_rate_hz: rate,
        })
    }

    /// The rate the devices run at, in hertz.
    pub fn sample_rate_hz(&self) -> u32 {
        self.sample_rate_hz
    }

    /// Recovers from an xrun: prepares both devices and refills the playback buffer.
    fn recover(&mut self, error: alsa::Error) -> Result<(), String> {
        self.capture
            .try_recover(error, true)
            .map_err(|e| format!("ALSA capture failed: {e}"))?;
        let _ = self.playback.prepare();
        self.start()
    }
}

impl DuplexDevice for AlsaDuplex {
    fn input_channels(&self) -> usize {
        self.input_channels
    }

    fn output_channels(&self) -> usize {
        self.output_channels
    }

    fn period_frames(&self) -> usize {
        self.period_frames
    }

    fn start(&mut self) -> Result<(), String> {
        let silence = std::mem::take(&mut self.silence);
        for _ in 0..PLAYBACK_PERIODS {
            self.write(&silence)?;
        }
        self.silence = silence;
        if self.capture.state() != alsa::pcm::State::Running {
            let _ = self.capture.start();
        }
        Ok(())
    }

    fn read(&mut self, interleaved: &mut [f32]) -> Result<(), String> {
        let result = match &mut self.capture_samples {
            DeviceSamples::F32(buffer) => self
                .capture
                .io_f32()
                .and_then(|io| io.readi(buffer))
                .map(|_| {
                    interleaved.copy_from_slice(buffer);
                }),
            DeviceSamples::I32(buffer) => self
                .capture
                .io_i32()
                .and_then(|io| io.readi(buffer))
                .map(|_| {
                    for (out, sample) in interleaved.iter_mut().zip(buffer.iter()) {
                        *out = *sample as f32 / 2_147_483_648.0;
                    }
                }),
            DeviceSamples::I16(buffer) => self
                .capture
                .io_i16()
                .and_then(|io| io.readi(buffer))
                .map(|_| {
                    for (out, sample) in interleaved.iter_mut().zip(buffer.iter()) {
                        *out = f32::from(*sample) / 32_768.0;
                    }
                }),
        };
        match result {
            Ok(()) => Ok(()),
            Err(error) => {
                interleaved.fill(0.0);
                self.recover(error)
            }
        }
    }

    fn write(&mut self, interleaved: &[f32]) -> Result<(), String> {
        let clamp = |v: f32| {
            if v.is_finite() {
                v.clamp(-1.0, 1.0)
            } else {
                0.0
            }
        };
        let result = match &mut self.playback_samples {
            DeviceSamples::F32(buffer) => {
                for (out, sample) in buffer.iter_mut().zip(interleaved) {
                    *out = clamp(*sample);
                }
                self.playback.io_f32().and_then(|io| io.writei(buffer))
            }
            DeviceSamples::I32(buffer) => {
                for (out, sample) in buffer.iter_mut().zip(interleaved) {
                    *out = (f64::from(clamp(*sample)) * 2_147_483_647.0) as i32;
                }
                self.playback.io_i32().and_then(|io| io.writei(buffer))
            }
            DeviceSamples::I16(buffer) => {
                for (out, sample) in buffer.iter_mut().zip(interleaved) {
                    *out = (clamp(*sample) * 32_767.0) as i16;
                }
                self.playback.io_i16().and_then(|io| io.writei(buffer))
            }
        };
        match result {
            Ok(_) => Ok(()),
            // An underrun: prepare and refill; the period is lost.
            Err(error) => self
                .playback
                .try_recover(error, true)
                .map_err(|e| format!("ALSA playback failed: {e}")),
        }
    }
}

/// Runs `processor` on `device` on a new thread; MIDI in and clock out through `midi`. A device
/// failure ends the thread with a message and sets `failed` (the standalone then quits).
pub fn start(
    mut device: AlsaDuplex,
    mut processor: Processor,
    config: &Config,
    midi: Option<PeriodMidi>,
    failed: Arc<AtomicBool>,
) -> Result<PeriodThread, String> {
    let routing = Routing::new(config);
    PeriodThread::spawn("loopmate-alsa", move |stop| {
        if let Err(error) = run_duplex(&mut device, &mut processor, &routing, midi, stop) {
            nice_plug::nice_error!("Loopmate: {error}");
            failed.store(true, Ordering::Relaxed);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standalone::plugin_host::PluginHost;

    const RATE_HZ: u32 = 48_000;
    const PERIOD: usize = 128;

    /// An interface that buffers as a real one does: a period is captured before it is read,
    /// and what is written plays after the two periods already in the playback buffer.
    struct SimulatedInterface {
        /// The player's signal on each input channel, by ADC frame.
        adc: Vec<Vec<f32>>,
        /// What each output channel played, by DAC frame.
        dac: Vec<Vec<f32>>,
        /// Periods read so far.
        reads: usize,
        /// Periods written so far (the two of silence at the start included).
        writes: usize,
        /// Periods to run.
        periods: usize,
        /// Set when done.
        stop: Arc<AtomicBool>,
    }

    impl DuplexDevice for SimulatedInterface {
        fn input_channels(&self) -> usize {
            self.adc.len()
        }
        fn output_channels(&self) -> usize {
            self.dac.len()
        }
        fn period_frames(&self) -> usize {
            PERIOD
        }
        fn start(&mut self) -> Result<(), String> {
            let silence = vec![0.0; PERIOD * self.dac.len()];
            for _ in 0..PLAYBACK_PERIODS {
                self.write(&silence)?;
            }
            Ok(())
        }
        fn read(&mut self, interleaved: &mut [f32]) -> Result<(), String> {
            let start = self.reads * PERIOD;
            for (i, frame) in interleaved.chunks_exact_mut(self.adc.len()).enumerate() {
                for (sample, channel) in frame.iter_mut().zip(&self.adc) {
                    *sample = channel.get(start + i).copied().unwrap_or(0.0);
                }
            }
            self.reads += 1;
            Ok(())
        }
        fn write(&mut self, interleaved: &[f32]) -> Result<(), String> {
            for frame in interleaved.chunks_exact(self.dac.len()) {
                for (channel, sample) in self.dac.iter_mut().zip(frame) {
                    channel.push(*sample);
                }
            }
            self.writes += 1;
            if self.reads >= self.periods {
                self.stop.store(true, Ordering::Relaxed);
            }
            Ok(())
        }
    }

    fn first_above(signal: &[f32], level: f32) -> Option<usize> {
        signal.iter().position(|v| v.abs() >= level)
    }

    /// Where a click the player makes on input 2 is first heard on each output of a 4-out
    /// interface, with the routing of `audio`, and the frame it was played at.
    fn click_through(audio: &str) -> (Vec<Option<usize>>, usize) {
        let text = format!("[audio]\nbackend = \"alsa\"\ninputs = [2]\n{audio}");
        let config =
            crate::standalone::config::Config::from_toml(&text, Default::default()).unwrap();
        let host = PluginHost::new(RATE_HZ as f32, PERIOD as u32, 1, |_| Ok(())).unwrap();
        let (mut processor, _editor) = host.split();
        // Mid-period, after the plugin has settled.
        let click_at = 40 * PERIOD + 37;
        let mut adc = vec![vec![0.0f32; 100 * PERIOD]; 2];
        adc[1][click_at..click_at + 8].fill(0.5);
        let stop = Arc::new(AtomicBool::new(false));
        let mut device = SimulatedInterface {
            adc,
            dac: vec![Vec::new(); 4],
            reads: 0,
            writes: 0,
            periods: 60,
            stop: stop.clone(),
        };
        run_duplex(
            &mut device,
            &mut processor,
            &Routing::new(&config),
            None,
            &stop,
        )
        .unwrap();
        let heard = device
            .dac
            .iter()
            .map(|channel| first_above(channel, 0.05))
            .collect();
        (heard, click_at)
    }

    #[test]
    fn full_duplex_adds_no_latency_to_the_interfaces_own() {
        let (heard, click_at) = click_through("pa = [1, 2]\nheadphones = [3, 4]\n");
        // The interface's own round trip: the two periods in its playback buffer (the period
        // being captured is already counted in `click_at`). Loopmate adds nothing.
        let round_trip = PLAYBACK_PERIODS as usize * PERIOD;
        assert_eq!(
            heard,
            vec![Some(click_at + round_trip); 4],
            "PA on 1/2, headphones on 3/4"
        );
    }

    #[test]
    fn each_mix_goes_to_the_channels_routed_and_nowhere_else() {
        let (heard, click_at) = click_through("pa = [2]\nheadphones = [4]\n");
        let at = Some(click_at + PLAYBACK_PERIODS as usize * PERIOD);
        assert_eq!(heard, vec![None, at, None, at]);
    }

    #[test]
    fn a_routing_past_the_devices_channels_is_refused_with_the_channel() {
        let routing = Routing {
            inputs: vec![0],
            pa: vec![0, 1],
            headphones: vec![2, 3],
        };
        assert_eq!(routing.check(2, 4), Ok(()));
        let error = routing.check(2, 2).unwrap_err();
        assert!(error.contains("no output channel 3"), "{error}");
    }
}
