//! Analysis cost: the online analysis per second of audio, the offline analysis of 30 s (what
//! `loopmate analyze` does after reading the file), reading a 30 s WAV file (what it does
//! before), and an on-demand tempo request over 30 s of stored envelope (what the worker does
//! for beat quantization).

use criterion::{Criterion, criterion_group, criterion_main};
use loopmate::analysis::AnalysisConfig;
use loopmate::analysis::cli::read_wav_mono;
use loopmate::analysis::offline::{analyze, tempo_of};
use loopmate::analysis::online::OnlineAnalyzer;

const RATE: f32 = 48_000.0;

/// Drum-like test audio: decaying noise bursts on a 120 BPM grid with eighth-note accents.
fn music(secs: f32) -> Vec<f32> {
    let frames = (secs * RATE) as usize;
    let mut seed = 0x9E37_79B9u32;
    let mut out = Vec::with_capacity(frames);
    let eighth = (RATE * 0.25) as usize;
    for n in 0..frames {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = seed as f32 / u32::MAX as f32 * 2.0 - 1.0;
        let since = n % eighth;
        let accent = if (n / eighth).is_multiple_of(2) {
            0.6
        } else {
            0.25
        };
        let env = accent * (-(since as f32) / (0.03 * RATE)).exp();
        out.push(noise * env + 0.1 * (n as f32 * 0.05).sin());
    }
    out
}

fn benches(c: &mut Criterion) {
    let config = AnalysisConfig::new(RATE);
    let one_second = music(1.0);
    let mut analyzer = OnlineAnalyzer::new(config);
    c.bench_function("analysis_online_1s_48k", |b| {
        b.iter(|| {
            let mut onsets = 0;
            analyzer.push(&one_second, |out| {
                onsets += usize::from(out.onset.is_some())
            });
            onsets
        })
    });
    let thirty = music(30.0);
    c.bench_function("analysis_offline_30s_48k", |b| {
        b.iter(|| analyze(&thirty, config))
    });
    let wav = std::env::temp_dir().join(format!("loopmate_bench_{}.wav", std::process::id()));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE as u32,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&wav, spec).expect("temporary WAV");
    for &x in &thirty {
        writer
            .write_sample((x.clamp(-1.0, 1.0) * 32_767.0) as i16)
            .expect("write");
    }
    writer.finalize().expect("finalize");
    c.bench_function("analysis_read_wav_30s_48k", |b| {
        b.iter(|| read_wav_mono(&wav).expect("readable").0.len())
    });
    let _ = std::fs::remove_file(&wav);
    let novelty = analyze(&thirty, config).novelty;
    c.bench_function("analysis_on_demand_tempo_30s", |b| {
        b.iter(|| tempo_of(&novelty, config))
    });
}

criterion_group! {
    name = analysis;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(analysis);
