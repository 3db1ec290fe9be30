//! A real engine behind the whole editor, run as the plugin runs them: the editor's commands go
//! in at the next block, a pedal's at their sample; the engine's status and loop board come
//! back after each block; the editor draws at the display rate.

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use super::{LoopmateApp, live_editor};
use crate::engine::command::Command;
use crate::engine::pool::TrackPoolKeeper;
use crate::engine::tests::{RATE, run, test_signal};
use crate::engine::{Engine, EngineStatus, LoopBoard};

/// Host block size in samples (10 ms).
pub const BLOCK: usize = 480;
/// Blocks between two editor frames (a 50 Hz display).
pub const BLOCKS_PER_FRAME: usize = 2;

/// The audio side: the engine, the ends of the editor's links, and what the PA played.
pub struct Stage {
    pub engine: Engine,
    keeper: TrackPoolKeeper,
    status: triple_buffer::Input<EngineStatus>,
    /// The loop board, rewritten in place after each block as the plugin's writer does.
    board: triple_buffer::Input<LoopBoard>,
    commands: rtrb::Consumer<Command>,
    /// Presses a pedal makes, at their sample (in time order), still to come.
    pedal: Vec<(u64, Command)>,
    /// The PA's left channel from the first sample on.
    pub pa: Vec<f32>,
    /// When the editor's commands reached the engine, in samples.
    presses: Vec<(u64, Command)>,
}

impl Stage {
    /// `engine` (and its pool's keeper) behind a new editor; the editor, and the stage.
    pub fn new(engine: Engine, keeper: TrackPoolKeeper) -> (LoopmateApp, Self) {
        let live = live_editor(engine.status(), Arc::default());
        let stage = Self {
            engine,
            keeper,
            status: live.status,
            board: live.board,
            commands: live.commands,
            pedal: Vec::new(),
            pa: Vec::new(),
            presses: Vec::new(),
        };
        (live.app, stage)
    }

    /// A pedal (MIDI) sends `command` at `at_samples`, in a block yet to come.
    pub fn pedal(&mut self, at_samples: u64, command: Command) {
        assert!(
            at_samples >= self.engine.now_samples(),
            "a press in the past"
        );
        let place = self.pedal.partition_point(|&(at, _)| at <= at_samples);
        self.pedal.insert(place, (at_samples, command));
    }

    /// Plays `secs` with the player playing (`playing`) or silent, drawing the editor at the
    /// display rate.
    pub fn play(&mut self, harness: &mut Harness<'_>, secs: f64, playing: bool) {
        for block in 0..blocks_in(secs) {
            self.block(playing);
            if block % BLOCKS_PER_FRAME == 0 {
                harness.run();
            }
        }
        harness.run();
    }

    /// Plays `secs` as [`Stage::play`] does, with the window hidden (no frames drawn).
    pub fn play_unseen(&mut self, secs: f64, playing: bool) {
        for _ in 0..blocks_in(secs) {
            self.block(playing);
        }
    }

    /// One block: the editor's commands at its start and the pedal's due in it; then the status
    /// and the board published.
    fn block(&mut self, playing: bool) {
        let start = self.engine.now_samples();
        let end = start + BLOCK as u64;
        let mut commands = Vec::new();
        while let Ok(command) = self.commands.pop() {
            commands.push((start, command));
        }
        self.presses.extend(&commands);
        let due = self.pedal.partition_point(|&(at, _)| at < end);
        commands.extend(self.pedal.drain(..due));
        let input = [0, 1].map(|channel| {
            (start..end)
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
    }

    /// Scrolls to the button `label` (as a player would, when the tiles run past the window),
    /// clicks it and lets the engine take the command.
    pub fn click(&mut self, harness: &mut Harness<'_>, label: &str) {
        harness.get_by_label(label).scroll_to_me();
        harness.run();
        harness.get_by_label(label).click();
        harness.run();
        self.play(harness, 0.05, true);
    }

    /// Clicks the tile of loop `n` (1 for the anchor), selecting it, and lets the engine take it.
    pub fn click_tile(&mut self, harness: &mut Harness<'_>, n: usize) {
        let label = format!("Loop {n}:");
        harness.get_by_label_contains(&label).scroll_to_me();
        harness.run();
        harness.get_by_label_contains(&label).click();
        harness.run();
        self.play(harness, 0.05, true);
    }

    /// When the last `command` from the editor reached the engine.
    pub fn pressed(&self, command: Command) -> u64 {
        let press = self.presses.iter().rev().find(|(_, c)| *c == command);
        press.expect("the press reached the engine").0
    }
}

/// Blocks in `secs`.
fn blocks_in(secs: f64) -> usize {
    (secs * f64::from(RATE) / BLOCK as f64).round() as usize
}
