//! The recorder's transitions as a table: each row sets up an engine (free or with a 1 s anchor,
//! with or without onset quantization), sends commands at sample times and checks the
//! recorder's phase at other times.

use super::*;
use crate::analysis::worker::analysis_channel;
use crate::engine::recorder::{Phase, Start, Stop};

/// Samples per block: every time in the table is a multiple of it, so a phase read before a
/// block is the phase after everything earlier.
const BLOCK: usize = 64;
/// The anchor: recorded from 0 to 48 000 (a 1 s cycle from 0) when a row asks for it.
const ANCHOR: [(u64, Command); 2] = [(0, Command::RecordToggle), (48_000, Command::RecordToggle)];
/// Longer than any decision's delay (window 250 ms + detection latency + 50 ms margin).
const DECIDED: u64 = 24_000;

/// One row of the table.
struct Row {
    what: &'static str,
    /// Starts with the 1 s anchor.
    anchor: bool,
    /// Onset quantization with the analysis worker attached (else no analysis).
    onsets: bool,
    /// Commands at absolute sample times, sorted.
    commands: &'static [(u64, Command)],
    /// The recorder's phase expected at these times.
    expect: &'static [(u64, Phase)],
}

const RECORDING: Phase = Phase::Recording {
    start: Start::Decided,
    stop: Stop::Open,
};

const TABLE: &[Row] = &[
    Row {
        what: "free: a press starts a take now, a second ends it (the anchor)",
        anchor: false,
        onsets: false,
        commands: &[
            (6_400, Command::RecordToggle),
            (54_400, Command::RecordToggle),
        ],
        expect: &[(0, Phase::Idle), (6_464, RECORDING), (54_464, Phase::Idle)],
    },
    Row {
        what: "a press just before a boundary arms; the boundary starts the take; a stop press \
               just before the next one schedules the stop there",
        anchor: true,
        onsets: false,
        commands: &[
            (91_200, Command::RecordToggle),
            (139_200, Command::RecordToggle),
        ],
        expect: &[
            (
                91_264,
                Phase::Armed {
                    start_samples: 96_000,
                },
            ),
            (96_064, RECORDING),
            (
                139_264,
                Phase::Recording {
                    start: Start::Decided,
                    stop: Stop::Scheduled {
                        stop_samples: 144_000,
                    },
                },
            ),
            (144_064, Phase::Idle),
        ],
    },
    Row {
        what: "a second press cancels an armed start, and so does undo",
        anchor: true,
        onsets: false,
        commands: &[
            (91_200, Command::RecordToggle),
            (92_160, Command::RecordToggle),
            (139_200, Command::RecordToggle),
            (140_032, Command::Undo),
        ],
        expect: &[
            (92_224, Phase::Idle),
            (96_064, Phase::Idle),
            (
                139_264,
                Phase::Armed {
                    start_samples: 144_000,
                },
            ),
            (140_096, Phase::Idle),
            (144_064, Phase::Idle),
        ],
    },
    Row {
        what: "a press away from the boundaries starts now; undo drops the take",
        anchor: true,
        onsets: false,
        commands: &[(120_000, Command::RecordToggle), (130_048, Command::Undo)],
        expect: &[(120_064, RECORDING), (130_112, Phase::Idle)],
    },
    Row {
        what: "clear drops an armed start",
        anchor: true,
        onsets: false,
        commands: &[(139_200, Command::RecordToggle), (140_032, Command::Clear)],
        expect: &[
            (
                139_264,
                Phase::Armed {
                    start_samples: 144_000,
                },
            ),
            (140_096, Phase::Idle),
            (144_064, Phase::Idle),
        ],
    },
    Row {
        what: "a PA-muted cycle trigger records exactly the next cycle",
        anchor: true,
        onsets: false,
        commands: &[(100_032, Command::RecordNextCycle)],
        expect: &[
            (100_096, Phase::Idle),
            (
                144_064,
                Phase::Recording {
                    start: Start::Decided,
                    stop: Stop::Scheduled {
                        stop_samples: 192_000,
                    },
                },
            ),
            (192_064, Phase::Idle),
        ],
    },
    Row {
        what: "with onset quantization, the start is undecided until the analysis decides it, \
               and a free stop press waits for its decision",
        anchor: false,
        onsets: true,
        commands: &[
            (6_400, Command::RecordToggle),
            (54_400, Command::RecordToggle),
        ],
        expect: &[
            (
                6_464,
                Phase::Recording {
                    start: Start::Undecided {
                        press_samples: 6_400,
                    },
                    stop: Stop::Open,
                },
            ),
            (6_400 + DECIDED, RECORDING),
            (
                54_464,
                Phase::Recording {
                    start: Start::Decided,
                    stop: Stop::Deciding {
                        press_samples: 54_400,
                    },
                },
            ),
            (54_400 + DECIDED, Phase::Idle),
        ],
    },
    Row {
        what: "a stop snapped back to a boundary before the start is decided waits for the \
               decision, and further presses change nothing",
        anchor: true,
        onsets: true,
        commands: &[
            (133_376, Command::RecordToggle),
            (144_960, Command::RecordToggle),
            (145_920, Command::RecordToggle),
        ],
        expect: &[
            (
                133_440,
                Phase::Recording {
                    start: Start::Undecided {
                        press_samples: 133_376,
                    },
                    stop: Stop::Open,
                },
            ),
            (
                145_024,
                Phase::Recording {
                    start: Start::Undecided {
                        press_samples: 133_376,
                    },
                    stop: Stop::Deferred {
                        stop_samples: 144_000,
                    },
                },
            ),
            (
                145_984,
                Phase::Recording {
                    start: Start::Undecided {
                        press_samples: 133_376,
                    },
                    stop: Stop::Deferred {
                        stop_samples: 144_000,
                    },
                },
            ),
            (133_376 + DECIDED, Phase::Idle),
        ],
    },
];

/// Runs a row; returns the recorder's phase before every block, by block start time.
fn phases_of(row: &Row) -> Vec<(u64, Phase)> {
    let (mut engine, mut keeper) = new_engine_with(EngineSettings::default());
    let mut worker = row.onsets.then(|| {
        let (link, worker) = analysis_channel(RATE, 20.0);
        engine.attach_analysis(link);
        worker
    });
    let mut commands: Vec<(u64, Command)> = Vec::new();
    if row.anchor {
        commands.extend(ANCHOR);
    }
    commands.extend(row.commands);
    let last = row.expect.iter().map(|&(at, _)| at).max().unwrap_or(0);
    let frames = last as usize + BLOCK;
    let silence = [vec![0.0; frames], vec![0.0; frames]];
    let mut phases = Vec::new();
    run_with(
        &mut engine,
        &mut keeper,
        &silence,
        &commands,
        &[BLOCK],
        |engine| {
            phases.push((engine.now_samples(), engine.recorder_phase()));
            if let Some(worker) = &mut worker {
                worker.run_pending();
            }
        },
    );
    phases
}

#[test]
fn the_recorder_moves_between_its_phases_as_the_table_says() {
    for row in TABLE {
        let phases = phases_of(row);
        for &(at, expected) in row.expect {
            assert_eq!(
                at % BLOCK as u64,
                0,
                "{}: {at} is not a block start",
                row.what
            );
            let (_, phase) = phases
                .iter()
                .find(|(t, _)| *t == at)
                .unwrap_or_else(|| panic!("{}: no block starts at {at}", row.what));
            assert_eq!(*phase, expected, "{}: at sample {at}", row.what);
        }
    }
}

#[test]
fn the_status_shows_the_recorders_phase() {
    let row = &TABLE[1];
    let (mut engine, mut keeper) = new_engine_with(EngineSettings::default());
    let mut commands: Vec<(u64, Command)> = ANCHOR.to_vec();
    commands.extend(row.commands);
    let mut seen = Vec::new();
    let silence = [vec![0.0; 140_000], vec![0.0; 140_000]];
    run_with(
        &mut engine,
        &mut keeper,
        &silence,
        &commands,
        &[BLOCK],
        |engine| {
            let now = engine.now_samples();
            if now == 91_264 || now == 96_064 || now == 50_048 {
                seen.push((now, engine.status().recording));
            }
        },
    );
    assert_eq!(
        seen,
        [
            (50_048, RecordingState::Idle),
            (
                91_264,
                RecordingState::Armed {
                    start_samples: 96_000
                }
            ),
            (
                96_064,
                RecordingState::Recording {
                    start_samples: 96_000
                }
            ),
        ]
    );
}
