//! Calibration through a simulated interface whose loopback delay is known: the real plugin,
//! the real period loop of the ALSA backend, the audio thread's slot and the worker.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::standalone::alsa_io::{DuplexDevice, PLAYBACK_PERIODS, Routing, run_duplex};
use crate::standalone::config::Config;
use crate::standalone::plugin_host::PluginHost;

const RATE_HZ: u32 = 48_000;
const PERIOD: usize = 128;

/// A cable from an output channel to an input channel, `delay_samples` long (the converters and
/// the interface's own buffers), at `gain`.
#[derive(Debug, Clone, Copy)]
struct Cable {
    /// The output channel, 0-based.
    from: usize,
    /// The input channel, 0-based.
    to: usize,
    /// Samples from the DAC to the ADC.
    delay_samples: usize,
    /// What arrives of what was played.
    gain: f32,
}

/// A 2-in, 4-out interface that buffers as a real one does (a period is captured before it is
/// read; what is written plays after the periods already in the playback buffer), with
/// loopback cables and a little noise on the inputs.
struct LoopbackInterface {
    /// Per cable, the samples between its DAC and its ADC.
    lines: Vec<(Cable, VecDeque<f32>)>,
    /// The noise generator's state.
    noise: u32,
}

impl LoopbackInterface {
    fn new(cables: &[Cable]) -> Self {
        let lines = (cables.iter())
            .map(|&cable| (cable, VecDeque::from(vec![0.0; cable.delay_samples])))
            .collect();
        Self {
            lines,
            noise: 0x1234_5678,
        }
    }
}

impl DuplexDevice for LoopbackInterface {
    fn input_channels(&self) -> usize {
        2
    }
    fn output_channels(&self) -> usize {
        4
    }
    fn period_frames(&self) -> usize {
        PERIOD
    }
    fn start(&mut self) -> Result<(), String> {
        let silence = vec![0.0; PERIOD * 4];
        for _ in 0..PLAYBACK_PERIODS {
            self.write(&silence)?;
        }
        Ok(())
    }
    fn read(&mut self, interleaved: &mut [f32]) -> Result<(), String> {
        for frame in interleaved.chunks_exact_mut(2) {
            for sample in frame.iter_mut() {
                // -66 dBFS of white noise.
                self.noise ^= self.noise << 13;
                self.noise ^= self.noise >> 17;
                self.noise ^= self.noise << 5;
                *sample = (self.noise as f32 / u32::MAX as f32 - 0.5) * 0.001;
            }
            for (cable, line) in &mut self.lines {
                frame[cable.to] += line.pop_front().unwrap_or(0.0) * cable.gain;
            }
        }
        Ok(())
    }
    fn write(&mut self, interleaved: &[f32]) -> Result<(), String> {
        for frame in interleaved.chunks_exact(4) {
            for (cable, line) in &mut self.lines {
                line.push_back(frame[cable.from]);
            }
        }
        Ok(())
    }
}

/// The plugin running on a simulated interface with `cables`, routed as in `audio` (inputs 1,
/// PA 1/2 and headphones 3/4 by default); the audio stops when it is dropped.
struct Rig {
    ports: CalibrationPorts,
    stop: Arc<AtomicBool>,
    audio: Option<std::thread::JoinHandle<()>>,
}

impl Rig {
    /// The rig and the calibration's worker end.
    fn new(cables: &[Cable], audio: &str) -> (Self, Calibrator) {
        let text = format!("[audio]\nbackend = \"alsa\"\ninputs = [1]\n{audio}");
        let config = Config::from_toml(&text, Default::default()).unwrap();
        let host = PluginHost::new(RATE_HZ as f32, PERIOD as u32, 1, |_| Ok(())).unwrap();
        let (mut processor, _editor) = host.split();
        let ports = crate::standalone::calibration_ports(&config, false);
        let buffered = PLAYBACK_PERIODS as usize * PERIOD;
        let mut calibrator = processor.calibrator();
        calibrator.set_ports(ports.clone());
        calibrator.set_buffered_frames(Box::new(move |_| buffered));
        let stop = Arc::new(AtomicBool::new(false));
        let mut device = LoopbackInterface::new(cables);
        let audio_stop = stop.clone();
        let routing = Routing::new(&config);
        let audio = std::thread::spawn(move || {
            run_duplex(&mut device, &mut processor, &routing, None, &audio_stop).unwrap();
        });
        let rig = Self {
            ports,
            stop,
            audio: Some(audio),
        };
        (rig, calibrator)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(audio) = self.audio.take() {
            let _ = audio.join();
        }
    }
}

/// Calibrates through `cables` (see [`Rig::new`]); the report and the port names.
fn calibrate_through(cables: &[Cable], audio: &str) -> (LatencyReport, CalibrationPorts) {
    let (rig, mut calibrator) = Rig::new(cables, audio);
    (calibrator.calibrate(), rig.ports.clone())
}

fn round_trip(report: &LatencyReport, path: OutputPath) -> &Result<RoundTrip, String> {
    let found = report.paths.iter().find(|p| p.path == path);
    &found.expect("the path was measured").round_trip
}

/// The interface's playback buffer, which every round trip holds besides the cable's delay.
const BUFFERED: f64 = (PLAYBACK_PERIODS as usize * PERIOD) as f64;

#[test]
fn a_headphone_loopback_measures_the_round_trip_within_a_sample_and_sets_the_input_latency() {
    let cable = Cable {
        from: 2,
        to: 0,
        delay_samples: 37,
        gain: 0.5,
    };
    let (report, ports) = calibrate_through(&[cable], "");
    let phones = round_trip(&report, OutputPath::Headphones)
        .as_ref()
        .unwrap();
    let expected = BUFFERED + 37.0;
    assert!(
        (phones.samples - expected).abs() <= 1.0,
        "measured {} samples, the interface's round trip is {expected}",
        phones.samples
    );
    // Half of what the interface adds beyond its buffer: 18.5 samples.
    let input_ms = report.input_latency_ms.unwrap();
    assert!((input_ms - 18.5 / 48.0).abs() < 0.03, "{input_ms} ms");
    // No cable on the PA: said so, naming the ports; the headphone delay is left alone.
    let pa = round_trip(&report, OutputPath::Pa).as_ref().unwrap_err();
    assert!(
        pa.contains("no click came back on input 1") && pa.contains("connect output 1 to input 1"),
        "{pa}"
    );
    assert_eq!(report.headphone_delay_ms, None);
    let summary = report.summary(&ports);
    assert!(summary.contains("Input latency: 0.39 ms"), "{summary}");
}

#[test]
fn a_pa_slower_than_the_headphones_gives_the_headphone_delay_that_lines_them_up() {
    // The PA comes back through a desk 10 ms later than the headphones' direct cable.
    let cables = [
        Cable {
            from: 0,
            to: 0,
            delay_samples: 37 + 480,
            gain: 0.25,
        },
        Cable {
            from: 2,
            to: 0,
            delay_samples: 37,
            gain: 0.7,
        },
    ];
    let (report, _) = calibrate_through(&cables, "");
    let pa = round_trip(&report, OutputPath::Pa).as_ref().unwrap();
    let phones = round_trip(&report, OutputPath::Headphones)
        .as_ref()
        .unwrap();
    assert!((pa.samples - (BUFFERED + 517.0)).abs() <= 1.0, "{pa:?}");
    assert!(
        (phones.samples - (BUFFERED + 37.0)).abs() <= 1.0,
        "{phones:?}"
    );
    let delay_ms = report.headphone_delay_ms.unwrap();
    assert!((delay_ms - 10.0).abs() < 0.03, "{delay_ms} ms");
    // The input latency comes from the direct path.
    let input_ms = report.input_latency_ms.unwrap();
    assert!((input_ms - 18.5 / 48.0).abs() < 0.03, "{input_ms} ms");
}

#[test]
fn without_a_loopback_every_path_says_what_to_connect_and_nothing_is_set() {
    let (report, ports) = calibrate_through(&[], "pa = [2]\nheadphones = [4]\n");
    let phones = round_trip(&report, OutputPath::Headphones)
        .as_ref()
        .unwrap_err();
    assert!(phones.contains("connect output 4 to input 1"), "{phones}");
    assert!(
        phones.contains("only noise at -7"),
        "the input's noise level: {phones}"
    );
    assert_eq!(report.input_latency_ms, None);
    assert_eq!(report.headphone_delay_ms, None);
    let summary = report.summary(&ports);
    assert!(
        summary.contains("Input latency: not measured, left as it was"),
        "{summary}"
    );
}

#[test]
fn the_editor_button_calibrates_applies_and_reports_while_the_audio_runs() {
    let cable = Cable {
        from: 2,
        to: 0,
        delay_samples: 37,
        gain: 0.5,
    };
    let (_rig, calibrator) = Rig::new(&[cable], "");
    let control = crate::calibrate::control::CalibrationControl::default();
    let stop = AtomicBool::new(false);
    let applied = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            serve_button(calibrator, &control, &stop, |report| {
                applied.lock().unwrap().push(report.input_latency_ms);
                Ok("Saved in the test".to_owned())
            })
        });
        // Nothing runs until the button is pressed; the worker offers the button.
        std::thread::sleep(Duration::from_millis(200));
        assert!(control.is_available());
        assert!(applied.lock().unwrap().is_empty());
        control.request();
        assert!(control.is_running());
        let start = Instant::now();
        while control.is_running() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the calibration hangs"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
        worker.join().unwrap();
    });
    let applied = applied.into_inner().unwrap();
    assert_eq!(applied.len(), 1);
    assert!(
        (applied[0].unwrap() - 18.5 / 48.0).abs() < 0.03,
        "{applied:?}"
    );
    let message = control.message();
    assert!(
        message.contains("Input latency: 0.39 ms") && message.ends_with("Saved in the test"),
        "{message}"
    );
}

#[test]
fn latencies_set_through_the_param_writer_reach_the_plugin_at_the_next_period() {
    let params = std::sync::Mutex::new(None);
    let host = PluginHost::new(RATE_HZ as f32, PERIOD as u32, 1, |plugin| {
        *params.lock().unwrap() = Some(plugin.loopmate_params().clone());
        Ok(())
    })
    .unwrap();
    let params = params.into_inner().unwrap().unwrap();
    let writer = host.param_writer();
    assert!(writer.set_plain("input_latency_ms", 4.5));
    assert!(writer.set_plain("phones_delay_ms", 10.0));
    assert!(!writer.set_plain("no_such_param", 1.0));
    let (mut processor, _editor) = host.split();
    assert_eq!(
        params.input_latency_ms.value(),
        0.0,
        "applied at a period's start"
    );
    processor.process(PERIOD, &[], None);
    assert!((params.input_latency_ms.value() - 4.5).abs() < 1e-4);
    assert!((params.phones_delay_ms.value() - 10.0).abs() < 1e-4);
}
