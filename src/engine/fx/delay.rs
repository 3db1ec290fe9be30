//! A feedback delay (echo) over memory handed in by its owner (allocated off the audio thread).
//! Interpolated reads let the delay time ramp without clicks.

/// Longest delay time, in seconds (sizes the memory).
pub const MAX_DELAY_SECS: f32 = 2.0;

/// Frames of memory a delay needs at `sample_rate_hz`.
pub fn delay_memory_frames(sample_rate_hz: f32) -> usize {
    (MAX_DELAY_SECS * sample_rate_hz) as usize + 2
}

/// The delay's position in its memory and how much of it holds audio.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DelayState {
    /// Next frame to write.
    write_index: usize,
    /// Frames written since the delay was (re)started; older memory reads as silence.
    valid_frames: usize,
}

impl DelayState {
    /// Forgets the echoes (when the effect is switched on again), in O(1).
    pub fn restart(&mut self) {
        self.valid_frames = 0;
    }

    /// Processes one stereo frame: writes `input + feedback * echo` and returns the echo, read
    /// `delay_frames` (fractional, >= 1) back. `memory` holds both channels, one after the other.
    #[inline]
    pub fn process(
        &mut self,
        memory: &mut [f32],
        input: [f32; 2],
        delay_frames: f32,
        feedback: f32,
    ) -> [f32; 2] {
        let frames = memory.len() / 2;
        let delay = delay_frames.clamp(1.0, (frames - 2) as f32);
        let whole = delay as usize;
        let fraction = delay - whole as f32;
        // Two taps around the fractional position; older than what was written reads as silence.
        let tap = |back: usize| {
            let index = if self.write_index >= back {
                self.write_index - back
            } else {
                self.write_index + frames - back
            };
            (index, back <= self.valid_frames)
        };
        let (near, near_valid) = tap(whole);
        let (far, far_valid) = tap(whole + 1);
        let (left, right) = memory.split_at_mut(frames);
        let mut echo = [0.0; 2];
        for (out, channel) in echo.iter_mut().zip([&*left, &*right]) {
            let a = if near_valid { channel[near] } else { 0.0 };
            let b = if far_valid { channel[far] } else { 0.0 };
            *out = a + (b - a) * fraction;
        }
        let feedback = feedback.clamp(0.0, 0.95);
        for (channel, (x, e)) in [left, right].into_iter().zip(input.into_iter().zip(echo)) {
            let value = x + feedback * e;
            // Keep denormals out of the loop.
            channel[self.write_index] = if value.abs() < 1e-20 { 0.0 } else { value };
        }
        self.write_index += 1;
        if self.write_index == frames {
            self.write_index = 0;
        }
        self.valid_frames = (self.valid_frames + 1).min(frames);
        echo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_come_after_the_delay_time_at_the_feedback_level() {
        let mut memory = vec![0.0; 2 * delay_memory_frames(1_000.0)];
        let mut delay = DelayState::default();
        let mut out = Vec::new();
        for t in 0..700 {
            let x = if t == 0 { 1.0 } else { 0.0 };
            out.push(delay.process(&mut memory, [x, -x], 250.0, 0.5));
        }
        assert_eq!(out[250], [1.0, -1.0]);
        assert_eq!(out[500], [0.5, -0.5]);
        let others: f32 = out
            .iter()
            .enumerate()
            .filter(|(t, _)| *t != 250 && *t != 500)
            .map(|(_, e)| e[0].abs())
            .sum();
        assert_eq!(others, 0.0);
    }

    #[test]
    fn restart_forgets_old_echoes() {
        let mut memory = vec![0.0; 2 * delay_memory_frames(1_000.0)];
        let mut delay = DelayState::default();
        delay.process(&mut memory, [1.0, 1.0], 10.0, 0.0);
        delay.restart();
        for _ in 0..20 {
            assert_eq!(
                delay.process(&mut memory, [0.0, 0.0], 10.0, 0.0),
                [0.0, 0.0]
            );
        }
    }
}
