//! What a player notices: loop lengths, where playback starts, seams, overdub placement,
//! snapping, undo/redo, triggers, capture, per-track controls, block-size invariance.

use super::*;
use crate::engine::command::{
    Repeat, TrackControl, TrackTarget, TriggerAction, TriggerSpec, TriggerTime,
};
use crate::engine::cycle::HostGrid;
use crate::engine::{EngineMessage, RecordingState};

/// The anchor loop expected from a take of `[s0, s1)` of the test signal (seam crossfaded).
fn expected_anchor(channel: usize, s0: u64, s1: u64) -> Vec<f32> {
    expected_loop(channel, s0, s1, BLEND)
}

fn assert_close(got: f32, expected: f32, what: &str) {
    assert!(
        (got - expected).abs() <= 1e-5,
        "{what}: got {got}, expected {expected}"
    );
}

#[test]
fn anchor_is_exactly_the_time_between_presses_and_plays_from_the_stop() {
    let (s0, s1) = (10_007u64, 10_007 + 62_411);
    let frames = (s1 + 3 * (s1 - s0)) as usize;
    let input = signal_until(frames, s1);
    let (mut engine, mut keeper) = new_engine();
    let commands = [(s0, Command::RecordToggle), (s1, Command::RecordToggle)];
    let out = run(&mut engine, &mut keeper, &input, &commands, &[512]);

    let cycle = engine.cycle().expect("an anchor");
    assert_eq!(cycle.length_samples, s1 - s0);
    assert_eq!(cycle.origin_samples, s0);
    for (c, input_channel) in input.iter().enumerate() {
        assert_eq!(
            out.main[c][..s1 as usize],
            input_channel[..s1 as usize],
            "monitor only before the stop"
        );
        let loop_ = expected_anchor(c, s0, s1);
        for t in s1..frames as u64 {
            let i = ((t - s1) % (s1 - s0)) as usize;
            assert_close(out.main[c][t as usize], loop_[i], &format!("ch{c} t={t}"));
        }
        assert_eq!(out.phones[c], out.main[c], "headphones carry the same mix");
    }
}

#[test]
fn seam_is_continuous() {
    // A pure sine recorded over a non-integer number of periods: without the crossfade the seam
    // would jump by up to the full amplitude.
    let (s0, s1) = (20_000u64, 20_000 + 30_123);
    let frames = (s1 + 4 * (s1 - s0)) as usize;
    let sine = |t: u64| (2.0 * std::f32::consts::PI * 220.0 * t as f32 / RATE).sin() * 0.5;
    let input: [Vec<f32>; 2] = [0, 1].map(|_| {
        (0..frames as u64)
            .map(|t| if t < s1 { sine(t) } else { 0.0 })
            .collect()
    });
    let (mut engine, mut keeper) = new_engine();
    let commands = [(s0, Command::RecordToggle), (s1, Command::RecordToggle)];
    let out = run(&mut engine, &mut keeper, &input, &commands, &[256]);
    let natural_step = 0.5 * 2.0 * std::f32::consts::PI * 220.0 / RATE;
    let max_step = out.main[0][s1 as usize..]
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max);
    assert!(
        max_step <= natural_step * 1.05,
        "largest step {max_step} vs the sine's own {natural_step}"
    );
}

/// Records an anchor of `anchor` samples at 10 000 and returns the engine after it.
fn with_anchor(anchor: u64) -> (Engine, TrackPoolKeeper, u64) {
    let s0 = 10_000;
    let (mut engine, mut keeper) = new_engine();
    let input = signal_until((s0 + anchor + 100) as usize, u64::MAX);
    run(
        &mut engine,
        &mut keeper,
        &input,
        &[
            (s0, Command::RecordToggle),
            (s0 + anchor, Command::RecordToggle),
        ],
        &[512],
    );
    (engine, keeper, s0)
}

/// Continues a run from the engine's current time with `commands` at absolute times.
fn continue_run(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    frames: usize,
    commands: &[(u64, Command)],
    input_until: u64,
) -> Rendered {
    let start = engine.now_samples();
    let input: [Vec<f32>; 2] = [0, 1].map(|c| {
        (start..start + frames as u64)
            .map(|t| {
                if t < input_until {
                    test_signal(c, t)
                } else {
                    0.0
                }
            })
            .collect()
    });
    run(engine, keeper, &input, commands, &[333])
}

#[test]
fn overdubs_pad_to_the_cycle_or_extend_to_a_power_of_two() {
    let anchor = 96_000;
    let (mut engine, mut keeper, s0) = with_anchor(anchor);
    let l = anchor;
    // Takes start mid-cycle and stop at least 0.2 cycles (400 ms) from a boundary, outside the
    // 200 ms lenience; they last 0.3, 1.3 and 3.2 cycles.
    let mut t = s0 + 3 * l + l / 2;
    for (cycles_x10, expected_length) in [(3, l), (13, 2 * l), (32, 4 * l)] {
        let stop = t + l * cycles_x10 / 10;
        let frames = (stop + 10 - engine.now_samples()) as usize;
        continue_run(
            &mut engine,
            &mut keeper,
            frames,
            &[(t, Command::RecordToggle), (stop, Command::RecordToggle)],
            u64::MAX,
        );
        let track = engine.playing_tracks().last().unwrap();
        assert_eq!(track.length_samples, expected_length);
        assert_eq!(
            track.origin_samples, t,
            "the take keeps its offset in the cycle"
        );
        t = engine.cycle().unwrap().boundary_after(stop) + l / 2;
    }
    assert_eq!(engine.playing_tracks().count(), 4);
    // Phase lock: every track's length is a multiple of the cycle, so every track's index at a
    // cycle boundary is the same each time that boundary comes round.
    let cycle = engine.cycle().unwrap();
    for track in engine.playing_tracks() {
        assert_eq!(track.length_samples % cycle.length_samples, 0);
        assert_eq!(
            (track.length_samples / cycle.length_samples).count_ones(),
            1,
            "power of two"
        );
    }
}

#[test]
fn overdub_plays_at_its_offset_in_the_cycle_mixed_with_the_anchor() {
    let anchor = 96_000u64;
    let (mut engine, mut keeper, s0) = with_anchor(anchor);
    // 250 ms to 750 ms into the cycle: outside the 200 ms lenience at both ends.
    let take_start = s0 + 2 * anchor + 12_000;
    let take_stop = take_start + 24_000;
    // Record the overdub; after it, silence in, so the output is the loops alone.
    let frames = (take_stop + 4 * anchor - engine.now_samples()) as usize;
    let out = continue_run(
        &mut engine,
        &mut keeper,
        frames,
        &[
            (take_start, Command::RecordToggle),
            (take_stop, Command::RecordToggle),
        ],
        take_stop,
    );
    let base = engine.now_samples() - out.main[0].len() as u64;
    let anchor_loop = expected_anchor(0, s0, s0 + anchor);
    // One cycle later, mid-take: the overdub's audio (the middle of the take, away from its
    // fades) plus the anchor at that phase.
    for t in (take_start + anchor + BLEND as u64)..(take_stop + anchor - BLEND as u64) {
        let overdub = test_signal(0, t - anchor);
        let anchor_part = anchor_loop[((t - s0) % anchor) as usize];
        assert_close(
            out.main[0][(t - base) as usize],
            overdub + anchor_part,
            &format!("t={t}"),
        );
    }
    // Outside the take and its pre-roll, only the anchor plays.
    for t in (take_stop + anchor + 10)..(take_start + 2 * anchor - BLEND as u64 - 10) {
        let anchor_part = anchor_loop[((t - s0) % anchor) as usize];
        assert_close(
            out.main[0][(t - base) as usize],
            anchor_part,
            &format!("t={t}"),
        );
    }
}

#[test]
fn presses_within_lenience_snap_to_the_cycle_boundary() {
    let anchor = 48_000u64;
    let (mut engine, mut keeper, s0) = with_anchor(anchor);
    let boundary = s0 + 3 * anchor;
    let late_start = boundary + 4_800; // 100 ms late
    let early_stop = boundary + anchor - 7_200; // 150 ms early
    let frames = (boundary + 2 * anchor - engine.now_samples()) as usize;
    continue_run(
        &mut engine,
        &mut keeper,
        frames,
        &[
            (late_start, Command::RecordToggle),
            (early_stop, Command::RecordToggle),
        ],
        u64::MAX,
    );
    let track = engine.playing_tracks().last().unwrap();
    assert_eq!(track.origin_samples, boundary, "late start snapped back");
    assert_eq!(
        track.length_samples, anchor,
        "early stop waited for the boundary"
    );
    // The take holds the audio from the boundary (taken from the history) on.
    assert_eq!(
        track.buffer.channel(0).sample(100),
        test_signal(0, boundary + 100)
    );
    assert_eq!(
        track.buffer.channel(0).sample(40_000),
        test_signal(0, boundary + 40_000)
    );
}

#[test]
fn undo_fades_the_last_track_out_and_redo_restores_it_bit_identical() {
    let anchor = 24_000u64;
    let (mut engine, mut keeper, _) = with_anchor(anchor);
    let before = continue_run(&mut engine, &mut keeper, 4 * anchor as usize, &[], 0);
    let undo_at = engine.now_samples() + 1_000;
    let undone = continue_run(
        &mut engine,
        &mut keeper,
        2 * anchor as usize,
        &[(undo_at, Command::Undo)],
        0,
    );
    let base = undo_at - 1_000;
    assert!(
        engine.cycle().is_none(),
        "undoing the anchor resets the cycle"
    );
    let fade_end = (undo_at + BLEND as u64 - base) as usize;
    assert!(undone.main[0][fade_end..].iter().all(|&s| s == 0.0));
    assert!(undone.main[0][(undo_at - base) as usize] != 0.0);
    assert_eq!(engine.status().redo_count, 1);

    let redo_at = engine.now_samples();
    let redone = continue_run(
        &mut engine,
        &mut keeper,
        2 * anchor as usize,
        &[(redo_at, Command::Redo)],
        0,
    );
    assert_eq!(engine.cycle().map(|c| c.length_samples), Some(anchor));
    // After the fade-in, the loop is exactly what played before, at the same phase.
    let phase_shift = ((redo_at - (base - 4 * anchor)) % anchor) as usize;
    for i in BLEND..anchor as usize {
        let earlier = before.main[0][(i + phase_shift) % anchor as usize];
        assert_eq!(redone.main[0][i], earlier, "sample {i} after redo");
    }
}

#[test]
fn removing_a_track_fades_only_it_out_and_is_not_redoable() {
    let anchor = 24_000u64;
    let (mut engine, mut keeper) = new_engine();
    let store = crate::state::store::SessionStore::default();
    store.attach(engine.connect_session(), RATE);
    continue_run(
        &mut engine,
        &mut keeper,
        (anchor + 20_000) as usize,
        &[
            (10_000, Command::RecordToggle),
            (10_000 + anchor, Command::RecordToggle),
        ],
        u64::MAX,
    );
    // A second track: the last cycle captured from the history.
    let capture_at = engine.now_samples() + 2 * anchor;
    continue_run(
        &mut engine,
        &mut keeper,
        4 * anchor as usize,
        &[(capture_at, Command::Capture)],
        u64::MAX,
    );
    assert_eq!(engine.playing_tracks().count(), 2);
    let second_origin = engine.playing_tracks().nth(1).unwrap().origin_samples;
    let remove = Command::Track(TrackTarget::Index(0), TrackControl::Remove);
    let remove_at = engine.now_samples() + 100;
    continue_run(
        &mut engine,
        &mut keeper,
        anchor as usize,
        &[(remove_at, remove)],
        0,
    );
    let left: Vec<_> = engine.playing_tracks().collect();
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].origin_samples, second_origin,
        "the other track stays"
    );
    assert_eq!(engine.cycle().map(|c| c.length_samples), Some(anchor));
    assert_eq!(engine.status().redo_count, 0, "a removed track is gone");
    assert_eq!(
        engine.held_track_count(),
        2,
        "its storage is kept while undo can bring it back"
    );
    store.with_model(|model, _| {
        let saved: Vec<u64> = model.tracks.iter().map(|t| t.record.id).collect();
        let playing: Vec<u64> = engine.playing_tracks().map(|t| t.id).collect();
        assert_eq!(saved, playing, "the saved performance forgets it too");
    });
    let remove_at = engine.now_samples();
    let out = continue_run(
        &mut engine,
        &mut keeper,
        anchor as usize,
        &[(remove_at, remove)],
        0,
    );
    assert!(
        engine.cycle().is_none(),
        "removing the last track resets the cycle"
    );
    assert!(
        out.main[0][BLEND..].iter().all(|&s| s == 0.0),
        "faded out over the blend"
    );
    // Clearing the empty mix forgets the undo history: the storage is handed back.
    let clear_at = engine.now_samples();
    continue_run(
        &mut engine,
        &mut keeper,
        512,
        &[(clear_at, Command::Clear)],
        0,
    );
    assert_eq!(engine.held_track_count(), 0, "its storage was handed back");
}

#[test]
fn undo_during_a_take_cancels_it() {
    let anchor = 24_000u64;
    let (mut engine, mut keeper, _) = with_anchor(anchor);
    let start = engine.now_samples() + 5_000;
    continue_run(
        &mut engine,
        &mut keeper,
        20_000,
        &[
            (start, Command::RecordToggle),
            (start + 10_000, Command::Undo),
        ],
        u64::MAX,
    );
    assert_eq!(engine.status().recording, RecordingState::Idle);
    assert_eq!(engine.playing_tracks().count(), 1);
}

/// A scripted session: anchor, overdubs (short, long, snapped), undo, redo, mute, restart,
/// gain changes, clear, and a new anchor.
fn session_commands() -> Vec<(u64, Command)> {
    vec![
        (5_003, Command::RecordToggle),
        (53_411, Command::RecordToggle),
        (60_000, Command::RecordToggle),
        (81_234, Command::RecordToggle),
        (100_100, Command::LastTrackGainUp),
        (120_000, Command::RecordToggle),
        (190_000, Command::RecordToggle),
        (200_007, Command::ToggleMixMute),
        (210_000, Command::ToggleMixMute),
        (215_555, Command::Undo),
        (230_000, Command::Redo),
        (240_001, Command::Restart),
        (250_000, Command::MuteMixAtCycleEnd),
        (262_000, Command::LastTrackGainDown),
        (270_000, Command::RecordNextCycle),
        (400_000, Command::Undo),
        (400_000, Command::Undo),
        (420_000, Command::Clear),
        (430_000, Command::RecordToggle),
        (470_000, Command::RecordToggle),
    ]
}

#[test]
fn output_does_not_depend_on_the_block_size() {
    let frames = 520_000;
    let input = signal_until(frames, 450_000);
    let commands = session_commands();
    let reference = {
        let (mut engine, mut keeper) = new_engine();
        run(&mut engine, &mut keeper, &input, &commands, &[512])
    };
    assert!(
        reference.main[0][460_000..].iter().any(|&s| s != 0.0),
        "loops play at the end"
    );
    for sizes in [
        &[1][..],
        &[64],
        &[4096],
        &[1, 7, 64, 511, 512, 4096, 13, 300],
    ] {
        let (mut engine, mut keeper) = new_engine();
        let out = run(&mut engine, &mut keeper, &input, &commands, sizes);
        for c in 0..2 {
            let first_difference = (0..frames).find(|&t| out.main[c][t] != reference.main[c][t]);
            assert_eq!(first_difference, None, "main ch{c}, block sizes {sizes:?}");
            assert_eq!(
                out.phones[c], reference.phones[c],
                "phones ch{c}, {sizes:?}"
            );
        }
    }
}

#[test]
fn record_next_cycle_mutes_the_pa_for_exactly_one_cycle() {
    let anchor = 24_000u64;
    let (mut engine, mut keeper, s0) = with_anchor(anchor);
    let press = engine.now_samples() + 3_000;
    let out = continue_run(
        &mut engine,
        &mut keeper,
        3 * anchor as usize,
        &[(press, Command::RecordNextCycle)],
        u64::MAX,
    );
    let base = press - 3_000;
    let start = s0 + 2 * anchor; // the boundary after the press
    assert_eq!(engine.playing_tracks().count(), 2);
    let track = engine.playing_tracks().last().unwrap();
    assert_eq!(
        (track.origin_samples, track.length_samples),
        (start, anchor)
    );
    let index = |t: u64| (t - base) as usize;
    for t in (start + BLEND as u64)..(start + anchor) {
        assert_eq!(out.main[0][index(t)], 0.0, "PA muted at t={t}");
        assert!(out.phones[0][index(t)] != 0.0, "headphones play at t={t}");
    }
    assert_eq!(
        out.main[0][index(start - 1)],
        out.phones[0][index(start - 1)]
    );
    let after = start + anchor + BLEND as u64;
    assert_eq!(
        out.main[0][index(after)],
        out.phones[0][index(after)],
        "PA back"
    );
}

#[test]
fn a_second_trigger_press_cancels_it() {
    let anchor = 24_000u64;
    let (mut engine, mut keeper, _) = with_anchor(anchor);
    let press = engine.now_samples() + 1_000;
    continue_run(
        &mut engine,
        &mut keeper,
        2_000,
        &[(press, Command::MuteMixAtCycleEnd)],
        0,
    );
    assert_eq!(engine.status().pending_count, 1);
    continue_run(
        &mut engine,
        &mut keeper,
        2 * anchor as usize,
        &[(press + 1_500, Command::MuteMixAtCycleEnd)],
        0,
    );
    assert_eq!(engine.status().pending_count, 0);
    assert!(
        !engine.status().mix_muted,
        "the cancelled trigger never fired"
    );
}

#[test]
fn nan_input_becomes_silence_for_its_chunk_and_is_counted() {
    let (mut engine, mut keeper) = new_engine();
    let mut input = signal_until(100_000, 60_000);
    // A burst of bad samples inside the take.
    for t in (20_000..20_300).step_by(7) {
        input[0][t] = f32::NAN;
        input[1][t] = f32::INFINITY;
    }
    let out = run(
        &mut engine,
        &mut keeper,
        &input,
        &[
            (5_000, Command::RecordToggle),
            (55_000, Command::RecordToggle),
        ],
        &[128],
    );
    assert!(
        out.main
            .iter()
            .chain(&out.phones)
            .flatten()
            .all(|s| s.is_finite())
    );
    assert!(engine.status().bad_input_chunks >= 2);
    // The loop plays, with silence where the bad chunks were.
    let loop_at = |t: u64| out.main[0][(55_000 + (t - 5_000)) as usize];
    assert!(loop_at(30_000) != 0.0);
    assert_eq!(loop_at(20_100), 0.0);
}

/// An engine with a one-second anchor recorded at 10 000: (engine, keeper, s0, L).
fn capture_setup() -> (Engine, TrackPoolKeeper, u64, u64) {
    let anchor = 48_000u64;
    let (engine, keeper, s0) = with_anchor(anchor);
    (engine, keeper, s0, anchor)
}

#[test]
fn capture_takes_the_last_cycle_ending_at_the_nearest_boundary() {
    let (mut engine, mut keeper, s0, l) = capture_setup();
    // Play on for a few cycles, then press capture 1000 samples after a boundary.
    let boundary = s0 + 5 * l;
    let press = boundary + 1_000;
    let frames = (press + 2 * l - engine.now_samples()) as usize;
    let out = continue_run(
        &mut engine,
        &mut keeper,
        frames,
        &[(press, Command::Capture)],
        press,
    );
    let base = press + 2 * l - frames as u64;
    assert_eq!(engine.playing_tracks().count(), 2);
    let captured = engine.playing_tracks().last().unwrap();
    assert_eq!(captured.origin_samples, boundary - l);
    assert_eq!(captured.length_samples, l);
    assert!(captured.fill.is_none(), "the copy has completed");
    let anchor_loop = expected_anchor(0, s0, s0 + l);
    let captured_loop = expected_anchor(0, boundary - l, boundary);
    assert_eq!(
        &captured.buffer.to_vec(0, l as usize)[..],
        &captured_loop[..]
    );
    // From the press on (input silent), the output is the anchor plus the capture at its phase,
    // including the very first samples, while the copy was still running.
    for t in press..press + 2 * l {
        let expected = anchor_loop[((t - s0) % l) as usize]
            + captured_loop[((t - (boundary - l)) % l) as usize];
        assert_close(
            out.main[0][(t - base) as usize],
            expected,
            &format!("t={t}"),
        );
    }
}

#[test]
fn capture_waits_for_a_boundary_just_ahead_and_takes_the_chosen_cycle_count() {
    let (mut engine, mut keeper) = new_engine_with(EngineSettings {
        capture_cycles: 2,
        ..EngineSettings::default()
    });
    let (s0, l) = (10_000u64, 48_000u64);
    let boundary = s0 + 4 * l;
    let press = boundary - 2_000;
    let input = signal_until((boundary + 100) as usize, u64::MAX);
    run(
        &mut engine,
        &mut keeper,
        &input,
        &[
            (s0, Command::RecordToggle),
            (s0 + l, Command::RecordToggle),
            (press, Command::Capture),
        ],
        &[512],
    );
    let captured = engine.playing_tracks().last().unwrap();
    assert_eq!(engine.playing_tracks().count(), 2);
    assert_eq!(
        (captured.origin_samples, captured.length_samples),
        (boundary - 2 * l, 2 * l)
    );
}

#[test]
fn capture_of_more_than_the_history_is_refused_with_a_message() {
    // 3 s anchor, 8 cycles = 24 s > the 20 s history.
    let (mut engine, mut keeper) = new_engine_with(EngineSettings {
        capture_cycles: 8,
        ..EngineSettings::default()
    });
    let l = 144_000u64;
    let input = signal_until((10_000 + 2 * l + 1_000) as usize, u64::MAX);
    run(
        &mut engine,
        &mut keeper,
        &input,
        &[
            (10_000, Command::RecordToggle),
            (10_000 + l, Command::RecordToggle),
            (10_000 + 2 * l - 100, Command::Capture),
        ],
        &[512],
    );
    assert_eq!(engine.playing_tracks().count(), 1);
    assert_eq!(engine.status().message, Some(EngineMessage::CaptureTooLong));
}

#[test]
fn capture_without_an_anchor_uses_the_host_bars_or_says_why_not() {
    let (mut engine, mut keeper) = new_engine();
    let input = signal_until(150_000, u64::MAX);
    run(
        &mut engine,
        &mut keeper,
        &input,
        &[(140_000, Command::Capture)],
        &[512],
    );
    assert!(engine.cycle().is_none());
    assert_eq!(engine.status().message, Some(EngineMessage::NeedsAnchor));

    // 120 BPM 4/4 at 48 kHz: a bar is 96 000 samples; bars start at 3 000 + k * 96 000.
    engine.set_host_grid(Some(HostGrid {
        bar_origin_samples: 3_000.0,
        bar_length_samples: 96_000.0,
        beats_per_bar: 4,
        origin_bar: 0.0,
        quarter_samples: 24_000.0,
    }));
    let press = 195_500; // nearest bar: 195 000
    continue_run(
        &mut engine,
        &mut keeper,
        60_000,
        &[(press, Command::Capture)],
        u64::MAX,
    );
    let cycle = engine.cycle().expect("the capture is the anchor");
    assert_eq!(cycle.length_samples, 96_000);
    assert_eq!(cycle.origin_samples, 99_000);
}

#[test]
fn track_controls_ramp_and_address_the_last_or_the_nth_track() {
    let (mut engine, mut keeper, s0, l) = capture_setup();
    // A second, full-cycle track, recorded from a boundary.
    let start = s0 + 2 * l;
    let frames = (start + l + 100 - engine.now_samples()) as usize;
    continue_run(
        &mut engine,
        &mut keeper,
        frames,
        &[
            (start, Command::RecordToggle),
            (start + l, Command::RecordToggle),
        ],
        u64::MAX,
    );
    assert_eq!(engine.playing_tracks().count(), 2);
    let anchor_loop = expected_anchor(0, s0, s0 + l);
    let second_loop = expected_anchor(0, start, start + l);
    let t0 = engine.now_samples() + 10;
    let mute_anchor = Command::Track(TrackTarget::Index(0), TrackControl::SetMute(true));
    let solo_anchor = Command::Track(TrackTarget::Index(0), TrackControl::ToggleSolo);
    let pan_last = Command::Track(TrackTarget::Last, TrackControl::SetPan(1.0));
    let out = continue_run(
        &mut engine,
        &mut keeper,
        30_000,
        &[
            (t0, mute_anchor),
            (t0 + 10_000, solo_anchor),
            (t0 + 20_000, pan_last),
        ],
        0,
    );
    let base = t0 - 10;
    let at = |t: u64| out.main[0][(t - base) as usize];
    let phase = |t: u64, origin: u64| ((t - origin) % l) as usize;
    // Half-way through the mute ramp the anchor is at (nearly) half level: the ramp's k-th
    // sample from the command is at 1 - (k + 1) / B.
    let half = t0 + BLEND as u64 / 2;
    let level = 1.0 - (BLEND / 2 + 1) as f32 / BLEND as f32;
    assert_close(
        at(half),
        anchor_loop[phase(half, s0)] * level + second_loop[phase(half, start)],
        "mid-ramp",
    );
    // After the ramp: the second track alone.
    let after = t0 + BLEND as u64 + 5;
    assert_close(at(after), second_loop[phase(after, start)], "anchor muted");
    // Solo on the (muted) anchor silences everything else: muted and soloed stays silent.
    let soloed = t0 + 10_000 + BLEND as u64 + 5;
    assert_eq!(at(soloed), 0.0);
}

#[test]
fn a_repeating_trigger_fires_at_each_boundary_the_set_number_of_times() {
    let (mut engine, mut keeper, s0, l) = capture_setup();
    let spec = TriggerSpec {
        action: TriggerAction::ToggleMixMute,
        time: TriggerTime::NextCycle,
        repeat: Repeat::Times(3),
    };
    let press = engine.now_samples() + 100;
    continue_run(
        &mut engine,
        &mut keeper,
        1_000,
        &[(press, Command::Trigger(spec))],
        0,
    );
    let shown = engine.status().triggers[0].expect("listed");
    assert_eq!(shown.at_samples, s0 + 2 * l);
    assert_eq!(shown.remaining, Some(3));
    let mut muted = Vec::new();
    for _ in 0..4 {
        let next = engine.cycle().unwrap().boundary_after(engine.now_samples());
        let frames = (next + 10 - engine.now_samples()) as usize;
        continue_run(&mut engine, &mut keeper, frames, &[], 0);
        muted.push(engine.status().mix_muted);
    }
    assert_eq!(
        muted,
        vec![true, false, true, true],
        "fired three times, then stopped"
    );
    assert_eq!(engine.status().pending_count, 0);

    let forever = TriggerSpec {
        repeat: Repeat::Forever,
        action: TriggerAction::Restart,
        ..spec
    };
    let press = engine.now_samples() + 10;
    continue_run(
        &mut engine,
        &mut keeper,
        5 * l as usize,
        &[(press, Command::Trigger(forever))],
        0,
    );
    assert_eq!(engine.status().triggers[0].map(|t| t.remaining), Some(None));
    let press = engine.now_samples() + 10;
    continue_run(
        &mut engine,
        &mut keeper,
        100,
        &[(press, Command::Trigger(forever))],
        0,
    );
    assert_eq!(
        engine.status().pending_count,
        0,
        "sending it again cancels it"
    );
}

#[test]
fn tracks_are_limited_by_memory_not_by_a_slot_count() {
    // Small buffers (1 s history at 8 kHz) so that hundreds of tracks fit in a test.
    let settings = EngineSettings {
        lenience_ms: 0.0,
        ..EngineSettings::default()
    };
    let (mut engine, mut keeper) = engine_at(8_000.0, 1.0, settings);
    let l = 1_600u64;
    let mut commands = vec![
        (100, Command::RecordToggle),
        (100 + l, Command::RecordToggle),
    ];
    for i in 0..400u64 {
        let start = 100 + 3 * l + i * 900;
        commands.push((start, Command::RecordToggle));
        commands.push((start + 300, Command::RecordToggle));
    }
    let end = commands.last().unwrap().0 + 1_000;
    let input = signal_until(end as usize, u64::MAX);
    run(&mut engine, &mut keeper, &input, &commands, &[256]);
    assert_eq!(engine.playing_tracks().count(), 401);
    assert_ne!(engine.status().message, Some(EngineMessage::TooManyTracks));

    // Clear, then clear the empty mix (forgetting the undo history), gives every buffer back:
    // memory returns to the spares alone.
    continue_run(
        &mut engine,
        &mut keeper,
        4_000,
        &[(end + 10, Command::Clear), (end + 20, Command::Clear)],
        0,
    );
    keeper.service().unwrap();
    assert_eq!(engine.held_track_count(), 0);
    assert_eq!(keeper.live_buffers(), crate::engine::SPARE_TAKES);
}
