//! `loopmate analyze FILE.wav`: the analysis of a WAV file (mono mix, any sample rate) as JSON
//! `{"onsets": [s...], "bpm": x, "beats": [s...]}`, computed by exactly the plugin's code.

use std::fmt::Write as _;
use std::path::Path;

use super::AnalysisConfig;
use super::offline::{Analysis, analyze};

/// Reads a WAV file as its mono mix (the mean of its channels) and its sample rate.
pub fn read_wav_mono(path: &Path) -> Result<(Vec<f32>, f32), String> {
    let describe = |e: hound::Error| format!("{}: not a readable WAV file ({e})", path.display());
    let mut reader = hound::WavReader::open(path).map_err(describe)?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 || spec.sample_rate == 0 {
        return Err(format!(
            "{}: WAV header has no channels or rate",
            path.display()
        ));
    }
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(describe)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|s| s as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(describe)?
        }
    };
    let mono = samples
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok((mono, spec.sample_rate as f32))
}

/// The JSON the CLI prints for `analysis` at `sample_rate_hz`; with `runtime_secs`, also the
/// analysis' own run time (for the evaluation's real-time factor).
pub fn to_json(analysis: &Analysis, sample_rate_hz: f32, runtime_secs: Option<f64>) -> String {
    let secs = |samples: f64| samples / f64::from(sample_rate_hz);
    let list = |times: &mut dyn Iterator<Item = f64>| {
        let mut out = String::from("[");
        for (i, t) in times.enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{:.5}", t);
        }
        out.push(']');
        out
    };
    let onsets = list(&mut analysis.onsets.iter().map(|o| secs(o.time_samples)));
    let beats = list(&mut analysis.beats_samples.iter().map(|&b| secs(b)));
    let bpm = analysis
        .bpm
        .map_or_else(|| "null".to_string(), |bpm| format!("{bpm:.3}"));
    let mut json = format!("{{\"onsets\": {onsets}, \"bpm\": {bpm}, \"beats\": {beats}");
    if let Some(runtime) = runtime_secs {
        let _ = write!(json, ", \"runtime_s\": {runtime:.6}");
    }
    json.push('}');
    json
}

/// Runs the subcommand on `args` (after `analyze`); returns the JSON or an error message.
pub fn run(args: &[String]) -> Result<String, String> {
    let usage = "usage: loopmate analyze FILE.wav [--timing]";
    let mut path = None;
    let mut timing = false;
    for arg in args {
        match arg.as_str() {
            "--timing" => timing = true,
            "-h" | "--help" => return Err(usage.to_string()),
            other if path.is_none() => path = Some(other),
            _ => return Err(usage.to_string()),
        }
    }
    let path = path.ok_or_else(|| usage.to_string())?;
    let started = std::time::Instant::now();
    let (samples, sample_rate_hz) = read_wav_mono(Path::new(path))?;
    let analysis = analyze(&samples, AnalysisConfig::new(sample_rate_hz));
    let runtime = timing.then(|| started.elapsed().as_secs_f64());
    Ok(to_json(&analysis, sample_rate_hz, runtime))
}
