//! Loopmate's fuzz targets: what each does with an input, and the seed inputs they start from.
//!
//! Each target takes any bytes and must return: no panic, abort, out-of-memory or hang; a bad
//! input gets an error (whose message is formatted, as the player would read it) or a safe
//! value, and what loads is checked as far as it can be (it saves and loads back the same,
//! its audio is finite, ...). The fuzz targets in `fuzz_targets/` call these under libFuzzer
//! (`cargo xtask fuzz`); the main crate's `tests/fuzz_corpus.rs` includes this file to replay
//! every seed and every input that once crashed (`regressions/`) in a normal `cargo test`, and
//! to check that the committed seeds (`seeds/`) are what [`seeds`] generates. Both run under
//! [`LimitedAllocator`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Cursor, Write as _};
use std::path::Path;
use std::sync::Arc;

use loopmate::engine::audio::TrackAudio;
use loopmate::engine::cycle::{BarLock, Cycle, WholeBeats};
use loopmate::engine::fx::chain::FxSettings;
use loopmate::engine::fx::delay::delay_memory_frames;
use loopmate::engine::fx::filter::FilterMode;
use loopmate::engine::session_event::TrackRecord;
use loopmate::midi_map::file;
use loopmate::state::format;
use loopmate::state::mirror::{ModelTrack, SessionModel};
use loopmate::state::store::SessionStore;
use loopmate::state::text;
use loopmate::wav;

/// The largest single allocation an input may cause, in bytes. libFuzzer's inputs are as long as
/// the longest seed (tens of kilobytes), and what they legitimately decode to is a few
/// megabytes: a short input that asks for more
/// trusted a length field before checking it against the data (an allocation the system makes
/// lazily would succeed here, and run out of memory once a player's 100 GB came in).
pub const ALLOCATION_LIMIT_BYTES: usize = 256 << 20;

/// The system allocator, aborting (saying why) on any allocation over
/// [`ALLOCATION_LIMIT_BYTES`]: the fuzz targets and the corpus replay run under it.
pub struct LimitedAllocator;

/// Aborts if an allocation of `size_bytes` is over the limit.
fn check_allocation(size_bytes: usize) {
    if size_bytes > ALLOCATION_LIMIT_BYTES {
        // Unformatted: formatting could allocate.
        let _ = std::io::stderr().write_all(
            b"loopmate fuzz: an allocation over ALLOCATION_LIMIT_BYTES (see fuzz/src/lib.rs)\n",
        );
        std::process::abort();
    }
}

// SAFETY: every method checks the size and then forwards its arguments unchanged to the system
// allocator, which upholds `GlobalAlloc`'s contract; `dealloc` receives only pointers that
// `System` allocated through this allocator.
unsafe impl GlobalAlloc for LimitedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check_allocation(layout.size());
        // SAFETY: the caller's contract for `layout` is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check_allocation(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (the caller's contract).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check_allocation(new_size);
        // SAFETY: the caller's contract for `ptr`, `layout` and `new_size` is `System.realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// A fuzz target.
pub struct Target {
    /// Its name (its binary in `fuzz_targets/`, its folders in `seeds/` and `regressions/`).
    pub name: &'static str,
    /// What it does with one input.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: [Target; 5] = [
    Target {
        name: "state",
        run: state,
    },
    Target {
        name: "state_body",
        run: state_body,
    },
    Target {
        name: "state_text",
        run: state_text,
    },
    Target {
        name: "midi_map",
        run: midi_map,
    },
    Target {
        name: "wav",
        run: wav,
    },
];

/// A saved performance (the container, as the host or a performance file holds it) loaded into
/// a store as the plugin loads it. What loads has finite audio, plays (the engine's restored
/// session is built from it), and saves as a performance that loads back and saves the same.
pub fn state(data: &[u8]) {
    let store = SessionStore::default();
    match store.load(data.to_vec()) {
        Ok(_) => {
            store.with_model(|model, _| {
                for track in &model.tracks {
                    for c in 0..track.audio.channels() {
                        assert!(
                            (track.audio.to_vec(c, track.audio.capacity_frames()).iter())
                                .all(|s| s.is_finite())
                        );
                    }
                }
                // As an engine at 48 kHz would install it.
                assert!(model.to_restore(delay_memory_frames(48_000.0)).is_some());
            });
            let saved = store.save();
            let again = SessionStore::default();
            assert_eq!(again.load(saved.clone()), Ok(None), "the save loads");
            assert!(again.save() == saved, "and saves the same");
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

/// A container's bytes around `payload`: the header of format `version` with the right length
/// and checksum.
pub fn container(version: u32, payload: &[u8]) -> Vec<u8> {
    let mut data = format::MAGIC.to_vec();
    data.extend_from_slice(&version.to_le_bytes());
    data.extend_from_slice(&0u32.to_le_bytes());
    data.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    data.extend_from_slice(&format::checksum(payload).to_le_bytes());
    data.extend_from_slice(payload);
    data
}

/// [`state`] past the checksum, where a crafted state lives: the first byte chooses format 1
/// (odd) or 2 (even), the rest is the payload, and the header is made to match it.
pub fn state_body(data: &[u8]) {
    let Some((&version, payload)) = data.split_first() else {
        return;
    };
    state(&container(u32::from(version % 2 == 0) + 1, payload));
}

/// A performance as the host's JSON holds it: base64 text. What decodes encodes as text that
/// decodes to the same bytes (the decoder takes padding bits that are not zero, harmlessly: the
/// container's checksum judges the bytes), and is loaded as [`state`].
pub fn state_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = text::decode(text) {
        let encoded = text::encode(&bytes);
        assert_eq!(encoded.len(), text.len());
        assert!(text::decode(&encoded).is_ok_and(|again| again == bytes));
        state(&bytes);
    }
}

/// Parameter ids a mapping file may name (some of the plugin's, which needs the framework).
pub const PARAM_IDS: [&str; 6] = [
    "loop_gain",
    "master_gain",
    "midi_channel",
    "track_gain_1",
    "track_mute_2",
    "cmd_record",
];

/// A MIDI mapping file. A map read exports as a file that reads back as the same map; a
/// refused file's error names a line of the file.
pub fn midi_map(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ids = PARAM_IDS.map(String::from);
    match file::parse(text, &ids) {
        Ok(map) => {
            let exported = file::export(&map, &ids);
            assert_eq!(file::parse(&exported, &ids), Ok(map), "{exported}");
        }
        Err(error) => {
            let lines = text.split('\n').count();
            assert!(error.line.is_none_or(|line| (1..=lines).contains(&line)));
            assert!(!error.to_string().is_empty());
        }
    }
}

/// Session rates an import may convert to, in Hz.
const SESSION_RATES_HZ: [f32; 6] = [8_000.0, 22_050.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0];
/// Anchor cycles an import may be placed on, in samples (`None`: it becomes the anchor).
const CYCLES_SAMPLES: [Option<u64>; 6] =
    [None, Some(1), Some(100), Some(4_799), Some(48_000), None];

/// A WAV file imported as a track: the first byte chooses the session rate (low 3 bits) and the
/// anchor cycle (the next 3), the rest is the file. What is read is one or two channels of
/// equal, non-zero length with finite samples, and becomes a track whose length holds it.
pub fn wav(data: &[u8]) {
    let Some((&setup, file)) = data.split_first() else {
        return;
    };
    let rate = SESSION_RATES_HZ[usize::from(setup & 7) % SESSION_RATES_HZ.len()];
    let cycle = CYCLES_SAMPLES[usize::from(setup >> 3 & 7) % CYCLES_SAMPLES.len()];
    match wav::read_from(Cursor::new(file), Path::new("fuzz.wav"), rate) {
        Ok(audio) => {
            let frames = audio.channels[0].len();
            assert!((1..=2).contains(&audio.channels.len()) && frames > 0);
            for channel in &audio.channels {
                assert_eq!(channel.len(), frames);
                assert!(channel.iter().all(|s| s.is_finite()));
            }
            let track = wav::prepare_track(&audio, cycle, rate).expect("memory for the track");
            assert!(track.length_samples >= frames as u64);
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

/// The seed inputs of each target, by target name and file name: real inputs, so that the
/// fuzzer starts past the checksums and headers. Saved performances of each section and codec
/// mode (a recorded one from the engine, and one with a host lock, whole beats, a mono 16-bit
/// track and a stereo noise track); the shipped MIDI map and one with CCs, channels and
/// parameters; WAV files of each sample format, mono and stereo, at several rates.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for (name, saved) in [
        ("recorded", recorded_performance()),
        ("synced", synced_performance()),
    ] {
        seeds.push(("state", format!("{name}.loopmate"), saved.clone()));
        let mut body = vec![0u8];
        body.extend_from_slice(&saved[32..]);
        seeds.push(("state_body", format!("{name}.body"), body));
        seeds.push((
            "state_text",
            format!("{name}.b64"),
            text::encode(&saved).into(),
        ));
    }
    seeds.push((
        "midi_map",
        "default-midi-map.toml".into(),
        include_bytes!("../../assets/default-midi-map.toml").to_vec(),
    ));
    seeds.push((
        "midi_map",
        "mixed.toml".into(),
        b"version = 1\n\n[[binding]]\ncommand = \"undo\"\ncc = 80\nchannel = 2\n\n\
          [[binding]]\nparam = \"loop_gain\"\ncc = 7\nchannel = \"omni\"\n\n\
          [[binding]]\nparam = \"track_mute_2\"\nnote = 60\n"
            .to_vec(),
    ));
    let formats = [
        (hound::SampleFormat::Int, 8, 1, 8_000),
        (hound::SampleFormat::Int, 16, 2, 44_100),
        (hound::SampleFormat::Int, 24, 1, 48_000),
        (hound::SampleFormat::Int, 32, 2, 96_000),
        (hound::SampleFormat::Float, 32, 2, 48_000),
        (hound::SampleFormat::Int, 16, 3, 48_000),
    ];
    for (setup, (format, bits, channels, rate)) in formats.into_iter().enumerate() {
        let mut data = vec![(setup as u8 * 9) & 0x3F];
        data.extend(wav_file(format, bits, channels, rate));
        let kind = if format == hound::SampleFormat::Int {
            "int"
        } else {
            "float"
        };
        seeds.push(("wav", format!("{kind}{bits}_{channels}ch_{rate}.wav"), data));
    }
    seeds
}

/// A performance recorded by the engine at 8 kHz (small): a 0.1 s anchor of a sine and an
/// overdub twice as long, with gain, pan, reverse and a delay on the overdub, then saved.
fn recorded_performance() -> Vec<u8> {
    use loopmate::engine::command::{Command, TimedCommand, TrackControl, TrackTarget};
    use loopmate::engine::fx::chain::FxControl;
    use loopmate::engine::quantize::QuantizeMode;
    use loopmate::engine::{Engine, EngineConfig, EngineSettings};
    let rate = 8_000.0;
    let (mut engine, mut keeper) = Engine::new(EngineConfig {
        sample_rate_hz: rate,
        recorded_channels: 2,
        history_secs: 2.0,
    })
    .expect("memory for the engine");
    engine.set_settings(EngineSettings {
        quantize_mode: QuantizeMode::Off,
        ..EngineSettings::default()
    });
    let store = SessionStore::default();
    store.attach(engine.connect_session(), rate);
    let last = TrackTarget::Last;
    let commands = [
        (1_000, Command::RecordToggle),
        (1_900, Command::RecordToggle),
        (2_200, Command::RecordToggle),
        (3_800, Command::RecordToggle),
        (3_900, Command::Track(last, TrackControl::SetGain(0.7))),
        (3_901, Command::Track(last, TrackControl::SetPan(-0.4))),
        (
            3_902,
            Command::Track(last, TrackControl::Fx(FxControl::SetReverse(true))),
        ),
        (
            3_903,
            Command::Track(last, TrackControl::Fx(FxControl::SetDelay(true))),
        ),
    ];
    let block = 100;
    for start in (0..5_000u64).step_by(block) {
        let sine = |c: u64| {
            (start..start + block as u64)
                .map(|t| 0.3 * (t as f32 * (0.05 + 0.02 * c as f32)).sin())
                .collect::<Vec<f32>>()
        };
        let (mut left, mut right) = (sine(0), sine(1));
        let mut phones = [vec![0.0; block], vec![0.0; block]];
        let timed: Vec<TimedCommand> = commands
            .iter()
            .filter(|(t, _)| (start..start + block as u64).contains(t))
            .map(|&(t, command)| TimedCommand {
                offset_samples: (t - start) as u32,
                command,
            })
            .collect();
        let [phones_left, phones_right] = &mut phones;
        engine.process(
            &mut [left.as_mut_slice(), right.as_mut_slice()],
            &mut [phones_left.as_mut_slice(), phones_right.as_mut_slice()],
            &timed,
        );
        keeper.service().expect("memory for spares");
        store.tick();
    }
    assert_eq!(engine.status().track_count, 2, "the anchor and the overdub");
    store.save()
}

/// A performance of the format's every section, made as a model: a cycle locked to the host's
/// bars with whole beats, a mono track of 16-bit samples (the codec's integer mode), and an
/// undone stereo track of noise with every effect on (its float and raw modes).
fn synced_performance() -> Vec<u8> {
    let rate = 48_000.0;
    let cycle = 512;
    let sixteen_bit = (0..cycle)
        .map(|t| (0.5 * (t as f32 * 0.1).sin() * 32_768.0).round() / 32_768.0)
        .collect::<Vec<f32>>();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let noise = (0..2 * 2 * cycle)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if i % 2 == 0 {
                f32::from_bits(state as u32)
            } else {
                (state % 1000) as f32 / 2000.0 - 0.25
            }
        })
        .collect::<Vec<f32>>();
    let record = |id: u64, length_samples: u64| TrackRecord {
        id,
        length_samples,
        content_samples: length_samples,
        origin_samples: 100,
        gain: 0.8,
        pan: 0.2,
        muted: false,
        soloed: true,
        reversed: false,
        speed: Default::default(),
        undone: false,
        layers: (id % 3) as u32,
        fx: FxSettings {
            filter_on: false,
            filter_mode: FilterMode::LowPass,
            cutoff_hz: 1_000.0,
            q: 0.707,
            drive_on: false,
            drive_amount: 4.0,
            delay_on: false,
            delay_frames: 18_000.0,
            delay_feedback: 0.35,
            delay_mix: 0.5,
        },
    };
    let audio = |channels: usize, samples: Vec<f32>| {
        let frames = samples.len() / channels;
        Arc::new(TrackAudio::from_planar(channels, frames, &samples).expect("planar audio"))
    };
    let mut noisy = record(3, 2 * cycle as u64);
    noisy.undone = true;
    noisy.fx = FxSettings {
        filter_on: true,
        filter_mode: FilterMode::HighPass,
        drive_on: true,
        delay_on: true,
        ..noisy.fx
    };
    let model = SessionModel {
        cycle: Some(Cycle {
            origin_samples: 100,
            length_samples: cycle as u64,
        }),
        lock: Some(BarLock {
            start_bar: 2.0,
            bars: 1,
            origin_samples: -412,
        }),
        beats: Some(WholeBeats::new(cycle as u64, 4, rate)),
        tracks: vec![
            ModelTrack {
                record: record(1, cycle as u64),
                audio: audio(1, sixteen_bit),
            },
            ModelTrack {
                record: noisy,
                audio: audio(2, noise),
            },
        ],
        ..SessionModel::empty(rate)
    };
    format::encode(&model, 0)
}

/// A WAV file of 64 frames of a sine in `format` at `bits`, `channels` and `rate_hz`.
fn wav_file(format: hound::SampleFormat, bits: u16, channels: u16, rate_hz: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate_hz,
        bits_per_sample: bits,
        sample_format: format,
    };
    let mut out = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).expect("a WAV header");
    for t in 0..64 {
        for c in 0..channels {
            let x = 0.5 * ((t * (c + 1)) as f32 * 0.2).sin();
            let written = match format {
                hound::SampleFormat::Float => writer.write_sample(x),
                hound::SampleFormat::Int => {
                    let full_scale = (1i64 << (bits - 1)) as f32;
                    writer.write_sample((x * full_scale) as i32)
                }
            };
            written.expect("a sample");
        }
    }
    writer.finalize().expect("a WAV file");
    out.into_inner()
}
