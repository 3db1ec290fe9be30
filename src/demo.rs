//! Scripted performances for trying Loopmate without an instrument (`loopmate --demo`), and for
//! the README's pictures (`--demo-script stage|crowd`): a synthesized player (drums, then bass,
//! then plucked chords, then a shaker, at 100 BPM) and a script of pedal presses. Only the
//! standalone turns it on; it replaces the input.
//!
//! Realtime: `DemoPlayer::input` and `DemoPlayer::presses_in` run on the audio thread and never
//! allocate.

use std::f64::consts::TAU;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::engine::command::{
    Command, Repeat, Select, TrackControl, TriggerAction, TriggerSpec, TriggerTime, selected,
};
use crate::engine::dub::DubKind;

/// The script the standalone chose, as 1 + its place in [`Script::ALL`]; 0 while the demo is
/// off. Set once before the plugin starts.
static SCRIPT: AtomicU8 = AtomicU8::new(0);

/// Turns the demo on for this process with `script` (the standalone's `--demo`).
pub fn enable(script: Script) {
    let place = Script::ALL.iter().position(|s| *s == script).unwrap_or(0);
    SCRIPT.store(place as u8 + 1, Ordering::Relaxed);
}

/// The script replacing the input, if the demo is on.
pub fn enabled() -> Option<Script> {
    let place = usize::from(SCRIPT.load(Ordering::Relaxed)).checked_sub(1)?;
    Script::ALL.get(place).copied()
}

/// Which performance the demo plays (the player is the same in each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Script {
    /// `--demo`: each part looped in turn, an overdub, a loop at half speed.
    #[default]
    Parts,
    /// A set in progress, held for the README's picture: seven loops, one at half speed, another
    /// selected, another muted and unmuted at each of its ends (its tile always counts down), and
    /// a new take recording (see `STAGE`).
    Stage,
    /// A hundred loops: the anchor and 99 captures (see `CROWD`).
    Crowd,
}

impl Script {
    /// Every script.
    pub const ALL: [Script; 3] = [Script::Parts, Script::Stage, Script::Crowd];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Script::Parts => "parts",
            Script::Stage => "stage",
            Script::Crowd => "crowd",
        }
    }

    /// The script called `name`, if there is one.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|script| script.name() == name)
    }

    /// The history the script needs, in seconds, if longer than the plugin's default (60 s).
    /// The stage script's take must record on for a minute and more: a take ends at the longest
    /// whole number of cycles x 2^k within the history, 16 cycles of 4.8 s (76.8 s) in 90 s,
    /// where 60 s would stop it after 38.4 s.
    pub fn history_secs(self) -> Option<f32> {
        match self {
            Script::Stage => Some(STAGE_HISTORY_SECS),
            Script::Parts | Script::Crowd => None,
        }
    }

    /// Its presses, in bars from the start, in time order.
    fn presses(self) -> &'static [(f64, Press)] {
        match self {
            Script::Parts => &PARTS,
            Script::Stage => &STAGE,
            Script::Crowd => &CROWD,
        }
    }
}

/// What a pedal press of a script sends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Press {
    /// This command.
    Command(Command),
    /// A trigger muting and unmuting loop `n` of the mix (0: the anchor) at each of its ends,
    /// until cancelled: what a pedal bound to that loop's repeating mute sends. The trigger is
    /// aimed at the loop's id (which the engine gives a loop when it joins), read when pressed.
    MuteAtEveryEnd(u32),
}

/// The demo's tempo in beats per minute.
const BPM: f64 = 100.0;
/// Beats in one bar.
const BEATS_PER_BAR: f64 = 4.0;

/// The player's parts, one per section of `SECTION_BARS` bars, played in turn and then repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Drums,
    Bass,
    Chords,
    Shaker,
}

/// Bars each part is played before the next one starts.
const SECTION_BARS: f64 = 3.0;

/// `--demo`'s presses: each part is looped for two bars once it has played for a bar (the first
/// take makes the two-bar anchor; a capture takes the last cycle); then the anchor is selected
/// and the drums, played again, are overdubbed onto it for two bars, and the chords' loop goes
/// to half speed.
const PARTS: [(f64, Press); 10] = [
    (1.0, Press::Command(Command::RecordToggle)),
    (3.0, Press::Command(Command::RecordToggle)),
    (6.0, Press::Command(Command::Capture)),
    (9.0, Press::Command(Command::Capture)),
    (12.0, Press::Command(Command::Capture)),
    (13.0, Press::Command(Command::Select(Select::Loop(0)))),
    (15.0, Press::Command(Command::Dub(DubKind::Overdub))),
    (17.0, Press::Command(Command::Dub(DubKind::Overdub))),
    (18.0, Press::Command(Command::Select(Select::Loop(2)))),
    (18.5, Press::Command(selected(TrackControl::HalveSpeed))),
];

/// Beats in the two-bar anchor every script records: the *Beats per cycle* the standalone sets
/// with the demo, so the metronome and the editor's ring count the demo's own beats, and the
/// loop's tempo reads the player's 100 BPM.
pub const BEATS_PER_CYCLE: u32 = 2 * BEATS_PER_BAR as u32;

/// The stage script's history, in seconds (see [`Script::history_secs`]).
const STAGE_HISTORY_SECS: f32 = 90.0;

/// When the stage script's set is complete, in bars (28.8 s): the last press, the take's start.
const STAGE_READY_BARS: f64 = 12.0;

/// The stage script's presses: the two-bar anchor (cycle boundaries at the odd bars), then six
/// captures, each early in a cycle, so it takes the cycle just played at once (a capture pressed
/// in a cycle's second half waits for its end; two take bars 7 to 9); then loop 4 at half speed, loop 6 muted
/// and unmuted at each of its ends, loop 2 selected, and a take started in the middle of a
/// cycle, never stopped.
const STAGE: [(f64, Press); 13] = [
    (1.0, Press::Command(Command::RecordToggle)),
    (3.0, Press::Command(Command::RecordToggle)),
    (3.5, Press::Command(Command::Capture)),
    (5.25, Press::Command(Command::Capture)),
    (7.25, Press::Command(Command::Capture)),
    (9.25, Press::Command(Command::Capture)),
    (9.5, Press::Command(Command::Capture)),
    (11.25, Press::Command(Command::Capture)),
    (11.5, Press::Command(Command::Select(Select::Loop(3)))),
    (11.625, Press::Command(selected(TrackControl::HalveSpeed))),
    (11.75, Press::MuteAtEveryEnd(5)),
    (11.875, Press::Command(Command::Select(Select::Loop(1)))),
    (STAGE_READY_BARS, Press::Command(Command::RecordToggle)),
];

/// Captures in the crowd script.
const CROWD_CAPTURES: usize = 99;
/// Captures in each of the crowd script's cycles, all in its first bar: a capture pressed in
/// a cycle's second half would wait for its end, and the next press would cancel it.
const CROWD_CAPTURES_PER_CYCLE: usize = 20;
/// Bars between two captures (0.1 s): the pool's keeper readies the next one's storage (a
/// table of its size, the pages a 4.8 s copy takes) between two, every 10 ms.
const CROWD_CAPTURE_SPACING_BARS: f64 = 1.0 / 24.0;

/// The crowd script's presses: the two-bar anchor, then, from the cycle after next (the anchor's
/// stop waits up to 0.85 s for the analysis to place it, and a capture before needs an anchor),
/// 20 captures of the last cycle early in each cycle until there are a hundred loops (the last
/// at 13.8 bars, 33.2 s).
const CROWD: [(f64, Press); 2 + CROWD_CAPTURES] = crowd();

/// Builds [`CROWD`].
const fn crowd() -> [(f64, Press); 2 + CROWD_CAPTURES] {
    let mut presses = [(1.0, Press::Command(Command::RecordToggle)); 2 + CROWD_CAPTURES];
    presses[1].0 = 3.0;
    let mut n = 0;
    while n < CROWD_CAPTURES {
        let cycle = (n / CROWD_CAPTURES_PER_CYCLE) as f64;
        let place = (n % CROWD_CAPTURES_PER_CYCLE + 1) as f64;
        let at = 5.0 + 2.0 * cycle + place * CROWD_CAPTURE_SPACING_BARS;
        presses[2 + n] = (at, Press::Command(Command::Capture));
        n += 1;
    }
    presses
}

/// The synthesized player.
#[derive(Debug, Clone, Copy)]
pub struct DemoPlayer {
    /// Sample rate in Hz.
    sample_rate_hz: f64,
    /// The presses it makes.
    script: Script,
}

impl DemoPlayer {
    /// A player of `script` at `sample_rate_hz`.
    pub fn new(script: Script, sample_rate_hz: f32) -> Self {
        Self {
            sample_rate_hz: f64::from(sample_rate_hz.max(1.0)),
            script,
        }
    }

    fn samples_per_bar(&self) -> f64 {
        60.0 / BPM * BEATS_PER_BAR * self.sample_rate_hz
    }

    /// What the player plays at absolute sample `t`.
    pub fn input(&self, t: u64) -> f32 {
        let secs = t as f64 / self.sample_rate_hz;
        let beats = secs * BPM / 60.0;
        let section = (beats / BEATS_PER_BAR / SECTION_BARS) as u64;
        let part = [Part::Drums, Part::Bass, Part::Chords, Part::Shaker][(section % 4) as usize];
        let beat_secs = 60.0 / BPM;
        // Time since the last beat / eighth, in seconds.
        let since_beat = beats.fract() * beat_secs;
        let since_eighth = (beats * 2.0).fract() * beat_secs / 2.0;
        let beat_in_bar = (beats % BEATS_PER_BAR) as u32;
        let noise = noise(t);
        let value = match part {
            Part::Drums if beat_in_bar.is_multiple_of(2) => {
                // Kick: a falling sine.
                let freq = 50.0 + 90.0 * (-since_beat * 30.0).exp();
                0.5 * (TAU * freq * since_beat).sin() * (-since_beat * 12.0).exp()
            }
            Part::Drums => 0.3 * noise * (-since_beat * 25.0).exp(),
            Part::Bass => {
                let notes = [55.0, 55.0, 65.41, 73.42];
                let freq = notes[beat_in_bar as usize];
                0.5 * (TAU * freq * since_beat).sin().signum() * 0.4 * (-since_beat * 4.0).exp()
            }
            Part::Chords => {
                let chord = [220.0, 277.18, 329.63];
                chord
                    .iter()
                    .map(|freq| (TAU * freq * since_eighth).sin())
                    .sum::<f64>()
                    * 0.12
                    * (-since_eighth * 9.0).exp()
            }
            Part::Shaker => 0.2 * noise * (-since_eighth * 40.0).exp(),
        };
        value as f32
    }

    /// The presses due in `[from, from + frames)`, as (offset in samples, command);
    /// `loop_id(n)` is the id of loop `n` of the mix (0: the anchor) as the block starts, for
    /// the presses aimed at one loop (none when there is no such loop).
    pub fn presses_in(
        &self,
        from: u64,
        frames: usize,
        loop_id: impl Fn(u32) -> Option<u64>,
    ) -> impl Iterator<Item = (u32, Command)> {
        let bar = self.samples_per_bar();
        self.script
            .presses()
            .iter()
            .filter_map(move |&(bars, press)| {
                let at = (bars * bar).round() as u64;
                if !(from..from + frames as u64).contains(&at) {
                    return None;
                }
                let command = match press {
                    Press::Command(command) => command,
                    Press::MuteAtEveryEnd(n) => Command::Trigger(TriggerSpec {
                        action: TriggerAction::ToggleLoopMute {
                            track_id: loop_id(n)?,
                        },
                        time: TriggerTime::LoopEnd,
                        repeat: Repeat::Forever,
                    }),
                };
                Some(((at - from) as u32, command))
            })
    }
}

/// Deterministic white noise in -1..1.
fn noise(t: u64) -> f64 {
    let mut h = t.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 31;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 29;
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::command::TimedCommand;
    use crate::engine::speed::Speed;
    use crate::engine::tests::{engine_at, serve};
    use crate::engine::{Engine, EngineSettings, LoopBoard, MAX_TILES, RecordingState};

    /// The rate the scripts are played at in these tests, in Hz (the standalone's default).
    const RATE_HZ: f32 = 48_000.0;
    /// Samples in a second at `RATE_HZ`.
    const SECOND: f64 = RATE_HZ as f64;

    #[test]
    fn every_press_comes_once_whatever_the_block_size() {
        for script in Script::ALL {
            let player = DemoPlayer::new(script, 48_000.0);
            let bar = player.samples_per_bar().round() as u64;
            // A stand-in for the engine's ids: loop n is 1000 + n.
            let loop_id = |n: u32| Some(1_000 + u64::from(n));
            let presses = |block: usize| {
                (0..)
                    .map(|n| n * block as u64)
                    .take_while(|&start| start < 20 * bar)
                    .flat_map(|start| {
                        player
                            .presses_in(start, block, loop_id)
                            .map(move |(offset, command)| (start + u64::from(offset), command))
                    })
                    .collect::<Vec<_>>()
            };
            let at_512 = presses(512);
            assert_eq!(at_512.len(), script.presses().len(), "{script:?}");
            assert_eq!(at_512, presses(97), "{script:?}");
            assert_eq!(at_512[0], (bar, Command::RecordToggle), "{script:?}");
        }
    }

    #[test]
    fn scripts_are_chosen_by_name() {
        for script in Script::ALL {
            assert_eq!(Script::named(script.name()), Some(script));
        }
        assert_eq!(Script::named("stadium"), None);
        assert_eq!(Script::default(), Script::Parts, "plain --demo");
    }

    /// Plays `script` into a new engine (the plugin's default settings and history, or the
    /// script's) as the standalone's host does: the player on both inputs, the presses at their
    /// samples, a loop aimed at by its place in the mix as the block starts; in blocks of
    /// `block` until `until_secs`, calling `check(secs, engine)` at each `secs` of `at_secs`
    /// (ascending).
    fn perform(
        script: Script,
        until_secs: f64,
        block: usize,
        at_secs: &[f64],
        mut check: impl FnMut(f64, &Engine),
    ) -> Engine {
        let history_secs = script.history_secs().unwrap_or(60.0);
        let (mut engine, mut keeper) = engine_at(RATE_HZ, history_secs, EngineSettings::default());
        let player = DemoPlayer::new(script, RATE_HZ);
        let mut checks = at_secs.iter().peekable();
        let (mut main, mut phones) = (
            [vec![0.0; block], vec![0.0; block]],
            [vec![0.0; block], vec![0.0; block]],
        );
        let mut commands = Vec::new();
        let end = (until_secs * SECOND) as u64;
        while engine.now_samples() < end {
            let start = engine.now_samples();
            while let Some(&&secs) = checks.peek()
                && (secs * SECOND) as u64 <= start
            {
                check(secs, &engine);
                checks.next();
            }
            let loop_id = |n: u32| {
                engine
                    .playing_tracks()
                    .nth(n as usize)
                    .map(|track| track.id)
            };
            commands.clear();
            commands.extend(player.presses_in(start, block, loop_id).map(
                |(offset_samples, command)| TimedCommand {
                    offset_samples,
                    command,
                },
            ));
            for channel in &mut main {
                for (t, sample) in (start..).zip(channel.iter_mut()) {
                    *sample = player.input(t);
                }
            }
            let [main_l, main_r] = &mut main;
            let [phones_l, phones_r] = &mut phones;
            let mut main_block: [&mut [f32]; 2] = [main_l, main_r];
            let mut phones_block: [&mut [f32]; 2] = [phones_l, phones_r];
            nice_assert_no_alloc::assert_no_alloc(|| {
                engine.process(&mut main_block, &mut phones_block, &commands)
            });
            serve(&mut keeper);
        }
        assert!(checks.next().is_none(), "every check ran");
        engine
    }

    /// The engine's loop board now.
    fn board_of(engine: &Engine) -> LoopBoard {
        let mut board = LoopBoard::with_capacity(MAX_TILES, RATE_HZ);
        engine.fill_board(&mut board);
        board
    }

    /// Seconds from the start to bar `bars` of the demo.
    fn bar_secs(bars: f64) -> f64 {
        bars * 60.0 / BPM * BEATS_PER_BAR
    }

    /// When the README's stage picture is taken, in seconds from the start: loop 6 plays between
    /// its mutes (it is muted at bar 13, unmuted at bar 15, muted again at bar 17).
    const STAGE_PICTURE_SECS: f64 = 38.0;

    #[test]
    fn the_stage_script_holds_a_set_in_progress_for_a_minute() {
        let ready = bar_secs(STAGE_READY_BARS);
        assert!((ready - 28.8).abs() < 1e-9, "within 30 s: {ready}");
        // Every half second for a minute from the take's start, between bar lines (where the
        // mute is due, and fires).
        let at: Vec<f64> = (0..=120)
            .map(|n| ready + 0.25 + 0.5 * f64::from(n))
            .collect();
        let mut unmuted_at_picture = None;
        let engine = perform(Script::Stage, ready + 80.0, 256, &at, |secs, engine| {
            let board = board_of(engine);
            let tiles = board.tiles();
            assert_eq!(board.loop_count(), 7, "at {secs} s: seven loops play");
            let half: Vec<usize> = (tiles.iter().enumerate())
                .filter(|(_, tile)| tile.track.speed == Speed::NORMAL.halved())
                .map(|(n, _)| n)
                .collect();
            assert_eq!(half, [3], "at {secs} s: loop 4 alone at x1/2");
            let others_at_x1 = tiles
                .iter()
                .filter(|tile| tile.track.speed == Speed::NORMAL);
            assert_eq!(others_at_x1.count(), 6, "at {secs} s");
            assert_eq!(
                board.selected_index(),
                Some(1),
                "at {secs} s: loop 2 selected"
            );
            let pending: Vec<usize> = (tiles.iter().enumerate())
                .filter(|(_, tile)| tile.pending.is_some())
                .map(|(n, _)| n)
                .collect();
            assert_eq!(pending, [5], "at {secs} s: a trigger waits on loop 6 alone");
            let mute = tiles[5].pending.unwrap();
            assert_eq!(
                mute.action,
                TriggerAction::ToggleLoopMute {
                    track_id: tiles[5].track.id
                }
            );
            assert_eq!(mute.remaining, None, "at every end of the loop, forever");
            // At the loop's next end: within its 4.8 s.
            let in_secs = mute.in_samples as f64 / SECOND;
            assert!(
                in_secs > 0.0 && in_secs <= 4.8,
                "at {secs} s: in {in_secs} s"
            );
            let status = engine.status();
            assert!(
                matches!(status.recording, RecordingState::Recording { .. }),
                "at {secs} s: {:?}",
                status.recording
            );
            assert_eq!(status.message, None, "at {secs} s");
            if (secs - STAGE_PICTURE_SECS).abs() < 0.25 {
                unmuted_at_picture = Some(!tiles[5].track.muted);
            }
        });
        assert_eq!(
            unmuted_at_picture,
            Some(true),
            "in the README's picture, loop 6 plays and its mute counts down"
        );
        // The take stops at its length limit, 16 cycles (76.8 s) after its start: an eighth loop.
        let status = engine.status();
        assert_eq!(status.recording, RecordingState::Idle);
        assert_eq!(board_of(&engine).loop_count(), 8);
    }

    #[test]
    fn the_crowd_script_plays_a_hundred_loops_none_refused() {
        let last_capture = CROWD.last().unwrap().0;
        // The last capture copied (at 32 times the playing speed: 0.15 s).
        let ready = bar_secs(last_capture) + 0.2;
        assert!(ready < 33.5, "within 33.5 s: {ready}");
        let mut checked = false;
        perform(Script::Crowd, ready + 0.1, 256, &[ready], |_, engine| {
            let board = board_of(engine);
            assert_eq!(board.loop_count(), 100);
            assert_eq!(board.hidden_count, 0);
            let cycle = engine.status().cycle_length_samples.unwrap();
            assert_eq!(
                cycle,
                (bar_secs(2.0) * SECOND).round() as u64,
                "a two-bar anchor"
            );
            for tile in board.tiles() {
                assert_eq!(tile.track.length_samples, cycle, "captures of one cycle");
            }
            // Nothing said: no capture refused (no track slot, no storage), none too early.
            assert_eq!(engine.status().message, None);
            checked = true;
        });
        assert!(checked);
    }

    #[test]
    fn the_player_is_audible_and_bounded() {
        let player = DemoPlayer::new(Script::Parts, 44_100.0);
        let peak = (0..44_100 * 30)
            .step_by(7)
            .map(|t| player.input(t).abs())
            .fold(0.0f32, f32::max);
        assert!(peak > 0.2 && peak <= 1.0, "peak {peak}");
    }
}
