//! Loopmate's standalone processor in an Ableton Link session, with a second Link peer in the
//! same process as the rest of the band (needs the `link` feature: `cargo test --features link
//! --test link_sync`; `cargo xtask test` runs it).
//!
//! The peer sets the session's tempo (140 BPM) and phase; Loopmate's processor, with
//! `TransportSource::Link` as `--clock link` gives it, runs headless in real time on a simulated
//! interface: period `n` (128 frames at 48 kHz) is processed when the host clock reaches
//! `T0 + n` periods, so engine sample `s` is heard at host time `T0 + s / 48 kHz`.
//!
//! The metronome (headphones) must click on the peer's beats. Then a player records a loop in
//! host-sync mode: a tone from 5 ms after the peer's bar line (bar 1) to just past bar 3, record
//! pressed 30 ms after bar 1 and again 200 ms before bar 3. Then the peer changes the tempo to
//! 105 BPM mid-bar. Where a loop starts shows in the PA: the take begins with the 5 ms before the
//! tone, so its audio ends, and silence begins, one take length (two bars at 140 BPM) after each
//! loop start. Those starts must lie on the peer's bar lines, every two bars, at both tempos.
//!
//! And the other way round: Loopmate alone in its session proposes its anchor's tempo (through
//! the audio thread's calls, under the allocation checker), and with a peer proposes nothing.
//!
//! Network: Link peers find each other by multicast on every running interface. The test runs in
//! a private network namespace whose only interface is the loopback (up; its MULTICAST flag is
//! not needed, nor a route), so no packet leaves the machine: it needs root (CI runs as root) or
//! a namespace made for it, e.g. `unshare -rn cargo test --features link --test link_sync`. It
//! needs `ip` (Debian's iproute2) to bring the loopback up.

use std::time::{Duration, Instant};

use loopmate::link_clock::HostTimeMap;
use loopmate::standalone::link::LinkSource;
use loopmate::standalone::plugin_host::PluginHost;
use loopmate::standalone::processor::{MidiIn, TransportSource};
use rusty_link::{AblLink, SessionState};

const RATE: u32 = 48_000;
const PERIOD: usize = 128;
/// Beats in a bar: Link's quantum.
const QUANTUM: f64 = 4.0;
const FIRST_TEMPO_BPM: f64 = 140.0;
const SECOND_TEMPO_BPM: f64 = 105.0;
/// The record note, and the host-sync and metronome CCs, of the test's MIDI map.
const RECORD_NOTE: u8 = 47;
const SYNC_CC: u8 = 20;
const METRONOME_CC: u8 = 21;
/// The tone starts this long after bar 1, in microseconds.
const TONE_AFTER_MICROS: i64 = 5_000;
/// Below this the output is silent (the tone is 0.5; the last sample of a take's end fade is
/// 0.002).
const SILENCE: f32 = 1e-4;
/// How long the peers may take to find each other (Link announces itself every 250 ms or so).
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// `CLONE_NEWNET` of `unshare(2)`.
const CLONE_NEWNET: i32 = 0x4000_0000;

unsafe extern "C" {
    fn unshare(flags: i32) -> i32;
}

/// The interfaces of this thread's network namespace.
fn interfaces() -> Vec<String> {
    let dev = std::fs::read_to_string("/proc/thread-self/net/dev").expect("/proc/thread-self");
    dev.lines()
        .skip(2)
        .filter_map(|line| line.split(':').next())
        .map(|name| name.trim().to_owned())
        .collect()
}

/// Moves this thread (and the threads and processes it starts: Link's) into a network namespace
/// of its own, with the loopback up and nothing else.
fn loopback_only() {
    // SAFETY: a plain system call with a constant flag; it changes only this thread's namespace.
    let private = unsafe { unshare(CLONE_NEWNET) } == 0;
    let found = interfaces();
    assert!(
        found == ["lo"],
        "Link must find its peer on the loopback interface only, but this namespace has {found:?} \
         and a new one could not be made ({}): run as root, or under `unshare -rn`",
        if private {
            "it was".to_owned()
        } else {
            std::io::Error::last_os_error().to_string()
        }
    );
    let up = std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("`ip` (Debian's iproute2) brings the loopback up");
    assert!(up.success(), "`ip link set lo up` failed: {up}");
}

/// The peer's session at host time `micros`, as a beat position.
fn beat(state: &SessionState, micros: i64) -> f64 {
    state.beat_at_time(micros, QUANTUM)
}

/// Where runs of at least `length` silent samples start, and where sound starts after them.
fn silences(signal: &[f32], length: usize) -> (Vec<usize>, Vec<usize>) {
    let (mut starts, mut ends) = (Vec::new(), Vec::new());
    let mut run = 0;
    for (t, v) in signal.iter().enumerate() {
        if v.abs() < SILENCE {
            run += 1;
            if run == length {
                starts.push(t + 1 - length);
            }
        } else {
            if run >= length {
                ends.push(t);
            }
            run = 0;
        }
    }
    (starts, ends)
}

/// How far host time `micros` is from the nearest multiple of `every` beats of `state`: that
/// multiple (in beats from `origin_beat`) and the distance in ms.
fn off_grid(state: &SessionState, micros: i64, origin_beat: f64, every: f64) -> (f64, f64) {
    let beats = beat(state, micros) - origin_beat;
    let line = (beats / every).round() * every;
    (line, (beats - line) * 60_000.0 / state.tempo())
}

#[test]
fn the_metronome_and_the_loops_follow_a_link_peers_bars_and_its_tempo_change() {
    loopback_only();
    let host = PluginHost::new(RATE as f32, PERIOD as u32, 1, |plugin| {
        let map = format!(
            "version = 1\n\n[[binding]]\ncommand = \"record\"\nnote = {RECORD_NOTE}\n\n\
             [[binding]]\nparam = \"sync_mode\"\ncc = {SYNC_CC}\n\n\
             [[binding]]\nparam = \"metronome\"\ncc = {METRONOME_CC}\n"
        );
        (plugin.loopmate_params().midi_map.import(&map)).map_err(|e| e.to_string())
    })
    .unwrap();
    let (mut processor, _editor) = host.split();
    let loopmate = LinkSource::join(QUANTUM as u32, RATE as f32, 0);

    let peer = AblLink::new(90.0);
    peer.enable(true);
    let searching = Instant::now();
    while peer.num_peers() == 0 || loopmate.peers() == 0 {
        assert!(
            searching.elapsed() < DISCOVERY_TIMEOUT,
            "the two Link peers did not find each other on the loopback interface in {:?}",
            DISCOVERY_TIMEOUT
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("Link peers found each other in {:?}", searching.elapsed());
    processor.set_transport_source(TransportSource::Link(Box::new(loopmate)));

    // The peer's tempo, and a phase of its own: beat 1.37 now.
    let mut session = SessionState::new();
    peer.capture_app_session_state(&mut session);
    let now = peer.clock_micros();
    session.set_tempo(FIRST_TEMPO_BPM, now);
    session.force_beat_at_time(1.37, now, QUANTUM);
    peer.commit_app_session_state(&session);
    // The session until the tempo change (the script's clock).
    peer.capture_app_session_state(&mut session);

    // The script, on the peer's timeline: the first bar line at least 2.5 s ahead is bar 1.
    let t0 = peer.clock_micros() + 10_000;
    let bar_1 = (beat(&session, t0 + 2_500_000) / QUANTUM).ceil() * QUANTUM;
    let at_beat = |beats: f64| session.time_at_beat(bar_1 + beats, QUANTUM);
    let sample_of = |micros: i64| ((micros - t0) as f64 * f64::from(RATE) / 1e6).round() as usize;
    let micros_of = |t: usize| t0 + (t as f64 * 1e6 / f64::from(RATE)).round() as i64;
    let tone = sample_of(at_beat(0.0) + TONE_AFTER_MICROS)..sample_of(at_beat(8.0) + 20_000);
    let record_at = sample_of(at_beat(0.0) + 30_000);
    let stop_at = sample_of(at_beat(8.0) - 200_000);
    // The tempo changes mid-bar (bar 7, beat 3.5). The loops then start on beats 24 (before the
    // change: the cycle the change lands in), 32 and 40 of the new tempo.
    let change_micros = at_beat(26.5);
    let change_at = sample_of(change_micros);
    let end = change_at + (20.5 * 60.0 / SECOND_TEMPO_BPM * f64::from(RATE)) as usize;
    let take_samples = 8.0 * 60.0 / FIRST_TEMPO_BPM * f64::from(RATE);

    // Measured from half a second in, once Link has told Loopmate the peer's tempo and phase.
    let from_samples = (RATE / 2) as usize;
    let mut pa = Vec::with_capacity(end + PERIOD);
    let mut phones = Vec::with_capacity(end + PERIOD);
    let mut latest_micros = 0i64;
    // Loopmate's host time map on the same readings: how far its host time strays from the
    // simulated interface's.
    let mut host_time = HostTimeMap::new(RATE as f32);
    let mut worst_map_micros = 0i64;
    let mut changed = false;
    let mut n = 0;
    while n * PERIOD < end {
        let start = n * PERIOD;
        let due = micros_of(start);
        let ahead = due - peer.clock_micros();
        if ahead > 0 {
            std::thread::sleep(Duration::from_micros(ahead as u64));
        }
        let read = peer.clock_micros();
        latest_micros = latest_micros.max(read - due);
        let mapped = host_time.host_micros(read, start as u64);
        if start >= from_samples {
            worst_map_micros = worst_map_micros.max((mapped - due).abs());
        }
        if !changed && start + PERIOD > change_at {
            let mut changing = SessionState::new();
            peer.capture_app_session_state(&mut changing);
            changing.set_tempo(SECOND_TEMPO_BPM, change_micros);
            peer.commit_app_session_state(&changing);
            changed = true;
        }
        let input = processor.input(0, PERIOD);
        for (i, sample) in input.iter_mut().enumerate() {
            let t = start + i;
            *sample = if tone.contains(&t) {
                let secs = (t - tone.start) as f64 / f64::from(RATE);
                (0.5 * (std::f64::consts::TAU * 1_000.0 * secs).sin()) as f32
            } else {
                0.0
            };
        }
        let mut midi = Vec::new();
        if n == 0 {
            midi.extend(MidiIn::new(0, &[0xB0, SYNC_CC, 127]));
            midi.extend(MidiIn::new(0, &[0xB0, METRONOME_CC, 127]));
        }
        for press in [record_at, stop_at] {
            if (start..start + PERIOD).contains(&press) {
                midi.extend(MidiIn::new(
                    (press - start) as u32,
                    &[0x90, RECORD_NOTE, 100],
                ));
            }
        }
        processor.process(PERIOD, &midi, None);
        pa.extend_from_slice(processor.pa(0, PERIOD));
        phones.extend_from_slice(processor.headphones(0, PERIOD));
        n += 1;
    }
    let mut after_change = SessionState::new();
    peer.capture_app_session_state(&mut after_change);
    eprintln!(
        "periods ran up to {:.2} ms behind the host clock; the mapped host time was within \
         {:.3} ms of the interface's after {from_samples} samples",
        latest_micros as f64 / 1e3,
        worst_map_micros as f64 / 1e3
    );
    let in_force = |micros: i64| {
        if micros < change_micros {
            &session
        } else {
            &after_change
        }
    };
    // A period adds nothing at a steady tempo: its host time is its start's, however late its
    // callback ran, and the grid is exact across it.
    let allowed_ms = 1.0;

    // The metronome, alone in the headphones until the tone: a click starts on every beat
    // (its first sample is 0, the next one sounds).
    let from = from_samples;
    let (_, clicks) = silences(&phones[from..tone.start], (RATE / 20) as usize);
    let mut worst_click_ms = 0.0f64;
    for &t in &clicks {
        let (_, off_ms) = off_grid(&session, micros_of(from + t - 1), bar_1, 1.0);
        worst_click_ms = worst_click_ms.max(off_ms.abs());
    }
    let beats_heard = (tone.start - from) as f64 / f64::from(RATE) * FIRST_TEMPO_BPM / 60.0;
    eprintln!(
        "{} metronome clicks, within {worst_click_ms:.3} ms of the peer's beats",
        clicks.len()
    );
    // The loops: silence begins a take after each loop start (past the take's first end, where
    // the tone still sounds live).
    let after_take = tone.end + PERIOD;
    let (quiet, _) = silences(&pa[after_take..], (RATE / 500) as usize);
    let mut starts = Vec::new();
    let mut worst_loop_ms = 0.0f64;
    for &t in &quiet {
        let silence_micros = micros_of(after_take + t);
        let start_micros = silence_micros - (take_samples * 1e6 / f64::from(RATE)).round() as i64;
        let (line, off_ms) = off_grid(in_force(silence_micros), start_micros, bar_1, QUANTUM);
        worst_loop_ms = worst_loop_ms.max(off_ms.abs());
        starts.push((line, off_ms));
    }
    eprintln!("loop starts (beat from bar 1, ms off the peer's bar line): {starts:?}");
    assert!(
        clicks.len() as f64 >= beats_heard.floor() - 1.0,
        "{} clicks in {beats_heard:.1} beats",
        clicks.len()
    );
    assert!(
        worst_click_ms <= allowed_ms,
        "the metronome clicks {worst_click_ms:.3} ms off the peer's beats (allowed: \
         {allowed_ms} ms)"
    );
    let beats: Vec<f64> = starts.iter().map(|&(beat, _)| beat).collect();
    assert_eq!(
        beats,
        [8.0, 16.0, 24.0, 32.0, 40.0],
        "the loop starts every two bars of the peer, at 140 then at 105 BPM"
    );
    assert!(
        worst_loop_ms <= allowed_ms,
        "the loop starts {worst_loop_ms:.3} ms off the peer's bar lines (allowed: {allowed_ms} \
         ms)"
    );
}

#[test]
fn alone_in_the_session_loopmate_proposes_its_anchors_tempo_and_with_a_peer_never() {
    loopback_only();
    let mut loopmate = LinkSource::join(QUANTUM as u32, RATE as f32, 0);
    // As the processor does each period, on the audio thread: under the allocation checker.
    let transport = nice_assert_no_alloc::assert_no_alloc(|| {
        loopmate.transport_at(0);
        loopmate.propose(Some(97.0));
        loopmate.transport_at(PERIOD as u64)
    });
    assert_eq!(
        transport.tempo_bpm,
        Some(97.0),
        "Loopmate's session at 97 BPM"
    );
    // A peer joins. Link merges the two sessions into one, the older one in principle; but when
    // each peer measures the other while the other is already switching, it falls back to a
    // random order, and the newcomer's session won in 2 runs out of 5 here. Either
    // way both play at one tempo, and Loopmate, no longer alone, proposes nothing.
    let peer = AblLink::new(130.0);
    peer.enable(true);
    let searching = Instant::now();
    let mut session = SessionState::new();
    let mut period = 2;
    loop {
        peer.capture_app_session_state(&mut session);
        let ours = loopmate
            .transport_at(period * PERIOD as u64)
            .tempo_bpm
            .unwrap();
        period += 1;
        // Link sends a tempo as whole microseconds a beat: 97 BPM arrives as 96.99995.
        let met = peer.num_peers() > 0 && loopmate.peers() > 0;
        if met && (session.tempo() - ours).abs() < 1e-3 {
            break;
        }
        assert!(
            searching.elapsed() < DISCOVERY_TIMEOUT,
            "the peer plays at {} BPM and Loopmate at {ours} after {DISCOVERY_TIMEOUT:?} ({} \
             and {} peers)",
            session.tempo(),
            peer.num_peers(),
            loopmate.peers(),
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let tempo = session.tempo();
    eprintln!(
        "a peer joined, and both play at {tempo} BPM, after {:?}",
        searching.elapsed()
    );
    loopmate.propose(Some(84.0));
    let after = loopmate
        .transport_at(period * PERIOD as u64)
        .tempo_bpm
        .unwrap();
    assert!(
        (after - tempo).abs() < 1e-3,
        "with a peer, Loopmate's anchor at 84 BPM left the session at {tempo}: {after} BPM"
    );
}
