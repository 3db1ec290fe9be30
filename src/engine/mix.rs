//! The output stage. The PA (main) output is the input monitor plus the loop mix through the
//! master effects, master gain and peak limiter, muted with a ramp while the PA must be quiet.
//! The headphone output is its own mix of the input and the loops taken before the PA mute and
//! the master effects, with its own level, a delay that lines it up with the PA, and the
//! metronome. Every gain is ramped so no level change ever clicks. Neither output ever carries
//! NaN or infinity.
//!
//! Realtime: runs on the audio thread; memory (delay lines) is allocated in `OutputStage::new`.

use super::fx::chain::{FxChain, FxControl};
use super::fx::delay::delay_memory_frames;
use super::fx::limiter::Limiter;
use super::metronome::Metronome;
use super::ramp::Ramp;

/// Longest headphone delay, in milliseconds.
pub const MAX_PHONES_DELAY_MS: f32 = 100.0;

/// Output levels and switches, from the player's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputLevels {
    /// Input monitor on the PA (linear).
    pub monitor: f32,
    /// Loop mix on the PA (linear).
    pub loops: f32,
    /// Master gain before the limiter (linear).
    pub master: f32,
    /// Limiter ceiling (linear, > 0).
    pub ceiling: f32,
    /// Input in the headphones (linear).
    pub phones_monitor: f32,
    /// Loops in the headphones (linear).
    pub phones_loops: f32,
    /// Headphone output level (linear).
    pub phones: f32,
    /// Headphone delay, in samples.
    pub phones_delay_samples: usize,
}

/// The ramped gains, effects and delay lines of the output stage.
#[derive(Debug)]
pub struct OutputStage {
    monitor: Ramp,
    loops: Ramp,
    master: Ramp,
    phones_monitor: Ramp,
    phones_loops: Ramp,
    phones: Ramp,
    /// Loop mix mute (1 = sounding, 0 = muted), both outputs.
    mix_mute: Ramp,
    /// Short fades of the loop mix around jumps (restart), both outputs.
    loop_fade: Ramp,
    /// PA mute (1 = sounding, 0 = muted).
    pa: Ramp,
    /// Limiter ceiling (linear).
    ceiling: f32,
    /// The PA's peak limiter.
    limiter: Limiter,
    /// Master effects on the PA's loop mix.
    master_fx: FxChain,
    /// The master delay's memory.
    master_fx_memory: Box<[f32]>,
    /// The headphone delay line (both channels, one after the other).
    phones_delay: Box<[f32]>,
    /// Next frame to write in `phones_delay`.
    phones_write: usize,
    /// Current headphone delay, and the previous one while crossfading to it.
    phones_delay_samples: (usize, usize),
    /// Crossfade from the previous delay to the current (1 = current only).
    phones_delay_fade: Ramp,
    /// Metronome clicks, headphones only.
    pub metronome: Metronome,
    /// The master effects' copy of the loop mix.
    pa_bus: [Box<[f32]>; 2],
}

impl OutputStage {
    /// Allocates the delay lines for `sample_rate_hz` and chunks of `chunk_frames`. Not
    /// realtime-safe.
    pub fn new(sample_rate_hz: f32, chunk_frames: usize) -> Self {
        let phones_frames = (MAX_PHONES_DELAY_MS / 1000.0 * sample_rate_hz) as usize + 1;
        Self {
            monitor: Ramp::at(1.0),
            loops: Ramp::at(1.0),
            master: Ramp::at(1.0),
            phones_monitor: Ramp::at(1.0),
            phones_loops: Ramp::at(1.0),
            phones: Ramp::at(1.0),
            mix_mute: Ramp::at(1.0),
            loop_fade: Ramp::at(1.0),
            pa: Ramp::at(1.0),
            ceiling: 1.0,
            limiter: Limiter::new(sample_rate_hz),
            master_fx: FxChain::new(sample_rate_hz),
            master_fx_memory: vec![0.0; 2 * delay_memory_frames(sample_rate_hz)].into_boxed_slice(),
            phones_delay: vec![0.0; 2 * phones_frames].into_boxed_slice(),
            phones_write: 0,
            phones_delay_samples: (0, 0),
            phones_delay_fade: Ramp::at(1.0),
            metronome: Metronome::new(sample_rate_hz),
            pa_bus: [0, 1].map(|_| vec![0.0; chunk_frames].into_boxed_slice()),
        }
    }

    /// Sets the player's levels, ramping over `ramp_samples` where they change.
    pub fn set_levels(&mut self, levels: OutputLevels, ramp_samples: u32) {
        // A NaN or infinite level (absurd automation) is ignored: the last sane one stays.
        for (ramp, target) in [
            (&mut self.monitor, levels.monitor),
            (&mut self.loops, levels.loops),
            (&mut self.master, levels.master),
            (&mut self.phones_monitor, levels.phones_monitor),
            (&mut self.phones_loops, levels.phones_loops),
            (&mut self.phones, levels.phones),
        ] {
            if target.is_finite() {
                retarget(ramp, target, ramp_samples);
            }
        }
        if levels.ceiling.is_finite() {
            self.ceiling = levels.ceiling.max(1e-4);
        }
        let max_delay = self.phones_delay.len() / 2 - 1;
        let delay = levels.phones_delay_samples.min(max_delay);
        if delay != self.phones_delay_samples.0 {
            // Crossfade from the old tap to the new one: no jump in the headphones.
            self.phones_delay_samples = (delay, self.phones_delay_samples.0);
            self.phones_delay_fade.set(0.0);
            self.phones_delay_fade.ramp_to(1.0, ramp_samples);
        }
    }

    /// Applies a change to the master effects.
    pub fn master_fx(&mut self, control: FxControl, ramp_samples: u32) {
        self.master_fx.apply(control, ramp_samples);
    }

    /// Mutes or unmutes the loop mix on both outputs.
    pub fn set_mix_muted(&mut self, muted: bool, ramp_samples: u32) {
        retarget(
            &mut self.mix_mute,
            if muted { 0.0 } else { 1.0 },
            ramp_samples,
        );
    }

    /// Whether the loop mix is muted (or muting).
    pub fn mix_muted(&self) -> bool {
        self.mix_mute.target() == 0.0
    }

    /// Mutes or unmutes the PA output; the headphones keep playing.
    pub fn set_pa_muted(&mut self, muted: bool, ramp_samples: u32) {
        retarget(&mut self.pa, if muted { 0.0 } else { 1.0 }, ramp_samples);
    }

    /// Whether the PA is muted (or muting).
    pub fn pa_muted(&self) -> bool {
        self.pa.target() == 0.0
    }

    /// Fades the loop mix out (before a jump).
    pub fn fade_loops_out(&mut self, ramp_samples: u32) {
        self.loop_fade.ramp_to(0.0, ramp_samples);
    }

    /// Fades the loop mix back in (after a jump).
    pub fn fade_loops_in(&mut self, ramp_samples: u32) {
        retarget(&mut self.loop_fade, 1.0, ramp_samples);
    }

    /// The limiter's current gain (1 = not limiting), for meters.
    pub fn limiter_gain(&self) -> f32 {
        self.limiter.gain()
    }

    /// Writes `input` (monitor) plus `bus` (loops) to `main[c][at..]` and `phones[c][at..]` for
    /// `bus[0].len()` frames starting at absolute time `t_samples`. `main` may have 1 or 2
    /// channels, `phones` 0 or 2.
    pub fn mix(
        &mut self,
        input: [&[f32]; 2],
        bus: [&[f32]; 2],
        main: &mut [&mut [f32]],
        phones: &mut [&mut [f32]],
        at: usize,
        t_samples: u64,
    ) {
        let frames = bus[0].len();
        let [pa_left, pa_right] = &mut self.pa_bus;
        let (pa_left, pa_right) = (&mut pa_left[..frames], &mut pa_right[..frames]);
        pa_left.copy_from_slice(bus[0]);
        pa_right.copy_from_slice(bus[1]);
        self.master_fx
            .process(pa_left, pa_right, &mut self.master_fx_memory);
        let phones_frames = self.phones_delay.len() / 2;
        for i in 0..frames {
            let monitor = self.monitor.next_sample();
            let loop_gain = self.mix_mute.next_sample() * self.loop_fade.next_sample();
            let pa_loops = self.loops.next_sample() * loop_gain;
            let master = self.master.next_sample();
            let pa = self.pa.next_sample();
            let phones_monitor = self.phones_monitor.next_sample();
            let phones_loops = self.phones_loops.next_sample() * loop_gain;
            let phones_level = self.phones.next_sample();
            let pa_in = [pa_left[i], pa_right[i]];
            let pa_frame = [0, 1].map(|c| (input[c][i] * monitor + pa_in[c] * pa_loops) * master);
            let limited = self.limiter.process(pa_frame, self.ceiling);
            // The headphone mix goes through its delay line; the click is added after it.
            let dry = [0, 1]
                .map(|c| (input[c][i] * phones_monitor + bus[c][i] * phones_loops) * phones_level);
            for (c, &sample) in dry.iter().enumerate() {
                self.phones_delay[c * phones_frames + self.phones_write] = sample;
            }
            let fade = self.phones_delay_fade.next_sample();
            let click = self.metronome.next_sample(t_samples + i as u64);
            let tap = |delay: usize, c: usize| {
                self.phones_delay[c * phones_frames
                    + (self.phones_write + phones_frames - delay) % phones_frames]
            };
            let (current, previous) = self.phones_delay_samples;
            for (c, limited) in limited.into_iter().enumerate() {
                let delayed = if fade >= 1.0 {
                    tap(current, c)
                } else {
                    tap(previous, c) + (tap(current, c) - tap(previous, c)) * fade
                };
                // Loops can overflow to infinity when summed (the PA's limiter takes care of
                // its side): the headphones never carry it, or the NaN it turns into.
                let phones_sample = delayed + click;
                let phones_sample = if phones_sample.is_finite() {
                    phones_sample
                } else {
                    0.0
                };
                write_frame(main, phones, c, at + i, limited * pa, phones_sample);
            }
            self.phones_write = (self.phones_write + 1) % phones_frames;
        }
    }
}

/// Starts a ramp to `target` unless the ramp already heads there.
fn retarget(ramp: &mut Ramp, target: f32, ramp_samples: u32) {
    if ramp.target() != target {
        ramp.ramp_to(target, ramp_samples);
    }
}

/// Stores one channel's sample of one frame to each output that has that channel.
#[inline]
fn write_frame(
    main: &mut [&mut [f32]],
    phones: &mut [&mut [f32]],
    channel: usize,
    index: usize,
    main_sample: f32,
    phones_sample: f32,
) {
    if let Some(out) = main.get_mut(channel) {
        out[index] = main_sample;
    }
    if let Some(out) = phones.get_mut(channel) {
        out[index] = phones_sample;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels() -> OutputLevels {
        OutputLevels {
            monitor: 1.0,
            loops: 1.0,
            master: 1.0,
            ceiling: 1.0,
            phones_monitor: 1.0,
            phones_loops: 1.0,
            phones: 1.0,
            phones_delay_samples: 0,
        }
    }

    /// Runs `frames` of `input`/`bus` (constant per channel) and returns (main L, phones L).
    fn run(stage: &mut OutputStage, input: &[f32], bus: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let frames = input.len();
        let (mut main_l, mut main_r) = (vec![0.0; frames], vec![0.0; frames]);
        let (mut ph_l, mut ph_r) = (vec![0.0; frames], vec![0.0; frames]);
        for start in (0..frames).step_by(64) {
            let end = (start + 64).min(frames);
            stage.mix(
                [&input[start..end], &input[start..end]],
                [&bus[start..end], &bus[start..end]],
                &mut [&mut main_l, &mut main_r],
                &mut [&mut ph_l, &mut ph_r],
                start,
                start as u64,
            );
        }
        (main_l, ph_l)
    }

    #[test]
    fn pa_mute_silences_main_but_not_phones() {
        let mut stage = OutputStage::new(48_000.0, 64);
        stage.set_pa_muted(true, 4);
        let (main, phones) = run(&mut stage, &[0.5; 8], &[0.25; 8]);
        assert_eq!(main, [0.5625, 0.375, 0.1875, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(phones, [0.75; 8]);
    }

    #[test]
    fn headphone_delay_shifts_by_exactly_the_rounded_samples() {
        for (rate, ms) in [(48_000.0, 12.5), (44_100.0, 7.3), (96_000.0, 100.0)] {
            let mut stage = OutputStage::new(rate, 64);
            let delay = (ms * rate / 1000.0_f32).round() as usize;
            stage.set_levels(
                OutputLevels {
                    phones_delay_samples: delay,
                    ..levels()
                },
                0,
            );
            let input: Vec<f32> = (0..20_000)
                .map(|t| ((t * 7919) % 1000) as f32 / 1000.0)
                .collect();
            let (main, phones) = run(&mut stage, &input, &vec![0.0; 20_000]);
            assert_eq!(main, input, "the PA is not delayed");
            assert!(phones[..delay].iter().all(|&s| s == 0.0));
            assert_eq!(
                &phones[delay..],
                &input[..20_000 - delay],
                "{rate} Hz, {ms} ms"
            );
        }
    }

    #[test]
    fn limiter_holds_the_ceiling_on_the_pa_only() {
        let mut stage = OutputStage::new(48_000.0, 64);
        let ceiling = 10f32.powf(-3.0 / 20.0);
        stage.set_levels(
            OutputLevels {
                ceiling,
                ..levels()
            },
            0,
        );
        let loud: Vec<f32> = (0..48_000).map(|t| (t as f32 * 0.05).sin() * 2.0).collect();
        let (main, phones) = run(&mut stage, &loud, &vec![0.0; 48_000]);
        assert!(main.iter().all(|s| s.abs() <= ceiling));
        assert_eq!(
            phones, loud,
            "the headphones take the mix before the master section"
        );
    }

    #[test]
    fn no_output_ever_carries_nan_or_infinity() {
        let mut stage = OutputStage::new(48_000.0, 64);
        // A headphone delay crossfading (where inf - inf would make NaN).
        stage.set_levels(
            OutputLevels {
                phones_delay_samples: 100,
                ..levels()
            },
            500,
        );
        // Loops that overflow when summed, and a not-number from a blown-up effect.
        let bus: Vec<f32> = (0..2_000)
            .map(|t| match t % 4 {
                0 => f32::MAX,
                1 => f32::NAN,
                2 => f32::NEG_INFINITY,
                _ => 0.25,
            })
            .collect();
        let (main, phones) = run(&mut stage, &vec![f32::MAX; 2_000], &bus);
        assert!(main.iter().chain(&phones).all(|s| s.is_finite()));
        // Afterwards, once the delay line and the limiter have recovered, it plays as before.
        let (main, phones) = run(&mut stage, &[0.5; 96_000], &[0.25; 96_000]);
        assert!((main[95_999] - 0.75).abs() < 1e-3, "{}", main[95_999]);
        assert_eq!(phones[95_999], 0.75);
    }
}
