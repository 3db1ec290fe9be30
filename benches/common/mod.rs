// Shared by the bench binaries; each uses a part of it.
#![allow(dead_code)]
//! Shared set-up for the engine benchmarks: an engine at 48 kHz with N loops playing.

use criterion::Bencher;
use loopmate::engine::command::{Command, TimedCommand, TrackControl, TrackTarget};
use loopmate::engine::fx::chain::FxControl;
use loopmate::engine::pool::TrackPoolKeeper;
use loopmate::engine::{Engine, EngineConfig, EngineSettings};

/// Sample rate of the benchmarks, in Hz.
pub const RATE_HZ: f32 = 48_000.0;
/// Host block size of the benchmarks, in frames.
pub const BLOCK: usize = 128;
/// Real-time budget of one block, in seconds.
pub const BLOCK_BUDGET_SECS: f64 = BLOCK as f64 / RATE_HZ as f64;

/// Length of the anchor loop [`record_anchor`] records, in seconds.
pub const ANCHOR_SECS: f64 = 2.0;

/// What the player plays: the sample of channel `c` at time `t`.
pub type Source = fn(t: u64, c: usize) -> f32;

/// A test tone.
pub fn tone(t: u64, c: usize) -> f32 {
    (t as f32 * (0.01 + 0.005 * c as f32)).sin() * 0.3
}

/// White noise at -10 dBFS peak (a hash of the time): dense audio, no subnormal anywhere.
pub fn noise(t: u64, c: usize) -> f32 {
    let mut h = (t * 2 + c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    ((h >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.6
}

/// Mostly silence: a 5 ms burst of the tone at the start of every second, as an overdub that
/// plays a note now and then. Effects' tails decay into the subnormal range between bursts.
pub fn sparse(t: u64, c: usize) -> f32 {
    if t % (RATE_HZ as u64) < 240 {
        tone(t, c)
    } else {
        0.0
    }
}

/// A block-sized stereo input of `source` from `start`.
pub fn block_of(source: Source, start: u64) -> [Vec<f32>; 2] {
    [0, 1].map(|c| {
        (start..start + BLOCK as u64)
            .map(|t| source(t, c))
            .collect()
    })
}

/// Runs one block of the tone with `commands` at offset 0.
pub fn step(engine: &mut Engine, commands: &[Command]) {
    step_with(engine, tone, commands);
}

/// Runs one block of `source` with `commands` at offset 0.
pub fn step_with(engine: &mut Engine, source: Source, commands: &[Command]) {
    let [mut left, mut right] = block_of(source, engine.now_samples());
    let (mut phones_l, mut phones_r) = (vec![0.0; BLOCK], vec![0.0; BLOCK]);
    let timed: Vec<TimedCommand> = commands
        .iter()
        .map(|&command| TimedCommand {
            offset_samples: 0,
            command,
        })
        .collect();
    engine.process(
        &mut [&mut left, &mut right],
        &mut [&mut phones_l, &mut phones_r],
        &timed,
    );
}

/// An engine with `tracks` loops of 2 s of the tone playing (an anchor plus captures),
/// recording into its history as always.
pub fn engine_with_tracks(tracks: usize) -> (Engine, TrackPoolKeeper) {
    engine_with_tracks_of(tracks, tone)
}

/// An engine with `tracks` loops of 2 s of `source` playing.
pub fn engine_with_tracks_of(tracks: usize, source: Source) -> (Engine, TrackPoolKeeper) {
    // Short history: the cost per block does not depend on it, and 256 tracks stay in memory.
    let (mut engine, mut keeper) = new_engine(4.0);
    record_anchor(&mut engine, source);
    while engine.playing_tracks().count() < tracks {
        capture_track(&mut engine, &mut keeper, source);
    }
    let_captures_finish(&mut engine, &mut keeper, source);
    (engine, keeper)
}

/// A fresh stereo engine at [`RATE_HZ`] with `history_secs` seconds of history and the default
/// settings, and its pool keeper (not running: call its `service` as its thread would).
pub fn new_engine(history_secs: f32) -> (Engine, TrackPoolKeeper) {
    let (mut engine, keeper) = Engine::new(EngineConfig {
        sample_rate_hz: RATE_HZ,
        recorded_channels: 2,
        history_secs,
    })
    .expect("memory");
    engine.set_settings(EngineSettings::default());
    (engine, keeper)
}

/// Blocks in [`ANCHOR_SECS`], rounded down.
fn anchor_blocks() -> usize {
    (ANCHOR_SECS * RATE_HZ as f64 / BLOCK as f64) as usize
}

/// Records the anchor loop: record toggle, [`ANCHOR_SECS`] of `source`, record toggle.
pub fn record_anchor(engine: &mut Engine, source: Source) {
    step_with(engine, source, &[Command::RecordToggle]);
    for _ in 0..anchor_blocks() {
        step_with(engine, source, &[]);
    }
    step_with(engine, source, &[Command::RecordToggle]);
}

/// Presses capture every block, servicing the keeper after each, until one more loop plays.
pub fn capture_track(engine: &mut Engine, keeper: &mut TrackPoolKeeper, source: Source) {
    let playing = engine.playing_tracks().count();
    while engine.playing_tracks().count() == playing {
        step_with(engine, source, &[Command::Capture]);
        keeper.service().expect("memory");
    }
}

/// Runs [`ANCHOR_SECS`] of `source`, servicing the keeper after each block as its thread would
/// (the copies take pages from its reserve), so every capture finishes copying.
pub fn let_captures_finish(engine: &mut Engine, keeper: &mut TrackPoolKeeper, source: Source) {
    for _ in 0..anchor_blocks() {
        step_with(engine, source, &[]);
        keeper.service().expect("memory");
    }
}

/// Switches filter, drive and delay on for every playing track (and lets the ramps finish).
pub fn all_effects_on(engine: &mut Engine, keeper: &mut TrackPoolKeeper) {
    effects_on(
        engine,
        keeper,
        &[
            FxControl::SetFilter(true),
            FxControl::SetDrive(true),
            FxControl::SetDelay(true),
        ],
    );
}

/// Applies `effects` to every playing track (and lets the ramps finish).
pub fn effects_on(engine: &mut Engine, keeper: &mut TrackPoolKeeper, effects: &[FxControl]) {
    let tracks = engine.playing_tracks().count() as u32;
    let mut commands = Vec::new();
    for n in 0..tracks {
        for &fx in effects {
            commands.push(Command::Track(TrackTarget::Index(n), TrackControl::Fx(fx)));
        }
    }
    step(engine, &commands);
    // The keeper, serviced after each block as its thread would, hands out delay memory two
    // loops at a time: every loop's delay runs before the figures are taken.
    for _ in 0..100 + tracks {
        keeper.service().expect("memory");
        step(engine, &[]);
    }
}

/// Times one block of `engine` (the same input block of the tone each time, as the host would
/// hand it), then `after_block` (what the plugin does after each block, e.g. publish the
/// status).
pub fn time_block(b: &mut Bencher, engine: &mut Engine, after_block: impl FnMut(&Engine)) {
    time_block_of(b, engine, tone, after_block);
}

/// [`time_block`] with an input block of `source`.
pub fn time_block_of(
    b: &mut Bencher,
    engine: &mut Engine,
    source: Source,
    mut after_block: impl FnMut(&Engine),
) {
    let [left, right] = block_of(source, 0);
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
        after_block(engine);
    })
}
