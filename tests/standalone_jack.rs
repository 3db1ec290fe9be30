//! The real standalone binary on a real JACK server (`jackd -d dummy`, 2 capture and 4
//! playback channels, 128-frame periods), driven by a second JACK client as a drum machine and
//! a player would: MIDI clock at 120 BPM with Start, a record press on bar 1 and another on
//! bar 3 (the default pedal note), a click played into the input, and the PA and headphone
//! ports recorded.
//!
//! It checks that Loopmate starts on JACK, connects to the system ports and to a MIDI source
//! that appears after it started, follows the clock in host-sync mode (the loop is exactly two
//! bars of the clock's tempo and repeats on the clock's bar phase), and that the headphones
//! carry the metronome on the clock's beats while the PA does not.
//!
//! Needs `jackd` (Debian's `jackd2`; `cargo xtask test` installs it).

use std::collections::VecDeque;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jack::{AudioIn, AudioOut, Client, ClientOptions, Control, MidiOut, Port, ProcessScope};

const RATE: usize = 48_000;
/// One millisecond, in samples.
const MS: usize = RATE / 1000;
const PERIOD: usize = 128;
/// 120 BPM: a quarter is 24 000 samples, a clock tick (1/24 quarter) 1 000.
const QUARTER: usize = RATE / 2;
const TICK: usize = QUARTER / 24;
const BAR: usize = 4 * QUARTER;
/// The drum machine starts here, in the driver's frames, after ticking alone for eight seconds
/// (drum machines send clock while stopped; the tempo has settled by then).
const START: usize = 8 * RATE;
/// The player's click: a beat into bar 1 (inside the take).
const CLICK_AT: usize = START + BAR + QUARTER;
/// Record 30 ms after bar 1, stop 200 ms before bar 3: in host-sync mode the take starts and
/// ends on the clock's bar lines (free, it would be 230 ms short of two bars).
const RECORD_AT: usize = START + BAR + 30 * MS;
const STOP_AT: usize = START + 3 * BAR - 200 * MS;
/// Listen until three more loops have played.
const END: usize = STOP_AT + 6 * BAR + QUARTER;
/// The default map's record note, and the test map's CCs for host sync and the metronome.
const RECORD_NOTE: u8 = 47;
const SYNC_CC: u8 = 20;
const METRONOME_CC: u8 = 21;

/// Kills a child process when dropped (the test must not leave servers behind).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        // SIGTERM first: a JACK server killed outright leaves its shared memory registered.
        // SAFETY: plain libc call on our own child's pid.
        unsafe { libc_kill(self.0.id() as i32, 15) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The driver: the drum machine and the player, and the recorder of Loopmate's outputs.
struct Driver {
    /// Frames since the driver started, once Loopmate's MIDI input is connected to it.
    frame: usize,
    /// Whether the script runs (set once connected).
    running: std::sync::Arc<std::sync::atomic::AtomicBool>,
    midi: Port<MidiOut>,
    audio: Port<AudioOut>,
    pa: [Port<AudioIn>; 2],
    phones: [Port<AudioIn>; 2],
    /// Recorded PA and headphone channels, from the script's frame 0.
    recorded: [Vec<f32>; 4],
}

impl jack::ProcessHandler for Driver {
    fn process(&mut self, _: &Client, scope: &ProcessScope) -> Control {
        let frames = scope.n_frames() as usize;
        let mut writer = self.midi.writer(scope);
        let audio = self.audio.as_mut_slice(scope);
        audio.fill(0.0);
        if !self.running.load(std::sync::atomic::Ordering::Relaxed) {
            return Control::Continue;
        }
        for (offset, sample) in audio.iter_mut().enumerate().take(frames) {
            let t = self.frame + offset;
            let time = offset as u32;
            let mut send = |bytes: &[u8]| {
                writer.write(&jack::RawMidi { time, bytes }).unwrap();
            };
            if t == 0 {
                send(&[0xB0, SYNC_CC, 127]);
                send(&[0xB0, METRONOME_CC, 127]);
            }
            if t == START {
                send(&[0xFA]);
            }
            if t.is_multiple_of(TICK) {
                send(&[0xF8]);
            }
            if t == RECORD_AT || t == STOP_AT {
                send(&[0x90, RECORD_NOTE, 100]);
            }
            if (CLICK_AT..CLICK_AT + 24).contains(&t) {
                *sample = 0.8;
            }
        }
        for (recorded, port) in self
            .recorded
            .iter_mut()
            .zip(self.pa.iter().chain(&self.phones))
        {
            let room = recorded.capacity() - recorded.len();
            recorded.extend_from_slice(&port.as_slice(scope)[..frames.min(room)]);
        }
        self.frame += frames;
        Control::Continue
    }
}

/// One JACK server at a time: the jack crate finds its server through the environment.
static ONE_SERVER: Mutex<()> = Mutex::new(());

/// A JACK server of this test (2 capture and 4 playback channels, 128-frame periods).
struct Server {
    /// The server's name, for Loopmate's `JACK_DEFAULT_SERVER`.
    name: String,
    /// The server.
    _jackd: Reaped,
    /// Held while the server runs.
    _one: MutexGuard<'static, ()>,
}

impl Server {
    /// The server, and the test's client on it ("driver"), which must be dropped first (declare
    /// it after the server).
    fn start(tag: &str) -> (Self, Client) {
        let one = ONE_SERVER
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let name = format!("loopmate-test-{tag}-{}", std::process::id());
        let jackd = Command::new("jackd")
            .args([
                "-n",
                &name,
                "--no-realtime",
                // Synchronous: a cycle waits for every client, so a loaded machine slows the
                // run down instead of dropping a client's period (which shifts what the driver
                // hears).
                "--sync",
                "-d",
                "dummy",
                "-r",
                &RATE.to_string(),
            ])
            .args(["-p", &PERIOD.to_string(), "-C", "2", "-P", "4"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("jackd (Debian's jackd2) runs");
        let jackd = Reaped(jackd);
        // SAFETY: the servers take turns (`ONE_SERVER`), and no other thread of this test
        // process reads the environment meanwhile.
        unsafe { std::env::set_var("JACK_DEFAULT_SERVER", &name) };
        let start = Instant::now();
        let client = loop {
            match Client::new("driver", ClientOptions::NO_START_SERVER) {
                Ok((client, _)) => break client,
                Err(error) => {
                    assert!(start.elapsed() < Duration::from_secs(10), "jackd: {error}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        };
        let server = Self {
            name,
            _jackd: jackd,
            _one: one,
        };
        (server, client)
    }
}

fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Times the signal crosses `level` upwards, at least `gap` apart.
fn onsets(signal: &[f32], level: f32, gap: usize) -> Vec<usize> {
    let mut found: Vec<usize> = Vec::new();
    for (t, v) in signal.iter().enumerate() {
        if v.abs() >= level && found.last().is_none_or(|&last| t >= last + gap) {
            found.push(t);
        }
    }
    found
}

fn peak(signal: &[f32]) -> f32 {
    signal.iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[test]
fn the_standalone_on_jack_follows_midi_clock_in_whole_bars_with_the_metronome_in_the_headphones() {
    let (server, client) = Server::start("clock");

    let dir = std::env::temp_dir().join(format!("loopmate-jack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let map = dir.join("map.toml");
    let mut file = std::fs::File::create(&map).unwrap();
    write!(
        file,
        "version = 1\n\n[[binding]]\ncommand = \"record\"\nnote = {RECORD_NOTE}\n\n\
         [[binding]]\nparam = \"sync_mode\"\ncc = {SYNC_CC}\n\n\
         [[binding]]\nparam = \"metronome\"\ncc = {METRONOME_CC}\n"
    )
    .unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[audio]\nbackend = \"jack\"\npa = [1, 2]\nheadphones = [3, 4]\n\n\
             [midi]\nmap_file = \"{}\"\n\n[clock]\nsource = \"midi\"\nbeats_per_bar = 4\n",
            map.display()
        ),
    )
    .unwrap();
    let loopmate = Command::new(env!("CARGO_BIN_EXE_loopmate"))
        .args(["--config", config.to_str().unwrap(), "--no-gui"])
        .env("JACK_DEFAULT_SERVER", &server.name)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut loopmate = Reaped(loopmate);
    wait_for("Loopmate's ports", Duration::from_secs(20), || {
        client.port_by_name("loopmate:phones_2").is_some()
    });
    // Loopmate connected itself to the system's ports, as routed.
    for (ours, system) in [
        ("loopmate:in_1", "system:capture_1"),
        ("loopmate:pa_1", "system:playback_1"),
        ("loopmate:pa_2", "system:playback_2"),
        ("loopmate:phones_1", "system:playback_3"),
        ("loopmate:phones_2", "system:playback_4"),
    ] {
        wait_for(
            &format!("{ours} connected to {system}"),
            Duration::from_secs(5),
            || (client.port_by_name(ours)).is_some_and(|p| p.is_connected_to(system).unwrap()),
        );
    }

    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let capacity = END + RATE;
    let driver = Driver {
        frame: 0,
        running: running.clone(),
        midi: client.register_port("clock", MidiOut::default()).unwrap(),
        audio: client.register_port("player", AudioOut::default()).unwrap(),
        pa: [
            client.register_port("pa_1", AudioIn::default()).unwrap(),
            client.register_port("pa_2", AudioIn::default()).unwrap(),
        ],
        phones: [
            client
                .register_port("phones_1", AudioIn::default())
                .unwrap(),
            client
                .register_port("phones_2", AudioIn::default())
                .unwrap(),
        ],
        recorded: std::array::from_fn(|_| Vec::with_capacity(capacity)),
    };
    let active = client.activate_async((), driver).unwrap();
    let c = active.as_client();
    for (from, to) in [
        ("driver:player", "loopmate:in_1"),
        ("loopmate:pa_1", "driver:pa_1"),
        ("loopmate:pa_2", "driver:pa_2"),
        ("loopmate:phones_1", "driver:phones_1"),
        ("loopmate:phones_2", "driver:phones_2"),
    ] {
        c.connect_ports_by_name(from, to).unwrap();
    }
    // Loopmate finds the new MIDI source by itself.
    wait_for(
        "Loopmate to connect the driver's MIDI",
        Duration::from_secs(5),
        || {
            (c.port_by_name("driver:clock"))
                .is_some_and(|p| p.is_connected_to("loopmate:midi_in").unwrap())
        },
    );
    running.store(true, std::sync::atomic::Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs_f64(capacity as f64 / RATE as f64));
    assert!(
        loopmate.0.try_wait().unwrap().is_none(),
        "Loopmate quit early"
    );
    let (_, _, driver) = active.deactivate().unwrap();
    let [pa_1, _pa_2, phones_1, _phones_2] = &driver.recorded;
    assert!(pa_1.len() >= END, "recorded {} frames", pa_1.len());

    // The loop: the click comes back every two bars of the clock, on the bar phase it was played.
    let loop_closes = START + 3 * BAR;
    let after_take = &pa_1[loop_closes + QUARTER / 2..END];
    let repeats: Vec<usize> = onsets(after_take, 0.3, QUARTER)
        .into_iter()
        .map(|t| t + loop_closes + QUARTER / 2)
        .collect();
    assert!(
        repeats.len() >= 3,
        "the loop repeats: clicks at {repeats:?}"
    );
    for pair in repeats.windows(2) {
        let length = pair[1] - pair[0];
        assert!(
            length.abs_diff(2 * BAR) <= 1,
            "loop length {length} samples, 2 bars are {}; clicks at {repeats:?}",
            2 * BAR
        );
    }
    // Through JACK the driver hears Loopmate a period late at most (the graph's cycle).
    for (k, &t) in repeats.iter().enumerate() {
        let phase = (t + 2 * BAR - CLICK_AT) % (2 * BAR);
        let off = phase.min(2 * BAR - phase);
        assert!(
            off <= PERIOD + MS,
            "repeat {k} at {t} is {off} samples off the clock's bars"
        );
    }

    // The metronome: on every beat of the clock in the headphones, never in the PA.
    let mut beats_heard = 0;
    let first_beat = loop_closes / QUARTER + 1;
    for beat in first_beat..(END / QUARTER - 1) {
        let at = beat * QUARTER - START % QUARTER;
        let window = at.saturating_sub(2 * PERIOD)..at + 2 * PERIOD + 10 * MS;
        let loop_click_near = repeats.iter().any(|&r| r.abs_diff(at) < 50 * MS);
        if peak(&phones_1[window.clone()]) > 0.02 {
            beats_heard += 1;
        }
        if !loop_click_near {
            assert!(
                peak(&pa_1[window.clone()]) < 1e-3,
                "the PA is silent on beat {beat}"
            );
        }
    }
    let beats = (END / QUARTER - 1) - first_beat;
    assert_eq!(beats_heard, beats, "metronome clicks on the clock's beats");
    // Loopmate quits cleanly on SIGTERM.
    // SAFETY: plain libc call on our own child's pid.
    unsafe { libc_kill(loopmate.0.id() as i32, 15) };
    let status = {
        let start = Instant::now();
        loop {
            if let Some(status) = loopmate.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "Loopmate did not quit on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    assert!(status.success(), "Loopmate exited with {status}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The loopback of the calibration test: Loopmate's PA and headphone outputs come back on its
/// input, the PA 10 ms later than the headphones (as through a digital desk).
struct Loopback {
    pa: Port<AudioIn>,
    phones: Port<AudioIn>,
    out: Port<AudioOut>,
    /// Samples on their way back, per path.
    lines: [VecDeque<f32>; 2],
}

/// The loopback's delays, in samples, on top of the one JACK period the graph's cycle adds.
const PA_DELAY: usize = 517;
const PHONES_DELAY: usize = 37;

impl jack::ProcessHandler for Loopback {
    fn process(&mut self, _: &Client, scope: &ProcessScope) -> Control {
        let (pa, phones) = (self.pa.as_slice(scope), self.phones.as_slice(scope));
        for (i, out) in self.out.as_mut_slice(scope).iter_mut().enumerate() {
            self.lines[0].push_back(pa[i]);
            self.lines[1].push_back(phones[i]);
            *out = 0.5 * (self.lines[0].pop_front().unwrap() + self.lines[1].pop_front().unwrap());
        }
        Control::Continue
    }
}

#[test]
fn loopmate_calibrate_on_jack_measures_each_path_and_saves_the_latencies() {
    let (server, client) = Server::start("calibrate");
    let loopback = Loopback {
        pa: client.register_port("pa", AudioIn::default()).unwrap(),
        phones: client.register_port("phones", AudioIn::default()).unwrap(),
        out: client.register_port("out", AudioOut::default()).unwrap(),
        lines: [
            VecDeque::from(vec![0.0; PA_DELAY]),
            VecDeque::from(vec![0.0; PHONES_DELAY]),
        ],
    };
    let active = client.activate_async((), loopback).unwrap();
    let dir = std::env::temp_dir().join(format!("loopmate-jack-cal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "# the stage rig\n[audio]\nbackend = \"jack\"\nconnect = false\n",
    )
    .unwrap();
    let loopmate = Command::new(env!("CARGO_BIN_EXE_loopmate"))
        .args(["calibrate", "--config", config.to_str().unwrap()])
        .env("JACK_DEFAULT_SERVER", &server.name)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut loopmate = Reaped(loopmate);
    let c = active.as_client();
    wait_for("Loopmate's ports", Duration::from_secs(20), || {
        c.port_by_name("loopmate:phones_1").is_some()
    });
    // Before Loopmate plays (it lets the graph settle for a second).
    for (from, to) in [
        ("loopmate:pa_1", "driver:pa"),
        ("loopmate:phones_1", "driver:phones"),
        ("driver:out", "loopmate:in_1"),
    ] {
        c.connect_ports_by_name(from, to).unwrap();
    }
    let start = Instant::now();
    let status = loop {
        if let Some(status) = loopmate.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the calibration hangs"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(loopmate.0.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert!(status.success(), "{status}:\n{stdout}");
    println!("{stdout}");
    // Each round trip is the loopback's delay plus the one period JACK adds to close the cycle
    // Loopmate -> loopback -> Loopmate, within a sample.
    let round_trip = |path: &str| -> f64 {
        let line = (stdout.lines())
            .find(|line| line.starts_with(path))
            .unwrap_or_else(|| panic!("no {path} line in:\n{stdout}"));
        let after = line.split("round trip ").nth(1).expect(line);
        after.split(' ').next().unwrap().parse().unwrap()
    };
    let pa = round_trip("PA (loopmate:pa_1) to loopmate:in_1");
    let phones = round_trip("headphones (loopmate:phones_1) to loopmate:in_1");
    assert!(
        (pa - (PA_DELAY + PERIOD) as f64).abs() <= 1.0,
        "PA: {pa}\n{stdout}"
    );
    assert!(
        (phones - (PHONES_DELAY + PERIOD) as f64).abs() <= 1.0,
        "headphones: {phones}\n{stdout}"
    );
    // Saved beside what was in the file: the headphones wait the PA's extra 10 ms; the input
    // latency is half the direct path's round trip (JACK reports no latency on these ports).
    let saved = std::fs::read_to_string(&config).unwrap();
    let input_ms = (PHONES_DELAY + PERIOD) as f64 / 2.0 / MS as f64;
    assert!(saved.starts_with("# the stage rig\n[audio]\n"), "{saved}");
    assert!(
        saved.contains(&format!("input_ms = {:.2}", input_ms)),
        "input_ms = {input_ms:.2} not in:\n{saved}"
    );
    assert!(saved.contains("headphone_delay_ms = 10.0"), "{saved}");
    drop(active);
    let _ = std::fs::remove_dir_all(&dir);
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}
