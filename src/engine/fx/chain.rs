//! The effect chain of a track (and of the master loop bus): filter, then drive, then delay.
//! Each effect has a wet ramp for on/off and ramped parameters, so switching or changing never
//! clicks. The chain's delay memory belongs to its owner and is passed in.

use super::delay::DelayState;
use super::drive::{DRIVE_RANGE, makeup, saturate};
use super::filter::{FilterMode, Svf, SvfCoefficients};
use crate::engine::ramp::Ramp;

/// A change to an effect chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FxControl {
    /// Filter on or off.
    SetFilter(bool),
    /// Filter mode, cutoff in Hz (10..=20 000) and Q (0.5..=10).
    FilterSettings {
        mode: FilterMode,
        cutoff_hz: f32,
        q: f32,
    },
    /// Drive on or off.
    SetDrive(bool),
    /// Drive amount (1..=20).
    DriveAmount(f32),
    /// Delay on or off.
    SetDelay(bool),
    /// Delay on if off, off if on.
    ToggleDelay,
    /// Delay time in seconds (up to 2), feedback (0..=0.95) and echo level (0..=1).
    DelaySettings {
        time_secs: f32,
        feedback: f32,
        mix: f32,
    },
    /// Delay time as a note value in beats (e.g. 0.75 = dotted eighth in 4/4), feedback and
    /// echo level. The engine turns beats into seconds at the current tempo (host, else the
    /// anchor cycle); without a tempo it refuses.
    DelayBeats { beats: f32, feedback: f32, mix: f32 },
    /// Reverse playback on or off (tracks only).
    SetReverse(bool),
    /// Every effect off, settings back to defaults.
    Reset,
}

/// Filter settings and state.
#[derive(Debug, Clone, Copy, PartialEq)]
struct FilterStage {
    /// 0 = bypassed, 1 = fully filtered.
    wet: Ramp,
    mode: FilterMode,
    /// Cutoff in Hz, ramped.
    cutoff_hz: Ramp,
    /// Resonance (Q).
    q: f32,
    /// Per-channel state.
    state: [Svf; 2],
}

/// Drive settings.
#[derive(Debug, Clone, Copy, PartialEq)]
struct DriveStage {
    /// 0 = clean, 1 = fully driven.
    wet: Ramp,
    /// Drive amount, ramped.
    amount: Ramp,
}

/// Delay settings and state.
#[derive(Debug, Clone, Copy, PartialEq)]
struct DelayStage {
    /// 0 = no echoes, 1 = echoes at `mix`.
    wet: Ramp,
    /// Delay time in frames, ramped.
    time_frames: Ramp,
    /// Feedback (0..=0.95).
    feedback: f32,
    /// Echo level (0..=1).
    mix: f32,
    /// Position in the delay memory.
    state: DelayState,
}

/// An effect chain's settings (the targets of its ramps), what a saved performance keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FxSettings {
    /// Filter on.
    pub filter_on: bool,
    /// Filter mode.
    pub filter_mode: FilterMode,
    /// Filter cutoff in Hz.
    pub cutoff_hz: f32,
    /// Filter resonance (Q).
    pub q: f32,
    /// Drive on.
    pub drive_on: bool,
    /// Drive amount (1..=20).
    pub drive_amount: f32,
    /// Delay on.
    pub delay_on: bool,
    /// Delay time in frames (at the chain's sample rate).
    pub delay_frames: f32,
    /// Delay feedback (0..=0.95).
    pub delay_feedback: f32,
    /// Delay echo level (0..=1).
    pub delay_mix: f32,
}

/// Default filter cutoff, in Hz.
const DEFAULT_CUTOFF_HZ: f32 = 1_000.0;
/// Default delay time, in seconds.
const DEFAULT_DELAY_SECS: f32 = 0.375;

/// A chain of filter, drive and delay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FxChain {
    /// Sample rate in Hz.
    sample_rate_hz: f32,
    filter: FilterStage,
    drive: DriveStage,
    delay: DelayStage,
}

impl FxChain {
    /// A chain with every effect off, at `sample_rate_hz`.
    pub fn new(sample_rate_hz: f32) -> Self {
        Self {
            sample_rate_hz,
            filter: FilterStage {
                wet: Ramp::at(0.0),
                mode: FilterMode::LowPass,
                cutoff_hz: Ramp::at(DEFAULT_CUTOFF_HZ),
                q: std::f32::consts::FRAC_1_SQRT_2,
                state: [Svf::default(); 2],
            },
            drive: DriveStage {
                wet: Ramp::at(0.0),
                amount: Ramp::at(4.0),
            },
            delay: DelayStage {
                wet: Ramp::at(0.0),
                time_frames: Ramp::at(DEFAULT_DELAY_SECS * sample_rate_hz),
                feedback: 0.35,
                mix: 0.5,
                state: DelayState::default(),
            },
        }
    }

    /// The settings the chain is heading to.
    pub fn settings(&self) -> FxSettings {
        FxSettings {
            filter_on: self.filter_on(),
            filter_mode: self.filter.mode,
            cutoff_hz: self.filter.cutoff_hz.target(),
            q: self.filter.q,
            drive_on: self.drive_on(),
            drive_amount: self.drive.amount.target(),
            delay_on: self.delay_on(),
            delay_frames: self.delay.time_frames.target(),
            delay_feedback: self.delay.feedback,
            delay_mix: self.delay.mix,
        }
    }

    /// A chain at `sample_rate_hz` resting at `settings` (out-of-range values are clamped, as
    /// for live changes). Its filter and delay start without memory.
    pub fn with_settings(sample_rate_hz: f32, settings: &FxSettings) -> Self {
        let mut chain = Self::new(sample_rate_hz);
        let on = |on: bool| Ramp::at(if on { 1.0 } else { 0.0 });
        let f = &mut chain.filter;
        f.wet = on(settings.filter_on);
        f.mode = settings.filter_mode;
        f.q = finite_or(settings.q, f.q).clamp(0.5, 10.0);
        f.cutoff_hz =
            Ramp::at(finite_or(settings.cutoff_hz, DEFAULT_CUTOFF_HZ).clamp(10.0, 20_000.0));
        chain.drive.wet = on(settings.drive_on);
        chain.drive.amount =
            Ramp::at(finite_or(settings.drive_amount, 4.0).clamp(DRIVE_RANGE.0, DRIVE_RANGE.1));
        let d = &mut chain.delay;
        d.wet = on(settings.delay_on);
        let max_frames = super::delay::MAX_DELAY_SECS * sample_rate_hz;
        d.time_frames = Ramp::at(
            finite_or(settings.delay_frames, DEFAULT_DELAY_SECS * sample_rate_hz)
                .clamp(0.001 * sample_rate_hz, max_frames),
        );
        d.feedback = finite_or(settings.delay_feedback, 0.35).clamp(0.0, 0.95);
        d.mix = finite_or(settings.delay_mix, 0.5).clamp(0.0, 1.0);
        chain
    }

    /// True when no effect sounds or is fading: the chain can be skipped.
    pub fn is_bypassed(&self) -> bool {
        [&self.filter.wet, &self.drive.wet, &self.delay.wet]
            .iter()
            .all(|wet| wet.is_idle() && wet.target() == 0.0)
    }

    /// Whether the delay is on (or turning on).
    pub fn delay_on(&self) -> bool {
        self.delay.wet.target() > 0.0
    }

    /// Whether the filter is on (or turning on).
    pub fn filter_on(&self) -> bool {
        self.filter.wet.target() > 0.0
    }

    /// Whether the drive is on (or turning on).
    pub fn drive_on(&self) -> bool {
        self.drive.wet.target() > 0.0
    }

    /// Applies a change, ramped over `ramp_samples`. Reverse is the owner's business.
    pub fn apply(&mut self, control: FxControl, ramp_samples: u32) {
        let rate = self.sample_rate_hz;
        let switch = |wet: &mut Ramp, on: bool| {
            let target = if on { 1.0 } else { 0.0 };
            if wet.target() != target {
                wet.ramp_to(target, ramp_samples);
            }
        };
        match control {
            FxControl::SetFilter(on) => {
                if on && self.filter.wet.value() == 0.0 {
                    self.filter.state = [Svf::default(); 2];
                }
                switch(&mut self.filter.wet, on);
            }
            FxControl::FilterSettings { mode, cutoff_hz, q } => {
                self.filter.mode = mode;
                self.filter.q = finite_or(q, self.filter.q).clamp(0.5, 10.0);
                let cutoff = finite_or(cutoff_hz, DEFAULT_CUTOFF_HZ).clamp(10.0, 20_000.0);
                self.filter.cutoff_hz.ramp_to(cutoff, ramp_samples);
            }
            FxControl::SetDrive(on) => switch(&mut self.drive.wet, on),
            FxControl::DriveAmount(amount) => {
                let amount = finite_or(amount, 4.0).clamp(DRIVE_RANGE.0, DRIVE_RANGE.1);
                self.drive.amount.ramp_to(amount, ramp_samples);
            }
            FxControl::SetDelay(on) => {
                if on && self.delay.wet.value() == 0.0 {
                    self.delay.state.restart();
                }
                switch(&mut self.delay.wet, on);
            }
            FxControl::ToggleDelay => {
                self.apply(FxControl::SetDelay(!self.delay_on()), ramp_samples)
            }
            FxControl::DelaySettings {
                time_secs,
                feedback,
                mix,
            } => {
                let time = finite_or(time_secs, DEFAULT_DELAY_SECS)
                    .clamp(0.001, super::delay::MAX_DELAY_SECS);
                self.delay.time_frames.ramp_to(time * rate, ramp_samples);
                self.delay.feedback = finite_or(feedback, 0.35).clamp(0.0, 0.95);
                self.delay.mix = finite_or(mix, 0.5).clamp(0.0, 1.0);
            }
            FxControl::SetReverse(_) | FxControl::DelayBeats { .. } => {}
            FxControl::Reset => {
                let fresh = Self::new(rate);
                switch(&mut self.filter.wet, false);
                switch(&mut self.drive.wet, false);
                switch(&mut self.delay.wet, false);
                self.filter
                    .cutoff_hz
                    .ramp_to(DEFAULT_CUTOFF_HZ, ramp_samples);
                self.filter.mode = fresh.filter.mode;
                self.filter.q = fresh.filter.q;
                self.drive
                    .amount
                    .ramp_to(fresh.drive.amount.target(), ramp_samples);
                self.delay
                    .time_frames
                    .ramp_to(fresh.delay.time_frames.target(), ramp_samples);
                self.delay.feedback = fresh.delay.feedback;
                self.delay.mix = fresh.delay.mix;
            }
        }
    }

    /// Ramps every setting that differs from `settings` (the chain's own, from
    /// [`FxChain::settings`]) to it over `ramp_samples`: what undo and redo of a loop's
    /// effect changes do.
    pub fn ramp_to_settings(&mut self, settings: &FxSettings, ramp_samples: u32) {
        let now = self.settings();
        let switches = [
            (
                now.filter_on,
                settings.filter_on,
                FxControl::SetFilter as fn(bool) -> FxControl,
            ),
            (now.drive_on, settings.drive_on, FxControl::SetDrive),
            (now.delay_on, settings.delay_on, FxControl::SetDelay),
        ];
        for (now_on, on, control) in switches {
            if now_on != on {
                self.apply(control(on), ramp_samples);
            }
        }
        let f = &mut self.filter;
        f.mode = settings.filter_mode;
        f.q = settings.q;
        if now.cutoff_hz != settings.cutoff_hz {
            f.cutoff_hz.ramp_to(settings.cutoff_hz, ramp_samples);
        }
        if now.drive_amount != settings.drive_amount {
            (self.drive.amount).ramp_to(settings.drive_amount, ramp_samples);
        }
        let d = &mut self.delay;
        if now.delay_frames != settings.delay_frames {
            d.time_frames.ramp_to(settings.delay_frames, ramp_samples);
        }
        d.feedback = settings.delay_feedback;
        d.mix = settings.delay_mix;
    }

    /// Forgets the filter's state and the delay's echoes (a loop back in the mix after it was
    /// silent: what they held is from before).
    pub fn forget_memory(&mut self) {
        self.filter.state = [Svf::default(); 2];
        self.delay.state.restart();
    }

    /// Prefetches the delay memory the next `frames` frames will use (a hint that changes
    /// nothing; see [`super::delay::DelayState::prefetch`]). Realtime-safe.
    pub fn prefetch(&self, delay_memory: &[f32], frames: usize) {
        let d = &self.delay;
        if (d.wet.is_idle() && d.wet.target() == 0.0) || delay_memory.len() < 8 {
            return;
        }
        d.state
            .prefetch(delay_memory, frames, d.time_frames.value());
    }

    /// Processes a stereo run in place. `delay_memory` is the owner's delay memory (both
    /// channels). Realtime-safe.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32], delay_memory: &mut [f32]) {
        if self.is_bypassed() {
            return;
        }
        self.process_filter(left, right);
        self.process_drive(left, right);
        self.process_delay(left, right, delay_memory);
    }

    fn process_filter(&mut self, left: &mut [f32], right: &mut [f32]) {
        let f = &mut self.filter;
        if f.wet.is_idle() && f.wet.target() == 0.0 {
            return;
        }
        let steady = f.wet.is_idle() && f.cutoff_hz.is_idle();
        if steady {
            let c = SvfCoefficients::new(f.cutoff_hz.value(), f.q, f.mode, self.sample_rate_hz);
            let wet = f.wet.value();
            let [state_left, state_right] = &mut f.state;
            // Both channels in one loop: two independent recursions run side by side.
            for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                let (yl, yr) = (state_left.process(*l, &c), state_right.process(*r, &c));
                *l += (yl - *l) * wet;
                *r += (yr - *r) * wet;
            }
        } else {
            for i in 0..left.len() {
                let cutoff = f.cutoff_hz.next_sample();
                let c = SvfCoefficients::new(cutoff, f.q, f.mode, self.sample_rate_hz);
                let wet = f.wet.next_sample();
                for (x, state) in [&mut left[i], &mut right[i]].into_iter().zip(&mut f.state) {
                    let y = state.process(*x, &c);
                    *x += (y - *x) * wet;
                }
            }
        }
    }

    fn process_drive(&mut self, left: &mut [f32], right: &mut [f32]) {
        let d = &mut self.drive;
        if d.wet.is_idle() && d.wet.target() == 0.0 {
            return;
        }
        if d.wet.is_idle() && d.amount.is_idle() {
            let (wet, amount) = (d.wet.value(), d.amount.value());
            let gain = makeup(amount);
            for channel in [left, right] {
                for x in channel.iter_mut() {
                    *x += (saturate(*x, amount, gain) - *x) * wet;
                }
            }
        } else {
            for i in 0..left.len() {
                let (wet, amount) = (d.wet.next_sample(), d.amount.next_sample());
                let gain = makeup(amount);
                for x in [&mut left[i], &mut right[i]] {
                    *x += (saturate(*x, amount, gain) - *x) * wet;
                }
            }
        }
    }

    fn process_delay(&mut self, left: &mut [f32], right: &mut [f32], memory: &mut [f32]) {
        let d = &mut self.delay;
        if (d.wet.is_idle() && d.wet.target() == 0.0) || memory.len() < 8 {
            return;
        }
        if d.wet.is_idle() && d.time_frames.is_idle() {
            let wet = d.wet.value() * d.mix;
            let time = d.time_frames.value();
            d.state
                .process_steady(memory, left, right, time, d.feedback, wet);
            return;
        }
        for i in 0..left.len() {
            let wet = d.wet.next_sample() * d.mix;
            let time = d.time_frames.next_sample();
            let echo = d
                .state
                .process(memory, [left[i], right[i]], time, d.feedback);
            left[i] += echo[0] * wet;
            right[i] += echo[1] * wet;
        }
    }
}

/// `value` if finite, else `fallback` (absurd automation must not poison the chain).
fn finite_or(value: f32, fallback: f32) -> f32 {
    if value.is_finite() { value } else { fallback }
}

#[cfg(test)]
mod tests {
    use super::super::delay::delay_memory_frames;
    use super::*;

    /// Largest sample-to-sample step of a signal.
    fn max_step(x: &[f32]) -> f32 {
        x.windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max)
    }

    /// Runs a 220 Hz sine through `chain` in 64-frame runs, toggling with `at_frame`.
    fn run(
        chain: &mut FxChain,
        frames: usize,
        mut at_frame: impl FnMut(usize, &mut FxChain),
    ) -> Vec<f32> {
        let mut memory = vec![0.0; 2 * delay_memory_frames(48_000.0)];
        let mut out = Vec::new();
        for start in (0..frames).step_by(64) {
            at_frame(start, chain);
            let mut left: Vec<f32> = (start..start + 64)
                .map(|t| (t as f32 * 2.0 * std::f32::consts::PI * 220.0 / 48_000.0).sin() * 0.5)
                .collect();
            let mut right = left.clone();
            chain.process(&mut left, &mut right, &mut memory);
            out.extend(left);
        }
        out
    }

    #[test]
    fn switching_effects_on_and_off_never_clicks() {
        for control in [
            FxControl::SetFilter,
            FxControl::SetDrive,
            FxControl::SetDelay,
        ] {
            let configured = || {
                let mut chain = FxChain::new(48_000.0);
                chain.apply(
                    FxControl::FilterSettings {
                        mode: FilterMode::HighPass,
                        cutoff_hz: 2_000.0,
                        q: 4.0,
                    },
                    0,
                );
                chain.apply(FxControl::DriveAmount(15.0), 0);
                chain
            };
            // The steepest the signal ever is, with the effect steadily off or on.
            let off = run(&mut configured(), 48_000, |_, _| {});
            let on = run(&mut configured(), 48_000, |t, chain| {
                if t == 0 {
                    chain.apply(control(true), 0);
                }
            });
            let steady = max_step(&off).max(max_step(&on[9_600..]));
            let mut chain = configured();
            let toggled = run(&mut chain, 48_000, |t, chain| {
                if t == 9_600 {
                    chain.apply(control(true), 2_400);
                }
                if t == 28_800 {
                    chain.apply(control(false), 2_400);
                }
            });
            let step = max_step(&toggled);
            assert!(
                step <= steady * 1.05,
                "{:?}: step {step} vs steady {steady}",
                control(true)
            );
            assert!(chain.is_bypassed(), "off again after the ramp");
        }
    }

    #[test]
    fn delay_echo_lands_at_its_time_and_level() {
        let mut chain = FxChain::new(48_000.0);
        chain.apply(
            FxControl::DelaySettings {
                time_secs: 0.01,
                feedback: 0.0,
                mix: 0.5,
            },
            0,
        );
        chain.apply(FxControl::SetDelay(true), 0);
        let mut memory = vec![0.0; 2 * delay_memory_frames(48_000.0)];
        let mut left = vec![0.0; 1_000];
        left[0] = 1.0;
        let mut right = left.clone();
        chain.process(&mut left, &mut right, &mut memory);
        assert_eq!(left[0], 1.0);
        assert_eq!(left[480], 0.5, "echo 10 ms later at the mix level");
        assert_eq!(left.iter().filter(|&&s| s != 0.0).count(), 2);
    }
}
