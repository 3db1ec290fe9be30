//! The output stage: input monitor plus the loop bus, to the PA (main) output and the headphone
//! output, each gain ramped so no level change ever clicks.
//!
//! Realtime: runs on the audio thread; no allocation.

use super::ramp::Ramp;

/// The ramped gains of the output stage.
#[derive(Debug, Clone)]
pub struct MixGains {
    /// Input monitor level (linear), both outputs.
    monitor: Ramp,
    /// Loop mix level (linear), both outputs.
    loops: Ramp,
    /// Loop mix mute (1 = sounding, 0 = muted).
    mix_mute: Ramp,
    /// Short fades of the loop bus around jumps (restart).
    loop_fade: Ramp,
    /// PA (main output) mute (1 = sounding, 0 = muted).
    pa: Ramp,
    /// Headphone output level (linear).
    phones: Ramp,
}

impl Default for MixGains {
    fn default() -> Self {
        Self {
            monitor: Ramp::at(1.0),
            loops: Ramp::at(1.0),
            mix_mute: Ramp::at(1.0),
            loop_fade: Ramp::at(1.0),
            pa: Ramp::at(1.0),
            phones: Ramp::at(1.0),
        }
    }
}

/// Starts a ramp to `target` unless the ramp already heads there.
fn retarget(ramp: &mut Ramp, target: f32, ramp_samples: u32) {
    if ramp.target() != target {
        ramp.ramp_to(target, ramp_samples);
    }
}

impl MixGains {
    /// Sets the player's levels, ramping over `ramp_samples` where they change.
    pub fn set_levels(&mut self, monitor: f32, loops: f32, phones: f32, ramp_samples: u32) {
        retarget(&mut self.monitor, monitor, ramp_samples);
        retarget(&mut self.loops, loops, ramp_samples);
        retarget(&mut self.phones, phones, ramp_samples);
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

    /// Fades the loop bus out (before a jump).
    pub fn fade_loops_out(&mut self, ramp_samples: u32) {
        self.loop_fade.ramp_to(0.0, ramp_samples);
    }

    /// Fades the loop bus back in (after a jump).
    pub fn fade_loops_in(&mut self, ramp_samples: u32) {
        retarget(&mut self.loop_fade, 1.0, ramp_samples);
    }

    /// Writes `input` (monitor) plus `bus` (loops) to `main[c][at..]` and `phones[c][at..]` for
    /// `bus[0].len()` frames. `main` may have 1 or 2 channels, `phones` 0 or 2.
    pub fn mix(
        &mut self,
        input: [&[f32]; 2],
        bus: [&[f32]; 2],
        main: &mut [&mut [f32]],
        phones: &mut [&mut [f32]],
        at: usize,
    ) {
        let frames = bus[0].len();
        let ramps = [
            &self.monitor,
            &self.loops,
            &self.mix_mute,
            &self.loop_fade,
            &self.pa,
            &self.phones,
        ];
        if ramps.iter().all(|ramp| ramp.is_idle()) {
            let monitor = self.monitor.value();
            let loops = self.loops.value() * self.mix_mute.value() * self.loop_fade.value();
            let (pa, phones_gain) = (self.pa.value(), self.phones.value());
            for i in 0..frames {
                for c in 0..2 {
                    let dry = input[c][i] * monitor + bus[c][i] * loops;
                    write_frame(main, phones, c, at + i, dry * pa, dry * phones_gain);
                }
            }
        } else {
            for i in 0..frames {
                let monitor = self.monitor.next_sample();
                let loops = self.loops.next_sample()
                    * self.mix_mute.next_sample()
                    * self.loop_fade.next_sample();
                let (pa, phones_gain) = (self.pa.next_sample(), self.phones.next_sample());
                for c in 0..2 {
                    let dry = input[c][i] * monitor + bus[c][i] * loops;
                    write_frame(main, phones, c, at + i, dry * pa, dry * phones_gain);
                }
            }
        }
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

    #[test]
    fn pa_mute_silences_main_but_not_phones() {
        let mut gains = MixGains::default();
        gains.set_pa_muted(true, 4);
        let input = [1.0f32; 8];
        let bus = [0.5f32; 8];
        let (mut main_l, mut main_r, mut ph_l, mut ph_r) = ([0.0; 8], [0.0; 8], [0.0; 8], [0.0; 8]);
        gains.mix(
            [&input, &input],
            [&bus, &bus],
            &mut [&mut main_l, &mut main_r],
            &mut [&mut ph_l, &mut ph_r],
            0,
        );
        assert_eq!(main_l, [1.125, 0.75, 0.375, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(ph_r, [1.5; 8]);
    }
}
