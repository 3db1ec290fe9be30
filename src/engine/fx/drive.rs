//! Saturation: a soft clipper (a rational tanh approximation, cheap enough for every sample of
//! every track) normalized so full scale stays full scale.

/// Smallest and largest drive amounts.
pub const DRIVE_RANGE: (f32, f32) = (1.0, 20.0);

/// tanh approximated by a Padé form, exact at 0 and saturating at +-1 from |x| = 3.
#[inline]
fn soft_clip(x: f32) -> f32 {
    let x = x.clamp(-3.0, 3.0);
    let x2 = x * x;
    x * (27.0 + x2) / (27.0 + 9.0 * x2)
}

/// The output gain that keeps full scale at full scale for `drive`.
#[inline]
pub fn makeup(drive: f32) -> f32 {
    1.0 / soft_clip(drive.clamp(DRIVE_RANGE.0, DRIVE_RANGE.1))
}

/// Saturates `x` with `drive` (1 = gentle ..= 20 = heavy) and its `makeup` gain.
#[inline]
pub fn saturate(x: f32, drive: f32, makeup: f32) -> f32 {
    soft_clip(x * drive) * makeup
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_peaks_and_keeps_full_scale() {
        let m = makeup(8.0);
        assert!((saturate(1.0, 8.0, m) - 1.0).abs() < 1e-6);
        assert!(saturate(0.25, 8.0, m) > 0.9, "quiet parts are pushed up");
        assert!(saturate(-0.25, 8.0, m) < -0.9, "symmetric");
        assert!(
            saturate(3.0, 8.0, m) <= 1.0 + 1e-6,
            "never above full scale beyond it"
        );
        assert!((saturate(0.01, 1.0, makeup(1.0)) - 0.01 * makeup(1.0)).abs() < 1e-4);
    }
}
