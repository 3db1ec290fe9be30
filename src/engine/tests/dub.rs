//! Overdub, replace and multiply, as a player hears them: the loop takes the input in its own
//! phase, what was there scaled by the feedback per pass; the current pass plays the loop as it
//! was; undo brings the loop back bit for bit and redo the dub; the same at every block size.

use super::*;
use crate::engine::dub::DubKind;
use crate::state::store::SessionStore;

/// The anchor's length, in samples.
const L: u64 = 24_000;
/// The anchor's record press (its start: no onset quantization without the analysis).
const S0: u64 = 10_000;
/// The anchor's stop press.
const S1: u64 = S0 + L;
/// The dub's start press, on a cycle boundary.
const D0: u64 = S1 + 2 * L;
/// Block sizes the dub must not depend on.
const SIZES: [&[usize]; 5] = [
    &[1],
    &[64],
    &[512],
    &[4096],
    &[1, 7, 64, 511, 4096, 13, 300],
];

/// What the player plays over the loop: another tone than the anchor's.
fn dub_signal(channel: usize, t: u64) -> f32 {
    let phase = 2.0 * std::f64::consts::PI * 550.0 * t as f64 / RATE as f64;
    (0.2 * (phase + channel as f64).sin()) as f32
}

/// The input: the anchor's take (with its pre-roll), silence, then the dub's tone over
/// `[D0 - 2 BLEND, dub_until)` (a little before the dubs' presses), then silence.
fn input(frames: u64, dub_until: u64) -> [Vec<f32>; 2] {
    let channel = |c| {
        (0..frames)
            .map(|t| match t {
                t if t < S1 => test_signal(c, t),
                t if (D0 - 2 * BLEND as u64..dub_until).contains(&t) => dub_signal(c, t),
                _ => 0.0,
            })
            .collect()
    };
    [channel(0), channel(1)]
}

/// A played dub: the output, the anchor before the dub and after, and its origin.
struct Dubbed {
    out: Rendered,
    before: [Vec<f32>; 2],
    after: [Vec<f32>; 2],
    length_samples: u64,
    origin_samples: u64,
    layers: u32,
    /// The saved performance, following the engine.
    store: SessionStore,
}

/// Records the anchor, then plays `commands` over it for `frames`, the dub's tone until
/// `dub_until`, with `settings`.
fn dub(
    commands: &[(u64, Command)],
    frames: u64,
    dub_until: u64,
    settings: EngineSettings,
    sizes: &[usize],
) -> Dubbed {
    let (mut engine, mut keeper) = new_engine_with(settings);
    let store = SessionStore::default();
    store.attach(engine.connect_session(), RATE);
    let anchor = [(S0, Command::RecordToggle), (S1, Command::RecordToggle)];
    let input = input(frames, dub_until);
    // The anchor's buffer is read just before the first dub command.
    let split = commands.iter().map(|&(t, _)| t).min().unwrap_or(D0) as usize - 1;
    let first = run(
        &mut engine,
        &mut keeper,
        &[input[0][..split].to_vec(), input[1][..split].to_vec()],
        &anchor,
        sizes,
    );
    let track = engine.tracks_for_test().next().expect("the anchor");
    let before = [0, 1].map(|c| track.buffer.to_vec(c, L as usize));
    let rest = [input[0][split..].to_vec(), input[1][split..].to_vec()];
    let second = run(&mut engine, &mut keeper, &rest, commands, sizes);
    let track = engine.playing_tracks().next().expect("the anchor");
    let length = track.length_samples;
    let after = [0, 1].map(|c| track.buffer.to_vec(c, length as usize));
    let join = |a: &[Vec<f32>; 2], b: &[Vec<f32>; 2]| {
        [0, 1].map(|c| [a[c].clone(), b[c].clone()].concat())
    };
    Dubbed {
        out: Rendered {
            main: join(&first.main, &second.main),
            phones: join(&first.phones, &second.phones),
        },
        before,
        after,
        length_samples: length,
        origin_samples: track.origin_samples,
        layers: track.layers,
        store,
    }
}

/// The punch envelope at `t`: in over the `BLEND` samples before `start` (an attack on the
/// punch-in sounds whole), out over `BLEND` from `stop`.
fn envelope(t: u64, start: u64, stop: u64) -> f32 {
    let w = |k: u64| (k + 1) as f32 / (BLEND + 1) as f32;
    let up = match start.checked_sub(t) {
        None | Some(0) => 1.0,
        Some(ahead) => w(BLEND as u64 - ahead),
    };
    let down = match t.checked_sub(stop) {
        None => 1.0,
        Some(k) if k < BLEND as u64 => 1.0 - w(k),
        Some(_) => 0.0,
    };
    up * down
}

/// The loop an overdub of `[start, stop)` with `feedback` makes of `old` (origin `origin`),
/// sample by sample, as a tape loop would.
fn tape_model(
    old: &[f32],
    channel: usize,
    origin: u64,
    start: u64,
    stop: u64,
    feedback: f32,
) -> Vec<f32> {
    let mut loop_ = old.to_vec();
    let length = old.len() as u64;
    for t in start - BLEND as u64..stop + BLEND as u64 {
        let env = envelope(t, start, stop);
        let j = ((t - origin) % length) as usize;
        loop_[j] = (1.0 - (1.0 - feedback) * env) * loop_[j] + env * dub_signal(channel, t);
    }
    loop_
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn an_overdub_layers_the_input_in_the_loops_phase_and_the_pass_hears_the_loop_as_it_was() {
    let d1 = D0 + L;
    let frames = d1 + 3 * L;
    let commands = [
        (D0, Command::Dub(DubKind::Overdub)),
        (d1, Command::Dub(DubKind::Overdub)),
    ];
    let played = dub(
        &commands,
        frames,
        d1 + BLEND as u64,
        EngineSettings::default(),
        &[128],
    );
    assert_eq!(played.layers, 1);
    assert_eq!(played.length_samples, L);
    for c in 0..2 {
        let model = tape_model(&played.before[c], c, played.origin_samples, D0, d1, 1.0);
        let error = max_difference(&played.after[c], &model);
        assert!(
            error < 1e-6,
            "channel {c}: the loop differs from tape by {error}"
        );
        // The dubbed tone is in the loop at full level (feedback 100 %).
        let j = ((D0 + L / 2 - played.origin_samples) % L) as usize;
        let layered = played.after[c][j] - played.before[c][j];
        assert!((layered - dub_signal(c, D0 + L / 2)).abs() < 1e-6);
    }
    let j = |t: u64| ((t - played.origin_samples) % L) as usize;
    for t in D0..d1 - BLEND as u64 {
        // The pass being dubbed plays the loop as it was, the player's input beside it (up to
        // the fade-in written before the punch-in, a pass ago).
        let heard = played.out.main[0][t as usize];
        let expected = played.before[0][j(t)] + dub_signal(0, t);
        assert!(
            (heard - expected).abs() < 1e-5,
            "at {t}: {heard} vs {expected}"
        );
    }
    for t in d1 + L..frames {
        // Later passes play the dubbed loop (the input is silent).
        let heard = played.out.main[0][t as usize];
        assert!((heard - played.after[0][j(t)]).abs() < 1e-5, "at {t}");
    }
}

#[test]
fn feedback_lowers_what_was_there_on_each_pass() {
    let d1 = D0 + 2 * L;
    let settings = EngineSettings {
        dub_feedback: 0.5,
        ..EngineSettings::default()
    };
    let commands = [
        (D0, Command::Dub(DubKind::Overdub)),
        (d1, Command::Dub(DubKind::Overdub)),
    ];
    let played = dub(&commands, d1 + 2 * L, d1 + BLEND as u64, settings, &[256]);
    let origin = played.origin_samples;
    let model = tape_model(&played.before[0], 0, origin, D0, d1, 0.5);
    assert!(max_difference(&played.after[0], &model) < 1e-6);
    // Away from the punches: a quarter of the old loop, half the first pass, all the second.
    let t = D0 + L / 2;
    let j = ((t - origin) % L) as usize;
    let expected = 0.25 * played.before[0][j] + 0.5 * dub_signal(0, t) + dub_signal(0, t + L);
    assert!((played.after[0][j] - expected).abs() < 1e-6);
}

#[test]
fn undo_brings_back_the_loop_before_the_overdub_bit_for_bit_and_redo_the_overdub() {
    let d1 = D0 + L;
    let undo_at = d1 + 2 * L;
    let redo_at = undo_at + 2 * L;
    let frames = redo_at + 2 * L;
    let commands = [
        (D0, Command::Dub(DubKind::Overdub)),
        (d1, Command::Dub(DubKind::Overdub)),
        (undo_at, Command::Undo),
        (redo_at, Command::Redo),
    ];
    let played = dub(
        &commands,
        frames,
        d1 + BLEND as u64,
        EngineSettings::default(),
        &[64],
    );
    let dubbed = tape_model(&played.before[0], 0, played.origin_samples, D0, d1, 1.0);
    let j = |t: u64| ((t - played.origin_samples) % L) as usize;
    for t in undo_at + BLEND as u64..redo_at {
        assert_eq!(
            played.out.main[0][t as usize],
            played.before[0][j(t)],
            "at {t}"
        );
    }
    for t in redo_at + BLEND as u64..frames {
        assert!((played.out.main[0][t as usize] - dubbed[j(t)]).abs() < 1e-6);
    }
    assert_eq!(played.layers, 1);
}

#[test]
fn undo_during_an_overdub_drops_it() {
    let undo_at = D0 + L / 2;
    let frames = D0 + 3 * L;
    let commands = [
        (D0, Command::Dub(DubKind::Overdub)),
        (undo_at, Command::Undo),
    ];
    let played = dub(&commands, frames, D0 + L, EngineSettings::default(), &[128]);
    assert_eq!(played.layers, 0);
    assert_eq!(played.after, played.before);
    let j = |t: u64| ((t - played.origin_samples) % L) as usize;
    for t in D0 + L + BLEND as u64..frames {
        assert_eq!(played.out.main[0][t as usize], played.before[0][j(t)]);
    }
}

#[test]
fn a_stop_pressed_just_after_the_boundary_punches_out_on_it() {
    let d1 = D0 + L;
    let commands = [
        (D0 + 1_000, Command::Dub(DubKind::Overdub)),
        (d1 + 3_000, Command::Dub(DubKind::Overdub)),
    ];
    let played = dub(
        &commands,
        d1 + 3 * L,
        d1 + 4_000,
        EngineSettings::default(),
        &[128],
    );
    // Both presses within the lenience: the punches are on the boundaries (the start from the
    // history).
    let model = tape_model(&played.before[0], 0, played.origin_samples, D0, d1, 1.0);
    assert!(max_difference(&played.after[0], &model) < 1e-6);
}

#[test]
fn a_dub_is_the_same_at_every_block_size() {
    let d1 = D0 + 2 * L;
    let settings = EngineSettings {
        dub_feedback: 0.7,
        ..EngineSettings::default()
    };
    let commands = [
        (D0 + 500, Command::Dub(DubKind::Overdub)),
        (d1 - 700, Command::Dub(DubKind::Overdub)),
        (d1 + L, Command::Dub(DubKind::Multiply)),
        (d1 + 3 * L + 100, Command::Dub(DubKind::Multiply)),
    ];
    let frames = d1 + 6 * L;
    let reference = dub(&commands, frames, d1 + 3 * L, settings, SIZES[0]);
    assert_eq!(reference.layers, 2);
    for sizes in &SIZES[1..] {
        let played = dub(&commands, frames, d1 + 3 * L, settings, sizes);
        assert_eq!(played.out.main, reference.out.main, "blocks {sizes:?}");
        assert_eq!(played.after, reference.after, "blocks {sizes:?}");
    }
}

#[test]
fn replace_punches_the_input_over_a_stretch_with_crossfades() {
    // Further than the lenience (200 ms) from the cycle's boundaries: the punches are at the
    // presses.
    let (from, to) = (D0 + 10_000, D0 + 14_000);
    let commands = [
        (from, Command::Dub(DubKind::Replace)),
        (to, Command::Dub(DubKind::Replace)),
    ];
    let played = dub(
        &commands,
        D0 + 3 * L,
        D0 + L,
        EngineSettings::default(),
        &[128],
    );
    let origin = played.origin_samples;
    let j = |t: u64| ((t - origin) % L) as usize;
    for c in 0..2 {
        let (old, new) = (&played.before[c], &played.after[c]);
        for t in from - BLEND as u64..to + BLEND as u64 {
            let env = envelope(t, from, to);
            let expected = (1.0 - env) * old[j(t)] + env * dub_signal(c, t);
            assert!((new[j(t)] - expected).abs() < 1e-6, "at {t}");
        }
        // Outside the punch the loop is untouched.
        let before = from - BLEND as u64 - 10;
        assert_eq!(new[j(before)], old[j(before)]);
        assert_eq!(
            new[j(to + BLEND as u64 + 10)],
            old[j(to + BLEND as u64 + 10)]
        );
        // Inside, only the input.
        assert_eq!(new[j(from + 3_000)], dub_signal(c, from + 3_000));
    }
}

#[test]
fn multiply_extends_the_loop_by_whole_cycles_and_undo_shortens_it_again() {
    let stop = D0 + 2 * L;
    let undo_at = stop + 3 * L;
    let frames = undo_at + 2 * L;
    let commands = [
        (D0 - 2_000, Command::Dub(DubKind::Multiply)),
        (stop - 1_000, Command::Dub(DubKind::Multiply)),
    ];
    let played = dub(&commands, undo_at, stop, EngineSettings::default(), &[128]);
    assert_eq!(played.length_samples, 2 * L, "two cycles");
    assert_eq!(played.layers, 1);
    assert_eq!(
        played.origin_samples % L,
        D0 % L,
        "in phase with the anchor"
    );
    let old = &played.before[0];
    let shift = ((D0 - S0) % L) as usize;
    let tail = (2 * L) as usize - BLEND;
    for (j, &sample) in played.after[0].iter().enumerate().take(tail) {
        let t = D0 + j as u64;
        // No fade-in: what came before the multiply went to its end (the seam).
        let expected = old[(j + shift) % L as usize] + dub_signal(0, t);
        assert!((sample - expected).abs() < 1e-6, "at {j}");
    }
    // The loop plays its two cycles from the multiply's end on.
    let after = &played.after[0];
    for t in stop + BLEND as u64..undo_at {
        let j = ((t - D0) % (2 * L)) as usize;
        assert!(
            (played.out.main[0][t as usize] - after[j]).abs() < 1e-5,
            "at {t}"
        );
    }
    let undone = dub(
        &[commands[0], commands[1], (undo_at, Command::Undo)],
        frames,
        stop,
        EngineSettings::default(),
        &[128],
    );
    assert_eq!(undone.length_samples, L);
    assert_eq!(undone.layers, 0);
    let j = |t: u64| ((t - undone.origin_samples) % L) as usize;
    for t in undo_at + BLEND as u64..frames {
        assert_eq!(undone.out.main[0][t as usize], undone.before[0][j(t)]);
    }
}

#[test]
fn the_saved_performance_holds_the_dubbed_loop_and_its_layers_and_follows_undo() {
    let d1 = D0 + L;
    let commands = [
        (D0, Command::Dub(DubKind::Overdub)),
        (d1, Command::Dub(DubKind::Overdub)),
    ];
    let saved_audio = |played: &Dubbed| {
        played.store.tick();
        played.store.with_model(|model, _| {
            let track = &model.tracks[0];
            (track.record.layers, track.audio.to_vec(0, L as usize))
        })
    };
    let played = dub(
        &commands,
        d1 + 2 * L,
        d1 + BLEND as u64,
        EngineSettings::default(),
        &[128],
    );
    assert_eq!(saved_audio(&played), (1, played.after[0].clone()));
    // Reloaded: the same audio and layer count.
    let reloaded = SessionStore::default();
    reloaded.load(played.store.save()).expect("a valid state");
    reloaded.with_model(|model, _| {
        assert_eq!(model.tracks[0].record.layers, 1);
        assert_eq!(model.tracks[0].audio.to_vec(0, L as usize), played.after[0]);
    });
    let undone = dub(
        &[commands[0], commands[1], (d1 + 2 * L, Command::Undo)],
        d1 + 3 * L,
        d1 + BLEND as u64,
        EngineSettings::default(),
        &[128],
    );
    assert_eq!(saved_audio(&undone), (0, undone.before[0].clone()));
}

#[test]
fn a_second_press_before_an_armed_dub_cancels_it() {
    // Pressed 2 000 samples before a boundary: armed for it; pressed again before it: nothing.
    let commands = [
        (D0 - 2_000, Command::Dub(DubKind::Overdub)),
        (D0 - 1_000, Command::Dub(DubKind::Overdub)),
    ];
    let played = dub(
        &commands,
        D0 + 3 * L,
        D0 + L,
        EngineSettings::default(),
        &[128],
    );
    assert_eq!(played.layers, 0);
    assert_eq!(played.after, played.before);
}

#[test]
fn a_speed_change_of_the_loop_punches_the_overdub_out_where_the_writing_was() {
    use crate::engine::command::{TrackControl, selected};
    // Writing trails the clock by 250 ms (12 000 samples): halving the speed at D0 + 3L/4 punches
    // out at D0 + L/4. The layer holds what was played before that, the rest is the old loop.
    let change = D0 + 3 * L / 4;
    let commands = [
        (D0, Command::Dub(DubKind::Overdub)),
        (change, selected(TrackControl::HalveSpeed)),
    ];
    let played = dub(
        &commands,
        D0 + 4 * L,
        D0 + L,
        EngineSettings::default(),
        &[128],
    );
    assert_eq!(played.layers, 1, "the overdub completed");
    let stop = change - 12_000;
    let model = tape_model(&played.before[0], 0, played.origin_samples, D0, stop, 1.0);
    assert!(max_difference(&played.after[0], &model) < 1e-6);
    let j = ((D0 + L / 2 - played.origin_samples) % L) as usize;
    assert_eq!(
        played.after[0][j], played.before[0][j],
        "after the punch-out"
    );
}
