//! Onset and beat quantization of the anchor's boundaries, with the analysis worker driven in
//! step with the blocks (so results do not depend on thread timing).

use super::*;
use crate::analysis::worker::{AnalysisWorker, analysis_channel};
use crate::engine::quantize::QuantizeMode;

/// A percussive attack (decaying noise and a tone) at each of `attacks`, over faint noise.
fn attacks_signal(frames: usize, attacks: &[u64]) -> [Vec<f32>; 2] {
    let mut out = vec![0.0f32; frames];
    let mut seed = 0x1234_5678u32;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as f32 / u32::MAX as f32 * 2.0 - 1.0
    };
    for sample in out.iter_mut() {
        *sample = 0.002 * noise();
    }
    for &at in attacks {
        for n in 0..(0.2 * RATE) as usize {
            let Some(sample) = out.get_mut(at as usize + n) else {
                break;
            };
            let secs = n as f32 / RATE;
            let env = (-secs / 0.04).exp();
            *sample += env * (0.3 * noise() + 0.3 * (std::f32::consts::TAU * 330.0 * secs).sin());
        }
    }
    [out.clone(), out]
}

fn analysed_engine(mode: QuantizeMode) -> (Engine, TrackPoolKeeper, AnalysisWorker) {
    let (mut engine, keeper) = new_engine_with(EngineSettings {
        quantize_mode: mode,
        ..EngineSettings::default()
    });
    let (link, worker) = analysis_channel(RATE, 20.0);
    engine.attach_analysis(link);
    (engine, keeper, worker)
}

fn record(
    mode: QuantizeMode,
    input: &[Vec<f32>; 2],
    presses: [u64; 2],
    block_sizes: &[usize],
) -> (Engine, Rendered) {
    let (mut engine, mut keeper, mut worker) = analysed_engine(mode);
    let commands = [
        (presses[0], Command::RecordToggle),
        (presses[1], Command::RecordToggle),
    ];
    let out = run_with(
        &mut engine,
        &mut keeper,
        input,
        &commands,
        block_sizes,
        |_| {
            worker.run_pending();
        },
    );
    (engine, out)
}

const MS: u64 = 48;

#[test]
fn a_late_press_keeps_the_attack() {
    let attacks = [48_000, 96_000, 144_000, 192_000, 240_000];
    let input = attacks_signal(400_000, &attacks);
    // Both presses 120 ms after an attack.
    let presses = [48_000 + 120 * MS, 144_000 + 120 * MS];
    for block in [64usize, 512, 2048] {
        let (engine, _) = record(QuantizeMode::Onset, &input, presses, &[block]);
        let cycle = engine.cycle().expect("an anchor");
        let start_error = cycle.origin_samples as i64 - 48_000;
        let length_error = cycle.length_samples as i64 - 96_000;
        assert!(
            start_error.abs() <= 5 * MS as i64,
            "start {start_error} samples off"
        );
        assert!(
            length_error.abs() <= 5 * MS as i64,
            "length {length_error} off"
        );
    }
    // The same presses with quantization off act where they are.
    let (engine, _) = record(QuantizeMode::Off, &input, presses, &[512]);
    let cycle = engine.cycle().expect("an anchor");
    assert_eq!(cycle.origin_samples, presses[0]);
    assert_eq!(cycle.length_samples, presses[1] - presses[0]);
}

#[test]
fn quantized_anchor_does_not_depend_on_the_block_size() {
    let attacks: Vec<u64> = (1..8).map(|i| i * 40_000 + 313 * i).collect();
    let input = attacks_signal(420_000, &attacks);
    let presses = [attacks[0] + 90 * MS, attacks[4] - 70 * MS];
    let (reference_engine, reference) = record(QuantizeMode::Onset, &input, presses, &[512]);
    for sizes in [&[1usize, 7, 300][..], &[64], &[2000, 33]] {
        let (engine, out) = record(QuantizeMode::Onset, &input, presses, sizes);
        assert_eq!(engine.cycle(), reference_engine.cycle(), "blocks {sizes:?}");
        assert!(out.main == reference.main, "output with blocks {sizes:?}");
    }
}

#[test]
fn a_loop_of_7_9_beats_becomes_8_beats() {
    let beat = 24_000u64; // 120 BPM
    let attacks: Vec<u64> = (0..20).map(|i| 24_000 + i * beat).collect();
    let input = attacks_signal(24_000 + 21 * beat as usize, &attacks);
    let start = attacks[2] + 30 * MS;
    let stop = start + (7.9 * beat as f64) as u64;
    for mode in [QuantizeMode::Beat, QuantizeMode::OnsetBeat] {
        let (engine, _) = record(mode, &input, [start, stop], &[256]);
        let cycle = engine.cycle().expect("an anchor");
        let bpm = engine.anchor_bpm().expect("a tempo");
        assert!((bpm - 120.0).abs() < 1.2, "{mode:?}: tempo {bpm}");
        // Exactly 8 beats of the (refined) tempo.
        let beats = cycle.length_samples as f64 * bpm / (60.0 * f64::from(RATE));
        assert!((beats - 8.0).abs() < 1e-9, "{mode:?}: {beats} beats");
        if mode == QuantizeMode::OnsetBeat {
            let start_error = cycle.origin_samples as i64 - attacks[2] as i64;
            assert!(
                start_error.abs() <= 5 * MS as i64,
                "start {start_error} off"
            );
        } else {
            assert_eq!(cycle.origin_samples, start);
        }
    }
}

#[test]
fn a_stalled_worker_never_blocks_audio_and_its_loss_is_counted() {
    let frames = 10 * RATE as usize;
    let input = signal_until(frames, frames as u64);
    let (mut engine, mut keeper, mut worker) = analysed_engine(QuantizeMode::Off);
    let (mut plain, mut plain_keeper) = new_engine_with(EngineSettings {
        quantize_mode: QuantizeMode::Off,
        ..EngineSettings::default()
    });
    let commands = [
        (50_000, Command::RecordToggle),
        (250_000, Command::RecordToggle),
    ];
    // The worker does not run at all while ten seconds play (the ring holds four).
    let out = run(&mut engine, &mut keeper, &input, &commands, &[512]);
    let expected = run(&mut plain, &mut plain_keeper, &input, &commands, &[512]);
    assert!(
        out.main == expected.main,
        "the analysis never changes the audio"
    );
    assert!(worker.run_pending());
    let snapshot = worker_snapshot(&mut engine);
    assert!(
        snapshot.dropped_samples > 5 * RATE as u64,
        "{}",
        snapshot.dropped_samples
    );
    assert!(snapshot.dropped_samples < 7 * RATE as u64);
    // The worker resynchronises on the stamped chunks and goes on in absolute time.
    let more = signal_until(48_000, 48_000);
    run_with(&mut engine, &mut keeper, &more, &[], &[512], |_| {
        worker.run_pending();
    });
    worker.run_pending();
    let snapshot = worker_snapshot(&mut engine);
    let fed = engine.now_samples() - engine.now_samples() % 128;
    assert_eq!(snapshot.analysed_until_samples, fed);
}

fn worker_snapshot(engine: &mut Engine) -> crate::analysis::snapshot::AnalysisSnapshot {
    *engine
        .analysis
        .as_mut()
        .expect("analysis attached")
        .snapshot
        .read()
}
