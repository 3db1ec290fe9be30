//! Saving and loading 10 minutes of stereo loops at 48 kHz (four 2.5-minute stereo tracks,
//! 230 MB of raw f32): the binary container alone, and the whole route through the host's state
//! (base64 text inside nice-plug's JSON, as `serde_json` writes and parses it), for three kinds of
//! audio: the gliding test tones (float), the same quantized to 24 bits (what an interface
//! records), and full-scale white noise (the worst case); and the import resampler. BENCHMARKS.md
//! quotes the medians and the sizes this prints.

use std::collections::BTreeMap;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use loopmate::engine::cycle::Cycle;
use loopmate::engine::fx::chain::FxChain;
use loopmate::engine::session::TrackRecord;
use loopmate::engine::track::TrackAudio;
use loopmate::state::format;
use loopmate::state::mirror::{Clock, ModelTrack, SessionModel};
use loopmate::state::text;

const RATE: f32 = 48_000.0;
const TRACKS: usize = 4;
const TRACK_FRAMES: usize = 150 * 48_000;

/// Sample `t` of channel `c` of track `n` of each kind.
fn sample(kind: &str, n: usize, c: usize, t: usize, noise: &mut u64) -> f32 {
    let secs = t as f64 / RATE as f64;
    let f0 = 110.0 * (n + 1) as f64 + 55.0 * c as f64;
    let tone = 0.3 * (std::f64::consts::TAU * secs * (f0 + 10.0 * secs)).sin();
    *noise ^= *noise << 13;
    *noise ^= *noise >> 7;
    *noise ^= *noise << 17;
    let white = (*noise >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    match kind {
        "tones" => (tone + 0.01 * white) as f32,
        "tones_24bit" => (((tone + 0.01 * white) * 8_388_608.0).round() / 8_388_608.0) as f32,
        _ => white as f32,
    }
}

fn model(kind: &str) -> SessionModel {
    let mut noise = 0x9E37_79B9_7F4A_7C15u64;
    let tracks = (0..TRACKS)
        .map(|n| {
            let samples: Vec<f32> = (0..2 * TRACK_FRAMES)
                .map(|i| sample(kind, n, i / TRACK_FRAMES, i % TRACK_FRAMES, &mut noise))
                .collect();
            ModelTrack {
                record: TrackRecord {
                    id: n as u64,
                    length_samples: TRACK_FRAMES as u64,
                    origin_samples: 0,
                    gain: 1.0,
                    pan: 0.0,
                    muted: false,
                    soloed: false,
                    reversed: false,
                    undone: false,
                    fx: FxChain::new(RATE).settings(),
                },
                audio: Arc::new(TrackAudio::from_planar(2, TRACK_FRAMES, samples.into()).unwrap()),
            }
        })
        .collect();
    SessionModel {
        generation: 0,
        sample_rate_hz: RATE,
        cycle: Some(Cycle {
            origin_samples: 0,
            length_samples: TRACK_FRAMES as u64,
        }),
        tracks,
        clock: Clock::Frozen,
    }
}

/// What nice-plug does on save: the field as a JSON string, inside the state's JSON.
fn host_save(model: &SessionModel) -> Vec<u8> {
    let field = serde_json::to_string(&text::encode(&format::encode(model, 0))).unwrap();
    let mut fields = BTreeMap::new();
    fields.insert("performance".to_owned(), field);
    serde_json::to_vec(&fields).unwrap()
}

/// And on load.
fn host_load(state: &[u8]) -> SessionModel {
    let fields: BTreeMap<String, String> = serde_json::from_slice(state).unwrap();
    let field: String = serde_json::from_str(&fields["performance"]).unwrap();
    format::decode(&text::decode(&field).unwrap()).unwrap()
}

fn save_and_load(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_10_min_stereo_48k");
    group.sample_size(10);
    for kind in ["tones", "tones_24bit", "noise"] {
        let model = model(kind);
        let binary = format::encode(&model, 0);
        let state = host_save(&model);
        let raw = TRACKS * 2 * TRACK_FRAMES * 4;
        println!(
            "{kind}: raw {:.1} MB, container {:.1} MB ({:.1} %), host state {:.1} MB",
            raw as f64 / 1e6,
            binary.len() as f64 / 1e6,
            100.0 * binary.len() as f64 / raw as f64,
            state.len() as f64 / 1e6
        );
        group.bench_function(format!("{kind}/encode"), |b| {
            b.iter(|| format::encode(&model, 0))
        });
        group.bench_function(format!("{kind}/decode"), |b| {
            b.iter(|| format::decode(&binary).unwrap())
        });
        group.bench_function(format!("{kind}/host_save"), |b| {
            b.iter(|| host_save(&model))
        });
        group.bench_function(format!("{kind}/host_load"), |b| {
            b.iter(|| host_load(&state))
        });
    }
    group.finish();
}

/// Importing one minute of a 44.1 kHz (and a 96 kHz) mono file into a 48 kHz session: the
/// resampler, per channel.
fn resample_one_minute(c: &mut Criterion) {
    let mut group = c.benchmark_group("import_resample_60_s_mono");
    group.sample_size(10);
    for from in [44_100u32, 96_000] {
        let mut noise = 1u64;
        let x: Vec<f32> = (0..60 * from as usize)
            .map(|t| sample("tones", 0, 0, t, &mut noise))
            .collect();
        group.bench_function(format!("{from}_to_48000"), |b| {
            b.iter(|| loopmate::wav::resample(&x, from, 48_000).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, save_and_load, resample_one_minute);
criterion_main!(benches);
