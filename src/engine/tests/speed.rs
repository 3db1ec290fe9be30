//! Varispeed as a player hears it: a loop at x1/2 or x2 keeps its place on the anchor's
//! boundaries, reads exactly where the mapping says, changes speed without a click, and plays
//! the same whatever the host's block size.

use super::*;
use crate::engine::command::{TrackControl, TrackTarget};
use crate::engine::fx::chain::FxControl;
use crate::engine::speed::Speed;
use crate::engine::varispeed::windowed_sinc;

/// The anchor of these tests: recorded from `ORIGIN` for `L` samples (1 s).
const ORIGIN: u64 = 10_000;
const L: u64 = 48_000;

fn on_anchor(control: TrackControl) -> Command {
    Command::Track(TrackTarget::Index(0), control)
}

/// A one-second anchor of `input` (silent from its end), then `extra` commands; the output and
/// the anchor's audio (left channel).
fn anchor_session(
    input: [Vec<f32>; 2],
    extra: &[(u64, Command)],
    block_sizes: &[usize],
) -> (Engine, Rendered, Vec<f32>) {
    let (mut engine, mut keeper) = new_engine();
    let mut commands = vec![
        (ORIGIN, Command::RecordToggle),
        (ORIGIN + L, Command::RecordToggle),
    ];
    commands.extend_from_slice(extra);
    commands.sort_by_key(|(t, _)| *t);
    let out = run(&mut engine, &mut keeper, &input, &commands, block_sizes);
    let audio = engine
        .playing_tracks()
        .next()
        .unwrap()
        .buffer
        .to_vec(0, L as usize);
    (engine, out, audio)
}

/// The test signal until the anchor's end, silence after (the loop is heard alone).
fn take_input(frames: usize) -> [Vec<f32>; 2] {
    signal_until(frames, ORIGIN + L)
}

/// A 220 Hz sine (left) and 330 Hz (right) at 0.3 until the anchor's end: 220 whole periods in
/// the loop, so its seam is part of the sine.
fn sine_input(frames: usize) -> [Vec<f32>; 2] {
    let sine = |freq: f64| {
        (0..frames as u64)
            .map(|t| {
                let on = t < ORIGIN + L;
                let phase = std::f64::consts::TAU * freq * t as f64 / f64::from(RATE);
                if on { (0.3 * phase.sin()) as f32 } else { 0.0 }
            })
            .collect()
    };
    [sine(220.0), sine(330.0)]
}

#[test]
fn at_half_speed_every_other_sample_is_the_loops_own_and_the_start_lands_on_anchor_boundaries() {
    let change = 100_000;
    let (engine, out, audio) = anchor_session(
        take_input(400_000),
        &[(change, on_anchor(TrackControl::HalveSpeed))],
        &[256],
    );
    // After the crossfade, time t reads position ((t - o) mod 2L) / 2.
    for t in (change + BLEND as u64)..400_000 {
        let elapsed = (t - ORIGIN) % (2 * L);
        if elapsed.is_multiple_of(2) {
            assert_eq!(
                out.main[0][t as usize],
                audio[(elapsed / 2) as usize],
                "t={t}"
            );
        }
    }
    // The loop's first sample on every other anchor boundary (x1/2: it lasts two cycles).
    for k in [2, 4, 6] {
        let t = ORIGIN + k * L;
        assert_eq!(out.main[0][t as usize], audio[0], "boundary {k}");
    }
    let status = engine.status().tracks[0].unwrap();
    assert_eq!(status.speed, Speed::NORMAL.halved());
    assert_eq!(status.cycles_at_speed(), 2.0);
    assert_eq!(
        status.position_samples,
        ((400_000 - ORIGIN) % (2 * L)) / 2,
        "the playhead in the loop's audio"
    );
}

/// The x2 reading at loop position `p` computed straight from the kernel's definition: the
/// loop low-passed at half its Nyquist frequency (Blackman-windowed sinc, 16 x 2 samples either
/// side, unity gain), across the seam.
fn decimated(audio: &[f32], p: u64) -> f32 {
    let reach = 31i64;
    let taps: Vec<f64> = (-reach..=reach)
        .map(|j| windowed_sinc(j as f64, 0.5, 32.0))
        .collect();
    let sum: f64 = taps.iter().sum();
    let length = audio.len() as i64;
    (-reach..=reach)
        .zip(&taps)
        .map(|(j, tap)| f64::from(audio[(p as i64 + j).rem_euclid(length) as usize]) * tap / sum)
        .sum::<f64>() as f32
}

#[test]
fn at_double_speed_time_t_reads_position_2_t_and_the_loop_starts_twice_a_cycle() {
    let change = 100_003;
    let (engine, out, audio) = anchor_session(
        take_input(250_000),
        &[(change, on_anchor(TrackControl::DoubleSpeed))],
        &[256],
    );
    for t in (change + BLEND as u64)..250_000 {
        let p = 2 * (t - ORIGIN) % L;
        let expected = decimated(&audio, p);
        let got = out.main[0][t as usize];
        assert!((got - expected).abs() < 1e-5, "t={t}: {got} vs {expected}");
    }
    // Its start on every anchor boundary and half-way between.
    for t in [ORIGIN + 3 * L, ORIGIN + 3 * L + L / 2, ORIGIN + 4 * L] {
        let got = out.main[0][t as usize];
        assert!((got - decimated(&audio, 0)).abs() < 1e-5, "t={t}");
    }
    let status = engine.status().tracks[0].unwrap();
    assert_eq!(status.speed, Speed::NORMAL.doubled());
    assert_eq!(status.cycles_at_speed(), 0.5);
}

#[test]
fn speed_and_reverse_together_read_the_reversed_loop_at_speed() {
    let (_, out, audio) = anchor_session(
        take_input(300_000),
        &[
            (
                100_000,
                on_anchor(TrackControl::Fx(FxControl::SetReverse(true))),
            ),
            (110_000, on_anchor(TrackControl::HalveSpeed)),
        ],
        &[512],
    );
    for t in (110_000 + BLEND as u64)..300_000 {
        let elapsed = (t - ORIGIN) % (2 * L);
        if elapsed.is_multiple_of(2) {
            let p = (elapsed / 2) as usize;
            assert_eq!(out.main[0][t as usize], audio[L as usize - 1 - p], "t={t}");
        }
    }
}

/// The largest difference between neighbouring samples of `x`.
fn largest_step(x: &[f32]) -> f32 {
    x.windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max)
}

#[test]
fn speed_changes_are_crossfaded_without_a_click() {
    // A sine loop: at x4 its steepest step is 0.3 x 2 pi x 880 / 48 000 = 0.035; a jump between
    // two readings unfaded would be up to 0.6.
    let changes = [
        (100_000, TrackControl::DoubleSpeed),
        (130_000, TrackControl::HalveSpeed),
        (131_000, TrackControl::DoubleSpeed), // during the fade: back from where it is
        (132_000, TrackControl::HalveSpeed),  // and back again
        (133_000, TrackControl::HalveSpeed),  // a third speed waits for that fade's end
        (
            160_000,
            TrackControl::SetSpeed(Speed::from_octaves(2).unwrap()),
        ),
        (161_200, TrackControl::Reset), // from x4 half-way through its fade
    ];
    let commands: Vec<(u64, Command)> = changes.iter().map(|&(t, c)| (t, on_anchor(c))).collect();
    let (engine, out, _) = anchor_session(sine_input(200_000), &commands, &[256]);
    let steepest = 0.3 * std::f32::consts::TAU * 880.0 / RATE;
    for c in 0..2 {
        let step = largest_step(&out.main[c][90_000..200_000]);
        let sine_step = steepest * if c == 0 { 1.0 } else { 1.5 };
        assert!(step < sine_step + 1e-3, "channel {c}: step {step}");
    }
    // Every change was heard: x2 then x1 then x1/2 then x4 then x1.
    let heard = |t: usize| {
        // Zero crossings per 2 400 samples of the 220 Hz loop: 22 at x1.
        let x = &out.main[0][t..t + 2_400];
        x.windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count()
    };
    assert!(
        (43..=45).contains(&heard(120_000)),
        "x2: {}",
        heard(120_000)
    );
    assert!(
        (10..=12).contains(&heard(150_000)),
        "x1/2: {}",
        heard(150_000)
    );
    assert!(
        (21..=23).contains(&heard(180_000)),
        "x1: {}",
        heard(180_000)
    );
    assert_eq!(engine.status().tracks[0].unwrap().speed, Speed::NORMAL);
}

#[test]
fn the_output_at_speed_does_not_depend_on_the_block_size() {
    let commands: Vec<(u64, Command)> = [
        (70_001, TrackControl::HalveSpeed),
        (90_000, TrackControl::Fx(FxControl::SetReverse(true))),
        (91_000, TrackControl::DoubleSpeed),
        (91_500, TrackControl::DoubleSpeed), // waits for the fade before
        (120_000, TrackControl::Fx(FxControl::SetFilter(true))),
        (
            121_000,
            TrackControl::SetSpeed(Speed::from_octaves(-2).unwrap()),
        ),
        (150_000, TrackControl::Fx(FxControl::SetReverse(false))),
    ]
    .iter()
    .map(|&(t, c)| (t, on_anchor(c)))
    .collect();
    let frames = 180_000;
    let (_, reference, _) = anchor_session(take_input(frames), &commands, &[4096]);
    for sizes in [&[1][..], &[64], &[512], &[1, 17, 256, 3, 4096, 64]] {
        let (_, out, _) = anchor_session(take_input(frames), &commands, sizes);
        assert!(out.main == reference.main, "blocks {sizes:?}");
        assert!(out.phones == reference.phones, "blocks {sizes:?}");
    }
}

#[test]
fn a_capture_sped_up_while_it_copies_plays_what_it_will_hold_at_every_block_size() {
    // The copy runs 32 frames per frame ahead of the playhead; at x4 (from the capture's own
    // sample) with the filter's reach a block of one frame reads 131 source frames: the copy
    // must cover them first, or a small block plays silence a large one does not.
    let capture_at = ORIGIN + 2 * L;
    let x4 = Command::Track(
        TrackTarget::Index(1),
        TrackControl::SetSpeed(Speed::from_octaves(2).unwrap()),
    );
    let commands = [(capture_at, Command::Capture), (capture_at, x4)];
    let frames = (capture_at + L) as usize;
    let input = || signal_until(frames, frames as u64);
    let (_, reference, _) = anchor_session(input(), &commands, &[4096]);
    for sizes in [&[1][..], &[64], &[1, 17, 256, 3, 4096, 64]] {
        let (engine, out, _) = anchor_session(input(), &commands, sizes);
        assert!(out.main == reference.main, "blocks {sizes:?}");
        assert_eq!(engine.status().tracks[1].unwrap().speed.octaves(), 2);
    }
}
