//! Sample-rate conversion for imported files (off the audio thread).

/// Zero crossings of the sinc kernel on each side of the interpolated point.
const SINC_ZEROS: usize = 24;

/// Resamples `x` from `from_hz` to `to_hz` (same rates: returned as is) by windowed-sinc
/// interpolation: a Blackman-windowed sinc with 24 zero crossings per side, its cutoff at the
/// lower of the two Nyquist frequencies (times 0.95, so the transition band sits below it),
/// evaluated exactly at each output time (no polyphase table). Output length: `round(len x to /
/// from)`. Off the audio thread only (it is O(len x 48 x max(1, from/to))).
pub fn resample(x: &[f32], from_hz: f64, to_hz: f64) -> Vec<f32> {
    if from_hz == to_hz || x.is_empty() {
        return x.to_vec();
    }
    let ratio = to_hz / from_hz;
    let out_len = ((x.len() as f64) * ratio).round().max(1.0) as usize;
    // Cutoff relative to the input's Nyquist frequency.
    let cutoff = ratio.min(1.0) * 0.95;
    let half_width = SINC_ZEROS as f64 / cutoff;
    (0..out_len)
        .map(|n| {
            let t = n as f64 / ratio;
            let first = (t - half_width).ceil().max(0.0) as usize;
            let last = ((t + half_width).floor() as usize).min(x.len() - 1);
            let mut acc = 0.0f64;
            for (k, &sample) in x.iter().enumerate().take(last + 1).skip(first) {
                let d = k as f64 - t;
                let arg = std::f64::consts::PI * d * cutoff;
                let sinc = if arg.abs() < 1e-12 {
                    1.0
                } else {
                    arg.sin() / arg
                };
                // Blackman window over [-half_width, half_width].
                let p = (d / half_width + 1.0) * std::f64::consts::PI;
                let window = 0.42 - 0.5 * p.cos() + 0.08 * (2.0 * p).cos();
                acc += f64::from(sample) * sinc * cutoff * window;
            }
            acc as f32
        })
        .collect()
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
        for (from, to) in [
            (44_100.0, 48_000.0),
            (96_000.0, 48_000.0),
            (48_000.0, 44_100.0),
        ] {
            let input = sine(1_000.0, from, from as usize);
            let out = resample(&input, from, to);
            assert_eq!(out.len(), to as usize);
            let expected = sine(1_000.0, to, to as usize);
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
        let out = resample(&sine(30_000.0, 96_000.0, 96_000), 96_000.0, 48_000.0);
        let peak = out[200..out.len() - 200]
            .iter()
            .fold(0.0f32, |p, s| p.max(s.abs()));
        assert!(peak < 0.01, "alias at {peak}");
    }
}
