//! Causal onset picking on the envelopes (the SuperFlux rules): a frame is an onset when its
//! detection envelope is the maximum of its neighbourhood (`PRE_MAX_SECS` back,
//! `POST_MAX_SECS` ahead), exceeds `MEAN_FACTOR` times the mean of the last `PRE_AVG_SECS` by
//! `THRESHOLD`, and comes at least `COMBINE_SECS` after the previous onset. A frame is decided
//! once the frames `POST_MAX_SECS` ahead of it have arrived: that look-ahead is the picking
//! latency. The onset is timed on the timing envelope (see [`super::envelope::Flux`]).

/// Look-back of the local-maximum test, in seconds.
pub const PRE_MAX_SECS: f64 = 0.03;
/// Look-ahead of the local-maximum test, in seconds (the picking latency).
pub const POST_MAX_SECS: f64 = 0.012;
/// Window of the moving mean the threshold sits on, in seconds.
pub const PRE_AVG_SECS: f64 = 0.08;
/// The threshold sits this many times the moving mean above it: in dense or noisy passages,
/// where the mean is high, an onset must stand out in proportion.
pub const MEAN_FACTOR: f32 = 1.25;
/// Detection envelope height above `MEAN_FACTOR` times the moving mean an onset needs (log10
/// units summed over bands).
pub const THRESHOLD: f32 = 2.5;
/// Timing envelope height above its moving mean an onset needs to be timed on it (log10 units
/// summed over bands; the height the timing envelope alone used to need to be an onset).
pub const TIMING_THRESHOLD: f32 = 1.1;
/// Shortest time between two onsets, in seconds.
pub const COMBINE_SECS: f64 = 0.03;
/// The onset's time is where the timing envelope rose through this fraction of its peak: the rise
/// follows the attack entering the frame far more steadily than the peak, whose place depends on
/// how the sound decays.
pub const RISE_FRACTION: f32 = 0.5;

/// An onset the picker found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PickedOnset {
    /// Frame index of the detection envelope's peak.
    pub frame: u64,
    /// Where the timing envelope rose through `RISE_FRACTION` of its peak, in (fractional)
    /// frames.
    pub rise_frame: f64,
    /// The timing envelope's peak (the onset's strength).
    pub strength: f32,
}

/// The causal picker. Allocation-free after [`OnsetPicker::new`].
pub struct OnsetPicker {
    /// Recent detection envelope values (ring of `history.len()`).
    history: Box<[f32]>,
    /// Recent timing envelope values (ring of `history.len()`, like `history`).
    timing: Box<[f32]>,
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
    /// The first frame that can be an onset: the frames before it were computed over windows
    /// reaching before the stream's start, whose silence was never played (the input's first
    /// sound filling them is not an attack).
    first_frame: u64,
}

impl OnsetPicker {
    /// A picker for envelope frames at `frame_rate_hz`, whose frames from `first_frame` on can
    /// be onsets (allocates).
    pub fn new(frame_rate_hz: f64, first_frame: u64) -> Self {
        let frames = |secs: f64| (secs * frame_rate_hz).round() as usize;
        let pre_max = frames(PRE_MAX_SECS);
        let post_max = frames(POST_MAX_SECS);
        let pre_avg = frames(PRE_AVG_SECS).max(1);
        let len = pre_max.max(pre_avg) + post_max + 1;
        Self {
            history: vec![0.0; len].into_boxed_slice(),
            timing: vec![0.0; len].into_boxed_slice(),
            pre_max,
            post_max,
            pre_avg,
            combine: frames(COMBINE_SECS) as u64,
            frames: 0,
            last_onset: None,
            first_frame,
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
    fn window_mean(&self, values: &[f32], last: u64, known_until: u64) -> f32 {
        let first = (last + 1).saturating_sub(self.pre_avg as u64);
        let sum: f32 = (first..=last)
            .filter(|&frame| frame < known_until)
            .map(|frame| values[self.slot(frame)])
            .sum();
        sum / self.pre_avg as f32
    }

    /// The height the detection envelope needs at frame `peak` to be an onset, with the frames
    /// from `known_until` on counted as zero (see [`window_mean`](Self::window_mean)).
    fn threshold(&self, peak: u64, known_until: u64) -> f32 {
        MEAN_FACTOR * self.window_mean(&self.history, peak, known_until) + THRESHOLD
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
        candidate >= self.first_frame
            && !beaten
            && !too_close
            && strength >= self.threshold(candidate, self.frames)
    }

    /// Where the detection envelope rose through `RISE_FRACTION` of `strength` going back from
    /// `candidate` (within the look-back).
    fn rise_frame(&self, candidate: u64, strength: f32) -> f64 {
        self.rise_through(&self.history, candidate, RISE_FRACTION * strength)
    }

    /// Where `values` (a ring like `history`) rose through `level` going back from `peak`
    /// (within the look-back), interpolated between the frames either side of it.
    fn rise_through(&self, values: &[f32], peak: u64, level: f32) -> f64 {
        let value = |frame: u64| values[self.slot(frame)];
        let lo_max = peak.saturating_sub(self.pre_max as u64);
        let mut rise = peak;
        while rise > lo_max && value(rise - 1) >= level {
            rise -= 1;
        }
        match rise.checked_sub(1) {
            Some(before) if rise > lo_max || value(before) < level => {
                let (a, b) = (value(before), value(rise));
                before as f64 + f64::from(((level - a) / (b - a)).clamp(0.0, 1.0))
            }
            _ => rise as f64,
        }
    }

    /// The onset whose detection envelope peaks at `candidate`, at `height`. Its strength
    /// is the timing envelope's peak (the highest value from the detection envelope's rise to
    /// the newest frame). Its time is where the timing envelope rose to that peak, if the peak
    /// stands `TIMING_THRESHOLD` above the timing envelope's mean; a softer onset is lost in the
    /// timing envelope's noise and is timed on the detection envelope's rise instead (up to 6 ms
    /// later than a loud attack, see the analysis tests). Never before the detection envelope's
    /// rise (on which [`final_before_frame`](Self::final_before_frame) rests).
    fn onset(&self, candidate: u64, height: f32) -> PickedOnset {
        let detected = self.rise_frame(candidate, height);
        let timing = |frame: u64| self.timing[self.slot(frame)];
        // Ties go to the earliest frame.
        let peak = (detected.floor() as u64..self.frames)
            .rev()
            .max_by(|&a, &b| timing(a).total_cmp(&timing(b)))
            .unwrap_or(candidate);
        let clear = timing(peak)
            >= self.window_mean(&self.timing, candidate, self.frames) + TIMING_THRESHOLD;
        let rise_frame = if clear {
            self.rise_through(&self.timing, peak, RISE_FRACTION * timing(peak))
                .max(detected)
        } else {
            detected
        };
        PickedOnset {
            frame: candidate,
            rise_frame,
            strength: timing(peak),
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
            let lowest_peak = self.threshold(peak, known).max(seen_max);
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

    /// Takes the next frame's detection and timing envelope values; returns the onset decided
    /// by them, if any (the frame `POST_MAX_SECS` back). Allocation-free.
    pub fn push(&mut self, detection: f32, timing: f32) -> Option<PickedOnset> {
        let newest = self.frames;
        let slot = self.slot(newest);
        self.history[slot] = detection;
        self.timing[slot] = timing;
        self.frames += 1;
        let candidate = newest.checked_sub(self.post_max as u64)?;
        if !self.may_be_onset(candidate, newest) {
            return None;
        }
        self.last_onset = Some(candidate);
        Some(self.onset(candidate, self.value(candidate)))
    }
}
