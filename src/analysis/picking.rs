//! Causal onset picking on the envelope (the SuperFlux rules): a frame is an onset when it is
//! the maximum of its neighbourhood (`PRE_MAX_SECS` back, `POST_MAX_SECS` ahead), exceeds the
//! mean of the last `PRE_AVG_SECS` by `THRESHOLD`, and comes at least `COMBINE_SECS` after the
//! previous onset. A frame is decided once the frames `POST_MAX_SECS` ahead of it have arrived:
//! that look-ahead is the picking latency.

/// Look-back of the local-maximum test, in seconds.
pub const PRE_MAX_SECS: f64 = 0.03;
/// Look-ahead of the local-maximum test, in seconds (the picking latency).
pub const POST_MAX_SECS: f64 = 0.012;
/// Window of the moving mean the threshold sits on, in seconds.
pub const PRE_AVG_SECS: f64 = 0.15;
/// Envelope height above the moving mean an onset needs (log10 units summed over bands).
pub const THRESHOLD: f32 = 1.1;
/// Shortest time between two onsets, in seconds.
pub const COMBINE_SECS: f64 = 0.03;
/// The onset's time is where the envelope rose through this fraction of the peak: the rise
/// follows the attack entering the frame far more steadily than the peak, whose place depends on
/// how the sound decays.
pub const RISE_FRACTION: f32 = 0.5;

/// An onset the picker found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PickedOnset {
    /// Envelope frame index of the peak.
    pub frame: u64,
    /// Where the envelope rose through `RISE_FRACTION` of the peak, in (fractional) frames.
    pub rise_frame: f64,
    /// Envelope value at the peak (its strength).
    pub strength: f32,
}

/// The causal picker. Allocation-free after [`OnsetPicker::new`].
pub struct OnsetPicker {
    /// Recent envelope values (ring of `history.len()`).
    history: Box<[f32]>,
    /// Frames looked back for the maximum.
    pre_max: usize,
    /// Frames looked ahead for the maximum.
    post_max: usize,
    /// Frames of the moving mean.
    pre_avg: usize,
    /// Minimum frames between onsets.
    combine: u64,
    /// Frames received.
    frames: u64,
    /// Frame of the last onset.
    last_onset: Option<u64>,
}

impl OnsetPicker {
    /// A picker for envelope frames at `frame_rate_hz` (allocates).
    pub fn new(frame_rate_hz: f64) -> Self {
        let frames = |secs: f64| (secs * frame_rate_hz).round() as usize;
        let pre_max = frames(PRE_MAX_SECS);
        let post_max = frames(POST_MAX_SECS);
        let pre_avg = frames(PRE_AVG_SECS).max(1);
        let len = pre_max.max(pre_avg) + post_max + 1;
        Self {
            history: vec![0.0; len].into_boxed_slice(),
            pre_max,
            post_max,
            pre_avg,
            combine: frames(COMBINE_SECS) as u64,
            frames: 0,
            last_onset: None,
        }
    }

    /// Frames from an onset's rise frame to the frame that decides it, at most: the rise is up
    /// to the look-back before the peak, and the peak is decided after the look-ahead.
    pub fn latency_frames(&self) -> usize {
        self.pre_max + self.post_max
    }

    fn value(&self, frame: u64) -> f32 {
        self.history[(frame % self.history.len() as u64) as usize]
    }

    /// Takes the next envelope value; returns the onset decided by it, if any (the frame
    /// `POST_MAX_SECS` back). Allocation-free.
    pub fn push(&mut self, value: f32) -> Option<PickedOnset> {
        let len = self.history.len() as u64;
        self.history[(self.frames % len) as usize] = value;
        self.frames += 1;
        let newest = self.frames - 1;
        let candidate = newest.checked_sub(self.post_max as u64)?;
        let strength = self.value(candidate);
        // Frames before the signal started count as zero.
        let lo_max = candidate.saturating_sub(self.pre_max as u64);
        for frame in lo_max..=newest {
            let v = self.value(frame);
            // Ties go to the earliest frame of a plateau.
            if v > strength || (v == strength && frame < candidate) {
                return None;
            }
        }
        let lo_avg = candidate.saturating_sub(self.pre_avg as u64 - 1);
        let sum: f32 = (lo_avg..=candidate).map(|f| self.value(f)).sum();
        let mean = sum / self.pre_avg as f32;
        if strength < mean + THRESHOLD {
            return None;
        }
        if self
            .last_onset
            .is_some_and(|last| candidate - last < self.combine)
        {
            return None;
        }
        self.last_onset = Some(candidate);
        // Walk back to the rise through the threshold (within the look-back), interpolated
        // between the frames either side of it.
        let level = RISE_FRACTION * strength;
        let mut rise = candidate;
        while rise > lo_max && self.value(rise - 1) >= level {
            rise -= 1;
        }
        let rise_frame = match rise.checked_sub(1) {
            Some(before) if rise > lo_max || self.value(before) < level => {
                let (a, b) = (self.value(before), self.value(rise));
                before as f64 + f64::from(((level - a) / (b - a)).clamp(0.0, 1.0))
            }
            _ => rise as f64,
        };
        Some(PickedOnset {
            frame: candidate,
            rise_frame,
            strength,
        })
    }
}
