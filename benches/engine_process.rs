//! Time of one 128-frame stereo block of `Engine::process` at 48 kHz with 1, 16, 64 and 256 loops
//! playing while the history records, and with 64 loops each running filter, drive and delay.
//! BENCHMARKS.md quotes the medians as a share of the block's real-time budget (2.67 ms).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

mod common;
use common::{all_effects_on, engine_with_tracks, time_block};

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
    let (mut engine, _keeper) = engine_with_tracks(64);
    all_effects_on(&mut engine);
    c.bench_function("process_128_frames_48k/64_tracks_filter_drive_delay", |b| {
        time_block(b, &mut engine, |_| ())
    });
}

criterion_group!(benches, process_block, process_block_with_effects);
criterion_main!(benches);
