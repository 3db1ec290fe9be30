//! MIDI clock out: a drum machine following the anchor. Ticks on the anchor's exact beat grid
//! (24 a beat, never drifting), Start where the anchor plays, Stop where its grid goes, the same
//! at every block size.

use super::quantize::{analysed_engine_with, attacks_signal};
use super::*;
use crate::engine::clock_out::{CLOCK, START, STOP};
use crate::engine::cycle::WholeBeats;
use crate::engine::quantize::QuantizeMode;

/// A clock message at its absolute sample.
type Sent = (u64, u8);

/// Runs `input` with `commands`, calling `before_block` before each block, and returns every
/// clock message sent, at its absolute sample.
fn clock_of(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    input: &[Vec<f32>; 2],
    commands: &[(u64, Command)],
    block_sizes: &[usize],
    mut before_block: impl FnMut(&mut Engine),
) -> Vec<Sent> {
    let mut sent = Vec::new();
    let mut block_start = engine.now_samples();
    let collect = |engine: &Engine, block_start: u64, sent: &mut Vec<Sent>| {
        for message in engine.clock_out() {
            sent.push((
                block_start + u64::from(message.offset_samples),
                message.status,
            ));
        }
    };
    run_with(engine, keeper, input, commands, block_sizes, |engine| {
        collect(engine, block_start, &mut sent);
        block_start = engine.now_samples();
        before_block(engine);
    });
    collect(engine, block_start, &mut sent);
    sent
}

/// Ticks every `every_samples` from `from` (included) to `until` (excluded).
fn ticks(from: u64, every_samples: u64, until: u64) -> Vec<Sent> {
    (from..until)
        .step_by(every_samples as usize)
        .map(|t| (t, CLOCK))
        .collect()
}

/// The tempo of ticks `interval_samples` apart, in BPM.
fn bpm_of_ticks(interval_samples: f64) -> f64 {
    60.0 * f64::from(RATE) / (interval_samples * 24.0)
}

// ----- a played performance, the anchors' beats given (quantization off: presses are exact) -----

/// Anchor A: 4 beats of 1 s at 120 BPM, from `A_START`; a tick every 1 000 samples.
const A_START: u64 = 10_000;
const A_LENGTH: u64 = 96_000;
/// Clear, two cycles and a bit after A's first repeat.
const CLEAR: u64 = A_START + 3 * A_LENGTH + 5_000;
/// Anchor B: 3 beats at 100 BPM (28 800 samples each); a tick every 1 200 samples.
const B_START: u64 = 320_000;
const B_LENGTH: u64 = 86_400;
/// Restart pressed mid-cycle (the loops jump after the 5 ms declick, 240 samples).
const RESTART: u64 = B_START + 2 * B_LENGTH + 10_000;
const RESTART_JUMP: u64 = RESTART + 240;
/// Undo of B's take: the mix empties.
const UNDO: u64 = 600_000;
const END: u64 = 640_000;

fn performance() -> Vec<(u64, Command)> {
    vec![
        (A_START, Command::RecordToggle),
        (A_START + A_LENGTH, Command::RecordToggle),
        (CLEAR, Command::Clear),
        (B_START, Command::RecordToggle),
        (B_START + B_LENGTH, Command::RecordToggle),
        (RESTART, Command::Restart),
        (UNDO, Command::Undo),
    ]
}

/// The performance's clock at `block_sizes`; the anchors' beats are what beat quantization
/// would have found (given here, so that the presses act exactly where they are).
fn performance_clock(block_sizes: &[usize]) -> Vec<Sent> {
    let (mut engine, mut keeper) = new_engine_with(EngineSettings {
        quantize_mode: QuantizeMode::Off,
        ..EngineSettings::default()
    });
    let input = signal_until(END as usize, END);
    let a_beats = WholeBeats::new(A_LENGTH, 4, RATE);
    let b_beats = WholeBeats::new(B_LENGTH, 3, RATE);
    assert_eq!((a_beats.bpm, b_beats.bpm), (120.0, 100.0));
    engine.recorder.anchor_beats = Some(a_beats);
    clock_of(
        &mut engine,
        &mut keeper,
        &input,
        &performance(),
        block_sizes,
        |engine| {
            if engine.now_samples() > CLEAR && engine.cycle().is_none() {
                engine.recorder.anchor_beats = Some(b_beats);
            }
        },
    )
}

#[test]
fn the_clock_starts_with_each_anchor_and_stops_with_it() {
    let sent = performance_clock(&[512]);
    let a_repeat = A_START + A_LENGTH;
    let b_repeat = B_START + B_LENGTH;
    let mut expected = vec![(a_repeat, START)];
    // 120 BPM: a tick every 1 000 samples (20.83 ms), from A's first repeat to the clear.
    expected.extend(ticks(a_repeat, 1_000, CLEAR));
    expected.push((CLEAR, STOP));
    // B: Start at its first repeat; 100 BPM, a tick every 1 200 samples (25 ms).
    expected.push((b_repeat, START));
    expected.extend(ticks(b_repeat, 1_200, RESTART_JUMP));
    // The restart puts B's cycle start on its own sample: the drum machine starts over there.
    expected.extend([(RESTART_JUMP, STOP), (RESTART_JUMP, START)]);
    expected.extend(ticks(RESTART_JUMP, 1_200, UNDO));
    // Undo of B's take empties the mix: the grid goes, the clock stops, and nothing follows.
    expected.push((UNDO, STOP));
    assert_eq!(sent.len(), expected.len());
    for (got, want) in sent.iter().zip(&expected) {
        assert_eq!(got, want, "message at {} samples", want.0);
    }
    let a_ticks = sent.iter().filter(|m| m.0 < CLEAR && m.1 == CLOCK).count();
    assert_eq!(
        a_ticks, 197,
        "2 cycles of 96 ticks, and 5 ticks into the third"
    );
}

#[test]
fn the_clock_does_not_depend_on_the_block_size() {
    let reference = performance_clock(&[512]);
    for sizes in BLOCK_SIZES {
        assert!(
            performance_clock(sizes) == reference,
            "clock with blocks {sizes:?}"
        );
    }
}

#[test]
fn without_the_anchors_beats_no_clock_is_sent() {
    // The same performance with quantization off and no beats: the anchors play, the clock is
    // silent (no tempo was heard).
    let (mut engine, mut keeper) = new_engine_with(EngineSettings {
        quantize_mode: QuantizeMode::Off,
        ..EngineSettings::default()
    });
    let input = signal_until(END as usize, END);
    let sent = clock_of(
        &mut engine,
        &mut keeper,
        &input,
        &performance(),
        &[512],
        |_| {},
    );
    assert!(engine.cycle().is_none(), "undone at the end");
    assert_eq!(sent, vec![]);
}

// ----- an anchor whose tempo the analysis heard -----

/// An anchor played at 120 BPM (an attack every beat), pressed 7.9 beats long and made 8 by beat
/// quantization, then `cycles` cycles and more, in blocks of `block_sizes`: the engine, the clock
/// and the block start at which the anchor's tempo was first known.
fn quantized_anchor_clock(cycles: usize, block_sizes: &[usize]) -> (Engine, Vec<Sent>, u64) {
    let beat = 24_000u64;
    let frames = 24_000 + (3 + 8 * (cycles + 3)) * beat as usize;
    let attacks: Vec<u64> = (0..frames as u64 / beat)
        .map(|i| 24_000 + i * beat)
        .collect();
    let input = attacks_signal(frames, &attacks);
    let start = attacks[2] + 1_440; // 30 ms late
    let stop = start + (7.9 * beat as f64) as u64;
    let (mut engine, mut keeper, mut worker) = analysed_engine_with(EngineSettings {
        quantize_mode: QuantizeMode::Beat,
        ..EngineSettings::default()
    });
    let commands = [
        (start, Command::RecordToggle),
        (stop, Command::RecordToggle),
    ];
    let mut known_at = None;
    let sent = clock_of(
        &mut engine,
        &mut keeper,
        &input,
        &commands,
        block_sizes,
        |engine| {
            worker.run_pending();
            if known_at.is_none() && engine.anchor_beats().is_some() {
                known_at = Some(engine.now_samples());
            }
        },
    );
    (engine, sent, known_at.expect("the tempo became known"))
}

#[test]
fn a_beat_quantized_anchors_clock_does_not_depend_on_the_block_size() {
    // Block sizes the worker, driven between blocks here, keeps up with (as in
    // `quantized_anchor_does_not_depend_on_the_block_size`): with blocks of 4096 it lags 85 ms
    // behind, the stop is decided that much later, and Start waits for the next cycle.
    let (_, reference, _) = quantized_anchor_clock(1, &[256]);
    assert!(reference.iter().any(|m| m.1 == START));
    for sizes in [&[1usize, 7, 300][..], &[64], &[2000, 33]] {
        let (_, sent, _) = quantized_anchor_clock(1, sizes);
        assert!(sent == reference, "clock with blocks {sizes:?}");
    }
    let (engine, lagging, known_at) = quantized_anchor_clock(1, &[4096]);
    let cycle = engine.cycle().expect("an anchor");
    let first_repeat = cycle.origin_samples + cycle.length_samples;
    assert!(known_at > first_repeat + 480, "known {known_at}");
    let start = lagging.iter().find(|m| m.1 == START);
    assert_eq!(start, Some(&(first_repeat + cycle.length_samples, START)));
}

#[test]
fn a_beat_quantized_anchor_clocks_its_exact_beats_for_eight_cycles() {
    let cycles = 8;
    let (engine, sent, known_at) = quantized_anchor_clock(cycles, &[256]);
    let cycle = engine.cycle().expect("an anchor");
    let beats = engine.anchor_beats().expect("its beats");
    assert_eq!(beats.beats, 8);
    let first_repeat = cycle.origin_samples + cycle.length_samples;
    // The stop is decided once the analysis has heard past it, just after the first repeat
    // began here: Start and beat 0 at once (at most 10 ms late), the ticks on the grid after.
    let starts: Vec<&Sent> = sent.iter().filter(|m| m.1 != CLOCK).collect();
    assert_eq!(starts.len(), 1, "{starts:?}");
    let start_at = starts[0].0;
    assert!(
        start_at > first_repeat && start_at <= first_repeat + 480 && start_at <= known_at,
        "Start {} samples after the first repeat",
        start_at - first_repeat
    );
    let start_index = sent.iter().position(|m| m.1 == START).unwrap();
    assert_eq!(start_index, 0, "no tick before the tempo was known");
    assert_eq!(sent[1], (start_at, CLOCK), "beat 0 after Start");

    // Every later tick on the exact grid: tick k at origin + k L / (24 N), rounded.
    let tick_length = cycle.length_samples as f64 / f64::from(24 * beats.beats);
    let ticks: Vec<u64> = sent[2..].iter().map(|m| m.0).collect();
    assert!(sent[2..].iter().all(|m| m.1 == CLOCK));
    let mut worst_jitter = 0.0f64;
    for &t in &ticks {
        let k = ((t - cycle.origin_samples) as f64 / tick_length).round();
        let exact = cycle.origin_samples as f64 + k * tick_length;
        worst_jitter = worst_jitter.max((t as f64 - exact).abs());
    }
    assert!(worst_jitter <= 0.5, "jitter {worst_jitter} samples");
    assert_eq!(
        ticks[0],
        first_repeat + tick_length.round() as u64,
        "the tick after beat 0 on time"
    );
    // None missing: consecutive ticks one grid step apart (1 sample of rounding).
    for pair in ticks.windows(2) {
        let gap = (pair[1] - pair[0]) as f64;
        assert!((gap - tick_length).abs() < 1.0, "gap {gap} at {}", pair[0]);
    }
    assert!(
        ticks.len() > cycles * 192,
        "{} ticks: 8 cycles",
        ticks.len()
    );
    // Over the 8 cycles, the ticks' tempo is the anchor's to a millionth of a BPM.
    let span = ticks[cycles * 192] - ticks[0];
    assert_eq!(span, cycles as u64 * cycle.length_samples, "no drift");
    let tempo = bpm_of_ticks(span as f64 / (cycles * 192) as f64);
    assert!(
        (tempo - beats.bpm).abs() < 1e-6,
        "{tempo} vs {} BPM",
        beats.bpm
    );
    assert!(
        (tempo - 120.0).abs() < 1.2,
        "played at 120 BPM, clocked at {tempo}"
    );
    println!(
        "anchor {} samples, 8 beats at {:.4} BPM; Start {} samples after the first repeat; \
         tick every {tick_length:.4} samples; worst jitter {worst_jitter} samples; clock {tempo:.6} BPM",
        cycle.length_samples,
        beats.bpm,
        start_at - first_repeat
    );
}
