//! A short set played from the editor alone: a real engine behind the editor, run as the plugin
//! runs them (the editor's commands go in at the next block; the engine's status comes back
//! after each block), with every step checked in what the editor shows and what the PA plays.

use egui_kittest::kittest::Queryable;

use super::editor_harness;
use super::rig::Stage;
use crate::engine::EngineSettings;
use crate::engine::command::Command;
use crate::engine::quantize::QuantizeMode;
use crate::engine::tests::{BLEND, RATE, engine_at, expected_loop};

#[test]
fn a_set_played_from_the_editor_alone() {
    let settings = EngineSettings {
        quantize_mode: QuantizeMode::Off,
        ..EngineSettings::default()
    };
    let (engine, keeper) = engine_at(RATE, 20.0, settings);
    let (mut app, mut stage) = Stage::new(engine, keeper);
    let mut harness = editor_harness(&mut app);
    harness.get_by_label_contains("READY");
    harness.get_by_label("Loops: 0");
    // The cycle and track counts in words, folded by default.
    harness.get_by_label("Details").click();
    harness.run();

    // The anchor: press, play two seconds, press.
    stage.play(&mut harness, 0.5, true);
    stage.click(&mut harness, "Record (47)");
    let start = stage.pressed(Command::RecordToggle);
    harness.get_by_label_contains("RECORDING");
    stage.play(&mut harness, 2.0, true);
    stage.click(&mut harness, "Record (47)");
    // The editor's presses act at the block after the click: 2.05 s apart.
    let cycle = stage.pressed(Command::RecordToggle) - start;
    assert_eq!(cycle, 98_400);
    stage.play(&mut harness, 0.1, true);
    harness.get_by_label(&format!(
        "Cycle: {:.3} s ({cycle} samples)",
        cycle as f64 / f64::from(RATE)
    ));
    harness.get_by_label("Loop 1: 1 cyc, selected");
    harness.get_by_label("PLAYING");

    // A capture of the cycle just played, then an overdub of a whole cycle.
    stage.play(&mut harness, 2.1, true);
    stage.click(&mut harness, "Capture (48)");
    stage.play(&mut harness, 0.2, true);
    harness.get_by_label("Loop 2: 1 cyc, selected");
    stage.click(&mut harness, "Record (47)");
    stage.play(&mut harness, 1.5, true);
    stage.click(&mut harness, "Record (47)");
    stage.play(&mut harness, 2.2, false);
    harness.get_by_label("Loop 3: 1 cyc, selected");
    harness.get_by_label("Tracks: 3   (redo: 0)");

    // Undo and redo the overdub.
    stage.click(&mut harness, "Undo (27)");
    harness.get_by_label("Tracks: 2   (redo: 1)");
    assert!(harness.query_by_label_contains("Loop 3:").is_none());
    harness.get_by_label("Loop 2: 1 cyc, selected");
    stage.click(&mut harness, "Redo (28)");
    harness.get_by_label("Tracks: 3   (redo: 0)");

    // Mute two loops, each selected by its tile: the anchor alone repeats, sample for sample.
    stage.click_tile(&mut harness, 2);
    harness.get_by_label("Loop 2: 1 cyc, selected");
    stage.click(&mut harness, "Mute/unmute selected (68)");
    stage.click_tile(&mut harness, 3);
    stage.click(&mut harness, "Mute/unmute selected (68)");
    harness.get_by_label("Loop 2: 1 cyc, muted");
    harness.get_by_label("Loop 3: 1 cyc, selected, muted");
    stage.play(&mut harness, 0.5, false);
    let status = stage.engine.status();
    let muted: Vec<bool> = status.tracks.iter().flatten().map(|t| t.muted).collect();
    assert_eq!(muted, [false, true, true]);
    stage.play(&mut harness, 4.2, false);
    let anchor = expected_loop(0, start, start + cycle, BLEND);
    let end = stage.pa.len() as u64;
    let worst = (end - 2 * cycle..end)
        .map(|t| (stage.pa[t as usize] - anchor[((t - start) % cycle) as usize]).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-5,
        "the PA plays the anchor alone, in phase: {worst}"
    );

    // Overdub the selected loop (the third, muted) from its panel: a layer, shown on its tile.
    stage.click(&mut harness, "Overdub (76)");
    stage.play(&mut harness, 0.3, true);
    harness.get_by_label("Overdubbing");
    stage.play(&mut harness, 1.0, true);
    stage.click(&mut harness, "Overdub (76)");
    stage.play(&mut harness, 1.0, true);
    harness.get_by_label("Layers 1");
    harness.get_by_label("Loop 3: 1 cyc, selected, muted, +1");

    // Mute the loops at once, then clear.
    stage.click(&mut harness, "Mute mix (35)");
    stage.play(&mut harness, 0.2, false);
    harness.get_by_label("LOOPS MUTED");
    let tail = &stage.pa[stage.pa.len() - 4800..];
    assert!(tail.iter().all(|x| x.abs() < 1e-6), "the PA is silent");
    // Clearing every loop is kept out of the way, with the rarer commands.
    harness.get_by_label("More commands").click();
    harness.run();
    stage.click(&mut harness, "Clear (26)");
    harness.get_by_label("Tracks: 0   (redo: 0)");
    harness.get_by_label_contains("READY");
    harness.get_by_label("Loops: 0");
}
