//! The outputs and effects as a player hears them: PA mute while recording, the limiter, the
//! metronome (headphones only, never recorded), input mapping, per-track reverse and delay.

use super::*;
use crate::engine::command::{TrackControl, TrackTarget};
use crate::engine::cycle::HostGrid;
use crate::engine::fx::chain::FxControl;
use crate::engine::{EngineSettings, InputMode};

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
        track.buffer.channel(0)[..140_000].iter().all(|&s| s == 0.0),
        "the click is never recorded"
    );
}

#[test]
fn input_mapping_records_the_chosen_channels() {
    for (mode, expect_left, expect_right) in [
        (InputMode::Left, 0usize, 0usize),
        (InputMode::Right, 1, 1),
        (InputMode::Stereo, 0, 1),
    ] {
        let settings = EngineSettings {
            input_mode: mode,
            ..EngineSettings::default()
        };
        let (engine, _) = anchor_session(settings, 60_000, u64::MAX, &[]);
        let track = engine.playing_tracks().next().unwrap();
        assert_eq!(
            track.buffer.channel(0)[1_000],
            test_signal(expect_left, 11_000),
            "{mode:?}"
        );
        assert_eq!(
            track.buffer.channel(1)[1_000],
            test_signal(expect_right, 11_000),
            "{mode:?}"
        );
    }
    let settings = EngineSettings {
        input_mode: InputMode::MonoSum,
        ..EngineSettings::default()
    };
    let (engine, _) = anchor_session(settings, 60_000, u64::MAX, &[]);
    let track = engine.playing_tracks().next().unwrap();
    let sum = 0.5 * (test_signal(0, 11_000) + test_signal(1, 11_000));
    assert_eq!(track.buffer.channel(0)[1_000], sum);
    assert_eq!(track.buffer.channel(1)[1_000], sum);
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
    let audio = &track.buffer.channel(0)[..48_000];
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
    let dry = |t: u64| track.buffer.channel(0)[((t - 10_000) % 48_000) as usize];
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
    let dry = |t: u64| track.buffer.channel(0)[((t - 10_000) % 48_000) as usize];
    for t in (60_000 + 6_000 + BLEND as u64)..200_000 {
        let expected = dry(t) + 0.5 * dry(t - 6_000);
        assert!((out.main[0][t as usize] - expected).abs() < 1e-5, "t={t}");
    }
}
