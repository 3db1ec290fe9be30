//! What the shell gives the engine for one block: player commands, settings and master effect
//! changes, each at a sample offset in the block. Plain data, framework-free.
//!
//! The engine splits the block in one place ([`Engine::process_inputs`](super::Engine)): a
//! settings or effect change starts a segment at its sample, as if the host's block started
//! there, and the commands after it (up to the next change) are scheduled with the input latency
//! of those settings. Its output for the same input and inputs never depends on the block size.

use super::command::{Command, TimedCommand};
use super::fx::chain::FxControl;
use super::settings::EngineSettings;

/// One input to the engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EngineInput {
    /// A player's command (MIDI, the editor, a parameter switch, the track bank): it acts at its
    /// sample plus the input latency, in the engine's schedule.
    Command(Command),
    /// The player's settings from this sample on (level changes ramp over the blend length).
    Settings(EngineSettings),
    /// A change to the master effects from this sample on.
    MasterFx(FxControl),
}

/// An input at a sample offset from the start of the block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedInput {
    /// Offset in samples from the start of the block (one past the block acts on its last
    /// sample).
    pub offset_samples: u32,
    /// The input.
    pub input: EngineInput,
}

impl TimedInput {
    /// Whether this is a command (not a change that starts a segment).
    pub fn is_command(&self) -> bool {
        matches!(self.input, EngineInput::Command(_))
    }
}

impl From<TimedCommand> for TimedInput {
    fn from(timed: TimedCommand) -> Self {
        Self {
            offset_samples: timed.offset_samples,
            input: EngineInput::Command(timed.command),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Engine;
    use super::super::tests::{RATE, engine_at, serve, signal_until};
    use super::*;

    /// Output channels of a run: main left and right, headphones left and right.
    type Outputs = [Vec<f32>; 4];

    /// Runs `input` through a fresh engine in blocks ending at `ends`, giving each block the
    /// inputs `block_inputs` returns for its start. Returns the engine and what it played.
    fn render(
        input: &[Vec<f32>; 2],
        ends: &[usize],
        mut block_inputs: impl FnMut(usize) -> Vec<TimedInput>,
    ) -> (Engine, Outputs) {
        let (mut engine, mut keeper) = engine_at(RATE, 20.0, EngineSettings::default());
        let [mut main_l, mut main_r] = input.clone();
        let (mut phones_l, mut phones_r) = (vec![0.0; main_l.len()], vec![0.0; main_l.len()]);
        let mut from = 0;
        for &to in ends {
            let inputs = block_inputs(from);
            nice_assert_no_alloc::assert_no_alloc(|| {
                engine.process_inputs(
                    &mut [&mut main_l[from..to], &mut main_r[from..to]],
                    &mut [&mut phones_l[from..to], &mut phones_r[from..to]],
                    &inputs,
                )
            });
            serve(&mut keeper);
            from = to;
        }
        (engine, [main_l, main_r, phones_l, phones_r])
    }

    fn at(offset_samples: u32, input: EngineInput) -> TimedInput {
        TimedInput {
            offset_samples,
            input,
        }
    }

    /// `inputs` in one block, and in blocks split at every change, each block starting with
    /// its changes: the same output.
    fn assert_changes_act_as_block_boundaries(
        input: &[Vec<f32>; 2],
        inputs: &[TimedInput],
    ) -> Engine {
        let frames = input[0].len();
        let (engine, one_block) = render(input, &[frames], |_| inputs.to_vec());
        let mut ends: Vec<usize> = (inputs.iter())
            .filter(|timed| !timed.is_command() && timed.offset_samples > 0)
            .map(|timed| timed.offset_samples as usize)
            .chain([frames])
            .collect();
        ends.dedup();
        let (_, split) = render(input, &ends, |from| {
            let to = ends
                .iter()
                .copied()
                .find(|&end| end > from)
                .unwrap_or(frames);
            (inputs.iter())
                .filter(|timed| (from..to).contains(&(timed.offset_samples as usize)))
                .map(|&timed| at(timed.offset_samples - from as u32, timed.input))
                .collect()
        });
        assert!(
            one_block == split,
            "the same output as block boundaries at the changes"
        );
        engine
    }

    #[test]
    fn a_settings_change_acts_at_its_sample_as_a_block_boundary_there() {
        // In one block: a record press, new settings (input latency, levels) at `change`, then a
        // second press, more settings and effects without a command between them. The first
        // press acts at its sample, the second with the new latency.
        let frames = RATE as usize;
        let input = signal_until(frames, frames as u64);
        let (press, change, stop) = (5_000, 20_000, 30_000);
        let latency = 2_345;
        let changed = EngineSettings {
            input_latency_samples: latency,
            loop_gain: 0.5,
            monitor_gain: 0.25,
            ..EngineSettings::default()
        };
        let quieter = EngineSettings {
            monitor_gain: 0.125,
            ..changed
        };
        let record = EngineInput::Command(Command::RecordToggle);
        let engine = assert_changes_act_as_block_boundaries(
            &input,
            &[
                at(press, record),
                at(change, EngineInput::Settings(changed)),
                at(stop, record),
                at(35_000, EngineInput::Settings(quieter)),
                at(36_000, EngineInput::Settings(changed)),
                at(36_000, EngineInput::MasterFx(FxControl::SetFilter(true))),
                at(40_000, EngineInput::Settings(quieter)),
            ],
        );
        assert_eq!(
            engine.cycle().map(|cycle| cycle.length_samples),
            Some(u64::from(stop + latency - press)),
            "the anchor ends at the second press plus the new latency"
        );
    }

    #[test]
    fn commands_alone_play_as_with_process() {
        let frames = RATE as usize;
        let input = signal_until(frames, frames as u64);
        let commands = [
            (5_000, Command::RecordToggle),
            (30_000, Command::RecordToggle),
        ];
        let (_, by_inputs) = render(&input, &[frames], |_| {
            (commands.iter())
                .map(|&(offset, command)| at(offset, EngineInput::Command(command)))
                .collect()
        });
        let (mut engine, mut keeper) = engine_at(RATE, 20.0, EngineSettings::default());
        let rendered = super::super::tests::run(
            &mut engine,
            &mut keeper,
            &input,
            &commands.map(|(t, command)| (t as u64, command)),
            &[frames],
        );
        assert!(by_inputs[..2] == rendered.main && by_inputs[2..] == rendered.phones);
    }
}
