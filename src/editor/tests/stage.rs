//! The whole editor from a recorded engine run of a hundred loops: a real engine (the anchor and
//! 99 captures pressed as a pedal would) behind the editor at its default size, each check made
//! in what the editor draws and in the engine's own state.

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

use super::rig::{BLOCK, BLOCKS_PER_FRAME, Stage};
use super::{editor_harness, scroll_down_to_tile, tiles_drawn};
use crate::editor::state_badge::StageState;
use crate::engine::EngineSettings;
use crate::engine::command::{Command, TrackControl, selected};
use crate::engine::quantize::QuantizeMode;
use crate::engine::tests::{RATE, anchor_and_captures, engine_at, set_ready};

/// The anchor cycle, in samples (1 s).
const CYCLE: u64 = 48_000;
/// Loops in the set.
const LOOPS: usize = 100;
/// Captures in each cycle, and samples between two.
const CAPTURES_PER_CYCLE: u64 = 20;
const CAPTURE_SPACING: u64 = 1_000;
/// The anchor's start press, in samples.
const START: u64 = 1_000;

/// A frame of the display, in seconds.
const FRAME_SECS: f64 = (BLOCKS_PER_FRAME * BLOCK) as f64 / RATE as f64;

/// The words of the tile of loop `n` (1 for the anchor).
fn tile(harness: &Harness<'_>, n: usize) -> String {
    let label = format!("Loop {n}:");
    let node = harness.get_by_label_contains(&label);
    node.accesskit_node().label().unwrap_or_default().to_owned()
}

/// The countdown a tile's words show, in seconds ("mute in 0.4 s": 0.4).
fn countdown_secs(words: &str) -> Option<f64> {
    let (_, after) = words.split_once("mute in ")?;
    after.strip_suffix(" s")?.parse().ok()
}

#[test]
fn a_hundred_loops_from_a_real_engine_in_the_whole_editor() {
    let settings = EngineSettings {
        quantize_mode: QuantizeMode::Off,
        ..EngineSettings::default()
    };
    let (engine, keeper) = engine_at(RATE, 20.0, settings);
    let (mut app, mut stage) = Stage::new(engine, keeper);
    let set = anchor_and_captures(START, CYCLE, LOOPS, CAPTURES_PER_CYCLE, CAPTURE_SPACING);
    for (at, command) in set {
        stage.pedal(at, command);
    }
    let ready = set_ready(START, CYCLE, LOOPS, CAPTURES_PER_CYCLE);
    // The set is recorded with the window hidden; then the editor draws it.
    stage.play_unseen(ready as f64 / f64::from(RATE), true);
    let mut harness = editor_harness(&mut app);
    harness.run();
    assert_eq!(stage.engine.playing_tracks().count(), LOOPS);
    assert_eq!(stage.engine.status().message, None, "no capture refused");
    harness.get_by_label("Loops: 100");
    harness.get_by_label("Loop 1: 1 cyc");
    assert_eq!(
        stage.engine.status().selected.map(|s| s.index),
        Some(99),
        "the newest loop selected itself"
    );
    let first = tiles_drawn(&harness);
    assert!(
        first.contains(&1) && first.len() < LOOPS,
        "the rows in view only: {first:?}"
    );

    // A click on loop 57's tile (scrolled to) selects it, in the engine too.
    let seen = scroll_down_to_tile(&mut harness, 57);
    assert!(seen.contains(&57));
    stage.click_tile(&mut harness, 57);
    assert_eq!(stage.engine.status().selected.map(|s| s.index), Some(56));
    harness.get_by_label("Loop 57: 1 cyc, selected");

    // The pedal's mute at the selected loop's end, pressed as a cycle starts (the loops are
    // captures of the cycle, in phase with it): the countdown on loop 57's tile alone, the
    // engine's own time to it (within a frame), down to the mute a second later.
    let cycles_done = (stage.engine.now_samples() - START) / CYCLE;
    let press = START + (cycles_done + 1) * CYCLE + 100;
    stage.pedal(press, selected(TrackControl::ToggleMuteAtLoopEnd));
    let until_press = (press - stage.engine.now_samples()) as f64 / f64::from(RATE);
    stage.play(&mut harness, until_press + 0.02, true);
    let trigger = stage.engine.status().triggers[0].expect("the mute waits");
    let mut countdowns = Vec::new();
    let frame_samples = (BLOCK * BLOCKS_PER_FRAME) as u64;
    while stage.engine.now_samples() + 2 * frame_samples < trigger.at_samples {
        let words = tile(&harness, 57);
        let shown = countdown_secs(&words).unwrap_or_else(|| panic!("a countdown: {words}"));
        let real = (trigger.at_samples - stage.engine.now_samples()) as f64 / f64::from(RATE);
        assert!(
            (shown - real).abs() <= 0.05 + FRAME_SECS,
            "shown {shown} s, due in {real} s"
        );
        assert_eq!(
            harness.query_all_by_label_contains("mute in").count(),
            1,
            "on loop 57's tile alone: {words}"
        );
        harness.get_by_label(&format!(
            "Mute/unmute loop 57 in {shown:.1} s - click to cancel"
        ));
        countdowns.push(shown);
        stage.play(&mut harness, FRAME_SECS, true);
    }
    assert!(countdowns.len() > 40, "a frame at a time: {countdowns:?}");
    assert!(countdowns[0] > 0.8, "{countdowns:?}");
    assert!(
        countdowns.windows(2).all(|pair| pair[1] <= pair[0]),
        "counting down: {countdowns:?}"
    );
    stage.play(&mut harness, 0.1, true);
    harness.get_by_label("Loop 57: 1 cyc, selected, muted");
    assert!(harness.query_by_label_contains("mute in").is_none());

    // The last tile is reachable, and a click selects it; the first row is no longer drawn.
    let seen = scroll_down_to_tile(&mut harness, LOOPS);
    assert!(seen.contains(&LOOPS));
    stage.click_tile(&mut harness, LOOPS);
    assert_eq!(stage.engine.status().selected.map(|s| s.index), Some(99));
    harness.get_by_label("Loop 100: 1 cyc, selected");
    let drawn = tiles_drawn(&harness);
    assert!(
        !drawn.contains(&1) && drawn.len() < LOOPS,
        "the rows in view only: {drawn:?}"
    );

    // The badge follows the recorder: red while the take records, back to playing once it
    // stops (at the cycle's end).
    let press = stage.engine.now_samples() + 100;
    stage.pedal(press, Command::RecordToggle);
    stage.play(&mut harness, 0.1, true);
    harness.get_by_label_contains("RECORDING");
    let state = StageState::of(&stage.engine.status());
    assert!(matches!(state, StageState::Recording { .. }), "{state:?}");
    let red = state.colour();
    assert!(
        red.r() > 200 && red.g() < 80 && red.b() < 80,
        "red: {red:?}"
    );
    stage.play(&mut harness, 0.5, true);
    let press = stage.engine.now_samples() + 100;
    stage.pedal(press, Command::RecordToggle);
    stage.play(&mut harness, 1.1, true);
    harness.get_by_label("PLAYING");
    assert!(harness.query_by_label_contains("RECORDING").is_none());
    let state = StageState::of(&stage.engine.status());
    assert_eq!(state, StageState::Playing { muted: false });
    assert_ne!(state.colour(), red);
    harness.get_by_label("Loops: 101");
}
