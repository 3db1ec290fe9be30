//! Latency calibration in the standalone (`loopmate calibrate`, or the editor's button).
//!
//! The audio thread plays the calibration signal on the first channel of a path (PA or
//! headphones) and records the first input ([`CalibrationSlot`], inside the processor); a worker
//! ([`Calibrator`]) hands it each run, analyses what came back off the audio thread, and works
//! out the plugin's *Input latency* and *Headphone delay* ([`LatencyReport`]).
//!
//! A round trip through a loopback holds what the backend buffers (JACK's or ALSA's periods,
//! which the backend knows) and what the interface adds (converters, safety buffers), which only
//! a measurement finds. As Ardour does, the interface's part is split evenly between input and
//! output. The input latency (how much later the audio of a moment reaches the looper than a
//! MIDI press made at that moment; both are one period late already) is the input's half. The
//! headphone delay lines the headphones up with the PA: the PA's round trip minus the
//! headphones', when the PA's is the longer (a PA through a digital desk, say).

use std::time::{Duration, Instant};

use super::config::{MAX_HEADPHONE_DELAY_MS, MAX_INPUT_LATENCY_MS};
use crate::calibrate::{Calibration, CalibrationRun, RoundTrip};

/// How often the worker looks for a finished run, and the editor's button.
const POLL: Duration = Duration::from_millis(20);
/// How long past the signal's own length the worker waits for the audio thread.
const GRACE: Duration = Duration::from_secs(2);

/// The output a run plays on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputPath {
    /// The PA mix's first channel.
    Pa,
    /// The headphone mix's first channel.
    Headphones,
}

/// A run of the signal on a path, handed between the worker and the audio thread.
pub struct CalibrationJob {
    /// The signal played and the input recorded so far.
    run: Box<CalibrationRun>,
    /// Where it plays.
    path: OutputPath,
}

/// The audio thread's side, inside the processor.
///
/// Realtime: [`CalibrationSlot::capture`] and [`CalibrationSlot::play`] never allocate, lock
/// or free (a finished run goes back to the worker, which drops it).
pub struct CalibrationSlot {
    /// Runs from the worker.
    jobs: rtrb::Consumer<CalibrationJob>,
    /// Finished runs back to the worker.
    done: rtrb::Producer<CalibrationJob>,
    /// The run playing now.
    active: Option<CalibrationJob>,
    /// The period's first input, kept before the plugin overwrites it with the PA mix; as long
    /// as the longest period, in frames.
    input: Box<[f32]>,
}

impl CalibrationSlot {
    /// Keeps the period's first input if a run plays (or starts) now. Realtime.
    pub fn capture(&mut self, input: &[f32]) {
        if self.active.is_none() {
            self.active = self.jobs.pop().ok();
        }
        if self.active.is_some() {
            let frames = input.len().min(self.input.len());
            self.input[..frames].copy_from_slice(&input[..frames]);
        }
    }

    /// While a run plays: silences every output and plays the signal on its path's first
    /// channel (the player hears only the calibration). A finished run goes back to the
    /// worker. Realtime.
    pub fn play(&mut self, frames: usize, pa: &mut [Box<[f32]>; 2], phones: &mut [Box<[f32]>; 2]) {
        let Some(job) = &mut self.active else {
            return;
        };
        let frames = frames.min(self.input.len());
        for channel in pa.iter_mut().chain(phones.iter_mut()) {
            channel[..frames].fill(0.0);
        }
        let output = match job.path {
            OutputPath::Pa => &mut pa[0],
            OutputPath::Headphones => &mut phones[0],
        };
        if job
            .run
            .process(&self.input[..frames], &mut output[..frames])
            && let Some(job) = self.active.take()
            && let Err(rtrb::PushError::Full(job)) = self.done.push(job)
        {
            // The worker sends one run at a time, so its ring has room; if it had not, the run
            // stays here (finished, silent) rather than being freed on the audio thread.
            self.active = Some(job);
        }
    }
}

/// Names of what the calibration plays on and records from, for the player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalibrationPorts {
    /// The first recorded input ("input 1", "loopmate:in_1").
    pub input: String,
    /// The PA's first output.
    pub pa: String,
    /// The headphones' first output, if they are routed.
    pub headphones: Option<String>,
}

/// The frames a backend buffers on a path's round trip: its share of what a loopback measures.
pub type BufferedFrames = Box<dyn Fn(OutputPath) -> usize + Send>;

/// The worker's side: hands runs to the audio thread and analyses them. Not realtime.
pub struct Calibrator {
    /// Runs to the audio thread.
    jobs: rtrb::Producer<CalibrationJob>,
    /// Finished runs from it.
    done: rtrb::Consumer<CalibrationJob>,
    /// The signal and its analysis.
    calibration: Calibration,
    /// Names for messages.
    ports: CalibrationPorts,
    /// The backend's buffering per path.
    buffered_frames: BufferedFrames,
}

/// The audio thread's and the worker's ends, for periods up to `max_frames` at
/// `sample_rate_hz`. Not realtime.
pub fn link(sample_rate_hz: f32, max_frames: usize) -> (CalibrationSlot, Calibrator) {
    let (jobs_in, jobs) = rtrb::RingBuffer::new(1);
    let (done, done_out) = rtrb::RingBuffer::new(1);
    let slot = CalibrationSlot {
        jobs,
        done,
        active: None,
        input: vec![0.0; max_frames].into_boxed_slice(),
    };
    let calibrator = Calibrator {
        jobs: jobs_in,
        done: done_out,
        calibration: Calibration::new(sample_rate_hz),
        ports: CalibrationPorts {
            input: "the input".to_owned(),
            pa: "the PA".to_owned(),
            headphones: None,
        },
        buffered_frames: Box::new(|_| 0),
    };
    (slot, calibrator)
}

/// A path's measurement, as the player reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct PathReport {
    /// The path.
    pub path: OutputPath,
    /// The round trip, or what to do about its failure.
    pub round_trip: Result<RoundTrip, String>,
    /// The backend's buffering on the path, in frames.
    pub buffered_frames: usize,
}

/// What a calibration measured and the settings it gives.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyReport {
    /// Each routed path's measurement (PA first).
    pub paths: Vec<PathReport>,
    /// The input latency to set, in ms; `None` when no path came back.
    pub input_latency_ms: Option<f32>,
    /// The headphone delay to set, in ms; `None` unless both paths came back.
    pub headphone_delay_ms: Option<f32>,
    /// The sample rate measured at, in hertz.
    pub sample_rate_hz: f32,
}

impl LatencyReport {
    /// The settings from the paths' measurements (see the module's notes).
    pub fn new(paths: Vec<PathReport>, sample_rate_hz: f32) -> Self {
        let ms = |samples: f64| (samples * 1000.0 / f64::from(sample_rate_hz)) as f32;
        let heard = |path| {
            (paths.iter())
                .find(|report| report.path == path)
                .and_then(|report| report.round_trip.as_ref().ok().map(|rt| (rt, report)))
        };
        let input_latency_ms = (paths.iter())
            .filter_map(|report| {
                let round_trip = report.round_trip.as_ref().ok()?;
                Some((round_trip.samples - report.buffered_frames as f64).max(0.0) / 2.0)
            })
            .reduce(f64::min)
            .map(|samples| ms(samples).min(MAX_INPUT_LATENCY_MS as f32));
        let headphone_delay_ms = match (heard(OutputPath::Pa), heard(OutputPath::Headphones)) {
            (Some((pa, _)), Some((phones, _))) => {
                Some(ms((pa.samples - phones.samples).max(0.0)).min(MAX_HEADPHONE_DELAY_MS as f32))
            }
            _ => None,
        };
        Self {
            paths,
            input_latency_ms,
            headphone_delay_ms,
            sample_rate_hz,
        }
    }

    /// The report for the player, one line per path and one per setting.
    pub fn summary(&self, ports: &CalibrationPorts) -> String {
        let mut lines = Vec::new();
        for report in &self.paths {
            let output = match report.path {
                OutputPath::Pa => format!("PA ({})", ports.pa),
                OutputPath::Headphones => {
                    format!(
                        "headphones ({})",
                        ports.headphones.as_deref().unwrap_or("-")
                    )
                }
            };
            lines.push(match &report.round_trip {
                Ok(rt) => format!(
                    "{output} to {}: round trip {:.1} samples ({:.2} ms), {} of them buffered \
                     by the backend; {:.0} dB over the noise, repeats within {:.2} samples",
                    ports.input,
                    rt.samples,
                    rt.ms,
                    report.buffered_frames,
                    rt.peak_to_floor_db,
                    rt.spread_samples,
                ),
                Err(advice) => format!("{output}: {advice}"),
            });
        }
        match self.input_latency_ms {
            Some(ms) => lines.push(format!("Input latency: {ms:.2} ms")),
            None => lines.push("Input latency: not measured, left as it was".to_owned()),
        }
        match self.headphone_delay_ms {
            Some(ms) => lines.push(format!("Headphone delay: {ms:.2} ms")),
            None => lines.push(
                "Headphone delay: left as it was (it needs both the PA and the headphones \
                 looped back)"
                    .to_owned(),
            ),
        }
        lines.join("\n")
    }
}

impl Calibrator {
    /// Names the ports in its messages; the headphones are measured only if they are routed.
    /// Not realtime.
    pub fn set_ports(&mut self, ports: CalibrationPorts) {
        self.ports = ports;
    }

    /// The backend's buffering per path, once the backend runs (0 until then).
    pub fn set_buffered_frames(&mut self, buffered_frames: BufferedFrames) {
        self.buffered_frames = buffered_frames;
    }

    /// The names it reports with.
    pub fn ports(&self) -> &CalibrationPorts {
        &self.ports
    }

    /// Plays the signal on `path`, waits for the audio thread to finish it, and measures the
    /// round trip; the error says what to do. Blocks for the signal's length (about 2.3 s).
    pub fn measure(&mut self, path: OutputPath) -> Result<RoundTrip, String> {
        // A run the audio thread gave back after an earlier timeout.
        while self.done.pop().is_ok() {}
        let output = match path {
            OutputPath::Pa => self.ports.pa.clone(),
            OutputPath::Headphones => (self.ports.headphones.clone())
                .ok_or("the headphones are not routed to any output")?,
        };
        let run = Box::new(CalibrationRun::new(self.calibration.clone()));
        (self.jobs.push(CalibrationJob { run, path }))
            .map_err(|_| "a calibration is still playing: wait for it to end".to_owned())?;
        let signal_secs =
            self.calibration.total_samples() as f64 / f64::from(self.calibration.sample_rate_hz);
        let deadline = Instant::now() + Duration::from_secs_f64(signal_secs) + GRACE;
        loop {
            if let Ok(job) = self.done.pop() {
                return (job.run.analyse())
                    .map_err(|error| error.advice(&output, &self.ports.input));
            }
            if Instant::now() > deadline {
                return Err(
                    "the audio stopped during the calibration (is the interface running?)"
                        .to_owned(),
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Measures the PA, then the headphones if they are routed, and works out the settings.
    pub fn calibrate(&mut self) -> LatencyReport {
        let mut paths = vec![OutputPath::Pa];
        if self.ports.headphones.is_some() {
            paths.push(OutputPath::Headphones);
        }
        let reports = (paths.into_iter())
            .map(|path| PathReport {
                path,
                round_trip: self.measure(path),
                buffered_frames: (self.buffered_frames)(path),
            })
            .collect();
        LatencyReport::new(reports, self.calibration.sample_rate_hz)
    }
}

/// Runs the editor's button: waits for a request on `control`, calibrates, hands the report to
/// `apply` (which sets the parameters and saves them) and reports to the editor, until `stop`
/// is set. Runs on its own thread.
pub fn serve_button(
    mut calibrator: Calibrator,
    control: &crate::calibrate::control::CalibrationControl,
    stop: &std::sync::atomic::AtomicBool,
    mut apply: impl FnMut(&LatencyReport) -> Result<String, String>,
) {
    control.offer();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        if !control.take_request() {
            std::thread::sleep(POLL);
            continue;
        }
        control.set_running(true);
        let report = calibrator.calibrate();
        let mut message = report.summary(calibrator.ports());
        match apply(&report) {
            Ok(saved) => message.push_str(&format!("\n{saved}")),
            Err(error) => message.push_str(&format!("\nNot saved: {error}")),
        }
        control.report(message);
        control.set_running(false);
    }
}

#[cfg(test)]
mod tests;
