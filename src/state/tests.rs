//! The saved performance end to end: engine -> mirror -> bytes -> a fresh engine, and damaged
//! states refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::format::{self, FORMAT_VERSION, StateError};
use super::mirror::SessionModel;
use super::store::{SAVE_STALL_SECS, SessionStore};
use crate::engine::audio::TrackAudio;
use crate::engine::command::{Command, Select, TrackControl, TrackTarget};
use crate::engine::cycle::WholeBeats;
use crate::engine::fx::chain::FxControl;
use crate::engine::pool::TrackPoolKeeper;
use crate::engine::tests::{BLEND, RATE, new_engine, new_engine_with, run, signal_until};
use crate::engine::{Engine, EngineSettings};

/// A fresh engine with its own store attached.
fn engine_with_store() -> (Engine, TrackPoolKeeper, SessionStore) {
    attach_store(new_engine())
}

/// `engine` with a store attached.
fn attach_store(
    (mut engine, keeper): (Engine, TrackPoolKeeper),
) -> (Engine, TrackPoolKeeper, SessionStore) {
    let store = SessionStore::default();
    store.attach(engine.connect_session(), RATE);
    (engine, keeper, store)
}

/// Anchor length of [`capturing`], in samples (2 s).
pub(crate) const CAPTURE_CYCLE: u64 = 96_000;

/// An anchor of [`CAPTURE_CYCLE`], then a capture of its last 4 cycles pressed on a boundary
/// and run for one more block: the capture is still copying (its copy of 384 000 frames takes
/// 12 000 processed frames).
pub(crate) fn capturing() -> (Engine, TrackPoolKeeper, SessionStore) {
    let settings = EngineSettings {
        capture_cycles: 4,
        ..EngineSettings::default()
    };
    let (mut engine, mut keeper, store) = attach_store(new_engine_with(settings));
    let start = 10_000;
    let commands = [
        (start, Command::RecordToggle),
        (start + CAPTURE_CYCLE, Command::RecordToggle),
        (start + 5 * CAPTURE_CYCLE, Command::Capture),
    ];
    let frames = (start + 5 * CAPTURE_CYCLE + 512) as usize;
    run(
        &mut engine,
        &mut keeper,
        &signal_until(frames, frames as u64),
        &commands,
        &[512],
    );
    assert_eq!(
        engine.cycle().map(|c| c.length_samples),
        Some(CAPTURE_CYCLE)
    );
    assert_eq!(engine.status().track_count, 2);
    assert_eq!(
        store.with_model(|model, _| model.filling.clone()),
        vec![1],
        "the capture is still copying"
    );
    (engine, keeper, store)
}

#[test]
fn a_save_during_a_capture_waits_for_its_copy_and_holds_it() {
    let (mut engine, mut keeper, store) = capturing();
    // The host keeps processing (about 10x real time) while its main thread saves.
    let stop = Arc::new(AtomicBool::new(false));
    let player = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                silence(&mut engine, &mut keeper, 512);
                std::thread::sleep(Duration::from_millis(1));
            }
            engine
        })
    };
    let (saved, left_out) = store.save_reporting();
    stop.store(true, Ordering::Relaxed);
    let engine = player.join().expect("the player thread");
    assert_eq!(left_out, None);

    let model = format::decode(&saved).expect("the save loads");
    assert_eq!(model.tracks.len(), 2, "the anchor and the capture");
    let captured = &model.tracks[1];
    assert_eq!(captured.record.length_samples, 4 * CAPTURE_CYCLE);
    let playing = engine.tracks_for_test().nth(1).expect("the capture plays");
    assert!(playing.fill.is_none(), "its copy is complete");
    let bits = |s: &[f32]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for c in 0..2 {
        let frames = 4 * CAPTURE_CYCLE as usize;
        let saved_audio = &captured.audio.to_vec(c, frames)[..];
        assert!(
            saved_audio.iter().any(|&s| s.abs() > 0.1),
            "audio, not silence"
        );
        assert_eq!(
            bits(saved_audio),
            bits(&playing.buffer.to_vec(c, frames)),
            "the saved capture is the audio the engine plays (channel {c})"
        );
    }
}

#[test]
fn a_save_while_the_host_stops_processing_gives_up_after_a_second_and_says_so() {
    let (_engine, _keeper, store) = capturing();
    let started = Instant::now();
    let (saved, left_out) = store.save_reporting();
    let waited_secs = started.elapsed().as_secs_f64();
    assert!(
        (SAVE_STALL_SECS..10.0).contains(&waited_secs),
        "waited {waited_secs} s"
    );
    let why = left_out.expect("it says what it left out");
    assert!(
        why.contains("1 capture(s) still copying were not saved"),
        "{why}"
    );
    let message = store
        .try_message()
        .unwrap()
        .1
        .expect("a message for the editor");
    assert!(message.contains(&why), "{message}");
    // Everything else is saved.
    let model = format::decode(&saved).expect("the save loads");
    assert_eq!(model.tracks.len(), 1);
    assert_eq!(model.cycle.map(|c| c.length_samples), Some(CAPTURE_CYCLE));
}

#[test]
fn a_capture_dropped_while_copying_does_not_hold_up_a_save() {
    // Undone, then its redo ended by a new take; cleared; removed.
    let endings: [&[Command]; 3] = [
        &[Command::Undo, Command::RecordToggle],
        &[Command::Clear],
        &[Command::Track(TrackTarget::Index(1), TrackControl::Remove)],
    ];
    for ending in endings {
        let (mut engine, mut keeper, store) = capturing();
        let now = engine.now_samples();
        let commands: Vec<(u64, Command)> = (ending.iter())
            .enumerate()
            .map(|(i, &command)| (now + 100 * i as u64, command))
            .collect();
        run(
            &mut engine,
            &mut keeper,
            &signal_until(512, 512),
            &commands,
            &[512],
        );
        // Dropped while still copying (1 024 of the 12 000 frames its copy needs were processed).
        // The engine stops: a save that waited would give up after a second, with a message.
        let (_, left_out) = store.save_reporting();
        assert_eq!(left_out, None, "{ending:?}");
    }
}

#[test]
fn a_resync_during_a_capture_keeps_the_capture_awaited() {
    let (mut engine, mut keeper, store) = capturing();
    // One gain change a sample: the queue overflows while the capture is still copying (12
    // blocks of the 24 its copy needs).
    flood_then_resync(&mut engine, &mut keeper, &store, 1, 1);
    store.with_model(|model, _| {
        assert_eq!(model.tracks.len(), 1, "the anchor, re-sent");
        assert_eq!(
            model.filling,
            vec![1],
            "the capture, re-sent as still copying"
        );
    });
    silence(&mut engine, &mut keeper, 12 * 512);
    store.with_model(|model, _| {
        assert_eq!(model.tracks.len(), 2, "the capture, complete");
        assert!(model.filling.is_empty());
    });
}

/// Sends 6 000 gain changes, one every `spacing_samples`, to the first `tracks` tracks in turn
/// without the mirror draining (more events than its queue holds); checks that the queue
/// overflowed; then drains the mirror and runs one block, in which the engine re-sends
/// everything.
fn flood_then_resync(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    store: &SessionStore,
    spacing_samples: u64,
    tracks: u64,
) {
    let start = engine.now_samples();
    let commands: Vec<(u64, Command)> = (0..6_000u64)
        .map(|i| {
            let control = TrackControl::SetGain(0.1 + (i % 50) as f32 / 100.0);
            let target = TrackTarget::Index((i % tracks) as u32);
            (start + spacing_samples * i, Command::Track(target, control))
        })
        .collect();
    let frames = (6_000 * spacing_samples).next_multiple_of(512) as usize;
    run(engine, keeper, &signal_until(frames, 0), &commands, &[512]);
    assert!(store.overflows() > 0, "the queue overflowed");
    store.tick();
    silence(engine, keeper, 512);
}

/// Silence through the engine for `frames` (after one tick of the store).
pub(crate) fn silence(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    frames: usize,
) -> [Vec<f32>; 2] {
    run(
        engine,
        keeper,
        &signal_until(frames, 0),
        &[],
        &[480, 512, 64],
    )
    .main
}

/// An engine playing a performance: an anchor, an overdub twice as long, a capture that was
/// undone (kept for redo), per-track gain, pan, reverse and filter settings.
fn performance() -> (Engine, TrackPoolKeeper, SessionStore) {
    let (mut engine, mut keeper, store) = engine_with_store();
    let (s0, s1) = (10_007u64, 10_007 + 40_411);
    let l = s1 - s0;
    let take = (s1 + l / 4, s1 + l / 4 + 3 * l / 2);
    let commands = [
        (s0, Command::RecordToggle),
        (s1, Command::RecordToggle),
        (take.0, Command::RecordToggle),
        (take.1, Command::RecordToggle),
        (
            take.1 + 100,
            Command::Track(TrackTarget::Index(0), TrackControl::SetGain(0.5)),
        ),
        (
            take.1 + 200,
            Command::Track(TrackTarget::Index(1), TrackControl::SetPan(-0.3)),
        ),
        (
            take.1 + 300,
            Command::Track(
                TrackTarget::Index(1),
                TrackControl::Fx(FxControl::SetReverse(true)),
            ),
        ),
        (
            take.1 + 400,
            Command::Track(
                TrackTarget::Index(0),
                TrackControl::Fx(FxControl::DelaySettings {
                    time_secs: 0.25,
                    feedback: 0.5,
                    mix: 0.4,
                }),
            ),
        ),
        (take.1 + l, Command::Capture),
        (take.1 + 3 * l, Command::Undo),
    ];
    let frames = (take.1 + 4 * l) as usize;
    run(
        &mut engine,
        &mut keeper,
        &signal_until(frames, take.1 + l),
        &commands,
        &[512, 333],
    );
    assert_eq!(engine.status().track_count, 2);
    assert_eq!(engine.status().redo_count, 1);
    (engine, keeper, store)
}

#[test]
fn save_load_save_is_byte_identical_and_the_loaded_session_plays_the_same_in_phase() {
    let (mut engine, mut keeper, store) = performance();
    let saved = store.save();

    // Loaded before activation: the model is frozen at the saved position.
    let loaded = SessionStore::default();
    loaded.load(saved.clone()).expect("a real state loads");
    assert_eq!(
        loaded.save(),
        saved,
        "save -> load -> save is byte-identical"
    );

    // Activated later (its clock elsewhere): it continues from the saved cycle position.
    let (mut fresh, mut fresh_keeper) = new_engine();
    silence(&mut fresh, &mut fresh_keeper, 12_345);
    loaded.attach(fresh.connect_session(), RATE);
    let frames = 3 * 40_411;
    let original = silence(&mut engine, &mut keeper, frames);
    let restored = silence(&mut fresh, &mut fresh_keeper, frames);
    assert_eq!(fresh.status().track_count, 2);
    assert_eq!(fresh.status().redo_count, 1);
    assert_eq!(
        fresh.status().cycle_position_samples,
        engine.status().cycle_position_samples,
        "in phase"
    );
    for c in 0..2 {
        assert!(original[c].iter().any(|&s| s.abs() > 0.1), "the loops play");
        // After the loaded session's fade-in (the delay's echoes start afresh: it has none on).
        assert_eq!(original[c][BLEND..], restored[c][BLEND..], "channel {c}");
    }
    assert_eq!(
        store.save(),
        loaded.save(),
        "both save the same performance, still in phase"
    );

    // Redo brings back the same captured audio in both.
    let redo = [(1_000u64, Command::Redo)];
    let redo_at = |engine: &Engine| [(engine.now_samples() + redo[0].0, Command::Redo)];
    let commands = redo_at(&engine);
    let a = run(
        &mut engine,
        &mut keeper,
        &signal_until(frames, 0),
        &commands,
        &[256],
    )
    .main;
    let commands = redo_at(&fresh);
    let b = run(
        &mut fresh,
        &mut fresh_keeper,
        &signal_until(frames, 0),
        &commands,
        &[256],
    )
    .main;
    assert_eq!(engine.status().track_count, 3);
    assert_eq!(a, b);
}

#[test]
fn speeds_are_saved_and_the_loaded_loops_play_at_them_in_phase() {
    let (mut engine, mut keeper, store) = performance();
    let at = engine.now_samples();
    let speed = |n, control| (at, Command::Track(TrackTarget::Index(n), control));
    let commands = [
        speed(0, TrackControl::HalveSpeed),
        speed(1, TrackControl::DoubleSpeed),
        speed(1, TrackControl::DoubleSpeed),
    ];
    run(
        &mut engine,
        &mut keeper,
        &signal_until(17_000, 0),
        &commands,
        &[512],
    );
    let saved = store.save();
    let model = format::decode(&saved).expect("a state with speeds loads");
    let speeds: Vec<i8> = (model.tracks.iter())
        .map(|track| track.record.speed.octaves())
        .collect();
    // (The speed changes, new edits, ended the redo history: the undone capture is gone.)
    assert_eq!(speeds, [-1, 2], "x1/2, x4 (waited for x2's fade)");
    let loaded = SessionStore::default();
    loaded
        .load(saved.clone())
        .expect("a state with speeds loads");
    assert_eq!(
        loaded.save(),
        saved,
        "save -> load -> save is byte-identical"
    );

    // The anchor at x1/2 repeats every two lengths: loaded elsewhere in time, it must be in the
    // same one of the two as the original.
    let (mut fresh, mut fresh_keeper) = new_engine();
    silence(&mut fresh, &mut fresh_keeper, 12_345);
    loaded.attach(fresh.connect_session(), RATE);
    let frames = 4 * 40_411;
    let original = silence(&mut engine, &mut keeper, frames);
    let restored = silence(&mut fresh, &mut fresh_keeper, frames);
    for c in 0..2 {
        assert!(original[c].iter().any(|&s| s.abs() > 0.1), "the loops play");
        assert_eq!(original[c][BLEND..], restored[c][BLEND..], "channel {c}");
    }
    let status = fresh.status().tracks[0].unwrap();
    assert_eq!(status.speed.octaves(), -1);
    assert_eq!(store.save(), loaded.save(), "still in phase");

    // A state whose speed section names no track, or a phase its track's own contradicts, is
    // refused.
    let bytes = format::encode(&model, 0);
    let sped = bytes
        .windows(4)
        .position(|w| w == b"SPED")
        .expect("a speed section");
    let mut unknown = bytes.clone();
    unknown[sped + 16..sped + 24].copy_from_slice(&12_345u64.to_le_bytes());
    let mut contradicting = bytes.clone();
    contradicting[sped + 25] ^= 1;
    for bad in [unknown, contradicting] {
        let mut bad = bad;
        let sum = format::checksum(&bad[32..]);
        bad[24..32].copy_from_slice(&sum.to_le_bytes());
        assert!(matches!(
            format::decode(&bad),
            Err(StateError::Malformed(_))
        ));
    }
}

#[test]
fn a_state_at_another_rate_is_kept_but_not_played() {
    let (_engine, _keeper, store) = performance();
    let saved = store.save();
    let (mut engine, mut keeper) =
        crate::engine::tests::engine_at(44_100.0, 20.0, Default::default());
    let loaded = SessionStore::default();
    loaded.load(saved.clone()).unwrap();
    loaded.attach(engine.connect_session(), 44_100.0);
    silence(&mut engine, &mut keeper, 4096);
    assert_eq!(engine.status().track_count, 0);
    let message = loaded.try_message().unwrap().1.expect("a message");
    assert!(message.contains("48000 Hz"), "{message}");
    assert_eq!(loaded.save(), saved, "the project keeps the loops");
}

/// A small deterministic generator for the corruptions.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

#[test]
fn a_thousand_damaged_states_are_refused_and_the_engine_stays_empty_and_working() {
    let (_engine, _keeper, store) = performance();
    let saved = store.save();
    let (mut engine, mut keeper, target) = engine_with_store();
    let mut rng = Xorshift(0x1234_5678);
    for i in 0..1_000 {
        let mut damaged = saved.clone();
        match i % 4 {
            0 => damaged.truncate(rng.below(saved.len())),
            1 => {
                let at = rng.below(saved.len());
                damaged[at] ^= 1 << rng.below(8);
            }
            2 => {
                for _ in 0..1 + rng.below(16) {
                    let at = rng.below(saved.len());
                    damaged[at] = rng.below(256) as u8;
                }
                if damaged == saved {
                    damaged.pop();
                }
            }
            _ => {
                // A damaged header: magic, version, flags, length or checksum.
                let at = rng.below(32);
                damaged[at] = damaged[at].wrapping_add(1 + rng.below(255) as u8);
            }
        }
        let error = target.load(damaged).expect_err("damaged state refused");
        let message = target.try_message().unwrap().1.expect("a message");
        assert!(message.contains(&error.to_string()), "{message}");
        silence(&mut engine, &mut keeper, 64);
    }
    assert_eq!(engine.status().track_count, 0);
    // Still working: a loop records and plays.
    let start = engine.now_samples();
    let commands = [
        (start + 100, Command::RecordToggle),
        (start + 20_100, Command::RecordToggle),
    ];
    run(
        &mut engine,
        &mut keeper,
        &signal_until(40_000, 40_000),
        &commands,
        &[512],
    );
    assert_eq!(engine.status().track_count, 1);
}

#[test]
fn damaged_contents_with_a_valid_checksum_never_panic() {
    let (_engine, _keeper, store) = performance();
    let saved = store.save();
    let mut rng = Xorshift(99);
    for _ in 0..1_000 {
        let mut damaged = saved.clone();
        for _ in 0..1 + rng.below(4) {
            // Mostly the structure near the front of the payload, sometimes anywhere.
            let at = 32
                + if rng.below(2) == 0 {
                    rng.below(400)
                } else {
                    rng.below(saved.len() - 32)
                };
            damaged[at] = rng.below(256) as u8;
        }
        let sum = format::checksum(&damaged[32..]);
        damaged[24..32].copy_from_slice(&sum.to_le_bytes());
        let _ = format::decode(&damaged);
    }
}

#[test]
fn the_selection_is_saved_and_restored_and_an_older_state_selects_the_newest_loop() {
    let (mut engine, mut keeper, store) = performance();
    // The undone capture had selected itself; the newest playing loop stands in for it.
    assert_eq!(engine.status().selected.map(|s| s.index), Some(1));
    let at = engine.now_samples() + 100;
    let select = [(at, Command::Select(Select::Loop(0)))];
    run(
        &mut engine,
        &mut keeper,
        &signal_until(512, 0),
        &select,
        &[512],
    );
    assert_eq!(engine.status().selected.map(|s| s.index), Some(0));
    let saved = store.save();
    let anchor_id = engine.playing_tracks().next().map(|track| track.id);
    assert_eq!(format::decode(&saved).unwrap().selected_id, anchor_id);

    let restored_selection = |state: Vec<u8>| {
        let loaded = SessionStore::default();
        loaded.load(state).expect("the state loads");
        let (mut fresh, mut fresh_keeper) = new_engine();
        loaded.attach(fresh.connect_session(), RATE);
        silence(&mut fresh, &mut fresh_keeper, 1_024);
        assert_eq!(fresh.status().track_count, 2);
        fresh.status().selected.map(|s| (s.index, s.track.id))
    };
    assert_eq!(
        restored_selection(saved.clone()),
        Some((0, anchor_id.unwrap()))
    );

    // A state from before the selection was saved: the newest loop is selected.
    let mut model = format::decode(&saved).unwrap();
    model.selected_id = None;
    let older = format::encode(&model, 0);
    assert!(older.windows(4).all(|w| w != b"SELE"));
    let newest = engine
        .playing_tracks()
        .last()
        .map(|track| track.id)
        .unwrap();
    assert_eq!(restored_selection(older), Some((1, newest)));

    // A selection section of the wrong length is refused even with a valid checksum.
    let at = saved.windows(4).position(|w| w == b"SELE").unwrap() + 4;
    let mut damaged = saved.clone();
    damaged[at..at + 8].copy_from_slice(&9u64.to_le_bytes());
    let sum = format::checksum(&damaged[32..]);
    damaged[24..32].copy_from_slice(&sum.to_le_bytes());
    assert_eq!(
        format::decode(&damaged).err(),
        Some(StateError::Malformed("selection"))
    );
}

#[test]
fn the_anchors_beat_count_is_saved_with_its_cycle_and_checked_on_load() {
    let (_engine, _keeper, store) = performance();
    let mut model = format::decode(&store.save()).unwrap();
    let cycle = model.cycle.expect("a cycle");
    let beats = WholeBeats::new(cycle.length_samples, 7, RATE);

    model.beats = Some(beats);
    let saved = format::encode(&model, 0);
    assert_eq!(format::decode(&saved).unwrap().beats, Some(beats));
    assert_eq!(format::encode(&format::decode(&saved).unwrap(), 0), saved);

    // Beats of an earlier anchor (another length) do not describe this one: not saved.
    model.beats = Some(WholeBeats::new(cycle.length_samples + 1, 7, RATE));
    assert_eq!(
        format::decode(&format::encode(&model, 0)).unwrap().beats,
        None
    );

    // A count of 0, or more beats than samples, is refused even with a valid checksum.
    let at = saved.windows(4).position(|w| w == b"BEAT").unwrap() + 12;
    for count in [0, cycle.length_samples as u32 + 1] {
        let mut damaged = saved.clone();
        damaged[at..at + 4].copy_from_slice(&count.to_le_bytes());
        let sum = format::checksum(&damaged[32..]);
        damaged[24..32].copy_from_slice(&sum.to_le_bytes());
        assert_eq!(
            format::decode(&damaged).err(),
            Some(StateError::Malformed("beat count")),
            "count {count}"
        );
    }
}

#[test]
fn header_errors_say_what_is_wrong() {
    let (_engine, _keeper, store) = performance();
    let saved = store.save();
    let mut future = saved.clone();
    future[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(
        format::decode(&future).err(),
        Some(StateError::FutureVersion(FORMAT_VERSION + 1))
    );
    assert!(
        StateError::FutureVersion(2)
            .to_string()
            .contains("newer Loopmate")
    );
    assert_eq!(
        format::decode(b"{\"json\": 1}").err(),
        Some(StateError::BadMagic)
    );
    assert_eq!(
        format::decode(&saved[..100]).err(),
        Some(StateError::Truncated)
    );
    let mut flipped = saved.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 4;
    assert_eq!(
        format::decode(&flipped).err(),
        Some(StateError::ChecksumMismatch)
    );
}

#[test]
fn a_flood_of_changes_overflows_the_queue_and_the_mirror_resyncs() {
    let (mut engine, mut keeper, store) = performance();
    flood_then_resync(&mut engine, &mut keeper, &store, 10, 2);
    store.with_model(|model, _| {
        let engine_tracks: Vec<_> = engine
            .tracks_for_test()
            .map(crate::engine::session_event::TrackRecord::of)
            .collect();
        let mirrored: Vec<_> = model.tracks.iter().map(|t| t.record).collect();
        assert_eq!(mirrored, engine_tracks);
        assert_eq!(model.cycle, engine.cycle());
    });
    // And what it saves plays like the engine.
    let loaded = SessionStore::default();
    loaded.load(store.save()).unwrap();
    let (mut fresh, mut fresh_keeper) = new_engine();
    loaded.attach(fresh.connect_session(), RATE);
    let a = silence(&mut engine, &mut keeper, 50_000);
    let b = silence(&mut fresh, &mut fresh_keeper, 50_000);
    assert_eq!(a[0][BLEND..], b[0][BLEND..]);
}

/// A performance saved by format 1 (the build before format 2, from `performance()`): an anchor,
/// an overdub two cycles long with pan and reverse, the anchor's gain and delay, and a capture
/// undone (kept for redo).
const V1_STATE: &[u8] = include_bytes!("testdata/v1_performance.bin");

#[test]
fn a_format_1_state_still_loads_and_plays() {
    assert_eq!(u32::from_le_bytes(V1_STATE[8..12].try_into().unwrap()), 1);
    let model = format::decode(V1_STATE).expect("a format 1 state loads");
    assert_eq!(model.tracks.len(), 3);
    assert_eq!(model.lock, None, "format 1 saved no host lock");
    for track in &model.tracks {
        let r = &track.record;
        assert_eq!(
            r.content_samples, r.length_samples,
            "format 1: content = length"
        );
        assert_eq!(track.audio.capacity_frames() as u64, r.length_samples);
    }
    let records: Vec<_> = model.tracks.iter().map(|t| t.record).collect();
    assert_eq!(records[0].gain, 0.5);
    assert_eq!(records[0].fx.delay_frames, 12_000.0);
    assert_eq!(records[0].fx.delay_feedback, 0.5);
    assert_eq!(records[1].pan, -0.3);
    assert!(records[1].reversed);
    assert_eq!(records[1].length_samples, 2 * records[0].length_samples);
    assert!(records[2].undone);

    // Migrated: saved again as format 2, the same performance.
    let store = SessionStore::default();
    store.load(V1_STATE.to_vec()).unwrap();
    let resaved = store.save();
    assert_eq!(
        u32::from_le_bytes(resaved[8..12].try_into().unwrap()),
        FORMAT_VERSION
    );
    let again = format::decode(&resaved).unwrap();
    assert_eq!(again.cycle, model.cycle);
    for (a, b) in again.tracks.iter().zip(&model.tracks) {
        assert_eq!(a.record, b.record);
        for c in 0..a.audio.channels() {
            let bits = |s: &[f32]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&a.audio.to_vec(c, a.audio.capacity_frames())),
                bits(&b.audio.to_vec(c, b.audio.capacity_frames()))
            );
        }
    }

    // And it plays: the two loops, the capture ready for redo.
    let (mut engine, mut keeper) = new_engine();
    store.attach(engine.connect_session(), RATE);
    let out = silence(&mut engine, &mut keeper, 2 * 40_411);
    assert_eq!(engine.status().track_count, 2);
    assert_eq!(engine.status().redo_count, 1);
    assert!(
        out[0][BLEND..].iter().any(|&s| s.abs() > 0.1),
        "the loops play"
    );
}

/// `model` with the sample of each `(track, channel, frame)` in `at` set to the next of
/// `values` (cycled), the filter and delay of every track on, encoded: a state with a valid
/// checksum, as a crafted one would have.
fn crafted_state(model: &SessionModel, at: &[(usize, usize, usize)], values: &[f32]) -> Vec<u8> {
    let mut model = model.clone();
    let mut values = values.iter().cycle();
    for (index, track) in model.tracks.iter_mut().enumerate() {
        let audio = &track.audio;
        let frames = audio.capacity_frames();
        let mut samples: Vec<f32> = (0..audio.channels())
            .flat_map(|c| audio.to_vec(c, frames))
            .collect();
        for &(_, channel, frame) in at.iter().filter(|(t, _, _)| *t == index) {
            samples[channel * frames + frame] = *values.next().unwrap();
        }
        let planar = TrackAudio::from_planar(audio.channels(), frames, &samples);
        track.audio = Arc::new(planar.unwrap());
        track.record.fx.filter_on = true;
        track.record.fx.delay_on = true;
    }
    format::encode(&model, 0)
}

#[test]
fn a_state_with_nan_or_infinite_audio_loads_with_silence_there_says_so_and_plays_finite() {
    let (_engine, _keeper, store) = performance();
    let model = format::decode(&store.save()).unwrap();
    // At the edges of the audio and inside: in the anchor's left channel, the overdub's right
    // and both channels of the undone capture.
    let at: Vec<(usize, usize, usize)> = [(0, 0), (1, 1), (2, 0), (2, 1)]
        .into_iter()
        .flat_map(|(t, c)| {
            let frames = model.tracks[t].audio.capacity_frames();
            [0, 1_000, frames / 2, frames - 1].map(|f| (t, c, f))
        })
        .collect();
    let bad = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::from_bits(0xFFC0_1234),
    ];
    let crafted = crafted_state(&model, &at, &bad);
    let silenced = crafted_state(&model, &at, &[0.0]);
    assert_ne!(crafted, silenced);
    assert!(format::decode(&crafted).is_ok(), "the checksum is valid");

    // It loads, and the player is told how many samples were replaced.
    let loaded = SessionStore::default();
    let warning = loaded.load(crafted).expect("the performance loads");
    let warning = warning.expect("a warning for the log");
    assert!(
        warning.contains(&format!("{} samples that were not numbers", at.len())),
        "{warning}"
    );
    let message = loaded.try_message().unwrap().1.expect("a message");
    assert!(message.contains(&warning), "{message}");
    let reference = SessionStore::default();
    assert_eq!(reference.load(silenced), Ok(None));
    assert_eq!(reference.try_message().unwrap().1, None);

    // It plays exactly as the performance with silence at those samples (effects on: their
    // memories are not poisoned), finite on both outputs, the undone capture brought back too.
    let play = |store: &SessionStore| {
        let (mut engine, mut keeper) = new_engine();
        store.attach(engine.connect_session(), RATE);
        let frames = 300_000;
        let redo = [(engine.now_samples() + 100_000, Command::Redo)];
        let out = run(
            &mut engine,
            &mut keeper,
            &signal_until(frames, 0),
            &redo,
            &[512, 77],
        );
        assert_eq!(engine.status().track_count, 3);
        out
    };
    let (repaired, expected) = (play(&loaded), play(&reference));
    for c in 0..2 {
        for (output, a, b) in [
            ("PA", &repaired.main[c], &expected.main[c]),
            ("headphones", &repaired.phones[c], &expected.phones[c]),
        ] {
            assert!(a.iter().all(|s| s.is_finite()), "{output} {c} finite");
            assert!(a.iter().any(|s| s.abs() > 0.1), "{output} {c} plays");
            assert_eq!(a, b, "{output} {c}");
        }
    }
    // The project heals: the next save holds the silence.
    assert!(
        loaded.save() == reference.save(),
        "the next save holds the repair"
    );
}

#[test]
fn a_state_claiming_more_audio_than_it_holds_is_refused_before_the_audio_is_allocated() {
    let (_engine, _keeper, store) = performance();
    let saved = store.save();
    // The anchor's length and content set to 2^30 frames (6 hours; 8 GB of stereo audio to
    // allocate), its phase and its 40 411 frames of audio left as they were; a valid checksum.
    let at = saved.windows(4).position(|w| w == b"TRAK").unwrap() + 12;
    let mut damaged = saved.clone();
    for field in [8, 24] {
        damaged[at + field..at + field + 8].copy_from_slice(&(1u64 << 30).to_le_bytes());
    }
    let sum = format::checksum(&damaged[32..]);
    damaged[24..32].copy_from_slice(&sum.to_le_bytes());
    // Refused for what it is (not as truncated audio after allocating it, or as memory the
    // host does not have).
    assert_eq!(
        format::decode(&damaged).err(),
        Some(StateError::Malformed("track length"))
    );
}

/// `model` with two one-shots: a stereo one on pad 3 and a mono one on pad 8.
fn with_one_shots(mut model: SessionModel) -> SessionModel {
    use crate::engine::oneshot::SavedOneShot;
    let stereo: Vec<f32> = (0..2 * 3_001)
        .map(|i| (i as f32 * 0.37).sin() * 0.5)
        .collect();
    let mono: Vec<f32> = (0..500).map(|i| i as f32 / 500.0).collect();
    model.one_shots[2] = Some(SavedOneShot {
        audio: Arc::new(TrackAudio::from_planar(2, 3_001, &stereo).unwrap()),
        length_frames: 3_001,
    });
    model.one_shots[7] = Some(SavedOneShot {
        audio: Arc::new(TrackAudio::from_planar(1, 500, &mono).unwrap()),
        length_frames: 500,
    });
    model
}

/// `saved` with its checksum made valid again.
fn checksummed(mut saved: Vec<u8>) -> Vec<u8> {
    let sum = format::checksum(&saved[32..]);
    saved[24..32].copy_from_slice(&sum.to_le_bytes());
    saved
}

#[test]
fn one_shots_round_trip_and_older_states_load_with_empty_pads() {
    let (_engine, _keeper, store) = performance();
    let saved = store.save();
    assert!(
        !saved.windows(4).any(|w| w == b"ONES"),
        "no section without one-shots"
    );
    let model = format::decode(&saved).unwrap();
    assert!(model.one_shots.iter().all(Option::is_none));
    let v1 = format::decode(V1_STATE).unwrap();
    assert!(
        v1.one_shots.iter().all(Option::is_none),
        "format 1 had none"
    );

    let model = with_one_shots(model);
    let encoded = format::encode(&model, 0);
    let decoded = format::decode(&encoded).expect("loads");
    for pad in 0..8 {
        let (a, b) = (&model.one_shots[pad], &decoded.one_shots[pad]);
        assert_eq!(a.is_some(), b.is_some(), "pad {pad}");
        if let (Some(a), Some(b)) = (a, b) {
            assert_eq!(a.length_frames, b.length_frames);
            assert_eq!(a.audio.channels(), b.audio.channels());
            for c in 0..a.audio.channels() {
                let frames = a.length_frames as usize;
                assert_eq!(a.audio.to_vec(c, frames), b.audio.to_vec(c, frames));
            }
        }
    }
    assert_eq!(format::encode(&decoded, 0), encoded, "byte-identical again");
    // The loops are the same as without them.
    assert_eq!(decoded.tracks.len(), model.tracks.len());
}

#[test]
fn damaged_one_shot_sections_are_refused_and_never_panic() {
    let (_engine, _keeper, store) = performance();
    let model = with_one_shots(format::decode(&store.save()).unwrap());
    let saved = format::encode(&model, 0);
    let section = saved.windows(4).position(|w| w == b"ONES").unwrap();
    let body = section + 12;
    // count u32 | pad u8 | length u64 | channels u8 ...
    let damage = |at: usize, bytes: &[u8]| {
        let mut damaged = saved.clone();
        damaged[body + at..body + at + bytes.len()].copy_from_slice(bytes);
        format::decode(&checksummed(damaged)).err()
    };
    let one_shots = Some(StateError::Malformed("one-shots"));
    assert_eq!(
        damage(0, &9u32.to_le_bytes()),
        one_shots,
        "more pads than 8"
    );
    assert_eq!(damage(4, &[8]), one_shots, "pad 9");
    assert_eq!(damage(5, &0u64.to_le_bytes()), one_shots, "empty");
    assert_eq!(
        damage(5, &(1u64 << 40).to_le_bytes()),
        one_shots,
        "longer than any track, refused before allocating"
    );
    assert_eq!(damage(13, &[3]), one_shots, "three channels");
    // Two sections.
    let len = u64::from_le_bytes(saved[section + 4..section + 12].try_into().unwrap()) as usize;
    let mut twice = saved.clone();
    twice.extend_from_slice(&saved[section..section + 12 + len]);
    let payload = (twice.len() - 32) as u64;
    twice[16..24].copy_from_slice(&payload.to_le_bytes());
    assert_eq!(
        format::decode(&checksummed(twice)).err(),
        Some(StateError::Malformed("two one-shot sections"))
    );
    // Any header byte of the section, and a spread of its audio bytes, changed: refused or
    // loaded, never a panic.
    let headers = section + 4..body + 40;
    for at in headers.chain((body + 40..saved.len()).step_by(211)) {
        for value in [0u8, 0xFF, saved[at] ^ 0x55] {
            let mut damaged = saved.clone();
            damaged[at] = value;
            let _ = format::decode(&checksummed(damaged));
        }
    }
}
