//! Paged storage seen from the player: takes that outlast the page reserve end cleanly at their
//! last page while the loops play on, offline bounces wait for pages instead, and a track holds
//! only the pages its audio needs, in a table of its own size.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::engine::pages::{PAGE_FRAMES, pages_for};
use crate::engine::pool::{KeeperFault, PAGE_RESERVE};
use crate::engine::track::Track;
use crate::engine::{EngineMessage, RenderMode};

/// The anchor's length: one second.
const ANCHOR: u64 = 48_000;
/// Where the anchor starts.
const S0: u64 = 10_000;
/// Where the long take starts (on a cycle boundary), and how long the player holds it.
const TAKE_START: u64 = S0 + 3 * ANCHOR;
const TAKE_SAMPLES: u64 = 16 * ANCHOR;

/// Settings without input monitoring: the PA carries the loops alone.
fn loops_only() -> EngineSettings {
    EngineSettings {
        monitor_gain: 0.0,
        ..EngineSettings::default()
    }
}

/// The test signal from `from` for `frames`, both channels.
fn signal_from(from: u64, frames: u64) -> [Vec<f32>; 2] {
    [0, 1].map(|c| (from..from + frames).map(|t| test_signal(c, t)).collect())
}

/// Records a one-second anchor; returns the engine just before the long take.
fn anchored() -> (Engine, TrackPoolKeeper) {
    // A 40 s history: the 16 s take is within the longest loop it allows.
    let (mut engine, mut keeper) = engine_at(RATE, 40.0, loops_only());
    let input = signal_from(0, TAKE_START - 2_000);
    let presses = [
        (S0, Command::RecordToggle),
        (S0 + ANCHOR, Command::RecordToggle),
    ];
    run(&mut engine, &mut keeper, &input, &presses, &[512]);
    assert_eq!(engine.playing_tracks().count(), 1);
    (engine, keeper)
}

/// Starts a 16 s take over the anchor with `fault` from its start on, and stops it after 16 s
/// if the keeper is healthy (a take cut short by a fault ends by itself; a second press would
/// start another). Returns the engine after it and the PA output from the engine's time
/// before the take on.
fn long_take_with(fault: Option<KeeperFault>) -> (Engine, TrackPoolKeeper, [Vec<f32>; 2]) {
    let (mut engine, mut keeper) = anchored();
    keeper.fault = fault;
    let from = engine.now_samples();
    let input = signal_from(from, TAKE_START + TAKE_SAMPLES + ANCHOR - from);
    let presses = [
        (TAKE_START, Command::RecordToggle),
        (TAKE_START + TAKE_SAMPLES, Command::RecordToggle),
    ];
    let presses = if fault.is_some() {
        &presses[..1]
    } else {
        &presses[..]
    };
    let out = run(&mut engine, &mut keeper, &input, presses, &[333]);
    (engine, keeper, out.main)
}

/// Stereo frames the page reserve holds.
fn reserve_frames() -> u64 {
    (PAGE_RESERVE / 2 * PAGE_FRAMES) as u64
}

fn a_take_outlasting_its_pages(fault: KeeperFault) {
    let (engine, mut keeper, faulty) = long_take_with(Some(fault));
    let status = engine.status();
    assert_eq!(status.message, Some(EngineMessage::TakeOutOfStorage));
    assert!(status.storage_refusals >= 1);
    // Counted for the keeper's side too, which logs it.
    assert_eq!(
        keeper.shortfalls().load(Ordering::Relaxed),
        status.storage_refusals
    );
    assert!(
        reserve_frames() < TAKE_SAMPLES,
        "the take outlasts the reserve"
    );

    // The take ended at its last page, exactly what the reserve held, and became a loop as if
    // the player had stopped it there: padded to a power of two of cycles.
    let tracks: Vec<_> = engine.playing_tracks().collect();
    assert_eq!(tracks.len(), 2, "the anchor and the cut take");
    let cut = tracks[1];
    let held = reserve_frames() as usize;
    let cycles = reserve_frames().div_ceil(ANCHOR).next_power_of_two();
    assert_eq!(cut.length_samples, cycles * ANCHOR);
    // No page was left for the seam's pre-roll at the loop's end: the head fades in instead.
    assert_held_take(cut, held, true);
    assert_eq!(cut.buffer.held_pages(), 2 * pages_for(held));

    // The loops played on untouched: up to where the cut take joined, the PA is what it is
    // when no take is recorded at all.
    let (mut reference, mut reference_keeper) = anchored();
    let from = reference.now_samples();
    let frames = faulty[0].len() as u64;
    let input = signal_from(from, frames);
    let clean = run(&mut reference, &mut reference_keeper, &input, &[], &[333]).main;
    let joined = (TAKE_START + reserve_frames() - from) as usize;
    let first_difference = (0..frames as usize).find(|&i| faulty[0][i] != clean[0][i]);
    assert!(
        first_difference.is_some_and(|i| i + PAGE_FRAMES >= joined),
        "the output changed at {first_difference:?}, before the cut take joined at ~{joined}"
    );

    // Memory back: the next take records in full.
    keeper.fault = None;
    serve(&mut keeper);
    let mut engine = engine;
    let start = engine.now_samples() + 100;
    let input = signal_from(start - 100, 3 * ANCHOR);
    let presses = [
        (start, Command::RecordToggle),
        (start + 2 * ANCHOR, Command::RecordToggle),
    ];
    run(&mut engine, &mut keeper, &input, &presses, &[512]);
    let last = engine.playing_tracks().last().unwrap();
    assert_eq!(
        (engine.playing_tracks().count(), last.length_samples),
        (3, 2 * ANCHOR)
    );
}

/// The track holds the take's first `held` frames (faded out over the seam blend), then
/// silence up to the seam. Its head is faded in where no page was left for the seam's
/// pre-roll (`head_faded_in`).
fn assert_held_take(track: &Track, held: usize, head_faded_in: bool) {
    let length = track.length_samples as usize;
    let exact_from = if head_faded_in { BLEND } else { 0 };
    for c in 0..2 {
        let audio = track.buffer.to_vec(c, length);
        if head_faded_in {
            assert!(audio[0].abs() <= test_signal(c, TAKE_START).abs() / BLEND as f32 + 1e-9);
        }
        let recorded = (TAKE_START..TAKE_START + (held - BLEND) as u64).map(|t| test_signal(c, t));
        let differs = (audio.iter().zip(recorded).skip(exact_from)).position(|(&a, b)| a != b);
        assert_eq!(differs, None, "channel {c}: the take's audio");
        let after = &audio[held.min(length - BLEND)..length - BLEND];
        let sound = after.iter().position(|&s| s != 0.0);
        assert_eq!(sound, None, "silence after the take");
    }
}

#[test]
fn a_take_outlasting_a_stalled_keeper_ends_at_its_last_page_and_the_loops_play_on() {
    a_take_outlasting_its_pages(KeeperFault::Stalled);
}

#[test]
fn a_take_outlasting_memory_ends_at_its_last_page_and_the_loops_play_on() {
    a_take_outlasting_its_pages(KeeperFault::OutOfMemory);
}

#[test]
fn a_healthy_keeper_serves_the_whole_long_take() {
    let (engine, _keeper, _) = long_take_with(None);
    let status = engine.status();
    assert_eq!((status.message, status.storage_refusals), (None, 0));
    let take = engine.playing_tracks().nth(1).unwrap();
    assert_eq!(take.length_samples, TAKE_SAMPLES);
    assert_held_take(take, TAKE_SAMPLES as usize, false);
}

#[test]
fn an_offline_bounce_waits_for_a_held_up_keeper_and_keeps_the_whole_take() {
    let (mut engine, keeper) = anchored();
    engine.set_render_mode(RenderMode::Offline);
    // The keeper's thread, held up for the first 300 ms of the bounce.
    let held_up = Arc::new(AtomicBool::new(true));
    let done = Arc::new(AtomicBool::new(false));
    let thread = {
        let (held_up, done, mut keeper) = (held_up.clone(), done.clone(), keeper);
        std::thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                if !held_up.load(Ordering::Acquire) {
                    keeper.service().expect("memory");
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    };
    let release = {
        let held_up = held_up.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            held_up.store(false, Ordering::Release);
        })
    };
    let from = engine.now_samples();
    let input = signal_from(from, TAKE_START + TAKE_SAMPLES + ANCHOR - from);
    let presses = [
        (TAKE_START, Command::RecordToggle),
        (TAKE_START + TAKE_SAMPLES, Command::RecordToggle),
    ];
    // The engine is serviced by its thread alone; `run` services a keeper of its own, idle.
    let (_, mut idle_keeper) = new_engine();
    run(&mut engine, &mut idle_keeper, &input, &presses, &[4096]);
    done.store(true, Ordering::Release);
    thread.join().unwrap();
    release.join().unwrap();

    let status = engine.status();
    assert_eq!((status.message, status.storage_refusals), (None, 0));
    let take = engine.playing_tracks().nth(1).expect("the take");
    assert_eq!(take.length_samples, TAKE_SAMPLES);
    assert_held_take(take, TAKE_SAMPLES as usize, false);
}

#[test]
fn finished_takes_and_captures_hold_just_the_pages_of_their_audio() {
    let (mut engine, mut keeper) = anchored();
    let from = engine.now_samples();
    let capture_at = S0 + 5 * ANCHOR;
    let input = signal_from(from, capture_at + 2 * ANCHOR - from);
    run(
        &mut engine,
        &mut keeper,
        &input,
        &[(capture_at, Command::Capture)],
        &[128],
    );
    let tracks: Vec<_> = engine.playing_tracks().collect();
    assert_eq!(tracks.len(), 2, "the anchor and the capture");
    for track in tracks {
        assert!(track.fill.is_none(), "the capture has finished copying");
        let pages = 2 * pages_for(track.length_samples as usize);
        assert_eq!(track.buffer.held_pages(), pages, "track {}", track.id);
        // The table too is the track's size (12 pages: a table of 16), not the 40 s history's
        // (469 pages per channel).
        assert_eq!(
            track.buffer.capacity_frames(),
            16 * PAGE_FRAMES,
            "track {}'s table",
            track.id
        );
    }
}
