//! Deterministic test signals whose samples are all distinct enough that a shifted, dropped or
//! repeated sample shows up in a sample-by-sample comparison.

use std::f64::consts::TAU;

use super::clap_host::Stereo;

/// Peak level of the pseudo-noise added to the tones.
const NOISE_LEVEL: f64 = 0.02;

/// A stereo test signal of `len` samples at `sample_rate`: on the left a 0.25-amplitude tone
/// gliding up from 220 Hz by 25 Hz per second, on the right a 0.2-amplitude tone from 330 Hz up
/// by 40 Hz per second, each plus its own small deterministic pseudo-noise.
///
/// The glide keeps the signal from being periodic: for any loop length, the audio just before a
/// take's end and just before its start differ clearly, so a seam crossfade with wrong weights
/// or a wrong position shows up.
pub fn gliding_tones(sample_rate: f64, len: usize) -> Stereo {
    let channel = |start_hz: f64, glide_hz_per_sec: f64, amplitude: f64, seed: u64| {
        (0..len as u64)
            .map(|t| {
                let secs = t as f64 / sample_rate;
                let phase = TAU * secs * (start_hz + glide_hz_per_sec * secs / 2.0);
                (amplitude * phase.sin() + NOISE_LEVEL * noise(seed, t)) as f32
            })
            .collect()
    };
    Stereo {
        channels: [channel(220.0, 25.0, 0.25, 1), channel(330.0, 40.0, 0.2, 2)],
    }
}

/// Uniform pseudo-noise in -1 ..= 1 for sample `t` of the stream `seed` (SplitMix64 of both).
fn noise(seed: u64, t: u64) -> f64 {
    let mut z = (seed << 40 ^ t).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// RMS level of `samples` in dB relative to full scale (-inf for silence).
pub fn level_db(samples: &[f32]) -> f32 {
    let mean_square = samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32;
    10.0 * mean_square.log10()
}
