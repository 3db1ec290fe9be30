//! Saving and loading 10 minutes of stereo loops at 48 kHz (four 2.5-minute stereo tracks,
//! 230 MB of raw f32): the binary container alone, and the whole route through the host's state
//! as nice-plug's CLAP and VST3 wrappers run it (the plugin's real `#[persist]` fields through
//! nice-plug's generated `serialize_fields`/`deserialize_fields`, inside a `PluginState`
//! written and parsed by `serde_json`), for three kinds of audio: the gliding test tones
//! (float), the same quantized to 24 bits (what an interface records), and full-scale white noise
//! (the worst case); and the import resampler. A host save is timed twice: the first one after
//! a load (every track encoded) and a later one (tracks encoded before are reused).
//! BENCHMARKS.md quotes the medians and the sizes this prints.

use std::collections::BTreeMap;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use loopmate::engine::audio::TrackAudio;
use loopmate::engine::cycle::Cycle;
use loopmate::engine::fx::chain::FxChain;
use loopmate::engine::session_event::TrackRecord;
use loopmate::params::LoopmateParams;
use loopmate::state::format;
use loopmate::state::mirror::{ModelTrack, SessionModel};
use nice_plug::prelude::{Params, PluginState};

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
                    content_samples: TRACK_FRAMES as u64,
                    origin_samples: 0,
                    gain: 1.0,
                    pan: 0.0,
                    muted: false,
                    soloed: false,
                    reversed: false,
                    speed: Default::default(),
                    layers: 0,
                    undone: false,
                    fx: FxChain::new(RATE).settings(),
                },
                audio: Arc::new(TrackAudio::from_planar(2, TRACK_FRAMES, &samples).unwrap()),
            }
        })
        .collect();
    SessionModel {
        cycle: Some(Cycle {
            origin_samples: 0,
            length_samples: TRACK_FRAMES as u64,
        }),
        tracks,
        ..SessionModel::empty(RATE)
    }
}

/// The plugin's parameters with `container` loaded into its performance field.
fn params_holding(container: &[u8]) -> LoopmateParams {
    let params = LoopmateParams::default();
    params.performance.store.load(container.to_vec()).unwrap();
    params
}

/// What nice-plug's wrappers do on save (`state::serialize_json`, without the parameters'
/// values, a few kilobytes).
fn host_save(params: &LoopmateParams) -> Vec<u8> {
    let state = PluginState {
        version: "0.1.0".to_owned(),
        params: BTreeMap::new(),
        fields: params.serialize_fields(),
    };
    serde_json::to_vec(&state).unwrap()
}

/// And on load (`state::deserialize_json`, then `deserialize_fields`).
fn host_load(params: &LoopmateParams, state: &[u8]) {
    let state: PluginState = serde_json::from_slice(state).unwrap();
    params.deserialize_fields(&state.fields);
}

fn save_and_load(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_10_min_stereo_48k");
    group.sample_size(10);
    for kind in ["tones", "tones_24bit", "noise"] {
        let model = model(kind);
        let binary = format::encode(&model, 0);
        drop(model);
        let params = params_holding(&binary);
        let state = host_save(&params);
        let raw = TRACKS * 2 * TRACK_FRAMES * 4;
        println!(
            "{kind}: raw {:.1} MB, container {:.1} MB ({:.1} %), host state {:.1} MB",
            raw as f64 / 1e6,
            binary.len() as f64 / 1e6,
            100.0 * binary.len() as f64 / raw as f64,
            state.len() as f64 / 1e6
        );
        group.bench_function(format!("{kind}/decode"), |b| {
            b.iter(|| format::decode(&binary).unwrap())
        });
        group.bench_function(format!("{kind}/encode"), |b| {
            let model = format::decode(&binary).unwrap();
            b.iter(|| format::encode(&model, 0))
        });
        let text = loopmate::state::text::encode(&binary);
        group.bench_function(format!("{kind}/base64_encode"), |b| {
            b.iter(|| loopmate::state::text::encode(&binary))
        });
        group.bench_function(format!("{kind}/base64_decode"), |b| {
            b.iter(|| loopmate::state::text::decode(&text).unwrap())
        });
        drop(text);
        group.bench_function(format!("{kind}/host_save_first"), |b| {
            b.iter_batched(
                || params_holding(&binary),
                // The parameters (and their loops) are dropped after the timing.
                |params| (host_save(&params), params),
                BatchSize::PerIteration,
            )
        });
        group.bench_function(format!("{kind}/host_save_again"), |b| {
            b.iter(|| host_save(&params))
        });
        group.bench_function(format!("{kind}/host_load"), |b| {
            b.iter(|| host_load(&params, &state))
        });
        assert_eq!(host_save(&params), state, "the loaded state saves the same");
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
