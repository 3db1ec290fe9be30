//! The built CLAP plugin in a real host (`clack-host`): parameter automation at sample offsets,
//! the track bank, input gain, and MIDI CCs through the MIDI map, checked sample by sample.
//!
//! Needs the bundle: run `cargo xtask bundle loopmate` first (or set `LOOPMATE_CLAP`).

mod common;

use common::clap_host::{
    Rendered, Stereo, TestPlugin, TimedEvent, param_id, pedal_press, quantize_off,
};
use common::signal::gliding_tones;
use loopmate::midi_map::file;
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
    render_with_map(input, presses, events, blocks, None)
}

/// [`render`] after loading a state whose MIDI map is `map_file` (if given).
fn render_with_map(
    input: &Stereo,
    presses: &[(usize, u8)],
    events: &[TimedEvent],
    blocks: &[usize],
    map_file: Option<&str>,
) -> Rendered {
    let mut all: Vec<TimedEvent> = presses
        .iter()
        .flat_map(|&(at, note)| pedal_press(at as u64, note))
        .chain(events.iter().copied())
        // About exact press-to-press anchors.
        .chain(std::iter::once(quantize_off()))
        .collect();
    all.sort_by_key(|event| event.time);
    let mut plugin = TestPlugin::activate(RATE);
    if let Some(map_file) = map_file {
        let state = with_midi_map(&plugin.save_state(), map_file);
        assert!(plugin.load_state(&state), "the state loads");
        let ids = loopmate::params::mappable_param_ids();
        let saved = file::parse(&saved_midi_map(&plugin.save_state()), ids);
        assert_eq!(
            saved,
            file::parse(map_file, ids),
            "the loaded map is saved again"
        );
    }
    let rendered = plugin.run(input, &all, blocks.iter().copied().cycle(), None);
    plugin.deactivate();
    rendered
}

/// A nice-plug CLAP state: the JSON's length (8 bytes, little-endian), then the JSON.
fn state_json(state: &[u8]) -> serde_json::Value {
    assert!(state.len() > 8, "a state has a length and a body");
    serde_json::from_slice(&state[8..]).expect("the state is JSON")
}

/// The mapping-file text in a saved state.
fn saved_midi_map(state: &[u8]) -> String {
    let state = state_json(state);
    let field = state["fields"]["midi_map"]
        .as_str()
        .expect("the state has a midi_map field");
    serde_json::from_str(field).expect("the field holds a string")
}

/// `state` with its MIDI map replaced by `map_file`.
fn with_midi_map(state: &[u8], map_file: &str) -> Vec<u8> {
    let mut state = state_json(state);
    state["fields"]["midi_map"] =
        serde_json::Value::String(serde_json::to_string(map_file).expect("a string serializes"));
    let json = serde_json::to_vec(&state).expect("JSON serializes");
    [(json.len() as u64).to_le_bytes().to_vec(), json].concat()
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
        assert!(
            got[..a] == reference[..a],
            "ch{c}: nothing changes before a"
        );
        assert_ne!(got[a], reference[a], "ch{c}: the ramp starts at a");
        for t in a..b + 2 * BLEND {
            let gain = if t < b {
                ramp(1.0, 0.5, a, t)
            } else {
                ramp(0.5, 1.0, b, t)
            };
            assert_close(got[t], reference[t] * gain, &format!("ch{c} t={t}"));
        }
        assert!(
            automated.phones.channels[c] == plain.phones.channels[c],
            "ch{c}: the headphones keep their own loop level"
        );
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
        let (got, alone) = (&muted.main.channels[c], &anchor_only.main.channels[c]);
        assert!(got[..a] == both.main.channels[c][..a], "ch{c}: before a");
        for t in a + BLEND..S0 + 6 * L {
            assert_close(got[t], alone[t], &format!("t={t}"));
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

#[test]
fn the_state_holds_the_default_map_as_a_mapping_file() {
    let mut plugin = TestPlugin::activate(RATE);
    let text = saved_midi_map(&plugin.save_state());
    assert!(text.contains("version = 1"), "{text}");
    assert!(
        text.contains("[[binding]]\ncommand = \"record\"\nnote = 47\n"),
        "{text}"
    );
}

#[test]
fn a_cc_foot_switch_from_the_saved_map_records_at_its_samples() {
    // A foot switch on channel 3 sending CC 80 (127 pressed, 0 released) mapped to record: the
    // same anchor, sample for sample, as note 47 at the same times.
    let map = "version = 1\n[[binding]]\ncommand = \"record\"\ncc = 80\nchannel = 3\n";
    let input = tones(S0 + 3 * L, S0 + L);
    let switch: Vec<TimedEvent> = [S0, S0 + L]
        .iter()
        .flat_map(|&at| {
            [
                TimedEvent::cc(at as u64, 2, 80, 127),
                // A second value above the threshold, another channel's CC 80 and values below
                // the threshold do nothing.
                TimedEvent::cc(at as u64 + 20, 2, 80, 100),
                TimedEvent::cc(at as u64 + 40, 2, 80, 0),
                TimedEvent::cc(at as u64 + 90, 5, 80, 127),
                TimedEvent::cc(at as u64 + 100, 2, 80, 63),
            ]
        })
        .collect();
    let by_cc = render_with_map(&input, &[], &switch, &VARYING_BLOCKS, Some(map));
    let by_note = render(&input, &anchor(), &[], &[512]);
    assert!(by_cc == by_note, "the same loop as with note 47");
    let silent = render(&input, &[], &[], &[512]);
    assert!(by_cc != silent, "something was recorded");
}

#[test]
fn a_cc_mapped_to_a_track_parameter_sets_it_at_its_sample() {
    // CC 7 on channel 1 mapped to slot 1's gain: value 0 fades the anchor out from the CC's
    // sample, exactly as automating track_gain_1 there does, whatever the block sizes.
    let map = "version = 1\n[[binding]]\nparam = \"track_gain_1\"\ncc = 7\nchannel = 1\n\
               [[binding]]\ncommand = \"record\"\nnote = 47\n";
    let input = tones(S0 + 4 * L, S0 + L);
    let cc_at = S0 + 2 * L + 300;
    let cc = [TimedEvent::cc(cc_at as u64, 0, 7, 0)];
    let got = render_with_map(&input, &anchor(), &cc, &VARYING_BLOCKS, Some(map));
    let by_param = render(
        &input,
        &anchor(),
        &[set(cc_at, "track_gain_1", 0.0)],
        &[512],
    );
    assert!(
        got == by_param,
        "the same as automating track_gain_1 to -inf at the CC"
    );
    let plain = render(&input, &anchor(), &[], &[512]);
    for c in 0..2 {
        let got = &got.main.channels[c];
        assert!(
            got[..cc_at] == plain.main.channels[c][..cc_at],
            "ch{c}: before the CC"
        );
        assert_ne!(
            got[cc_at], plain.main.channels[c][cc_at],
            "ch{c}: the fade starts"
        );
        let tail = &got[cc_at + BLEND..];
        assert!(
            tail.iter().all(|&s| s == 0.0),
            "ch{c}: the anchor is silent"
        );
    }
}

#[test]
fn a_corrupt_map_in_the_state_falls_back_to_the_default() {
    let input = tones(S0 + 3 * L, S0 + L);
    let corrupt = "version = 1\n[[binding]\ncommand = 4\n";
    let mut plugin = TestPlugin::activate(RATE);
    let state = with_midi_map(&plugin.save_state(), corrupt);
    assert!(
        plugin.load_state(&state),
        "the rest of the state still loads"
    );
    let text = saved_midi_map(&plugin.save_state());
    assert!(text.contains("note = 47"), "the default map: {text}");
    let mut events: Vec<TimedEvent> = anchor()
        .iter()
        .flat_map(|&(at, note)| pedal_press(at as u64, note))
        .chain(std::iter::once(quantize_off()))
        .collect();
    events.sort_by_key(|event| event.time);
    let got = plugin.run(&input, &events, std::iter::repeat(512), None);
    assert!(
        got == render(&input, &anchor(), &[], &[512]),
        "note 47 records"
    );
}
