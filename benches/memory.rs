//! What the engine costs in resident memory, and how long activation takes, at 48 kHz stereo:
//! an idle instance at several history lengths, activation time, the cost of one finished 2 s
//! track, and 100 such tracks at the longest history. Issue 15 (paged audio) sets targets for
//! each; this bench gives the figures before and after.
//!
//! Resident memory is measured (`VmRSS` in `/proc/self/status`), never computed, so this bench
//! runs on Linux only. Freed memory does not reliably leave a process's resident set, so every
//! figure comes from a fresh child process: this binary re-run with `--scenario ...`, which
//! prints its figures on one line of `key=value` pairs. A figure is the growth of the child's
//! resident set over its own baseline, taken just before the engine is created.
//!
//! The machine is shared, so nothing here may exhaust its memory: before a scenario whose cost
//! is not yet known, an estimate from the smaller scenarios is compared with 60 % of the
//! machine's `MemAvailable`, and a scenario that would need more is skipped (the estimate is
//! printed instead). A child that captures tracks also stops by itself if `MemAvailable` falls
//! below 40 % of what it was when the bench started.
//!
//! Units: sizes in bytes in the code, printed in MB (10^6 bytes) or GB (10^9 bytes); times in
//! seconds, printed in ms or s.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Instant;

mod common;
use common::{
    ANCHOR_SECS, RATE_HZ, capture_track, let_captures_finish, new_engine, record_anchor, step, tone,
};

/// Channels the engine records.
const CHANNELS: f64 = 2.0;
/// Bytes of one sample (f32).
const SAMPLE_BYTES: f64 = 4.0;
/// Bytes of one page of one channel.
const PAGE_BYTES: f64 = loopmate::engine::pages::PAGE_FRAMES as f64 * SAMPLE_BYTES;
/// Bytes in a printed MB.
const MB: f64 = 1e6;
/// Bytes in a printed GB.
const GB: f64 = 1e9;

/// History lengths of the idle scenario, in seconds (the parameter's minimum, default and
/// maximum), shortest first: each longer one is estimated from the one before it.
const IDLE_HISTORIES_SECS: [f64; 3] = [10.0, 60.0, 600.0];
/// Fresh processes per idle history; the figures are their medians.
const IDLE_RUNS: usize = 11;
/// How long an idle instance runs after activation before it is measured, in seconds (blocks
/// of the tone into the history; nothing is recorded).
const IDLE_RUN_SECS: f64 = 1.0;
/// Issue 15: an idle instance costs at most its history plus this, in bytes.
const IDLE_TARGET_EXCESS_BYTES: f64 = 8.0 * MB;
/// Issue 15: activation at this history, in seconds, takes less than
/// [`ACTIVATION_TARGET_SECS`].
const ACTIVATION_TARGET_HISTORY_SECS: f64 = 60.0;
/// Issue 15: the longest activation at [`ACTIVATION_TARGET_HISTORY_SECS`], in seconds.
const ACTIVATION_TARGET_SECS: f64 = 0.050;

/// History of the one-track scenario, in seconds (the default).
const TRACK_HISTORY_SECS: f64 = 60.0;
/// Tracks captured after the anchor in the one-track scenario; the cost of one track is their
/// resident growth divided by this count.
const TRACK_CAPTURES: usize = 16;

/// History of the many-tracks scenario, in seconds (the maximum).
const MANY_TRACKS_HISTORY_SECS: f64 = 600.0;
/// Loops of the many-tracks scenario, the anchor included.
const MANY_TRACKS: usize = 100;
/// Issue 15: the many-tracks scenario fits in this many bytes.
const MANY_TRACKS_TARGET_BYTES: f64 = 400.0 * MB;

/// Share of the bench's starting `MemAvailable` a scenario may be estimated to need.
const MEMORY_BUDGET_SHARE: f64 = 0.6;
/// Share of the bench's starting `MemAvailable` below which a capturing child stops.
const MEMORY_FLOOR_SHARE: f64 = 0.4;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|arg| arg == "--scenario") {
        child(&args[at + 1..]);
    } else if args.iter().any(|arg| arg == "--bench") {
        parent();
    } else {
        // `cargo test --benches` runs bench binaries without `--bench`: measuring is left to
        // `cargo bench`.
        println!("memory: run with `cargo bench --bench memory`");
    }
}

// ----- the child: one scenario in a fresh process -----

/// Runs the scenario named by `args` and prints its figures as `key=value` pairs.
fn child(args: &[String]) {
    let number = |i: usize| -> f64 {
        args.get(i)
            .and_then(|arg| arg.parse().ok())
            .unwrap_or_else(|| panic!("memory: bad scenario arguments {args:?}"))
    };
    match args.first().map(String::as_str) {
        Some("idle") => idle(number(1)),
        Some("tracks") => tracks(number(1), number(2) as usize, number(3)),
        _ => panic!("memory: unknown scenario {args:?}"),
    }
}

/// Activates an engine with `history_secs` of history and lets it run [`IDLE_RUN_SECS`].
/// Prints `activation_secs` (wall time of `Engine::new`, the keeper's first fill included, and
/// of setting the default settings) and `rss_delta_bytes`.
fn idle(history_secs: f64) {
    let baseline_bytes = rss_bytes();
    let started = Instant::now();
    let (mut engine, _keeper) = new_engine(history_secs as f32);
    let activation_secs = started.elapsed().as_secs_f64();
    for _ in 0..blocks_in(IDLE_RUN_SECS) {
        step(&mut engine, &[]);
    }
    let rss_delta_bytes = rss_bytes() - baseline_bytes;
    println!("activation_secs={activation_secs} rss_delta_bytes={rss_delta_bytes}");
}

/// Activates an engine with `history_secs` of history, records the anchor, then captures until
/// `tracks` loops play (the anchor included), stopping early if `MemAvailable` falls below
/// `floor_bytes`. Prints the resident growth over the baseline after the anchor
/// (`rss_anchor_bytes`) and after the captures (`rss_tracks_bytes`), the loops then playing
/// (`tracks`), the mean audio a loop holds (`loop_audio_bytes`: its recorded frames x channels
/// x 4 bytes), the wall time of the captures (`capture_secs`: the keeper's refills, the copies
/// and the blocks run meanwhile) and whether it stopped early (`aborted`, 0 or 1).
fn tracks(history_secs: f64, tracks: usize, floor_bytes: f64) {
    let baseline_bytes = rss_bytes();
    let (mut engine, mut keeper) = new_engine(history_secs as f32);
    record_anchor(&mut engine, tone);
    let_captures_finish(&mut engine, &mut keeper, tone);
    let rss_anchor_bytes = rss_bytes() - baseline_bytes;
    let started = Instant::now();
    let mut aborted = 0;
    while engine.playing_tracks().count() < tracks {
        if mem_available_bytes() < floor_bytes {
            aborted = 1;
            break;
        }
        capture_track(&mut engine, &mut keeper, tone);
    }
    let_captures_finish(&mut engine, &mut keeper, tone);
    let capture_secs = started.elapsed().as_secs_f64();
    let rss_tracks_bytes = rss_bytes() - baseline_bytes;
    let tracks = engine.playing_tracks().count();
    let loop_audio_bytes = engine
        .playing_tracks()
        .map(|track| track.content_samples as f64 * CHANNELS * SAMPLE_BYTES)
        .sum::<f64>()
        / tracks as f64;
    // Resident growth can undercount (the allocator reuses memory freed earlier without the
    // resident set growing), so the pages each loop holds are counted too.
    let held_bytes = engine
        .playing_tracks()
        .map(|track| track.buffer.held_pages() as f64 * PAGE_BYTES)
        .sum::<f64>()
        / tracks as f64;
    println!(
        "rss_anchor_bytes={rss_anchor_bytes} rss_tracks_bytes={rss_tracks_bytes} \
         tracks={tracks} loop_audio_bytes={loop_audio_bytes} held_bytes={held_bytes} \
         capture_secs={capture_secs} aborted={aborted}"
    );
}

/// 128-frame blocks in `secs` seconds at [`RATE_HZ`], rounded down.
fn blocks_in(secs: f64) -> usize {
    (secs * RATE_HZ as f64 / common::BLOCK as f64) as usize
}

/// This process's resident set (`VmRSS`), in bytes.
fn rss_bytes() -> f64 {
    proc_kib("/proc/self/status", "VmRSS:") * 1024.0
}

/// The machine's available memory (`MemAvailable`), in bytes.
fn mem_available_bytes() -> f64 {
    proc_kib("/proc/meminfo", "MemAvailable:") * 1024.0
}

/// The value of the line starting with `key` in the `/proc` file `path`, given there in KiB.
fn proc_kib(path: &str, key: &str) -> f64 {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("memory: this bench needs Linux's {path}: {e}"));
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("memory: no {key} in {path}"))
}

// ----- the parent: runs the scenarios and prints the table -----

/// The figures a child printed.
type Figures = HashMap<String, f64>;

/// Runs this binary as a child on `scenario` and returns its figures.
fn run_child(scenario: &[String]) -> Figures {
    let output = Command::new(std::env::current_exe().expect("own path"))
        .arg("--scenario")
        .args(scenario)
        .stderr(Stdio::inherit())
        .output()
        .expect("memory: child did not start");
    assert!(
        output.status.success(),
        "memory: scenario {scenario:?} failed: {}",
        output.status
    );
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// A child's figure named `key`.
fn figure(figures: &Figures, key: &str) -> f64 {
    *figures
        .get(key)
        .unwrap_or_else(|| panic!("memory: the child printed no {key}"))
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// Bytes of `secs` seconds of stereo f32 audio at [`RATE_HZ`].
fn audio_bytes(secs: f64) -> f64 {
    secs * RATE_HZ as f64 * CHANNELS * SAMPLE_BYTES
}

/// `bytes` in MB, two decimals.
fn mb(bytes: f64) -> String {
    format!("{:.2} MB", bytes / MB)
}

/// `bytes` in kB (10^3 bytes), to one decimal: per-track figures, where a few kB matter.
fn kb(bytes: f64) -> String {
    format!("{:.1} kB", bytes / 1e3)
}

/// "yes" or "no".
fn yes_no(met: bool) -> &'static str {
    if met { "yes" } else { "no" }
}

/// One row of the printed table.
struct Row {
    /// What was measured.
    scenario: String,
    /// The measured figure (or why there is none).
    measured: String,
    /// What it compares with (the audio or history it holds).
    reference: String,
    /// Issue 15's target.
    target: String,
    /// Whether the target is met: "yes", "no", "-" (no target), "not run", or the condition.
    met: String,
}

/// What one idle history gave: medians over [`IDLE_RUNS`] fresh processes.
struct Idle {
    /// History length, in seconds.
    history_secs: f64,
    /// Resident growth of an idle instance, in bytes (median).
    rss_delta_bytes: f64,
    /// Wall time of activation, in seconds: median, fastest and slowest.
    activation_secs: [f64; 3],
}

/// Runs every scenario in order and prints the table.
fn parent() {
    let available_bytes = mem_available_bytes();
    let budget_bytes = MEMORY_BUDGET_SHARE * available_bytes;
    let floor_bytes = MEMORY_FLOOR_SHARE * available_bytes;
    println!(
        "memory: MemAvailable {:.2} GB; a scenario may need {:.2} GB ({:.0} %); every figure \
         from fresh processes",
        available_bytes / GB,
        budget_bytes / GB,
        MEMORY_BUDGET_SHARE * 100.0
    );
    let mut rows = Vec::new();

    // 1 and 2: idle instances and activation time.
    let mut idles: Vec<Idle> = Vec::new();
    for history_secs in IDLE_HISTORIES_SECS {
        let history_bytes = audio_bytes(history_secs);
        let scenario = format!("idle instance, history {history_secs} s");
        let reference = format!("history {}", mb(history_bytes));
        let target = format!(
            "<= history + 8 MB = {}",
            mb(history_bytes + IDLE_TARGET_EXCESS_BYTES)
        );
        // Scaled linearly from the next shorter history: today's cost is proportional to it.
        let estimate_bytes = idles
            .last()
            .map(|shorter| shorter.rss_delta_bytes * history_secs / shorter.history_secs);
        if let Some(estimate_bytes) = estimate_bytes.filter(|&bytes| bytes > budget_bytes) {
            rows.push(Row {
                scenario,
                measured: format!("skipped: would need ~{:.1} GB", estimate_bytes / GB),
                reference,
                target,
                met: "not run".into(),
            });
            continue;
        }
        let runs: Vec<Figures> = (0..IDLE_RUNS)
            .map(|_| run_child(&["idle".into(), history_secs.to_string()]))
            .collect();
        let of = |key: &str| -> Vec<f64> { runs.iter().map(|run| figure(run, key)).collect() };
        let activation_secs = of("activation_secs");
        let idle = Idle {
            history_secs,
            rss_delta_bytes: median(of("rss_delta_bytes")),
            activation_secs: [
                median(activation_secs.clone()),
                activation_secs
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min),
                activation_secs.iter().copied().fold(0.0, f64::max),
            ],
        };
        rows.push(Row {
            scenario,
            measured: format!(
                "{} ({:.1}x history, {} over it)",
                mb(idle.rss_delta_bytes),
                idle.rss_delta_bytes / history_bytes,
                mb(idle.rss_delta_bytes - history_bytes)
            ),
            reference,
            target,
            met: yes_no(idle.rss_delta_bytes <= history_bytes + IDLE_TARGET_EXCESS_BYTES).into(),
        });
        idles.push(idle);
    }
    for idle in &idles {
        let [median_secs, fastest_secs, slowest_secs] = idle.activation_secs;
        let targeted = idle.history_secs == ACTIVATION_TARGET_HISTORY_SECS;
        rows.push(Row {
            scenario: format!("activation, history {} s", idle.history_secs),
            measured: format!(
                "{:.1} ms (median of {IDLE_RUNS}; {:.1}-{:.1} ms)",
                median_secs * 1e3,
                fastest_secs * 1e3,
                slowest_secs * 1e3
            ),
            reference: "-".into(),
            target: if targeted {
                format!("< {:.0} ms", ACTIVATION_TARGET_SECS * 1e3)
            } else {
                "-".into()
            },
            met: if targeted {
                yes_no(median_secs < ACTIVATION_TARGET_SECS).into()
            } else {
                "-".into()
            },
        });
    }

    // 3: one finished track.
    let one = run_child(&[
        "tracks".into(),
        TRACK_HISTORY_SECS.to_string(),
        (1 + TRACK_CAPTURES).to_string(),
        floor_bytes.to_string(),
    ]);
    let captured = figure(&one, "tracks") - 1.0;
    assert!(
        captured >= 1.0,
        "memory: too little memory to capture one track"
    );
    let track_audio_bytes = figure(&one, "loop_audio_bytes");
    let track_bytes =
        (figure(&one, "rss_tracks_bytes") - figure(&one, "rss_anchor_bytes")) / captured;
    let track_secs = figure(&one, "capture_secs") / captured;
    let held_bytes = figure(&one, "held_bytes");
    // Judged on the larger of the two.
    let track_cost_bytes = track_bytes.max(held_bytes);
    rows.push(Row {
        scenario: format!("one finished {ANCHOR_SECS} s track, history {TRACK_HISTORY_SECS} s"),
        measured: format!(
            "{} resident growth, {} in the pages it holds per track ({:.2}x its audio; mean \
             of {captured} captures{}), {:.1} ms each",
            kb(track_bytes),
            kb(held_bytes),
            track_cost_bytes / track_audio_bytes,
            if figure(&one, "aborted") > 0.0 {
                ", stopped early: memory low"
            } else {
                ""
            },
            track_secs * 1e3
        ),
        reference: format!("audio {}", kb(track_audio_bytes)),
        target: format!(
            "<= audio + one page per channel = {}",
            kb(track_audio_bytes + PAGE_BYTES * CHANNELS)
        ),
        met: yes_no(track_cost_bytes <= track_audio_bytes + PAGE_BYTES * CHANNELS).into(),
    });

    // 4: many tracks at the longest history.
    let many_audio_bytes = MANY_TRACKS as f64 * track_audio_bytes;
    let idle_many_bytes = idles
        .iter()
        .find(|idle| idle.history_secs == MANY_TRACKS_HISTORY_SECS)
        .map_or_else(
            // Skipped above: scaled from the longest history measured.
            || {
                let longest = idles.last().expect("the shortest history always runs");
                longest.rss_delta_bytes * MANY_TRACKS_HISTORY_SECS / longest.history_secs
            },
            |idle| idle.rss_delta_bytes,
        );
    // A track's cost scaled with the history: the cost of the old, history-sized storage, an
    // upper bound for paged tracks, which cost the same at any history.
    let estimate_bytes = idle_many_bytes
        + MANY_TRACKS as f64 * track_bytes * MANY_TRACKS_HISTORY_SECS / TRACK_HISTORY_SECS;
    let (measured, met) = if estimate_bytes > budget_bytes {
        let skipped = format!("skipped: would need ~{:.1} GB", estimate_bytes / GB);
        (skipped, "not run")
    } else {
        let many = run_child(&[
            "tracks".into(),
            MANY_TRACKS_HISTORY_SECS.to_string(),
            MANY_TRACKS.to_string(),
            floor_bytes.to_string(),
        ]);
        let total_bytes = figure(&many, "rss_tracks_bytes");
        let made = figure(&many, "tracks");
        if figure(&many, "aborted") > 0.0 {
            let stopped = format!("stopped at {made} tracks, memory low: {}", mb(total_bytes));
            (stopped, "no")
        } else {
            let met = yes_no(total_bytes <= MANY_TRACKS_TARGET_BYTES);
            (format!("{} ({made} tracks)", mb(total_bytes)), met)
        }
    };
    rows.push(Row {
        scenario: format!(
            "{MANY_TRACKS} x {ANCHOR_SECS} s tracks, history {MANY_TRACKS_HISTORY_SECS} s"
        ),
        measured,
        reference: format!("audio {}", mb(many_audio_bytes)),
        target: format!("<= {}", mb(MANY_TRACKS_TARGET_BYTES)),
        met: met.into(),
    });

    print_table(&rows);
}

/// Prints `rows` as a Markdown table.
fn print_table(rows: &[Row]) {
    println!();
    println!("| scenario | measured | for comparison | issue-15 target | met |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            row.scenario, row.measured, row.reference, row.target, row.met
        );
    }
}
