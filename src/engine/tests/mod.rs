//! Engine tests, driven like a host drives the engine: blocks of input, commands at sample
//! offsets, the pool keeper serviced between blocks, allocation forbidden inside `process`.

mod behaviour;
mod board;
mod clock_out;
mod dub;
mod first_repeat;
mod long_session;
mod oneshots;
mod outputs;
mod properties;
mod quantize;
mod recorder;
mod selection;
mod speed;
mod storage;
pub(crate) mod sync;
mod undo;

use crate::engine::command::{Command, TimedCommand};
use crate::engine::pool::TrackPoolKeeper;
use crate::engine::{Engine, EngineConfig, EngineSettings, RecordingState};

/// Sample rate of most tests, in Hz.
pub const RATE: f32 = 48_000.0;
/// The default blend (50 ms) in samples at 48 kHz.
pub const BLEND: usize = 2400;

/// A deterministic test signal: a sine per channel plus a little pseudo-noise.
pub fn test_signal(channel: usize, t: u64) -> f32 {
    let freq = if channel == 0 { 220.0 } else { 330.0 };
    let phase = 2.0 * std::f64::consts::PI * freq * t as f64 / RATE as f64;
    let mut h = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (channel as u64 + 1);
    h ^= h >> 29;
    let noise = (h % 1000) as f32 / 1000.0 - 0.5;
    (0.3 * phase.sin()) as f32 + 0.02 * noise
}

/// The loop expected from a take of `[s0, s1)` of the test signal: its end crossfaded into the
/// `blend` samples before `s0` (the seam).
pub fn expected_loop(channel: usize, s0: u64, s1: u64, blend: usize) -> Vec<f32> {
    expected_track(channel, s0, s1, s1 - s0, blend)
}

/// The track of `length` samples expected from a take of `[s0, s1)` of the test signal (the
/// take may be shorter): the take's end fades out over `blend` samples, and the `blend`
/// samples before `s0` fade in over the track's last ones (the seam).
pub fn expected_track(channel: usize, s0: u64, s1: u64, length: u64, blend: usize) -> Vec<f32> {
    expected_track_of(|t| test_signal(channel, t), s0, s1, length, blend)
}

/// [`expected_track`] of any input (`signal(t)` at absolute time `t`).
pub fn expected_track_of(
    signal: impl Fn(u64) -> f32,
    s0: u64,
    s1: u64,
    length: u64,
    blend: usize,
) -> Vec<f32> {
    let (written, length) = ((s1 - s0) as usize, length as usize);
    let mut track: Vec<f32> = (s0..s1).map(&signal).collect();
    track.resize(length, 0.0);
    let w = |j: usize| (j + 1) as f32 / (blend + 1) as f32;
    for j in 0..blend {
        track[written - blend + j] *= 1.0 - w(j);
    }
    for j in 0..blend {
        track[length - blend + j] += signal(s0 - blend as u64 + j as u64) * w(j);
    }
    track
}

/// Stereo input: the test signal until `until`, silence after (so loops are heard alone).
pub fn signal_until(frames: usize, until: u64) -> [Vec<f32>; 2] {
    let channel = |c| {
        (0..frames as u64)
            .map(|t| if t < until { test_signal(c, t) } else { 0.0 })
            .collect()
    };
    [channel(0), channel(1)]
}

/// A set of `loops` loops: the anchor recorded from `start` for `cycle` samples, then captures
/// of its cycle, `per_cycle` in each cycle from the second on, `spacing` samples apart from 100
/// samples past its start, all in its first half (a capture pressed later waits for the next
/// boundary, and a second press cancels it); the keeper readies storage between two.
pub fn anchor_and_captures(
    start: u64,
    cycle: u64,
    loops: usize,
    per_cycle: u64,
    spacing: u64,
) -> Vec<(u64, Command)> {
    assert!(
        100 + (per_cycle - 1) * spacing < cycle / 2,
        "captures in the first half"
    );
    let mut commands = vec![
        (start, Command::RecordToggle),
        (start + cycle, Command::RecordToggle),
    ];
    commands.extend((0..loops as u64 - 1).map(|n| {
        let cycle_start = start + (2 + n / per_cycle) * cycle;
        (
            cycle_start + 100 + (n % per_cycle) * spacing,
            Command::Capture,
        )
    }));
    commands
}

/// When the last loop of [`anchor_and_captures`] is copied and playing, in samples: a cycle
/// after the last capture's.
pub const fn set_ready(start: u64, cycle: u64, loops: usize, per_cycle: u64) -> u64 {
    start + (3 + (loops as u64 - 1).div_ceil(per_cycle)) * cycle
}

pub fn new_engine() -> (Engine, TrackPoolKeeper) {
    new_engine_with(EngineSettings::default())
}

pub fn new_engine_with(settings: EngineSettings) -> (Engine, TrackPoolKeeper) {
    engine_at(RATE, 20.0, settings)
}

/// An engine at `rate_hz` with `history_secs` of history.
pub fn engine_at(
    rate_hz: f32,
    history_secs: f32,
    settings: EngineSettings,
) -> (Engine, TrackPoolKeeper) {
    engine_from(
        EngineConfig {
            sample_rate_hz: rate_hz,
            recorded_channels: 2,
            history_secs,
        },
        settings,
    )
}

/// An engine of `config` with `settings`.
pub fn engine_from(config: EngineConfig, settings: EngineSettings) -> (Engine, TrackPoolKeeper) {
    let (mut engine, keeper) = Engine::new(config).expect("memory for the engine");
    engine.set_settings(settings);
    (engine, keeper)
}

/// Output of a run: main and headphone channels.
pub struct Rendered {
    pub main: [Vec<f32>; 2],
    pub phones: [Vec<f32>; 2],
}

/// Block sizes a rendering must not depend on: one frame, small, large, and a mix.
pub const BLOCK_SIZES: [&[usize]; 5] = [
    &[1],
    &[64],
    &[512],
    &[4096],
    &[1, 7, 64, 511, 512, 4096, 13, 300],
];

/// Runs the engine on, its input silent, until the absolute time `until_samples`, with
/// `commands` at absolute times, in blocks of `block_sizes` (cycled).
pub fn run_on_in_silence(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    until_samples: u64,
    commands: &[(u64, Command)],
    block_sizes: &[usize],
) -> Rendered {
    let frames = (until_samples - engine.now_samples()) as usize;
    run(
        engine,
        keeper,
        &signal_until(frames, 0),
        commands,
        block_sizes,
    )
}

/// Runs `input` through the engine in blocks of `block_sizes` (cycled), with `commands` at
/// absolute sample times (sorted). Each block runs with allocation forbidden.
pub fn run(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    input: &[Vec<f32>; 2],
    commands: &[(u64, Command)],
    block_sizes: &[usize],
) -> Rendered {
    run_with(engine, keeper, input, commands, block_sizes, |_| {})
}

/// [`run`], calling `before_block` with the engine before each block (as a host sets the
/// transport and parameters, or to drive a background worker in step).
pub fn run_with(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    input: &[Vec<f32>; 2],
    commands: &[(u64, Command)],
    block_sizes: &[usize],
    mut before_block: impl FnMut(&mut Engine),
) -> Rendered {
    let frames = input[0].len();
    let mut main = input.clone();
    let mut phones = [vec![0.0; frames], vec![0.0; frames]];
    let mut block_commands = Vec::with_capacity(commands.len());
    let mut at = 0;
    let mut sizes = block_sizes.iter().cycle();
    while at < frames {
        let size = (*sizes.next().unwrap()).min(frames - at);
        before_block(engine);
        let start = engine.now_samples();
        block_commands.clear();
        for &(time, command) in commands {
            if time >= start && time < start + size as u64 {
                block_commands.push(TimedCommand {
                    offset_samples: (time - start) as u32,
                    command,
                });
            }
        }
        let [main_l, main_r] = &mut main;
        let [phones_l, phones_r] = &mut phones;
        let mut main_block: [&mut [f32]; 2] =
            [&mut main_l[at..at + size], &mut main_r[at..at + size]];
        let mut phones_block: [&mut [f32]; 2] =
            [&mut phones_l[at..at + size], &mut phones_r[at..at + size]];
        nice_assert_no_alloc::assert_no_alloc(|| {
            engine.process(&mut main_block, &mut phones_block, &block_commands)
        });
        serve(keeper);
        at += size;
    }
    Rendered { main, phones }
}

/// Services the keeper as its thread would between blocks; memory must be there unless the
/// test made the keeper fail.
pub fn serve(keeper: &mut TrackPoolKeeper) {
    if let Err(error) = keeper.service() {
        assert!(keeper.fault.is_some(), "the keeper failed: {error:?}");
    }
}

/// Runs `frames` of silent input without keeping the output (for simulated hours), in blocks of
/// `block_sizes` (cycled), calling `before_block` with the engine before each block.
pub fn run_silent(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    frames: u64,
    block_sizes: &[usize],
    mut before_block: impl FnMut(&mut Engine),
) {
    let largest = block_sizes.iter().copied().max().unwrap_or(1);
    let mut main = [vec![0.0; largest], vec![0.0; largest]];
    let mut phones = [vec![0.0; largest], vec![0.0; largest]];
    let end = engine.now_samples() + frames;
    let mut sizes = block_sizes.iter().cycle();
    while engine.now_samples() < end {
        let size = (*sizes.next().unwrap()).min((end - engine.now_samples()) as usize);
        before_block(engine);
        let [main_l, main_r] = &mut main;
        let [phones_l, phones_r] = &mut phones;
        main_l[..size].fill(0.0);
        main_r[..size].fill(0.0);
        let mut main_block: [&mut [f32]; 2] = [&mut main_l[..size], &mut main_r[..size]];
        let mut phones_block: [&mut [f32]; 2] = [&mut phones_l[..size], &mut phones_r[..size]];
        nice_assert_no_alloc::assert_no_alloc(|| {
            engine.process(&mut main_block, &mut phones_block, &[])
        });
        serve(keeper);
    }
}
