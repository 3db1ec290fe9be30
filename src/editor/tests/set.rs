//! A short set played from the editor alone: a real engine behind the editor, run as the plugin
//! runs them (the editor's commands go in at the next block; the engine's status comes back
//! after each block), with every step checked in what the editor shows and what the PA plays.

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use super::{editor_harness, live_editor};
use crate::engine::command::Command;
use crate::engine::pool::TrackPoolKeeper;
use crate::engine::quantize::QuantizeMode;
use crate::engine::tests::{BLEND, RATE, engine_at, expected_loop, run, test_signal};
use crate::engine::{Engine, EngineSettings, EngineStatus, LoopBoard};

/// Host block size in samples (10 ms).
const BLOCK: usize = 480;
/// Blocks between two editor frames (a 50 Hz display).
const BLOCKS_PER_FRAME: usize = 2;

/// The audio side: the engine, the ends of the editor's links, and what the PA played.
struct Stage {
    engine: Engine,
    keeper: TrackPoolKeeper,
    status: triple_buffer::Input<EngineStatus>,
    /// The loop board, rewritten in place after each block as the plugin's writer does.
    board: triple_buffer::Input<LoopBoard>,
    commands: rtrb::Consumer<Command>,
    /// The PA's left channel from the first sample on.
    pa: Vec<f32>,
    /// When the editor's commands reached the engine, in samples.
    presses: Vec<(u64, Command)>,
}

impl Stage {
    /// Plays `secs` with the player playing (`playing`) or silent, drawing the editor at the
    /// display rate.
    fn play(&mut self, harness: &mut Harness<'_>, secs: f64, playing: bool) {
        let blocks = (secs * f64::from(RATE) / BLOCK as f64).round() as usize;
        for block in 0..blocks {
            let start = self.engine.now_samples();
            let mut commands = Vec::new();
            while let Ok(command) = self.commands.pop() {
                commands.push((start, command));
            }
            self.presses.extend(&commands);
            let input = [0, 1].map(|channel| {
                (start..start + BLOCK as u64)
                    .map(|t| {
                        if playing {
                            test_signal(channel, t)
                        } else {
                            0.0
                        }
                    })
                    .collect()
            });
            let out = run(
                &mut self.engine,
                &mut self.keeper,
                &input,
                &commands,
                &[BLOCK],
            );
            self.pa.extend(&out.main[0]);
            self.status.write(self.engine.status());
            self.engine.fill_board(self.board.input_buffer_mut());
            self.board.publish();
            if block % BLOCKS_PER_FRAME == 0 {
                harness.run();
            }
        }
        harness.run();
    }

    /// Scrolls to the button `label` (as a player would, when the tiles run past the window),
    /// clicks it and lets the engine take the command.
    fn click(&mut self, harness: &mut Harness<'_>, label: &str) {
        harness.get_by_label(label).scroll_to_me();
        harness.run();
        harness.get_by_label(label).click();
        harness.run();
        self.play(harness, 0.05, true);
    }

    /// Clicks the tile of loop `n` (1 for the anchor), selecting it, and lets the engine take it.
    fn click_tile(&mut self, harness: &mut Harness<'_>, n: usize) {
        let label = format!("Loop {n}:");
        harness.get_by_label_contains(&label).scroll_to_me();
        harness.run();
        harness.get_by_label_contains(&label).click();
        harness.run();
        self.play(harness, 0.05, true);
    }

    /// When the last `command` reached the engine.
    fn pressed(&self, command: Command) -> u64 {
        let press = self.presses.iter().rev().find(|(_, c)| *c == command);
        press.expect("the press reached the engine").0
    }
}

#[test]
fn a_set_played_from_the_editor_alone() {
    let settings = EngineSettings {
        quantize_mode: QuantizeMode::Off,
        ..EngineSettings::default()
    };
    let (engine, keeper) = engine_at(RATE, 20.0, settings);
    let live = live_editor(engine.status(), Arc::default());
    let mut app = live.app;
    let mut stage = Stage {
        engine,
        keeper,
        status: live.status,
        board: live.board,
        commands: live.commands,
        pa: Vec::new(),
        presses: Vec::new(),
    };
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
