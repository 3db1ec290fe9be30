//! The selected loop: new loops select themselves, the player moves the selection by foot, a
//! loop leaving the mix hands the selection to the newest, the per-loop commands act on the
//! selected loop at their sample, and selecting never changes what anyone hears.

use super::{BLOCK_SIZES, Rendered, new_engine, run, run_on_in_silence, signal_until};
use crate::engine::command::{Command, Select, TrackControl, TrackTarget};
use crate::engine::fx::chain::FxControl;
use crate::engine::{Engine, TrackPoolKeeper};

/// The anchor cycle, in samples (0.5 s).
const L: u64 = 24_000;
/// The anchor's start press.
const S0: u64 = 1_000;
/// Samples the input plays: three cycles of takes, then silence (the loops are heard alone).
const PLAYED: u64 = S0 + 5 * L;

/// Three loops of different audio: the anchor `[S0, S0 + L)` and whole-cycle takes of the
/// cycles two and four after it.
fn three_loops() -> Vec<(u64, Command)> {
    [S0, S0 + L, S0 + 2 * L, S0 + 3 * L, S0 + 4 * L, S0 + 5 * L]
        .map(|at| (at, Command::RecordToggle))
        .to_vec()
}

/// Runs the three loops and then `commands` for `frames` samples in blocks of `sizes`.
fn render(
    commands: &[(u64, Command)],
    frames: u64,
    sizes: &[usize],
) -> (Rendered, Engine, TrackPoolKeeper) {
    let (mut engine, mut keeper) = new_engine();
    let mut all = three_loops();
    all.extend_from_slice(commands);
    all.sort_by_key(|&(at, _)| at);
    let input = signal_until(frames as usize, PLAYED);
    let out = run(&mut engine, &mut keeper, &input, &all, sizes);
    (out, engine, keeper)
}

/// The selected loop's place in the mix (0: the anchor).
fn selected(engine: &Engine) -> Option<usize> {
    engine.status().selected.map(|selected| selected.index)
}

/// Runs `commands` (all 10 samples from now) over `frames` more samples of silence.
fn go(engine: &mut Engine, keeper: &mut TrackPoolKeeper, frames: u64, commands: &[Command]) {
    let at = engine.now_samples() + 10;
    let timed: Vec<(u64, Command)> = commands.iter().map(|&command| (at, command)).collect();
    let until = engine.now_samples() + frames;
    run_on_in_silence(engine, keeper, until, &timed, &[256]);
}

#[test]
fn a_new_loop_selects_itself_and_the_foot_moves_the_selection_around_the_mix() {
    let (mut engine, mut keeper) = new_engine();
    assert_eq!(selected(&engine), None, "nothing to select");
    let input = signal_until((S0 + 2 * L) as usize, PLAYED);
    run(
        &mut engine,
        &mut keeper,
        &input,
        &three_loops()[..2],
        &[512],
    );
    assert_eq!(selected(&engine), Some(0), "the anchor selects itself");
    let input = signal_until((4 * L) as usize, 4 * L);
    let takes = [
        (S0 + 2 * L, Command::RecordToggle),
        (S0 + 3 * L, Command::RecordToggle),
        (S0 + 4 * L, Command::RecordToggle),
        (S0 + 5 * L, Command::RecordToggle),
    ];
    run(&mut engine, &mut keeper, &input, &takes, &[512]);
    assert_eq!(engine.status().track_count, 3);
    assert_eq!(
        selected(&engine),
        Some(2),
        "the newest take selected itself"
    );

    // Next and previous wrap around: one switch reaches every loop.
    let steps = [
        (Select::Next, 0),
        (Select::Next, 1),
        (Select::Previous, 0),
        (Select::Previous, 2),
        (Select::Loop(1), 1),
        (Select::Loop(7), 1),
        (Select::Newest, 2),
        (Select::Loop(0), 0),
    ];
    for (select, expected) in steps {
        go(&mut engine, &mut keeper, 300, &[Command::Select(select)]);
        assert_eq!(selected(&engine), Some(expected), "after {select:?}");
    }
    let status = engine.status();
    let shown = status.selected.expect("a selection");
    assert_eq!(Some(shown.track), status.tracks[0], "the anchor's controls");
    assert_eq!(
        shown.fx,
        engine.playing_tracks().next().unwrap().fx.settings()
    );
}

#[test]
fn a_selected_loop_leaving_the_mix_hands_the_selection_to_the_newest() {
    let (_, mut engine, mut keeper) = render(&[], PLAYED + 100, &[512]);
    let (engine, keeper) = (&mut engine, &mut keeper);
    let ids: Vec<u64> = engine.playing_tracks().map(|track| track.id).collect();
    let selected_id = |engine: &Engine| engine.status().selected.map(|s| s.track.id);

    // Undo takes the newest (selected) loop out: the one before it is now the newest.
    go(engine, keeper, 300, &[Command::Undo]);
    assert_eq!(selected_id(engine), Some(ids[1]));
    // Redo brings it back, and it selects itself again.
    go(engine, keeper, 300, &[Command::Select(Select::Loop(0))]);
    go(engine, keeper, 300, &[Command::Redo]);
    assert_eq!(selected_id(engine), Some(ids[2]));

    // Removing the selected loop in the middle: the newest is selected, not its neighbour.
    go(engine, keeper, 300, &[Command::Select(Select::Loop(1))]);
    let remove = Command::Track(TrackTarget::Selected, TrackControl::Remove);
    go(engine, keeper, 300, &[remove]);
    assert_eq!(selected_id(engine), Some(ids[2]));
    assert_eq!(selected(engine), Some(1), "two loops are left");

    // An unselected loop leaving keeps the selection where it is.
    go(engine, keeper, 300, &[Command::Select(Select::Loop(0))]);
    go(engine, keeper, 300, &[Command::Undo]);
    assert_eq!(selected_id(engine), Some(ids[0]));

    // Clear: nothing is selected; the next loop selects itself.
    go(engine, keeper, 300, &[Command::Clear]);
    assert_eq!(selected(engine), None);
    let at = engine.now_samples();
    let take = [
        (at + 100, Command::RecordToggle),
        (at + 100 + L, Command::RecordToggle),
    ];
    let input = signal_until((2 * L) as usize, 2 * L);
    run(engine, keeper, &input, &take, &[512]);
    assert_eq!(engine.status().track_count, 1);
    assert_eq!(selected(engine), Some(0));
}

#[test]
fn the_selected_loop_commands_act_on_the_selected_loop_at_their_sample() {
    // Loop 1 (the anchor) selected by number, loop 2 by previous from the newest; each gets the
    // "last track" commands and a selected-loop control at odd samples. The output is exactly
    // that of the same controls sent to those loops by index, at every block size.
    let (a, b, c) = (PLAYED + 1_234, PLAYED + 5_555, PLAYED + 9_999);
    let delay_on = TrackControl::Fx(FxControl::SetDelay(true));
    let by_selection = [
        (a - 100, Command::Select(Select::Loop(0))),
        (a, Command::LastTrackGainDown),
        (a + 7, Command::ToggleLastTrackDelay),
        (b - 1, Command::Select(Select::Newest)),
        (b - 1, Command::Select(Select::Previous)),
        (b, Command::LastTrackGainUp),
        (
            b + 1,
            Command::Track(TrackTarget::Selected, TrackControl::SetPan(-0.5)),
        ),
        (c, Command::ResetLastTrack),
    ];
    let by_index = [
        (
            a,
            Command::Track(TrackTarget::Index(0), TrackControl::ScaleGain(0.8)),
        ),
        (a + 7, Command::Track(TrackTarget::Index(0), delay_on)),
        (
            b,
            Command::Track(TrackTarget::Index(1), TrackControl::ScaleGain(1.2)),
        ),
        (
            b + 1,
            Command::Track(TrackTarget::Index(1), TrackControl::SetPan(-0.5)),
        ),
        (
            c,
            Command::Track(TrackTarget::Index(1), TrackControl::Reset),
        ),
    ];
    let frames = PLAYED + 3 * L;
    let (expected, ..) = render(&by_index, frames, &[512]);
    let (untouched, ..) = render(&[], frames, &[512]);
    for c in 0..2 {
        let first_change =
            (0..frames as usize).find(|&t| expected.main[c][t] != untouched.main[c][t]);
        assert_eq!(
            first_change,
            Some(a as usize),
            "ch{c}: the gain moves at its sample"
        );
    }
    for sizes in BLOCK_SIZES {
        let (got, engine, _) = render(&by_selection, frames, sizes);
        for c in 0..2 {
            let first_difference =
                (0..frames as usize).find(|&t| got.main[c][t] != expected.main[c][t]);
            assert_eq!(first_difference, None, "ch{c}, block sizes {sizes:?}");
        }
        assert_eq!(selected(&engine), Some(1));
    }
}

#[test]
fn changing_the_selection_never_changes_the_sound() {
    // Every kind of selection, at odd samples, during takes, between and on the loops'
    // boundaries, at the samples other commands act: the output is bit for bit the same.
    let frames = PLAYED + 2 * L;
    let mut selections = Vec::new();
    for (n, at) in (S0 - 500..frames).step_by(7_919).enumerate() {
        let select = match n % 5 {
            0 => Select::Next,
            1 => Select::Previous,
            2 => Select::Newest,
            3 => Select::Loop(n as u32 % 4),
            _ => Select::Loop(1),
        };
        selections.push((at, Command::Select(select)));
    }
    selections.extend(
        three_loops()
            .iter()
            .map(|&(at, _)| (at, Command::Select(Select::Next))),
    );
    let (plain, ..) = render(&[], frames, &[512]);
    for sizes in [&[512][..], &[1, 7, 64, 511, 512, 4096, 13]] {
        let (selecting, ..) = render(&selections, frames, sizes);
        for c in 0..2 {
            assert!(selecting.main[c] == plain.main[c], "main ch{c}, {sizes:?}");
            assert!(
                selecting.phones[c] == plain.phones[c],
                "phones ch{c}, {sizes:?}"
            );
        }
    }
}

#[test]
fn the_selected_loop_actions_act_on_the_selected_loop_at_their_sample() {
    // Loop 2 selected by number gets every selected-loop action of the map, at odd samples:
    // the output is exactly that of the same controls sent to loop 2 by index, at every block
    // size (mute at loop end fires at loop 2's own wrap either way).
    let actions: Vec<TrackControl> = (Command::ALL.into_iter())
        .filter_map(|command| match command {
            Command::Track(TrackTarget::Selected, control) => Some(control),
            _ => None,
        })
        .collect();
    assert_eq!(actions.len(), 8);
    assert_eq!(
        actions.last(),
        Some(&TrackControl::Remove),
        "clear goes last"
    );
    let first = PLAYED + 1_234;
    let at = |n: usize| first + n as u64 * 3_001;
    let mut by_selection = vec![(first - 100, Command::Select(Select::Loop(1)))];
    let mut by_index = Vec::new();
    for (n, &control) in actions.iter().enumerate() {
        by_selection.push((at(n), Command::Track(TrackTarget::Selected, control)));
        by_index.push((at(n), Command::Track(TrackTarget::Index(1), control)));
    }
    let frames = at(actions.len()) + 2 * L;
    let (expected, engine, _) = render(&by_index, frames, &[512]);
    assert_eq!(engine.status().track_count, 2, "loop 2 was cleared");
    let (untouched, ..) = render(&[], frames, &[512]);
    for c in 0..2 {
        let first_change =
            (0..frames as usize).find(|&t| expected.main[c][t] != untouched.main[c][t]);
        assert_eq!(
            first_change,
            Some(first as usize),
            "ch{c}: the mute acts at its sample"
        );
    }
    for sizes in BLOCK_SIZES {
        let (got, ..) = render(&by_selection, frames, sizes);
        for c in 0..2 {
            let first_difference =
                (0..frames as usize).find(|&t| got.main[c][t] != expected.main[c][t]);
            assert_eq!(first_difference, None, "ch{c}, block sizes {sizes:?}");
        }
    }
}

#[test]
fn reverse_toggles_and_undoes_like_set_reverse() {
    // The reverse action turns the loop backwards, again forwards: bit for bit the output of
    // the reverse switch set on and off at the same samples; undo takes the last back.
    let (a, b) = (PLAYED + 1_000, PLAYED + 9_000);
    let frames = PLAYED + 2 * L;
    let on_track = |control| Command::Track(TrackTarget::Index(0), control);
    let toggled = [
        (a, on_track(TrackControl::ToggleReverse)),
        (b, on_track(TrackControl::ToggleReverse)),
        (b + 2_000, Command::Undo),
    ];
    let set = [
        (a, on_track(TrackControl::Fx(FxControl::SetReverse(true)))),
        (b, on_track(TrackControl::Fx(FxControl::SetReverse(false)))),
        (b + 2_000, Command::Undo),
    ];
    let (expected, engine, _) = render(&set, frames, &[512]);
    assert!(
        engine.status().tracks[0].unwrap().reversed,
        "undone: backwards"
    );
    let (untouched, ..) = render(&[], frames, &[512]);
    assert_ne!(
        expected.main[0][a as usize + 100],
        untouched.main[0][a as usize + 100]
    );
    let (got, ..) = render(&toggled, frames, &[512]);
    for c in 0..2 {
        assert!(got.main[c] == expected.main[c], "ch{c}");
    }
}
