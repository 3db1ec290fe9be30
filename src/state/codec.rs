//! A fast lossless codec for float audio (one channel at a time), bit-exact for every `f32` bit
//! pattern (NaN payloads, denormals and -0.0 included) and independent of the FPU's flush-to-zero
//! mode: it never does float arithmetic, only integer operations on the sample bits.
//!
//! Samples go in groups of [`GROUP`]. Each group starts with one header byte, `mode << 6 | width`,
//! followed by the group's values bit-packed at `width` bits (LSB first, the group padded to a
//! whole byte), whichever mode is smallest:
//! - `INT`: every sample is an exact multiple of 2^-23 below 4.0 in magnitude (what a 16- or 24-bit
//!   interface delivers): the integers are predicted as `2 k[i-1] - k[i-2]` and the zigzagged
//!   residuals packed (FLAC's fixed second-order predictor; from zero after a group of another
//!   mode).
//! - `FLOAT`: the magnitude bits are predicted by the previous sample's; the zigzagged difference is
//!   packed with the sign bit below it.
//! - `RAW`: the 32-bit patterns as they are (noise costs one byte per 32 samples more than raw).
//!
//! Decoding checks every length and value and returns an error on anything malformed.

/// Samples per group (one header byte each).
pub const GROUP: usize = 32;

const RAW: u8 = 0;
const INT: u8 = 1;
const FLOAT: u8 = 2;

/// Largest integer magnitude the `INT` mode represents (|x| < 4.0 at 2^-23 steps).
const MAX_INT: i64 = 1 << 25;

/// Why a channel could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecError {
    /// The data ends before the samples do.
    Truncated,
    /// A group header or value is impossible.
    Malformed,
}

/// The exact integer `k` with `x = k * 2^-23`, if the sample (given as bits) is one below 4.0 in
/// magnitude; `-0.0`, denormals, NaN and infinities are not.
fn quantized(bits: u32) -> Option<i64> {
    let magnitude = bits & 0x7FFF_FFFF;
    if magnitude == 0 {
        return (bits == 0).then_some(0);
    }
    let exponent = magnitude >> 23;
    if exponent == 0 || exponent > 128 {
        return None;
    }
    let mantissa = i64::from((magnitude & 0x7F_FFFF) | 0x80_0000);
    let k = if exponent >= 127 {
        mantissa << (exponent - 127)
    } else {
        let shift = 127 - exponent;
        if shift >= 24 || mantissa & ((1 << shift) - 1) != 0 {
            return None;
        }
        mantissa >> shift
    };
    Some(if bits >> 31 == 1 { -k } else { k })
}

/// The bits of the sample `k * 2^-23` (the inverse of [`quantized`]).
fn from_quantized(k: i64) -> Result<u32, CodecError> {
    if k == 0 {
        return Ok(0);
    }
    let magnitude = k.unsigned_abs();
    if magnitude >= MAX_INT as u64 {
        return Err(CodecError::Malformed);
    }
    let top = 63 - magnitude.leading_zeros();
    let mantissa = if top <= 23 {
        magnitude << (23 - top)
    } else {
        magnitude >> (top - 23)
    } as u32
        & 0x7F_FFFF;
    let sign = u32::from(k < 0) << 31;
    Ok(sign | ((top + 104) << 23) | mantissa)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn width_of(max: u64) -> u32 {
    64 - max.leading_zeros()
}

/// What the predictors remember of the previous samples (shared by encoder and decoder).
#[derive(Clone, Copy, Default)]
struct Predictor {
    /// The integers of the previous two samples if the previous group was `INT`, else 0 (an
    /// `INT` group after another mode starts its prediction from zero).
    k1: i64,
    k2: i64,
    /// Magnitude bits of the previous sample.
    magnitude: u32,
}

/// Appends the encoding of `samples` to `out`.
pub fn encode(samples: &[f32], out: &mut Vec<u8>) {
    encode_runs([samples], samples.len(), out);
}

/// Appends the encoding of the concatenated `runs` (`total` samples in all) to `out`: the same
/// bytes as [`encode`] of the whole, as long as every run but the last holds whole groups (a
/// multiple of [`GROUP`] samples, as audio pages do), since the prediction carries across runs.
pub fn encode_runs<'a>(runs: impl IntoIterator<Item = &'a [f32]>, total: usize, out: &mut Vec<u8>) {
    out.reserve(total * 3 + total / GROUP + 8);
    let mut predictor = Predictor::default();
    let mut int_values = [0u64; GROUP];
    let mut float_values = [0u64; GROUP];
    for group in runs.into_iter().flat_map(|run| run.chunks(GROUP)) {
        let mut magnitude = predictor.magnitude;
        let mut float_max = 0u64;
        for (value, sample) in float_values.iter_mut().zip(group) {
            let bits = sample.to_bits();
            let delta = i64::from(bits & 0x7FFF_FFFF) - i64::from(magnitude);
            *value = zigzag(delta) << 1 | u64::from(bits >> 31);
            float_max |= *value;
            magnitude = bits & 0x7FFF_FFFF;
        }
        let (mut k1, mut k2) = (predictor.k1, predictor.k2);
        let mut int_max = 0u64;
        let mut all_quantized = true;
        for (value, sample) in int_values.iter_mut().zip(group) {
            let Some(k) = quantized(sample.to_bits()) else {
                all_quantized = false;
                break;
            };
            *value = zigzag(k - (2 * k1 - k2));
            int_max |= *value;
            (k2, k1) = (k1, k);
        }
        let int_width = if all_quantized {
            width_of(int_max)
        } else {
            u32::MAX
        };
        let float_width = width_of(float_max);
        let (mode, width, values) = if int_width <= float_width && int_width < 32 {
            (INT, int_width, &int_values)
        } else if float_width < 32 {
            (FLOAT, float_width, &float_values)
        } else {
            (RAW, 32, &float_values)
        };
        out.push(mode << 6 | width as u8);
        if mode == RAW {
            for sample in group {
                out.extend_from_slice(&sample.to_bits().to_le_bytes());
            }
        } else {
            pack(&values[..group.len()], width, out);
        }
        predictor = if mode == INT {
            Predictor { k1, k2, magnitude }
        } else {
            Predictor {
                magnitude,
                ..Predictor::default()
            }
        };
    }
}

fn pack(values: &[u64], width: u32, out: &mut Vec<u8>) {
    let (mut acc, mut bits) = (0u64, 0u32);
    for &value in values {
        acc |= value << bits;
        bits += width;
        if bits >= 32 {
            out.extend_from_slice(&(acc as u32).to_le_bytes());
            acc >>= 32;
            bits -= 32;
        }
    }
    while bits > 0 {
        out.push(acc as u8);
        acc >>= 8;
        bits = bits.saturating_sub(8);
    }
}

/// Decodes `out.len()` samples from the start of `data`; returns the bytes consumed.
pub fn decode(data: &[u8], out: &mut [f32]) -> Result<usize, CodecError> {
    let mut at = 0;
    let mut predictor = Predictor::default();
    for group in out.chunks_mut(GROUP) {
        let header = *data.get(at).ok_or(CodecError::Truncated)?;
        at += 1;
        let (mode, width) = (header >> 6, u32::from(header & 0x3F));
        if mode == RAW {
            let bytes = data
                .get(at..at + group.len() * 4)
                .ok_or(CodecError::Truncated)?;
            for (sample, word) in group.iter_mut().zip(bytes.chunks_exact(4)) {
                let bits = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                *sample = f32::from_bits(bits);
                predictor.magnitude = bits & 0x7FFF_FFFF;
            }
            at += bytes.len();
            (predictor.k1, predictor.k2) = (0, 0);
            continue;
        }
        if mode > FLOAT || width >= 32 {
            return Err(CodecError::Malformed);
        }
        let len = (group.len() * width as usize).div_ceil(8);
        let bytes = data.get(at..at + len).ok_or(CodecError::Truncated)?;
        at += len;
        let mask = (1u64 << width) - 1;
        // A zero-padded copy lets the unpacking read whole 32-bit words.
        let mut padded = [0u8; GROUP * 4 + 8];
        padded[..len].copy_from_slice(bytes);
        let (mut acc, mut bits, mut next) = (0u64, 0u32, 0usize);
        let mut unpack = || {
            if bits < width {
                let word = [
                    padded[next],
                    padded[next + 1],
                    padded[next + 2],
                    padded[next + 3],
                ];
                acc |= u64::from(u32::from_le_bytes(word)) << bits;
                next += 4;
                bits += 32;
            }
            let value = acc & mask;
            acc >>= width;
            bits -= width;
            value
        };
        if mode == INT {
            let (mut k1, mut k2) = (predictor.k1, predictor.k2);
            for sample in group.iter_mut() {
                let k = 2 * k1 - k2 + unzigzag(unpack());
                let sample_bits = from_quantized(k)?;
                *sample = f32::from_bits(sample_bits);
                (k2, k1) = (k1, k);
                predictor.magnitude = sample_bits & 0x7FFF_FFFF;
            }
            (predictor.k1, predictor.k2) = (k1, k2);
        } else {
            for sample in group.iter_mut() {
                let value = unpack();
                let magnitude = i64::from(predictor.magnitude) + unzigzag(value >> 1);
                if !(0..=0x7FFF_FFFF).contains(&magnitude) {
                    return Err(CodecError::Malformed);
                }
                *sample = f32::from_bits(magnitude as u32 | ((value & 1) as u32) << 31);
                predictor.magnitude = magnitude as u32;
            }
            (predictor.k1, predictor.k2) = (0, 0);
        }
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so the tests need no crate.
    pub(crate) struct Noise(u64);

    impl Noise {
        pub(crate) fn new(seed: u64) -> Self {
            Self(seed.max(1))
        }
        pub(crate) fn next_u32(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 16) as u32
        }
        pub(crate) fn next_f32(&mut self) -> f32 {
            self.next_u32() as f32 / u32::MAX as f32 * 2.0 - 1.0
        }
    }

    fn round_trip(samples: &[f32]) -> usize {
        let mut encoded = Vec::new();
        encode(samples, &mut encoded);
        let mut decoded = vec![0.0f32; samples.len()];
        assert_eq!(decode(&encoded, &mut decoded), Ok(encoded.len()));
        let bits = |s: &[f32]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&decoded), bits(samples));
        encoded.len()
    }

    #[test]
    fn quantized_values_round_trip_through_their_integers() {
        let mut noise = Noise::new(7);
        for _ in 0..200_000 {
            let bits = noise.next_u32();
            if let Some(k) = quantized(bits) {
                assert_eq!(from_quantized(k), Ok(bits));
            }
        }
        // Magnitudes up to 2^24 are exact; above, the 24-bit mantissa holds even values only.
        for k in [-(MAX_INT - 2), -1, 1, 8_388_608, 16_777_215, MAX_INT - 2] {
            assert_eq!(quantized(from_quantized(k).unwrap()), Some(k));
        }
        assert_eq!(quantized((-0.0f32).to_bits()), None);
    }

    #[test]
    fn bit_exact_on_silence_noise_denormals_and_odd_patterns() {
        assert_eq!(round_trip(&[]), 0);
        let silence = vec![0.0; 1000];
        assert!(round_trip(&silence) <= 1000 / GROUP + 1, "silence is ~free");
        let mut noise = Noise::new(3);
        let full_scale: Vec<f32> = (0..10_007).map(|_| noise.next_f32()).collect();
        let size = round_trip(&full_scale);
        assert!(size <= 10_007 * 4 + 10_007 / GROUP + 1, "noise never grows");
        let any_bits: Vec<f32> = (0..5_003)
            .map(|_| f32::from_bits(noise.next_u32()))
            .collect();
        round_trip(&any_bits);
        let denormals: Vec<f32> = (0..999)
            .map(|i| f32::from_bits(i * 7919 % 0x7F_FFFF) * if i % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        round_trip(&denormals);
        round_trip(&[
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN,
            f32::MAX,
        ]);
    }

    #[test]
    fn audio_compresses() {
        let sine: Vec<f32> = (0..48_000)
            .map(|t| 0.5 * (t as f32 * 0.0577).sin())
            .collect();
        let float_size = round_trip(&sine);
        let pcm24: Vec<f32> = sine
            .iter()
            .map(|s| (s * 8_388_608.0).round() / 8_388_608.0)
            .collect();
        let int_size = round_trip(&pcm24);
        assert!(
            float_size < sine.len() * 4 * 85 / 100,
            "float sine {float_size}"
        );
        assert!(int_size < sine.len() * 4 / 2, "24-bit sine {int_size}");
    }

    #[test]
    fn truncated_or_malformed_data_is_refused() {
        let mut noise = Noise::new(11);
        let samples: Vec<f32> = (0..777).map(|_| noise.next_f32() * 0.1).collect();
        let mut encoded = Vec::new();
        encode(&samples, &mut encoded);
        let mut out = vec![0.0; samples.len()];
        for cut in [0, 1, encoded.len() / 2, encoded.len() - 1] {
            assert_eq!(
                decode(&encoded[..cut], &mut out),
                Err(CodecError::Truncated)
            );
        }
        let mut bad = encoded.clone();
        bad[0] = 3 << 6;
        assert_eq!(decode(&bad, &mut out), Err(CodecError::Malformed));
        for i in 0..encoded.len() {
            let mut flipped = encoded.clone();
            flipped[i] ^= 0x5A;
            let _ = decode(&flipped, &mut out);
        }
    }

    #[test]
    fn a_paged_channel_coded_page_by_page_is_the_channel_coded_whole() {
        use crate::engine::pages::{PAGE_FRAMES, PagedChannel};
        let mut noise = Noise::new(7);
        // Quantized stretches (INT groups) and float noise, across page boundaries, with a
        // partial last page.
        let samples: Vec<f32> = (0..3 * PAGE_FRAMES + 1000)
            .map(|i| {
                if (i / 3000) % 2 == 0 {
                    (noise.next_u32() >> 8) as f32 / 8_388_608.0 - 1.0
                } else {
                    noise.next_f32()
                }
            })
            .collect();
        let channel = PagedChannel::try_from_samples(&samples).unwrap();
        let (mut whole, mut paged) = (Vec::new(), Vec::new());
        encode(&samples, &mut whole);
        encode_runs(channel.runs(samples.len()), samples.len(), &mut paged);
        assert_eq!(paged, whole);
        assert_eq!(channel.runs(samples.len()).count(), 4);
    }
}
