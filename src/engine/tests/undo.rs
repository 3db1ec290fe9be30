//! The undo history: every per-loop action and clear undone and redone exactly, in phase, at any
//! block size, the saved performance following; a full log forgetting its oldest edit; a loop's
//! mute at its own end.

use std::sync::Arc;

use super::*;
use crate::engine::command::{TrackControl, TrackTarget, TriggerAction};
use crate::engine::fx::chain::FxControl;
use crate::engine::session_event::TrackRecord;
use crate::engine::undo::UNDO_CAPACITY;
use crate::state::store::SessionStore;

/// The anchor's length, in samples.
const L: u64 = 24_000;
/// The anchor's record press.
const S0: u64 = 10_000;
/// The input is silent from here on (the loops are heard alone).
const QUIET: u64 = S0 + 3 * L;
/// The declick fade (5 ms) at 48 kHz, in samples.
const DECLICK: u64 = 240;

/// A performance: an anchor of `L`; a loop two cycles long from half a cycle in; the anchor at
/// half gain, the long loop panned left and reversed.
fn performance() -> Vec<(u64, Command)> {
    let s1 = S0 + L;
    let track = |n, control| Command::Track(TrackTarget::Index(n), control);
    vec![
        (S0, Command::RecordToggle),
        (s1, Command::RecordToggle),
        (s1 + L / 2, Command::RecordToggle),
        (s1 + 2 * L, Command::RecordToggle),
        (QUIET + 100, track(0, TrackControl::SetGain(0.5))),
        (QUIET + 200, track(1, TrackControl::SetPan(-0.3))),
        (
            QUIET + 300,
            track(1, TrackControl::Fx(FxControl::SetReverse(true))),
        ),
    ]
}

/// `performance()` followed by `more`.
fn performance_and(more: &[(u64, Command)]) -> Vec<(u64, Command)> {
    let mut commands = performance();
    commands.extend_from_slice(more);
    commands
}

/// An engine that played: its output, its keeper, and the saved performance following it.
struct Played {
    engine: Engine,
    keeper: TrackPoolKeeper,
    store: SessionStore,
    out: Rendered,
}

/// Plays `commands` from the start for `frames` in blocks of `sizes`.
fn play(commands: &[(u64, Command)], frames: u64, sizes: &[usize]) -> Played {
    let (mut engine, mut keeper) = new_engine();
    let store = SessionStore::default();
    store.attach(engine.connect_session(), RATE);
    let input = signal_until(frames as usize, QUIET);
    let out = run(&mut engine, &mut keeper, &input, commands, sizes);
    Played {
        engine,
        keeper,
        store,
        out,
    }
}

impl Played {
    /// Plays on (silent input) until `until`, with `commands` (absolute times).
    fn until(&mut self, until: u64, commands: &[(u64, Command)], sizes: &[usize]) -> Rendered {
        run_on_in_silence(&mut self.engine, &mut self.keeper, until, commands, sizes)
    }

    /// The records of the loops the session mirror should hold.
    fn records(&self) -> Vec<TrackRecord> {
        self.engine.tracks_for_test().map(TrackRecord::of).collect()
    }

    /// The saved performance holds what the engine plays, and its cycle.
    fn assert_mirrored(&self, what: &str) {
        self.store.with_model(|model, _| {
            let saved: Vec<_> = model.tracks.iter().map(|t| t.record).collect();
            assert_eq!(saved, self.records(), "{what}: tracks as saved");
            assert_eq!(model.cycle, self.engine.cycle(), "{what}: cycle as saved");
        });
    }
}

/// The first sample at which `a` and `b` differ (in both outputs, both channels), from `from`
/// on (indices into both).
fn first_difference(a: &Rendered, b: &Rendered, range: std::ops::Range<usize>) -> Option<usize> {
    range
        .clone()
        .find(|&t| (0..2).any(|c| a.main[c][t] != b.main[c][t] || a.phones[c][t] != b.phones[c][t]))
}

/// The two renderings `a` (from time `a_from`) and `b` (from `b_from`) agree bit for bit over
/// the absolute times `range`.
fn assert_same(a: &Rendered, a_from: u64, b: &Rendered, b_from: u64, range: std::ops::Range<u64>) {
    for c in 0..2 {
        for (name, x, y) in [
            ("PA", &a.main[c], &b.main[c]),
            ("headphones", &a.phones[c], &b.phones[c]),
        ] {
            let x = &x[(range.start - a_from) as usize..(range.end - a_from) as usize];
            let y = &y[(range.start - b_from) as usize..(range.end - b_from) as usize];
            let first = (0..x.len()).find(|&i| x[i].to_bits() != y[i].to_bits());
            assert_eq!(
                first.map(|i| range.start + i as u64),
                None,
                "{name} ch{c} over {range:?}"
            );
        }
    }
}

#[test]
fn undo_after_clear_brings_back_every_loop_in_phase_at_any_block_size() {
    let clear_at = QUIET + 10_007;
    let undo_at = clear_at + 3 * L + 1_234;
    let end = undo_at + 4 * L;
    let reference = play(&performance(), end, &[512]);
    assert!(
        (reference.out.main[0][(undo_at as usize)..])
            .iter()
            .any(|s| s.abs() > 0.05),
        "the loops play"
    );
    for sizes in BLOCK_SIZES {
        let mut cleared = play(
            &performance_and(&[(clear_at, Command::Clear)]),
            undo_at,
            sizes,
        );
        let silent = &cleared.out.main[0][(clear_at as usize + BLEND)..];
        assert!(silent.iter().all(|&s| s == 0.0), "cleared, {sizes:?}");
        assert_eq!(cleared.engine.cycle(), None);
        assert_eq!(cleared.engine.status().track_count, 0);
        cleared.assert_mirrored("cleared");
        assert_eq!(
            cleared.engine.held_track_count(),
            2,
            "the loops are kept for undo"
        );

        let undone = cleared.until(end, &[(undo_at, Command::Undo)], sizes);
        // After undo's fade-in, the output of the performance never cleared.
        assert_same(
            &undone,
            undo_at,
            &reference.out,
            0,
            undo_at + BLEND as u64..end,
        );
        assert_eq!(
            cleared.engine.cycle(),
            reference.engine.cycle(),
            "{sizes:?}"
        );
        assert_eq!(cleared.records(), reference.records(), "{sizes:?}");
        cleared.assert_mirrored("clear undone");
        assert!(
            cleared.store.save() == reference.store.save(),
            "a project saved after clear and undo holds the performance ({sizes:?})"
        );
    }
}

#[test]
fn clear_redone_clears_again_and_a_second_undo_brings_the_loops_back_again() {
    let clear_at = QUIET + 5_000;
    let (undo_at, redo_at, undo_again_at) = (clear_at + L, clear_at + 2 * L, clear_at + 3 * L);
    let end = undo_again_at + 2 * L;
    let reference = play(&performance(), end, &[512]);
    let commands = performance_and(&[
        (clear_at, Command::Clear),
        (undo_at, Command::Undo),
        (redo_at, Command::Redo),
        (undo_again_at, Command::Undo),
    ]);
    let played = play(&commands, end, &[333]);
    let out = &played.out;
    let silent = |from: u64, to: u64| {
        (from as usize + BLEND..to as usize).all(|t| out.main[0][t] == 0.0 && out.main[1][t] == 0.0)
    };
    assert!(silent(clear_at, undo_at), "cleared");
    assert_same(out, 0, &reference.out, 0, undo_at + BLEND as u64..redo_at);
    assert!(silent(redo_at, undo_again_at), "cleared again by redo");
    assert_same(out, 0, &reference.out, 0, undo_again_at + BLEND as u64..end);
    played.assert_mirrored("undone twice");
}

/// For `action` sent once the performance plays: it changes what is heard; undo gives the
/// output of the performance without it, bit for bit, once undo's `ramp` is over; redo gives
/// the output of the performance with it never undone; the saved performance follows.
fn assert_undo_and_redo_are_exact(action: Command, ramp: u64) {
    let act_at = QUIET + 5_003;
    let undo_at = act_at + L + 777;
    let redo_at = undo_at + L + 333;
    let end = redo_at + 2 * L;
    let without = play(&performance(), end, &[512]);
    let with = play(&performance_and(&[(act_at, action)]), end, &[512]);
    assert!(
        first_difference(&with.out, &without.out, act_at as usize..undo_at as usize).is_some(),
        "{action:?} changes the output"
    );
    let sizes: &[usize] = &[64, 1, 4096, 77];
    let mut played = play(&performance_and(&[(act_at, action)]), undo_at, sizes);
    let undone = played.until(redo_at, &[(undo_at, Command::Undo)], sizes);
    let what = format!("{action:?} undone");
    assert_same(&undone, undo_at, &without.out, 0, undo_at + ramp..redo_at);
    assert_eq!(played.records(), without.records(), "{what}");
    assert_eq!(played.engine.cycle(), without.engine.cycle(), "{what}");
    played.assert_mirrored(&what);
    assert_eq!(played.engine.status().redo_count, 1, "{what}");

    let redone = played.until(end, &[(redo_at, Command::Redo)], sizes);
    let what = format!("{action:?} redone");
    assert_same(&redone, redo_at, &with.out, 0, redo_at + ramp..end);
    assert_eq!(played.records(), with.records(), "{what}");
    assert_eq!(played.engine.cycle(), with.engine.cycle(), "{what}");
    played.assert_mirrored(&what);
}

fn track(n: u32, control: TrackControl) -> Command {
    Command::Track(TrackTarget::Index(n), control)
}

#[test]
fn gain_pan_and_the_gain_pedals_are_undone_and_redone_exactly() {
    let blend = BLEND as u64;
    assert_undo_and_redo_are_exact(track(0, TrackControl::SetGain(2.0)), blend);
    assert_undo_and_redo_are_exact(track(1, TrackControl::SetPan(0.8)), blend);
    assert_undo_and_redo_are_exact(Command::LastTrackGainDown, blend);
}

#[test]
fn mute_and_solo_are_undone_and_redone_exactly() {
    let blend = BLEND as u64;
    assert_undo_and_redo_are_exact(track(0, TrackControl::ToggleMute), blend);
    assert_undo_and_redo_are_exact(track(1, TrackControl::SetMute(true)), blend);
    assert_undo_and_redo_are_exact(track(0, TrackControl::ToggleSolo), blend);
}

#[test]
fn reverse_effects_and_reset_are_undone_and_redone_exactly() {
    let blend = BLEND as u64;
    let fx = |control| track(1, TrackControl::Fx(control));
    assert_undo_and_redo_are_exact(fx(FxControl::SetReverse(false)), blend);
    assert_undo_and_redo_are_exact(track(0, TrackControl::Fx(FxControl::SetDrive(true))), blend);
    assert_undo_and_redo_are_exact(
        Command::Track(TrackTarget::Last, TrackControl::Reset),
        blend,
    );
}

#[test]
fn speed_changes_are_undone_and_redone_exactly() {
    let blend = BLEND as u64;
    assert_undo_and_redo_are_exact(track(0, TrackControl::HalveSpeed), blend);
    assert_undo_and_redo_are_exact(track(1, TrackControl::DoubleSpeed), blend);
}

#[test]
fn a_loop_restart_is_undone_and_redone_exactly() {
    // The long loop (reversed) and the anchor (forward).
    assert_undo_and_redo_are_exact(track(1, TrackControl::Restart), DECLICK);
    assert_undo_and_redo_are_exact(track(0, TrackControl::Restart), DECLICK);
}

#[test]
fn removing_a_loop_and_clearing_are_undone_and_redone_exactly() {
    let blend = BLEND as u64;
    assert_undo_and_redo_are_exact(track(0, TrackControl::Remove), blend);
    assert_undo_and_redo_are_exact(track(1, TrackControl::Remove), blend);
    assert_undo_and_redo_are_exact(Command::Clear, blend);
}

#[test]
fn a_loop_restart_plays_its_start_at_the_command_crossfaded_over_the_declick_fade() {
    let act_at = QUIET + 5_003;
    let end = act_at + 2 * L;
    let restarted = play(
        &performance_and(&[(act_at, track(0, TrackControl::Restart))]),
        end,
        &[333],
    );
    // The anchor alone (the long loop muted from the start): it plays its start at the press.
    let alone = play(
        &performance_and(&[
            (QUIET + 400, track(1, TrackControl::SetMute(true))),
            (act_at, track(0, TrackControl::Restart)),
        ]),
        end,
        &[333],
    );
    let anchor = alone.engine.playing_tracks().next().unwrap();
    assert_eq!(
        anchor.origin_samples, act_at,
        "index 0 plays at the command"
    );
    assert_eq!(anchor.index_at(act_at), 0);
    // From the crossfade's end on, the anchor's audio from its start, at half gain.
    for i in [DECLICK, DECLICK + 1, 1_000, L - 1, L, L + 5] {
        let expected = 0.5 * anchor.buffer.channel(0).sample((i % L) as usize);
        let got = alone.out.main[0][(act_at + i) as usize];
        assert!((got - expected).abs() <= 1e-6, "{i}: {got} vs {expected}");
    }
    // The crossfade steps no more than the loops do by themselves.
    let max_step = |out: &Rendered, range: std::ops::Range<u64>| {
        (range.start.max(1)..range.end)
            .map(|t| (out.main[0][t as usize] - out.main[0][t as usize - 1]).abs())
            .fold(0.0f32, f32::max)
    };
    let plain = play(&performance(), end, &[512]);
    let largest_plain = max_step(&plain.out, QUIET + 3_000..end);
    let crossfade = max_step(&restarted.out, act_at..act_at + DECLICK + 2);
    assert!(crossfade <= largest_plain, "{crossfade} > {largest_plain}");
}

#[test]
fn a_full_log_forgets_its_oldest_edit_and_frees_the_loop_it_kept_off_the_audio_thread() {
    let remove_at = QUIET + 5_000;
    let mut played = play(
        &performance_and(&[(remove_at, track(1, TrackControl::Remove))]),
        remove_at + 10_000,
        &[512],
    );
    // Two loops joined, three controls changed, one loop removed.
    assert_eq!(played.engine.undo_count(), 6);
    let kept_audio = {
        let track = (played.engine.shared.tracks.iter())
            .find(|t| t.id == 1)
            .expect("kept for undo");
        Arc::downgrade(&track.buffer.share())
    };
    assert_eq!(played.engine.held_track_count(), 2);
    // (The saved performance let go of it when it was removed.)
    played.assert_mirrored("removed");

    // Mute toggles (each an edit: switches are never merged) fill the log, then push the five
    // edits before the removal out: the loop stays.
    let toggle = track(0, TrackControl::ToggleMute);
    let from = played.engine.now_samples();
    let toggles = |n: usize, from: u64| -> Vec<(u64, Command)> {
        (0..n as u64).map(|i| (from + 10 * i, toggle)).collect()
    };
    let fill = UNDO_CAPACITY - 6 + 5;
    played.until(
        from + 10 * fill as u64 + 1_000,
        &toggles(fill, from),
        &[512],
    );
    assert_eq!(played.engine.undo_count(), UNDO_CAPACITY);
    assert_eq!(played.engine.held_track_count(), 2);
    assert!(kept_audio.upgrade().is_some(), "still kept");

    // One more: the removal is forgotten, the loop handed back and freed by the keeper.
    let at = played.engine.now_samples();
    played.until(at + 1_000, &[(at, toggle)], &[512]);
    assert_eq!(played.engine.undo_count(), UNDO_CAPACITY);
    assert_eq!(played.engine.held_track_count(), 1, "handed back");
    played.assert_mirrored("forgotten");
    assert!(kept_audio.upgrade().is_none(), "freed by the keeper");

    // Undoing everything the log holds never brings it back.
    let at = played.engine.now_samples();
    let undos: Vec<_> = (0..UNDO_CAPACITY as u64 + 3)
        .map(|i| (at + 10 * i, Command::Undo))
        .collect();
    played.until(at + 10 * (UNDO_CAPACITY as u64 + 3) + 1_000, &undos, &[512]);
    assert_eq!(played.engine.undo_count(), 0);
    assert_eq!(played.engine.playing_tracks().count(), 1, "only the anchor");
    assert_eq!(played.engine.status().redo_count, UNDO_CAPACITY);
}

#[test]
fn a_new_edit_ends_the_redo_history_and_frees_the_undone_loop() {
    let undo_at = QUIET + 5_000;
    let mut played = play(
        &performance_and(&[(undo_at, Command::Undo), (undo_at + 10, Command::Undo)]),
        undo_at + 10_000,
        &[512],
    );
    // The reverse and the pan are undone: two edits for redo.
    assert_eq!(played.engine.status().redo_count, 2);
    let at = played.engine.now_samples();
    played.until(
        at + 10_000,
        &[(at, track(0, TrackControl::ToggleMute))],
        &[512],
    );
    assert_eq!(played.engine.status().redo_count, 0);
    // Undo the mute, the gain, and the long loop's joining: then a take ends its redo.
    let at = played.engine.now_samples();
    let undos: Vec<_> = (0..3).map(|i| (at + 10 * i, Command::Undo)).collect();
    played.until(at + 10_000, &undos, &[512]);
    assert_eq!(played.engine.playing_tracks().count(), 1);
    assert_eq!(played.engine.status().redo_count, 3);
    assert_eq!(
        played.engine.held_track_count(),
        2,
        "the long loop is kept for redo"
    );
    // A take pressed half a cycle from the boundaries starts at once.
    let cycle = played.engine.cycle().unwrap();
    let at = cycle.boundary_after(played.engine.now_samples()) + L / 2;
    played.until(at + 10_000, &[(at, Command::RecordToggle)], &[512]);
    assert_eq!(played.engine.status().redo_count, 0);
    assert_eq!(played.engine.held_track_count(), 1, "handed back");
    played.assert_mirrored("redo ended");
}

#[test]
fn a_sweep_of_one_loops_gain_is_one_edit() {
    let at = QUIET + 5_000;
    let sweep: Vec<_> = (0..100u64)
        .map(|i| {
            (
                at + 100 * i,
                track(0, TrackControl::SetGain(0.5 + i as f32 / 100.0)),
            )
        })
        .collect();
    let mut played = play(&performance_and(&sweep), at + 20_000, &[512]);
    // The performance's five edits and the sweep.
    assert_eq!(played.engine.undo_count(), 6, "the sweep is one edit");
    let undo_at = played.engine.now_samples();
    played.until(undo_at + 5_000, &[(undo_at, Command::Undo)], &[512]);
    let anchor = played.engine.playing_tracks().next().unwrap();
    assert_eq!(anchor.gain.target(), 0.5, "back to before the sweep");
    assert_eq!(played.engine.undo_count(), 5);
}

#[test]
fn muting_a_loop_at_its_end_fires_at_its_own_wrap_not_the_anchors() {
    // Half a cycle after the long loop's wrap: the anchor's boundary comes first.
    let press = QUIET + L / 2 + 5_000;
    let end = press + 5 * L;
    let commands = performance_and(&[(press, track(1, TrackControl::ToggleMuteAtLoopEnd))]);
    let mut pressed = play(&commands, press + 100, &[64]);
    let (long_id, wrap) = {
        let long = pressed.engine.playing_tracks().nth(1).unwrap();
        assert_eq!(long.length_samples, 2 * L, "a loop two cycles long");
        let wrap = press + (long.length_samples - long.index_at(press));
        (long.id, wrap)
    };
    let anchor_boundary = pressed.engine.cycle().unwrap().boundary_after(press);
    assert!(anchor_boundary < wrap, "the anchor's end comes first");
    let status = pressed.engine.status();
    assert_eq!(status.pending_count, 1);
    let trigger = status.triggers[0].unwrap();
    assert_eq!(
        trigger.action,
        TriggerAction::ToggleLoopMute { track_id: long_id }
    );
    assert_eq!(trigger.at_samples, wrap, "shown, with the loop it acts on");
    let rest = pressed.until(end, &[], &[1, 64, 4096, 77]);

    // Exactly as a mute sent at the wrap; nothing changes before.
    let muted_at_wrap = play(
        &performance_and(&[(wrap, track(1, TrackControl::SetMute(true)))]),
        end,
        &[512],
    );
    let plain = play(&performance(), end, &[512]);
    assert_same(&rest, press + 100, &muted_at_wrap.out, 0, press + 100..end);
    assert_eq!(
        first_difference(&muted_at_wrap.out, &plain.out, press as usize..end as usize),
        Some(wrap as usize),
        "the mute starts at the wrap"
    );
    assert_eq!(pressed.engine.status().pending_count, 0);
    pressed.assert_mirrored("muted at its end");

    // Undoable like a mute now.
    let at = pressed.engine.now_samples();
    pressed.until(at + 10_000, &[(at, Command::Undo)], &[512]);
    assert!(!pressed.engine.playing_tracks().nth(1).unwrap().muted);

    // Sent again before the wrap: cancelled.
    let twice = performance_and(&[
        (press, track(1, TrackControl::ToggleMuteAtLoopEnd)),
        (press + 1_000, track(1, TrackControl::ToggleMuteAtLoopEnd)),
    ]);
    let cancelled = play(&twice, end, &[512]);
    assert_eq!(cancelled.engine.status().pending_count, 0);
    assert_same(&cancelled.out, 0, &plain.out, 0, press..end);
}
