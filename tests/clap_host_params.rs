//! The built CLAP plugin in a real host (`clack-host`): parameter automation at sample offsets,
//! the track bank, input gain, and MIDI CCs through the MIDI map, checked sample by sample.
//!
//! Needs the bundle: run `cargo xtask bundle loopmate` first (or set `LOOPMATE_CLAP`).

mod common;

use common::clap_host::{Rendered, Stereo, TestPlugin, TimedEvent, param_id, pedal_press};
use common::signal::gliding_tones;
use loopmate::params::LoopmateParams;
use nice_plug::prelude::Param;

const RATE: f64 = 48_000.0;
/// The default blend: 50 ms.
const BLEND: usize = 2_400;
/// The anchor: from `S0`, one second long.
const S0: usize = 10_007;
const L: usize = 48_000;
const RECORD: u8 = 47;
/// Block sizes (cycled) of the block-size invariance runs.
const VARYING_BLOCKS: [usize; 8] = [512, 1, 37, 4096, 64, 999, 2, 300];

/// Runs `input` with `events` (plus `presses`: absolute sample, note) in blocks of `blocks`.
fn render(
    input: &Stereo,
    presses: &[(usize, u8)],
    events: &[TimedEvent],
    blocks: &[usize],
) -> Rendered {
    let mut all: Vec<TimedEvent> = presses
        .iter()
        .flat_map(|&(at, note)| pedal_press(at as u64, note))
        .chain(events.iter().copied())
        .collect();
    all.sort_by_key(|event| event.time);
    let mut plugin = TestPlugin::activate(RATE);
    let rendered = plugin.run(input, &all, blocks.iter().copied().cycle(), None);
    plugin.deactivate();
    rendered
}

/// The test tones for `len` samples, silent from `silent_from` on.
fn tones(len: usize, silent_from: usize) -> Stereo {
    let mut input = gliding_tones(RATE, len);
    for channel in &mut input.channels {
        channel[silent_from.min(len)..].fill(0.0);
    }
    input
}

/// The anchor's two presses.
fn anchor() -> Vec<(usize, u8)> {
    vec![(S0, RECORD), (S0 + L, RECORD)]
}

/// The normalized value the host sends for `plain` of the parameter `id`.
fn normalized(id: &str, plain: f32) -> f64 {
    let params = LoopmateParams::default();
    let map = nice_plug::prelude::Params::param_map(&params);
    let (_, ptr, _) = map
        .iter()
        .find(|(param, _, _)| param == id)
        .unwrap_or_else(|| panic!("no parameter {id}"));
    // SAFETY: `ptr` points into `params`, alive here.
    f64::from(unsafe { ptr.preview_normalized(plain) })
}

/// A parameter change to `plain` of `id` at `time`.
fn set(time: usize, id: &str, plain: f32) -> TimedEvent {
    TimedEvent::param_value(time as u64, param_id(id), normalized(id, plain))
}

/// The gain of a ramp from `from` to `to` starting at sample `start` (its first sample already
/// moved by one step), at sample `t`.
fn ramp(from: f32, to: f32, start: usize, t: usize) -> f32 {
    if t < start {
        from
    } else {
        let done = (t - start + 1).min(BLEND) as f32 / BLEND as f32;
        from + (to - from) * done
    }
}

fn assert_close(got: f32, expected: f32, what: &str) {
    assert!(
        (got - expected).abs() <= 2e-5,
        "{what}: got {got}, expected {expected}"
    );
}

#[test]
fn loop_gain_automation_changes_the_gain_at_exactly_its_samples() {
    // The loop plays alone (silent input); the host automates the loop level to 0.5 at `a`
    // and back to 1 at `b`, off every block boundary.
    let (a, b) = (S0 + L + 20_011, S0 + L + 40_003);
    let input = tones(S0 + 3 * L, S0 + L);
    let plain = render(&input, &anchor(), &[], &[512]);
    let events = [set(a, "loop_gain", 0.5), set(b, "loop_gain", 1.0)];
    let automated = render(&input, &anchor(), &events, &[512]);
    assert_eq!(
        render(&input, &anchor(), &events, &VARYING_BLOCKS),
        automated,
        "the same samples whatever the host's block sizes"
    );
    for c in 0..2 {
        let (got, reference) = (&automated.main.channels[c], &plain.main.channels[c]);
        assert_eq!(got[..a], reference[..a], "ch{c}: nothing changes before a");
        assert_ne!(got[a], reference[a], "ch{c}: the ramp starts at a");
        for t in a..b + 2 * BLEND {
            let gain = if t < b {
                ramp(1.0, 0.5, a, t)
            } else {
                ramp(0.5, 1.0, b, t)
            };
            assert_close(got[t], reference[t] * gain, &format!("ch{c} t={t}"));
        }
        assert_eq!(got[a..], automated.phones.channels[c][a..], "the PA only");
    }
}

#[test]
fn a_track_slot_parameter_changes_only_its_track() {
    // Two tracks: the anchor and an overdub of the next cycle. Muting slot 2 at `a` leaves the
    // anchor alone: from a + blend on, the output is what the anchor alone plays.
    let input = tones(S0 + 6 * L, S0 + 3 * L);
    let two_tracks = [anchor(), vec![(S0 + 2 * L, RECORD), (S0 + 3 * L, RECORD)]].concat();
    let a = S0 + 4 * L + 1_234;
    let muted = render(
        &input,
        &two_tracks,
        &[set(a, "track_mute_2", 1.0)],
        &VARYING_BLOCKS,
    );
    let both = render(&input, &two_tracks, &[], &[512]);
    let mut anchor_only_input = input.clone();
    for channel in &mut anchor_only_input.channels {
        channel[S0 + L..].fill(0.0);
    }
    let anchor_only = render(&anchor_only_input, &anchor(), &[], &[512]);
    for c in 0..2 {
        let got = &muted.main.channels[c];
        assert_eq!(got[..a], both.main.channels[c][..a], "ch{c}: before a");
        for t in a + BLEND..S0 + 6 * L {
            assert_close(got[t], anchor_only.main.channels[c][t], &format!("t={t}"));
        }
    }
    // Slot 1's gain at 0 dB -> -inf: the anchor fades out, the overdub stays.
    let b = S0 + 4 * L + 777;
    let anchor_muted = render(&input, &two_tracks, &[set(b, "track_gain_1", 0.0)], &[512]);
    for c in 0..2 {
        for t in b + BLEND..S0 + 6 * L {
            let expected = both.main.channels[c][t] - anchor_only.main.channels[c][t];
            assert_close(
                anchor_muted.main.channels[c][t],
                expected,
                &format!("t={t}"),
            );
        }
    }
}

#[test]
fn input_gain_scales_what_is_recorded() {
    // Input gain -6 dB from the start: the loop plays at half the level of the same take at
    // 0 dB (the take and its pre-roll were recorded through the gain).
    let half = 0.5;
    let input = tones(S0 + 3 * L, S0 + L);
    let plain = render(&input, &anchor(), &[], &[512]);
    let quiet = render(&input, &anchor(), &[set(0, "input_gain", half)], &[512]);
    for c in 0..2 {
        for t in BLEND..S0 + 3 * L {
            assert_close(
                quiet.main.channels[c][t],
                plain.main.channels[c][t] * half,
                &format!("ch{c} t={t}"),
            );
        }
    }
    // The parameter's range reaches +12 dB.
    let params = LoopmateParams::default();
    assert!((params.input_gain.preview_plain(1.0) - 3.981).abs() < 1e-3);
}
