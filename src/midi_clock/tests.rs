//! The follower against a simulated drum machine: a clock at a tempo of its own crystal, each
//! tick timestamped with ±1 ms of uniform random jitter (seeded, so every run is the same), and
//! delivered before the first block starting after its timestamp (MIDI of the previous period).

use super::follower::{ClockFollower, LOST_SECS, TICKS_PER_QUARTER};
use crate::engine::Engine;
use crate::engine::command::Command;
use crate::engine::host_clock::{HostClock, HostTransport};
use crate::engine::pool::TrackPoolKeeper;
use crate::engine::sync::{BarCount, TransportStop};
use crate::engine::tests::sync::host_settings;
use crate::engine::tests::{engine_at, run_silent, run_with, signal_until};

const RATE_HZ: f64 = 48_000.0;
/// Samples in a millisecond at [`RATE_HZ`].
const MS: f64 = RATE_HZ / 1000.0;
const BLOCK: u64 = 512;

/// A small deterministic generator (xorshift).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [-1, 1).
    fn symmetric(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// A drum machine's clock as the engine's sample clock sees it.
struct DrumMachine {
    /// True samples per tick (its tempo, off by its crystal's error).
    tick_samples: f64,
    /// Exact time of the next tick, in samples.
    next_exact: f64,
    /// Timestamp of the next tick (exact plus jitter), in samples.
    next_stamp: f64,
    /// Half the width of the uniform jitter, in samples.
    jitter_samples: f64,
    rng: XorShift,
    /// Ticks sent.
    sent: u64,
}

impl DrumMachine {
    /// At `bpm` of its own time, its crystal `ppm` fast (its ticks that much closer), first tick
    /// at `first_samples`, with ±1 ms of jitter.
    fn new(bpm: f64, ppm: f64, first_samples: f64, seed: u64) -> Self {
        let mut machine = Self {
            tick_samples: 0.0,
            next_exact: first_samples,
            next_stamp: 0.0,
            jitter_samples: MS,
            rng: XorShift(seed),
            sent: 0,
        };
        machine.set_tempo(bpm, ppm);
        machine.next_stamp = machine.stamp(first_samples);
        machine
    }

    fn stamp(&mut self, exact: f64) -> f64 {
        exact + self.jitter_samples * self.rng.symmetric()
    }

    /// From the tick after the next on, `bpm` (crystal `ppm` fast).
    fn set_tempo(&mut self, bpm: f64, ppm: f64) {
        self.tick_samples = 60.0 * RATE_HZ / (bpm * TICKS_PER_QUARTER) / (1.0 + ppm * 1e-6);
    }

    /// Samples per quarter note.
    fn quarter_samples(&self) -> f64 {
        self.tick_samples * TICKS_PER_QUARTER
    }

    /// Sends the ticks stamped before `until_samples`.
    fn deliver(&mut self, follower: &mut ClockFollower, until_samples: u64) {
        while self.next_stamp < until_samples as f64 {
            follower.message(0xF8, &[], self.next_stamp);
            self.sent += 1;
            self.next_exact += self.tick_samples;
            self.next_stamp = self.stamp(self.next_exact);
        }
    }
}

/// Runs blocks of `block` samples from `from` until `until` (exclusive), delivering the ticks
/// before each and handing `each` the block start, its transport and the machine; returns where
/// it stopped.
fn run_blocks(
    follower: &mut ClockFollower,
    machine: &mut DrumMachine,
    from: u64,
    until: u64,
    block: u64,
    mut each: impl FnMut(u64, HostTransport, &DrumMachine),
) -> u64 {
    let mut t = from;
    while t < until {
        machine.deliver(follower, t);
        let transport = follower.transport_at(t);
        each(t, transport, machine);
        t += block;
    }
    t
}

/// How far the transport's beat position at `t` is from the clock's, in ms, where the clock
/// was at song position `quarters0` at `at_samples` and a quarter is `quarter_samples` since.
fn phase_error_ms(
    transport: &HostTransport,
    t: u64,
    (at_samples, quarters0): (f64, f64),
    quarter_samples: f64,
) -> f64 {
    let reported = transport.pos_beats.expect("a position");
    let truth = quarters0 + (t as f64 - at_samples) / quarter_samples;
    (reported - truth) * quarter_samples / MS
}

/// A clock from its first tick at 0.1 s, started so that its first tick is beat 0: the
/// follower, the machine and the time of beat 0.
fn started(bpm: f64, ppm: f64, seed: u64) -> (ClockFollower, DrumMachine, f64) {
    let mut follower = ClockFollower::new(RATE_HZ as f32, 4);
    let machine = DrumMachine::new(bpm, ppm, 0.1 * RATE_HZ, seed);
    follower.message(0xFA, &[], 0.0);
    let beat0 = machine.next_exact;
    (follower, machine, beat0)
}

/// Seconds of `ticks` at `bpm`.
fn tick_secs(ticks: u64, bpm: f64) -> f64 {
    ticks as f64 * 60.0 / (bpm * TICKS_PER_QUARTER)
}

/// The held tempo from the first settled block on: it must never change; the ticks sent when
/// it settled; the worst beat position error from then on, in ms.
struct Held {
    bpm: Option<f64>,
    settled_ticks: Option<u64>,
    worst_phase_ms: f64,
}

impl Held {
    fn new() -> Self {
        Self {
            bpm: None,
            settled_ticks: None,
            worst_phase_ms: 0.0,
        }
    }

    /// Takes in a block's transport: once settled, playing at one tempo, at the clock's beat
    /// position (song position `quarters0` at `at_samples`, quarters of `quarter_samples`).
    fn block(
        &mut self,
        t: u64,
        transport: HostTransport,
        machine: &DrumMachine,
        origin: (f64, f64),
        what: &str,
    ) {
        let Some(tempo) = transport.tempo_bpm else {
            assert!(self.bpm.is_none(), "{what}: the tempo never goes away");
            return;
        };
        self.settled_ticks.get_or_insert(machine.sent);
        assert_eq!(
            *self.bpm.get_or_insert(tempo),
            tempo,
            "{what}: the tempo holds"
        );
        assert!(transport.playing, "{what}: playing");
        let error = phase_error_ms(&transport, t, origin, machine.quarter_samples());
        self.worst_phase_ms = self.worst_phase_ms.max(error.abs());
    }
}

#[test]
fn tempo_settles_within_0_1_bpm_and_holds_at_60_90_120_and_200_bpm_with_1_ms_jitter() {
    for (bpm, seed) in [(60.0, 1), (90.0, 2), (120.0, 3), (200.0, 4)] {
        let what = format!("{bpm} BPM");
        let (mut follower, mut machine, beat0) = started(bpm, 0.0, 0xC10C_0000 + seed);
        let mut held = Held::new();
        run_blocks(
            &mut follower,
            &mut machine,
            0,
            (60.0 * RATE_HZ) as u64,
            BLOCK,
            |t, transport, machine| held.block(t, transport, machine, (beat0, 0.0), &what),
        );
        let ticks = held.settled_ticks.expect("settled");
        let tempo = held.bpm.unwrap();
        let error_ppm = (tempo / bpm - 1.0) * 1e6;
        let seconds = tick_secs(ticks, bpm);
        eprintln!(
            "{what}: settled after {ticks} ticks ({seconds:.2} s), held {tempo:.4} BPM \
             ({error_ppm:+.1} ppm), worst beat position error {:.3} ms",
            held.worst_phase_ms
        );
        assert!((tempo - bpm).abs() < 0.1, "{what}: held {tempo}");
        assert_eq!(follower.tempo_bpm(), Some(tempo), "{what}: the editor's");
        // Precise enough that a 2-bar loop at 60 BPM (8 s) drifts under half a millisecond.
        assert!(error_ppm.abs() < 60.0, "{what}: {error_ppm} ppm");
        assert!(seconds <= 8.0, "{what}: settled after {seconds} s");
        assert!(
            held.worst_phase_ms < 0.3,
            "{what}: beats {} ms off the clock's",
            held.worst_phase_ms
        );
    }
}

#[test]
fn a_clock_running_before_start_plays_from_its_first_beat_with_a_finer_tempo() {
    // 40 s of clock while the drum machine stops: the held tempo takes in every tick (the
    // engine has no grid while stopped), so at Start it comes from the whole ring.
    let mut follower = ClockFollower::new(RATE_HZ as f32, 4);
    let mut machine = DrumMachine::new(120.0, 0.0, 0.1 * RATE_HZ, 0x57A2_7001);
    let t = run_blocks(
        &mut follower,
        &mut machine,
        0,
        (40.0 * RATE_HZ) as u64,
        BLOCK,
        |_, transport, _| assert!(!transport.playing),
    );
    follower.message(0xFA, &[], t as f64);
    let beat0 = machine.next_exact;
    let mut held = Held::new();
    let mut first_playing = None;
    run_blocks(
        &mut follower,
        &mut machine,
        t,
        t + (20.0 * RATE_HZ) as u64,
        BLOCK,
        |t, transport, machine| {
            if transport.playing {
                first_playing.get_or_insert(t);
            }
            held.block(t, transport, machine, (beat0, 0.0), "after Start");
        },
    );
    let late_ms = (first_playing.expect("plays") as f64 - beat0) / MS;
    let error_ppm = (held.bpm.expect("a tempo") / 120.0 - 1.0) * 1e6;
    eprintln!(
        "clock before Start: plays {late_ms:.2} ms after beat 0 at {error_ppm:+.1} ppm, beats \
         within {:.3} ms",
        held.worst_phase_ms
    );
    // From the first block after beat 0's tick (one block, 10.7 ms, plus its jitter).
    assert!(
        late_ms <= BLOCK as f64 / MS + 1.0,
        "plays {late_ms} ms late"
    );
    assert!(error_ppm.abs() < 10.0, "{error_ppm} ppm");
    assert!(held.worst_phase_ms < 0.3, "{} ms off", held.worst_phase_ms);
}

#[test]
fn a_tempo_change_from_120_to_90_or_121_bpm_gives_one_new_held_tempo_on_the_same_bars() {
    for (bpm, seed) in [(90.0, 0xC4A4_6E00), (121.0, 0xC4A4_6E01)] {
        let what = format!("120 -> {bpm} BPM");
        let (mut follower, mut machine, _) = started(120.0, 0.0, seed);
        let mut t = run_blocks(
            &mut follower,
            &mut machine,
            0,
            (20.0 * RATE_HZ) as u64,
            BLOCK,
            |_, _, _| {},
        );
        assert!(follower.settled());
        // The change falls on a beat (a device changes tempo on its own clock's ticks).
        let beat_ticks = TICKS_PER_QUARTER as u64;
        while machine.sent % beat_ticks != 0 {
            t = run_blocks(&mut follower, &mut machine, t, t + 1, 1, |_, _, _| {});
        }
        let change_tick = machine.sent;
        let change = (machine.next_exact, change_tick as f64 / TICKS_PER_QUARTER);
        // The tick at the change is the last at 120 BPM's spacing.
        machine.set_tempo(bpm, 0.0);
        let mut tempos = Vec::new();
        let mut new_after = None;
        let mut worst_phase_ms: f64 = 0.0;
        run_blocks(
            &mut follower,
            &mut machine,
            t,
            t + (30.0 * RATE_HZ) as u64,
            BLOCK,
            |t, transport, machine| {
                let Some(tempo) = transport.tempo_bpm else {
                    return;
                };
                if tempos.last() != Some(&tempo) {
                    tempos.push(tempo);
                }
                if tempos.len() == 2 {
                    new_after.get_or_insert(machine.sent - change_tick);
                    // Bars still count from the song's start.
                    let error = phase_error_ms(&transport, t, change, machine.quarter_samples());
                    worst_phase_ms = worst_phase_ms.max(error.abs());
                }
            },
        );
        let ticks = new_after.expect("the new tempo settled");
        eprintln!(
            "{what}: held {tempos:?}, the new tempo after {ticks} ticks ({:.2} s), worst beat \
             position error {worst_phase_ms:.3} ms",
            tick_secs(ticks, bpm)
        );
        assert_eq!(tempos.len(), 2, "{what}: one tempo change: {tempos:?}");
        assert!((tempos[1] - bpm).abs() < 0.1, "{what}: {tempos:?}");
        assert!(tick_secs(ticks, bpm) <= 8.0, "{what}: after {ticks} ticks");
        assert!(
            worst_phase_ms < 0.3,
            "{what}: beats {worst_phase_ms} ms off the clock's"
        );
    }
}

#[test]
fn stop_song_position_and_continue_put_the_grids_bars_on_the_clocks_bars() {
    let (mut follower, mut machine, beat0) = started(120.0, 0.0, 0x5709_0001);
    let bar = 4.0 * machine.quarter_samples();
    // Ten bars and a beat, then Stop.
    let t = run_blocks(
        &mut follower,
        &mut machine,
        0,
        (beat0 + 10.25 * bar) as u64,
        BLOCK,
        |_, _, _| {},
    );
    follower.message(0xFC, &[], t as f64);
    let stopped_at = machine.sent as f64 / TICKS_PER_QUARTER;
    let mut t = run_blocks(
        &mut follower,
        &mut machine,
        t,
        t + (1.0 * RATE_HZ) as u64,
        BLOCK,
        |_, transport, _| {
            assert!(!transport.playing, "stopped");
            assert_eq!(transport.pos_beats, Some(stopped_at), "where it stopped");
        },
    );
    assert!(
        follower
            .tempo_bpm()
            .is_some_and(|b| (b - 120.0).abs() < 0.1),
        "the clock still runs: {:?}",
        follower.tempo_bpm()
    );
    let mut host = HostClock::default();
    // Song position: bar 3 (48 sixteenths), then bad pointers (ignored), then Continue: the next
    // tick is bar 3's downbeat; then Stop on a bar line and Continue from there.
    let mut pointer = Some([48u8, 0u8]);
    let mut bar_at_continue = 3.0;
    for _ in 0..2 {
        if let Some(data) = pointer.take() {
            follower.message(0xF2, &data, t as f64);
            follower.message(0xF2, &[0x80, 0], t as f64);
            follower.message(0xF2, &[7], t as f64);
        }
        follower.message(0xFB, &[], t as f64);
        let (downbeat, sent_at_continue) = (machine.next_exact, machine.sent);
        let mut worst_ms: f64 = 0.0;
        let mut blocks = 0;
        t = run_blocks(
            &mut follower,
            &mut machine,
            t,
            (downbeat + 2.0 * bar) as u64,
            BLOCK,
            |t, transport, _| {
                let t_f = t as f64;
                assert!(
                    t_f > downbeat + MS || !transport.playing,
                    "waits for the tick"
                );
                assert!(
                    t_f < downbeat + MS || transport.playing,
                    "plays from the tick"
                );
                let Some(grid) = host.grid(&transport, t, RATE_HZ as f32) else {
                    return;
                };
                blocks += 1;
                // The bar line nearest the block start, on the grid and on the clock.
                let k = (grid.bars_at(t_f) - bar_at_continue).round();
                let truth = downbeat + k * bar;
                let error = (grid.time_of_bar(bar_at_continue + k) - truth) / MS;
                worst_ms = worst_ms.max(error.abs());
            },
        );
        assert!(blocks > 300, "followed for {blocks} blocks");
        eprintln!("continued from bar {bar_at_continue}: bar lines within {worst_ms:.3} ms");
        assert!(worst_ms < 0.3, "bar lines {worst_ms} ms off the clock's");
        // Stop where the next tick is a bar's downbeat.
        while (machine.sent - sent_at_continue) % 96 != 0 {
            t = run_blocks(&mut follower, &mut machine, t, t + 1, 1, |_, _, _| {});
        }
        follower.message(0xFC, &[], t as f64);
        bar_at_continue += ((machine.sent - sent_at_continue) / 96) as f64;
        let transport = follower.transport_at(t);
        assert_eq!(
            transport.pos_beats,
            Some(4.0 * bar_at_continue),
            "held on the bar"
        );
    }
}

#[test]
fn a_lost_clock_stops_the_transport_and_continue_resumes_where_it_was() {
    let (mut follower, mut machine, _) = started(120.0, 0.0, 0x105E_0001);
    let t = run_blocks(
        &mut follower,
        &mut machine,
        0,
        (10.0 * RATE_HZ) as u64,
        BLOCK,
        |_, _, _| {},
    );
    assert!(follower.transport_at(t).playing && follower.settled());
    let tempo = follower.tempo_bpm();
    let held_at = machine.sent as f64 / TICKS_PER_QUARTER;
    // The cable is pulled: no tick for a second.
    let silence_from = machine.next_exact;
    let lost_by = (silence_from + LOST_SECS * RATE_HZ) as u64 + BLOCK;
    let mut t = t;
    while t < (silence_from + RATE_HZ) as u64 {
        let transport = follower.transport_at(t);
        if t > lost_by {
            assert!(
                !transport.playing,
                "stopped {} ms into the silence",
                (t as f64 - silence_from) / MS
            );
            assert_eq!(transport.tempo_bpm, None, "the tempo is measured afresh");
            assert!(!follower.settled());
        }
        t += BLOCK;
    }
    // Ticks come back (a drum machine left playing): at the tempo they had, followed at once,
    // but the position is unknown until Continue.
    machine.next_exact = t as f64 + 100.0;
    machine.next_stamp = machine.next_exact;
    let sent_before = machine.sent;
    let mut back_after = None;
    let t = run_blocks(
        &mut follower,
        &mut machine,
        t,
        t + (10.0 * RATE_HZ) as u64,
        BLOCK,
        |_, transport, machine| {
            assert!(!transport.playing, "no Continue yet");
            assert_eq!(transport.pos_beats.unwrap_or(held_at), held_at);
            if transport.tempo_bpm.is_some() {
                back_after.get_or_insert(machine.sent - sent_before);
            }
        },
    );
    let back_after = back_after.expect("the tempo is known again");
    eprintln!("clock back: its tempo after {back_after} ticks");
    // A quarter note of ticks on the old tempo's line, and a few more: at once, where a new
    // tempo takes some 250.
    assert!(back_after <= 30, "after {back_after} ticks");
    let drift_ppm = (follower.tempo_bpm().unwrap() / tempo.unwrap() - 1.0) * 1e6;
    assert!(drift_ppm.abs() < 60.0, "the same tempo: {drift_ppm} ppm");
    follower.message(0xFB, &[], t as f64);
    let resume = (machine.next_exact, held_at);
    let mut held = Held::new();
    run_blocks(
        &mut follower,
        &mut machine,
        t,
        t + (4.0 * RATE_HZ) as u64,
        BLOCK,
        |t, transport, machine| {
            if t as f64 > resume.0 + MS {
                held.block(t, transport, machine, resume, "after Continue");
            }
        },
    );
    assert!(held.worst_phase_ms < 0.3, "{} ms off", held.worst_phase_ms);
}

#[test]
fn a_clock_sent_only_while_playing_is_followed_at_once_at_its_tempo_and_measured_at_another() {
    for (bpm, seed) in [(120.0, 0xBAC_0001), (100.0, 0xBAC_0002)] {
        let what = format!("120 then {bpm} BPM");
        let (mut follower, mut machine, _) = started(120.0, 0.0, seed);
        let t = run_blocks(
            &mut follower,
            &mut machine,
            0,
            (10.0 * RATE_HZ) as u64,
            BLOCK,
            |_, _, _| {},
        );
        let before = follower.transport_at(t).tempo_bpm.expect("settled");
        // Stop, two seconds without clock, Start at `bpm`.
        follower.message(0xFC, &[], t as f64);
        let t = t + (2.0 * RATE_HZ) as u64;
        assert_eq!(follower.transport_at(t).tempo_bpm, None, "{what}: lost");
        follower.message(0xFA, &[], t as f64);
        machine.set_tempo(bpm, 0.0);
        machine.next_exact = t as f64 + 100.0;
        machine.next_stamp = machine.next_exact;
        let (origin, sent_before) = ((machine.next_exact, 0.0), machine.sent);
        let mut held = Held::new();
        run_blocks(
            &mut follower,
            &mut machine,
            t,
            t + (20.0 * RATE_HZ) as u64,
            BLOCK,
            |t, transport, machine| held.block(t, transport, machine, origin, &what),
        );
        let ticks = held.settled_ticks.expect("settled") - sent_before;
        let tempo = held.bpm.unwrap();
        eprintln!(
            "{what}: playing with a tempo after {ticks} ticks, beats within {:.3} ms",
            held.worst_phase_ms
        );
        if bpm == 120.0 {
            assert_eq!(tempo, before, "{what}: no tempo change for the engine");
            assert!(ticks <= 30, "{what}: after {ticks} ticks");
        } else {
            assert!((tempo - bpm).abs() < 0.1, "{what}: {tempo} BPM");
        }
        assert!(
            held.worst_phase_ms < 0.3,
            "{what}: {} ms off",
            held.worst_phase_ms
        );
    }
}

#[test]
fn a_clock_that_jumps_in_phase_at_start_keeps_its_tempo_and_plays_at_once() {
    let (mut follower, mut machine, _) = started(120.0, 0.0, 0x9A5E_0001);
    let t = run_blocks(
        &mut follower,
        &mut machine,
        0,
        (10.0 * RATE_HZ) as u64,
        BLOCK,
        |_, _, _| {},
    );
    follower.message(0xFC, &[], t as f64);
    let t = run_blocks(
        &mut follower,
        &mut machine,
        t,
        t + (2.0 * RATE_HZ) as u64,
        BLOCK,
        |_, _, _| {},
    );
    let before = follower.transport_at(t).tempo_bpm.expect("settled");
    // The device restarts its clock at Start: the next tick comes 7 ms late, and the rest
    // with it.
    follower.message(0xFA, &[], t as f64);
    machine.next_exact += 7.0 * MS;
    machine.next_stamp += 7.0 * MS;
    let (origin, sent_before) = ((machine.next_exact, 0.0), machine.sent);
    let mut held = Held::new();
    run_blocks(
        &mut follower,
        &mut machine,
        t,
        t + (30.0 * RATE_HZ) as u64,
        BLOCK,
        |t, transport, machine| {
            if t as f64 > origin.0 + MS {
                held.block(t, transport, machine, origin, "re-phased");
            }
        },
    );
    let ticks = held.settled_ticks.expect("settled") - sent_before;
    eprintln!(
        "re-phased by 7 ms: playing with a tempo after {ticks} ticks, beats within {:.3} ms",
        held.worst_phase_ms
    );
    assert_eq!(held.bpm, Some(before), "no tempo change for the engine");
    assert!(ticks <= 30, "after {ticks} ticks");
    assert!(held.worst_phase_ms < 0.3, "{} ms off", held.worst_phase_ms);
}

#[test]
fn a_clock_50_ppm_fast_or_slow_keeps_its_beats_for_an_hour() {
    for (ppm, seed) in [(50.0, 0x50_0001), (-50.0, 0x50_0002)] {
        let what = format!("120 BPM, {ppm:+} ppm");
        let (mut follower, mut machine, beat0) = started(120.0, ppm, seed);
        let mut held = Held::new();
        run_blocks(
            &mut follower,
            &mut machine,
            0,
            (3_600.0 * RATE_HZ) as u64,
            4096,
            |t, transport, machine| held.block(t, transport, machine, (beat0, 0.0), &what),
        );
        // The tempo in the audio clock's time.
        let truth = 120.0 * (1.0 + ppm * 1e-6);
        let tempo = held.bpm.expect("settled");
        let error_ppm = (tempo / truth - 1.0) * 1e6;
        eprintln!(
            "{what}: held {tempo:.4} BPM ({error_ppm:+.1} ppm off the clock's {truth:.4}), worst \
             beat position error over the hour {:.3} ms",
            held.worst_phase_ms
        );
        assert!(error_ppm.abs() < 60.0, "{what}: {error_ppm} ppm");
        assert!(
            held.worst_phase_ms < 0.3,
            "{what}: {} ms",
            held.worst_phase_ms
        );
    }
}

#[test]
fn garbage_never_panics_and_a_clean_clock_afterwards_is_followed() {
    let (mut follower, mut machine, _) = started(90.0, 0.0, 0x6A2B_A6E0);
    let mut rng = XorShift(0xBAD_F00D);
    let mut t = 0;
    for round in 0..2_000u64 {
        let data = [rng.next() as u8, rng.next() as u8, rng.next() as u8];
        let len = (rng.next() % 4) as usize;
        let at = match round % 6 {
            0 => f64::NAN,
            1 => -1_000.0,
            2 => f64::INFINITY,
            3 => 1e300,
            4 => t as f64 - 1e6,
            _ => t as f64 + rng.symmetric() * RATE_HZ,
        };
        follower.message(0xF0 | (rng.next() as u8 & 0x0F), &data[..len], at);
        follower.message(rng.next() as u8, &data[..len], at);
        let transport = follower.transport_at(t);
        for value in [transport.tempo_bpm, transport.pos_beats]
            .into_iter()
            .flatten()
        {
            assert!(value.is_finite(), "round {round}: {transport:?}");
        }
        t += BLOCK;
        if round % 500 == 0 {
            let _ = follower.transport_at(u64::MAX);
        }
    }
    let _ = ClockFollower::new(f32::NAN, 0).transport_at(0);
    // A clean clock from here: Start, and the follower follows as if nothing had happened.
    follower.message(0xFC, &[], t as f64);
    machine.next_exact = t as f64 + 100.0;
    machine.next_stamp = machine.next_exact;
    follower.message(0xFA, &[], t as f64);
    let origin = (machine.next_exact, 0.0);
    let mut held = Held::new();
    run_blocks(
        &mut follower,
        &mut machine,
        t,
        t + (30.0 * RATE_HZ) as u64,
        BLOCK,
        |t, transport, machine| {
            if t as f64 > origin.0 + MS {
                held.block(t, transport, machine, origin, "after the garbage");
            }
        },
    );
    let tempo = held.bpm.expect("settled");
    assert!((tempo - 90.0).abs() < 0.1, "{tempo} BPM");
    assert!(held.worst_phase_ms < 0.3, "{} ms off", held.worst_phase_ms);
}

/// The drum machine, the follower and an engine in host-sync mode: before every block, the
/// ticks of the past period go to the follower and its transport to the engine. Measures the
/// engine's loop against the clock's bars.
struct Rig {
    follower: ClockFollower,
    machine: DrumMachine,
    /// Time of the clock's beat 0, in samples.
    beat0_samples: f64,
    /// The last tempo the engine got, in BPM.
    tempo_bpm: Option<f64>,
    /// Times the engine got a different tempo from the block before.
    tempo_changes: u32,
    /// Once the anchor is recorded: the clock's bar line it started on and the clock's length
    /// of its two bars, in samples.
    loop_lines: Option<(f64, f64)>,
    /// The worst distance of the loop's position from the clock's, in ms.
    worst_loop_ms: f64,
    /// The worst distance of the transport's beat position from the clock's, in ms.
    worst_grid_ms: f64,
}

impl Rig {
    fn before_block(&mut self, engine: &mut Engine) {
        let t = engine.now_samples();
        let (machine, follower) = (&mut self.machine, &mut self.follower);
        let transport = nice_assert_no_alloc::assert_no_alloc(|| {
            machine.deliver(follower, t);
            follower.transport_at(t)
        });
        engine.set_host_transport(&transport);
        if let Some(tempo) = transport.tempo_bpm {
            if self
                .tempo_bpm
                .replace(tempo)
                .is_some_and(|old| old != tempo)
            {
                self.tempo_changes += 1;
            }
            let origin = (self.beat0_samples, 0.0);
            let error = phase_error_ms(&transport, t, origin, self.machine.quarter_samples());
            self.worst_grid_ms = self.worst_grid_ms.max(error.abs());
        }
        if let (Some((line, length)), Some(cycle)) = (self.loop_lines, engine.cycle()) {
            let played = (t as i64 - cycle.origin_samples as i64)
                .rem_euclid(cycle.length_samples as i64) as f64;
            let clock = (t as f64 - line).rem_euclid(length);
            let error = (played - clock + length / 2.0).rem_euclid(length) - length / 2.0;
            self.worst_loop_ms = self.worst_loop_ms.max(error.abs() / MS);
        }
    }
}

/// Records a 2-bar anchor on a drum machine's clock at `bpm` (crystal `ppm` fast), pressed
/// 100 ms after a bar line at least 12 s in and stopped 2.3 bars later, then plays an hour.
fn an_hour_on_the_clock(bpm: f64, ppm: f64, seed: u64) {
    let what = format!("{bpm} BPM, {ppm:+} ppm");
    let (follower, machine, beat0) = started(bpm, ppm, seed);
    let bar = 4.0 * machine.quarter_samples();
    let s0 = beat0 + ((12.0 * RATE_HZ - beat0) / bar).ceil() * bar;
    let press = (s0 + 0.1 * RATE_HZ) as u64;
    let stop_press = (s0 + 2.3 * bar) as u64;
    let frames = (s0 + 3.5 * bar) as usize;
    let (mut engine, mut keeper): (Engine, TrackPoolKeeper) = engine_at(
        RATE_HZ as f32,
        20.0,
        host_settings(BarCount::Auto, TransportStop::KeepRunning),
    );
    let mut rig = Rig {
        follower,
        machine,
        beat0_samples: beat0,
        tempo_bpm: None,
        tempo_changes: 0,
        loop_lines: None,
        worst_loop_ms: 0.0,
        worst_grid_ms: 0.0,
    };
    run_with(
        &mut engine,
        &mut keeper,
        &signal_until(frames, stop_press),
        &[
            (press, Command::RecordToggle),
            (stop_press, Command::RecordToggle),
        ],
        &[4096],
        |engine| rig.before_block(engine),
    );
    assert_eq!(engine.host_bars(), Some(2), "{what}: locked on two bars");
    let length = engine.cycle().expect("an anchor").length_samples;
    rig.loop_lines = Some((s0, 2.0 * bar));
    run_silent(
        &mut engine,
        &mut keeper,
        3_600 * RATE_HZ as u64,
        &[4096],
        |engine| rig.before_block(engine),
    );
    assert_eq!(engine.host_bars(), Some(2), "{what}: still locked");
    assert_eq!(
        engine.cycle().map(|c| c.length_samples),
        Some(length),
        "{what}: never restarted on a new tempo"
    );
    assert_eq!(rig.tempo_changes, 0, "{what}: the tempo held");
    let tempo = rig.tempo_bpm.unwrap();
    eprintln!(
        "{what}: held {tempo:.4} BPM ({:+.1} ppm), loop within {:.3} ms of the clock's bars, beat \
         positions within {:.3} ms, over an hour",
        (tempo / (bpm * (1.0 + ppm * 1e-6)) - 1.0) * 1e6,
        rig.worst_loop_ms,
        rig.worst_grid_ms
    );
    assert!(
        rig.worst_loop_ms < 1.0,
        "{what}: the loop {} ms off",
        rig.worst_loop_ms
    );
    assert!(
        rig.worst_grid_ms < 0.3,
        "{what}: beats {} ms off",
        rig.worst_grid_ms
    );
}

#[test]
fn an_anchor_on_a_drum_machines_clock_stays_on_its_bars_for_an_hour_at_60_bpm() {
    an_hour_on_the_clock(60.0, 50.0, 0x0060_0001);
}

#[test]
fn an_anchor_on_a_drum_machines_clock_stays_on_its_bars_for_an_hour_at_200_bpm() {
    an_hour_on_the_clock(200.0, -50.0, 0x0200_0001);
}
