//! Hann-windowed real FFT of one frame: the magnitude spectrum.
//!
//! Everything is allocated in [`Stft::new`]; [`Stft::magnitudes`] allocates nothing.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{RealFftPlanner, RealToComplex};

/// One frame's FFT with its window and scratch buffers.
pub struct Stft {
    /// The planned forward real FFT of `window.len()` points.
    fft: Arc<dyn RealToComplex<f32>>,
    /// Periodic Hann window (length = frame length).
    window: Box<[f32]>,
    /// Windowed input frame.
    frame: Box<[f32]>,
    /// FFT output, `frame/2 + 1` bins.
    spectrum: Box<[Complex32]>,
    /// FFT scratch space.
    scratch: Box<[Complex32]>,
}

impl Stft {
    /// Plans a `frame_samples`-point FFT (allocates).
    pub fn new(frame_samples: usize) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(frame_samples);
        let window = (0..frame_samples)
            .map(|n| {
                let phase = std::f32::consts::TAU * n as f32 / frame_samples as f32;
                0.5 - 0.5 * phase.cos()
            })
            .collect();
        let spectrum = fft.make_output_vec().into_boxed_slice();
        let scratch = fft.make_scratch_vec().into_boxed_slice();
        Self {
            fft,
            window,
            frame: vec![0.0; frame_samples].into_boxed_slice(),
            spectrum,
            scratch,
        }
    }

    /// Frame length in samples.
    pub fn frame_samples(&self) -> usize {
        self.window.len()
    }

    /// Bins of the magnitude spectrum (`frame/2 + 1`).
    pub fn bins(&self) -> usize {
        self.spectrum.len()
    }

    /// Windows `input` (one frame, oldest sample first, `frame_samples` long, or in two parts
    /// `first` then `second` for a ring buffer) and writes the magnitude of the first
    /// `out.len()` bins to `out` (callers that need only the low bins skip the others).
    /// Allocation-free.
    pub fn magnitudes(&mut self, first: &[f32], second: &[f32], out: &mut [f32]) {
        debug_assert_eq!(first.len() + second.len(), self.frame.len());
        let (head, tail) = self.frame.split_at_mut(first.len());
        let (window_head, window_tail) = self.window.split_at(first.len());
        for ((out, x), w) in head.iter_mut().zip(first).zip(window_head) {
            *out = x * w;
        }
        for ((out, x), w) in tail.iter_mut().zip(second).zip(window_tail) {
            *out = x * w;
        }
        // The only error is a length mismatch, which the buffers' construction rules out.
        let _ =
            self.fft
                .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch);
        // `sqrt(re² + im²)` rather than `Complex::norm` (`hypot`, a libm call per bin that took a
        // fifth of the analysis); the spectrum's magnitudes are far from overflow.
        for (out, bin) in out.iter_mut().zip(self.spectrum.iter()) {
            *out = bin.norm_sqr().sqrt();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magnitudes_match_a_direct_dft() {
        let n = 256;
        let mut stft = Stft::new(n);
        let signal: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f32;
                (0.3 * t).sin() + 0.5 * (1.7 * t + 0.2).cos() + 0.01 * (i % 7) as f32
            })
            .collect();
        let mut fast = vec![0.0; stft.bins()];
        stft.magnitudes(&signal[..100], &signal[100..], &mut fast);
        for (k, fast) in fast.iter().enumerate() {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (i, x) in signal.iter().enumerate() {
                let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos();
                let phase = -std::f64::consts::TAU * (k * i) as f64 / n as f64;
                re += f64::from(*x) * w * phase.cos();
                im += f64::from(*x) * w * phase.sin();
            }
            let direct = (re * re + im * im).sqrt();
            assert!(
                (f64::from(*fast) - direct).abs() < 1e-3 * (1.0 + direct),
                "bin {k}: fft {fast} vs dft {direct}"
            );
        }
    }
}
