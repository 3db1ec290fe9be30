//! Development aid for tuning on a corpus: writes each WAV's timing envelope and tempo
//! novelty (little-endian f32, `NAME.env.f32` / `NAME.nov.f32`) to an output folder, with the
//! frame rate in `frame_rate.txt`, so picking and tempo rules can be studied offline.
//!
//! usage: cargo run --release --example mir_dump -- OUT_DIR FILE.wav...

use std::io::Write;
use std::path::Path;

use loopmate::analysis::AnalysisConfig;
use loopmate::analysis::cli::read_wav_mono;
use loopmate::analysis::offline::analyze;

fn write_f32(path: &Path, values: &[f32]) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for v in values {
        file.write_all(&v.to_le_bytes())?;
    }
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, files) = args
        .split_first()
        .ok_or("usage: mir_dump OUT_DIR FILE.wav...")?;
    let out = Path::new(out);
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    for file in files {
        let (samples, rate) = read_wav_mono(Path::new(file))?;
        let config = AnalysisConfig::new(rate);
        let analysis = analyze(&samples, config);
        let stem = Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or("bad file name")?;
        write_f32(&out.join(format!("{stem}.env.f32")), &analysis.envelope)
            .map_err(|e| e.to_string())?;
        write_f32(&out.join(format!("{stem}.nov.f32")), &analysis.novelty)
            .map_err(|e| e.to_string())?;
        std::fs::write(
            out.join("frame_rate.txt"),
            format!(
                "{} {} {}\n",
                config.frame_rate_hz(),
                config.hop_samples,
                config.frame_samples
            ),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}
