//! Host sync: loops of whole host bars, started and stopped on the host's bar grid, kept on its
//! bar positions through jumps, tempo changes and transport stops; free mode without a host.
//!
//! A simulated host timeline (tempo, meter, song position, playing) gives the transport at every
//! block start, mapped to the engine's bar grid by `transport::host_grid`, as the plugin does.

use super::*;
use crate::engine::RecordingState;
use crate::engine::session::TrackRecord;
use crate::engine::sync::{BarCount, SyncMode, SyncSettings, TransportStop};
use crate::engine::track::RESTART_FADE_FRAMES;
use crate::state::store::SessionStore;
use crate::transport::{HostTransport, host_grid};

/// One stretch of the host timeline.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// Engine sample at which it begins.
    from: u64,
    /// Tempo in quarter notes per minute.
    tempo_bpm: f64,
    /// Song position at `from`, in quarter notes.
    quarters: f64,
    /// Whether the transport plays (a stopped transport holds its position).
    playing: bool,
}

/// A simulated host: a meter and a timeline of tempo changes, jumps, stops and starts.
#[derive(Debug, Clone)]
struct Host {
    rate_hz: f64,
    meter: (i32, i32),
    segments: Vec<Segment>,
}

impl Host {
    /// Playing from song position 0 at sample 0.
    fn playing(rate_hz: f64, tempo_bpm: f64, meter: (i32, i32)) -> Self {
        Self {
            rate_hz,
            meter,
            segments: vec![Segment {
                from: 0,
                tempo_bpm,
                quarters: 0.0,
                playing: true,
            }],
        }
    }

    fn segment(&self, t: u64) -> Segment {
        *self.segments.iter().rev().find(|s| s.from <= t).unwrap()
    }

    fn quarters_per_bar(&self) -> f64 {
        f64::from(self.meter.0) * 4.0 / f64::from(self.meter.1)
    }

    fn quarters_at(&self, t: u64) -> f64 {
        let s = self.segment(t);
        if !s.playing {
            return s.quarters;
        }
        s.quarters + (t - s.from) as f64 * s.tempo_bpm / 60.0 / self.rate_hz
    }

    /// From `at` on: `tempo_bpm`, song position `quarters` (None: continuing), playing or not.
    fn then(mut self, at: u64, tempo_bpm: f64, quarters: Option<f64>, playing: bool) -> Self {
        let quarters = quarters.unwrap_or_else(|| self.quarters_at(at));
        self.segments.push(Segment {
            from: at,
            tempo_bpm,
            quarters,
            playing,
        });
        self
    }

    fn bar_samples(&self, t: u64) -> f64 {
        self.quarters_per_bar() * 60.0 / self.segment(t).tempo_bpm * self.rate_hz
    }

    /// The sample (rounded) of bar position `bar` on the segment holding `t`.
    fn bar_line(&self, t: u64, bar: f64) -> i64 {
        let s = self.segment(t);
        let spq = 60.0 / s.tempo_bpm * self.rate_hz;
        (s.from as f64 + (bar * self.quarters_per_bar() - s.quarters) * spq + 0.5).floor() as i64
    }

    fn transport(&self, t: u64) -> HostTransport {
        let s = self.segment(t);
        let pos = self.quarters_at(t);
        let qpb = self.quarters_per_bar();
        HostTransport {
            playing: s.playing,
            tempo_bpm: Some(s.tempo_bpm),
            time_signature: Some(self.meter),
            pos_beats: Some(pos),
            bar_start_pos_beats: Some((pos / qpb).floor() * qpb),
        }
    }

    /// Where the host says a loop of `bars` bars that started on bar `start_bar` is at `t`:
    /// samples since its last start on the host grid (rounded), modulo its `length`.
    fn loop_index(&self, t: u64, start_bar: f64, bars: f64, length: u64) -> u64 {
        let bar_now = self.quarters_at(t) / self.quarters_per_bar();
        let line = |k: i64| self.bar_line(t, start_bar + k as f64 * bars);
        let mut k = ((bar_now - start_bar) / bars).floor() as i64;
        while line(k) > t as i64 {
            k -= 1;
        }
        while line(k + 1) <= t as i64 {
            k += 1;
        }
        (t as i64 - line(k)) as u64 % length
    }
}

fn host_settings(bars: BarCount, on_stop: TransportStop) -> EngineSettings {
    EngineSettings {
        sync: SyncSettings {
            mode: SyncMode::Host,
            bars,
            on_stop,
        },
        ..EngineSettings::default()
    }
}

/// Runs `input` with the host's transport given to the engine before every block.
fn run_host(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    host: &Host,
    input: &[Vec<f32>; 2],
    commands: &[(u64, Command)],
    block_sizes: &[usize],
) -> Rendered {
    let rate = host.rate_hz as f32;
    run_with(engine, keeper, input, commands, block_sizes, |engine| {
        let now = engine.now_samples();
        engine.set_host_grid(host_grid(&host.transport(now), now, rate));
    })
}

/// The saved performance holds the loops where the engine has them (after re-alignments and
/// tempo changes moved them).
fn assert_mirrored(anchor: &Anchor, what: &str) {
    anchor.store.with_model(|model, _| {
        let engine_tracks: Vec<_> = anchor
            .engine
            .tracks_for_test()
            .map(TrackRecord::of)
            .collect();
        let mirrored: Vec<_> = model.tracks.iter().map(|t| t.record).collect();
        assert_eq!(mirrored, engine_tracks, "{what}: tracks as saved");
        assert_eq!(model.cycle, anchor.engine.cycle(), "{what}: cycle as saved");
    });
}

fn blend_at(rate_hz: f64) -> usize {
    (0.05 * rate_hz).round() as usize
}

fn assert_close(got: f32, expected: f32, what: &str) {
    assert!(
        (got - expected).abs() <= 1e-5,
        "{what}: got {got}, expected {expected}"
    );
}

/// A host-mode anchor: record pressed 100 ms after bar 1, stopped 2.3 bars later (auto: two
/// bars), the input silent from the stop press: the engine, the output, the take `[s0, s1)`
/// and the stop press.
struct Anchor {
    engine: Engine,
    /// The saved performance, following the engine.
    store: SessionStore,
    keeper: TrackPoolKeeper,
    out: Rendered,
    s0: u64,
    s1: u64,
    stop_press: u64,
}

fn record_two_bars(host: &Host, frames: usize, block_sizes: &[usize]) -> Anchor {
    let bar = host.bar_samples(0);
    let s0 = host.bar_line(0, 1.0) as u64;
    let press = s0 + (0.1 * host.rate_hz) as u64; // within the 200 ms lenience
    let stop_press = (s0 as f64 + 2.3 * bar) as u64;
    let s1 = s0 + (2.0 * bar).round() as u64;
    let input = signal_until(frames, stop_press);
    let (mut engine, mut keeper) = engine_at(
        host.rate_hz as f32,
        20.0,
        host_settings(BarCount::Auto, TransportStop::KeepRunning),
    );
    let store = SessionStore::default();
    store.attach(engine.connect_session(), host.rate_hz as f32);
    let commands = [
        (press, Command::RecordToggle),
        (stop_press, Command::RecordToggle),
    ];
    let out = run_host(
        &mut engine,
        &mut keeper,
        host,
        &input,
        &commands,
        block_sizes,
    );
    Anchor {
        engine,
        store,
        keeper,
        out,
        s0,
        s1,
        stop_press,
    }
}

#[test]
fn anchors_are_whole_bars_on_the_host_grid_at_90_and_140_bpm_4_4_and_3_4_44_1_and_48_khz() {
    for rate in [44_100.0, 48_000.0] {
        for tempo in [90.0, 140.0] {
            for meter in [(4, 4), (3, 4)] {
                let host = Host::playing(rate, tempo, meter);
                let bar = host.bar_samples(0);
                let frames = (1.0 * bar + 9.0 * bar) as usize;
                let a = record_two_bars(&host, frames, &[512]);
                let what = format!("{rate} Hz, {tempo} BPM, {meter:?}");
                let cycle = a.engine.cycle().expect("an anchor");
                assert_eq!(
                    a.engine.status().host_bars,
                    Some(2),
                    "{what}: locked to the host"
                );
                assert_eq!(
                    cycle.length_samples,
                    (2.0 * bar).round() as u64,
                    "{what}: two bars in samples"
                );
                // From the stop press on, the output is the loop alone (the take from bar 1),
                // and every pass starts on the host's 2-bar grid (rounded to the sample),
                // however far from the start. (The cycle's origin itself moves by the sample
                // slips that keep it there.)
                let blend = blend_at(rate);
                for c in 0..2 {
                    let loop_ = expected_loop(c, a.s0, a.s1, blend);
                    for t in a.stop_press..frames as u64 {
                        let i = host.loop_index(t, 1.0, 2.0, cycle.length_samples);
                        assert_close(
                            a.out.main[c][t as usize],
                            loop_[i as usize],
                            &format!("{what} ch{c} t={t}"),
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_press_outside_lenience_arms_for_the_next_bar_and_a_fixed_bar_count_stops_by_itself() {
    let host = Host::playing(48_000.0, 140.0, (3, 4));
    let bar = host.bar_samples(0);
    let press = host.bar_line(0, 1.0) as u64 + 20_000; // 417 ms after bar 1
    let s0 = host.bar_line(0, 2.0) as u64;
    let s1 = s0 + bar.round() as u64;
    let frames = (s1 as f64 + 4.0 * bar) as usize;
    let input = signal_until(frames, s1);
    let (mut engine, mut keeper) = engine_at(
        48_000.0,
        20.0,
        host_settings(BarCount::Fixed(1), TransportStop::KeepRunning),
    );
    run_host(
        &mut engine,
        &mut keeper,
        &host,
        &[
            input[0][..press as usize + 100].to_vec(),
            input[1][..press as usize + 100].to_vec(),
        ],
        &[(press, Command::RecordToggle)],
        &[256],
    );
    assert_eq!(
        engine.status().recording,
        RecordingState::Armed { start_samples: s0 },
        "waits for bar 2"
    );
    let rest: [Vec<f32>; 2] = [0, 1].map(|c| input[c][press as usize + 100..].to_vec());
    let rest_commands: [(u64, Command); 0] = [];
    let out = run_host(
        &mut engine,
        &mut keeper,
        &host,
        &rest,
        &rest_commands,
        &[256],
    );
    let cycle = engine.cycle().expect("stopped by itself after one bar");
    assert_eq!(cycle.length_samples, s1 - s0, "one bar");
    let offset = press as usize + 100;
    for c in 0..2 {
        let loop_ = expected_loop(c, s0, s1, BLEND);
        for t in s1..frames as u64 {
            let i = host.loop_index(t, 2.0, 1.0, cycle.length_samples);
            assert_close(
                out.main[c][t as usize - offset],
                loop_[i as usize],
                &format!("ch{c} t={t}"),
            );
        }
    }
}

#[test]
fn host_sync_does_not_depend_on_the_block_size() {
    // 140 BPM at 48 kHz: bars are fractional, so the loops are re-aligned by a sample now and
    // then; that must happen at the same samples whatever the blocks.
    let host = Host::playing(48_000.0, 140.0, (4, 4));
    let frames = (8.0 * host.bar_samples(0)) as usize;
    let reference = record_two_bars(&host, frames, &[512]).out;
    for sizes in [&[1usize, 7, 64, 511, 4096, 13, 2, 1000][..], &[4096], &[63]] {
        let other = record_two_bars(&host, frames, sizes).out;
        assert!(
            other.main == reference.main,
            "blocks {sizes:?} change the output"
        );
    }
}

/// The output over `range`: the two-bar loop from bar 1 at the host's position, scaled by the
/// restart fades of a loop of `length` whose audio is `loops[c].len()` long.
fn assert_loop_follows_host(
    out: &[Vec<f32>; 2],
    host: &Host,
    loops: &[Vec<f32>; 2],
    range: std::ops::Range<u64>,
    length: u64,
    what: &str,
) {
    assert_bars_follow_host(out, host, loops, (1.0, 2.0), range, length, what);
}

/// [`assert_loop_follows_host`] for a loop of `bars.1` bars that started on bar `bars.0`.
fn assert_bars_follow_host(
    out: &[Vec<f32>; 2],
    host: &Host,
    loops: &[Vec<f32>; 2],
    bars: (f64, f64),
    range: std::ops::Range<u64>,
    length: u64,
    what: &str,
) {
    let content = loops[0].len() as u64;
    let end = content.min(length);
    let fade = RESTART_FADE_FRAMES as f32;
    for c in 0..2 {
        for t in range.clone() {
            let i = host.loop_index(t, bars.0, bars.1, length);
            let expected = if content == length {
                loops[c][i as usize]
            } else if i >= end {
                0.0
            } else {
                let gain = ((i + 1) as f32 / fade)
                    .min((end - i) as f32 / fade)
                    .min(1.0);
                loops[c][i as usize] * gain
            };
            assert_close(out[c][t as usize], expected, &format!("{what} ch{c} t={t}"));
        }
    }
}

/// The largest step between neighbouring output samples in `range` (a click shows up as one).
fn largest_step(out: &[Vec<f32>; 2], range: std::ops::Range<usize>) -> f32 {
    out.iter()
        .flat_map(|channel| {
            channel[range.clone()]
                .windows(2)
                .map(|w| (w[1] - w[0]).abs())
        })
        .fold(0.0, f32::max)
}

/// Largest step of the loop itself (its own audio), for comparison.
fn loop_step(loops: &[Vec<f32>; 2]) -> f32 {
    largest_step(loops, 0..loops[0].len())
}

#[test]
fn after_a_timeline_jump_the_loops_fade_to_the_hosts_position() {
    let rate = 48_000.0;
    let declick = 240u64;
    for jump_to_bars in [0.25, 4.0, 7.5] {
        let plain = Host::playing(rate, 90.0, (4, 4));
        let bar = plain.bar_samples(0);
        let jump = (5.3 * bar) as u64 / 512 * 512; // hosts jump at a block start
        let host = plain.then(jump, 90.0, Some(jump_to_bars * 4.0), true);
        let frames = (9.0 * bar) as usize;
        let a = record_two_bars(&host, frames, &[512]);
        let length = a.engine.cycle().unwrap().length_samples;
        let loops = [0, 1].map(|c| expected_loop(c, a.s0, a.s1, BLEND));
        let what = format!("jump to bar {jump_to_bars}");
        assert_loop_follows_host(
            &a.out.main,
            &host,
            &loops,
            a.stop_press..jump,
            length,
            &what,
        );
        // Faded out and back in within 10 ms, then exactly where the host is.
        assert_loop_follows_host(
            &a.out.main,
            &host,
            &loops,
            jump + 2 * declick..frames as u64,
            length,
            &what,
        );
        let step = largest_step(
            &a.out.main,
            jump as usize - 10..(jump + 3 * declick) as usize,
        );
        assert!(
            step <= loop_step(&loops) + 0.01,
            "{what}: step {step} at the jump"
        );
        assert_mirrored(&a, &what);
    }
}

/// A host at 120 BPM in 4/4 that changes to `new_tempo` at a block start in bar 6 (5.6 bars in),
/// with the sample of the change and the new bar's length in samples.
fn tempo_change_host(rate: f64, new_tempo: f64) -> (Host, u64, f64) {
    let plain = Host::playing(rate, 120.0, (4, 4));
    let change = (5.6 * plain.bar_samples(0)) as u64 / 512 * 512;
    let host = plain.then(change, new_tempo, None, true);
    let new_bar = host.bar_samples(change);
    (host, change, new_bar)
}

#[test]
fn a_tempo_change_restarts_the_loops_on_the_new_bars_at_the_recorded_speed() {
    let rate = 48_000.0;
    for new_tempo in [140.0, 90.0] {
        let (host, change, new_bar) = tempo_change_host(rate, new_tempo);
        let frames = (change as f64 + 5.0 * new_bar) as usize;
        let mut a = record_two_bars(&host, frames, &[512]);
        let new_length = (2.0 * new_bar).round() as u64;
        let what = format!("120 -> {new_tempo} BPM");
        let cycle = a.engine.cycle().unwrap();
        assert_eq!(
            cycle.length_samples, new_length,
            "{what}: two bars at the new tempo"
        );
        let loops = [0, 1].map(|c| expected_loop(c, a.s0, a.s1, BLEND));
        let old_length = loops[0].len() as u64;
        assert_loop_follows_host(
            &a.out.main,
            &host,
            &loops,
            a.stop_press..change,
            old_length,
            &what,
        );
        assert_loop_follows_host(
            &a.out.main,
            &host,
            &loops,
            change + 2 * 240..frames as u64,
            new_length,
            &what,
        );
        let step = largest_step(&a.out.main, change as usize..frames);
        assert!(step <= loop_step(&loops) + 0.01, "{what}: click of {step}");
        assert_mirrored(&a, &what);
        // A new take follows the new tempo too: an overdub of one pass is one new cycle long.
        let start = cycle.boundary_after(a.engine.now_samples());
        let more: [Vec<f32>; 2] = [0, 1].map(|c| {
            (frames as u64..start + new_length + 1_000)
                .map(|t| test_signal(c, t))
                .collect()
        });
        run_host(
            &mut a.engine,
            &mut a.keeper,
            &host,
            &more,
            &[
                (start, Command::RecordToggle),
                (start + new_length, Command::RecordToggle),
            ],
            &[512],
        );
        let lengths: Vec<u64> = a
            .engine
            .playing_tracks()
            .map(|t| t.length_samples)
            .collect();
        assert_eq!(lengths, [new_length, new_length], "{what}");
    }
}

#[test]
fn when_the_transport_stops_loops_keep_running_or_stop_and_resume_aligned() {
    let rate = 44_100.0;
    let plain = Host::playing(rate, 90.0, (3, 4));
    let bar = plain.bar_samples(0);
    let stop = (5.2 * bar) as u64 / 512 * 512;
    let resume = (7.7 * bar) as u64 / 512 * 512;
    let host = plain
        .then(stop, 90.0, None, false)
        .then(resume, 90.0, Some(3.0 * 10.5), true); // resumes at bar 10.5
    let frames = (12.0 * bar) as usize;
    let blend = blend_at(rate) as u64;
    for on_stop in [TransportStop::KeepRunning, TransportStop::StopLoops] {
        let s0 = host.bar_line(0, 1.0) as u64;
        let stop_press = (s0 as f64 + 2.3 * bar) as u64;
        let s1 = s0 + (2.0 * bar).round() as u64;
        let input = signal_until(frames, stop_press);
        let (mut engine, mut keeper) =
            engine_at(rate as f32, 20.0, host_settings(BarCount::Auto, on_stop));
        let commands = [
            (s0 + 100, Command::RecordToggle),
            (stop_press, Command::RecordToggle),
        ];
        let out = run_host(&mut engine, &mut keeper, &host, &input, &commands, &[512]);
        let loops = [0, 1].map(|c| expected_loop(c, s0, s1, blend as usize));
        let length = s1 - s0;
        let what = format!("{on_stop:?}");
        assert_loop_follows_host(&out.main, &host, &loops, stop_press..stop, length, &what);
        match on_stop {
            TransportStop::KeepRunning => {
                // Free-running through the stop, then back on the host's bars after the start.
                for (out, loop_) in out.main.iter().zip(&loops) {
                    for t in stop..resume {
                        let i = ((t - s0) % length) as usize;
                        assert_close(out[t as usize], loop_[i], &what);
                    }
                }
                assert_loop_follows_host(
                    &out.main,
                    &host,
                    &loops,
                    resume + 2 * 221..frames as u64,
                    length,
                    &what,
                );
            }
            TransportStop::StopLoops => {
                let silent = &out.main[0][(stop + blend) as usize..resume as usize];
                assert!(silent.iter().all(|&s| s == 0.0), "silent while stopped");
                assert!(out.main[0][resume as usize + 10].abs() < 0.05, "fading in");
                assert_loop_follows_host(
                    &out.main,
                    &host,
                    &loops,
                    resume + blend..frames as u64,
                    length,
                    &what,
                );
            }
        }
    }
}

#[test]
fn a_capture_without_an_anchor_in_host_mode_is_locked_to_the_bars_it_took() {
    let plain = Host::playing(48_000.0, 90.0, (4, 4));
    let bar = plain.bar_samples(0) as u64; // 128 000
    let press = 4 * bar + 1_000;
    let jump = (6.3 * bar as f64) as u64 / 512 * 512;
    let host = plain.then(jump, 90.0, Some(1.5 * 4.0), true);
    let frames = 9 * bar as usize;
    let input = signal_until(frames, press);
    let (mut engine, mut keeper) = engine_at(
        48_000.0,
        20.0,
        host_settings(BarCount::Auto, TransportStop::KeepRunning),
    );
    let commands = [(press, Command::Capture)];
    let out = run_host(&mut engine, &mut keeper, &host, &input, &commands, &[512]);
    // The last bar before the press, bar 3, is the anchor; after the jump to bar 1.5 it plays
    // from its middle, where the host is.
    let loops = [0, 1].map(|c| expected_loop(c, 3 * bar, 4 * bar, BLEND));
    let what = "capture";
    assert_bars_follow_host(&out.main, &host, &loops, (3.0, 1.0), press..jump, bar, what);
    let after = jump + 480..frames as u64;
    assert_bars_follow_host(&out.main, &host, &loops, (3.0, 1.0), after, bar, what);
}

#[test]
fn without_transport_or_in_free_mode_the_anchor_is_the_time_between_presses() {
    let (s0, s1) = (10_007u64, 10_007 + 62_411);
    let host = Host::playing(48_000.0, 120.0, (4, 4));
    let input = signal_until((s1 + 1_000) as usize, s1);
    let commands = [(s0, Command::RecordToggle), (s1, Command::RecordToggle)];
    // Host mode, but the host gives no transport.
    let (mut engine, mut keeper) = engine_at(
        48_000.0,
        20.0,
        host_settings(BarCount::Auto, TransportStop::KeepRunning),
    );
    run(&mut engine, &mut keeper, &input, &commands, &[512]);
    let cycle = engine.cycle().unwrap();
    assert_eq!((cycle.origin_samples, cycle.length_samples), (s0, s1 - s0));
    assert_eq!(engine.status().host_bars, None);
    // Free mode with a playing host transport.
    let (mut engine, mut keeper) = new_engine();
    run_host(&mut engine, &mut keeper, &host, &input, &commands, &[512]);
    let cycle = engine.cycle().unwrap();
    assert_eq!((cycle.origin_samples, cycle.length_samples), (s0, s1 - s0));
}

#[test]
fn a_two_cycle_overdub_stays_on_its_bars_through_sample_slips_and_a_jump() {
    // 140 BPM at 48 kHz: one-bar anchor from bar 1, an overdub over bars 3 and 4 (two cycles),
    // then a jump to bar 8.5. Every anchor boundary slips all loops by the bar's rounding, so
    // the overdub must still play bar 3's audio on odd bars and bar 4's on even ones.
    let plain = Host::playing(48_000.0, 140.0, (4, 4));
    let bar = plain.bar_samples(0);
    let jump = (9.4 * bar) as u64 / 512 * 512;
    let host = plain.then(jump, 140.0, Some(8.5 * 4.0), true);
    let line = |b: f64| host.bar_line(0, b) as u64;
    let length = bar.round() as u64;
    let (b1, b3, b5) = (line(1.0), line(3.0), line(5.0));
    let frames = (13.0 * bar) as usize;
    let input = signal_until(frames, b5);
    let (mut engine, mut keeper) = engine_at(
        48_000.0,
        20.0,
        host_settings(BarCount::Fixed(1), TransportStop::KeepRunning),
    );
    let commands = [
        (b1 + 500, Command::RecordToggle),
        (b3, Command::RecordToggle),
        (b5, Command::RecordToggle),
    ];
    let out = run_host(&mut engine, &mut keeper, &host, &input, &commands, &[512]);
    let lengths: Vec<u64> = engine.playing_tracks().map(|t| t.length_samples).collect();
    assert_eq!(lengths, [length, 2 * length]);
    for c in 0..2 {
        let anchor = expected_loop(c, b1, b1 + length, BLEND);
        let overdub = expected_loop(c, b3, b3 + 2 * length, BLEND);
        let after_jump = jump + 480;
        for t in (b5..jump).chain(after_jump..frames as u64) {
            // Samples since the last bar line (rounded), and that bar's number.
            let a = host.loop_index(t, 1.0, 1.0, u64::MAX);
            let bar_now = host.quarters_at(t) / host.quarters_per_bar();
            let bar_number = (bar_now - a as f64 / host.bar_samples(t)).round() as i64;
            let odd = (bar_number - 3).rem_euclid(2) as u64;
            let i = ((a + odd * length) % (2 * length)) as usize;
            let expected = anchor[(a % length) as usize] + overdub[i];
            assert_close(out.main[c][t as usize], expected, &format!("ch{c} t={t}"));
        }
    }
}

#[test]
fn a_saved_host_synced_session_reloads_locked_on_the_hosts_bars_with_its_lengths() {
    let rate = 48_000.0;
    for new_tempo in [140.0, 90.0] {
        // Recorded at 120 BPM, then the tempo changed: the loops restart on the new bars, their
        // audio (content) longer or shorter than their length.
        let (host, change, new_bar) = tempo_change_host(rate, new_tempo);
        let frames = (change as f64 + 3.0 * new_bar) as usize;
        let a = record_two_bars(&host, frames, &[512]);
        let what = format!("120 -> {new_tempo} BPM, reloaded");
        let new_length = (2.0 * new_bar).round() as u64;
        let loops = [0, 1].map(|c| expected_loop(c, a.s0, a.s1, BLEND));
        let saved = a.store.save();
        let loaded = SessionStore::default();
        loaded.load(saved.clone()).expect("loads");
        assert_eq!(loaded.save(), saved, "{what}: save -> load -> save");

        // The project reopens with the host elsewhere on its timeline (bar 6.3, at the new
        // tempo): the loops are put on the host's 2-bar grid from bar 1 before they fade in.
        let (mut fresh, mut fresh_keeper) = engine_at(
            rate as f32,
            20.0,
            host_settings(BarCount::Auto, TransportStop::KeepRunning),
        );
        let reopened = Host::playing(rate, new_tempo, (4, 4)).then(0, new_tempo, Some(25.2), true);
        loaded.attach(fresh.connect_session(), rate as f32);
        let len = 3 * new_length as usize;
        let out = run_host(
            &mut fresh,
            &mut fresh_keeper,
            &reopened,
            &[vec![0.0; len], vec![0.0; len]],
            &[],
            &[512, 64, 1000],
        );
        let records: Vec<_> = fresh.tracks_for_test().map(TrackRecord::of).collect();
        let original: Vec<_> = a.engine.tracks_for_test().map(TrackRecord::of).collect();
        assert_eq!(records.len(), 1, "{what}");
        assert_eq!(records[0].length_samples, new_length, "{what}: length");
        assert_eq!(
            records[0].content_samples, original[0].content_samples,
            "{what}: the recorded audio's length"
        );
        assert_ne!(records[0].content_samples, new_length, "{what}");
        assert_eq!(
            fresh.host_bars(),
            Some(2),
            "{what}: locked to the host's bars"
        );
        assert_loop_follows_host(
            &out.main,
            &reopened,
            &loops,
            BLEND as u64..len as u64,
            new_length,
            &what,
        );
    }
}
