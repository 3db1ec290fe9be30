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

/// A block-sized stereo input of a test tone.
pub fn tone_block(start: u64) -> [Vec<f32>; 2] {
    [0, 1].map(|c| {
        (start..start + BLOCK as u64)
            .map(|t| (t as f32 * (0.01 + 0.005 * c as f32)).sin() * 0.3)
            .collect()
    })
}

/// Runs one block of the tone with `commands` at offset 0.
pub fn step(engine: &mut Engine, commands: &[Command]) {
    let [mut left, mut right] = tone_block(engine.now_samples());
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

/// An engine with `tracks` loops of 2 s playing (an anchor plus captures), recording into its
/// history as always.
pub fn engine_with_tracks(tracks: usize) -> (Engine, TrackPoolKeeper) {
    let (mut engine, mut keeper) = Engine::new(EngineConfig {
        sample_rate_hz: RATE_HZ,
        recorded_channels: 2,
        // Short history: the cost per block does not depend on it, and 256 tracks stay in memory.
        history_secs: 4.0,
    })
    .expect("memory");
    engine.set_settings(EngineSettings::default());
    let anchor_blocks = (2.0 * RATE_HZ as f64 / BLOCK as f64) as usize;
    step(&mut engine, &[Command::RecordToggle]);
    for _ in 0..anchor_blocks {
        step(&mut engine, &[]);
    }
    step(&mut engine, &[Command::RecordToggle]);
    while engine.playing_tracks().count() < tracks {
        step(&mut engine, &[Command::Capture]);
        keeper.service().expect("memory");
    }
    // Let every capture finish copying.
    for _ in 0..anchor_blocks {
        step(&mut engine, &[]);
    }
    keeper.service().expect("memory");
    (engine, keeper)
}

/// Switches filter, drive and delay on for every playing track (and lets the ramps finish).
pub fn all_effects_on(engine: &mut Engine) {
    let tracks = engine.playing_tracks().count() as u32;
    let mut commands = Vec::new();
    for n in 0..tracks {
        for fx in [
            FxControl::SetFilter(true),
            FxControl::SetDrive(true),
            FxControl::SetDelay(true),
        ] {
            commands.push(Command::Track(TrackTarget::Index(n), TrackControl::Fx(fx)));
        }
    }
    step(engine, &commands);
    for _ in 0..100 {
        step(engine, &[]);
    }
}

/// Times one block of `engine` (the same input block each time, as the host would hand it),
/// then `after_block` (what the plugin does after each block, e.g. publish the status).
pub fn time_block(b: &mut Bencher, engine: &mut Engine, mut after_block: impl FnMut(&Engine)) {
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
        after_block(engine);
    })
}
