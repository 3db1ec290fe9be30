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

    fn slot(&self, frame: u64) -> usize {
        (frame % self.history.len() as u64) as usize
    }

    fn value(&self, frame: u64) -> f32 {
        self.history[self.slot(frame)]
    }

    /// The mean of the window of `pre_avg` frames ending at `last`, counting frames before the
    /// stream's start and from `known_until` on as zero (the envelope is never negative: for
    /// frames yet to come, this is a lower bound).
    fn window_mean(&self, last: u64, known_until: u64) -> f32 {
        let first = (last + 1).saturating_sub(self.pre_avg as u64);
        let sum: f32 = (first..=last)
            .filter(|&frame| frame < known_until)
            .map(|frame| self.value(frame))
            .sum();
        sum / self.pre_avg as f32
    }

    /// Whether `candidate` passes the picking rules on the frames up to `newest`: for the frame
    /// the look-ahead back this decides it; a later one may still fail on frames to come.
    fn may_be_onset(&self, candidate: u64, newest: u64) -> bool {
        let strength = self.value(candidate);
        // Frames before the signal started count as zero.
        let lo_max = candidate.saturating_sub(self.pre_max as u64);
        // Ties go to the earliest frame of a plateau.
        let beaten = (lo_max..=newest).any(|frame| {
            let v = self.value(frame);
            v > strength || (v == strength && frame < candidate)
        });
        let too_close = self
            .last_onset
            .is_some_and(|last| candidate - last < self.combine);
        !beaten && !too_close && strength >= self.window_mean(candidate, self.frames) + THRESHOLD
    }

    /// Where the envelope rose through `RISE_FRACTION` of `strength` going back from `candidate`
    /// (within the look-back), interpolated between the frames either side of it.
    fn rise_frame(&self, candidate: u64, strength: f32) -> f64 {
        let lo_max = candidate.saturating_sub(self.pre_max as u64);
        let level = RISE_FRACTION * strength;
        let mut rise = candidate;
        while rise > lo_max && self.value(rise - 1) >= level {
            rise -= 1;
        }
        match rise.checked_sub(1) {
            Some(before) if rise > lo_max || self.value(before) < level => {
                let (a, b) = (self.value(before), self.value(rise));
                before as f64 + f64::from(((level - a) / (b - a)).clamp(0.0, 1.0))
            }
            _ => rise as f64,
        }
    }

    /// Every onset still to be decided has its rise frame at or after this (fractional) frame:
    /// the onsets before it are final. Usually the newest frame (the envelope is low: a coming
    /// peak's rise can only start after it); while it is high, as far back as an undecided
    /// peak's rise could reach (at most `latency_frames`). Allocation-free.
    pub fn final_before_frame(&self) -> f64 {
        let known = self.frames;
        let mut earliest = known as f64 - 1.0;
        // A peak still to come, at frame `peak`, is at least `THRESHOLD` above its window's mean
        // (which is at least the mean with the frames to come as zero) and above the frames
        // seen within its look-back; its rise crosses `RISE_FRACTION` of that. A peak more than
        // the look-back ahead rises after the newest frame.
        for peak in known..=known + self.pre_max as u64 {
            let lo_max = peak.saturating_sub(self.pre_max as u64);
            let seen_max = (lo_max..known).map(|f| self.value(f)).fold(0.0, f32::max);
            let lowest_peak = (self.window_mean(peak, known) + THRESHOLD).max(seen_max);
            let level = RISE_FRACTION * lowest_peak;
            let mut rise = known;
            while rise > lo_max && self.value(rise - 1) >= level {
                rise -= 1;
            }
            // The interpolation puts a rise at `rise` up to a frame earlier.
            earliest = earliest.min(rise as f64 - 1.0);
        }
        // Frames within the look-ahead are still undecided: those that can still pass the
        // tests decided so far (the maximum over the frames seen, the threshold, the spacing
        // from the last onset, which later onsets only widen) have their rise where it will be.
        let first_undecided = known.saturating_sub(self.post_max as u64);
        for candidate in first_undecided..known {
            if self.may_be_onset(candidate, known - 1) {
                earliest = earliest.min(self.rise_frame(candidate, self.value(candidate)));
            }
        }
        earliest
    }

    /// Takes the next envelope value; returns the onset decided by it, if any (the frame
    /// `POST_MAX_SECS` back). Allocation-free.
    pub fn push(&mut self, value: f32) -> Option<PickedOnset> {
        let newest = self.frames;
        let slot = self.slot(newest);
        self.history[slot] = value;
        self.frames += 1;
        let candidate = newest.checked_sub(self.post_max as u64)?;
        if !self.may_be_onset(candidate, newest) {
            return None;
        }
        self.last_onset = Some(candidate);
        let strength = self.value(candidate);
        Some(PickedOnset {
            frame: candidate,
            rise_frame: self.rise_frame(candidate, strength),
            strength,
        })
    }
}
