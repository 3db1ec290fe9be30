//! One-shots: captured from the history at an attack, struck at a note's sample, at its
//! velocity's level, retriggered without a click, the same at every block size, saved and
//! restored.

use super::quantize::{analysed_engine_with, attacks_signal};
use super::*;
use crate::analysis::worker::AnalysisWorker;
use crate::engine::command::{PadTarget, strike};
use crate::engine::oneshot::choose_phrase;
use crate::state::store::SessionStore;

/// The attacks of [`take`]'s input, in samples.
const ATTACKS: [u64; 3] = [12_000, 36_000, 60_000];
/// The capture press of [`take`]: after the third attack, so the phrase is the second to the
/// third attack.
const PRESS: u64 = 70_000;

/// Only what the loop bus carries reaches the PA and the headphones (no input monitor).
fn bus_only() -> EngineSettings {
    EngineSettings {
        monitor_gain: 0.0,
        phones_monitor_gain: 0.0,
        ..EngineSettings::default()
    }
}

/// An analysed engine; the input is [`ATTACKS`] then silence.
fn engine() -> (Engine, TrackPoolKeeper, AnalysisWorker) {
    analysed_engine_with(bus_only())
}

/// Runs `commands` over `frames` of the attacks' input with the worker in step.
fn take(
    parts: &mut (Engine, TrackPoolKeeper, AnalysisWorker),
    commands: &[(u64, Command)],
    frames: usize,
    block_sizes: &[usize],
) -> (Rendered, [Vec<f32>; 2]) {
    let input = attacks_signal(frames, &ATTACKS);
    let (engine, keeper, worker) = parts;
    let out = run_with(engine, keeper, &input, commands, block_sizes, |_| {
        worker.run_pending();
    });
    (out, input)
}

/// The onsets the engine's analysis reported (final ones).
fn onsets(engine: &mut Engine) -> Vec<crate::analysis::snapshot::TimedOnset> {
    let link = engine.shared.analysis.as_mut().expect("analysis attached");
    link.snapshot.read().onsets().to_vec()
}

fn pad_samples(engine: &Engine, pad: usize) -> Option<[Vec<f32>; 2]> {
    engine.shared.one_shots.samples_for_test(pad)
}

#[test]
fn a_capture_starts_on_the_attack_the_analysis_reported() {
    let mut parts = engine();
    let capture = [(PRESS, Command::CaptureOneShot(PadTarget::NextFree))];
    let (_, input) = take(&mut parts, &capture, 90_000, &[64]);
    let engine = &mut parts.0;
    let status = engine.status().one_shots;
    assert!(
        status[0].length_samples > 0 && !status[0].filling,
        "pad 1 holds it"
    );
    assert!(status[1..].iter().all(|pad| pad.length_samples == 0));
    let shot = pad_samples(engine, 0).expect("a one-shot");
    let onsets = onsets(engine);
    // The engine's choice, from the onsets it received.
    let phrase = choose_phrase(&onsets, PRESS, None, 0, RATE);
    let received = onsets
        .iter()
        .map(|o| o.time_samples)
        .min_by(|a, b| {
            let d = |t: &f64| (t - phrase.start_samples as f64).abs();
            d(a).total_cmp(&d(b))
        })
        .expect("onsets");
    assert!(
        (received - phrase.start_samples as f64).abs() <= 1.0,
        "starts within a sample of the onset {received}, at {}",
        phrase.start_samples
    );
    // That onset is the second attack (the detector's precision: 5 ms), and the phrase runs to
    // the third.
    let start = phrase.start_samples;
    assert!(start.abs_diff(ATTACKS[1]) <= 240, "start {start}");
    assert!((start + phrase.length_samples).abs_diff(ATTACKS[2]) <= 240);
    assert_eq!(shot[0].len() as u64, phrase.length_samples);
    // The audio is the input from that sample on: no lead-in, the attack first.
    let fade = engine.shared.declick_samples();
    let body = shot[0].len() - fade;
    for c in 0..2 {
        assert_eq!(
            &shot[c][..body],
            &input[c][start as usize..start as usize + body]
        );
    }
    // The end fades out.
    let last = shot[0].len() - 1;
    let source = input[0][start as usize + last];
    assert!((shot[0][last] - source / (fade + 1) as f32).abs() < 1e-6);
}

#[test]
fn without_onsets_a_capture_takes_the_second_before_the_press() {
    let (mut engine, mut keeper) = new_engine_with(bus_only());
    let input = signal_until(80_000, 80_000);
    let capture = [(70_000, Command::CaptureOneShot(PadTarget::Pad(3)))];
    run(&mut engine, &mut keeper, &input, &capture, &[100]);
    let shot = pad_samples(&engine, 3).expect("pad 4 holds it");
    assert_eq!(shot[0].len(), 48_000);
    assert_eq!(&shot[0][..1000], &input[0][22_000..23_000]);
}

/// A capture, then strikes: `(time, pad-1 velocity)`.
fn captured_then_struck(strikes: &[(u64, u8)], block_sizes: &[usize]) -> (Engine, Rendered) {
    let mut parts = engine();
    let mut commands = vec![(PRESS, Command::CaptureOneShot(PadTarget::NextFree))];
    commands.extend(
        strikes
            .iter()
            .map(|&(at, velocity)| (at, Command::StrikeOneShot { pad: 0, velocity })),
    );
    let (out, _) = take(&mut parts, &commands, 150_000, block_sizes);
    (parts.0, out)
}

#[test]
fn a_strike_plays_the_one_shot_from_the_strikes_sample_at_its_velocity() {
    let at = 100_001;
    for velocity in [127u8, 64] {
        let (engine, out) = captured_then_struck(&[(at, velocity)], &[512]);
        let shot = pad_samples(&engine, 0).expect("a one-shot");
        let level = f32::from(velocity) / 127.0;
        let at = at as usize;
        // (The input monitor ramps out over the first blend.)
        assert!(
            out.main[0][BLEND..at].iter().all(|&s| s == 0.0),
            "silent before"
        );
        for (c, (channel, heard_channel)) in shot.iter().zip(&out.main).enumerate() {
            for (i, &sample) in channel.iter().enumerate() {
                let heard = heard_channel[at + i];
                assert!(
                    (heard - sample * level).abs() < 1e-6,
                    "velocity {velocity}, channel {c}, frame {i}: {heard} for {}",
                    sample * level
                );
            }
            assert!(
                heard_channel[at + channel.len()..]
                    .iter()
                    .all(|&s| s == 0.0)
            );
        }
        assert_ne!(shot[0][0], 0.0, "the first frame is the attack's");
        // The headphones hear it too.
        assert!((out.phones[0][at] - shot[0][0] * level).abs() < 1e-6);
    }
}

#[test]
fn a_retrigger_fades_the_old_voice_out_without_a_click() {
    let (first, second) = (100_000u64, 100_500u64);
    let (engine, out) = captured_then_struck(&[(first, 127), (second, 127)], &[512]);
    let shot = pad_samples(&engine, 0).expect("a one-shot");
    let fade = engine.shared.declick_samples();
    let (first, second) = (first as usize, second as usize);
    // The old voice ramps out over the declick length while the new one starts on its attack.
    for i in 0..2 * fade {
        let old_weight = if i < fade {
            1.0 - (i + 1) as f32 / fade as f32
        } else {
            0.0
        };
        let expected = shot[0][second - first + i] * old_weight + shot[0][i];
        let heard = out.main[0][second + i];
        assert!(
            (heard - expected).abs() < 1e-6,
            "frame {i}: {heard} for {expected}"
        );
    }
    // No step larger than the one-shot's own (its attack) where the voices overlap.
    let steps = |s: &[f32]| {
        s.windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0f32, f32::max)
    };
    let own = steps(&shot[0][..2 * fade]);
    let heard = steps(&out.main[0][second - 1..second + 2 * fade]);
    assert!(
        heard <= own + 1e-3,
        "step {heard}, the one-shot's own {own}"
    );
}

#[test]
fn a_pad_sounds_two_voices_at_most() {
    let strikes = [(100_000, 127), (100_100, 127), (100_200, 127)];
    let (engine, out) = captured_then_struck(&strikes, &[512]);
    let shot = pad_samples(&engine, 0).expect("a one-shot");
    let fade = engine.shared.declick_samples();
    // At the third strike the first voice stops, the second fades out, the third starts.
    let at = 100_200usize;
    for i in 0..fade {
        let second = shot[0][100 + i] * (1.0 - (i + 1) as f32 / fade as f32);
        let expected = second + shot[0][i];
        assert!((out.main[0][at + i] - expected).abs() < 1e-6, "frame {i}");
    }
}

#[test]
fn one_shots_do_not_depend_on_the_block_size() {
    let strikes = [(100_001, 100), (103_333, 127), (103_400, 20)];
    let (_, reference) = captured_then_struck(&strikes, &[64]);
    for sizes in [&[1usize][..], &[512], &[4096], &[1, 7, 333, 64, 4096, 2]] {
        let (_, out) = captured_then_struck(&strikes, sizes);
        assert_eq!(out.main, reference.main, "blocks {sizes:?}");
        assert_eq!(out.phones, reference.phones, "blocks {sizes:?}");
    }
    assert!(reference.main[0][100_001..].iter().any(|&s| s.abs() > 0.1));
}

#[test]
fn clear_leaves_the_pads_and_clearing_a_pad_fades_it_out() {
    let mut parts = engine();
    let commands = [
        (PRESS, Command::CaptureOneShot(PadTarget::NextFree)),
        (75_000, Command::CaptureOneShot(PadTarget::NextFree)),
        (90_000, Command::Clear),
        (100_000, strike(1)),
        (100_300, Command::ClearOneShot(PadTarget::LastCaptured)),
        (110_000, strike(1)),
    ];
    let (out, _) = take(&mut parts, &commands, 120_000, &[256]);
    let engine = &mut parts.0;
    let pads = engine.status().one_shots;
    assert!(pads[0].length_samples > 0, "Clear leaves the pads");
    assert_eq!(pads[1].length_samples, 0, "the last captured pad is empty");
    let fade = engine.shared.declick_samples();
    assert!(out.main[0][100_300 + fade..].iter().all(|&s| s == 0.0));
    assert!(out.main[0][100_000..100_300].iter().any(|&s| s != 0.0));
    // Clear one-shots empties them all.
    let (engine, keeper, worker) = &mut parts;
    let input = attacks_signal(1_000, &[]);
    run_with(
        engine,
        keeper,
        &input,
        &[(120_100, Command::ClearOneShots)],
        &[256],
        |_| {
            worker.run_pending();
        },
    );
    assert!(
        engine
            .status()
            .one_shots
            .iter()
            .all(|p| p.length_samples == 0)
    );
}

#[test]
fn one_shots_are_saved_and_the_loaded_pads_play_the_same() {
    let mut parts = engine();
    let store = SessionStore::default();
    store.attach(parts.0.connect_session(), RATE);
    let commands = [
        (PRESS, Command::CaptureOneShot(PadTarget::Pad(5))),
        (80_000, Command::CaptureOneShot(PadTarget::Pad(2))),
    ];
    take(&mut parts, &commands, 100_000, &[512]);
    let saved_pads = [5, 2].map(|pad| pad_samples(&parts.0, pad).expect("captured"));
    let saved = store.save();

    let (mut engine, mut keeper) = new_engine_with(bus_only());
    let loaded = SessionStore::default();
    loaded.load(saved.clone()).expect("the state loads");
    loaded.attach(engine.connect_session(), RATE);
    assert_eq!(
        loaded.save(),
        saved,
        "save -> load -> save is byte-identical"
    );
    // After the loaded session's fade-in (the blend).
    let strikes = [(5_000, strike(5)), (60_000, strike(2))];
    let out = run(
        &mut engine,
        &mut keeper,
        &signal_until(150_000, 0),
        &strikes,
        &[512],
    );
    for ((pad, at), shot) in [(5usize, 5_000usize), (2, 60_000)]
        .into_iter()
        .zip(&saved_pads)
    {
        assert_eq!(pad_samples(&engine, pad).as_ref(), Some(shot), "pad {pad}");
        for (i, &sample) in shot[1].iter().enumerate().take(20_000) {
            assert_eq!(out.main[1][at + i], sample, "pad {pad} frame {i}");
        }
    }
}
