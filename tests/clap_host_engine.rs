//! The built CLAP plugin in a real host (`clack-host`): capture after playing, record-next-cycle
//! with the PA muted, and cancelling a trigger, checked sample by sample at 48 kHz.
//!
//! Needs the bundle: run `cargo xtask bundle loopmate` first (or set `LOOPMATE_CLAP`).

mod common;

use common::clap_host::{Rendered, Stereo, TestPlugin, TimedEvent, pedal_press, quantize_off};
use common::signal::gliding_tones;

const RATE: f64 = 48_000.0;
/// The default blend: 50 ms.
const BLEND: usize = 2_400;
/// Anchor: from `S0`, one second long.
const S0: usize = 10_007;
const L: usize = 48_000;
const BLOCK: usize = 512;

const RECORD: u8 = 47;
const CAPTURE: u8 = 48;
const MUTE_AT_CYCLE_END: u8 = 30;
const RECORD_NEXT_CYCLE: u8 = 57;

/// Runs `input` with the anchor presses plus `presses` (absolute sample, note).
fn render(input: &Stereo, presses: &[(usize, u8)]) -> Rendered {
    render_in(None, input, presses)
}

/// [`render`] with the audio-ports layout named `layout` (the default, "Stereo", if `None`).
fn render_in(layout: Option<&str>, input: &Stereo, presses: &[(usize, u8)]) -> Rendered {
    let mut events: Vec<TimedEvent> = std::iter::once(quantize_off())
        .chain(
            [(S0, RECORD), (S0 + L, RECORD)]
                .iter()
                .chain(presses)
                .flat_map(|&(at, note)| pedal_press(at as u64, note)),
        )
        .collect();
    events.sort_by_key(|event| event.time);
    let mut plugin = match layout {
        Some(layout) => TestPlugin::activate_with_layout(RATE, layout),
        None => TestPlugin::activate(RATE),
    };
    let rendered = plugin.run_fixed(input, &events, BLOCK, None);
    plugin.deactivate();
    rendered
}

/// The test tones for `len` samples, silent from `silent_from` on (if inside).
fn tones(len: usize, silent_from: usize) -> Stereo {
    let mut input = gliding_tones(RATE, len);
    for channel in &mut input.channels {
        channel[silent_from.min(len)..].fill(0.0);
    }
    input
}

fn assert_close(got: f32, expected: f32, what: &str) {
    assert!(
        (got - expected).abs() <= 1e-5,
        "{what}: got {got}, expected {expected}"
    );
}

#[test]
fn capture_turns_the_last_cycle_into_a_track_without_waiting() {
    // Play on for four cycles, press capture 500 samples after a boundary, then go silent: the
    // output is the anchor plus the captured cycle [b - L, b), both at the same phase.
    let boundary = S0 + 5 * L;
    let press = boundary + 500;
    let input = tones(press + 2 * L, press);
    let out = render(&input, &[(press, CAPTURE)]);
    for c in 0..2 {
        let x = &input.channels[c];
        for t in press..press + 2 * L {
            let index = (t - S0) % L;
            if index >= L - BLEND {
                continue; // both loops' seams: covered by the seam tests
            }
            let expected = x[S0 + index] + x[boundary - L + index];
            assert_close(out.main.channels[c][t], expected, &format!("ch{c} t={t}"));
        }
    }
}

#[test]
fn the_four_channel_layouts_carry_the_pa_on_1_2_and_the_headphones_on_3_4() {
    // A cycle with the PA muted and the headphones not: the mixes differ, and each must land
    // on its own pins of the one 4-channel port exactly as on the two stereo ports.
    let press = S0 + 2 * L + 10_000;
    let start = S0 + 3 * L;
    let input = tones(start + 2 * L, usize::MAX);
    for (ports, pins) in [
        ("Stereo", "Stereo in, 4 out"),
        ("Mono in", "Mono in, 4 out"),
    ] {
        let by_ports = render_in(Some(ports), &input, &[(press, RECORD_NEXT_CYCLE)]);
        let by_pins = render_in(Some(pins), &input, &[(press, RECORD_NEXT_CYCLE)]);
        for c in 0..2 {
            assert_eq!(
                by_pins.main.channels[c], by_ports.main.channels[c],
                "{pins}: PA {c}"
            );
            assert_eq!(
                by_pins.phones.channels[c], by_ports.phones.channels[c],
                "{pins}: headphones {c}"
            );
            let (pa, phones) = (&by_pins.main.channels[c], &by_pins.phones.channels[c]);
            assert!(pa[start + BLEND..start + L].iter().all(|&s| s == 0.0));
            assert!(
                phones[start + BLEND..start + L]
                    .iter()
                    .any(|&s| s.abs() > 0.1)
            );
        }
    }
}

#[test]
fn record_next_cycle_mutes_the_pa_for_exactly_one_cycle_but_not_the_headphones() {
    let press = S0 + 2 * L + 10_000;
    let start = S0 + 3 * L; // the next boundary
    let input = tones(start + 3 * L, usize::MAX);
    let out = render(&input, &[(press, RECORD_NEXT_CYCLE)]);
    for c in 0..2 {
        let (main, phones) = (&out.main.channels[c], &out.phones.channels[c]);
        assert_eq!(
            main[..start],
            phones[..start],
            "PA open before the boundary"
        );
        if let Some(t) = (start + BLEND..start + L).find(|&t| main[t] != 0.0) {
            panic!("ch{c}: PA not muted at {t}: {}", main[t]);
        }
        assert!(
            phones[start + BLEND..start + L]
                .iter()
                .any(|&s| s.abs() > 0.1),
            "ch{c}: headphones keep input and loops"
        );
        assert_eq!(
            main[start + L + BLEND..],
            phones[start + L + BLEND..],
            "PA back"
        );
        assert!(
            main[start + L - 1].abs() < 1e-6,
            "still muted at the last sample"
        );
    }
    // The cycle that was recorded now plays: with the same input on both sides, the loops
    // after the take are the anchor plus that cycle.
    let x = &input.channels[0];
    for t in start + L..start + 2 * L {
        let index = (t - S0) % L;
        if (BLEND..L - BLEND).contains(&index) {
            let expected = x[t] + x[S0 + index] + x[start + index];
            assert_close(out.main.channels[0][t], expected, &format!("t={t}"));
        }
    }
}

#[test]
fn a_trigger_sent_twice_before_it_fires_is_cancelled() {
    let press = S0 + 2 * L + 5_000;
    let boundary = S0 + 3 * L;
    let input = tones(boundary + 2 * L, usize::MAX);
    let plain = render(&input, &[]);
    let muted = render(&input, &[(press, MUTE_AT_CYCLE_END)]);
    let cancelled = render(
        &input,
        &[
            (press, MUTE_AT_CYCLE_END),
            (press + 1_000, MUTE_AT_CYCLE_END),
        ],
    );
    assert_eq!(cancelled, plain, "a cancelled trigger changes nothing");
    for c in 0..2 {
        assert_eq!(
            muted.main.channels[c][..boundary],
            plain.main.channels[c][..boundary]
        );
        assert_eq!(
            muted.main.channels[c][boundary + BLEND..],
            input.channels[c][boundary + BLEND..],
            "ch{c}: loops muted from the boundary, the input still monitored"
        );
    }
}

#[test]
fn the_record_switch_parameter_records_at_its_automation_sample() {
    // A host automating the "cmd_record" switch (on at s, off a few samples later) records the
    // anchor exactly like note 47 does.
    let record = common::clap_host::param_id("cmd_record");
    let (s0, s1) = (S0 as u64, (S0 + L) as u64);
    let events: Vec<TimedEvent> = std::iter::once(quantize_off())
        .chain([s0, s1].iter().flat_map(|&at| {
            [
                TimedEvent::param_value(at, record, 1.0),
                TimedEvent::param_value(at + 8, record, 0.0),
            ]
        }))
        .collect();
    let input = tones(S0 + 3 * L, S0 + L);
    let mut plugin = TestPlugin::activate(RATE);
    let automated = plugin.run_fixed(&input, &events, BLOCK, None);
    plugin.deactivate();
    let by_note = render(&input, &[]);
    assert_eq!(
        automated, by_note,
        "same loop, same samples as with note 47"
    );
}
