//! WAV export and import (framework-free; `hound` reads and writes the files).
//!
//! - Export: every track as one loop of its own length, and the mix as one loop of the longest
//!   track, 32-bit float (bit-exact: the loops as recorded), all starting at the same anchor
//!   cycle boundary so that they line up when dropped into a DAW at the same position. The mix
//!   applies each track's gain, pan, mute, solo, reverse and effects (filter, drive, delay; the
//!   delay runs one extra loop first so its echoes wrap around as in playback); it is taken
//!   before the master section (no master gain, master effects or limiter). Undone tracks are
//!   left out. Existing files are never overwritten.
//! - Import: 8/16/24/32-bit integer or 32-bit float WAV, mono or stereo, any rate (resampled to
//!   the session rate with a polyphase windowed-sinc interpolator, see [`resample`]). With an anchor the
//!   track's length is the smallest cycle x 2^k that holds the file and it starts on a cycle
//!   boundary; without one the file becomes the anchor. Bad files are refused with a message
//!   and change nothing.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::engine::declick_samples_at;
use crate::engine::fx::chain::FxChain;
use crate::engine::fx::delay::delay_memory_frames;
use crate::engine::track::{balance, restart_gain};
use crate::state::mirror::{ModelTrack, SessionModel};

pub mod resample;
#[cfg(test)]
pub(crate) mod tests;

pub use resample::resample;

/// Longest file accepted for import, in seconds (the longest history a player can choose).
pub const MAX_IMPORT_SECS: f64 = 600.0;

/// Why an export or import failed.
#[derive(Debug)]
pub enum WavError {
    /// Reading or writing a file failed.
    Io(PathBuf, std::io::Error),
    /// The file is not a WAV file hound can read.
    NotWav(PathBuf, String),
    /// The WAV holds something Loopmate does not take.
    Unsupported(PathBuf, String),
    /// An export would overwrite a file.
    Exists(PathBuf),
    /// Nothing to export.
    NoTracks,
}

impl fmt::Display for WavError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(path, error) => write!(f, "{}: {error}", path.display()),
            Self::NotWav(path, why) => {
                write!(f, "{} is not a readable WAV file ({why})", path.display())
            }
            Self::Unsupported(path, why) => write!(f, "{}: {why}", path.display()),
            Self::Exists(path) => write!(
                f,
                "{} already exists (export never overwrites: choose an empty folder)",
                path.display()
            ),
            Self::NoTracks => write!(f, "there are no loops to export"),
        }
    }
}

impl std::error::Error for WavError {}

/// Where (in the model's time) exported files start: a cycle boundary (the first track's origin
/// without a cycle).
fn export_start(model: &SessionModel) -> u64 {
    model
        .cycle
        .map(|c| c.origin_samples)
        .or_else(|| model.tracks.first().map(|t| t.record.origin_samples))
        .unwrap_or(0)
}

/// What `track` plays on channel `c` at loop index `play_index`, reading its audio at
/// `audio_index` (the same index, or its mirror when reversed): as the engine plays it after a
/// host tempo change made the loop shorter or longer than its audio (cut or followed by silence,
/// with declick fades of `fade_frames`).
fn loop_sample(
    track: &ModelTrack,
    c: usize,
    (play_index, audio_index): (usize, usize),
    fade_frames: u64,
) -> f32 {
    let r = &track.record;
    let audio = track.audio.channel(c.min(track.audio.channels() - 1));
    let sample = audio.sample(audio_index);
    if r.content_samples == r.length_samples {
        sample
    } else {
        let gain = restart_gain(
            play_index as u64,
            r.content_samples,
            r.length_samples,
            fade_frames,
        );
        sample * gain
    }
}

/// One loop of `track` starting at absolute time `start`, per channel, as recorded.
fn track_loop(track: &ModelTrack, start: u64, rate_hz: f32) -> Vec<Vec<f32>> {
    let length = track.record.length_samples as usize;
    let first = (i128::from(start) - i128::from(track.record.origin_samples))
        .rem_euclid(length as i128) as usize;
    let fade = declick_samples_at(rate_hz) as u64;
    (0..track.audio.channels())
        .map(|c| {
            (0..length)
                .map(|t| {
                    let index = (first + t) % length;
                    loop_sample(track, c, (index, index), fade)
                })
                .collect()
        })
        .collect()
}

/// The stereo mix of the playing tracks over one loop of the longest, from absolute time
/// `start` (see the module documentation for what it includes).
pub fn render_mix(model: &SessionModel, start: u64) -> [Vec<f32>; 2] {
    let playing: Vec<&ModelTrack> = model.tracks.iter().filter(|t| !t.record.undone).collect();
    let longest = playing
        .iter()
        .map(|t| t.record.length_samples)
        .max()
        .unwrap_or(0) as usize;
    let any_solo = playing.iter().any(|t| t.record.soloed);
    let mut mix = [vec![0.0f32; longest], vec![0.0f32; longest]];
    let mut memory = vec![0.0f32; 2 * delay_memory_frames(model.sample_rate_hz)];
    for track in playing {
        let r = &track.record;
        if r.muted || (any_solo && !r.soloed) {
            continue;
        }
        let length = r.length_samples as usize;
        let first =
            (i128::from(start) - i128::from(r.origin_samples)).rem_euclid(length as i128) as usize;
        let fade = declick_samples_at(model.sample_rate_hz) as u64;
        // What the track plays at `start + t` (reversed playback reads the loop backwards).
        let read = |c: usize, t: usize| {
            let forward = (first + t) % length;
            let index = if r.reversed {
                length - 1 - forward
            } else {
                forward
            };
            loop_sample(track, c, (forward, index), fade)
        };
        let mut fx = FxChain::with_settings(model.sample_rate_hz, &r.fx);
        memory.fill(0.0);
        let (left_gain, right_gain) = balance(r.pan);
        // One loop of warm-up when the delay is on, so its echoes wrap around.
        let warmup = if r.fx.delay_on { longest } else { 0 };
        let mut left = vec![0.0f32; 1024];
        let mut right = vec![0.0f32; 1024];
        let mut t = 0;
        while t < warmup + longest {
            let n = (warmup + longest - t).min(1024);
            for i in 0..n {
                left[i] = read(0, t + i);
                right[i] = read(1, t + i);
            }
            fx.process(&mut left[..n], &mut right[..n], &mut memory);
            if t + n > warmup {
                for i in 0..n {
                    if t + i >= warmup {
                        let at = t + i - warmup;
                        mix[0][at] += left[i] * (r.gain * left_gain);
                        mix[1][at] += right[i] * (r.gain * right_gain);
                    }
                }
            }
            t += n;
        }
    }
    mix
}

/// Creates `path` for writing, refusing to overwrite.
fn create_new(path: &Path) -> Result<std::fs::File, WavError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::AlreadyExists => WavError::Exists(path.to_owned()),
            _ => WavError::Io(path.to_owned(), error),
        })
}

/// Writes planar `channels` as a 32-bit float WAV at `rate_hz`.
fn write_float(path: &Path, rate_hz: f32, channels: &[&[f32]]) -> Result<(), WavError> {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate_hz.round() as u32,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let io = |error: hound::Error| match error {
        hound::Error::IoError(error) => WavError::Io(path.to_owned(), error),
        other => WavError::Io(path.to_owned(), std::io::Error::other(other.to_string())),
    };
    let file = std::io::BufWriter::new(create_new(path)?);
    let mut writer = hound::WavWriter::new(file, spec).map_err(io)?;
    for i in 0..channels[0].len() {
        for channel in channels {
            writer.write_sample(channel[i]).map_err(io)?;
        }
    }
    writer.finalize().map_err(io)
}

/// Exports every playing track (`track_01.wav`, ...) and the mix (`mix.wav`) into `dir`
/// (created if missing), aligned at a cycle boundary. Returns the files written.
pub fn export(model: &SessionModel, dir: &Path) -> Result<Vec<PathBuf>, WavError> {
    let playing: Vec<&ModelTrack> = model.tracks.iter().filter(|t| !t.record.undone).collect();
    if playing.is_empty() {
        return Err(WavError::NoTracks);
    }
    std::fs::create_dir_all(dir).map_err(|error| WavError::Io(dir.to_owned(), error))?;
    let names: Vec<PathBuf> = (1..=playing.len())
        .map(|n| dir.join(format!("track_{n:02}.wav")))
        .chain([dir.join("mix.wav")])
        .collect();
    // Refuse before writing anything, so a refused export leaves the folder as it was.
    if let Some(existing) = names.iter().find(|path| path.exists()) {
        return Err(WavError::Exists(existing.clone()));
    }
    let start = export_start(model);
    for (track, path) in playing.iter().zip(&names) {
        let loop_ = track_loop(track, start, model.sample_rate_hz);
        let channels: Vec<&[f32]> = loop_.iter().map(Vec::as_slice).collect();
        write_float(path, model.sample_rate_hz, &channels)?;
    }
    let mix = render_mix(model, start);
    write_float(
        &names[playing.len()],
        model.sample_rate_hz,
        &[&mix[0], &mix[1]],
    )?;
    Ok(names)
}

/// A WAV file read for import: planar audio at the session rate.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedAudio {
    /// One vector per channel (1 or 2), equal lengths, at the session rate.
    pub channels: Vec<Vec<f32>>,
    /// The file's own sample rate in Hz.
    pub file_rate_hz: u32,
}

/// Reads a WAV file for import, resampled to `session_rate_hz`. Not-finite samples become 0.
pub fn read(path: &Path, session_rate_hz: f32) -> Result<ImportedAudio, WavError> {
    let file = std::fs::File::open(path).map_err(|error| WavError::Io(path.to_owned(), error))?;
    read_from(std::io::BufReader::new(file), path, session_rate_hz)
}

/// [`read`] from `source` (the WAV file's bytes; `path` names it in errors).
pub fn read_from(
    source: impl std::io::Read,
    path: &Path,
    session_rate_hz: f32,
) -> Result<ImportedAudio, WavError> {
    let mut reader = hound::WavReader::new(source).map_err(|error| match error {
        hound::Error::IoError(error) => WavError::Io(path.to_owned(), error),
        other => WavError::NotWav(path.to_owned(), other.to_string()),
    })?;
    let spec = reader.spec();
    let unsupported = |why: String| WavError::Unsupported(path.to_owned(), why);
    if !(1..=2).contains(&spec.channels) {
        return Err(unsupported(format!(
            "{} channels (Loopmate takes mono or stereo)",
            spec.channels
        )));
    }
    if !(1_000..=768_000).contains(&spec.sample_rate) {
        return Err(unsupported(format!("sample rate {} Hz", spec.sample_rate)));
    }
    let frames = u64::from(reader.duration());
    if frames == 0 {
        return Err(unsupported("the file holds no audio".into()));
    }
    if frames as f64 > MAX_IMPORT_SECS * f64::from(spec.sample_rate) {
        return Err(unsupported(format!(
            "longer than {MAX_IMPORT_SECS} s ({:.0} s)",
            frames as f64 / f64::from(spec.sample_rate)
        )));
    }
    let bad = |error: hound::Error| WavError::NotWav(path.to_owned(), error.to_string());
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(bad)?,
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            reader
                .samples::<i32>()
                .map(|s| s.map(|s| (f64::from(s) * scale) as f32))
                .collect::<Result<_, _>>()
                .map_err(bad)?
        }
        (format, bits) => return Err(unsupported(format!("{bits}-bit {format:?} samples"))),
    };
    let count = usize::from(spec.channels);
    if interleaved.len() < count {
        return Err(unsupported("the file holds no audio".into()));
    }
    let finite = |s: f32| if s.is_finite() { s } else { 0.0 };
    let channels: Vec<Vec<f32>> = (0..count)
        .map(|c| {
            let samples: Vec<f32> = interleaved
                .iter()
                .skip(c)
                .step_by(count)
                .map(|&s| finite(s))
                .collect();
            // Float values near f32's limit can overflow in the kernel's overshoot: checked again.
            resample(&samples, spec.sample_rate, session_rate_hz.round() as u32)
                .map(|resampled| resampled.into_iter().map(finite).collect())
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            unsupported(format!(
                "{} Hz cannot be converted to {session_rate_hz} Hz",
                spec.sample_rate
            ))
        })?;
    Ok(ImportedAudio {
        channels,
        file_rate_hz: spec.sample_rate,
    })
}

/// Fade at the edges of an imported file that does not fill its track, in seconds.
const IMPORT_FADE_SECS: f64 = 0.005;

/// The track an imported file becomes at `rate_hz`: with a cycle of `cycle_length`, the
/// smallest cycle x 2^k that holds it (silence after the file, whose edges fade over 5 ms so the
/// loop never clicks); without one, exactly the file (the new anchor). Not realtime-safe.
pub fn prepare_track(
    audio: &ImportedAudio,
    cycle_length: Option<u64>,
    rate_hz: f32,
) -> Option<crate::engine::track::Track> {
    use crate::engine::audio::{TrackAudio, TrackBuffer};
    use crate::engine::cycle::Cycle;
    use crate::engine::track::Track;
    let frames = audio.channels.first()?.len() as u64;
    let length = match cycle_length {
        Some(length) => Cycle {
            origin_samples: 0,
            length_samples: length.max(1),
        }
        .track_length(frames),
        None => frames,
    } as usize;
    let mut samples = Vec::new();
    samples
        .try_reserve_exact(length.checked_mul(audio.channels.len())?)
        .ok()?;
    let fade = if length > frames as usize {
        ((IMPORT_FADE_SECS * f64::from(rate_hz)) as usize).min(frames as usize / 2)
    } else {
        0
    };
    for channel in &audio.channels {
        let start = samples.len();
        samples.extend_from_slice(channel);
        let written = &mut samples[start..];
        let n = written.len();
        for j in 0..fade {
            let w = (j + 1) as f32 / (fade + 1) as f32;
            written[j] *= w;
            written[n - 1 - j] *= w;
        }
        samples.resize(start + length, 0.0);
    }
    let audio = TrackAudio::from_planar(audio.channels.len(), length, &samples)?;
    let buffer = TrackBuffer::with_audio(std::sync::Arc::new(audio));
    Some(Track::new(buffer, length as u64, 0))
}
