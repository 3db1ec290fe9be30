//! Time of one 128-frame stereo block of `Engine::process` at 48 kHz with 1, 16, 64 and 256 loops
//! playing while the history records. The README quotes the medians as a share of the block's
//! real-time budget (2.67 ms).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

mod common;
use common::{BLOCK, engine_with_tracks, tone_block};

fn process_block(c: &mut Criterion) {
    let mut group = c.benchmark_group("process_128_frames_48k");
    for tracks in [1usize, 16, 64, 256] {
        let (mut engine, _keeper) = engine_with_tracks(tracks);
        let [left, right] = tone_block(0);
        let (mut main_l, mut main_r) = (left.clone(), right.clone());
        let (mut phones_l, mut phones_r) = (vec![0.0; BLOCK], vec![0.0; BLOCK]);
        group.bench_with_input(BenchmarkId::from_parameter(tracks), &tracks, |b, _| {
            b.iter(|| {
                main_l.copy_from_slice(&left);
                main_r.copy_from_slice(&right);
                engine.process(
                    &mut [&mut main_l, &mut main_r],
                    &mut [&mut phones_l, &mut phones_r],
                    &[],
                );
            })
        });
    }
    group.finish();
}

criterion_group!(benches, process_block);
criterion_main!(benches);
