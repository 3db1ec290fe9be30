//! The built CLAP plugin rendered offline (`clap.render`, as a host bounces faster than real
//! time): onset and beat quantization give the same loops, sample for sample, as a run paced at
//! real time, because offline the plugin waits for its analysis thread where a decision needs it.
//!
//! Needs the bundle: run `cargo xtask bundle loopmate` first (or set `LOOPMATE_CLAP`).

mod common;

use std::time::{Duration, Instant};

use common::clap_host::{Stereo, TestPlugin, TimedEvent, param_id, pedal_press, quantize_off};

/// Note that starts and stops a take.
const RECORD_NOTE: u8 = 47;
const RATE: f64 = 48_000.0;
/// One beat at 120 BPM, in samples.
const BEAT: u64 = 24_000;
const BLOCK: usize = 512;

/// Percussive attacks (decaying noise and a 330 Hz tone) on every beat at 120 BPM, over faint
/// noise, for 6 s.
fn beats_signal() -> Stereo {
    let len = 6 * RATE as usize;
    let mut seed = 0x2468_ace1u32;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as f32 / u32::MAX as f32 * 2.0 - 1.0
    };
    let mut out: Vec<f32> = (0..len).map(|_| 0.002 * noise()).collect();
    for at in (BEAT..len as u64).step_by(BEAT as usize) {
        for n in 0..(0.2 * RATE) as usize {
            let Some(sample) = out.get_mut(at as usize + n) else {
                break;
            };
            let secs = n as f32 / RATE as f32;
            let env = (-secs / 0.04).exp();
            *sample += env * (0.3 * noise() + 0.3 * (std::f32::consts::TAU * 330.0 * secs).sin());
        }
    }
    Stereo {
        channels: [out.clone(), out],
    }
}

/// The anchor pressed 120 ms after the third attack and stopped 3.9 beats later, with onset and
/// beat quantization (`quantize_mode` 3, or `mode` if given).
fn events(mode: f64) -> Vec<TimedEvent> {
    let start = 3 * BEAT + 5_760;
    let stop = start + (3.9 * BEAT as f64) as u64;
    let mut events = vec![TimedEvent::param_value(0, param_id("quantize_mode"), mode)];
    events.extend(pedal_press(start, RECORD_NOTE));
    events.extend(pedal_press(stop, RECORD_NOTE));
    events
}

/// Runs the session through a fresh plugin; `paced`: one block per block duration of wall time.
fn render(offline: bool, paced: bool, mode: f64, block: usize) -> Stereo {
    let mut plugin = if offline {
        TestPlugin::activate_offline(RATE)
    } else {
        TestPlugin::activate(RATE)
    };
    let input = beats_signal();
    let mut events = events(mode);
    events.sort_by_key(|event| event.time);
    let mut out = Stereo::default();
    let began = Instant::now();
    let mut at = 0;
    while at < input.len() {
        let size = block.min(input.len() - at);
        let end = (at + size) as u64;
        let in_block: Vec<TimedEvent> = events
            .iter()
            .copied()
            .filter(|event| event.time >= at as u64 && event.time < end)
            .collect();
        let rendered = plugin.process_block(input.slice(at..at + size), &in_block, None);
        for (channel, more) in out.channels.iter_mut().zip(&rendered.main.channels) {
            channel.extend_from_slice(more);
        }
        at += size;
        if paced {
            let due = Duration::from_secs_f64(at as f64 / RATE);
            if let Some(wait) = due.checked_sub(began.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    out
}

#[test]
fn an_offline_bounce_equals_the_realtime_run() {
    let realtime = render(false, true, 3.0, BLOCK);
    for block in [BLOCK, 4096] {
        let offline = render(true, false, 3.0, block);
        assert!(
            offline == realtime,
            "offline render with {block}-sample blocks differs from the realtime run"
        );
    }
    // Quantization did act: with it off the loop is the presses' and the output differs.
    let unquantized = render(true, false, 0.0, BLOCK);
    assert!(unquantized != realtime, "quantization changed nothing");
}

/// Note that captures the last cycle.
const CAPTURE_NOTE: u8 = 48;

/// An anchor of 2 s, then a capture every third cycle for 100 s, rendered with no pause, in
/// offline mode or (`offline` false) in realtime mode as some hosts do: at whatever speed, no
/// capture may be lost for lack of storage.
fn captures_kept_rendering_as_fast_as_possible(offline: bool) {
    let cycle = 2 * RATE as u64;
    let start = RATE as u64 / 10;
    let mut events = vec![quantize_off()];
    events.extend(pedal_press(start, RECORD_NOTE));
    events.extend(pedal_press(start + cycle, RECORD_NOTE));
    let captures: Vec<u64> = (1..=16).map(|n| start + cycle + n * 3 * cycle).collect();
    for &at in &captures {
        events.extend(pedal_press(at, CAPTURE_NOTE));
    }
    events.sort_by_key(|event| event.time);
    let len = (captures[captures.len() - 1] + cycle) as usize;
    let mut seed = 0x1357_9bdfu32;
    let noise: Vec<f32> = (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            0.2 * (seed as f32 / u32::MAX as f32 - 0.5)
        })
        .collect();
    let input = Stereo {
        channels: [noise.clone(), noise],
    };
    let mut plugin = if offline {
        TestPlugin::activate_offline(RATE)
    } else {
        TestPlugin::activate(RATE)
    };
    let mut at = 0;
    while at < input.len() {
        let size = BLOCK.min(input.len() - at);
        let end = (at + size) as u64;
        let in_block: Vec<TimedEvent> = (events.iter().copied())
            .filter(|event| event.time >= at as u64 && event.time < end)
            .collect();
        plugin.process_block(input.slice(at..at + size), &in_block, None);
        at += size;
    }
    let state = plugin.save_state();
    let saved = loopmate::state::persist::performance_from_file(&state).expect("a performance");
    assert_eq!(
        saved.model.tracks.len(),
        1 + captures.len(),
        "the anchor and every capture"
    );
}

#[test]
fn a_bounce_as_fast_as_the_host_can_keeps_every_capture() {
    captures_kept_rendering_as_fast_as_possible(true);
}

#[test]
fn a_realtime_host_rendering_as_fast_as_it_can_keeps_every_capture() {
    captures_kept_rendering_as_fast_as_possible(false);
}

/// The anchor's first repeat through the built plugin, bounced (so the analysis is always in
/// time): with onset quantization and the monitor off, nothing sounds until the stop press;
/// from its sample on the loop sounds as pressed (the take from its decided start); once the
/// decision has crossfaded to the decided loop (its stop on an attack), the output repeats
/// every cycle.
#[test]
fn the_anchor_sounds_from_the_stop_press() {
    let mut plugin = TestPlugin::activate_offline(RATE);
    let input = beats_signal();
    let start = 3 * BEAT + 5_760;
    // Half a beat after an attack.
    let press = 5 * BEAT + BEAT / 2;
    let mut events = vec![
        TimedEvent::param_value(0, param_id("quantize_mode"), 1.0),
        TimedEvent::param_value(0, param_id("monitor_on"), 0.0),
    ];
    events.extend(pedal_press(start, RECORD_NOTE));
    events.extend(pedal_press(press, RECORD_NOTE));
    let out = plugin
        .run(&input, &events, std::iter::repeat(BLOCK), None)
        .main;
    let press = press as usize;
    let blend = (0.05 * RATE) as usize;
    for (x, y) in input.channels.iter().zip(&out.channels) {
        assert!(
            y[blend..press].iter().all(|&s| s == 0.0),
            "silent until the press"
        );
        // The start moved back to the attack 120 ms before its press (within 10 ms).
        let window = (0.25 * RATE) as usize;
        let decided_start = (start as usize - window..start as usize + window)
            .find(|&s0| (0..blend).all(|k| (y[press + k] - x[s0 + k]).abs() <= 1e-5))
            .expect("the take plays from the stop press");
        assert!(
            decided_start.abs_diff(3 * BEAT as usize) <= 480,
            "{decided_start}"
        );
        // The stop moved to an attack within the window (at 120 BPM one always is).
        let settled = press + (0.5 * RATE) as usize;
        let periodic =
            |cycle: usize| (settled..y.len() - cycle).all(|t| (y[t + cycle] - y[t]).abs() <= 1e-6);
        let pressed_cycle = press - decided_start;
        let cycle = (pressed_cycle - window..pressed_cycle + window)
            .find(|&cycle| periodic(cycle))
            .expect("the decided loop repeats");
        let stop = decided_start + cycle;
        assert!(
            [120_000, 144_000]
                .iter()
                .any(|&attack| stop.abs_diff(attack) <= 480),
            "the stop moved to an attack: {stop}"
        );
    }
}
