//! A song built from the pedal alone, through the built CLAP plugin in a real host
//! (`clack-host`): only the default map's notes and CC foot switches. Record an anchor and a
//! second loop, overdub the second with feedback (CC 86), select the anchor (CC 80), halve its
//! speed (note 73) and mute it at its loop end (CC 83), select the second loop again, clear it
//! (note 75) and undo that (note 27), capture a one-shot (note 44) and strike it (note 36).
//! Each step is checked against the same song without it: it changes the output from its
//! sample on, and the undone clear leaves the output bit for bit as if it never happened.
//!
//! Rendered offline (`clap.render`), so the analysis thread never makes a run differ.
//!
//! Needs the bundle: run `cargo xtask bundle loopmate` first (or set `LOOPMATE_CLAP`).

mod common;

use common::clap_host::{Rendered, TestPlugin, TimedEvent, param_id, pedal_press, quantize_off};
use common::signal::gliding_tones;

const RATE: f64 = 48_000.0;
/// The default blend: 50 ms.
const BLEND: usize = 2_400;
/// The anchor: from `S0`, one second long.
const S0: usize = 10_007;
const L: usize = 48_000;
/// The player plays until here, then the loops are heard alone.
const PLAYED_UNTIL: usize = S0 + 6 * L;
const LEN: usize = S0 + 15 * L;

const RECORD: u8 = 47;
const UNDO: u8 = 27;
const HALF_SPEED: u8 = 73;
const CLEAR_SELECTED: u8 = 75;
const CAPTURE_ONE_SHOT: u8 = 44;
const PAD_1: u8 = 36;
const SELECT_NEXT_CC: u8 = 80;
const MUTE_AT_LOOP_END_CC: u8 = 83;
const OVERDUB_CC: u8 = 86;

/// The song's steps: (name, events).
fn steps() -> Vec<(&'static str, Vec<TimedEvent>)> {
    let note = |at: usize, key: u8| pedal_press(at as u64, key).to_vec();
    let switch = |at: usize, cc: u8| {
        vec![
            TimedEvent::cc(at as u64, 0, cc, 127),
            TimedEvent::cc(at as u64 + 300, 0, cc, 0),
        ]
    };
    vec![
        ("anchor", [note(S0, RECORD), note(S0 + L, RECORD)].concat()),
        (
            "second loop",
            [note(S0 + 2 * L, RECORD), note(S0 + 3 * L, RECORD)].concat(),
        ),
        (
            "overdub",
            [
                switch(S0 + 4 * L, OVERDUB_CC),
                switch(S0 + 5 * L, OVERDUB_CC),
            ]
            .concat(),
        ),
        (
            "one-shot capture",
            note(S0 + 5 * L + L / 2, CAPTURE_ONE_SHOT),
        ),
        ("select the anchor", switch(S0 + 7 * L, SELECT_NEXT_CC)),
        ("half speed", note(S0 + 7 * L + 2_001, HALF_SPEED)),
        (
            "mute at its loop end",
            switch(S0 + 8 * L + 3_003, MUTE_AT_LOOP_END_CC),
        ),
        (
            "select the second loop",
            switch(S0 + 10 * L, SELECT_NEXT_CC),
        ),
        ("clear it", note(S0 + 11 * L, CLEAR_SELECTED)),
        ("undo the clear", note(S0 + 11 * L + L / 2, UNDO)),
        ("strike", note(S0 + 13 * L + 777, PAD_1)),
    ]
}

/// The song without the steps named in `without`, in blocks of 512.
fn render(without: &[&str]) -> Rendered {
    let mut input = gliding_tones(RATE, LEN);
    for channel in &mut input.channels {
        channel[PLAYED_UNTIL..].fill(0.0);
    }
    let mut events: Vec<TimedEvent> = steps()
        .into_iter()
        .filter(|(name, _)| !without.contains(name))
        .flat_map(|(_, events)| events)
        .chain([
            // Exact boundaries from the presses, and 70 % feedback.
            quantize_off(),
            TimedEvent::param_value(0, param_id("dub_feedback"), 0.7),
        ])
        .collect();
    events.sort_by_key(|event| event.time);
    let mut plugin = TestPlugin::activate_offline(RATE);
    let rendered = plugin.run(&input, &events, std::iter::repeat(512), None);
    plugin.deactivate();
    rendered
}

/// The first sample where `a` and `b` differ (main output, either channel).
fn first_difference(a: &Rendered, b: &Rendered) -> Option<usize> {
    (0..LEN).find(|&t| (0..2).any(|c| a.main.channels[c][t] != b.main.channels[c][t]))
}

/// The largest difference between `a` and `b` over `range` (main output, left).
fn largest_difference(a: &Rendered, b: &Rendered, range: std::ops::Range<usize>) -> f32 {
    range
        .map(|t| (a.main.channels[0][t] - b.main.channels[0][t]).abs())
        .fold(0.0, f32::max)
}

#[test]
fn a_song_from_the_pedal_alone() {
    let song = render(&[]);
    let at = |name: &str| {
        steps()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, events)| events[0].time as usize)
            .expect("a step")
    };
    // Each step changes the output, from its sample on (the overdub one pass later, when the
    // loop comes round with its layer; the mute at the loop's end).
    for (name, from) in [
        ("overdub", at("overdub")),
        ("half speed", at("half speed")),
        ("mute at its loop end", at("mute at its loop end")),
        ("strike", at("strike")),
    ] {
        let without = render(&[name]);
        let first = first_difference(&song, &without).unwrap_or(LEN);
        assert!(
            first >= from,
            "{name}: the output changed at {first}, before its press at {from}"
        );
        assert!(first < LEN, "{name}: no change");
    }
    // The overdub is in the second loop after the input fell silent: 70 % of the loop and the
    // played cycle.
    let no_overdub = render(&["overdub"]);
    let layered = largest_difference(&song, &no_overdub, PLAYED_UNTIL..PLAYED_UNTIL + L);
    assert!(layered > 0.05, "the overdub is heard ({layered})");
    // The struck pad sounds from the note's sample exactly.
    let no_strike = render(&["strike"]);
    assert_eq!(first_difference(&song, &no_strike), Some(at("strike")));
    // Cleared: the second loop is gone; undone: it is back, bit for bit.
    let no_clear = render(&["clear it", "undo the clear"]);
    let cleared = largest_difference(
        &song,
        &no_clear,
        at("clear it") + BLEND..at("undo the clear"),
    );
    assert!(cleared > 0.05, "the clear is heard ({cleared})");
    let back = at("undo the clear") + BLEND;
    for c in 0..2 {
        assert!(
            song.main.channels[c][back..] == no_clear.main.channels[c][back..],
            "ch{c}: after undo the song is as if never cleared"
        );
    }
}
