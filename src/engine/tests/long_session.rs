//! A simulated hour on stage: a command every few seconds for an hour of audio, then a check
//! that the loops are exactly where they were (zero drift) and that clear gives all memory back.
//! Runs at 8 kHz with 512-frame blocks to stay fast; the timing model is in integer samples, so
//! the rate changes nothing about drift.

use super::*;
use crate::engine::command::{TrackControl, TrackTarget};

const RATE_HZ: f32 = 8_000.0;
const HOUR_SAMPLES: u64 = 3_600 * 8_000;
/// Anchor length: odd, not a divisor of the block size.
const L: u64 = 12_345;
/// Cycle phases of the two marker impulses (away from the seam blends).
const MARKS: [u64; 2] = [3_000, 8_000];

/// A small deterministic generator (xorshift) for the command stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Processes `frames` of input from `input(t)` with `commands` (absolute, sorted) and calls
/// `sink(t, left)` for every output frame.
fn stream(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    frames: u64,
    commands: &[(u64, Command)],
    input: impl Fn(u64) -> f32,
    mut sink: impl FnMut(u64, f32),
) {
    const BLOCK: usize = 512;
    let (mut left, mut right) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
    let (mut phones_l, mut phones_r) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
    let mut block_commands = Vec::with_capacity(16);
    let end = engine.now_samples() + frames;
    while engine.now_samples() < end {
        let start = engine.now_samples();
        let size = ((end - start) as usize).min(BLOCK);
        for i in 0..size {
            left[i] = input(start + i as u64);
            right[i] = left[i];
        }
        block_commands.clear();
        for &(t, command) in commands {
            if t >= start && t < start + size as u64 {
                block_commands.push(TimedCommand {
                    offset_samples: (t - start) as u32,
                    command,
                });
            }
        }
        let mut main: [&mut [f32]; 2] = [&mut left[..size], &mut right[..size]];
        let mut phones: [&mut [f32]; 2] = [&mut phones_l[..size], &mut phones_r[..size]];
        nice_assert_no_alloc::assert_no_alloc(|| {
            engine.process(&mut main, &mut phones, &block_commands)
        });
        keeper.service().expect("memory");
        for (i, &sample) in left[..size].iter().enumerate() {
            sink(start + i as u64, sample);
        }
    }
}

#[test]
fn an_hour_of_commands_leaves_every_loop_exactly_in_phase() {
    let (mut engine, mut keeper) = engine_at(RATE_HZ, 30.0, EngineSettings::default());
    let s0 = 8_000;
    // The anchor carries a marker at MARKS[0]; a full-cycle overdub one at MARKS[1].
    let overdub = s0 + 2 * L;
    let marker_input = move |t: u64| {
        if t == s0 + MARKS[0] || t == overdub + MARKS[1] {
            1.0
        } else {
            0.0
        }
    };
    let opening = [
        (s0, Command::RecordToggle),
        (s0 + L, Command::RecordToggle),
        (overdub, Command::RecordToggle),
        (overdub + L, Command::RecordToggle),
    ];
    stream(
        &mut engine,
        &mut keeper,
        overdub + L + 100,
        &opening,
        marker_input,
        |_, _| {},
    );
    assert_eq!(engine.playing_tracks().count(), 2);
    let cycle = engine.cycle().unwrap();
    let phase_of = |origin: u64, cycle_origin: u64| (origin + L * 1_000 - cycle_origin) % L;
    let marker_phases: Vec<u64> = engine
        .playing_tracks()
        .map(|t| phase_of(t.origin_samples, cycle.origin_samples))
        .collect();

    // An hour of commands every 2 to 5 s; the two marker tracks are never removed or silenced.
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut t = engine.now_samples();
    let hour_end = t + HOUR_SAMPLES;
    let mut commands_sent = 0;
    while t < hour_end {
        let gap = 16_000 + rng.below(24_000);
        let status = engine.status();
        let extra_tracks = status.track_count.saturating_sub(2) as u32;
        let command = match rng.below(10) {
            0..=2 => Command::RecordToggle,
            3 if extra_tracks > 0 => Command::Undo,
            4 => Command::Redo,
            5 => Command::Restart,
            6 => Command::Capture,
            7 => Command::ToggleMixMute,
            8 if extra_tracks > 0 => Command::Track(
                TrackTarget::Index(2 + rng.below(u64::from(extra_tracks)) as u32),
                TrackControl::ToggleMute,
            ),
            _ => Command::MuteMixAtCycleEnd,
        };
        let at = t + 1 + rng.below(500);
        stream(
            &mut engine,
            &mut keeper,
            gap,
            &[(at, command)],
            |_| 0.0,
            |_, _| {},
        );
        commands_sent += 1;
        t = engine.now_samples();
    }
    assert!(commands_sent > 700, "{commands_sent} commands in the hour");

    // Make sure the mix is audible, then listen for two cycles.
    if engine.status().recording != crate::engine::RecordingState::Idle {
        let at = engine.now_samples();
        stream(
            &mut engine,
            &mut keeper,
            3 * L,
            &[(at, Command::RecordToggle)],
            |_| 0.0,
            |_, _| {},
        );
    }
    if engine.status().mix_muted {
        let at = engine.now_samples();
        stream(
            &mut engine,
            &mut keeper,
            100,
            &[(at, Command::ToggleMixMute)],
            |_| 0.0,
            |_, _| {},
        );
    }
    stream(&mut engine, &mut keeper, 2 * L, &[], |_| 0.0, |_, _| {});
    let cycle = engine.cycle().expect("the anchor survived");
    assert_eq!(cycle.length_samples, L);
    let now_phases: Vec<u64> = engine
        .playing_tracks()
        .take(2)
        .map(|t| phase_of(t.origin_samples, cycle.origin_samples))
        .collect();
    assert_eq!(
        now_phases, marker_phases,
        "tracks kept their phase to the anchor"
    );
    let mut peaks = Vec::new();
    stream(
        &mut engine,
        &mut keeper,
        2 * L,
        &[],
        |_| 0.0,
        |t, sample| {
            if sample.abs() > 0.5 {
                peaks.push((t - cycle.origin_samples) % L);
            }
        },
    );
    peaks.sort_unstable();
    assert_eq!(
        peaks,
        vec![MARKS[0], MARKS[0], MARKS[1], MARKS[1]],
        "markers exactly in place"
    );

    // Clear, then clear the empty mix (forgetting the undo history): every buffer goes back;
    // only the spares stay allocated.
    let at = engine.now_samples();
    stream(
        &mut engine,
        &mut keeper,
        4_000,
        &[(at, Command::Clear), (at + 10, Command::Clear)],
        |_| 0.0,
        |_, _| {},
    );
    keeper.service().unwrap();
    assert_eq!(engine.held_track_count(), 0);
    assert_eq!(keeper.live_buffers(), crate::engine::SPARE_TAKES);
}
