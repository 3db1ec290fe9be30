//! The loop board: every playing loop listed (no 16-track limit) in mix order, the selected one
//! flagged, a pending mute on its loop with its countdown, the same board whatever the block
//! size, and a writer that publishes at most every 10 ms unless the loop list changes.

use super::{
    BLOCK_SIZES, RATE, anchor_and_captures, new_engine, run, run_with, set_ready, signal_until,
};
use crate::engine::board::{BOARD_INTERVAL_SECS, BoardWriter, LoopBoard, MAX_TILES};
use crate::engine::command::{Command, Select, TrackControl, TrackTarget, TriggerAction};
use crate::engine::{Engine, TrackPoolKeeper};

/// The anchor cycle, in samples (0.2 s).
const L: u64 = 9_600;
/// The anchor's start press.
const S0: u64 = 1_000;
/// Loops in the set: the anchor and 99 captures.
const LOOPS: usize = 100;
/// Captures in each cycle, all in its first half (see [`anchor_and_captures`]).
const CAPTURES_PER_CYCLE: u64 = 4;
/// Samples between two captures in a cycle (the keeper readies storage between).
const CAPTURE_SPACING: u64 = 1_000;

/// The anchor, then 99 captures of its cycle.
fn hundred_loops() -> Vec<(u64, Command)> {
    anchor_and_captures(S0, L, LOOPS, CAPTURES_PER_CYCLE, CAPTURE_SPACING)
}

/// When the last capture is done and playing, in samples.
const SET_READY: u64 = set_ready(S0, L, LOOPS, CAPTURES_PER_CYCLE);

/// An engine playing the hundred loops, then `commands`, until `until_samples`, in blocks of
/// `sizes`.
fn set_until(
    commands: &[(u64, Command)],
    until_samples: u64,
    sizes: &[usize],
) -> (Engine, TrackPoolKeeper) {
    let (mut engine, mut keeper) = new_engine();
    let mut all = hundred_loops();
    all.extend_from_slice(commands);
    all.sort_by_key(|&(at, _)| at);
    let input = signal_until(until_samples as usize, SET_READY);
    run(&mut engine, &mut keeper, &input, &all, sizes);
    (engine, keeper)
}

/// The board of `engine` now.
fn board_of(engine: &Engine) -> LoopBoard {
    let mut board = LoopBoard::with_capacity(MAX_TILES, RATE);
    engine.fill_board(&mut board);
    board
}

#[test]
fn a_hundred_loops_are_all_listed_in_mix_order_with_the_selected_one_flagged() {
    let select = Command::Select(Select::Loop(41));
    let (engine, _keeper) = set_until(&[(SET_READY, select)], SET_READY + 1_000, &[512]);
    let board = board_of(&engine);
    let ids: Vec<u64> = engine.playing_tracks().map(|track| track.id).collect();
    assert_eq!(ids.len(), LOOPS, "the set has a hundred loops");
    let listed: Vec<u64> = board.tiles().iter().map(|tile| tile.track.id).collect();
    assert_eq!(listed, ids, "every loop, in mix order");
    assert_eq!(board.hidden_count, 0);
    assert_eq!(board.loop_count(), LOOPS);
    let flagged: Vec<usize> = (board.tiles().iter().enumerate())
        .filter(|(_, tile)| tile.selected)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(flagged, [41], "the 42nd loop alone is selected");
    assert_eq!(board.selected_index(), Some(41));
    assert_eq!(engine.status().selected.map(|s| s.index), Some(41));
    for tile in board.tiles() {
        assert_eq!(tile.track.length_samples, L, "captures of one cycle");
        assert_eq!(tile.track.cycles, 1);
        assert!(tile.track.position_samples < L);
    }
}

#[test]
fn loops_past_the_capacity_are_counted_not_listed() {
    let (engine, _keeper) = set_until(&[], SET_READY, &[512]);
    let mut board = LoopBoard::with_capacity(16, RATE);
    engine.fill_board(&mut board);
    assert_eq!(board.tiles().len(), 16);
    assert_eq!(board.hidden_count, 84, "84 loops past the 16 tiles");
    assert_eq!(board.loop_count(), LOOPS);
}

#[test]
fn a_pending_mute_is_listed_on_its_loop_with_its_countdown() {
    let mute = Command::Track(TrackTarget::Index(5), TrackControl::ToggleMuteAtLoopEnd);
    let (engine, _keeper) = set_until(&[(SET_READY, mute)], SET_READY + 100, &[256]);
    let board = board_of(&engine);
    let target = board.tiles()[5].track;
    let pending = board.tiles()[5].pending.expect("the mute waits on loop 6");
    assert_eq!(
        pending.action,
        TriggerAction::ToggleLoopMute {
            track_id: target.id
        }
    );
    // At its loop's next wrap: the rest of its 9600 samples.
    assert_eq!(pending.in_samples, L - target.position_samples);
    assert!(pending.in_samples > 0 && pending.in_samples <= L);
    assert_eq!(pending.remaining, Some(1));
    let others = (board.tiles().iter().enumerate()).filter(|(n, t)| *n != 5 && t.pending.is_some());
    assert_eq!(others.count(), 0, "no other loop has a trigger");
}

#[test]
fn a_mute_pending_on_every_third_loop_shows_on_each_ones_own_tile() {
    let mut commands: Vec<(u64, Command)> = (0..LOOPS)
        .step_by(3)
        .map(|n| {
            let mute = TrackControl::ToggleMuteAtLoopEnd;
            (
                SET_READY + n as u64,
                Command::Track(TrackTarget::Index(n as u32), mute),
            )
        })
        .collect();
    commands.sort_by_key(|&(at, _)| at);
    let (engine, _keeper) = set_until(&commands, SET_READY + 200, &[64]);
    // Realtime: with triggers to place, a fill allocates nothing, in a board the triple buffer
    // cloned (two of its three are clones) as in the first.
    let mut board = LoopBoard::with_capacity(MAX_TILES, RATE).clone();
    nice_assert_no_alloc::assert_no_alloc(|| engine.fill_board(&mut board));
    for (n, tile) in board.tiles().iter().enumerate() {
        match tile.pending {
            Some(pending) => {
                assert_eq!(n % 3, 0, "loop {} has no trigger", n + 1);
                assert_eq!(
                    pending.action,
                    TriggerAction::ToggleLoopMute {
                        track_id: tile.track.id
                    },
                    "loop {}: its own mute",
                    n + 1
                );
            }
            None => assert_ne!(n % 3, 0, "loop {}'s mute is missing", n + 1),
        }
    }
}

#[test]
fn the_board_does_not_depend_on_the_block_size() {
    let commands = [
        (SET_READY, Command::Select(Select::Loop(7))),
        (
            SET_READY + 300,
            Command::Track(TrackTarget::Index(3), TrackControl::ToggleMuteAtLoopEnd),
        ),
        (
            SET_READY + 500,
            Command::Track(TrackTarget::Index(9), TrackControl::HalveSpeed),
        ),
    ];
    let until = SET_READY + 5_000;
    let boards: Vec<LoopBoard> = BLOCK_SIZES
        .iter()
        .map(|sizes| board_of(&set_until(&commands, until, sizes).0))
        .collect();
    assert_eq!(boards[0].now_samples, until);
    assert_eq!(boards[0].tiles().len(), LOOPS);
    assert!(boards[0].tiles()[3].pending.is_some());
    for (board, sizes) in boards.iter().zip(BLOCK_SIZES).skip(1) {
        assert!(board == &boards[0], "blocks of {sizes:?}: another board");
    }
}

#[test]
fn the_writer_publishes_every_10_ms_and_at_once_when_a_loop_comes() {
    let (mut engine, mut keeper) = new_engine();
    let (mut writer, mut output) = BoardWriter::new(MAX_TILES, RATE);
    let interval_samples = (BOARD_INTERVAL_SECS * f64::from(RATE)) as u64;
    assert_eq!(interval_samples, 480);
    let mut writes = Vec::new();
    let mut update = |engine: &mut Engine| {
        let wrote = nice_assert_no_alloc::assert_no_alloc(|| writer.update(engine));
        if wrote {
            writes.push(engine.now_samples());
        }
    };
    let anchor = [(S0, Command::RecordToggle), (S0 + L, Command::RecordToggle)];
    // Blocks of 64 samples (1.3 ms) up to just past the anchor's end.
    let until = S0 + L + 1_000;
    let input = signal_until(until as usize, until);
    run_with(
        &mut engine,
        &mut keeper,
        &input,
        &anchor,
        &[64],
        &mut update,
    );
    // Every 8 blocks (512 samples, the first past 480) while nothing changes...
    let anchor_done = S0 + L;
    let before: Vec<u64> = writes
        .iter()
        .copied()
        .take_while(|&at| at <= anchor_done)
        .collect();
    let every_512: Vec<u64> = (0..=anchor_done).step_by(512).collect();
    assert_eq!(before, every_512);
    // ...and at the first block after the anchor came, whatever the 10 ms.
    let first_after = writes.iter().find(|&&at| at > anchor_done).copied();
    assert_eq!(first_after, Some(anchor_done.next_multiple_of(64)));
    let board = output.read();
    assert_eq!(board.tiles().len(), 1, "the anchor");
    assert!(board.tiles()[0].selected);
}
