//! Time of one 128-frame stereo block of `Engine::process` at 48 kHz with 1, 16, 64 and 256 loops
//! playing while the history records, and with 64 loops each running filter, drive and delay.
//! BENCHMARKS.md quotes the medians as a share of the block's real-time budget (2.67 ms).

use criterion::{Bencher, BenchmarkId, Criterion, criterion_group, criterion_main};
use loopmate::engine::Engine;

mod common;
use common::{BLOCK, all_effects_on, engine_with_tracks, tone_block};

/// Times one block of `engine` (the same input block each time, as the host would hand it).
fn time_block(b: &mut Bencher, engine: &mut Engine) {
    let [left, right] = tone_block(0);
    let (mut main_l, mut main_r) = (left.clone(), right.clone());
    let (mut phones_l, mut phones_r) = (vec![0.0; BLOCK], vec![0.0; BLOCK]);
    b.iter(|| {
        main_l.copy_from_slice(&left);
        main_r.copy_from_slice(&right);
        engine.process(
            &mut [&mut main_l, &mut main_r],
            &mut [&mut phones_l, &mut phones_r],
            &[],
        );
    })
}

fn process_block(c: &mut Criterion) {
    let mut group = c.benchmark_group("process_128_frames_48k");
    for tracks in [1usize, 16, 64, 256] {
        let (mut engine, _keeper) = engine_with_tracks(tracks);
        group.bench_with_input(BenchmarkId::from_parameter(tracks), &tracks, |b, _| {
            time_block(b, &mut engine)
        });
    }
    group.finish();
}

/// 64 loops, each with filter, drive and delay on, and the PA limiter working.
fn process_block_with_effects(c: &mut Criterion) {
    let (mut engine, _keeper) = engine_with_tracks(64);
    all_effects_on(&mut engine);
    c.bench_function("process_128_frames_48k/64_tracks_filter_drive_delay", |b| {
        time_block(b, &mut engine)
    });
}

criterion_group!(benches, process_block, process_block_with_effects);
criterion_main!(benches);
