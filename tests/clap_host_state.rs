//! The performance saved with the host's project, in a real host (`clack-host` and the built
//! CLAP bundle): loops recorded through MIDI, the state saved through `clap.state`, loaded into
//! fresh instances (before activation, and into one already playing other loops), which then
//! play the same audio in phase; damaged states refused without a crash.
//!
//! Needs the bundle: run `cargo xtask bundle loopmate` first (or set `LOOPMATE_CLAP`).

mod common;

use common::clap_host::{Rendered, Stereo, TestPlugin, TimedEvent, pedal_press};
use common::signal::gliding_tones;

const RATE: f64 = 48_000.0;
/// The default blend (50 ms): the fade-in of a loaded performance.
const BLEND: usize = 2_400;
/// The declick fade-out before a loaded performance replaces playing loops (5 ms).
const DECLICK: usize = 240;
const S0: usize = 10_007;
const L: usize = 48_000;
const BLOCK: usize = 512;
const RECORD: u8 = 47;

/// An instance that recorded an anchor and an overdub two cycles long (through MIDI notes) and
/// plays them, its input silent since.
fn playing_two_loops() -> TestPlugin {
    let overdub = (S0 + 2 * L + L / 3, S0 + 2 * L + L / 3 + 3 * L / 2);
    let len = overdub.1 + 2 * L;
    let mut input = gliding_tones(RATE, len);
    for channel in &mut input.channels {
        channel[overdub.1..].fill(0.0);
    }
    let events: Vec<TimedEvent> = [S0, S0 + L, overdub.0, overdub.1]
        .iter()
        .flat_map(|&at| pedal_press(at as u64, RECORD))
        .collect();
    let mut plugin = TestPlugin::activate(RATE);
    plugin.run_fixed(&input, &events, BLOCK, None);
    plugin
}

fn silence(plugin: &mut TestPlugin, len: usize) -> Rendered {
    plugin.run(
        &Stereo::silence(len),
        &[],
        [BLOCK, 64, 1000].into_iter().cycle(),
        None,
    )
}

fn assert_loud(signal: &Stereo) {
    assert!(
        signal
            .channels
            .iter()
            .all(|c| c.iter().any(|s| s.abs() > 0.1)),
        "the loops play"
    );
}

#[test]
fn a_saved_project_loads_into_a_fresh_instance_and_plays_the_same_in_phase() {
    let mut original = playing_two_loops();
    let state = original.save_state();
    let (mut loaded, accepted) = TestPlugin::activate_after_loading(RATE, Some(&state));
    assert!(accepted, "the host's load succeeds");

    let len = 4 * L;
    let expected = silence(&mut original, len);
    let got = silence(&mut loaded, len);
    assert_loud(&expected.main);
    for c in 0..2 {
        // Sample for sample after the loaded loops' fade-in.
        assert_eq!(
            expected.main.channels[c][BLEND..],
            got.main.channels[c][BLEND..],
            "main {c}"
        );
        assert_eq!(
            expected.phones.channels[c][BLEND..],
            got.phones.channels[c][BLEND..],
            "phones {c}"
        );
    }
    // Saving the loaded instance gives the same performance again (both moved on by `len`).
    assert_eq!(original.save_state(), loaded.save_state());
}

#[test]
fn a_state_loaded_into_a_playing_instance_replaces_its_loops_after_a_declick() {
    let mut original = playing_two_loops();
    let state = original.save_state();
    let mut other = TestPlugin::activate(RATE);
    // The other instance plays a loop of its own (1.5 cycles of the tones, another length).
    let input = gliding_tones(RATE, 5 * L);
    let events: Vec<TimedEvent> = [1_000, 1_000 + 3 * L / 2]
        .iter()
        .flat_map(|&at| pedal_press(at as u64, RECORD))
        .collect();
    other.run_fixed(&input, &events, BLOCK, None);
    assert!(other.load_state(&state));

    let len = 4 * L;
    let expected = silence(&mut original, len);
    let got = silence(&mut other, len);
    for c in 0..2 {
        let fade = &got.main.channels[c][..DECLICK];
        assert!(
            fade.windows(2).all(|w| (w[1] - w[0]).abs() < 0.05),
            "no click"
        );
        assert_eq!(
            expected.main.channels[c][BLEND..len - DECLICK],
            got.main.channels[c][DECLICK + BLEND..],
            "channel {c}: the loaded loops from the saved position"
        );
    }
}

/// The performance field's text inside the host state (8-byte length, then nice-plug's JSON).
fn performance_text(state: &[u8]) -> (serde_json::Value, String) {
    let json: serde_json::Value = serde_json::from_slice(&state[8..]).expect("nice-plug JSON");
    let field = json["fields"]["performance"]
        .as_str()
        .expect("the field")
        .to_owned();
    let text: String = serde_json::from_str(&field).expect("a JSON string");
    (json, text)
}

/// The host state with the performance field replaced by `text`.
fn with_performance_text(mut json: serde_json::Value, text: &str) -> Vec<u8> {
    json["fields"]["performance"] = serde_json::Value::String(serde_json::to_string(text).unwrap());
    let body = serde_json::to_vec(&json).unwrap();
    let mut out = (body.len() as u64).to_le_bytes().to_vec();
    out.extend(body);
    out
}

#[test]
fn damaged_states_are_refused_without_a_crash_and_the_plugin_still_works() {
    let mut original = playing_two_loops();
    let state = original.save_state();
    let (json, text) = performance_text(&state);
    let binary = loopmate::state::text::decode(&text).expect("base64");

    let mut flipped = binary.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    let mut future = binary.clone();
    future[8..12].copy_from_slice(&(loopmate::state::format::FORMAT_VERSION + 1).to_le_bytes());
    let damaged_fields = [
        with_performance_text(json.clone(), &loopmate::state::text::encode(&flipped)),
        with_performance_text(json.clone(), &loopmate::state::text::encode(&future)),
        with_performance_text(
            json.clone(),
            &loopmate::state::text::encode(&binary[..binary.len() / 3]),
        ),
        with_performance_text(json.clone(), "not base64!"),
    ];
    for damaged in &damaged_fields {
        let (mut plugin, _) = TestPlugin::activate_after_loading(RATE, Some(damaged));
        let out = silence(&mut plugin, L);
        assert!(
            out.main.channels.iter().flatten().all(|&s| s == 0.0),
            "a refused performance leaves the plugin empty"
        );
        // Still working: a loop records and plays.
        let input = gliding_tones(RATE, 3 * L);
        let at = plugin.position() as usize;
        let events: Vec<TimedEvent> = [at + 100, at + 100 + L]
            .iter()
            .flat_map(|&t| pedal_press(t as u64, RECORD))
            .collect();
        let mut silent_after = input.clone();
        for channel in &mut silent_after.channels {
            channel[L + 100..].fill(0.0);
        }
        let out = plugin.run_fixed(&silent_after, &events, BLOCK, None);
        assert_loud(&Stereo {
            channels: [
                out.main.channels[0][2 * L..].to_vec(),
                out.main.channels[1][2 * L..].to_vec(),
            ],
        });
    }

    // Broken host data (truncated, not JSON): the load fails, the playing instance keeps its loops.
    for broken in [
        &state[..state.len() / 2],
        &b"\x10\0\0\0\0\0\0\0not json at all!"[..],
    ] {
        assert!(!original.load_state(broken), "refused");
        assert_loud(&silence(&mut original, 2 * L).main);
    }
}
