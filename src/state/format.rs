//! The saved performance: a versioned binary container.
//!
//! ```text
//! header   "LOOPMATE" | format version u32 | flags u32 | payload length u64 | checksum u64
//! payload  sections: tag [u8; 4] | length u64 | body
//!   SESS   sample rate f32 | has cycle u8 | cycle phase u64 | cycle length u64 | tracks u32
//!   SYNC   (v2, only with a cycle locked to the host bars) start bar f64 | bars u32 |
//!          samples since the lock's origin i64
//!   BEAT   (only when beat quantization made the anchor whole beats) beats in the cycle u32
//!   SELE   (only once a loop was selected) the selected loop's track id u64
//!   TRAK   (one per track, in id order) id u64 | length u64 | phase u64 |
//!          content u64 (v2) | gain f32 | pan f32 | flags u8 (muted, soloed, reversed, undone) |
//!          effects (see `write_fx`) | channels u8 | per channel: encoded length u64 | `codec`
//!          data of max(length, content) frames (v1: length frames)
//!   SPED   (only when a track plays at a speed other than 1) tracks u32 | per track: id u64 |
//!          speed in octaves i8 (-2 ..= 2) | phase in its period u64 (see `speed.rs`)
//!   LAYR   (only when a track has overdub layers) tracks u32 | per track: id u64 | layers u32
//!   ONES   (only when a pad holds a one-shot) pads u32 | per pad: pad u8 (0-7) | length u64 |
//!          channels u8 | per channel: encoded length u64 | `codec` data of length frames
//! ```
//! All integers little-endian. Positions are saved as *phases* (where in its loop each track
//! and the cycle are at the moment of saving), so a load continues from there whenever and in
//! whichever engine it is installed; the host lock's origin is saved as the time since it, which
//! is not reduced modulo any loop (see `BarLock::origin_samples`). Unknown section tags are
//! skipped (sections may be added without a version change); anything else new needs a new
//! format version and a migration in [`decode`], the one place that knows old versions.
//!
//! Versions: 1 had no `SYNC` section and no content length (a track's content was its length);
//! it loads as such, unlocked. 2 is written since. `BEAT` came later within version 2 (an older
//! build skips it, and its clicks follow the beats-per-cycle setting). So did `SELE` (an older
//! build skips it; a state without it, or naming no playing track, selects the newest loop).
//! So did `SPED` (an older build plays every loop at speed 1; a state without it loads at
//! speed 1). Its phase is modulo the loop's period, which at half speed is twice its length, so
//! `TRAK`'s phase alone would not say which pass of the period a slow loop is in. So did
//! `LAYR` (a track's audio is saved as heard, its overdub layers mixed; the section keeps their
//! count for the editor; an older build, or a state without it, shows none). So did `ONES` (an
//! older build skips it and has no one-shots; a state without it loads with empty pads).
//!
//! Decoding bounds-checks everything and never panics: a truncated, corrupt or future-version
//! state is an error with a message. NaN or infinite samples, which the lossless codec keeps,
//! are replaced by silence and counted (see [`Decoded`]).

use std::fmt;
use std::sync::{Arc, Weak};

use super::codec;
use super::mirror::{Clock, ModelTrack, SessionModel};
use super::parallel::parallel_map;
use crate::engine::audio::TrackAudio;
use crate::engine::cycle::BarLock;
use crate::engine::cycle::Cycle;
use crate::engine::cycle::WholeBeats;
use crate::engine::fx::chain::FxSettings;
use crate::engine::fx::filter::FilterMode;
use crate::engine::oneshot::{PADS, SavedOneShot};
use crate::engine::pages::PagedChannel;
use crate::engine::session_event::TrackRecord;
use crate::engine::speed::Speed;

/// The container's first bytes.
pub const MAGIC: &[u8; 8] = b"LOOPMATE";
/// The format version this build writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 2;
/// Header bytes before the payload.
const HEADER_BYTES: usize = 32;
/// Longest track accepted, in frames per channel (about 6 hours at 48 kHz): bounds what a
/// damaged length could make the loader allocate.
const MAX_TRACK_FRAMES: u64 = 1 << 30;
/// Largest bar count and bar number of a saved host lock, and the longest time since its origin
/// (about 3 000 years at 48 kHz): bounds that keep every later sum in range.
const MAX_LOCK_BARS: u32 = 1 << 20;
const MAX_LOCK_BAR: f64 = 1e12;
const MAX_LOCK_ELAPSED_SAMPLES: i64 = 1 << 52;

/// Why a saved performance was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// The data ends early.
    Truncated,
    /// Not a Loopmate performance.
    BadMagic,
    /// Saved by a newer Loopmate.
    FutureVersion(u32),
    /// The checksum does not match: the data was damaged.
    ChecksumMismatch,
    /// A value is impossible (the text says which).
    Malformed(&'static str),
    /// Not enough memory for the audio.
    OutOfMemory,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => write!(f, "the saved performance is truncated"),
            Self::BadMagic => write!(f, "the saved data is not a Loopmate performance"),
            Self::FutureVersion(v) => write!(
                f,
                "the performance was saved by a newer Loopmate (format {v}; this one reads up to \
                 {FORMAT_VERSION})"
            ),
            Self::ChecksumMismatch => write!(f, "the saved performance is damaged (checksum)"),
            Self::Malformed(what) => write!(f, "the saved performance is damaged ({what})"),
            Self::OutOfMemory => write!(f, "not enough memory to load the saved performance"),
        }
    }
}

impl std::error::Error for StateError {}

impl From<codec::CodecError> for StateError {
    fn from(error: codec::CodecError) -> Self {
        match error {
            codec::CodecError::Truncated => Self::Truncated,
            codec::CodecError::Malformed => Self::Malformed("audio data"),
        }
    }
}

/// A 64-bit checksum, four lanes of multiply-xor (each step a bijection, so any one changed
/// word changes the result), fast enough to be negligible next to the codec.
pub fn checksum(data: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut lanes = [
        0x243F_6A88_85A3_08D3u64,
        0x1319_8A2E_0370_7344,
        0xA409_3822_299F_31D0,
        0x082E_FA98_EC4E_6C89,
    ];
    let mut chunks = data.chunks_exact(32);
    for chunk in &mut chunks {
        for (lane, word) in lanes.iter_mut().zip(chunk.chunks_exact(8)) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            *lane = (*lane ^ word).wrapping_mul(K).rotate_left(29);
        }
    }
    for (i, &byte) in chunks.remainder().iter().enumerate() {
        let lane = &mut lanes[i % 4];
        *lane = (*lane ^ u64::from(byte)).wrapping_mul(K).rotate_left(29);
    }
    lanes.iter().fold(data.len() as u64, |h, &lane| {
        (h ^ lane).wrapping_mul(K).rotate_left(31)
    })
}

/// Each track's encoded audio from the last save, reused while its audio is the same: a track's
/// audio never changes once shared, so a save re-encodes only the tracks added since.
#[derive(Default)]
pub struct EncodeCache {
    /// In id order.
    tracks: Vec<CachedTrack>,
}

struct CachedTrack {
    /// The track's id.
    id: u64,
    /// The audio it was encoded from (compared by address; does not keep the audio alive).
    audio: Weak<TrackAudio>,
    /// Frames encoded per channel.
    frames: usize,
    /// The codec's bytes, one entry per channel.
    channels: Vec<EncodedChannel>,
}

/// One channel's codec bytes: a range of a shared buffer, its own encoding or (after a load) the
/// loaded container, which the cache then keeps instead of copying each channel out of it.
struct EncodedChannel {
    buffer: Arc<Vec<u8>>,
    range: std::ops::Range<usize>,
}

impl EncodedChannel {
    fn own(bytes: Vec<u8>) -> Self {
        Self {
            range: 0..bytes.len(),
            buffer: Arc::new(bytes),
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.buffer[self.range.clone()]
    }
}

// Encoding page by page gives the bytes of the whole channel only if pages hold whole groups.
const _: () = assert!(crate::engine::pages::PAGE_FRAMES.is_multiple_of(codec::GROUP));

/// Frames of a track's audio that are saved: all that playback can read (its length) and all
/// that was recorded (its content, longer after a faster host tempo cut the loop short).
fn saved_frames(track: &ModelTrack) -> usize {
    let r = &track.record;
    (r.length_samples.max(r.content_samples) as usize).min(track.audio.capacity_frames())
}

/// Encodes the model as saved at `now_samples` (the model's time).
pub fn encode(model: &SessionModel, now_samples: u64) -> Vec<u8> {
    encode_cached(model, now_samples, &mut EncodeCache::default())
}

/// [`encode`], reusing (and updating) each track's encoded audio in `cache`.
pub fn encode_cached(model: &SessionModel, now_samples: u64, cache: &mut EncodeCache) -> Vec<u8> {
    let phase = |origin: u64, length: u64| {
        (i128::from(now_samples) - i128::from(origin)).rem_euclid(i128::from(length.max(1))) as u64
    };
    // Each track's entry in the cache, if its audio was encoded before.
    let mut old: Vec<Option<CachedTrack>> = std::mem::take(&mut cache.tracks)
        .into_iter()
        .map(Some)
        .collect();
    let hits: Vec<Option<usize>> = model
        .tracks
        .iter()
        .map(|track| {
            old.iter().position(|entry| {
                entry.as_ref().is_some_and(|c| {
                    c.id == track.record.id
                        && c.frames == saved_frames(track)
                        && std::ptr::eq(c.audio.as_ptr(), Arc::as_ptr(&track.audio))
                })
            })
        })
        .collect();
    // (audio, channel, frames) of each channel to encode.
    let fresh: Vec<(&TrackAudio, usize, usize)> = model
        .tracks
        .iter()
        .zip(&hits)
        .filter(|(_, hit)| hit.is_none())
        .flat_map(|(track, _)| {
            let frames = saved_frames(track);
            (0..track.audio.channels()).map(move |c| (&*track.audio, c, frames))
        })
        .collect();
    let mut fresh_encoded = parallel_map(&fresh, |&(audio, c, frames)| {
        let mut out = Vec::new();
        // Page by page: the same bytes as the whole channel (pages hold whole codec groups).
        codec::encode_runs(audio.channel(c).runs(frames), frames, &mut out);
        EncodedChannel::own(out)
    })
    .into_iter();
    for (track, hit) in model.tracks.iter().zip(hits) {
        let entry = hit
            .and_then(|at| old[at].take())
            .unwrap_or_else(|| CachedTrack {
                id: track.record.id,
                audio: Arc::downgrade(&track.audio),
                frames: saved_frames(track),
                channels: fresh_encoded
                    .by_ref()
                    .take(track.audio.channels())
                    .collect(),
            });
        cache.tracks.push(entry);
    }
    // Tracks no longer in the model leave the cache here.
    drop(old);

    let audio_bytes: usize = cache
        .tracks
        .iter()
        .flat_map(|t| &t.channels)
        .map(|c| c.range.len() + 8)
        .sum();
    let mut out = Vec::with_capacity(HEADER_BYTES + audio_bytes + 4096 + 128 * model.tracks.len());
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, FORMAT_VERSION);
    put_u32(&mut out, 0);
    // Payload length and checksum, filled in below.
    out.resize(HEADER_BYTES, 0);

    let mut body = Vec::new();
    put_u32(&mut body, model.sample_rate_hz.to_bits());
    let (has_cycle, cycle_phase, cycle_length) = match model.cycle {
        Some(c) => (
            1,
            phase(c.origin_samples, c.length_samples),
            c.length_samples,
        ),
        None => (0, 0, 0),
    };
    body.push(has_cycle);
    put_u64(&mut body, cycle_phase);
    put_u64(&mut body, cycle_length);
    put_u32(&mut body, model.tracks.len() as u32);
    put_section(&mut out, b"SESS", &body);

    if let (Some(lock), Some(_)) = (model.lock, model.cycle) {
        body.clear();
        put_u64(&mut body, lock.start_bar.to_bits());
        put_u32(&mut body, lock.bars);
        put_u64(
            &mut body,
            (now_samples as i64).wrapping_sub(lock.origin_samples) as u64,
        );
        put_section(&mut out, b"SYNC", &body);
    }

    if let Some(beats) = model.anchor_beats() {
        body.clear();
        put_u32(&mut body, beats.beats);
        put_section(&mut out, b"BEAT", &body);
    }

    if let Some(id) = model.selected_id {
        body.clear();
        put_u64(&mut body, id);
        put_section(&mut out, b"SELE", &body);
    }

    for (track, encoded) in model.tracks.iter().zip(&cache.tracks) {
        let r = &track.record;
        body.clear();
        put_u64(&mut body, r.id);
        put_u64(&mut body, r.length_samples);
        put_u64(&mut body, phase(r.origin_samples, r.length_samples));
        put_u64(&mut body, r.content_samples.min(saved_frames(track) as u64));
        put_u32(&mut body, r.gain.to_bits());
        put_u32(&mut body, r.pan.to_bits());
        body.push(
            u8::from(r.muted)
                | u8::from(r.soloed) << 1
                | u8::from(r.reversed) << 2
                | u8::from(r.undone) << 3,
        );
        write_fx(&mut body, &r.fx);
        body.push(track.audio.channels() as u8);
        out.extend_from_slice(b"TRAK");
        let audio_bytes: usize = encoded.channels.iter().map(|c| 8 + c.range.len()).sum();
        put_u64(&mut out, (body.len() + audio_bytes) as u64);
        out.extend_from_slice(&body);
        for channel in &encoded.channels {
            put_u64(&mut out, channel.range.len() as u64);
            out.extend_from_slice(channel.bytes());
        }
    }

    let sped: Vec<&TrackRecord> = (model.tracks.iter())
        .map(|track| &track.record)
        .filter(|r| r.speed != Speed::NORMAL)
        .collect();
    if !sped.is_empty() {
        body.clear();
        put_u32(&mut body, sped.len() as u32);
        for r in sped {
            put_u64(&mut body, r.id);
            body.push(r.speed.octaves() as u8);
            put_u64(&mut body, phase(r.origin_samples, r.period_samples()));
        }
        put_section(&mut out, b"SPED", &body);
    }

    let layered: Vec<&TrackRecord> = (model.tracks.iter())
        .map(|track| &track.record)
        .filter(|r| r.layers > 0)
        .collect();
    if !layered.is_empty() {
        body.clear();
        put_u32(&mut body, layered.len() as u32);
        for r in layered {
            put_u64(&mut body, r.id);
            put_u32(&mut body, r.layers);
        }
        put_section(&mut out, b"LAYR", &body);
    }

    let pads: Vec<(usize, &SavedOneShot)> = (model.one_shots.iter().enumerate())
        .filter_map(|(pad, saved)| Some((pad, saved.as_ref()?)))
        .collect();
    if !pads.is_empty() {
        body.clear();
        put_u32(&mut body, pads.len() as u32);
        for (pad, saved) in pads {
            let frames = (saved.length_frames as usize).min(saved.audio.capacity_frames());
            body.push(pad as u8);
            put_u64(&mut body, frames as u64);
            body.push(saved.audio.channels() as u8);
            for c in 0..saved.audio.channels() {
                let mut encoded = Vec::new();
                codec::encode_runs(saved.audio.channel(c).runs(frames), frames, &mut encoded);
                put_u64(&mut body, encoded.len() as u64);
                body.extend_from_slice(&encoded);
            }
        }
        put_section(&mut out, b"ONES", &body);
    }

    let payload_len = (out.len() - HEADER_BYTES) as u64;
    let sum = checksum(&out[HEADER_BYTES..]);
    out[16..24].copy_from_slice(&payload_len.to_le_bytes());
    out[24..32].copy_from_slice(&sum.to_le_bytes());
    out
}

/// A decoded performance, and what the decoder had to repair in it.
#[derive(Debug)]
pub struct Decoded {
    /// The performance, frozen (generation 0).
    pub model: SessionModel,
    /// NaN or infinite samples of the saved audio, replaced by silence. The codec keeps every
    /// bit pattern (saving is lossless), so a damaged or crafted state can hold them under a
    /// valid checksum; played, one would poison the effects' memories and the mix.
    pub silenced_samples: u64,
}

impl Decoded {
    /// What the player should be told about the repairs, if there were any.
    pub fn warning(&self) -> Option<String> {
        (self.silenced_samples > 0).then(|| {
            format!(
                "the saved performance held {} samples that were not numbers (NaN or \
                 infinite): they were replaced by silence",
                self.silenced_samples
            )
        })
    }
}

/// Decodes a saved performance into a frozen model (generation 0), its NaN or infinite samples
/// replaced by silence (see [`decode_reporting`] for how many). The one place that knows every
/// format version.
pub fn decode(data: &[u8]) -> Result<SessionModel, StateError> {
    decode_reporting(data).map(|decoded| decoded.model)
}

/// [`decode`], and how many samples it replaced by silence.
pub fn decode_reporting(data: &[u8]) -> Result<Decoded, StateError> {
    decode_into(data, None)
}

/// [`decode_reporting`], and `cache` then holds the tracks' encoded audio (as ranges of `data`,
/// which it keeps), so that the next save need not encode them again (except a repaired track's,
/// so that the next save holds the repair). Left unchanged when the state is refused.
pub fn decode_cached(data: &Arc<Vec<u8>>, cache: &mut EncodeCache) -> Result<Decoded, StateError> {
    decode_into(data, Some((data, cache)))
}

/// What a decode keeps for the cache: the container it reads, and the cache to fill.
type CacheFill<'a> = Option<(&'a Arc<Vec<u8>>, &'a mut EncodeCache)>;

fn decode_into(data: &[u8], cache: CacheFill) -> Result<Decoded, StateError> {
    let mut header = Reader::new(data);
    if header
        .bytes(MAGIC.len())
        .map_err(|_| StateError::BadMagic)?
        != MAGIC
    {
        return Err(StateError::BadMagic);
    }
    let version = header.u32()?;
    let flags = header.u32()?;
    let payload_len = header.u64()?;
    let expected_checksum = header.u64()?;
    let payload = &data[HEADER_BYTES..];
    match version {
        v if v > FORMAT_VERSION => return Err(StateError::FutureVersion(v)),
        0 => return Err(StateError::Malformed("format version 0")),
        // 1 and 2 share one parser; it knows what 2 added (see the module documentation).
        _ => {}
    }
    if flags != 0 {
        return Err(StateError::Malformed("header flags"));
    }
    if (payload.len() as u64) < payload_len {
        return Err(StateError::Truncated);
    }
    if payload.len() as u64 != payload_len {
        return Err(StateError::Malformed("trailing data"));
    }
    if checksum(payload) != expected_checksum {
        return Err(StateError::ChecksumMismatch);
    }
    decode_payload(payload, version, cache)
}

/// A track as parsed, its audio still encoded.
struct ParsedTrack<'a> {
    record: TrackRecord,
    /// Frames of audio per channel.
    frames: usize,
    channels: Vec<&'a [u8]>,
}

/// The payload of format `version` (1 or 2).
fn decode_payload(payload: &[u8], version: u32, cache: CacheFill) -> Result<Decoded, StateError> {
    let mut sections = Reader::new(payload);
    let mut session = None;
    let mut lock = None;
    let mut beats = None;
    let mut selected_id = None;
    let mut speeds: Option<Vec<(u64, Speed, u64)>> = None;
    let mut layers: Option<Vec<(u64, u32)>> = None;
    let mut one_shots: Option<[Option<SavedOneShot>; PADS]> = None;
    let mut silenced_in_one_shots = 0;
    let mut parsed: Vec<ParsedTrack> = Vec::new();
    while !sections.is_empty() {
        let tag = sections.bytes(4)?;
        let len = sections.u64()?;
        let body = sections.bytes(usize::try_from(len).map_err(|_| StateError::Truncated)?)?;
        let mut r = Reader::new(body);
        match tag {
            b"SESS" => {
                let rate = f32::from_bits(r.u32()?);
                if !(rate.is_finite() && (1_000.0..=1_000_000.0).contains(&rate)) {
                    return Err(StateError::Malformed("sample rate"));
                }
                let has_cycle = r.u8()?;
                let (phase, length) = (r.u64()?, r.u64()?);
                let cycle = match has_cycle {
                    0 => None,
                    1 if length > 0 && length <= MAX_TRACK_FRAMES && phase < length => {
                        Some(Cycle {
                            origin_samples: (length - phase) % length,
                            length_samples: length,
                        })
                    }
                    _ => return Err(StateError::Malformed("cycle")),
                };
                session = Some((rate, cycle, r.u32()?));
            }
            b"SYNC" if version >= 2 => {
                if lock.is_some() {
                    return Err(StateError::Malformed("two host locks"));
                }
                let start_bar = f64::from_bits(r.u64()?);
                let bars = r.u32()?;
                let elapsed = r.u64()? as i64;
                let valid = start_bar.is_finite()
                    && start_bar.abs() <= MAX_LOCK_BAR
                    && (1..=MAX_LOCK_BARS).contains(&bars)
                    && elapsed.unsigned_abs() <= MAX_LOCK_ELAPSED_SAMPLES as u64
                    && r.is_empty();
                if !valid {
                    return Err(StateError::Malformed("host lock"));
                }
                lock = Some(BarLock {
                    start_bar,
                    bars,
                    origin_samples: -elapsed,
                });
            }
            b"BEAT" => {
                if beats.is_some() {
                    return Err(StateError::Malformed("two beat counts"));
                }
                let count = r.u32()?;
                if count == 0 || !r.is_empty() {
                    return Err(StateError::Malformed("beat count"));
                }
                beats = Some(count);
            }
            b"SELE" => {
                if selected_id.is_some() {
                    return Err(StateError::Malformed("two selections"));
                }
                let id = r.u64()?;
                if !r.is_empty() {
                    return Err(StateError::Malformed("selection"));
                }
                selected_id = Some(id);
            }
            b"TRAK" => parsed.push(parse_track(&mut r, version)?),
            b"SPED" => {
                if speeds.is_some() {
                    return Err(StateError::Malformed("two speed sections"));
                }
                speeds = Some(parse_speeds(&mut r)?);
            }
            b"LAYR" => {
                if layers.is_some() {
                    return Err(StateError::Malformed("two layer sections"));
                }
                layers = Some(parse_layers(&mut r)?);
            }
            b"ONES" => {
                if one_shots.is_some() {
                    return Err(StateError::Malformed("two one-shot sections"));
                }
                let (pads, silenced) = parse_one_shots(&mut r)?;
                one_shots = Some(pads);
                silenced_in_one_shots = silenced;
            }
            _ => {}
        }
    }
    let (rate, cycle, track_count) = session.ok_or(StateError::Malformed("no session section"))?;
    if parsed.len() != track_count as usize {
        return Err(StateError::Malformed("track count"));
    }
    if parsed.windows(2).any(|w| w[0].record.id >= w[1].record.id) {
        return Err(StateError::Malformed("track order"));
    }
    for (id, count) in layers.unwrap_or_default() {
        let at = (parsed.binary_search_by_key(&id, |track| track.record.id))
            .map_err(|_| StateError::Malformed("layers of an unknown track"))?;
        parsed[at].record.layers = count;
    }
    for (id, speed, phase) in speeds.unwrap_or_default() {
        let at = (parsed.binary_search_by_key(&id, |track| track.record.id))
            .map_err(|_| StateError::Malformed("speed of an unknown track"))?;
        let record = &mut parsed[at].record;
        let period = speed.period_samples(record.length_samples);
        // The phase in the period must agree with the track's own phase in its length.
        let length_phase = (record.length_samples - record.origin_samples) % record.length_samples;
        if record.speed != Speed::NORMAL
            || phase >= period
            || phase % record.length_samples != length_phase
        {
            return Err(StateError::Malformed("track speed"));
        }
        record.speed = speed;
        record.origin_samples = (period - phase) % period;
    }
    if lock.is_some() && cycle.is_none() {
        return Err(StateError::Malformed("host lock without a cycle"));
    }
    let beats = match (beats, cycle) {
        (None, _) => None,
        (Some(_), None) => return Err(StateError::Malformed("beat count without a cycle")),
        (Some(count), Some(cycle)) if u64::from(count) > cycle.length_samples => {
            return Err(StateError::Malformed("beat count"));
        }
        (Some(count), Some(cycle)) => Some(WholeBeats::new(cycle.length_samples, count, rate)),
    };

    // Each channel is decoded into a scratch buffer and paged on the thread that decoded it,
    // so the peak is one channel per thread above the pages.
    let jobs: Vec<(&[u8], usize)> = (parsed.iter())
        .flat_map(|track| track.channels.iter().map(|data| (&data[..], track.frames)))
        .collect();
    let results = parallel_map(&jobs, |&(data, frames)| {
        let mut samples = Vec::new();
        samples
            .try_reserve_exact(frames)
            .map_err(|_| StateError::OutOfMemory)?;
        samples.resize(frames, 0.0);
        match codec::decode(data, &mut samples) {
            Ok(used) if used == data.len() => {
                let silenced = silence_non_finite(&mut samples);
                let channel =
                    PagedChannel::try_from_samples(&samples).ok_or(StateError::OutOfMemory)?;
                Ok((channel, silenced))
            }
            Ok(_) => Err(StateError::Malformed("audio length")),
            Err(error) => Err(StateError::from(error)),
        }
    });
    let (mut channels, silenced): (Vec<PagedChannel>, Vec<u64>) = results
        .into_iter()
        .collect::<Result<Vec<(PagedChannel, u64)>, _>>()?
        .into_iter()
        .unzip();
    let mut silenced_per_channel = silenced.iter();
    let repaired: Vec<bool> = parsed
        .iter()
        .map(|track| {
            (silenced_per_channel.by_ref())
                .take(track.channels.len())
                .sum::<u64>()
                > 0
        })
        .collect();

    let mut channels = channels.drain(..);
    let tracks = parsed
        .iter()
        .map(|track| {
            let frames = track.frames;
            let audio = TrackAudio::from_channels(
                channels.by_ref().take(track.channels.len()).collect(),
                frames,
            )
            .ok_or(StateError::Malformed("channels"))?;
            Ok(ModelTrack {
                record: track.record,
                audio: Arc::new(audio),
            })
        })
        .collect::<Result<Vec<ModelTrack>, StateError>>()?;
    if let Some((container, cache)) = cache {
        let base = container.as_ptr() as usize;
        cache.tracks = tracks
            .iter()
            .zip(&parsed)
            .zip(&repaired)
            .filter(|(_, repaired)| !**repaired)
            .map(|((track, parsed), _)| CachedTrack {
                id: track.record.id,
                audio: Arc::downgrade(&track.audio),
                frames: saved_frames(track),
                channels: parsed
                    .channels
                    .iter()
                    .map(|data| {
                        // Every channel's bytes are a slice of the container.
                        let start = data.as_ptr() as usize - base;
                        EncodedChannel {
                            buffer: Arc::clone(container),
                            range: start..start + data.len(),
                        }
                    })
                    .collect(),
            })
            .collect();
    }
    Ok(Decoded {
        model: SessionModel {
            generation: 0,
            sample_rate_hz: rate,
            cycle,
            lock,
            beats,
            tracks,
            filling: Vec::new(),
            selected_id,
            clock: Clock::Frozen,
            one_shots: one_shots.unwrap_or_default(),
        },
        silenced_samples: silenced.iter().sum::<u64>() + silenced_in_one_shots,
    })
}

/// The `ONES` section: each pad's one-shot, decoded (and how many samples were not numbers and
/// became silence).
fn parse_one_shots(r: &mut Reader) -> Result<([Option<SavedOneShot>; PADS], u64), StateError> {
    let malformed = StateError::Malformed("one-shots");
    let count = r.u32()?;
    if count as usize > PADS {
        return Err(malformed);
    }
    let mut pads: [Option<SavedOneShot>; PADS] = Default::default();
    let mut silenced = 0;
    for _ in 0..count {
        let pad = usize::from(r.u8()?);
        let frames = r.u64()?;
        let channel_count = r.u8()?;
        if pad >= PADS
            || pads[pad].is_some()
            || frames == 0
            || frames > MAX_TRACK_FRAMES
            || !(1..=2).contains(&channel_count)
        {
            return Err(malformed);
        }
        let frames = frames as usize;
        let mut channels = Vec::with_capacity(2);
        for _ in 0..channel_count {
            let len = usize::try_from(r.u64()?).map_err(|_| StateError::Truncated)?;
            let data = r.bytes(len)?;
            // At least a header byte per group of samples: refused before allocating.
            if data.len().saturating_mul(codec::GROUP) < frames {
                return Err(malformed);
            }
            let mut samples = Vec::new();
            samples
                .try_reserve_exact(frames)
                .map_err(|_| StateError::OutOfMemory)?;
            samples.resize(frames, 0.0);
            if codec::decode(data, &mut samples)? != data.len() {
                return Err(StateError::Malformed("one-shot audio length"));
            }
            silenced += silence_non_finite(&mut samples);
            channels.push(PagedChannel::try_from_samples(&samples).ok_or(StateError::OutOfMemory)?);
        }
        let audio = TrackAudio::from_channels(channels, frames).ok_or(malformed.clone())?;
        pads[pad] = Some(SavedOneShot {
            audio: Arc::new(audio),
            length_frames: frames as u64,
        });
    }
    if !r.is_empty() {
        return Err(malformed);
    }
    Ok((pads, silenced))
}

/// Replaces the NaN and infinite samples of `samples` by silence; returns how many there were.
fn silence_non_finite(samples: &mut [f32]) -> u64 {
    // Counted first (a vectorized read: a real performance has none), replaced only if any.
    let count = samples.iter().filter(|s| !s.is_finite()).count();
    if count > 0 {
        for sample in samples.iter_mut().filter(|s| !s.is_finite()) {
            *sample = 0.0;
        }
    }
    count as u64
}

fn parse_track<'a>(r: &mut Reader<'a>, version: u32) -> Result<ParsedTrack<'a>, StateError> {
    let id = r.u64()?;
    let length = r.u64()?;
    let phase = r.u64()?;
    if length == 0 || length > MAX_TRACK_FRAMES || phase >= length {
        return Err(StateError::Malformed("track length"));
    }
    // Version 1 saved no content length: a track's content was its length.
    let content = if version >= 2 { r.u64()? } else { length };
    if content == 0 || content > MAX_TRACK_FRAMES {
        return Err(StateError::Malformed("track content length"));
    }
    let gain = finite(r.u32()?, "track gain")?;
    let pan = finite(r.u32()?, "track pan")?;
    let flags = r.u8()?;
    if flags > 0xF {
        return Err(StateError::Malformed("track flags"));
    }
    let fx = read_fx(r)?;
    let channel_count = r.u8()?;
    if !(1..=2).contains(&channel_count) {
        return Err(StateError::Malformed("channels"));
    }
    let mut channels = Vec::with_capacity(2);
    for _ in 0..channel_count {
        let len = usize::try_from(r.u64()?).map_err(|_| StateError::Truncated)?;
        channels.push(r.bytes(len)?);
    }
    if !r.is_empty() {
        return Err(StateError::Malformed("track section length"));
    }
    // The codec spends at least a header byte on each group of samples: audio data too short
    // for the track's length is refused here, before that length is allocated.
    let frames = length.max(content);
    if channels
        .iter()
        .any(|data| (data.len() as u64).saturating_mul(codec::GROUP as u64) < frames)
    {
        return Err(StateError::Malformed("track length"));
    }
    Ok(ParsedTrack {
        record: TrackRecord {
            id,
            length_samples: length,
            content_samples: content,
            origin_samples: (length - phase) % length,
            gain,
            pan,
            muted: flags & 1 != 0,
            soloed: flags & 2 != 0,
            reversed: flags & 4 != 0,
            speed: Speed::NORMAL,
            undone: flags & 8 != 0,
            fx,
            layers: 0,
        },
        frames: frames as usize,
        channels,
    })
}

/// The `LAYR` section: `(id, layers)` per track with overdub layers.
fn parse_layers(r: &mut Reader) -> Result<Vec<(u64, u32)>, StateError> {
    let count = r.u32()? as usize;
    // Each entry is 12 bytes: a count the section cannot hold is refused before it is allocated.
    if count.saturating_mul(12) != r.data.len() {
        return Err(StateError::Malformed("layer section length"));
    }
    (0..count).map(|_| Ok((r.u64()?, r.u32()?))).collect()
}

/// The `SPED` section: `(id, speed, phase in its period)` per track, each speed other than 1.
fn parse_speeds(r: &mut Reader) -> Result<Vec<(u64, Speed, u64)>, StateError> {
    let count = r.u32()? as usize;
    // Each entry is 17 bytes: a count the section cannot hold is refused before it is allocated.
    if count.saturating_mul(17) != r.data.len() {
        return Err(StateError::Malformed("speed section length"));
    }
    (0..count)
        .map(|_| {
            let id = r.u64()?;
            let speed = Speed::from_octaves(r.u8()? as i8)
                .filter(|&speed| speed != Speed::NORMAL)
                .ok_or(StateError::Malformed("track speed"))?;
            Ok((id, speed, r.u64()?))
        })
        .collect()
}

/// Effects: filter on u8 | mode u8 | cutoff f32 | q f32 | drive on u8 | amount f32 | delay on u8 |
/// delay frames f32 | feedback f32 | mix f32.
fn write_fx(out: &mut Vec<u8>, fx: &FxSettings) {
    out.push(u8::from(fx.filter_on));
    out.push(match fx.filter_mode {
        FilterMode::LowPass => 0,
        FilterMode::HighPass => 1,
    });
    put_u32(out, fx.cutoff_hz.to_bits());
    put_u32(out, fx.q.to_bits());
    out.push(u8::from(fx.drive_on));
    put_u32(out, fx.drive_amount.to_bits());
    out.push(u8::from(fx.delay_on));
    put_u32(out, fx.delay_frames.to_bits());
    put_u32(out, fx.delay_feedback.to_bits());
    put_u32(out, fx.delay_mix.to_bits());
}

fn read_fx(r: &mut Reader) -> Result<FxSettings, StateError> {
    let flag = |v: u8| match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(StateError::Malformed("effect switch")),
    };
    let filter_on = flag(r.u8()?)?;
    let filter_mode = match r.u8()? {
        0 => FilterMode::LowPass,
        1 => FilterMode::HighPass,
        _ => return Err(StateError::Malformed("filter mode")),
    };
    Ok(FxSettings {
        filter_on,
        filter_mode,
        cutoff_hz: finite(r.u32()?, "filter cutoff")?,
        q: finite(r.u32()?, "filter resonance")?,
        drive_on: flag(r.u8()?)?,
        drive_amount: finite(r.u32()?, "drive")?,
        delay_on: flag(r.u8()?)?,
        delay_frames: finite(r.u32()?, "delay time")?,
        delay_feedback: finite(r.u32()?, "delay feedback")?,
        delay_mix: finite(r.u32()?, "delay level")?,
    })
}

fn finite(bits: u32, what: &'static str) -> Result<f32, StateError> {
    let value = f32::from_bits(bits);
    if value.is_finite() {
        Ok(value)
    } else {
        Err(StateError::Malformed(what))
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_section(out: &mut Vec<u8>, tag: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(tag);
    put_u64(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// Bounds-checked little-endian reads.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn bytes(&mut self, len: usize) -> Result<&'a [u8], StateError> {
        if len > self.data.len() {
            return Err(StateError::Truncated);
        }
        let (head, tail) = self.data.split_at(len);
        self.data = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StateError> {
        let mut out = [0; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, StateError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, StateError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, StateError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}
