//! Sample-rate conversion for imported files (off the audio thread).

use crate::engine::varispeed::windowed_sinc;

/// Zero crossings of the sinc kernel on each side of the interpolated point.
const SINC_ZEROS: f64 = 24.0;
/// Most distinct kernel phases tabulated (rate pairs needing more are not taken).
const MAX_PHASES: u64 = 1 << 16;

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Resamples `x` from `from_hz` to `to_hz` (equal rates: returned as is) by windowed-sinc
/// interpolation: a Blackman-windowed sinc with 24 zero crossings per side, its cutoff at 0.95
/// of the lower of the two Nyquist frequencies (so the transition band sits below it, and
/// downsampling removes what the new rate cannot hold). Polyphase: with `to / from = up / down`
/// in lowest terms there are `up` distinct output phases, whose kernels are tabulated once, so
/// each output sample is one dot product (about 50 taps up, 100 for 2:1 down). Output length:
/// `round(len x to / from)`. `None` for a rate pair needing more than 65 536 phases (no real
/// pair does: 44.1 -> 48 kHz needs 160). Not realtime-safe.
pub fn resample(x: &[f32], from_hz: u32, to_hz: u32) -> Option<Vec<f32>> {
    if from_hz == to_hz || x.is_empty() {
        return Some(x.to_vec());
    }
    let g = gcd(u64::from(from_hz), u64::from(to_hz));
    let (up, down) = (u64::from(to_hz) / g, u64::from(from_hz) / g);
    if up > MAX_PHASES {
        return None;
    }
    let cutoff = (up as f64 / down as f64).min(1.0) * 0.95;
    let half_width = SINC_ZEROS / cutoff;
    // Taps k = base - reach + 1 ..= base + reach cover every non-zero kernel value.
    let reach = half_width.ceil() as usize;
    let taps = 2 * reach;
    let table: Vec<f32> = (0..up)
        .flat_map(|phase| {
            let frac = phase as f64 / up as f64;
            (0..taps).map(move |j| {
                windowed_sinc(j as f64 - (reach - 1) as f64 - frac, cutoff, half_width) as f32
            })
        })
        .collect();
    let out_len = ((x.len() as u64 * up) as f64 / down as f64)
        .round()
        .max(1.0) as usize;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len as u64 {
        let position = n * down;
        let (base, phase) = ((position / up) as usize, (position % up) as usize);
        let weights = &table[phase * taps..(phase + 1) * taps];
        // The first input sample under the kernel, and how much of the kernel is before it.
        let first = (base + 1).saturating_sub(reach);
        let skip = first + reach - (base + 1);
        let end = (base + reach + 1).min(x.len());
        let acc: f32 = if first < end {
            x[first..end]
                .iter()
                .zip(&weights[skip..])
                .map(|(s, w)| s * w)
                .sum()
        } else {
            0.0
        };
        out.push(acc);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq_hz: f64, rate_hz: f64, len: usize) -> Vec<f32> {
        (0..len)
            .map(|t| (0.5 * (std::f64::consts::TAU * freq_hz * t as f64 / rate_hz).sin()) as f32)
            .collect()
    }

    #[test]
    fn a_sine_keeps_its_pitch_and_level_within_a_thousandth() {
        for (from, to) in [(44_100u32, 48_000u32), (96_000, 48_000), (48_000, 44_100)] {
            let input = sine(1_000.0, f64::from(from), from as usize);
            let out = resample(&input, from, to).unwrap();
            assert_eq!(out.len(), to as usize);
            let expected = sine(1_000.0, f64::from(to), to as usize);
            // Away from the edges (where the kernel runs out of input).
            let worst = out[200..out.len() - 200]
                .iter()
                .zip(&expected[200..])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-3, "{from} -> {to}: error {worst}");
        }
    }

    #[test]
    fn downsampling_removes_what_the_new_rate_cannot_hold() {
        // 30 kHz at 96 kHz is above 24 kHz, the Nyquist frequency of 48 kHz: it must go.
        let out = resample(&sine(30_000.0, 96_000.0, 96_000), 96_000, 48_000).unwrap();
        let peak = out[200..out.len() - 200]
            .iter()
            .fold(0.0f32, |p, s| p.max(s.abs()));
        assert!(peak < 0.01, "alias at {peak}");
    }
}
