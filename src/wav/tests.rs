//! WAV export and import against files hound writes and reads: rates 44.1, 48 and 96 kHz,
//! mono and stereo, integer and float, and files that must be refused.

use std::path::{Path, PathBuf};

use super::*;
use crate::engine::command::Command;
use crate::engine::tests::{BLEND, RATE, new_engine, run, signal_until};
use crate::state::store::SessionStore;

/// A fresh, empty directory for one test.
pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loopmate-wav-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `channels` (planar) as a WAV of `spec`.
pub(crate) fn write_wav(path: &Path, spec: hound::WavSpec, channels: &[Vec<f32>]) {
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..channels[0].len() {
        for channel in channels {
            match spec.sample_format {
                hound::SampleFormat::Float => writer.write_sample(channel[i]).unwrap(),
                hound::SampleFormat::Int => {
                    let scale = (1i64 << (spec.bits_per_sample - 1)) as f32;
                    let max = scale - 1.0;
                    writer
                        .write_sample((channel[i] * scale).round().clamp(-scale, max) as i32)
                        .unwrap()
                }
            }
        }
    }
    writer.finalize().unwrap();
}

pub(crate) fn spec(
    channels: u16,
    rate: u32,
    bits: u16,
    format: hound::SampleFormat,
) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: format,
    }
}

pub(crate) fn tone(freq_hz: f64, rate_hz: f64, len: usize) -> Vec<f32> {
    (0..len)
        .map(|t| (0.4 * (std::f64::consts::TAU * freq_hz * t as f64 / rate_hz).sin()) as f32)
        .collect()
}

fn read_all(path: &Path) -> (hound::WavSpec, Vec<f32>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    (spec, reader.samples::<f32>().map(Result::unwrap).collect())
}

#[test]
fn files_at_44_1_and_96_khz_mono_and_stereo_are_read_at_the_session_rate() {
    let dir = temp_dir("read");
    let cases = [
        (1, 44_100, 16, hound::SampleFormat::Int),
        (2, 44_100, 32, hound::SampleFormat::Float),
        (1, 96_000, 24, hound::SampleFormat::Int),
        (2, 96_000, 32, hound::SampleFormat::Float),
    ];
    for (channels, rate, bits, format) in cases {
        let path = dir.join(format!("{channels}-{rate}-{bits}.wav"));
        let source: Vec<Vec<f32>> = (0..channels)
            .map(|c| {
                tone(
                    500.0 + 250.0 * f64::from(c),
                    f64::from(rate),
                    rate as usize / 2,
                )
            })
            .collect();
        write_wav(&path, spec(channels, rate, bits, format), &source);
        let audio = read(&path, RATE).unwrap();
        assert_eq!(audio.channels.len(), usize::from(channels));
        assert_eq!(audio.file_rate_hz, rate);
        for (c, got) in audio.channels.iter().enumerate() {
            assert_eq!(got.len(), 24_000, "half a second at 48 kHz");
            let expected = tone(500.0 + 250.0 * c as f64, f64::from(RATE), 24_000);
            let worst = got[300..got.len() - 300]
                .iter()
                .zip(&expected[300..])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                worst < 2e-3,
                "{channels} ch {rate} Hz {bits} bit: error {worst}"
            );
        }
    }
    // At the session rate the samples come through exactly.
    let path = dir.join("exact.wav");
    let source = vec![tone(440.0, 48_000.0, 1000)];
    write_wav(
        &path,
        spec(1, 48_000, 32, hound::SampleFormat::Float),
        &source,
    );
    assert_eq!(read(&path, RATE).unwrap().channels, source);
}

#[test]
fn a_float_file_at_the_limits_of_f32_or_not_numbers_imports_finite_at_any_rate() {
    let dir = temp_dir("extreme");
    let path = dir.join("extreme.wav");
    // Full-scale float values (a DC the resampling kernel's overshoot takes beyond f32), and
    // NaN and infinities.
    let extreme: Vec<f32> = (0..400)
        .map(|t| match t % 9 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            _ => 3.0e38,
        })
        .collect();
    write_wav(
        &path,
        spec(2, 44_100, 32, hound::SampleFormat::Float),
        &[extreme.clone(), extreme],
    );
    for rate in [44_100.0, RATE] {
        let audio = read(&path, rate).expect("imported");
        for channel in &audio.channels {
            assert!(channel.iter().all(|s| s.is_finite()), "at {rate} Hz");
        }
    }
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    let dir = temp_dir("bad");
    let text = dir.join("notes.wav");
    std::fs::write(&text, "these are not samples").unwrap();
    let empty = dir.join("empty.wav");
    write_wav(
        &empty,
        spec(2, 48_000, 16, hound::SampleFormat::Int),
        &[vec![], vec![]],
    );
    let surround = dir.join("surround.wav");
    write_wav(
        &surround,
        spec(3, 48_000, 16, hound::SampleFormat::Int),
        &vec![vec![0.1; 100]; 3],
    );
    let truncated = dir.join("truncated.wav");
    write_wav(
        &truncated,
        spec(2, 48_000, 16, hound::SampleFormat::Int),
        &vec![vec![0.1; 1000]; 2],
    );
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let missing = dir.join("missing.wav");
    for (path, says) in [
        (&text, "not a readable WAV"),
        (&empty, "no audio"),
        (&surround, "3 channels"),
        (&truncated, "not a readable WAV"),
        (&missing, "missing.wav"),
    ] {
        let error = read(path, RATE).expect_err("refused").to_string();
        assert!(error.contains(says), "{}: {error}", path.display());
    }
}

/// An engine with a store, playing an anchor of `L` recorded from the test signal.
fn engine_with_anchor() -> (
    crate::engine::Engine,
    crate::engine::pool::TrackPoolKeeper,
    SessionStore,
    u64,
) {
    let (mut engine, mut keeper) = new_engine();
    let store = SessionStore::default();
    store.attach(engine.connect_session(), RATE);
    let (s0, s1) = (5_003u64, 5_003 + 30_000);
    let commands = [(s0, Command::RecordToggle), (s1, Command::RecordToggle)];
    run(
        &mut engine,
        &mut keeper,
        &signal_until(80_000, s1),
        &commands,
        &[512],
    );
    (engine, keeper, store, s1 - s0)
}

#[test]
fn an_imported_file_becomes_the_anchor_or_a_track_on_the_cycle() {
    let dir = temp_dir("import");
    // Into an empty engine: the file (at the session rate) is the anchor and plays exactly.
    let (mut engine, mut keeper) = new_engine();
    let store = SessionStore::default();
    store.attach(engine.connect_session(), RATE);
    let path = dir.join("anchor.wav");
    let source = vec![tone(300.0, 48_000.0, 20_011), tone(450.0, 48_000.0, 20_011)];
    write_wav(
        &path,
        spec(2, 48_000, 32, hound::SampleFormat::Float),
        &source,
    );
    let said = store.import_wav(&path).unwrap();
    assert!(said.contains("as the anchor"), "{said}");
    let start = engine.now_samples();
    let out = run(
        &mut engine,
        &mut keeper,
        &signal_until(60_000, 0),
        &[],
        &[256],
    )
    .main;
    assert_eq!(engine.cycle().unwrap().length_samples, 20_011);
    assert_eq!(engine.cycle().unwrap().origin_samples, start);
    for c in 0..2 {
        for t in BLEND..60_000 {
            assert_eq!(out[c][t], source[c][t % 20_011], "ch{c} t={t}");
        }
    }

    // With an anchor of L: a 44.1 kHz mono file 1.5 L long becomes a 2 L track on the boundary.
    let (mut engine, mut keeper, store, l) = engine_with_anchor();
    let path = dir.join("overdub.wav");
    let len_44k = (1.5 * l as f64 * 44_100.0 / 48_000.0).round() as usize;
    write_wav(
        &path,
        spec(1, 44_100, 24, hound::SampleFormat::Int),
        &[tone(700.0, 44_100.0, len_44k)],
    );
    let said = store.import_wav(&path).unwrap();
    assert!(
        said.contains("resampled from 44100 Hz") && said.contains("on the cycle"),
        "{said}"
    );
    run(
        &mut engine,
        &mut keeper,
        &signal_until(1024, 0),
        &[],
        &[512],
    );
    assert_eq!(engine.status().track_count, 2);
    let cycle = engine.cycle().unwrap();
    let track = engine.playing_tracks().nth(1).unwrap();
    assert_eq!(track.length_samples, 2 * l);
    assert_eq!(
        track.origin_samples % l,
        cycle.origin_samples % l,
        "starts on a boundary"
    );
    assert_eq!(
        track
            .buffer
            .channel(0)
            .sample((1.5 * l as f64) as usize + 10),
        0.0,
        "silence after the file"
    );

    // A bad file changes nothing.
    std::fs::write(dir.join("bad.wav"), b"RIFF....WAVEjunk").unwrap();
    assert!(store.import_wav(&dir.join("bad.wav")).is_err());
    run(
        &mut engine,
        &mut keeper,
        &signal_until(1024, 0),
        &[],
        &[512],
    );
    assert_eq!(engine.status().track_count, 2);
}

#[test]
fn export_writes_each_loop_and_the_mix_aligned_and_never_overwrites() {
    let dir = temp_dir("export");
    let (mut engine, mut keeper, store, l) = engine_with_anchor();
    // A second track, half a cycle late and 1.5 cycles long (a 2 L track), quieter and panned.
    let now = engine.now_samples();
    let cycle = engine.cycle().unwrap();
    let boundary = cycle.boundary_after(now);
    let start = boundary + l / 2;
    let commands = [
        (start, Command::RecordToggle),
        (start + 3 * l / 2, Command::RecordToggle),
        (
            start + 3 * l / 2 + 10,
            Command::Track(
                crate::engine::command::TrackTarget::Last,
                crate::engine::command::TrackControl::SetGain(0.5),
            ),
        ),
        (
            start + 3 * l / 2 + 20,
            Command::Track(
                crate::engine::command::TrackTarget::Last,
                crate::engine::command::TrackControl::SetPan(0.4),
            ),
        ),
    ];
    let offset = |t: u64| t - now;
    let mut input = signal_until(offset(start + 3 * l / 2) as usize, u64::MAX);
    for channel in &mut input {
        channel.extend(std::iter::repeat_n(0.0, 5 * l as usize));
    }
    run(&mut engine, &mut keeper, &input, &commands, &[512]);
    assert_eq!(engine.status().track_count, 2);

    let files = store.export_wav(&dir).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["track_01.wav", "track_02.wav", "mix.wav"]);
    let (spec, anchor) = read_all(&files[0]);
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 48_000, 32)
    );
    assert_eq!(anchor.len(), 2 * l as usize);
    let (_, mix) = read_all(&files[2]);
    assert_eq!(
        mix.len(),
        2 * 2 * l as usize,
        "one loop of the longest track"
    );

    // The mix is what the engine plays from a boundary where the longest loop starts over.
    let cycle = engine.cycle().unwrap();
    let now = engine.now_samples();
    let from = now + (2 * l - (now - cycle.origin_samples) % (2 * l));
    let out = run(
        &mut engine,
        &mut keeper,
        &signal_until((from - now + 2 * l) as usize, 0),
        &[],
        &[333],
    )
    .main;
    for i in 0..2 * l as usize {
        let t = (from - now) as usize + i;
        for c in 0..2 {
            assert_eq!(out[c][t], mix[2 * i + c], "mix ch{c} at {i}");
        }
    }
    // The anchor file is its loop from the same boundary (the anchor's own phase there is 0).
    let track = engine.playing_tracks().next().unwrap();
    let first = track.index_at(cycle.origin_samples) as usize;
    assert_eq!(first, 0);
    for i in 0..l as usize {
        assert_eq!(anchor[2 * i], track.buffer.channel(0).sample(i));
    }

    // Exporting again into the same folder is refused and leaves the files as they were.
    let before = std::fs::read(&files[2]).unwrap();
    let error = store.export_wav(&dir).unwrap_err();
    assert!(matches!(error, WavError::Exists(_)), "{error}");
    assert_eq!(std::fs::read(&files[2]).unwrap(), before);

    // The exported mix imports back as a track of the longest length, bit for bit.
    store.import_wav(&files[2]).unwrap();
    run(
        &mut engine,
        &mut keeper,
        &signal_until(1024, 0),
        &[],
        &[512],
    );
    let imported = engine.playing_tracks().nth(2).unwrap();
    assert_eq!(imported.length_samples, 2 * l);
    for i in 0..2 * l as usize {
        assert_eq!(imported.buffer.channel(1).sample(i), mix[2 * i + 1]);
    }
}

#[test]
fn a_file_shorter_than_the_shortest_anchor_is_not_made_the_anchor() {
    // A take shorter than 0.1 s is a double tap, not a loop; an imported file is held to the
    // same rule.
    let dir = temp_dir("short");
    let (mut engine, mut keeper) = new_engine();
    let store = SessionStore::default();
    store.attach(engine.connect_session(), RATE);
    let short = (0.1 * f64::from(RATE)) as usize - 1;
    for (name, frames) in [("click.wav", 1), ("short.wav", short)] {
        let path = dir.join(name);
        write_wav(
            &path,
            spec(1, 48_000, 32, hound::SampleFormat::Float),
            &[tone(440.0, 48_000.0, frames)],
        );
        store.import_wav(&path).unwrap();
        run(&mut engine, &mut keeper, &signal_until(512, 0), &[], &[512]);
        assert_eq!(engine.cycle(), None, "{name}: no anchor");
        assert_eq!(engine.status().track_count, 0, "{name}");
        assert_eq!(
            engine.status().message,
            Some(crate::engine::EngineMessage::ImportTooShort),
            "{name}: the player is told"
        );
    }
}
