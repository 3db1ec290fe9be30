//! The worst block of a 10-minute run: 64 loops playing at 48 kHz in 128-frame blocks, with a
//! command (record, undo, capture, mute, restart...) every 3 s, the pool keeper serviced as its
//! thread would be. The run is deterministic, so it is repeated and each block's time is the
//! fastest of the repeats: what remains is the engine's own cost, not the shared machine's
//! preemptions (the raw worst is printed too). Times are shares of the block's real-time budget
//! (2.67 ms).

use std::time::Instant;

use loopmate::engine::command::Command;

mod common;
use common::{BLOCK, BLOCK_BUDGET_SECS, RATE_HZ, engine_with_tracks, step};

/// Repeats of the whole 10-minute run.
const REPEATS: usize = 3;

/// Times every block of one 10-minute run, in seconds.
fn timed_run(blocks: usize) -> Vec<f64> {
    let (mut engine, mut keeper) = engine_with_tracks(64);
    let script = [
        Command::RecordToggle,
        Command::LastTrackGainUp,
        Command::RecordToggle,
        Command::ToggleMixMute,
        Command::Capture,
        Command::ToggleMixMute,
        Command::Undo,
        Command::Restart,
        Command::Redo,
        Command::MuteMixAtCycleEnd,
    ];
    let every_blocks = (3.0 * RATE_HZ as f64 / BLOCK as f64) as usize;
    let mut times = Vec::with_capacity(blocks);
    for i in 0..blocks {
        let command = (i % every_blocks == 0).then(|| script[(i / every_blocks) % script.len()]);
        let started = Instant::now();
        step(&mut engine, command.as_slice());
        times.push(started.elapsed().as_secs_f64());
        // The keeper thread wakes every 10 ms; one block is 2.67 ms.
        if i % 4 == 0 {
            keeper.service().expect("memory");
        }
    }
    times
}

fn main() {
    let blocks = (600.0 * RATE_HZ as f64 / BLOCK as f64) as usize;
    let runs: Vec<Vec<f64>> = (0..REPEATS).map(|_| timed_run(blocks)).collect();
    let mut fastest: Vec<f64> = (0..blocks)
        .map(|i| runs.iter().map(|run| run[i]).fold(f64::INFINITY, f64::min))
        .collect();
    let raw_worst = runs.iter().flatten().copied().fold(0.0, f64::max);
    fastest.sort_by(f64::total_cmp);
    let share = |secs: f64| 100.0 * secs / BLOCK_BUDGET_SECS;
    let median = fastest[blocks / 2];
    let p999 = fastest[blocks * 999 / 1000];
    let worst = fastest[blocks - 1];
    println!(
        "worst_block: 64 tracks, {blocks} blocks (10 min), best of {REPEATS} runs per block: \
         median {:.1} us ({:.2}% of budget), p99.9 {:.1} us ({:.2}%), worst {:.1} us ({:.2}%); \
         raw worst of any run {:.1} us ({:.2}%)",
        median * 1e6,
        share(median),
        p999 * 1e6,
        share(p999),
        worst * 1e6,
        share(worst),
        raw_worst * 1e6,
        share(raw_worst),
    );
}
