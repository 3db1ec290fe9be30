//! Onset and beat quantization of the anchor's boundaries, with the analysis worker driven in
//! step with the blocks (so results do not depend on thread timing).

use super::*;
use crate::analysis::worker::{AnalysisWorker, analysis_channel};
use crate::engine::RenderMode;
use crate::engine::cycle::HostGrid;
use crate::engine::quantize::QuantizeMode;
use crate::engine::sync::{SyncMode, SyncSettings};
use crate::state::store::SessionStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A percussive attack (decaying noise and a tone) at each of `attacks`, over faint noise.
pub(super) fn attacks_signal(frames: usize, attacks: &[u64]) -> [Vec<f32>; 2] {
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
    analysed_engine_with(EngineSettings {
        quantize_mode: mode,
        ..EngineSettings::default()
    })
}

pub(super) fn analysed_engine_with(
    settings: EngineSettings,
) -> (Engine, TrackPoolKeeper, AnalysisWorker) {
    let (mut engine, keeper) = new_engine_with(settings);
    let (link, worker) = analysis_channel(RATE, 20.0);
    engine.attach_analysis(link);
    (engine, keeper, worker)
}

/// Runs `input` with a record toggle at each of `presses`, the analysis worker in step.
fn record(
    mode: QuantizeMode,
    input: &[Vec<f32>; 2],
    presses: &[u64],
    block_sizes: &[usize],
) -> (Engine, Rendered) {
    let (mut engine, mut keeper, mut worker) = analysed_engine(mode);
    let commands: Vec<(u64, Command)> = presses
        .iter()
        .map(|&at| (at, Command::RecordToggle))
        .collect();
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
        let (engine, _) = record(QuantizeMode::Onset, &input, &presses, &[block]);
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
    let (engine, _) = record(QuantizeMode::Off, &input, &presses, &[512]);
    let cycle = engine.cycle().expect("an anchor");
    assert_eq!(cycle.origin_samples, presses[0]);
    assert_eq!(cycle.length_samples, presses[1] - presses[0]);
}

#[test]
fn quantized_anchor_does_not_depend_on_the_block_size() {
    let attacks: Vec<u64> = (1..8).map(|i| i * 40_000 + 313 * i).collect();
    let input = attacks_signal(420_000, &attacks);
    let presses = [attacks[0] + 90 * MS, attacks[4] - 70 * MS];
    let (reference_engine, reference) = record(QuantizeMode::Onset, &input, &presses, &[512]);
    for sizes in [&[1usize, 7, 300][..], &[64], &[2000, 33]] {
        let (engine, out) = record(QuantizeMode::Onset, &input, &presses, sizes);
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
        let (engine, _) = record(mode, &input, &[start, stop], &[256]);
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
        .shared
        .analysis
        .as_mut()
        .expect("analysis attached")
        .snapshot
        .read()
}

/// Records the anchor `[ANCHOR_START, ANCHOR_STOP)` (no attack near either press, so it is
/// exactly that), then runs `overdub` presses; the input is `input` (silent at the end, so the
/// loops are heard alone). Returns the engine and what came out.
fn anchored_run(
    mode: QuantizeMode,
    input: &[Vec<f32>; 2],
    overdub: &[u64],
    block_sizes: &[usize],
) -> (Engine, Rendered) {
    let mut presses = vec![ANCHOR_START, ANCHOR_STOP];
    presses.extend_from_slice(overdub);
    record(mode, input, &presses, block_sizes)
}

/// The anchor presses of the anchored tests: a 2 s cycle.
const ANCHOR_START: u64 = 24_000;
const ANCHOR_STOP: u64 = 120_000;
const CYCLE: u64 = ANCHOR_STOP - ANCHOR_START;
/// End of the input in the anchored tests (silence from there).
const INPUT_END: usize = 230_000;

/// Attacks in the anchor (far from its presses) and at `overdub_attack`, silent from
/// `INPUT_END`, over `frames`.
fn anchored_input(overdub_attack: u64, frames: usize) -> [Vec<f32>; 2] {
    let mut input = attacks_signal(frames, &[70_000, overdub_attack]);
    for channel in &mut input {
        channel[INPUT_END..].fill(0.0);
    }
    input
}

/// A take started at `start` for an attack at `attack` keeps the whole attack: it starts no later
/// than the attack, within 5 ms of where the analysis means onsets to be (`ONSET_LEAD_SECS`
/// before the attack, by design; the analysis tests measure onsets the same way).
fn assert_keeps_the_attack(start: u64, attack: u64) {
    let lead = crate::analysis::online::ONSET_LEAD_SECS * f64::from(RATE);
    let error = start as f64 - (attack as f64 - lead);
    assert!(
        start <= attack && error.abs() <= 5.0 * MS as f64,
        "starts {} samples from the attack ({error:.0} from its lead)",
        start as i64 - attack as i64
    );
}

/// `cycles` cycles after a one-cycle overdub of `[start, end)`, the output is exactly the anchor
/// plus the overdub where they were played (the anchor's audio from its own cycle, the
/// overdub's from the take; the input is silent by then), up to the overdub's seam fade.
fn assert_layer_in_phase(out: &Rendered, input: &[Vec<f32>; 2], start: u64, end: u64, cycles: u64) {
    let later = cycles * CYCLE;
    let checked = start..end - BLEND as u64;
    assert!(
        checked.end > checked.start + 4_000,
        "overdub {start}..{end}"
    );
    for t in (checked.start + later)..(checked.end + later) {
        let anchor_t = ANCHOR_START + (t - ANCHOR_START) % CYCLE;
        for (c, (input, main)) in input.iter().zip(&out.main).enumerate() {
            let expected = input[anchor_t as usize] + input[(t - later) as usize];
            let got = main[t as usize];
            assert!(
                (got - expected).abs() <= 1e-5,
                "ch{c} t={t}: got {got}, expected {expected}"
            );
        }
    }
}

#[test]
fn with_an_anchor_a_late_press_starts_the_overdub_at_the_attack_in_phase() {
    // An attack mid-cycle (0.83 s into the second cycle, far from both boundaries), pressed
    // 120 ms late; the stop 125 ms before the next boundary snaps ahead to it.
    let attack = ANCHOR_STOP + 40_000;
    let frames = (ANCHOR_START + 5 * CYCLE) as usize;
    let input = anchored_input(attack, frames);
    let press = attack + 120 * MS;
    let boundary = ANCHOR_STOP + CYCLE;
    let overdub = [press, boundary - 6_000];
    let (engine, out) = anchored_run(QuantizeMode::Onset, &input, &overdub, &[512]);
    let cycle = engine.cycle().expect("an anchor");
    assert_eq!(
        (cycle.origin_samples, cycle.length_samples),
        (ANCHOR_START, CYCLE)
    );
    let tracks: Vec<_> = engine.playing_tracks().collect();
    assert_eq!(tracks.len(), 2);
    let start = tracks[1].origin_samples;
    assert_keeps_the_attack(start, attack);
    assert_eq!(tracks[1].length_samples, CYCLE, "a one-cycle layer");
    assert_layer_in_phase(&out, &input, start, boundary, 3);
    // The attack itself is in what was checked, and loud.
    let attack_peak = (0..2000)
        .map(|j| out.main[0][(attack + 3 * CYCLE + j) as usize].abs())
        .fold(0.0f32, f32::max);
    assert!(attack_peak > 0.2, "attack peak {attack_peak}");

    // The same presses with quantization off: the overdub starts at the press.
    let (engine, _) = anchored_run(QuantizeMode::Off, &input, &overdub, &[512]);
    let tracks: Vec<_> = engine.playing_tracks().collect();
    assert_eq!(tracks[1].origin_samples, press);
}

#[test]
fn with_an_anchor_a_press_near_a_boundary_still_goes_to_the_boundary() {
    // An attack 60 ms after a boundary and the press 150 ms after it (within the 200 ms
    // lenience): the boundary wins, though the attack is within the onset window.
    let boundary = ANCHOR_STOP + CYCLE;
    let attack = boundary + 60 * MS;
    let frames = (ANCHOR_START + 5 * CYCLE) as usize;
    let input = anchored_input(attack, frames);
    let overdub = [boundary + 150 * MS, boundary + CYCLE / 2];
    for mode in [QuantizeMode::Onset, QuantizeMode::Off] {
        let (engine, _) = anchored_run(mode, &input, &overdub, &[512]);
        let tracks: Vec<_> = engine.playing_tracks().collect();
        assert_eq!(tracks.len(), 2, "{mode:?}");
        assert_eq!(tracks[1].origin_samples, boundary, "{mode:?}");
    }
}

#[test]
fn an_anchored_quantized_start_does_not_depend_on_the_block_size_nor_on_early_stops() {
    // The stops come before the start's decision (about 360 ms after the press): (a) at once,
    // held until the start is decided; (b) snapped ahead to a boundary that comes before the
    // decision; (c) snapped ahead to a boundary after it (the stop stays when the start moves).
    let boundary = ANCHOR_STOP + CYCLE;
    let cases = [
        (ANCHOR_STOP + 40_000, 100 * MS, 200 * MS, None),
        (boundary - 400 * MS, 100 * MS, 340 * MS, Some(boundary)),
        (boundary - 600 * MS, 100 * MS, 410 * MS, Some(boundary)),
    ];
    let frames = (ANCHOR_START + 4 * CYCLE) as usize;
    for (attack, press_after, stop_after, snapped_stop) in cases {
        let input = anchored_input(attack, frames);
        let presses = [attack + press_after, attack + stop_after];
        let end = snapped_stop.unwrap_or(presses[1]);
        let (reference_engine, reference) =
            anchored_run(QuantizeMode::Onset, &input, &presses, &[512]);
        let tracks: Vec<_> = reference_engine.playing_tracks().collect();
        assert_eq!(tracks.len(), 2, "attack {attack}");
        assert_keeps_the_attack(tracks[1].origin_samples, attack);
        assert_layer_in_phase(&reference, &input, tracks[1].origin_samples, end, 2);
        let expected: Vec<u64> = tracks.iter().map(|t| t.origin_samples).collect();
        for sizes in [&[1usize, 7, 300][..], &[64], &[2000, 33]] {
            let (engine, out) = anchored_run(QuantizeMode::Onset, &input, &presses, sizes);
            let origins: Vec<u64> = engine.playing_tracks().map(|t| t.origin_samples).collect();
            assert_eq!(origins, expected, "blocks {sizes:?}");
            assert!(out.main == reference.main, "output with blocks {sizes:?}");
        }
    }
}

#[test]
fn under_host_sync_an_anchored_start_stands_aside() {
    // Host bars of 2 s from sample 0; the anchor is two bars from bar 1; an overdub pressed
    // 120 ms after a mid-bar attack starts at the press: the take follows the host's grid.
    let bar = 96_000u64;
    let attack = 3 * bar + 40_000;
    let input = attacks_signal((6 * bar) as usize, &[attack]);
    let (mut engine, mut keeper, mut worker) = analysed_engine_with(EngineSettings {
        quantize_mode: QuantizeMode::Onset,
        sync: SyncSettings {
            mode: SyncMode::Host,
            ..SyncSettings::default()
        },
        ..EngineSettings::default()
    });
    let grid = HostGrid {
        bar_origin_samples: 0.0,
        bar_length_samples: bar as f64,
        beats_per_bar: 4,
        origin_bar: 0.0,
        quarter_samples: bar as f64 / 4.0,
    };
    let press = attack + 120 * MS;
    let commands = [
        (bar + 100, Command::RecordToggle),
        (3 * bar + 100, Command::RecordToggle),
        (press, Command::RecordToggle),
        (press + 30_000, Command::RecordToggle),
    ];
    run_with(
        &mut engine,
        &mut keeper,
        &input,
        &commands,
        &[512],
        |engine| {
            engine.set_host_grid(Some(grid));
            worker.run_pending();
        },
    );
    let origins: Vec<u64> = engine.playing_tracks().map(|t| t.origin_samples).collect();
    assert_eq!(origins, vec![bar, press]);
}

/// Steady attacks at 120 BPM for 12.5 s; the anchor pressed 120 ms late and stopped after 7.9
/// beats, then an overdub pressed 120 ms after a mid-cycle attack (onset and beat quantization).
fn bounce_session() -> ([Vec<f32>; 2], Vec<(u64, Command)>) {
    let beat = 24_000u64;
    let attacks: Vec<u64> = (0..24).map(|i| 24_000 + i * beat).collect();
    let input = attacks_signal(600_000, &attacks);
    // The first press comes 5.6 s in, after the feed's 4 s ring is full.
    let start = attacks[10] + 120 * MS;
    let stop = start + (7.9 * beat as f64) as u64;
    let commands = [start, stop, attacks[20] + 120 * MS, attacks[22] + 60 * MS]
        .map(|at| (at, Command::RecordToggle));
    (input, commands.to_vec())
}

/// Runs `input` offline (as a bounce renders: as fast as possible), the analysis worker on a
/// thread of its own that stalls for 300 ms at first and then runs at its own pace. Returns
/// the output and the worker.
pub(super) fn run_offline(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    mut worker: AnalysisWorker,
    input: &[Vec<f32>; 2],
    commands: &[(u64, Command)],
    block_sizes: &[usize],
) -> (Rendered, AnalysisWorker) {
    engine.set_render_mode(RenderMode::Offline);
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = stop.clone();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        while !stop_flag.load(Ordering::Relaxed) {
            if !worker.run_pending() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        worker
    });
    let out = run(engine, keeper, input, commands, block_sizes);
    stop.store(true, Ordering::Relaxed);
    (out, thread.join().unwrap())
}

/// The loops' (origin, length) in samples.
fn loops(engine: &Engine) -> Vec<(u64, u64)> {
    (engine.playing_tracks())
        .map(|t| (t.origin_samples, t.length_samples))
        .collect()
}

#[test]
fn an_offline_bounce_gives_the_realtime_loops_whatever_the_worker_speed() {
    let (input, commands) = bounce_session();
    // Realtime pace: the worker keeps up (driven in step with the blocks).
    let (mut engine, mut keeper, mut worker) = analysed_engine(QuantizeMode::OnsetBeat);
    let reference = run_with(&mut engine, &mut keeper, &input, &commands, &[512], |_| {
        worker.run_pending();
    });
    let expected = loops(&engine);
    assert_eq!(expected.len(), 2);
    assert_eq!(engine.anchor_beats().map(|b| b.beats), Some(8));

    // As fast as possible, offline, with a worker thread that stalls for 300 ms at first and then
    // runs at its own pace: the engine waits for it (the feed's ring fills, the decisions need
    // the analysis), and the result is the same, sample for sample.
    for sizes in [&[512usize][..], &[4096], &[1, 700, 64]] {
        let (mut engine, mut keeper, worker) = analysed_engine(QuantizeMode::OnsetBeat);
        let (out, mut worker) =
            run_offline(&mut engine, &mut keeper, worker, &input, &commands, sizes);
        worker.run_pending();
        assert_eq!(loops(&engine), expected, "offline, blocks {sizes:?}");
        assert!(
            out.main == reference.main,
            "offline output, blocks {sizes:?}"
        );
        assert_eq!(
            worker_snapshot(&mut engine).dropped_samples,
            0,
            "nothing lost"
        );
    }

    // The same run in realtime mode with a worker that never keeps up: the decisions fall back
    // to the presses (which is why an offline bounce must wait).
    let (mut engine, mut keeper, _stalled) = analysed_engine(QuantizeMode::OnsetBeat);
    run(&mut engine, &mut keeper, &input, &commands, &[512]);
    let presses: Vec<u64> = commands.iter().map(|c| c.0).collect();
    assert_eq!(engine.cycle().unwrap().origin_samples, presses[0]);
    assert_eq!(
        engine.cycle().unwrap().length_samples,
        presses[1] - presses[0]
    );
    assert_ne!(loops(&engine), expected);
}

/// Where clicks begin in `phones` within `range` (a click's first sample is 0, its second not).
fn click_starts(phones: &[f32], range: std::ops::Range<u64>) -> Vec<u64> {
    range
        .filter(|&t| {
            let t = t as usize;
            phones[t - 1] == 0.0 && phones[t] == 0.0 && phones[t + 1] != 0.0
        })
        .collect()
}

#[test]
fn the_metronome_clicks_the_beats_beat_quantization_found() {
    let beat = 24_000u64; // 120 BPM
    let attacks: Vec<u64> = (0..20).map(|i| 24_000 + i * beat).collect();
    let frames = 24_000 + 28 * beat as usize;
    let input = attacks_signal(frames, &attacks);
    let start = attacks[2] + 30 * MS;
    let stop = start + (7.9 * beat as f64) as u64;
    let settings = EngineSettings {
        quantize_mode: QuantizeMode::Beat,
        // The clicks alone in the headphones; the setting says 4 beats a cycle.
        metronome_gain: 1.0,
        phones_monitor_gain: 0.0,
        phones_loop_gain: 0.0,
        beats_per_cycle: 4,
        ..EngineSettings::default()
    };
    let (mut engine, mut keeper, mut worker) = analysed_engine_with(settings);
    let store = SessionStore::default();
    store.attach(engine.connect_session(), RATE);
    let commands = [
        (start, Command::RecordToggle),
        (stop, Command::RecordToggle),
    ];
    let out = run_with(&mut engine, &mut keeper, &input, &commands, &[256], |_| {
        worker.run_pending();
    });
    let cycle = engine.cycle().expect("an anchor");
    let beats = engine.anchor_beats().expect("whole beats");
    assert_eq!(beats.beats, 8);
    assert_eq!(engine.status().anchor_bpm, Some(beats.bpm));
    // A whole cycle once the anchor plays: 8 clicks, on its beats.
    // Each click in the sample its beat falls in.
    let eight_clicks = |from: u64| -> Vec<u64> {
        (0..8)
            .map(|k| from + (k as f64 * cycle.length_samples as f64 / 8.0).floor() as u64)
            .collect()
    };
    let from = cycle.origin_samples + 2 * cycle.length_samples;
    let clicks = click_starts(&out.phones[0], from..from + cycle.length_samples);
    assert_eq!(clicks, eight_clicks(from));
    assert_eq!(
        engine.status().cycle_beats,
        Some(8),
        "the editor counts the clicks"
    );

    // Saved with the project and loaded into another engine: still 8 beats at the same tempo,
    // clicked on the cycle's beats (not the setting's 4).
    let loaded = SessionStore::default();
    loaded.load(store.save()).expect("the state loads");
    let (mut reloaded, mut reloaded_keeper) = new_engine_with(settings);
    loaded.attach(reloaded.connect_session(), RATE);
    let silence = attacks_signal(3 * cycle.length_samples as usize, &[]);
    let reloaded_out = run(&mut reloaded, &mut reloaded_keeper, &silence, &[], &[256]);
    assert_eq!(reloaded.anchor_beats(), Some(beats));
    assert_eq!(reloaded.status().anchor_bpm, Some(beats.bpm));
    let reloaded_cycle = reloaded.cycle().expect("the loaded anchor");
    let from = reloaded_cycle.origin_samples + reloaded_cycle.length_samples;
    let clicks = click_starts(&reloaded_out.phones[0], from..from + cycle.length_samples);
    assert_eq!(clicks, eight_clicks(from));
    assert_eq!(reloaded.status().cycle_beats, Some(8));

    // Cleared, and a new anchor without beat quantization: its beats are the setting's again,
    // and the status no longer claims a tempo.
    let mut off = settings;
    off.quantize_mode = QuantizeMode::Off;
    engine.set_settings(off);
    let more = attacks_signal(400_000, &[]);
    let now = engine.now_samples();
    let commands = [
        (now + 1_000, Command::Clear),
        (now + 10_000, Command::RecordToggle),
        (now + 154_000, Command::RecordToggle),
    ];
    let out = run_with(&mut engine, &mut keeper, &more, &commands, &[256], |_| {
        worker.run_pending();
    });
    let cycle = engine.cycle().expect("a new anchor");
    assert_eq!(cycle.length_samples, 144_000);
    assert_eq!(engine.status().anchor_bpm, None);
    let from = cycle.origin_samples + cycle.length_samples - now;
    let clicks = click_starts(&out.phones[0], from..from + cycle.length_samples);
    let expected: Vec<u64> = (0..4).map(|k| from + k * 36_000).collect();
    assert_eq!(clicks, expected);
    assert_eq!(
        engine.status().cycle_beats,
        Some(4),
        "the setting's beats, as clicked"
    );
}

#[test]
fn an_overdub_pressed_late_punches_in_at_the_attack() {
    // The same late press as a take's (120 ms after an attack mid-cycle), as an overdub of the
    // anchor: the layer starts at the attack, not at the press, in the loop's phase.
    use crate::engine::dub::DubKind;
    let attack = ANCHOR_STOP + 40_000;
    let frames = (ANCHOR_START + 5 * CYCLE) as usize;
    let input = anchored_input(attack, frames);
    let press = attack + 120 * MS;
    let boundary = ANCHOR_STOP + CYCLE;
    for (mode, starts_at) in [
        (QuantizeMode::Onset, None),
        (QuantizeMode::Off, Some(press)),
    ] {
        let (mut engine, mut keeper, mut worker) = analysed_engine(mode);
        let commands = [
            (ANCHOR_START, Command::RecordToggle),
            (ANCHOR_STOP, Command::RecordToggle),
            (press, Command::Dub(DubKind::Overdub)),
            (boundary - 6_000, Command::Dub(DubKind::Overdub)),
        ];
        let split = press as usize - 1;
        let head = [input[0][..split].to_vec(), input[1][..split].to_vec()];
        run_with(&mut engine, &mut keeper, &head, &commands, &[512], |_| {
            worker.run_pending();
        });
        let old = engine
            .playing_tracks()
            .next()
            .unwrap()
            .buffer
            .to_vec(0, CYCLE as usize);
        let tail = [input[0][split..].to_vec(), input[1][split..].to_vec()];
        run_with(&mut engine, &mut keeper, &tail, &commands, &[512], |_| {
            worker.run_pending();
        });
        let track = engine.playing_tracks().next().unwrap();
        assert_eq!(track.layers, 1, "{mode:?}");
        let new = track.buffer.to_vec(0, CYCLE as usize);
        let index = |t: u64| ((t - ANCHOR_START) % CYCLE) as usize;
        // Where the layer begins: its first sample that differs from the anchor (after the
        // punch-out's ramp, which runs on past the cycle's boundary into its start).
        let first = (BLEND..CYCLE as usize)
            .find(|&j| new[j] != old[j])
            .expect("a layer");
        // The input fades in over the blend before the punch-in.
        let start = ANCHOR_STOP + (first + BLEND) as u64;
        match starts_at {
            Some(at) => assert_eq!(start, at, "{mode:?}: at the press"),
            None => assert_keeps_the_attack(start, attack),
        }
        // The attack is in the layer at its place in the cycle.
        let peak = (0..2_000)
            .map(|k| (new[index(attack) + k] - old[index(attack) + k]).abs())
            .fold(0.0f32, f32::max);
        let expected = (mode == QuantizeMode::Onset) as u8 as f32 * 0.2;
        assert!(peak >= expected, "{mode:?}: attack peak {peak}");
    }
}
