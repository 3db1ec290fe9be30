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

impl DelayState {
    /// Prefetches the memory that the next `frames` frames at `delay_frames` read (the taps)
    /// and write, so that the misses overlap the work before the delay runs (see
    /// [`crate::engine::pages::prefetch`]). Changes nothing. Realtime-safe.
    pub fn prefetch(&self, memory: &[f32], frames: usize, delay_frames: f32) {
        let ring = memory.len() / 2;
        if ring < 4 {
            return;
        }
        let whole = delay_frames.clamp(1.0, (ring - 2) as f32) as usize;
        let len = (frames + 1).min(ring);
        let far = (self.write_index + ring - (whole + 1)) % ring;
        let (left, right) = memory.split_at(ring);
        for start in [far, self.write_index.min(ring - 1)] {
            let first = len.min(ring - start);
            for channel in [left, &right[..ring]] {
                crate::engine::pages::prefetch(&channel[start..start + first]);
                crate::engine::pages::prefetch(&channel[..len - first]);
            }
        }
    }
}

/// Longest run [`DelayState::process_steady`] computes at once, in frames.
const RUN_FRAMES: usize = 64;

impl DelayState {
    /// Processes `left`/`right` at a steady delay time and feedback: each frame feeds the delay
    /// and gets `wet` times its echo added. Bit for bit what [`DelayState::process`] per frame
    /// gives, but in runs: once both taps hold audio, a run shorter than the delay reads only
    /// frames written before it, so its taps are gathered first (across the memory's wrap) and
    /// the run is one loop without index arithmetic, which the compiler vectorizes.
    pub fn process_steady(
        &mut self,
        memory: &mut [f32],
        left: &mut [f32],
        right: &mut [f32],
        delay_frames: f32,
        feedback: f32,
        wet: f32,
    ) {
        let frames = memory.len() / 2;
        let delay = delay_frames.clamp(1.0, (frames - 2) as f32);
        let whole = delay as usize;
        let fraction = delay - whole as f32;
        let feedback = feedback.clamp(0.0, 0.95);
        let mut done = 0;
        while done < left.len() {
            let w = self.write_index;
            let run = (left.len() - done)
                .min(whole)
                .min(frames - w)
                .min(RUN_FRAMES);
            if whole + 1 > self.valid_frames {
                // Taps still reaching before the restart: frame by frame.
                let echo = self.process(memory, [left[done], right[done]], delay, feedback);
                left[done] += echo[0] * wet;
                right[done] += echo[1] * wet;
                done += 1;
                continue;
            }
            // The far tap of the run's first frame; the near tap is the next frame.
            let far = (w + frames - (whole + 1)) % frames;
            let (memory_left, memory_right) = memory.split_at_mut(frames);
            for (channel, out) in [
                (memory_left, &mut left[done..done + run]),
                (memory_right, &mut right[done..done + run]),
            ] {
                let mut taps = [0.0f32; RUN_FRAMES + 1];
                let first = (frames - far).min(run + 1);
                taps[..first].copy_from_slice(&channel[far..far + first]);
                taps[first..run + 1].copy_from_slice(&channel[..run + 1 - first]);
                let (far_taps, near_taps) = (&taps[..run], &taps[1..run + 1]);
                let writes = &mut channel[w..w + run];
                for (((x, written), &b), &a) in
                    out.iter_mut().zip(writes).zip(far_taps).zip(near_taps)
                {
                    let echo = a + (b - a) * fraction;
                    let value = *x + feedback * echo;
                    *written = if value.abs() < 1e-20 { 0.0 } else { value };
                    *x += echo * wet;
                }
            }
            self.write_index = if w + run == frames { 0 } else { w + run };
            self.valid_frames = (self.valid_frames + run).min(frames);
            done += run;
        }
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
    fn the_steady_run_path_equals_the_per_frame_path_bit_for_bit() {
        // Memory of 300 frames so that runs cross its wrap many times; delays below, at and
        // above the run length; uneven run lengths; a restart midway.
        let frames = 298.0;
        for delay_frames in [1.0, 1.5, 37.25, 64.0, 64.5, 200.75, 500.0] {
            let mut memory_a = vec![0.0; 2 * delay_memory_frames(frames / MAX_DELAY_SECS)];
            let mut memory_b = memory_a.clone();
            let (mut a, mut b) = (DelayState::default(), DelayState::default());
            let input = |t: usize, c: usize| ((t * 7 + c * 3) % 23) as f32 / 11.0 - 1.0;
            let mut t = 0;
            for (n, run) in [5usize, 128, 1, 77, 300, 64, 999]
                .into_iter()
                .cycle()
                .take(30)
                .enumerate()
            {
                if n == 12 {
                    a.restart();
                    b.restart();
                }
                let mut left: Vec<f32> = (t..t + run).map(|t| input(t, 0)).collect();
                let mut right: Vec<f32> = (t..t + run).map(|t| input(t, 1)).collect();
                let (mut left_b, mut right_b) = (left.clone(), right.clone());
                a.process_steady(&mut memory_a, &mut left, &mut right, delay_frames, 0.7, 0.4);
                for (l, r) in left_b.iter_mut().zip(&mut right_b) {
                    let echo = b.process(&mut memory_b, [*l, *r], delay_frames, 0.7);
                    *l += echo[0] * 0.4;
                    *r += echo[1] * 0.4;
                }
                let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&left), bits(&left_b), "delay {delay_frames}, run {n}");
                assert_eq!(
                    bits(&right),
                    bits(&right_b),
                    "delay {delay_frames}, run {n}"
                );
                t += run;
            }
            assert_eq!(a, b);
            assert_eq!(memory_a, memory_b);
        }
    }

    #[test]
    fn prefetching_stays_inside_the_memory_at_every_position_and_delay() {
        // Rings of 4 and 298 frames, taps and writes across the wrap, runs longer than the ring.
        for frames in [4usize, 298] {
            let memory = vec![0.0; 2 * frames];
            for write_index in 0..frames {
                let state = DelayState {
                    write_index,
                    valid_frames: frames,
                };
                for delay in [0.0, 1.0, 1.5, (frames - 2) as f32, 1e9] {
                    for run in [0, 1, frames - 1, frames, 3 * frames] {
                        state.prefetch(&memory, run, delay);
                    }
                }
            }
        }
        DelayState::default().prefetch(&[0.0; 6], 128, 1.0);
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
