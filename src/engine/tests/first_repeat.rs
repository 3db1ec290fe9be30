//! The anchor's first repeat (behaviour spec section 8b): the loop sounds from the stop press,
//! as pressed, and moves to the decided boundaries with a crossfade when onset quantization
//! decides them. The analysis worker runs in step with the blocks; the monitor is off, so the
//! output is the loops alone.

use super::quantize::{analysed_engine_with, attacks_signal, run_offline};
use super::*;
use crate::engine::cycle::Cycle;

/// Samples per millisecond at [`RATE`].
const MS: u64 = 48;
/// An attack every second, from 0.5 s on.
const ATTACKS: [u64; 5] = [24_000, 72_000, 120_000, 168_000, 216_000];
/// The start press: 60 ms after the first attack (the start snaps back to it).
const START_PRESS: u64 = ATTACKS[0] + 60 * MS;
/// Input length: 5 s.
const FRAMES: usize = 240_000;

/// Block-size patterns every test runs in realtime mode, the worker in step with the blocks.
/// Blocks up to the worker's margin (50 ms): with longer ones the host has not yet delivered the
/// audio a decision needs when it is due, so it comes at the first block after (offline
/// rendering waits for it instead: see [`assert_block_size_free`]).
const BLOCKS: [&[usize]; 5] = [&[1], &[64], &[512], &[2048], &[1, 7, 300, 2048]];

/// The start press and a stop press at `stop_press`.
fn presses(stop_press: u64) -> [(u64, Command); 2] {
    [
        (START_PRESS, Command::RecordToggle),
        (stop_press, Command::RecordToggle),
    ]
}

/// One run: the output, the anchor, and the first sample at which the anchor existed (exact
/// with one-sample blocks).
struct FirstRepeat {
    out: Rendered,
    cycle: Cycle,
    decided_samples: u64,
}

fn settings() -> EngineSettings {
    EngineSettings {
        monitor_gain: 0.0,
        phones_monitor_gain: 0.0,
        ..EngineSettings::default()
    }
}

/// Records the anchor from [`START_PRESS`] to `stop_press` over the attacks, with onset
/// quantization (the default), in blocks of `blocks`.
fn first_repeat(settings: EngineSettings, stop_press: u64, blocks: &[usize]) -> FirstRepeat {
    let input = attacks_signal(FRAMES, &ATTACKS);
    let (mut engine, mut keeper, mut worker) = analysed_engine_with(settings);
    let commands = presses(stop_press);
    let mut decided_samples = None;
    let out = run_with(
        &mut engine,
        &mut keeper,
        &input,
        &commands,
        blocks,
        |engine| {
            worker.run_pending();
            if engine.cycle().is_some() && decided_samples.is_none() {
                // Decided while the previous block ran (its last sample, with one-sample blocks).
                decided_samples = Some(engine.now_samples() - 1);
            }
        },
    );
    FirstRepeat {
        out,
        cycle: engine.cycle().expect("an anchor"),
        decided_samples: decided_samples.expect("a decision"),
    }
}

/// The loop `[start, end)` of the attacks input as a track of that length (with its seam),
/// per channel.
fn loop_of(start: u64, end: u64) -> [Vec<f32>; 2] {
    let input = attacks_signal(FRAMES, &ATTACKS);
    [0, 1].map(|c| expected_track_of(|t| input[c][t as usize], start, end, end - start, BLEND))
}

/// What the loop `looped` with index 0 at `origin` plays at time `t`.
fn at(looped: &[f32], origin: u64, t: u64) -> f32 {
    looped[((t - origin) % looped.len() as u64) as usize]
}

/// Checks that the run's output is the pressed loop (`[start, press)`, index 0 at the press)
/// until the decision, crossfades linearly over the blend into the decided anchor, and is the
/// decided anchor after it.
fn assert_first_repeat(run: &FirstRepeat, start: u64, press: u64) {
    let pressed = loop_of(start, press);
    let Cycle {
        origin_samples: origin,
        length_samples: length,
    } = run.cycle;
    let decided = loop_of(origin, origin + length);
    let decision = run.decided_samples;
    for c in 0..2 {
        let out = &run.out.main[c];
        // (The monitor's level ramps down from its default over the first blend.)
        assert!(
            out[BLEND..press as usize].iter().all(|&s| s == 0.0),
            "nothing before the press"
        );
        assert_ne!(out[press as usize], 0.0, "the loop sounds at the press");
        for t in press..FRAMES as u64 {
            let k = t.saturating_sub(decision);
            let w = ((k + 1).min(BLEND as u64) as f32 / BLEND as f32) * f32::from(t >= decision);
            let expected = at(&pressed[c], start, t) * (1.0 - w) + at(&decided[c], origin, t) * w;
            let error = (out[t as usize] - expected).abs();
            assert!(
                error <= 1e-5,
                "channel {c} at {t} (press {press}, decision {decision}): {} vs {expected}",
                out[t as usize]
            );
        }
    }
}

/// The same output at every block size, in realtime mode and offline.
fn assert_block_size_free(reference: &FirstRepeat, stop_press: u64) {
    for blocks in &BLOCKS[1..] {
        let run = first_repeat(settings(), stop_press, blocks);
        assert_eq!(run.cycle, reference.cycle, "blocks {blocks:?}");
        assert!(run.out.main == reference.out.main, "blocks {blocks:?}");
    }
    for blocks in [&[4096usize][..], &[5000, 1, 64]] {
        let (mut engine, mut keeper, worker) = analysed_engine_with(settings());
        let input = attacks_signal(FRAMES, &ATTACKS);
        let commands = presses(stop_press);
        let (out, _) = run_offline(&mut engine, &mut keeper, worker, &input, &commands, blocks);
        assert_eq!(engine.cycle(), Some(reference.cycle), "offline, {blocks:?}");
        assert!(out.main == reference.out.main, "offline, blocks {blocks:?}");
    }
}

#[test]
fn with_no_attack_near_the_stop_press_the_loop_is_the_pressed_one_from_the_press() {
    // Half a second from any attack: the decision keeps the press.
    let press = ATTACKS[2] + 500 * MS;
    let run = first_repeat(settings(), press, BLOCKS[0]);
    let start = run.cycle.origin_samples;
    assert!(start.abs_diff(ATTACKS[0]) <= 5 * MS, "start {start}");
    assert_eq!(run.cycle.origin_samples + run.cycle.length_samples, press);
    assert_first_repeat(&run, start, press);
    assert_block_size_free(&run, press);
}

#[test]
fn a_late_stop_press_is_decided_before_the_window_ends_and_crossfades_into_phase() {
    // 100 ms after the closing attack.
    let press = ATTACKS[2] + 100 * MS;
    let run = first_repeat(settings(), press, BLOCKS[0]);
    let end = run.cycle.origin_samples + run.cycle.length_samples;
    assert!(end.abs_diff(ATTACKS[2]) <= 5 * MS, "stop {end}");
    let latency_ms = (run.decided_samples - press) / MS;
    eprintln!("late press: decided {latency_ms} ms after the press");
    // The detection latency and the worker's margin: no wait for the window's later half.
    assert!(latency_ms < 150, "late press decided after {latency_ms} ms");
    assert_first_repeat(&run, run.cycle.origin_samples, press);
    assert_block_size_free(&run, press);
}

#[test]
fn an_early_stop_press_waits_for_the_attack_that_follows_it() {
    // 100 ms before the closing attack.
    let press = ATTACKS[2] - 100 * MS;
    let run = first_repeat(settings(), press, BLOCKS[0]);
    let end = run.cycle.origin_samples + run.cycle.length_samples;
    assert!(end.abs_diff(ATTACKS[2]) <= 5 * MS, "stop {end}");
    let latency_ms = (run.decided_samples - press) / MS;
    eprintln!("early press: decided {latency_ms} ms after the press");
    assert!(
        (250..400).contains(&latency_ms),
        "early press decided after {latency_ms} ms"
    );
    assert_first_repeat(&run, run.cycle.origin_samples, press);
    assert_block_size_free(&run, press);
}

#[test]
fn a_pa_muted_take_sounds_on_the_pa_from_the_stop_press() {
    let muted = EngineSettings {
        pa_mute_while_recording: true,
        ..settings()
    };
    let press = ATTACKS[2] + 500 * MS;
    let run = first_repeat(muted, press, &[512]);
    let reference = first_repeat(settings(), press, &[512]);
    // The PA comes back over the blend from the press; from then on it is the loop.
    let from = (press as usize) + BLEND;
    for c in 0..2 {
        assert!(
            run.out.main[c][BLEND..press as usize]
                .iter()
                .all(|&s| s == 0.0)
        );
        assert!(run.out.main[c][from..] == reference.out.main[c][from..]);
    }
}
