//! Host sync: loops of whole host bars, started and stopped on the host's bar grid, kept on its
//! bar positions through jumps, tempo changes and transport stops; free mode without a host.
//!
//! A simulated host (a tempo map on a sample timeline, a transport moving along it) gives the
//! transport at every block start as a real host does: the timeline position in samples, and
//! the musical position exact, rounded to a tick grid (Ardour: 1/1920 of a quarter) or rounded
//! and jittered by a tick.

use super::*;
use crate::engine::RecordingState;
use crate::engine::host_clock::HostTransport;
use crate::engine::session_event::TrackRecord;
use crate::engine::sync::{BarCount, SyncMode, SyncSettings, TransportStop};
use crate::state::store::SessionStore;

/// How a simulated host reports its musical position.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hint {
    /// Exact.
    Exact,
    /// Rounded to the nearest tick of this many per quarter note.
    Rounded(f64),
    /// Rounded to this many ticks per quarter, then moved by -1, 0 or +1 tick (pseudo-random per
    /// block).
    Jittered(f64),
}

/// One stretch of the host's transport.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// First engine sample it covers.
    from: u64,
    /// Engine time (fractional) at which the song position is `quarters` (a tempo change falls
    /// between samples).
    anchor_samples: f64,
    /// Tempo in quarter notes per minute.
    tempo_bpm: f64,
    /// Song position at `anchor_samples`, in quarter notes.
    quarters: f64,
    /// Timeline position at `from`, in samples.
    timeline_samples: i64,
    /// Whether the transport plays (a stopped transport holds its position).
    playing: bool,
}

/// A simulated host: a meter, a tempo map, and a timeline of tempo changes, jumps, stops and
/// starts.
#[derive(Debug, Clone)]
struct Host {
    rate_hz: f64,
    meter: (i32, i32),
    segments: Vec<Segment>,
    /// The tempo map: (timeline sample, song position in quarters, tempo from there on).
    tempo_map: Vec<(f64, f64, f64)>,
    hint: Hint,
}

impl Host {
    /// Playing from song position 0 at sample 0, exact.
    fn playing(rate_hz: f64, tempo_bpm: f64, meter: (i32, i32)) -> Self {
        Self {
            rate_hz,
            meter,
            segments: vec![Segment {
                from: 0,
                anchor_samples: 0.0,
                tempo_bpm,
                quarters: 0.0,
                timeline_samples: 0,
                playing: true,
            }],
            tempo_map: vec![(0.0, 0.0, tempo_bpm)],
            hint: Hint::Exact,
        }
    }

    /// The same host reporting its musical position as `hint` says.
    fn hinting(mut self, hint: Hint) -> Self {
        self.hint = hint;
        self
    }

    fn segment(&self, t: u64) -> Segment {
        *self.segments.iter().rev().find(|s| s.from <= t).unwrap()
    }

    fn quarters_per_bar(&self) -> f64 {
        f64::from(self.meter.0) * 4.0 / f64::from(self.meter.1)
    }

    fn quarter_samples(&self, tempo_bpm: f64) -> f64 {
        60.0 / tempo_bpm * self.rate_hz
    }

    /// The exact song position at engine time `t` (fractional).
    fn quarters_at_time(&self, s: &Segment, t: f64) -> f64 {
        if !s.playing {
            return s.quarters;
        }
        s.quarters + (t - s.anchor_samples) / self.quarter_samples(s.tempo_bpm)
    }

    fn quarters_at(&self, t: u64) -> f64 {
        self.quarters_at_time(&self.segment(t), t as f64)
    }

    fn timeline_at(&self, t: u64) -> i64 {
        let s = self.segment(t);
        if s.playing {
            s.timeline_samples + (t - s.from) as i64
        } else {
            s.timeline_samples
        }
    }

    /// The timeline sample (fractional) of song position `quarters` by the tempo map.
    fn timeline_of(&self, quarters: f64) -> f64 {
        let &(p, q, tempo) = (self.tempo_map.iter().rev())
            .find(|(_, q, _)| *q <= quarters)
            .unwrap_or(&self.tempo_map[0]);
        p + (quarters - q) * self.quarter_samples(tempo)
    }

    /// The song position at timeline sample `p` by the tempo map.
    fn quarters_of(&self, p: f64) -> f64 {
        let &(p0, q, tempo) = (self.tempo_map.iter().rev())
            .find(|(p0, ..)| *p0 <= p)
            .unwrap_or(&self.tempo_map[0]);
        q + (p - p0) / self.quarter_samples(tempo)
    }

    /// From `at` on: `tempo_bpm`, song position `quarters` (None: continuing; a tempo change is
    /// then a tempo marker at that point), playing or not.
    fn then(self, at: u64, tempo_bpm: f64, quarters: Option<f64>, playing: bool) -> Self {
        match quarters {
            None => self.change_at(at as f64, tempo_bpm, playing),
            Some(quarters) => {
                let mut host = self;
                let timeline = host.timeline_of(quarters).round();
                host.segments.push(Segment {
                    from: at,
                    anchor_samples: at as f64,
                    tempo_bpm,
                    quarters: host.quarters_of(timeline),
                    timeline_samples: timeline as i64,
                    playing,
                });
                host
            }
        }
    }

    /// A tempo marker at song position `quarters` (reached while playing): from there on,
    /// `tempo_bpm`.
    fn tempo_change_at_quarters(self, quarters: f64, tempo_bpm: f64) -> Self {
        let s = *self.segments.last().unwrap();
        let at = s.anchor_samples + (quarters - s.quarters) * self.quarter_samples(s.tempo_bpm);
        self.change_at(at, tempo_bpm, true)
    }

    /// From engine time `at` (fractional) on, the transport continues at `tempo_bpm`, playing or
    /// not.
    fn change_at(mut self, at: f64, tempo_bpm: f64, playing: bool) -> Self {
        let s = *self.segments.last().unwrap();
        let from = at.ceil() as u64;
        let quarters = self.quarters_at_time(&s, at);
        let timeline = self.timeline_at(from);
        if tempo_bpm != s.tempo_bpm {
            let timeline_at = timeline as f64 - (from as f64 - at);
            self.tempo_map.push((timeline_at, quarters, tempo_bpm));
        }
        self.segments.push(Segment {
            from,
            anchor_samples: at,
            tempo_bpm,
            quarters,
            timeline_samples: timeline,
            playing,
        });
        self
    }

    fn bar_samples(&self, t: u64) -> f64 {
        self.quarters_per_bar() * self.quarter_samples(self.segment(t).tempo_bpm)
    }

    /// The sample of bar position `bar` on the segment holding `t`.
    fn bar_line(&self, t: u64, bar: f64) -> i64 {
        let s = self.segment(t);
        let at = s.anchor_samples
            + (bar * self.quarters_per_bar() - s.quarters) * self.quarter_samples(s.tempo_bpm);
        // The sample it lies in, as Ardour places its bar lines.
        (at + 1e-6).floor() as i64
    }

    /// What the host reports at the start of the block at `t`.
    fn transport(&self, t: u64) -> HostTransport {
        let s = self.segment(t);
        let exact = self.quarters_at(t);
        let pos = match self.hint {
            Hint::Exact => exact,
            Hint::Rounded(ticks) => (exact * ticks).round() / ticks,
            Hint::Jittered(ticks) => {
                let mut h = t.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                h ^= h >> 31;
                ((exact * ticks).round() + (h % 3) as f64 - 1.0) / ticks
            }
        };
        let qpb = self.quarters_per_bar();
        HostTransport {
            playing: s.playing,
            tempo_bpm: Some(s.tempo_bpm),
            time_signature: Some(self.meter),
            pos_samples: Some(self.timeline_at(t)),
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

/// Engine settings in host-sync mode with `bars` a first take and `on_stop` at a transport stop
/// (also used by the MIDI clock follower's tests).
pub(crate) fn host_settings(bars: BarCount, on_stop: TransportStop) -> EngineSettings {
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
    run_with(engine, keeper, input, commands, block_sizes, |engine| {
        engine.set_host_transport(&host.transport(engine.now_samples()));
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

/// The engine's declick fade (5 ms) at `rate_hz`, in samples.
fn declick_at(rate_hz: f64) -> u64 {
    (0.005 * rate_hz).round() as u64
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
    let s1 = host.bar_line(0, 3.0) as u64;
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
                    (host.bar_line(0, 3.0) - host.bar_line(0, 1.0)) as u64,
                    "{what}: from the host's bar 1 to its bar 3"
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
fn a_grid_moving_a_few_samples_under_the_first_take_still_makes_a_locked_anchor_of_whole_bars() {
    // A followed MIDI clock moves the grid with its phase at a held tempo (see
    // `midi_clock::follower`): here by up to 6 samples over the take, at 140 BPM (a host tick
    // is 43 samples). The take still ends two whole bars at the tempo after its start, and
    // locks.
    let host = Host::playing(48_000.0, 140.0, (4, 4));
    let quarter = host.quarter_samples(140.0);
    let bar = host.bar_samples(0);
    let s0 = host.bar_line(0, 1.0) as u64;
    let press = s0 + 4_800;
    let stop_press = (s0 as f64 + 2.3 * bar) as u64;
    let frames = (s0 as f64 + 4.0 * bar) as usize;
    let (mut engine, mut keeper) = engine_at(
        48_000.0,
        20.0,
        host_settings(BarCount::Auto, TransportStop::KeepRunning),
    );
    let commands = [
        (press, Command::RecordToggle),
        (stop_press, Command::RecordToggle),
    ];
    let input = signal_until(frames, stop_press);
    run_with(
        &mut engine,
        &mut keeper,
        &input,
        &commands,
        &[512],
        |engine| {
            let t = engine.now_samples();
            let moved = (6.0 * t as f64 / frames as f64).round();
            let mut transport = host.transport(t);
            transport.pos_samples = transport.pos_samples.map(|p| p + moved as i64);
            transport.pos_beats = transport.pos_beats.map(|q| q + moved / quarter);
            engine.set_host_transport(&transport);
        },
    );
    assert_eq!(engine.host_bars(), Some(2), "locked on two bars");
    let grid = engine.status().host_grid.expect("the grid");
    assert_eq!(
        engine.cycle().map(|c| c.length_samples),
        Some(grid.bars_length(2)),
        "two whole bars at the tempo"
    );
}

#[test]
fn a_press_outside_lenience_arms_for_the_next_bar_and_a_fixed_bar_count_stops_by_itself() {
    let host = Host::playing(48_000.0, 140.0, (3, 4));
    let bar = host.bar_samples(0);
    let press = host.bar_line(0, 1.0) as u64 + 20_000; // 417 ms after bar 1
    let s0 = host.bar_line(0, 2.0) as u64;
    let s1 = host.bar_line(0, 3.0) as u64;
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
    // The restart fade: 5 ms at the host's rate.
    let fade = declick_at(host.rate_hz) as f32;
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
    // At 96 kHz too: the restart fades last 5 ms at any rate.
    for (rate, new_tempo) in [(48_000.0, 140.0), (48_000.0, 90.0), (96_000.0, 90.0)] {
        let (host, change, new_bar) = tempo_change_host(rate, new_tempo);
        let frames = (change as f64 + 5.0 * new_bar) as usize;
        let mut a = record_two_bars(&host, frames, &[512]);
        let new_length = (2.0 * new_bar).round() as u64;
        let what = format!("{rate} Hz, 120 -> {new_tempo} BPM");
        let cycle = a.engine.cycle().unwrap();
        assert_eq!(
            cycle.length_samples, new_length,
            "{what}: two bars at the new tempo"
        );
        let loops = [0, 1].map(|c| expected_loop(c, a.s0, a.s1, blend_at(rate)));
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
            change + 2 * declick_at(rate)..frames as u64,
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
        let s1 = host.bar_line(0, 3.0) as u64;
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
        // The overdub stops on bar 5's line: its span need not be exactly two anchor lengths
        // (the bars' lines fall on whole samples, the anchor's length is one rounded bar).
        let overdub = expected_track(c, b3, line(5.0), 2 * length, BLEND);
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
        let reopened = Host::playing(rate, new_tempo, (4, 4)).then(0, new_tempo, Some(25.2), true);
        let len = 3 * new_length as usize;
        let (fresh, out) = reopen(&loaded, &reopened, len);
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

/// A project holding `loaded` reopened in a fresh host-mode engine while `host` plays: the
/// engine and `frames` of its output (silent input, blocks of varying sizes).
fn reopen(loaded: &SessionStore, host: &Host, frames: usize) -> (Engine, Rendered) {
    let (mut engine, mut keeper) = engine_at(
        host.rate_hz as f32,
        20.0,
        host_settings(BarCount::Auto, TransportStop::KeepRunning),
    );
    loaded.attach(engine.connect_session(), host.rate_hz as f32);
    let silence = [vec![0.0; frames], vec![0.0; frames]];
    let out = run_host(
        &mut engine,
        &mut keeper,
        host,
        &silence,
        &[],
        &[512, 64, 1000],
    );
    (engine, out)
}

/// The hour on a rounding host: (tempo, meter, tempo from bar 4 on).
const HOUR_CASES: [(f64, (i32, i32), f64); 4] = [
    (90.0, (4, 4), 120.0),
    (93.75, (4, 4), 75.0),
    (120.0, (3, 4), 100.0),
    (140.0, (4, 4), 160.0),
];

/// An hour on a host that reports its musical position as `hint` says, with a tempo change
/// after 4 bars: the anchor starts on bar 1 to the sample, is locked to the host's bars, follows
/// the tempo change, and every block of the hour finds it within a sample of the host's grid.
fn an_hour_on_a_host_that(hint: Hint) {
    let rate = 48_000.0;
    for (tempo, meter, new_tempo) in HOUR_CASES {
        let plain = Host::playing(rate, tempo, meter).hinting(hint);
        let change_quarters = 4.0 * plain.quarters_per_bar();
        let host = plain.tempo_change_at_quarters(change_quarters, new_tempo);
        let what = format!("{hint:?}, {tempo} -> {new_tempo} BPM, {meter:?}");
        let change = host.bar_line(0, 4.0) as u64;
        let mut a = record_two_bars(&host, change as usize - 2_000, &[512]);
        let cycle = a.engine.cycle().expect("an anchor");
        assert_eq!(
            cycle.position(a.s0),
            0,
            "{what}: the anchor starts on the host's bar 1 ({} samples off)",
            cycle
                .position(a.s0)
                .min(cycle.length_samples - cycle.position(a.s0))
        );
        assert_eq!(
            cycle.length_samples,
            a.s1 - a.s0,
            "{what}: to the host's bar 3"
        );
        assert_eq!(a.engine.host_bars(), Some(2), "{what}: locked");

        let (worst, checked) = worst_distance_from_the_bars(
            &mut a.engine,
            &mut a.keeper,
            &host,
            3_600 * rate as u64,
            &[4_096, 4_096, 1_000, 4_096],
            (1.0, 2.0),
            change..change + 2 * 4_096,
        );
        assert!(
            worst <= 1,
            "{what}: the loop was {worst} samples off the host's bars ({checked} blocks)"
        );
        let new_length = (2.0 * host.bar_samples(a.engine.now_samples())).round() as u64;
        let cycle = a.engine.cycle().unwrap();
        assert_eq!(
            cycle.length_samples, new_length,
            "{what}: follows the tempo"
        );
        assert_eq!(a.engine.host_bars(), Some(2), "{what}: still locked");
    }
}

#[test]
fn an_hour_on_a_host_rounding_to_1920_per_quarter() {
    an_hour_on_a_host_that(Hint::Rounded(1920.0));
}

#[test]
fn an_hour_on_a_host_rounding_to_960_per_quarter() {
    an_hour_on_a_host_that(Hint::Rounded(960.0));
}

#[test]
fn an_hour_on_a_host_jittering_by_a_tick() {
    an_hour_on_a_host_that(Hint::Jittered(960.0));
}

/// Writes `frames` of the test signal as a stereo float WAV at `rate_hz` for import.
fn test_wav(name: &str, rate_hz: f64, frames: u64) -> std::path::PathBuf {
    use crate::wav::tests::{spec, temp_dir, write_wav};
    let path = temp_dir(name).join("loop.wav");
    let channels: Vec<Vec<f32>> = (0..2)
        .map(|c| (0..frames).map(|t| test_signal(c, t)).collect())
        .collect();
    write_wav(
        &path,
        spec(2, rate_hz as u32, 32, hound::SampleFormat::Float),
        &channels,
    );
    path
}

/// Runs `frames` of silence on the host in blocks of `block_sizes` (cycled), checking before
/// every block (but those starting in `settle`, while a tempo change re-aligns the loops) how
/// far every playing loop is from where the host's bars put a loop of its length that started
/// on bar `start_bar` (each loop a whole number of `bars`-bar cycles); the worst distance in
/// samples, and the blocks checked.
fn worst_distance_from_the_bars(
    engine: &mut Engine,
    keeper: &mut TrackPoolKeeper,
    host: &Host,
    frames: u64,
    block_sizes: &[usize],
    (start_bar, bars): (f64, f64),
    settle: std::ops::Range<u64>,
) -> (i64, u64) {
    let (mut worst, mut checked) = (0i64, 0u64);
    run_silent(engine, keeper, frames, block_sizes, |engine| {
        let now = engine.now_samples();
        engine.set_host_transport(&host.transport(now));
        if settle.contains(&now) {
            return;
        }
        for track in engine.playing_tracks() {
            let length = track.length_samples;
            let cycles = (length as f64 / host.bar_samples(now) / bars).round();
            let expected = host.loop_index(now, start_bar, bars * cycles, length) as i64;
            let mut off = (track.index_at(now) as i64 - expected).rem_euclid(length as i64);
            if off > length as i64 / 2 {
                off -= length as i64;
            }
            worst = worst.max(off.abs());
        }
        checked += 1;
    });
    (worst, checked)
}

#[test]
fn a_loop_reloaded_at_120_bpm_stays_on_the_bars_when_the_tempo_slows_to_90() {
    // Saved at 120 BPM: the restored loop's buffer holds exactly its two bars. At 90 BPM its
    // two bars are longer than that: silence follows its audio, and it stays on the bars.
    let rate = 48_000.0;
    let host = Host::playing(rate, 120.0, (4, 4));
    let a = record_two_bars(&host, (4.0 * host.bar_samples(0)) as usize, &[512]);
    let loops = [0, 1].map(|c| expected_loop(c, a.s0, a.s1, BLEND));
    let loaded = SessionStore::default();
    loaded.load(a.store.save()).expect("loads");
    // Reopened at bar 6.3; the tempo changes to 90 at bar 9.
    let reopened = Host::playing(rate, 120.0, (4, 4))
        .then(0, 120.0, Some(25.2), true)
        .tempo_change_at_quarters(36.0, 90.0);
    let change = reopened.bar_line(0, 9.0) as u64;
    let frames = change as usize + 5 * 192_000;
    let (engine, out) = reopen(&loaded, &reopened, frames);
    let new_length = (2.0 * reopened.bar_samples(frames as u64)).round() as u64;
    assert_eq!(engine.cycle().unwrap().length_samples, new_length);
    assert_eq!(engine.host_bars(), Some(2), "still locked");
    let what = "reloaded at 120, then 90 BPM";
    assert_loop_follows_host(
        &out.main,
        &reopened,
        &loops,
        BLEND as u64..change,
        192_000,
        what,
    );
    // The first block starting after the change (blocks are up to 1 000 long) fades the loop
    // out and back in on the new bars.
    let after = change + 1_000 + 2 * declick_at(rate)..frames as u64;
    assert_loop_follows_host(&out.main, &reopened, &loops, after, new_length, what);
    // Its export is the loop as it plays now: its two bars of audio, then silence.
    let dir = crate::wav::tests::temp_dir("slowed-export");
    let files = loaded.export_wav(&dir).expect("exports");
    let mut reader = hound::WavReader::open(&files[0]).unwrap();
    assert_eq!(
        u64::from(reader.duration()),
        new_length,
        "{what}: exported length"
    );
    let left: Vec<f32> = (reader.samples::<f32>().step_by(2))
        .map(Result::unwrap)
        .collect();
    assert_close(left[50_000], loops[0][50_000], "exported audio");
    assert!(
        left[192_000..].iter().all(|&s| s == 0.0),
        "silence after it"
    );
}

#[test]
fn an_imported_loop_stays_on_the_bars_when_the_tempo_slows() {
    let rate = 48_000.0;
    for as_anchor in [false, true] {
        let host = Host::playing(rate, 120.0, (4, 4)).tempo_change_at_quarters(40.0, 90.0);
        let what = if as_anchor {
            "the anchor"
        } else {
            "on an anchor"
        };
        let bar = host.bar_samples(0);
        let two_bars = (2.0 * bar).round() as u64;
        let (mut engine, mut keeper, store) = if as_anchor {
            let (mut engine, keeper) = engine_at(
                rate as f32,
                20.0,
                host_settings(BarCount::Auto, TransportStop::KeepRunning),
            );
            let store = SessionStore::default();
            store.attach(engine.connect_session(), rate as f32);
            (engine, keeper, store)
        } else {
            let a = record_two_bars(&host, (3.6 * bar) as usize, &[512]);
            (a.engine, a.keeper, a.store)
        };
        // Run to bar 4.4, import a file two bars long, and go on through the tempo change at
        // bar 10 to bar 16.
        let to = (4.4 * bar) as u64 - engine.now_samples();
        run_host(
            &mut engine,
            &mut keeper,
            &host,
            &signal_until(to as usize, 0),
            &[],
            &[512],
        );
        let said = store
            .import_wav(&test_wav(&format!("import-{as_anchor}"), rate, two_bars))
            .expect("imports");
        let frames = host.bar_line(0, 16.0) as u64 - engine.now_samples();
        let start_bar = if as_anchor { 4.0 } else { 1.0 };
        let change = host.bar_line(0, 10.0) as u64;
        let (worst, _) = worst_distance_from_the_bars(
            &mut engine,
            &mut keeper,
            &host,
            frames,
            &[512, 4096, 100],
            (start_bar, 2.0),
            change..change + 2 * 4096,
        );
        let lengths: Vec<u64> = engine.playing_tracks().map(|t| t.length_samples).collect();
        let new_length = (2.0 * host.bar_samples(host.bar_line(0, 12.0) as u64)).round() as u64;
        assert_eq!(
            lengths,
            vec![new_length; if as_anchor { 1 } else { 2 }],
            "{what}: {said}"
        );
        assert_eq!(engine.host_bars(), Some(2), "{what}: locked to the bars");
        assert!(worst <= 1, "{what}: {worst} samples off the bars");
    }
}

#[test]
fn undoing_a_new_anchor_and_the_clear_before_it_brings_the_first_loop_back_on_its_bars() {
    // 140 BPM, the musical position rounded to 1920 ticks a quarter; then the same with the
    // tempo slowing to 100 BPM at bar 8, while the first loop is cleared.
    let steady = Host::playing(48_000.0, 140.0, (4, 4)).hinting(Hint::Rounded(1920.0));
    let bar = steady.bar_samples(0);
    let slowing = steady.clone().then((8.0 * bar) as u64, 100.0, None, true);
    clear_new_anchor_undo_both(&steady, "steady");
    clear_new_anchor_undo_both(&slowing, "slowing down");
}

/// A two-bar anchor from bar 1, cleared at bar 5.3, a one-bar anchor over bar 6 (locked to the
/// bars, its own grid), then both undone at bar 9.6: the first anchor is back on its bars, as
/// if never cleared.
fn clear_new_anchor_undo_both(host: &Host, what: &str) {
    let bar = host.bar_samples(0);
    let at_bar = |b: f64| (b * bar) as u64;
    let line = |b: f64| host.bar_line(0, b) as u64;
    let (press, stop_press) = (line(1.0) + 4_800, at_bar(3.3));
    let (clear_at, second) = (at_bar(5.3), (line(6.0) + 2_000, at_bar(7.2)));
    let undo_at = at_bar(9.6);
    let frames = at_bar(13.0) as usize;
    let mut input = signal_until(frames, stop_press);
    for channel in &mut input {
        for t in second.0 - 10_000..second.1 {
            channel[t as usize] = 0.5 * test_signal(0, t + 777);
        }
    }
    let first_anchor = [
        (press, Command::RecordToggle),
        (stop_press, Command::RecordToggle),
    ];
    let settings = host_settings(BarCount::Auto, TransportStop::KeepRunning);
    let play = |commands: &[(u64, Command)]| {
        let (mut engine, mut keeper) = engine_at(48_000.0, 20.0, settings);
        let store = SessionStore::default();
        store.attach(engine.connect_session(), 48_000.0);
        let out = run_host(
            &mut engine,
            &mut keeper,
            host,
            &input,
            commands,
            &[512, 64, 333],
        );
        (engine, store, out)
    };
    let (reference, reference_store, expected) = play(&first_anchor);
    let mut commands = first_anchor.to_vec();
    commands.extend([
        (clear_at, Command::Clear),
        (second.0, Command::RecordToggle),
        (second.1, Command::RecordToggle),
        (undo_at, Command::Undo),
        (undo_at + 1, Command::Undo),
    ]);
    let (engine, store, out) = play(&commands);
    assert_eq!(
        engine.status().redo_count,
        2,
        "the new anchor and the clear undone"
    );
    assert_eq!(engine.host_bars(), Some(2), "locked on its two bars again");
    assert_eq!(engine.host_bars(), reference.host_bars());
    let records =
        |engine: &Engine| -> Vec<_> { engine.playing_tracks().map(TrackRecord::of).collect() };
    assert_eq!(records(&engine).len(), 1);
    let from = undo_at as usize + BLEND;
    for c in 0..2 {
        let first = (from..frames).find(|&t| out.main[c][t] != expected.main[c][t]);
        assert_eq!(first, None, "{what}, ch{c}: as never cleared");
    }
    let saved = |store: &SessionStore| store.with_model(|model, _| (model.lock, model.cycle));
    assert_eq!(
        saved(&store),
        saved(&reference_store),
        "the saved lock and cycle"
    );
}

#[test]
fn an_overdub_on_a_host_rounding_its_position_lands_on_the_loops_bar_lines() {
    // 140 BPM, 4/4, positions rounded to 1/1920 quarter as Ardour reports them: a one-bar
    // anchor from bar 1; an overdub pressed 6 ms after bar 3 and stopped 4 ms after bar 4 (both
    // within the lenience) takes exactly that bar, in the loop's phase, through the slips of
    // the bar rounding.
    let host = Host::playing(48_000.0, 140.0, (4, 4)).hinting(Hint::Rounded(1920.0));
    let line = |b: f64| host.bar_line(0, b) as u64;
    let (b1, b2, b3, b4) = (line(1.0), line(2.0), line(3.0), line(4.0));
    let frames = line(8.0) as usize;
    let tone =
        |t: u64| (2.0 * std::f64::consts::PI * 550.0 * t as f64 / 48_000.0).sin() as f32 * 0.2;
    let input: [Vec<f32>; 2] = [0, 1].map(|c| {
        (0..frames as u64)
            .map(|t| match t {
                t if t < b2 => test_signal(c, t),
                t if (b3..b4 + BLEND as u64).contains(&t) => tone(t),
                _ => 0.0,
            })
            .collect()
    });
    let (mut engine, mut keeper) = engine_at(
        48_000.0,
        20.0,
        host_settings(BarCount::Fixed(1), TransportStop::KeepRunning),
    );
    let anchor = [(b1 + 500, Command::RecordToggle)];
    let split = b3 as usize - 1_000;
    let head = [input[0][..split].to_vec(), input[1][..split].to_vec()];
    run_host(&mut engine, &mut keeper, &host, &head, &anchor, &[512]);
    let length = engine.cycle().expect("an anchor").length_samples;
    let anchor_track = engine.playing_tracks().next().expect("the anchor");
    let old = anchor_track.buffer.to_vec(0, length as usize);
    let dub = [
        (b3 + 288, Command::Dub(crate::engine::dub::DubKind::Overdub)),
        (b4 + 192, Command::Dub(crate::engine::dub::DubKind::Overdub)),
    ];
    let rest = [input[0][split..].to_vec(), input[1][split..].to_vec()];
    run_with(&mut engine, &mut keeper, &rest, &dub, &[512], |engine| {
        engine.set_host_transport(&host.transport(engine.now_samples()));
    });
    let track = engine.playing_tracks().next().expect("the anchor");
    assert_eq!(track.layers, 1, "the overdub completed");
    let new = track.buffer.to_vec(0, length as usize);
    let layered: Vec<f32> = new.iter().zip(&old).map(|(n, o)| n - o).collect();
    // The overdub starts at the loop's start (its bar line), within the bars' rounding.
    let first = layered
        .iter()
        .position(|d| d.abs() > 1e-7)
        .expect("a layer");
    let from_start = first.min(length as usize - first);
    assert!(
        from_start <= 1,
        "the layer starts {from_start} samples off the bar line"
    );
    // And holds the bar played, in phase: index j holds what was played at bar 3 + j.
    let mut worst: f32 = 0.0;
    for (j, layer) in layered
        .iter()
        .enumerate()
        .take(length as usize - BLEND)
        .skip(BLEND)
    {
        worst = worst.max((layer - tone(b3 + j as u64)).abs());
    }
    // One sample of the tone moves it by at most 2 pi 550 / 48000 x 0.2 = 0.0144.
    assert!(
        worst < 0.015,
        "the layer is off the bar it was played on by {worst}"
    );
}
