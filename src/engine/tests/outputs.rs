//! The outputs and effects as a player hears them: PA mute while recording, the limiter, the
//! metronome (headphones only, never recorded), input mapping, per-track reverse and delay.

use super::*;
use crate::engine::command::{TrackControl, TrackTarget};
use crate::engine::cycle::HostGrid;
use crate::engine::fx::chain::FxControl;
use crate::engine::{EngineConfig, EngineSettings, InputMode};

/// A one-second anchor recorded from 10 000 with `settings`; input silent from `silent_from`.
fn anchor_session(
    settings: EngineSettings,
    frames: usize,
    silent_from: u64,
    extra: &[(u64, Command)],
) -> (Engine, Rendered) {
    let (mut engine, mut keeper) = new_engine_with(settings);
    let input = signal_until(frames, silent_from);
    let mut commands = vec![
        (10_000, Command::RecordToggle),
        (58_000, Command::RecordToggle),
    ];
    commands.extend_from_slice(extra);
    commands.sort_by_key(|(t, _)| *t);
    let out = run(&mut engine, &mut keeper, &input, &commands, &[256]);
    (engine, out)
}

#[test]
fn pa_mute_while_recording_is_sample_exact_and_spares_the_headphones() {
    let settings = EngineSettings {
        pa_mute_while_recording: true,
        ..EngineSettings::default()
    };
    // A second take from 106 000 (a boundary) to 130 000 (mid-cycle, outside the lenience).
    let (start, stop) = (106_000u64, 130_007u64);
    let (_, out) = anchor_session(
        settings,
        200_000,
        u64::MAX,
        &[
            (start, Command::RecordToggle),
            (stop, Command::RecordToggle),
        ],
    );
    for c in 0..2 {
        let (main, phones) = (&out.main[c], &out.phones[c]);
        // The anchor take mutes the PA too: from its start to its stop.
        assert_eq!(main[..10_000], phones[..10_000]);
        let (start, stop) = (start as usize, stop as usize);
        assert_eq!(
            main[58_000 + BLEND..start],
            phones[58_000 + BLEND..start],
            "PA open"
        );
        assert!(
            main[start] != 0.0 && main[start].abs() < phones[start].abs(),
            "ramp starts"
        );
        assert!(
            main[start + BLEND..stop].iter().all(|&s| s == 0.0),
            "PA quiet"
        );
        assert!(phones[start + BLEND..stop].iter().any(|&s| s.abs() > 0.1));
        assert_eq!(
            main[stop + BLEND..],
            phones[stop + BLEND..],
            "PA back after the take"
        );
    }
}

#[test]
fn a_twelve_db_overdriven_mix_never_exceeds_the_ceiling() {
    let ceiling = 10f32.powf(-1.0 / 20.0);
    let settings = EngineSettings {
        master_gain: 10f32.powf(12.0 / 20.0),
        limiter_ceiling: ceiling,
        ..EngineSettings::default()
    };
    let (_, out) = anchor_session(settings, 150_000, u64::MAX, &[]);
    let peak = out
        .main
        .iter()
        .flatten()
        .fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak <= ceiling, "peak {peak}, ceiling {ceiling}");
    assert!(peak > ceiling * 0.99, "the limiter works at the ceiling");
}

#[test]
fn metronome_clicks_on_host_beats_in_the_headphones_only_and_is_never_recorded() {
    let settings = EngineSettings {
        metronome_gain: 1.0,
        ..EngineSettings::default()
    };
    let (mut engine, mut keeper) = new_engine_with(settings);
    // 90 BPM in 3/4: a beat is 32 000 samples; bars start at 4 000 + k * 96 000.
    engine.set_host_grid(Some(HostGrid {
        bar_origin_samples: 4_000.0,
        bar_length_samples: 96_000.0,
        beats_per_bar: 3,
        origin_bar: 0.0,
        quarter_samples: 32_000.0,
    }));
    // Silent input: anything in the loop would be the click.
    let input = signal_until(300_000, 0);
    let out = run(
        &mut engine,
        &mut keeper,
        &input,
        &[
            (10_000, Command::RecordToggle),
            (150_000, Command::RecordToggle),
        ],
        &[256],
    );
    assert!(
        out.main.iter().flatten().all(|&s| s == 0.0),
        "no click on the PA"
    );
    let phones = &out.phones[0];
    let starts: Vec<usize> = (1..phones.len() - 1)
        .filter(|&t| phones[t] == 0.0 && phones[t - 1] == 0.0 && phones[t + 1] != 0.0)
        .collect();
    let expected: Vec<usize> = (0..10).map(|k| 4_000 + k * 32_000).collect();
    assert_eq!(starts[..9], expected[..9], "clicks exactly on the beats");
    let track = engine
        .playing_tracks()
        .next()
        .expect("the take became a loop");
    assert!(
        track.buffer.to_vec(0, 140_000).iter().all(|&s| s == 0.0),
        "the click is never recorded"
    );
}

/// RMS level of `samples` in dB relative to full scale (-inf for silence).
fn level_db(samples: &[f32]) -> f32 {
    let mean_square = samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32;
    10.0 * mean_square.log10()
}

#[test]
fn every_input_mode_records_and_monitors_its_channels_in_every_layout() {
    // A one-second anchor; the right input 6 dB below the left, so that a swapped, dropped or
    // halved channel changes a level by at least 3 dB.
    let (start, stop) = (10_000u64, 58_000u64);
    let frames = 60_000;
    let [left, right] = signal_until(frames, u64::MAX);
    let right: Vec<f32> = right.iter().map(|s| 0.5 * s).collect();
    let sum: Vec<f32> = left
        .iter()
        .zip(&right)
        .map(|(l, r)| 0.5 * (l + r))
        .collect();
    for input_channels in [2, 1] {
        // With one input channel (the mono-in layout) nice-plug passes a two-channel buffer whose
        // second channel is zeroed.
        let second = match input_channels {
            2 => right.clone(),
            _ => vec![0.0; frames],
        };
        let input = [left.clone(), second];
        for mode in [
            InputMode::Stereo,
            InputMode::Left,
            InputMode::Right,
            InputMode::MonoSum,
        ] {
            // What the player hears and records, left and right: a mono input in every mode.
            let expected: [&[f32]; 2] = match (input_channels, mode) {
                (1, _) | (_, InputMode::Left) => [&left, &left],
                (_, InputMode::Stereo) => [&left, &right],
                (_, InputMode::Right) => [&right, &right],
                (_, InputMode::MonoSum) => [&sum, &sum],
            };
            let config = EngineConfig {
                sample_rate_hz: RATE,
                recorded_channels: input_channels,
                history_secs: 20.0,
            };
            let settings = EngineSettings {
                input_mode: mode,
                ..EngineSettings::default()
            };
            let (mut engine, mut keeper) = engine_from(config, settings);
            let presses = [
                (start, Command::RecordToggle),
                (stop, Command::RecordToggle),
            ];
            let out = run(&mut engine, &mut keeper, &input, &presses, &[256]);
            let track = engine.playing_tracks().next().expect("the take is a loop");
            assert_eq!(track.buffer.channels(), input_channels, "{mode:?}");
            // The take before its seam (the seam crossfades into the pre-roll).
            let take = start as usize..stop as usize - BLEND;
            for (c, (expected, monitored)) in expected.iter().zip(&out.main).enumerate() {
                let what = format!("{input_channels} input channel(s), {mode:?}, channel {c}");
                let expected = &expected[take.clone()];
                let want_db = level_db(expected);
                let recorded = &track.buffer.to_vec(c.min(input_channels - 1), take.len())[..];
                let recorded_db = level_db(recorded);
                assert!(
                    (recorded_db - want_db).abs() < 0.1,
                    "{what}: recorded at {recorded_db:.2} dB, played at {want_db:.2} dB"
                );
                assert_eq!(recorded, expected, "{what}");
                // The monitor on the PA while the take records (no loop plays yet).
                let monitored_db = level_db(&monitored[take.clone()]);
                assert!(
                    (monitored_db - want_db).abs() < 0.1,
                    "{what}: monitored at {monitored_db:.2} dB, played at {want_db:.2} dB"
                );
            }
        }
    }
}

#[test]
fn reverse_plays_the_time_reversed_loop() {
    let reverse = Command::Track(
        TrackTarget::Last,
        TrackControl::Fx(FxControl::SetReverse(true)),
    );
    let (engine, out) = anchor_session(
        EngineSettings::default(),
        250_000,
        58_000,
        &[(100_000, reverse)],
    );
    let track = engine.playing_tracks().next().unwrap();
    let audio = &track.buffer.to_vec(0, 48_000)[..];
    // After the crossfade, playback position p plays audio[L - 1 - p].
    for t in (100_000 + BLEND as u64)..250_000 {
        let p = ((t - 10_000) % 48_000) as usize;
        assert_eq!(out.main[0][t as usize], audio[48_000 - 1 - p], "t={t}");
    }
}

#[test]
fn note_53_echoes_the_last_track_and_55_resets_it() {
    let delay_settings = Command::Track(
        TrackTarget::Last,
        TrackControl::Fx(FxControl::DelaySettings {
            time_secs: 0.25,
            feedback: 0.0,
            mix: 0.5,
        }),
    );
    let (engine, with_delay) = anchor_session(
        EngineSettings::default(),
        300_000,
        58_000,
        &[
            (60_000, delay_settings),
            (60_000, Command::ToggleLastTrackDelay),
            (200_000, Command::ResetLastTrack),
        ],
    );
    let track = engine.playing_tracks().next().unwrap();
    let dry = |t: u64| {
        track
            .buffer
            .channel(0)
            .sample(((t - 10_000) % 48_000) as usize)
    };
    // A quarter second (12 000 samples) after the delay is on: loop + half the loop 12 000 ago.
    for t in (60_000 + 12_000 + BLEND as u64)..190_000 {
        let expected = dry(t) + 0.5 * dry(t - 12_000);
        assert!(
            (with_delay.main[0][t as usize] - expected).abs() < 1e-5,
            "t={t}: {} vs {expected}",
            with_delay.main[0][t as usize]
        );
    }
    // After the reset (and its ramp), the dry loop again.
    for t in (200_000 + BLEND as u64)..300_000 {
        assert_eq!(with_delay.main[0][t as usize], dry(t), "t={t}");
    }
}

#[test]
fn a_delay_in_note_values_follows_the_tempo() {
    // Anchor of one second = 4 beats (the default beats per cycle): a beat is 12 000 samples.
    let half_beat = Command::Track(
        TrackTarget::Last,
        TrackControl::Fx(FxControl::DelayBeats {
            beats: 0.5,
            feedback: 0.0,
            mix: 0.5,
        }),
    );
    let on = Command::Track(
        TrackTarget::Last,
        TrackControl::Fx(FxControl::SetDelay(true)),
    );
    let (engine, out) = anchor_session(
        EngineSettings::default(),
        200_000,
        58_000,
        &[(60_000, half_beat), (60_000, on)],
    );
    let track = engine.playing_tracks().next().unwrap();
    let dry = |t: u64| {
        track
            .buffer
            .channel(0)
            .sample(((t - 10_000) % 48_000) as usize)
    };
    for t in (60_000 + 6_000 + BLEND as u64)..200_000 {
        let expected = dry(t) + 0.5 * dry(t - 6_000);
        assert!((out.main[0][t as usize] - expected).abs() < 1e-5, "t={t}");
    }
}

/// The benchmark's effects row, as a test: loops of a steady tone through filter, drive and
/// delay. Before the engine flushed subnormals, every block of it did arithmetic on subnormal
/// operands (seen in MXCSR, on outputs that were all normal): cheap on this machine's cores,
/// some hundred cycles each on cores that take a microcode assist for them, which made the
/// benchmark's figure depend on the machine.
/// Only optimized code packs the two channels' filters into vector lanes, where the subnormal
/// operands showed up, so the test command runs this one in a release build.
#[cfg(target_arch = "x86_64")]
#[cfg_attr(
    debug_assertions,
    ignore = "meaningful in an optimized build only (cargo test --release)"
)]
#[test]
fn filtered_loops_of_a_steady_tone_do_no_arithmetic_on_subnormals() {
    use crate::engine::denormals::took_subnormal_operand;
    let frames = 150_000;
    let input = signal_until(frames, frames as u64);
    let mut commands = vec![
        (10_000, Command::RecordToggle),
        (58_000, Command::RecordToggle),
    ];
    for fx in [
        FxControl::SetFilter(true),
        FxControl::SetDrive(true),
        FxControl::SetDelay(true),
    ] {
        commands.push((
            60_000,
            Command::Track(TrackTarget::Index(0), TrackControl::Fx(fx)),
        ));
    }
    let (mut engine, mut keeper) = new_engine();
    run(&mut engine, &mut keeper, &input, &commands, &[128]);
    let block = 128;
    let [left, right] = [0, 1].map(|c| input[c][frames - block..].to_vec());
    let (mut main, mut phones) = (
        [left.clone(), right.clone()],
        [vec![0.0; block], vec![0.0; block]],
    );
    let mut blocks_with_subnormals = 0;
    for _ in 0..1_000 {
        main[0].copy_from_slice(&left);
        main[1].copy_from_slice(&right);
        let [main_l, main_r] = &mut main;
        let [phones_l, phones_r] = &mut phones;
        took_subnormal_operand();
        engine.process(&mut [main_l, main_r], &mut [phones_l, phones_r], &[]);
        blocks_with_subnormals += usize::from(took_subnormal_operand());
    }
    assert_eq!(blocks_with_subnormals, 0, "of 1000 blocks");
}

#[test]
fn no_subnormal_ever_leaves_the_engine() {
    // Input of subnormals with one click: a one-second anchor of it, then filter and delay on
    // the loop, whose tails decay into the subnormal range after every click. Neither the
    // monitor nor the loop nor its effects may put a subnormal on either output.
    let frames = 200_000;
    let click = 20_000;
    let subnormal = f32::MIN_POSITIVE / 3.0;
    let input: [Vec<f32>; 2] = [0, 1].map(|_| {
        (0..frames)
            .map(|t| if t == click { 0.8 } else { subnormal })
            .collect()
    });
    let fx = |control| Command::Track(TrackTarget::Index(0), TrackControl::Fx(control));
    let commands = [
        (10_000, Command::RecordToggle),
        (58_000, Command::RecordToggle),
        (60_000, fx(FxControl::SetFilter(true))),
        (60_000, fx(FxControl::SetDelay(true))),
    ];
    let (mut engine, mut keeper) = new_engine();
    let out = run(&mut engine, &mut keeper, &input, &commands, &[256, 77]);
    for (name, channels) in [("PA", &out.main), ("headphones", &out.phones)] {
        for (c, channel) in channels.iter().enumerate() {
            let first = channel.iter().position(|s| s.is_subnormal());
            assert_eq!(first, None, "{name} ch{c}: a subnormal at {first:?}");
        }
    }
    assert!(
        out.main[0][80_000..].iter().any(|&s| s.abs() > 0.01),
        "the loop plays"
    );
}

#[test]
fn nan_or_infinite_levels_are_ignored_and_never_reach_the_outputs() {
    let metronome = EngineSettings {
        metronome_gain: 1.0,
        ..EngineSettings::default()
    };
    let (_, expected) = anchor_session(metronome, 150_000, u64::MAX, &[]);
    // Absurd automation of every level, from the start: each keeps its last sane value.
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let settings = EngineSettings {
            monitor_gain: bad,
            loop_gain: bad,
            master_gain: bad,
            limiter_ceiling: bad,
            phones_monitor_gain: bad,
            phones_loop_gain: bad,
            phones_gain: bad,
            metronome_gain: bad,
            ..EngineSettings::default()
        };
        let (mut engine, mut keeper) = new_engine_with(metronome);
        let input = signal_until(150_000, u64::MAX);
        let commands = [
            (10_000, Command::RecordToggle),
            (58_000, Command::RecordToggle),
        ];
        let out = run_with(&mut engine, &mut keeper, &input, &commands, &[256], |e| {
            if e.now_samples() >= 20_000 {
                e.set_settings(settings);
            }
        });
        for (name, got, want) in [
            ("PA", &out.main, &expected.main),
            ("headphones", &out.phones, &expected.phones),
        ] {
            assert!(got.iter().flatten().all(|s| s.is_finite()), "{bad} {name}");
            assert_eq!(got, want, "{bad}: {name} as if never sent");
        }
    }
}
