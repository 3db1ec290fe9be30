//! The round trip measured through simulated interfaces: known delays (whole and fractional)
//! under noise, gain, DC and hum; no cable, clipping, too quiet, uneven repeats; and a run from
//! an audio callback that works in periods, at varying block sizes.

use std::collections::VecDeque;

use super::*;

const RATE: f32 = 48_000.0;

/// A deterministic uniform noise source with an RMS of `dbfs`.
struct Noise {
    state: u32,
    amplitude: f32,
}

impl Noise {
    fn at_dbfs(dbfs: f32) -> Self {
        Self {
            state: 0x9E37_79B9,
            // Uniform in [-a, a] has an RMS of a / sqrt(3).
            amplitude: 10f32.powf(dbfs / 20.0) * 3f32.sqrt(),
        }
    }

    fn silent() -> Self {
        Self {
            state: 1,
            amplitude: 0.0,
        }
    }

    fn next(&mut self) -> f32 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        (self.state as f32 / u32::MAX as f32 * 2.0 - 1.0) * self.amplitude
    }
}

/// What an interface and its room add to what comes back.
struct Line {
    /// The loopback's gain (0: no cable).
    gain: f32,
    /// Noise at the input.
    noise: Noise,
    /// The input's DC offset.
    dc: f32,
    /// 50 Hz hum amplitude.
    hum: f32,
}

impl Line {
    /// A cable at 0.3 (-10.5 dB) into an input with noise at -40 dBFS, a DC offset of 0.05 and
    /// 50 Hz hum at 0.05 (-26 dBFS).
    fn noisy_cable() -> Self {
        Self {
            gain: 0.3,
            noise: Noise::at_dbfs(-40.0),
            dc: 0.05,
            hum: 0.05,
        }
    }

    /// What the input records at sample `t` when `returned` comes back through the cable.
    fn input(&mut self, t: usize, returned: f32) -> f32 {
        let hum = (std::f32::consts::TAU * 50.0 * t as f32 / RATE).sin();
        self.gain * returned + self.noise.next() + self.dc + self.hum * hum
    }
}

/// The recording of the calibration through `line` with a round trip of `delay_samples`
/// (fractional delays by linear interpolation).
fn record_through(calibration: &Calibration, line: &mut Line, delay_samples: f64) -> Vec<f32> {
    let played = |t: i64| {
        if t < 0 {
            0.0
        } else {
            calibration.signal_at(t as usize)
        }
    };
    (0..calibration.total_samples())
        .map(|t| {
            let at = t as f64 - delay_samples;
            let (whole, frac) = (at.floor() as i64, (at - at.floor()) as f32);
            let returned = (1.0 - frac) * played(whole) + frac * played(whole + 1);
            line.input(t, returned)
        })
        .collect()
}

#[test]
fn known_delays_are_measured_within_a_sample_through_noise_hum_and_dc() {
    let calibration = Calibration::new(RATE);
    // An interface that inverts the polarity measures the same.
    let delays = [0.0, 1.0, 37.0, 480.0, 4410.0, 123.5].map(|delay| (delay, 0.3));
    for (delay, gain) in delays.into_iter().chain([(480.0, -0.3)]) {
        let mut line = Line {
            gain,
            ..Line::noisy_cable()
        };
        let recorded = record_through(&calibration, &mut line, delay);
        let trip = calibration.analyse(&recorded).expect("a round trip");
        println!(
            "delay {delay} samples, gain {gain}: measured {:.3} ({:.4} ms), confidence {:.1} dB, spread \
             {:.3} samples, gain {:.2} dB",
            trip.samples, trip.ms, trip.peak_to_floor_db, trip.spread_samples, trip.gain_db
        );
        assert!(
            (trip.samples - delay).abs() <= 1.0,
            "{delay}: measured {}",
            trip.samples
        );
        // Sub-sample: within a tenth of a sample (2 us).
        assert!((trip.samples - delay).abs() <= 0.1, "{}", trip.samples);
        assert!(
            (trip.ms - delay / 48.0).abs() <= 1.0 / 48.0,
            "{} ms",
            trip.ms
        );
        assert!(trip.peak_to_floor_db >= MIN_PEAK_TO_FLOOR_DB);
        assert!(trip.spread_samples <= MAX_SPREAD_SAMPLES);
        // The cable's 0.3 is -10.5 dB; a half-sample delay's interpolation (half of two
        // samples) takes 3 dB more off white noise.
        let frac = delay.fract();
        let expected_db = 20.0 * (0.3 * (frac * frac + (1.0 - frac) * (1.0 - frac)).sqrt()).log10();
        assert!(
            (trip.gain_db - expected_db).abs() < 0.2,
            "gain {} dB, not {expected_db}",
            trip.gain_db
        );
    }
}

#[test]
fn no_loopback_says_to_connect_a_cable() {
    let calibration = Calibration::new(RATE);
    // Noise and hum, no cable.
    let mut unplugged = Line {
        gain: 0.0,
        ..Line::noisy_cable()
    };
    let recorded = record_through(&calibration, &mut unplugged, 100.0);
    let error = calibration.analyse(&recorded).unwrap_err();
    let CalibrationError::NoLoopback { input_dbfs } = error else {
        panic!("{error:?}")
    };
    // -40 dBFS noise and the hum's -29 dBFS RMS (the DC is taken off).
    assert!((input_dbfs + 28.7).abs() < 1.0, "{input_dbfs} dBFS");
    let advice = error.advice("output 3", "input 1");
    assert!(
        advice.starts_with("no click came back on input 1 (only noise at -29 dBFS): connect output 3 to input 1 with a cable"),
        "{advice}"
    );
    // Digital silence.
    let recorded = vec![0.0; calibration.total_samples()];
    let error = calibration.analyse(&recorded).unwrap_err();
    assert_eq!(
        error,
        CalibrationError::NoLoopback {
            input_dbfs: f64::NEG_INFINITY
        }
    );
    assert!(error.to_string().contains("(silence)"), "{error}");
}

#[test]
fn clipping_and_a_faint_return_are_told_apart_from_a_measurement() {
    let calibration = Calibration::new(RATE);
    // A cable at +20 dB: the burst's 0.125 comes back at 1.25.
    let mut hot = Line {
        gain: 10.0,
        ..Line::noisy_cable()
    };
    let error = (calibration.analyse(&record_through(&calibration, &mut hot, 300.0))).unwrap_err();
    assert!(
        matches!(error, CalibrationError::Clipping { clipped_samples } if clipped_samples > 1000),
        "{error:?}"
    );
    assert!(error.to_string().contains("lower the input gain"));
    // -66 dB of loopback: the burst comes back at -84 dBFS, heard but too faint to trust.
    let mut faint = Line {
        gain: 0.0005,
        noise: Noise::silent(),
        dc: 0.0,
        hum: 0.0,
    };
    let error =
        (calibration.analyse(&record_through(&calibration, &mut faint, 300.0))).unwrap_err();
    let CalibrationError::TooQuiet { return_dbfs } = error else {
        panic!("{error:?}")
    };
    assert!((return_dbfs + 84.1).abs() < 0.5, "{return_dbfs} dBFS");
}

#[test]
fn repeats_that_disagree_are_refused() {
    // The interface drops 10 samples halfway: the last two bursts come back 10 samples early.
    let calibration = Calibration::new(RATE);
    let mut recorded = record_through(&calibration, &mut Line::noisy_cable(), 480.0);
    let half = calibration.total_samples() / 2;
    recorded.drain(half..half + 10);
    recorded.extend([0.0; 10]);
    let error = calibration.analyse(&recorded).unwrap_err();
    let CalibrationError::Inconsistent {
        heard,
        spread_samples,
    } = error
    else {
        panic!("{error:?}")
    };
    assert_eq!(heard, REPEATS);
    assert!((spread_samples - 10.0).abs() < 0.5, "{spread_samples}");
}

#[test]
fn garbage_input_is_silence_not_a_peak() {
    let calibration = Calibration::new(RATE);
    let mut recorded = record_through(&calibration, &mut Line::noisy_cable(), 37.0);
    for t in (5..recorded.len()).step_by(9_999) {
        recorded[t] = f32::NAN;
    }
    recorded[7] = f32::INFINITY;
    let trip = calibration.analyse(&recorded).expect("a round trip");
    assert!((trip.samples - 37.0).abs() <= 1.0, "{}", trip.samples);
    // A bad sample rate is taken as 48 kHz; a short recording is refused.
    assert_eq!(Calibration::new(f32::NAN).sample_rate_hz, 48_000.0);
    assert!(matches!(
        calibration.analyse(&recorded[..1000]),
        Err(CalibrationError::TooShort {
            recorded_samples: 1000,
            ..
        })
    ));
}

/// An interface that runs the callback in blocks: what the callback writes reaches the input
/// `round_trip_samples` later (its output periods, the converters and the cable).
struct Interface {
    /// Samples on their way from the callback's output back to its input.
    in_flight: VecDeque<f32>,
    line: Line,
    /// Samples the input has delivered.
    now_samples: usize,
    input: Vec<f32>,
    output: Vec<f32>,
}

impl Interface {
    fn new(round_trip_samples: usize, line: Line) -> Self {
        Self {
            in_flight: std::iter::repeat_n(0.0, round_trip_samples).collect(),
            line,
            now_samples: 0,
            input: vec![0.0; 8192],
            output: vec![0.0; 8192],
        }
    }

    /// One callback of `frames`: the input comes in, the run plays its output.
    fn callback(&mut self, run: &mut CalibrationRun, frames: usize) -> bool {
        // A block's output is written after its input was read: no round trip is shorter.
        assert!(
            frames <= self.in_flight.len(),
            "a block longer than the round trip"
        );
        for slot in &mut self.input[..frames] {
            let returned = self.in_flight.pop_front().unwrap_or(0.0);
            *slot = self.line.input(self.now_samples, returned);
            self.now_samples += 1;
        }
        let (input, output) = (&self.input[..frames], &mut self.output[..frames]);
        let done = nice_assert_no_alloc::assert_no_alloc(|| run.process(input, output));
        self.in_flight.extend(output.iter());
        done
    }
}

#[test]
fn a_run_from_the_audio_callback_measures_two_periods_and_the_converters() {
    // The output leaves two periods after the callback wrote it, and the converters and the
    // cable add 37 samples (0.77 ms): 293 samples (6.10 ms) at periods of 128, 4133 (86.1 ms)
    // at 2048. The callback's blocks are at most a period, of varying sizes.
    let converters = 37;
    let cases: [(usize, &[usize]); 4] = [
        (128, &[128]),
        (128, &[1, 7, 64, 128, 100, 33]),
        (2048, &[2048]),
        (2048, &[512, 1, 2048, 1000, 64]),
    ];
    for (period, blocks) in cases {
        let round_trip = 2 * period + converters;
        let mut interface = Interface::new(round_trip, Line::noisy_cable());
        let mut run = CalibrationRun::new(Calibration::new(RATE));
        assert!(matches!(
            run.analyse(),
            Err(CalibrationError::TooShort { .. })
        ));
        for &frames in blocks.iter().cycle() {
            if interface.callback(&mut run, frames) {
                break;
            }
        }
        // The calibration plays 4 x (4096 + 24 000) samples: 2.34 s, and stops there.
        let total = 4 * (4096 + 24_000);
        assert!(run.is_done());
        assert!(
            interface.now_samples >= total && interface.now_samples < total + period,
            "{} samples",
            interface.now_samples
        );
        let trip = run.analyse().expect("a round trip");
        println!(
            "period {period}, blocks {blocks:?}: {:.3} samples ({:.3} ms) for {round_trip}, \
             confidence {:.1} dB",
            trip.samples, trip.ms, trip.peak_to_floor_db
        );
        assert!(
            (trip.samples - round_trip as f64).abs() <= 0.1,
            "blocks {blocks:?}: {}",
            trip.samples
        );
        // Once done it plays silence.
        let mut after = [1.0f32; 16];
        assert!(run.process(&[0.5; 16], &mut after));
        assert_eq!(after, [0.0; 16]);
    }
}
