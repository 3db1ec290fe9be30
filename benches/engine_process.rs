//! Time of one 128-frame stereo block of `Engine::process` at 48 kHz with 1, 16, 64 and 256 loops
//! playing while the history records, with 64 loops each running filter, drive and delay, and
//! with 64 filtered and delayed loops of noise and of mostly silence (whose effect tails decay
//! through the subnormal range: this row must not be slower than the noise row), and with 64
//! loops at a mix of speeds (a third each at x1/2, x1 and x2), and with 64 loops of 8 overdub
//! layers each (feedback 80 %) at that mix of speeds.
//! BENCHMARKS.md quotes the medians as a share of the block's real-time budget (2.67 ms).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

mod common;
use common::{
    Source, all_effects_on, effects_on, engine_with_tracks, engine_with_tracks_of, noise, sparse,
    step, time_block, time_block_of,
};
use loopmate::engine::EngineSettings;
use loopmate::engine::command::{Command, Select, TrackControl, TrackTarget};
use loopmate::engine::dub::DubKind;
use loopmate::engine::fx::chain::FxControl;

fn process_block(c: &mut Criterion) {
    let mut group = c.benchmark_group("process_128_frames_48k");
    for tracks in [1usize, 16, 64, 256] {
        let (mut engine, _keeper) = engine_with_tracks(tracks);
        group.bench_with_input(BenchmarkId::from_parameter(tracks), &tracks, |b, _| {
            time_block(b, &mut engine, |_| ())
        });
    }
    group.finish();
}

/// 64 loops, each with filter, drive and delay on, and the PA limiter working.
fn process_block_with_effects(c: &mut Criterion) {
    let (mut engine, mut keeper) = engine_with_tracks(64);
    all_effects_on(&mut engine, &mut keeper);
    c.bench_function("process_128_frames_48k/64_tracks_filter_drive_delay", |b| {
        time_block(b, &mut engine, |_| ())
    });
}

/// 64 loops with filter and delay on, the loops and the input all `source`.
fn process_block_filtered_and_delayed(c: &mut Criterion) {
    let sources: [(&str, Source); 2] = [("noise", noise), ("mostly_silence", sparse)];
    for (name, source) in sources {
        let (mut engine, mut keeper) = engine_with_tracks_of(64, source);
        effects_on(
            &mut engine,
            &mut keeper,
            &[FxControl::SetFilter(true), FxControl::SetDelay(true)],
        );
        // Long enough for every tail to have decayed since the last burst at least once.
        for _ in 0..2 * 375 {
            common::step_with(&mut engine, source, &[]);
        }
        let id = format!("process_128_frames_48k/64_tracks_filter_delay_{name}");
        c.bench_function(&id, |b| time_block_of(b, &mut engine, source, |_| ()));
    }
}

/// 64 loops, a third each at x1/2, x1 and x2 (resampled), after their speed fades.
fn process_block_at_mixed_speeds(c: &mut Criterion) {
    let (mut engine, _keeper) = engine_with_tracks(64);
    set_mixed_speeds(&mut engine);
    c.bench_function("process_128_frames_48k/64_tracks_speeds_half_1_2", |b| {
        time_block(b, &mut engine, |_| ())
    });
}

/// 64 loops of 8 overdub layers each (feedback 80 %, each layer a short overdub of every
/// loop in turn), then a third each at x1/2, x1 and x2.
fn process_block_with_layers_at_mixed_speeds(c: &mut Criterion) {
    const LAYERS: u32 = 8;
    let (mut engine, mut keeper) = engine_with_tracks(64);
    engine.set_settings(EngineSettings {
        dub_feedback: 0.8,
        ..EngineSettings::default()
    });
    for _ in 0..LAYERS {
        for n in 0..64u32 {
            let layers = |engine: &loopmate::engine::Engine| {
                engine
                    .playing_tracks()
                    .nth(n as usize)
                    .map_or(0, |t| t.layers)
            };
            let before = layers(&engine);
            step(&mut engine, &[Command::Select(Select::Loop(n))]);
            step(&mut engine, &[Command::Dub(DubKind::Overdub)]);
            // Past the lenience: a start armed for a boundary just ahead has begun.
            for _ in 0..100 {
                step(&mut engine, &[]);
                keeper.service().expect("memory");
            }
            step(&mut engine, &[Command::Dub(DubKind::Overdub)]);
            while layers(&engine) == before {
                step(&mut engine, &[]);
                keeper.service().expect("memory");
            }
        }
    }
    assert!(engine.playing_tracks().all(|t| t.layers == LAYERS));
    set_mixed_speeds(&mut engine);
    c.bench_function(
        "process_128_frames_48k/64_tracks_8_layers_speeds_half_1_2",
        |b| time_block(b, &mut engine, |_| ()),
    );
}

/// Puts a third of the loops at x1/2 and a third at x2, and lets the speed fades end.
fn set_mixed_speeds(engine: &mut loopmate::engine::Engine) {
    let commands: Vec<Command> = (0..64u32)
        .filter_map(|n| {
            let control = match n % 3 {
                0 => TrackControl::HalveSpeed,
                1 => return None,
                _ => TrackControl::DoubleSpeed,
            };
            Some(Command::Track(TrackTarget::Index(n), control))
        })
        .collect();
    step(engine, &commands);
    // The 50 ms crossfades end within 20 blocks.
    for _ in 0..40 {
        step(engine, &[]);
    }
}

criterion_group!(
    benches,
    process_block,
    process_block_with_effects,
    process_block_filtered_and_delayed,
    process_block_at_mixed_speeds,
    process_block_with_layers_at_mixed_speeds
);
criterion_main!(benches);
