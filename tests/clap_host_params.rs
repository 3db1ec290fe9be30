//! The built CLAP plugin in a real host (`clack-host`): parameter automation at sample offsets,
//! the track bank, input gain and input modes (in both layouts), MIDI CCs through the MIDI map,
//! checked sample by sample, and every parameter's text reading back as its value.
//!
//! Needs the bundle: run `cargo xtask bundle loopmate` first (or set `LOOPMATE_CLAP`).

mod common;

use common::clap_host::{
    ParamInfo, Rendered, Stereo, TestPlugin, TimedEvent, param_id, pedal_press, quantize_off,
};
use common::signal::{gliding_tones, level_db};
use loopmate::midi_map::file;
use loopmate::params::LoopmateParams;
use nice_plug::prelude::{Param, ParamPtr, Params};

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

/// The value a CLAP host sends for `plain` of the parameter `id`: normalized, or for a stepped
/// parameter (nice-plug's int, enum and bool parameters) the step number.
fn clap_value(id: &str, plain: f32) -> f64 {
    let params = LoopmateParams::default();
    let map = nice_plug::prelude::Params::param_map(&params);
    let (_, ptr, _) = map
        .iter()
        .find(|(param, _, _)| param == id)
        .unwrap_or_else(|| panic!("no parameter {id}"));
    // SAFETY: `ptr` points into `params`, alive here.
    let (normalized, steps) = unsafe { (ptr.preview_normalized(plain), ptr.step_count()) };
    f64::from(normalized) * steps.unwrap_or(1) as f64
}

/// A parameter change to `plain` of `id` at `time`.
fn set(time: usize, id: &str, plain: f32) -> TimedEvent {
    TimedEvent::param_value(time as u64, param_id(id), clap_value(id, plain))
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
fn a_loop_selected_by_note_and_cc_switches_gets_the_selected_loop_parameters_at_their_sample() {
    // Two loops; the newest (the overdub) selected itself. Note 60 selects loop 1, the default
    // CC 80 switch (127 pressed, 0 released) selects the next loop twice, wrapping back to loop
    // 1: `selected_mute` then mutes the anchor from its sample, exactly as `track_mute_1` does.
    // Selecting the overdub afterwards applies nothing to it. Selecting changes no sample.
    const SELECT_LOOP_1: u8 = 60;
    const SELECT_NEXT_CC: u8 = 80;
    let input = tones(S0 + 6 * L, S0 + 3 * L);
    let two_tracks = [anchor(), vec![(S0 + 2 * L, RECORD), (S0 + 3 * L, RECORD)]].concat();
    let a = S0 + 4 * L + 1_234;
    let switch = |at: usize| {
        [
            TimedEvent::cc(at as u64, 0, SELECT_NEXT_CC, 127),
            TimedEvent::cc(at as u64 + 300, 0, SELECT_NEXT_CC, 0),
        ]
    };
    let mut events: Vec<TimedEvent> = [a - 4_000, a - 2_000, a + 5_000]
        .into_iter()
        .flat_map(switch)
        .collect();
    events.extend(pedal_press((a - 6_000) as u64, SELECT_LOOP_1));
    events.push(set(a, "selected_mute", 1.0));
    let by_selection = render(&input, &two_tracks, &events, &VARYING_BLOCKS);
    let by_slot = render(&input, &two_tracks, &[set(a, "track_mute_1", 1.0)], &[512]);
    let both = render(&input, &two_tracks, &[], &[512]);
    for c in 0..2 {
        let got = &by_selection.main.channels[c];
        assert!(
            got[..a] == both.main.channels[c][..a],
            "ch{c}: selecting is silent"
        );
        assert_ne!(
            got[a], both.main.channels[c][a],
            "ch{c}: the mute starts at a"
        );
        assert!(
            *got == by_slot.main.channels[c],
            "ch{c}: the anchor muted at a, the overdub untouched"
        );
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
fn every_input_mode_records_and_monitors_its_channels_in_both_layouts() {
    // The anchor is recorded from the test tones (left about 2 dB above right, different
    // pitches); then the input is silent and the loop plays alone.
    let input = tones(S0 + 3 * L, S0 + L);
    let [left, right] = &input.channels;
    let sum: Vec<f32> = left.iter().zip(right).map(|(l, r)| 0.5 * (l + r)).collect();
    let modes = ["Stereo", "Left", "Right", "Mono sum"];
    for layout in ["Stereo", "Mono in"] {
        for (index, mode) in modes.iter().enumerate() {
            // What the player hears and records, left and right: the one input in every mode
            // with the mono-in layout (the host sends only the left channel).
            let expected: [&[f32]; 2] = match (layout, *mode) {
                ("Mono in", _) | (_, "Left") => [left, left],
                (_, "Stereo") => [left, right],
                (_, "Right") => [right, right],
                _ => [&sum, &sum],
            };
            let mut events: Vec<TimedEvent> = anchor()
                .iter()
                .flat_map(|&(at, note)| pedal_press(at as u64, note))
                .chain([quantize_off(), set(0, "input_mode", index as f32)])
                .collect();
            events.sort_by_key(|event| event.time);
            let mut plugin = TestPlugin::activate_with_layout(RATE, layout);
            let out = plugin.run_fixed(&input, &events, 512, None);
            plugin.deactivate();
            // The take before its seam, and where the loop plays it back a cycle later.
            let take = S0..S0 + L - BLEND;
            let played = S0 + L..S0 + 2 * L - BLEND;
            for (c, (expected, main)) in expected.iter().zip(&out.main.channels).enumerate() {
                let what = format!("{layout} layout, input {mode}, channel {c}");
                let want_db = level_db(&expected[take.clone()]);
                let monitored_db = level_db(&main[take.clone()]);
                assert!(
                    (monitored_db - want_db).abs() < 0.1,
                    "{what}: monitored at {monitored_db:.2} dB, played at {want_db:.2} dB"
                );
                let looped_db = level_db(&main[played.clone()]);
                assert!(
                    (looped_db - want_db).abs() < 0.1,
                    "{what}: the loop plays at {looped_db:.2} dB, played at {want_db:.2} dB"
                );
            }
        }
    }
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
fn ccs_and_presses_in_one_block_act_at_their_samples() {
    // In one block (at most block sizes): a CC that sets the loop gain to +6 dB, a mix-mute press
    // 60 samples later, 40 samples after that a CC that sets the input latency to 200 ms, and a
    // second press 40 samples after the CC. The gain ramps from its CC, the first press acts at
    // its sample and the second 200 ms after its own, whatever the block sizes: the same as
    // automating both parameters at their CCs' samples.
    let map = "version = 1\n[[binding]]\nparam = \"input_latency_ms\"\ncc = 20\nchannel = 1\n\
               [[binding]]\nparam = \"loop_gain\"\ncc = 21\nchannel = 1\n\
               [[binding]]\ncommand = \"record\"\nnote = 47\n\
               [[binding]]\ncommand = \"mute_mix\"\nnote = 50\n";
    const MUTE: u8 = 50;
    const LATENCY: usize = 9_600;
    let input = tones(S0 + 4 * L, S0 + L);
    let latency_at = S0 + 2 * L + 300;
    let (gain_at, mute_at, unmute_at) = (latency_at - 100, latency_at - 40, latency_at + 40);
    let mut presses = anchor();
    presses.extend([(mute_at, MUTE), (unmute_at, MUTE)]);
    let ccs = [
        TimedEvent::cc(gain_at as u64, 0, 21, 127),
        TimedEvent::cc(latency_at as u64, 0, 20, 127),
    ];
    let automation = [
        TimedEvent::param_value(gain_at as u64, param_id("loop_gain"), 1.0),
        set(latency_at, "input_latency_ms", 200.0),
    ];
    let by_param = render_with_map(&input, &presses, &automation, &[512], Some(map));
    // One block holds the CCs and the presses at 4096 and at 1000.
    for blocks in [&[4096][..], &[1000], &VARYING_BLOCKS] {
        let got = render_with_map(&input, &presses, &ccs, blocks, Some(map));
        assert!(
            got == by_param,
            "blocks {blocks:?}: the same as automating the parameters at the CCs"
        );
    }
    let plain = render_with_map(&input, &anchor(), &[], &[512], Some(map));
    let unmuted = unmute_at + LATENCY;
    for c in 0..2 {
        let (got, plain) = (&by_param.main.channels[c], &plain.main.channels[c]);
        assert!(got[..gain_at] == plain[..gain_at], "ch{c}: before the CC");
        assert_ne!(
            got[gain_at], plain[gain_at],
            "ch{c}: the gain ramps from the CC"
        );
        assert!(
            got[mute_at + BLEND..unmuted].iter().all(|&s| s == 0.0),
            "ch{c}: muted from the first press until the second plus the new latency"
        );
        assert!(
            got[unmuted..unmuted + 10].iter().any(|&s| s != 0.0),
            "ch{c}: the fade in starts then"
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

/// Values tried of each continuous parameter, evenly spread over its range.
const CONTINUOUS_VALUES: usize = 100;
/// How far a text round trip may move a level, in dB: half the 0.1 dB its text shows (a player
/// typing back "-3.4 dB" gets -3.4 dB, at most 0.05 dB from what was set), plus float rounding.
const LEVEL_TOLERANCE_DB: f32 = 0.051;
/// Levels below this (-100 dB) show as "-inf dB" and read back as silence, as they sound.
const SHOWN_AS_SILENCE: f32 = 1e-5;
/// How far a text round trip may move any other continuous parameter, as a fraction of its
/// range: their texts show every digit the plugin uses (the step of those that have one: 0.1 ms,
/// 1 ms, 1 Hz, 1 % of pan, 0.1 dB of ceiling; else the full float), so only float rounding in
/// the plugin's normalizing remains.
const PLAIN_TOLERANCE: f32 = 1e-5;

/// Why the round trip value -> text -> value of the parameter `param` (described by `info`)
/// from `value` (a CLAP value) through `text` to `back` does not give the same value, if it
/// does not. Stepped parameters must come back on the same normalized value; continuous ones to
/// the same value the plugin uses, within the precision of the text.
fn round_trip_error(
    info: &ParamInfo,
    param: ParamPtr,
    value: f64,
    text: &str,
    back: f64,
) -> Option<String> {
    let normalized = |clap_value: f64| (clap_value / info.max_value) as f32;
    if info.stepped {
        return (normalized(back) != normalized(value))
            .then(|| format!("step {value} shows {text:?}, which reads back as {back}"));
    }
    // SAFETY: `param` points into parameters the caller keeps alive.
    let (unit, plain, back_plain, lowest, highest) = unsafe {
        (
            param.unit(),
            param.preview_plain(normalized(value)),
            param.preview_plain(normalized(back)),
            param.preview_plain(0.0),
            param.preview_plain(1.0),
        )
    };
    let off_by = if unit == " dB" {
        let db = |gain: f32| 20.0 * gain.log10();
        let both_silent = plain < SHOWN_AS_SILENCE && back_plain < SHOWN_AS_SILENCE;
        let off_db = if both_silent {
            0.0
        } else {
            (db(back_plain) - db(plain)).abs()
        };
        (off_db > LEVEL_TOLERANCE_DB).then(|| format!("{off_db} dB"))
    } else {
        let off = (back_plain - plain).abs();
        (off > PLAIN_TOLERANCE * (highest - lowest)).then(|| format!("{off}{unit}"))
    };
    off_by.map(|off_by| {
        format!(
            "{plain}{unit} shows {text:?}, which reads back as {back_plain}{unit}: {off_by} off"
        )
    })
}

#[test]
fn every_parameter_value_shows_as_text_that_reads_back_as_the_same_value() {
    // What a host does when the player types a value it showed (and what the CLAP validator's
    // param-conversions test does): value -> text -> value, for every step of a stepped parameter
    // and values across the range of a continuous one.
    let mut plugin = TestPlugin::activate(RATE);
    let params = LoopmateParams::default();
    let by_clap_id: std::collections::HashMap<u32, ParamPtr> = (params.param_map().into_iter())
        .map(|(id, ptr, _)| (param_id(&id), ptr))
        .collect();
    let infos = plugin.params();
    assert_eq!(
        infos.len(),
        by_clap_id.len(),
        "every parameter is a CLAP parameter"
    );
    let mut failures = Vec::new();
    let mut round_trips = 0;
    for info in &infos {
        let param = by_clap_id[&info.id];
        let values: Vec<f64> = if info.stepped {
            (0..=info.max_value as u32).map(f64::from).collect()
        } else {
            (0..CONTINUOUS_VALUES)
                .map(|n| info.max_value * n as f64 / (CONTINUOUS_VALUES - 1) as f64)
                .collect()
        };
        for value in values {
            round_trips += 1;
            let text = (plugin.value_to_text(info.id, value))
                .unwrap_or_else(|| panic!("{}: no text for {value}", info.name));
            let Some(back) = plugin.text_to_value(info.id, &text) else {
                failures.push(format!(
                    "{}: {value} shows {text:?}, which does not read",
                    info.name
                ));
                continue;
            };
            if let Some(error) = round_trip_error(info, param, value, &text, back) {
                failures.push(format!("{}: {error}", info.name));
            }
            // What is typed back shows as what was seen.
            let shown = plugin.value_to_text(info.id, back);
            if shown.as_deref() != Some(text.as_str()) {
                failures.push(format!(
                    "{}: {text:?} reads back as {back}, shown as {shown:?}",
                    info.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {round_trips} round trips fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn overdub_by_note_cc_switch_and_host_switch_layers_the_same_loop_at_their_samples() {
    // The anchor, then an overdub over its third cycle: pressed by note 76, by the default CC
    // 86 foot switch (127 pressed, 0 released), and by the host switch `cmd_overdub`, each at
    // the cycle's boundaries. All three give the same output, sample for sample, at any block
    // size; later passes play the anchor with the played cycle layered over it.
    const OVERDUB: u8 = 76;
    const OVERDUB_CC: u8 = 86;
    let (d0, d1) = (S0 + 2 * L, S0 + 3 * L);
    let input = tones(S0 + 6 * L, d1 + BLEND);
    let switch = param_id("cmd_overdub");
    let by_note = render(
        &input,
        &[anchor(), vec![(d0, OVERDUB), (d1, OVERDUB)]].concat(),
        &[],
        &VARYING_BLOCKS,
    );
    let cc_events: Vec<TimedEvent> = [d0, d1]
        .into_iter()
        .flat_map(|at| {
            [
                TimedEvent::cc(at as u64, 0, OVERDUB_CC, 127),
                TimedEvent::cc(at as u64 + 300, 0, OVERDUB_CC, 0),
            ]
        })
        .collect();
    let by_cc = render(&input, &anchor(), &cc_events, &[512]);
    let host_events: Vec<TimedEvent> = [d0, d1]
        .into_iter()
        .flat_map(|at| {
            [
                TimedEvent::param_value(at as u64, switch, 1.0),
                TimedEvent::param_value(at as u64 + 8, switch, 0.0),
            ]
        })
        .collect();
    let by_host = render(&input, &anchor(), &host_events, &[64]);
    let anchor_only = render(&input, &anchor(), &[], &[512]);
    for c in 0..2 {
        assert!(
            by_note.main.channels[c] == by_cc.main.channels[c],
            "ch{c}: note = CC"
        );
        assert!(
            by_note.main.channels[c] == by_host.main.channels[c],
            "ch{c}: note = host switch"
        );
        // Two passes later, away from the punches' fades: the anchor plus the cycle played.
        for t in d1 + L + BLEND..d1 + 2 * L - BLEND {
            let layered = by_note.main.channels[c][t] - anchor_only.main.channels[c][t];
            let played = input.channels[c][d0 + (t - d0) % L];
            assert_close(layered, played, &format!("ch{c} t={t}"));
        }
    }
}

#[test]
fn selected_speed_and_the_half_speed_switch_halve_the_selected_loop_at_their_sample() {
    const HALF_SPEED: u8 = 73;
    let input = tones(S0 + 5 * L, S0 + L);
    let at = S0 + 2 * L + 777;
    let by_note = render(
        &input,
        &[anchor(), vec![(at, HALF_SPEED)]].concat(),
        &[],
        &[512],
    );
    let by_param = render(
        &input,
        &anchor(),
        &[set(at, "selected_speed", 1.0)],
        &VARYING_BLOCKS,
    );
    let switch = param_id("cmd_half_speed_selected");
    let by_switch = render(
        &input,
        &anchor(),
        &[
            TimedEvent::param_value(at as u64, switch, 1.0),
            TimedEvent::param_value(at as u64 + 8, switch, 0.0),
        ],
        &[64],
    );
    let plain = render(&input, &anchor(), &[], &[512]);
    for c in 0..2 {
        let got = &by_param.main.channels[c];
        assert!(
            got[..at] == plain.main.channels[c][..at],
            "ch{c}: nothing before"
        );
        assert_ne!(
            got[at + BLEND],
            plain.main.channels[c][at + BLEND],
            "ch{c}: slower"
        );
        assert!(
            *got == by_note.main.channels[c],
            "ch{c}: parameter = note 73"
        );
        assert!(
            *got == by_switch.main.channels[c],
            "ch{c}: parameter = switch"
        );
    }
}
