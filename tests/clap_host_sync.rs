//! The built CLAP plugin in a real host (`clack-host`) with a host transport: host sync.
//!
//! Needs the bundle: run `cargo xtask bundle loopmate` first (or set `LOOPMATE_CLAP`).
//!
//! Scenario: the host plays at a tempo and meter; the `sync_mode` parameter is set to host at
//! sample 0; gliding test tones play; note 47 100 ms after bar 1 starts the first take (at bar 1,
//! from the history), note 47 2.3 bars later stops it: "auto" rounds that to two bars, so the
//! take is `[bar 1, bar 1 + round(2 bars))`. The input is silent from the stop press on, so the
//! output is the loop alone, and every pass of it must start on the host's 2-bar grid, rounded
//! to the sample: `out[t] = loop[t - (last loop start on the host grid)]`.

mod common;

use common::clap_host::{
    Rendered, Stereo, TestPlugin, TimedEvent, Transport, TransportChange, param_id, pedal_press,
};
use common::signal::gliding_tones;

const RECORD: u8 = 47;
const BLOCK: usize = 512;
/// Declick fade of the engine's re-alignments and loop restarts: 5 ms at 48 kHz.
const DECLICK: u64 = 240;
/// Host bar on which the anchor starts.
const START_BAR: f64 = 1.0;
/// Bars in the anchor ("auto" for a 2.3-bar take).
const BARS: f64 = 2.0;

/// One host-synced anchor recording and what it must sound like.
struct Scenario {
    sample_rate: f64,
    transport: Transport,
    /// The take's first and one-past-last samples.
    s0: usize,
    s1: usize,
    /// The stop press: from here on the output is the loop alone.
    stop_press: usize,
    input: Stereo,
    events: Vec<TimedEvent>,
}

impl Scenario {
    fn new(sample_rate: f64, transport: Transport, frames: usize, extra: &[TimedEvent]) -> Self {
        let bar = transport.bar_samples(0, sample_rate);
        let s0 = transport.bar_line(0, START_BAR, sample_rate) as usize;
        let press = s0 + (0.1 * sample_rate) as usize;
        let stop_press = (s0 as f64 + 2.3 * bar) as usize;
        let s1 = transport.bar_line(0, START_BAR + BARS, sample_rate) as usize;
        let mut input = gliding_tones(sample_rate, frames);
        for channel in &mut input.channels {
            channel[stop_press..].fill(0.0);
        }
        let mut events = vec![TimedEvent::param_value(0, param_id("sync_mode"), 1.0)];
        events.extend(pedal_press(press as u64, RECORD));
        events.extend(pedal_press(stop_press as u64, RECORD));
        events.extend_from_slice(extra);
        Self {
            sample_rate,
            transport,
            s0,
            s1,
            stop_press,
            input,
            events,
        }
    }

    fn render(&self, block_sizes: impl IntoIterator<Item = usize>) -> Rendered {
        let mut plugin = TestPlugin::activate(self.sample_rate);
        let out = plugin.run(
            &self.input,
            &self.events,
            block_sizes,
            Some(&self.transport),
        );
        plugin.deactivate();
        out
    }

    /// The loop: the take, its end crossfaded over the 50 ms blend into the audio before it.
    fn loop_audio(&self, channel: usize) -> Vec<f32> {
        let x = &self.input.channels[channel];
        let blend = (0.05 * self.sample_rate).round() as usize;
        let length = self.s1 - self.s0;
        let mut loop_ = x[self.s0..self.s1].to_vec();
        for j in 0..blend {
            let w = (j + 1) as f32 / (blend + 1) as f32;
            loop_[length - blend + j] =
                x[self.s1 - blend + j] * (1.0 - w) + x[self.s0 - blend + j] * w;
        }
        loop_
    }

    /// Checks `out` over `range` against the loop at the host's position, for a loop `length`
    /// long (after a tempo change its audio restarts every `length`, cut short or followed by
    /// silence, with declick fades).
    fn assert_follows_host(&self, out: &Rendered, range: std::ops::Range<usize>, length: u64) {
        for c in 0..2 {
            let loop_ = self.loop_audio(c);
            let content = loop_.len() as u64;
            let end = content.min(length);
            for t in range.clone() {
                let i =
                    self.transport
                        .loop_index(t as u64, START_BAR, BARS, length, self.sample_rate);
                let expected = if content == length {
                    loop_[i as usize]
                } else if i >= end {
                    0.0
                } else {
                    let gain = ((i + 1) as f32 / DECLICK as f32)
                        .min((end - i) as f32 / DECLICK as f32)
                        .min(1.0);
                    loop_[i as usize] * gain
                };
                let got = out.main.channels[c][t];
                assert!(
                    (got - expected).abs() <= 1e-5,
                    "ch{c} t={t} (loop index {i}): got {got}, expected {expected}"
                );
            }
        }
    }
}

/// The largest step between neighbouring samples of the main output in `range`.
fn largest_step(out: &Rendered, range: std::ops::Range<usize>) -> f32 {
    out.main
        .channels
        .iter()
        .flat_map(|channel| {
            channel[range.clone()]
                .windows(2)
                .map(|w| (w[1] - w[0]).abs())
        })
        .fold(0.0, f32::max)
}

#[test]
fn loops_are_whole_bars_on_the_host_grid_at_90_and_140_bpm_in_4_4_and_3_4() {
    for (sample_rate, tempo, meter) in [
        (48_000.0, 90.0, 4),
        (48_000.0, 140.0, 4),
        (48_000.0, 90.0, 3),
        (48_000.0, 140.0, 3),
        (44_100.0, 140.0, 4),
    ] {
        let transport = Transport::steady(tempo, meter, 4);
        let bar = transport.bar_samples(0, sample_rate);
        let scenario = Scenario::new(sample_rate, transport, (8.0 * bar) as usize, &[]);
        // From the host's bar 1 to its bar 3: two bars, within a sample of their length.
        let length = (scenario.s1 - scenario.s0) as u64;
        assert!(length.abs_diff((BARS * bar).round() as u64) <= 1);
        let out = scenario.render(std::iter::repeat(BLOCK));
        println!("{sample_rate} Hz, {tempo} BPM, {meter}/4: loop of {length} samples");
        scenario.assert_follows_host(&out, scenario.stop_press..scenario.input.len(), length);
    }
}

#[test]
fn a_host_rounding_its_musical_position_like_ardour_gets_loops_on_its_bars() {
    // Ardour reports the song position rounded to 1/1920 of a quarter: up to 8 samples at
    // 90 BPM. The loop must still start on bar 1 to the sample, and then every pass on the bars,
    // as with an exact host.
    let rate = 48_000.0;
    for (tempo, ticks) in [(90.0, 1920.0), (140.0, 960.0)] {
        let transport = Transport::steady(tempo, 4, 4).rounded_to(ticks);
        let bar = transport.bar_samples(0, rate);
        let scenario = Scenario::new(rate, transport, (8.0 * bar) as usize, &[]);
        let length = (scenario.s1 - scenario.s0) as u64;
        let out = scenario.render(std::iter::repeat(BLOCK));
        println!("{tempo} BPM rounded to 1/{ticks}: loop of {length} samples");
        scenario.assert_follows_host(&out, scenario.stop_press..scenario.input.len(), length);
    }
}

#[test]
fn host_sync_output_does_not_depend_on_the_block_size() {
    let transport = Transport::steady(140.0, 4, 4);
    let scenario = Scenario::new(48_000.0, transport, 600_000, &[]);
    let reference = scenario.render(std::iter::repeat(BLOCK));
    let varying = [1, 7, 64, 511, 512, 4096, 13, 2, 1000, 3, 2048, 333];
    let other = scenario.render(varying.into_iter().cycle());
    assert!(other == reference, "varying blocks change the output");
}

#[test]
fn a_tempo_change_restarts_the_loops_on_the_new_bars() {
    let rate = 48_000.0;
    for new_tempo in [140.0, 90.0] {
        let steady = Transport::steady(120.0, 4, 4);
        let bar = steady.bar_samples(0, rate);
        let at = (5.6 * bar) as u64 / BLOCK as u64 * BLOCK as u64;
        let transport = steady.with_change(TransportChange {
            at,
            tempo_bpm: new_tempo,
            jump_to_beats: None,
            playing: true,
        });
        let new_bar = transport.bar_samples(at, rate);
        let frames = (at as f64 + 5.0 * new_bar) as usize;
        let scenario = Scenario::new(rate, transport, frames, &[]);
        let out = scenario.render(std::iter::repeat(BLOCK));
        let old_length = (scenario.s1 - scenario.s0) as u64;
        let new_length = (BARS * new_bar).round() as u64;
        scenario.assert_follows_host(&out, scenario.stop_press..at as usize, old_length);
        scenario.assert_follows_host(&out, (at + 2 * DECLICK) as usize..frames, new_length);
        let step = largest_step(&out, at as usize..frames);
        let own_step = largest_step(&out, scenario.stop_press..at as usize);
        assert!(
            step <= own_step + 0.01,
            "120 -> {new_tempo} BPM: a step of {step} (the loop's own: {own_step})"
        );
    }
}

#[test]
fn a_timeline_jump_realigns_the_loops_without_a_click() {
    let rate = 48_000.0;
    for jump_to_bar in [0.0, 4.5, 9.25] {
        let steady = Transport::steady(90.0, 3, 4);
        let bar = steady.bar_samples(0, rate);
        let at = (5.3 * bar) as u64 / BLOCK as u64 * BLOCK as u64;
        let transport = steady.with_change(TransportChange {
            at,
            tempo_bpm: 90.0,
            jump_to_beats: Some(jump_to_bar * 3.0),
            playing: true,
        });
        let frames = (8.0 * bar) as usize;
        let scenario = Scenario::new(rate, transport, frames, &[]);
        let out = scenario.render(std::iter::repeat(BLOCK));
        let length = (scenario.s1 - scenario.s0) as u64;
        scenario.assert_follows_host(&out, scenario.stop_press..at as usize, length);
        scenario.assert_follows_host(&out, (at + 2 * DECLICK) as usize..frames, length);
        let step = largest_step(&out, at as usize - 10..(at + 3 * DECLICK) as usize);
        let own_step = largest_step(&out, scenario.stop_press..at as usize);
        assert!(
            step <= own_step + 0.01,
            "jump to bar {jump_to_bar}: a step of {step} (the loop's own: {own_step})"
        );
    }
}

#[test]
fn stopping_the_transport_stops_the_loops_or_keeps_them_running() {
    let rate = 48_000.0;
    let steady = Transport::steady(140.0, 4, 4);
    let bar = steady.bar_samples(0, rate);
    let stop = (4.4 * bar) as u64 / BLOCK as u64 * BLOCK as u64;
    let stopped = steady.with_change(TransportChange {
        at: stop,
        tempo_bpm: 140.0,
        jump_to_beats: None,
        playing: false,
    });
    let frames = (7.0 * bar) as usize;
    let stop_loops = TimedEvent::param_value(0, param_id("transport_stop"), 1.0);
    let scenario = Scenario::new(rate, stopped, frames, &[stop_loops]);
    let out = scenario.render(std::iter::repeat(BLOCK));
    let length = (scenario.s1 - scenario.s0) as u64;
    scenario.assert_follows_host(&out, scenario.stop_press..stop as usize, length);
    let blend = 2_400;
    for c in 0..2 {
        assert!(
            out.main.channels[c][stop as usize + blend..]
                .iter()
                .all(|&s| s == 0.0),
            "ch{c}: silent once the transport stopped"
        );
    }
    // With "keep running" (the default) the loops play on.
    let running = Scenario::new(rate, stopped, frames, &[]).render(std::iter::repeat(BLOCK));
    assert!(
        running.main.channels[0][stop as usize + blend..]
            .iter()
            .any(|s| s.abs() > 0.1)
    );
}

#[test]
fn the_plugin_reports_no_latency() {
    let mut plugin = TestPlugin::activate(48_000.0);
    assert_eq!(plugin.latency_samples(), 0);
    plugin.deactivate();
}

#[test]
fn a_saved_project_reloads_locked_to_the_host_bars_wherever_the_host_is() {
    let rate = 48_000.0;
    let transport = Transport::steady(140.0, 4, 4);
    let bar = transport.bar_samples(0, rate);
    let scenario = Scenario::new(rate, transport, (6.0 * bar) as usize, &[]);
    let mut plugin = TestPlugin::activate(rate);
    plugin.run(
        &scenario.input,
        &scenario.events,
        std::iter::repeat(BLOCK),
        Some(&scenario.transport),
    );
    let state = plugin.save_state();
    plugin.deactivate();

    // The project reopens with the host's transport at bar 6.3: the loaded loop plays on the
    // host's two-bar grid from bar 1 (the lock was saved), not from where it was when saved.
    let (mut loaded, accepted) = TestPlugin::activate_after_loading(rate, Some(&state));
    assert!(accepted);
    let reopened = Scenario {
        transport: transport.with_change(TransportChange {
            at: 0,
            tempo_bpm: 140.0,
            jump_to_beats: Some(6.3 * 4.0),
            playing: true,
        }),
        ..scenario
    };
    let len = (5.0 * bar) as usize;
    let out = loaded.run(
        &Stereo::silence(len),
        &[],
        [BLOCK, 64, 1000].into_iter().cycle(),
        Some(&reopened.transport),
    );
    let blend = 2_400;
    let length = (reopened.s1 - reopened.s0) as u64;
    reopened.assert_follows_host(&out, blend..len, length);
    loaded.deactivate();
}
