//! The built CLAP plugin in a real host (`clack-host`): the anchor loop, checked sample by sample.
//!
//! Needs the bundle: run `cargo xtask bundle loopmate` first (or set `LOOPMATE_CLAP`).
//!
//! Scenario: gliding test tones play; note 47 at `s0` starts the first take and note 47 at `s1` stops
//! it, making the anchor loop of length `L = s1 - s0`. The input is silent from `s1` on, so the
//! main output after `s1` is the loop alone: `x[s0 + i]` for `i < L - B`, then the seam crossfade
//! from the end of the take to the pre-roll before `s0` over the blend `B` (50 ms).

mod common;

use common::clap_host::{
    PLUGIN_ID, Rendered, Stereo, TestPlugin, TimedEvent, factory_plugin_ids, pedal_press,
    quantize_off,
};
use common::signal::gliding_tones;

/// Note that starts and stops a take.
const RECORD_NOTE: u8 = 47;
/// Note that undoes the last track.
const UNDO_NOTE: u8 = 27;
/// Where the first take starts: off every block boundary, with more than a blend of pre-roll.
const TAKE_START: usize = 10_007;
/// Length of the first take, in seconds.
const TAKE_SECS: f64 = 1.3;
/// Allowed difference where the plugin computes the mix in its own order.
const TOLERANCE: f32 = 1e-5;
/// The block size of a typical host.
const HOST_BLOCK: usize = 512;
/// Block sizes (cycled) for the block-size invariance run, after its single-sample blocks.
const VARYING_BLOCKS: [usize; 12] = [1, 7, 64, 511, 512, 4096, 13, 2, 1000, 3, 2048, 333];
/// How many single-sample blocks the block-size invariance run starts with.
const SINGLE_SAMPLE_BLOCKS: usize = 3_000;

/// The seam crossfade length for `sample_rate`: 50 ms, rounded.
fn blend_samples(sample_rate: f64) -> usize {
    (0.050 * sample_rate).round() as usize
}

/// One anchor recording: the signal, the two presses and what the loop must contain.
struct AnchorScenario {
    /// Sample rate.
    sample_rate: f64,
    /// Absolute sample of the press that starts the take.
    s0: usize,
    /// Absolute sample of the press that ends it; playback starts here.
    s1: usize,
    /// Seam crossfade length.
    blend: usize,
    /// Input: the test tone, silent from `s1` on unless the scenario keeps it playing.
    input: Stereo,
    /// The two pedal presses (note-on and note-off each).
    events: Vec<TimedEvent>,
}

impl AnchorScenario {
    /// A take of [`TAKE_SECS`] from [`TAKE_START`], then `cycles_after` loop cycles (plus a
    /// little); the input goes silent at `s1` unless `keep_playing`.
    fn new(sample_rate: f64, cycles_after: f64, keep_playing: bool) -> Self {
        let s0 = TAKE_START;
        let s1 = s0 + (TAKE_SECS * sample_rate).round() as usize;
        let blend = blend_samples(sample_rate);
        assert!(s0 >= blend, "the take needs a blend of pre-roll");
        for press in [s0, s1] {
            assert_ne!(press % HOST_BLOCK, 0, "presses must fall inside blocks");
        }
        let len = s1 + ((s1 - s0) as f64 * cycles_after) as usize + 1_000;
        let mut input = gliding_tones(sample_rate, len);
        if !keep_playing {
            for channel in &mut input.channels {
                channel[s1..].fill(0.0);
            }
        }
        let events = std::iter::once(quantize_off())
            .chain(
                [s0, s1]
                    .into_iter()
                    .flat_map(|press| pedal_press(press as u64, RECORD_NOTE)),
            )
            .collect();
        Self {
            sample_rate,
            s0,
            s1,
            blend,
            input,
            events,
        }
    }

    /// The anchor loop length `L`.
    fn loop_len(&self) -> usize {
        self.s1 - self.s0
    }

    /// The loop the spec asks for, one `L`-sample vector per channel: the take, whose last `B`
    /// samples are crossfaded with the `B` samples before its start (`w(j) = (j+1)/(B+1)`).
    fn expected_loop(&self) -> [Vec<f32>; 2] {
        let (s0, s1, blend, len) = (self.s0, self.s1, self.blend, self.loop_len());
        self.input.channels.clone().map(|x| {
            (0..len)
                .map(|i| {
                    if i < len - blend {
                        x[s0 + i]
                    } else {
                        let j = i - (len - blend);
                        let w = (j + 1) as f32 / (blend + 1) as f32;
                        x[s1 - blend + j] * (1.0 - w) + x[s0 - blend + j] * w
                    }
                })
                .collect()
        })
    }

    /// Where loop sample `i` comes from, for failure messages.
    fn describe_loop_index(&self, i: usize) -> String {
        let body = self.loop_len() - self.blend;
        if i < body {
            format!("loop sample {i}, the take's sample {}", self.s0 + i)
        } else {
            format!("loop sample {i}, seam crossfade step j = {}", i - body)
        }
    }

    /// Runs the scenario through a freshly activated plugin in blocks from `block_sizes`,
    /// with `extra_events` besides the two presses.
    fn render(
        &self,
        block_sizes: impl IntoIterator<Item = usize>,
        extra_events: &[TimedEvent],
    ) -> Rendered {
        let mut plugin = TestPlugin::activate(self.sample_rate);
        let events: Vec<TimedEvent> = self.events.iter().chain(extra_events).copied().collect();
        let rendered = plugin.run(&self.input, &events, block_sizes, None);
        plugin.deactivate();
        rendered
    }
}

/// Panics unless the Headphones output equals the main output exactly.
fn assert_phones_equal_main(rendered: &Rendered) {
    for (channel, (main, phones)) in rendered
        .main
        .channels
        .iter()
        .zip(&rendered.phones.channels)
        .enumerate()
    {
        if let Some(t) = (0..main.len()).find(|&t| main[t].to_bits() != phones[t].to_bits()) {
            panic!(
                "channel {channel}: Headphones differs from main at sample {t}: main {}, \
                 Headphones {}",
                main[t], phones[t]
            );
        }
    }
}

/// Panics unless `got[t] == input[t]` exactly for every `t` in `range` on both channels.
fn assert_exactly_input(rendered: &Stereo, input: &Stereo, range: std::ops::Range<usize>) {
    for channel in 0..2 {
        let (got, want) = (&rendered.channels[channel], &input.channels[channel]);
        if let Some(t) = range.clone().find(|&t| got[t] != want[t]) {
            panic!(
                "channel {channel}, sample {t}: main output should be the input exactly \
                 (range {range:?}); expected {}, got {} (difference {:e})",
                want[t],
                got[t],
                got[t] - want[t]
            );
        }
    }
}

/// If the loop body is the take shifted by a few samples (a timing error), says by how much:
/// probing a window well inside the first cycle, `got[s1 + k] == x[s0 + k + lag]`.
fn find_lag(got: &[f32], s1: usize, x: &[f32], s0: usize) -> Option<isize> {
    const PROBE: usize = 1_000;
    const WINDOW: usize = 256;
    const MAX_LAG: isize = 600;
    (-MAX_LAG..=MAX_LAG).find(|&lag| {
        (PROBE..PROBE + WINDOW).all(|k| {
            let source = (s0 + k) as isize + lag;
            source >= 0
                && (source as usize) < x.len()
                && (got[s1 + k] - x[source as usize]).abs() <= TOLERANCE
        })
    })
}

/// Checks a scenario with silent input after `s1`: exactly the input before `s1`; from `s1` the
/// loop per the spec (formula within [`TOLERANCE`]); the second cycle identical to the first;
/// Headphones equal to main.
fn check_anchor(scenario: &AnchorScenario, rendered: &Rendered) {
    let (s0, s1, len) = (scenario.s0, scenario.s1, scenario.loop_len());
    let main = &rendered.main;
    assert_eq!(main.len(), scenario.input.len(), "output length");
    assert_exactly_input(main, &scenario.input, 0..s1);

    let expected = scenario.expected_loop();
    for (channel, want) in expected.iter().enumerate() {
        let got = &main.channels[channel];
        for t in s1..got.len() {
            let i = (t - s1) % len;
            if (got[t] - want[i]).abs() > TOLERANCE {
                let lag = match find_lag(got, s1, &scenario.input.channels[channel], s0) {
                    Some(lag) if lag != 0 => format!(
                        "; note: the loop body is the take shifted by {lag} samples \
                         (output[s1 + k] == x[s0 + k + {lag}])"
                    ),
                    _ => String::new(),
                };
                panic!(
                    "{} Hz, channel {channel}, sample {t} (s0 = {s0}, s1 = {s1}, L = {len}, \
                     cycle {}, {}): expected {}, got {} (difference {:e}){lag}",
                    scenario.sample_rate,
                    (t - s1) / len,
                    scenario.describe_loop_index(i),
                    want[i],
                    got[t],
                    got[t] - want[i]
                );
            }
        }
        let second_cycle = s1 + len;
        assert!(got.len() >= second_cycle + len, "the run covers two cycles");
        if let Some(i) = (0..len).find(|&i| got[second_cycle + i] != got[s1 + i]) {
            panic!(
                "{} Hz, channel {channel}: the second cycle differs from the first at loop \
                 sample {i}: first cycle {}, second cycle {}",
                scenario.sample_rate,
                got[s1 + i],
                got[second_cycle + i]
            );
        }
    }
    assert_phones_equal_main(rendered);
}

/// Records the anchor at `sample_rate` in 512-sample blocks and checks it.
fn anchor_at(sample_rate: f64) {
    let scenario = AnchorScenario::new(sample_rate, 2.2, false);
    let rendered = scenario.render(std::iter::repeat(HOST_BLOCK), &[]);
    check_anchor(&scenario, &rendered);
}

#[test]
fn the_bundle_holds_one_loopmate_plugin() {
    assert_eq!(
        factory_plugin_ids(),
        [PLUGIN_ID.to_str().expect("the id is UTF-8")]
    );
}

#[test]
fn anchor_loop_at_48k() {
    anchor_at(48_000.0);
}

#[test]
fn anchor_loop_at_44k1() {
    anchor_at(44_100.0);
}

#[test]
fn anchor_loop_at_96k() {
    anchor_at(96_000.0);
}

/// Single-sample blocks, then a cycle of odd and large sizes, give bit-identical output to
/// 512-sample blocks (and so the same anchor).
#[test]
fn anchor_loop_does_not_depend_on_block_sizes() {
    let scenario = AnchorScenario::new(48_000.0, 2.2, false);
    let reference = scenario.render(std::iter::repeat(HOST_BLOCK), &[]);
    let sizes =
        || std::iter::repeat_n(1, SINGLE_SAMPLE_BLOCKS).chain(VARYING_BLOCKS.into_iter().cycle());
    let varying = scenario.render(sizes(), &[]);

    for (name, reference, varying) in [
        ("main", &reference.main, &varying.main),
        ("Headphones", &reference.phones, &varying.phones),
    ] {
        for channel in 0..2 {
            let (a, b) = (&reference.channels[channel], &varying.channels[channel]);
            assert_eq!(a.len(), b.len(), "output length");
            if let Some(t) = (0..a.len()).find(|&t| a[t].to_bits() != b[t].to_bits()) {
                let (block_start, block_len) = sizes()
                    .scan(0, |start, size| {
                        let block = (*start, size);
                        *start += size;
                        Some(block)
                    })
                    .find(|&(start, size)| t < start + size)
                    .expect("the sequence is endless");
                panic!(
                    "{name} channel {channel}, sample {t}: 512-sample blocks give {}, varying \
                     blocks give {} (in the block of {block_len} samples starting at \
                     {block_start}; s0 = {}, s1 = {})",
                    a[t], b[t], scenario.s0, scenario.s1
                );
            }
        }
    }
    check_anchor(&scenario, &varying);
}

/// Note 27 after the anchor plays fades the loop out over the blend; from then on the output is
/// exactly the input again.
#[test]
fn undo_fades_the_anchor_out() {
    let scenario = AnchorScenario::new(48_000.0, 1.7, true);
    let (s1, len, blend) = (scenario.s1, scenario.loop_len(), scenario.blend);
    let undo_at = s1 + len / 2 + 123;
    let rendered = scenario.render(
        std::iter::repeat(HOST_BLOCK),
        &pedal_press(undo_at as u64, UNDO_NOTE),
    );
    let (main, input) = (&rendered.main, &scenario.input);

    assert_exactly_input(main, input, 0..s1);
    let expected = scenario.expected_loop();
    for (channel, looped) in expected.iter().enumerate() {
        let (got, x) = (&main.channels[channel], &input.channels[channel]);
        if let Some(t) =
            (s1..undo_at).find(|&t| (got[t] - (x[t] + looped[t - s1])).abs() > TOLERANCE)
        {
            panic!(
                "channel {channel}, sample {t} (before the undo at {undo_at}): expected input + \
                 loop = {}, got {}",
                x[t] + looped[t - s1],
                got[t]
            );
        }
        if let Some(t) = (undo_at..undo_at + blend)
            .find(|&t| (got[t] - x[t]).abs() > looped[(t - s1) % len].abs() + TOLERANCE)
        {
            panic!(
                "channel {channel}, sample {t} (fading out after the undo at {undo_at}): the loop \
                 part {} is louder than the loop itself ({})",
                got[t] - x[t],
                looped[(t - s1) % len]
            );
        }
    }
    assert_exactly_input(main, input, undo_at + blend..input.len());
    assert_phones_equal_main(&rendered);
}
