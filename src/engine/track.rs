//! One loop track: its audio, its length (cycle x 2^k), where its buffer index 0 sits in absolute
//! time, its speed, and its ramped gain.
//!
//! Realtime: `Track::mix_into` runs on the audio thread and never allocates. `TrackBuffer`s are
//! allocated and freed by the pool keeper (see `pool.rs`), never on the audio thread.

use std::sync::Arc;

use super::audio::{TrackAudio, TrackBuffer};
use super::capture::HistoryFill;
use super::fx::chain::FxChain;
use super::ramp::Ramp;
use super::speed::{ReadPosition, Speed, time_in_period};
use super::varispeed::{LoopReader, RUN_FRAMES, reach_samples};

/// The rate a new track's effect chain assumes; the engine replaces the chain with one at its
/// own rate when it adds the track to the mix.
const DEFAULT_FX_RATE_HZ: f32 = 48_000.0;

/// Whether a track sounds, or is fading out on its way to the undo history or to be freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackState {
    /// Part of the mix.
    Playing,
    /// Undone: fading out, then kept for redo (and saved with the performance for it).
    Undoing,
    /// Removed or cleared: fading out, then kept while undo can bring it back (not saved: the
    /// undo history is not).
    Removed,
    /// No longer wanted by the mix or the undo history: fading out, then freed.
    Discarding,
}

impl TrackState {
    /// Whether the session mirror keeps a track in this state (playing, or undone for redo).
    pub fn in_session(self) -> bool {
        matches!(self, TrackState::Playing | TrackState::Undoing)
    }
}

/// The reading a jump of the loop's origin (a restart of the loop, or its undo) left: it fades
/// out while the reading from the new origin fades in. A switch to another version of the loop
/// (a dub's undo, redo or cancel) leaves one too, reading the version it left.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The origin before the jump (absolute samples at which buffer index 0 played).
    origin_samples: u64,
    /// The loop length before the jump, in samples.
    length_samples: u64,
    /// The version before a switch of versions (`None`: the track's own audio). Handed to the
    /// pool when the crossfade ends, never dropped on the audio thread.
    audio: Option<Arc<TrackAudio>>,
    /// The outgoing reading's weight, 1 down to 0 over the crossfade.
    weight: Ramp,
}

/// A loop: audio of `length_samples` frames played phase-locked to absolute time. Reading
/// follows the audio's pages: runs end at page boundaries, never a branch per sample.
#[derive(Debug)]
pub struct Track {
    /// Identity in the engine, increasing in the order tracks join the mix (the session mirror's
    /// key).
    pub id: u64,
    /// The audio; frames `0..length_samples` are the loop.
    pub buffer: TrackBuffer,
    /// Loop length in samples: the cycle length times a power of two.
    pub length_samples: u64,
    /// Frames of recorded audio (the loop length it was recorded at). Differs from
    /// `length_samples` only after the host tempo changed under a host-synced loop: the audio
    /// then restarts every `length_samples`, cut short or followed by silence (see `sync.rs`).
    pub content_samples: u64,
    /// Absolute time (samples since activation) at which buffer index 0 plays; the index played at
    /// time `t` is `(t - origin_samples) mod length_samples`.
    pub origin_samples: u64,
    /// User gain (linear), ramped.
    pub gain: Ramp,
    /// Pan in -1 (left) ..= 1 (right), ramped; 0 plays both channels at unity.
    pub pan: Ramp,
    /// Mute/solo gain (1 audible, 0 silent), ramped.
    pub audibility: Ramp,
    /// Fade for undo/redo/clear (0..1, linear), ramped.
    pub fade: Ramp,
    /// Reverse playback (0 forward, 1 reversed), ramped: a crossfade between the two readings.
    pub reverse: Ramp,
    /// Playback speed (varispeed: pitch follows); the reading `speed_fade` fades in.
    pub speed: Speed,
    /// The speed being faded out while the speed changes (see `speed_fade`).
    pub previous_speed: Speed,
    /// Weight (0..1) of the reading at `speed` against the one at `previous_speed`, ramped over
    /// the blend length when the speed changes; 1 and idle otherwise.
    pub speed_fade: Ramp,
    /// A speed asked for while the speed was changing, and its fade's length in samples: it
    /// starts fading in when the current change ends.
    pub next_speed: Option<(Speed, u32)>,
    /// Filter, drive and delay, applied on playback (the audio is never altered).
    pub fx: FxChain,
    /// The player muted this track.
    pub muted: bool,
    /// The player soloed this track.
    pub soloed: bool,
    /// Whether the track sounds or is on its way out.
    pub state: TrackState,
    /// A capture still copying its audio from the history.
    pub fill: Option<HistoryFill>,
    /// The serial of the undo history entry that removed this track (a removal or a clear):
    /// undoing that entry brings back every track it removed.
    pub removed_by: Option<u64>,
    /// The reading before the last jump of `origin_samples`, while it crossfades out.
    pub outgoing: Option<Outgoing>,
    /// The version an ended crossfade read, waiting to be handed to the pool (the engine takes
    /// it after each block: see [`Track::take_spent_audio`]).
    spent_audio: Option<Arc<TrackAudio>>,
    /// Overdub layers in the loop (each dub that completed, minus those undone).
    pub layers: u32,
}

impl Track {
    /// A playing track at unity gain, centred, audible, without effects.
    pub fn new(buffer: TrackBuffer, length_samples: u64, origin_samples: u64) -> Self {
        Self {
            id: 0,
            buffer,
            length_samples,
            content_samples: length_samples,
            origin_samples,
            gain: Ramp::at(1.0),
            pan: Ramp::at(0.0),
            audibility: Ramp::at(1.0),
            fade: Ramp::at(1.0),
            reverse: Ramp::at(0.0),
            speed: Speed::NORMAL,
            previous_speed: Speed::NORMAL,
            speed_fade: Ramp::at(1.0),
            next_speed: None,
            fx: FxChain::new(DEFAULT_FX_RATE_HZ),
            muted: false,
            soloed: false,
            state: TrackState::Playing,
            fill: None,
            removed_by: None,
            outgoing: None,
            spent_audio: None,
            layers: 0,
        }
    }

    /// The buffer index that plays at absolute time `t_samples` at normal speed.
    pub fn index_at(&self, t_samples: u64) -> u64 {
        time_in_period(t_samples, self.origin_samples, self.length_samples)
    }

    /// Where the loop reads at `t_samples` at the speed it is heading to (see `speed.rs`).
    pub fn position_at(&self, t_samples: u64) -> ReadPosition {
        (self.target_speed()).position(t_samples, self.origin_samples, self.length_samples)
    }

    /// The speed the loop plays at once its changes are done.
    pub fn target_speed(&self) -> Speed {
        self.next_speed.map_or(self.speed, |(speed, _)| speed)
    }

    /// The time after which the loop's playback repeats exactly, at every speed it plays or
    /// fades between: its length, times 2 or 4 while a reading is slower than normal. Origins
    /// move modulo this, never modulo the length alone.
    pub fn period_samples(&self) -> u64 {
        let slowest = [self.previous_speed, self.speed, self.target_speed()]
            .into_iter()
            .max_by_key(|speed| speed.subdivisions())
            .unwrap_or(self.speed);
        slowest.period_samples(self.length_samples)
    }

    /// Changes the speed, crossfading from the old reading to the new one over `blend_samples`.
    /// During a change, going back fades back from where the fade is; another speed waits for
    /// the change to end (at most `blend_samples`).
    pub fn set_speed(&mut self, speed: Speed, blend_samples: u32) {
        if self.speed_fade.is_idle() {
            if speed != self.speed {
                self.start_speed_change(speed, blend_samples);
            }
        } else if speed == self.speed {
            self.next_speed = None;
        } else if speed == self.previous_speed {
            // The old reading is heard with weight 1 - w: it fades back in from there.
            let heard = 1.0 - self.speed_fade.value();
            (self.previous_speed, self.speed) = (self.speed, speed);
            self.speed_fade = Ramp::at(heard);
            self.speed_fade.ramp_to(1.0, blend_samples);
            self.next_speed = None;
        } else {
            self.next_speed = Some((speed, blend_samples));
        }
    }

    /// Moves the origin (buffer index 0 plays at `origin_samples` from now on), crossfading from
    /// the old reading over `crossfade_samples` so that the jump does not click.
    pub fn jump_to_origin(&mut self, origin_samples: u64, crossfade_samples: u32) {
        self.start_outgoing(None, crossfade_samples);
        self.origin_samples = origin_samples;
    }

    /// Plays another version of the loop from now on: `buffer`'s audio, `length_samples` long,
    /// its index 0 at `origin_samples`, crossfading from the current reading over
    /// `crossfade_samples`. The delay's memory stays with the track. Returns the buffer it
    /// played (complete audio: it is shared with the crossfade). Realtime-safe.
    pub fn switch_version(
        &mut self,
        mut buffer: TrackBuffer,
        length_samples: u64,
        origin_samples: u64,
        crossfade_samples: u32,
    ) -> TrackBuffer {
        buffer.set_fx_memory(self.buffer.take_fx_memory());
        let old = std::mem::replace(&mut self.buffer, buffer);
        self.start_outgoing(Some(old.share()), crossfade_samples);
        self.length_samples = length_samples;
        self.content_samples = length_samples;
        self.origin_samples = origin_samples;
        old
    }

    /// Starts crossfading out the current reading (of `audio`, or of the track's own audio).
    fn start_outgoing(&mut self, audio: Option<Arc<TrackAudio>>, crossfade_samples: u32) {
        let mut weight = Ramp::at(1.0);
        weight.ramp_to(0.0, crossfade_samples);
        self.end_outgoing();
        self.outgoing = Some(Outgoing {
            origin_samples: self.origin_samples,
            length_samples: self.length_samples,
            audio,
            weight,
        });
    }

    /// Ends the outgoing reading: a version it read waits in `spent_audio` for the pool.
    fn end_outgoing(&mut self) {
        if let Some(audio) = self.outgoing.take().and_then(|outgoing| outgoing.audio) {
            // The engine takes spent audio after every action and every track's mix, and each
            // ends at most one crossfade of a track.
            debug_assert!(self.spent_audio.is_none(), "spent audio not taken");
            self.spent_audio = Some(audio);
        }
    }

    /// A version whose crossfade ended, to be handed to the pool (never dropped here: it may be
    /// the last reference). Realtime-safe.
    pub fn take_spent_audio(&mut self) -> Option<Arc<TrackAudio>> {
        self.spent_audio.take()
    }

    /// Starts fading from the current speed to `speed` (no change in progress).
    fn start_speed_change(&mut self, speed: Speed, blend_samples: u32) {
        self.previous_speed = self.speed;
        self.speed = speed;
        self.speed_fade = Ramp::at(0.0);
        self.speed_fade.ramp_to(1.0, blend_samples);
    }

    /// Puts the loop at `speed` at once (a restored loop).
    pub fn jump_to_speed(&mut self, speed: Speed) {
        self.speed = speed;
        self.previous_speed = speed;
        self.speed_fade = Ramp::at(1.0);
        self.next_speed = None;
    }

    /// Whether the loop plays at normal speed with no change in progress (the plain paths).
    fn at_normal_speed(&self) -> bool {
        self.speed == Speed::NORMAL && self.speed_fade.is_idle() && self.next_speed.is_none()
    }

    /// The first source index the next `frames` of playback from `t_samples` read and how many
    /// from there on (the reach of the speed's filter included), for a capture that must have
    /// copied them first.
    pub fn read_window(&self, t_samples: u64, frames: u64) -> (u64, u64) {
        if self.at_normal_speed() {
            return (self.index_at(t_samples), frames);
        }
        let (first, span) = [self.previous_speed, self.speed, self.target_speed()]
            .into_iter()
            .map(|speed| {
                let at = speed.position(t_samples, self.origin_samples, self.length_samples);
                let reach = reach_samples(speed);
                (
                    (at.index + self.length_samples - reach % self.length_samples)
                        % self.length_samples,
                    frames * speed.step() + 2 * reach + 1,
                )
            })
            .max_by_key(|&(_, span)| span)
            .unwrap_or((0, frames));
        (first, span)
    }

    /// True once a fade-out has completed and the track no longer sounds.
    pub fn is_faded_out(&self) -> bool {
        self.fade.is_idle() && self.fade.target() == 0.0
    }

    /// Adds this track's next `out[0].len()` samples, starting at absolute time `t_samples`, to the
    /// stereo bus `out`. `scratch` (at least as long) holds the track's signal while its effects
    /// run; `declick_frames` is the fade of a loop restarting before or after its audio ends
    /// (5 ms at the engine's rate). Realtime-safe.
    pub fn mix_into(
        &mut self,
        t_samples: u64,
        out: &mut [&mut [f32]; 2],
        scratch: &mut [Box<[f32]>; 2],
        declick_frames: u64,
    ) {
        let frames = out[0].len();
        if self.is_faded_out() {
            // Silent: a crossfade of its reading would be too.
            self.end_outgoing();
            for ramp in [
                &mut self.gain,
                &mut self.pan,
                &mut self.audibility,
                &mut self.reverse,
            ] {
                ramp.skip(frames as u32);
            }
            // Silent: a speed change completes at once.
            self.jump_to_speed(self.target_speed());
            return;
        }
        let restarts = self.content_samples != self.length_samples;
        let normal_speed = self.at_normal_speed();
        if !restarts
            && normal_speed
            && self.outgoing.is_none()
            && self.fx.is_bypassed()
            && self.reverse.is_idle()
            && self.reverse.target() == 0.0
        {
            self.mix_plain(t_samples, out);
            return;
        }
        // The delay's memory is read and written far from where the cache holds anything:
        // its misses overlap the reading and the filter.
        let (_, fx_memory) = self.buffer.audio_and_fx_memory();
        self.fx.prefetch(fx_memory, frames);
        let [left, right] = scratch;
        let (left, right) = (&mut left[..frames], &mut right[..frames]);
        if normal_speed {
            let next = self.read_with_reverse(t_samples, left, right);
            self.prefetch_audio(next, frames);
            if restarts {
                self.apply_restart_fades(t_samples, left, right, declick_frames);
            }
        } else {
            self.read_at_speed(t_samples, left, right, declick_frames);
            let next = self.position_at(t_samples + frames as u64).index as usize;
            self.prefetch_audio(next, frames);
        }
        self.crossfade_outgoing(t_samples, left, right, declick_frames);
        let (_, fx_memory) = self.buffer.audio_and_fx_memory();
        self.fx.process(left, right, fx_memory);
        let source: [&[f32]; 2] = [left, right];
        self.apply_gains(&source, out, 0);
    }

    /// The common case: no effect, forward playback, straight from the buffer to the bus, a run
    /// (up to the next page boundary or the loop's end) at a time.
    fn mix_plain(&mut self, t_samples: u64, out: &mut [&mut [f32]; 2]) {
        let frames = out[0].len();
        let length = self.length_samples as usize;
        let mut index = self.index_at(t_samples) as usize;
        // Split borrows: the gains are a copy, stored back after the runs. The buffer's cursor
        // keeps the current page of both channels (a mono track feeds both sides).
        let mut gains = TrackGains::of(self);
        let mut done = 0;
        while done < frames {
            let runs = self
                .buffer
                .stereo_run(index, (frames - done).min(length - index));
            let run = runs[0].len();
            gains.apply(&runs, out, done);
            done += run;
            index = (index + run) % length;
        }
        gains.store(self);
        self.prefetch_audio(index, frames);
    }

    /// Prefetches the audio the next block of `frames` frames will read from `index` on (up to
    /// the loop's end or the page's), one block ahead: with dozens of loops, each loop's audio
    /// has left the cache by its next block (see [`crate::engine::pages::prefetch`]).
    fn prefetch_audio(&mut self, index: usize, frames: usize) {
        let length = self.length_samples as usize;
        if index < length {
            self.buffer.prefetch(index, frames.min(length - index));
        }
    }

    /// Reads the loop into `left`/`right`, crossfading to the time-reversed loop by `reverse`.
    /// A loop longer than its buffer (a restored or imported loop after the host's tempo slowed
    /// down) is silent past the buffer's end. Returns the loop index that follows the run.
    fn read_with_reverse(&mut self, t_samples: u64, left: &mut [f32], right: &mut [f32]) -> usize {
        let length = self.length_samples as usize;
        let start = self.index_at(t_samples) as usize;
        let next = (start + left.len()) % length;
        let channels = self.buffer.channels();
        if self.reverse.is_idle() && self.reverse.target() == 0.0 {
            // Forward only: contiguous copies.
            for (c, dest) in [left, right].into_iter().enumerate() {
                let source = self.buffer.channel(c.min(channels - 1));
                let (mut index, mut done) = (start, 0);
                while done < dest.len() {
                    let run = (dest.len() - done).min(length - index);
                    source.read(index, &mut dest[done..done + run]);
                    done += run;
                    index = (index + run) % length;
                }
            }
            return next;
        }
        for (c, dest) in [left, right].into_iter().enumerate() {
            let source = self.buffer.channel(c.min(channels - 1));
            let at = |index: usize| source.sample(index);
            let mut reverse = self.reverse;
            for (i, d) in dest.iter_mut().enumerate() {
                let index = (start + i) % length;
                let w = reverse.next_sample();
                *d = crossfade(at(index), at(length - 1 - index), w);
            }
            if c == 1 {
                self.reverse = reverse;
            }
        }
        next
    }

    /// Reads the loop at its speed into `left`/`right`, crossfading from the previous speed's
    /// reading while the speed changes, and to the time-reversed loop by `reverse`; the restart
    /// fades (`fade_frames`, see [`restart_gain`]) shape the audio before it is resampled.
    fn read_at_speed(
        &mut self,
        t_samples: u64,
        left: &mut [f32],
        right: &mut [f32],
        fade_frames: u64,
    ) {
        let frames = left.len();
        let mut done = 0;
        while done < frames {
            if self.speed_fade.is_idle()
                && let Some((speed, blend)) = self.next_speed.take()
            {
                self.start_speed_change(speed, blend);
            }
            let mut run = (frames - done).min(RUN_FRAMES);
            let changing = !self.speed_fade.is_idle();
            if changing {
                // A waiting speed starts exactly where this change ends.
                run = run.min(self.speed_fade.remaining_samples() as usize);
            }
            let t = t_samples + done as u64;
            let (l, r) = (&mut left[done..done + run], &mut right[done..done + run]);
            self.read_run_at(self.speed, t, l, r, fade_frames);
            if changing {
                let mut old = [[0.0f32; RUN_FRAMES]; 2];
                let [old_l, old_r] = &mut old;
                let (old_l, old_r) = (&mut old_l[..run], &mut old_r[..run]);
                self.read_run_at(self.previous_speed, t, old_l, old_r, fade_frames);
                for i in 0..run {
                    let w = self.speed_fade.next_sample();
                    l[i] = crossfade(old_l[i], l[i], w);
                    r[i] = crossfade(old_r[i], r[i], w);
                }
            }
            self.reverse.skip(run as u32);
            done += run;
        }
    }

    /// One run (at most [`RUN_FRAMES`]) of the loop read at `speed` from `t_samples`, forwards,
    /// backwards or crossfading by `reverse` (not advanced: the caller does, once per run).
    fn read_run_at(
        &self,
        speed: Speed,
        t_samples: u64,
        left: &mut [f32],
        right: &mut [f32],
        fade_frames: u64,
    ) {
        let at = speed.position(t_samples, self.origin_samples, self.length_samples);
        let (forward, backward) = match (self.reverse.is_idle(), self.reverse.target()) {
            (true, 0.0) => (true, false),
            (true, 1.0) => (false, true),
            _ => (true, true),
        };
        let channels = self.buffer.channels();
        // A mono loop plays its channel on both sides.
        for c in 0..channels {
            let dest: &mut [f32] = if c == 0 { &mut *left } else { &mut *right };
            let source = self.buffer.channel(c);
            let reader = |reversed: bool| LoopReader {
                read: |index: u64, out: &mut [f32]| {
                    source.read(index as usize, out);
                    if self.content_samples != self.length_samples {
                        for (j, sample) in out.iter_mut().enumerate() {
                            *sample *= restart_gain(
                                index + j as u64,
                                self.content_samples,
                                self.length_samples,
                                fade_frames,
                            );
                        }
                    }
                },
                length_samples: self.length_samples,
                reversed,
            };
            match (forward, backward) {
                (true, false) => reader(false).read_run(speed, at, dest),
                (false, _) => reader(true).read_run(speed, at, dest),
                (true, true) => {
                    let mut back = [0.0f32; RUN_FRAMES];
                    let back = &mut back[..dest.len()];
                    reader(false).read_run(speed, at, dest);
                    reader(true).read_run(speed, at, back);
                    let mut reverse = self.reverse;
                    for (d, &b) in dest.iter_mut().zip(back.iter()) {
                        *d = crossfade(*d, b, reverse.next_sample());
                    }
                }
            }
        }
        if channels == 1 {
            right.copy_from_slice(left);
        }
    }

    /// Declicks a loop whose audio no longer fills its length (after a host tempo change): each
    /// pass fades in over its first `fade_frames` and out over the last ones before the audio
    /// ends or is cut by the loop's restart, silent past the audio. A pure function of the
    /// playback index, so block splits never change it.
    fn apply_restart_fades(
        &self,
        t_samples: u64,
        left: &mut [f32],
        right: &mut [f32],
        fade_frames: u64,
    ) {
        let mut index = self.index_at(t_samples);
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let gain = restart_gain(
                index,
                self.content_samples,
                self.length_samples,
                fade_frames,
            );
            *l *= gain;
            *r *= gain;
            index += 1;
            if index == self.length_samples {
                index = 0;
            }
        }
    }

    /// Crossfades the reading before the last origin jump (forward or reversed as the loop
    /// plays, declicked as `apply_restart_fades` does) out of `left`/`right`, sample by sample:
    /// it lasts a few milliseconds.
    fn crossfade_outgoing(
        &mut self,
        t_samples: u64,
        left: &mut [f32],
        right: &mut [f32],
        fade_frames: u64,
    ) {
        // Off normal speed the old reading is taken at its whole source samples, unfiltered: it
        // only fades out over the declick.
        let speed = self.target_speed();
        let reversed = self.reverse.target() > 0.0;
        let Some(outgoing) = &mut self.outgoing else {
            return;
        };
        let length = outgoing.length_samples;
        // Another version's audio fills its length; the track's own may restart early.
        let content = match outgoing.audio {
            Some(_) => length,
            None => self.content_samples,
        };
        let audio: &TrackAudio = outgoing.audio.as_deref().unwrap_or(self.buffer.audio());
        let channels = audio.channels();
        for (t, (l, r)) in (t_samples..).zip(left.iter_mut().zip(right.iter_mut())) {
            if outgoing.weight.is_idle() {
                break;
            }
            let w = outgoing.weight.next_sample();
            let index = speed.position(t, outgoing.origin_samples, length).index;
            let read = if reversed { length - 1 - index } else { index };
            let gain = if content != length {
                restart_gain(index, content, length, fade_frames)
            } else {
                1.0
            };
            for (c, dest) in [l, r].into_iter().enumerate() {
                let old = audio.channel(c.min(channels - 1)).sample(read as usize) * gain;
                *dest = *dest * (1.0 - w) + old * w;
            }
        }
        if outgoing.weight.is_idle() {
            self.end_outgoing();
        }
    }

    /// Gains and pan from `source` into `out[..][at..]`, advancing the ramps.
    fn apply_gains(&mut self, source: &[&[f32]; 2], out: &mut [&mut [f32]; 2], at: usize) {
        let mut gains = TrackGains::of(self);
        gains.apply(source, out, at);
        gains.store(self);
    }
}

/// A track's gain ramps, copied out so the audio can be borrowed at the same time.
struct TrackGains {
    gain: Ramp,
    pan: Ramp,
    audibility: Ramp,
    fade: Ramp,
}

impl TrackGains {
    fn of(track: &Track) -> Self {
        Self {
            gain: track.gain,
            pan: track.pan,
            audibility: track.audibility,
            fade: track.fade,
        }
    }

    fn store(self, track: &mut Track) {
        track.gain = self.gain;
        track.pan = self.pan;
        track.audibility = self.audibility;
        track.fade = self.fade;
    }

    /// Adds `source` with gain and pan to `out[..][at..]`.
    fn apply(&mut self, source: &[&[f32]; 2], out: &mut [&mut [f32]; 2], at: usize) {
        let run = source[0].len();
        let idle = self.gain.is_idle()
            && self.pan.is_idle()
            && self.audibility.is_idle()
            && self.fade.is_idle();
        if idle {
            let level = self.gain.value() * self.audibility.value() * self.fade.value();
            let pans = balance(self.pan.value());
            for (c, out_channel) in out.iter_mut().enumerate() {
                let g = level * if c == 0 { pans.0 } else { pans.1 };
                for (d, s) in out_channel[at..at + run].iter_mut().zip(source[c]) {
                    *d += s * g;
                }
            }
        } else {
            for i in 0..run {
                let level = self.gain.next_sample()
                    * self.audibility.next_sample()
                    * self.fade.next_sample();
                let (left, right) = balance(self.pan.next_sample());
                // Same association as the idle path, so the result never depends on where a
                // block split falls.
                out[0][at + i] += source[0][i] * (level * left);
                out[1][at + i] += source[1][i] * (level * right);
            }
        }
    }
}

/// The gain at loop index `index` of a loop `length_samples` long whose audio is
/// `content_samples` long (they differ after a host tempo change): each pass fades in over its
/// first `fade_frames` and out over the last ones before the audio ends or is cut by the loop's
/// restart, and is silent past the audio.
pub fn restart_gain(
    index: u64,
    content_samples: u64,
    length_samples: u64,
    fade_frames: u64,
) -> f32 {
    let end = content_samples.min(length_samples);
    if index >= end {
        return 0.0;
    }
    let fade = fade_frames.min(end / 2).max(1) as f32;
    ((index + 1) as f32 / fade)
        .min((end - index) as f32 / fade)
        .min(1.0)
}

/// `from` crossfaded to `to` by `w` (0 ..= 1), each end exactly its own reading.
#[inline]
fn crossfade(from: f32, to: f32, w: f32) -> f32 {
    match w {
        0.0 => from,
        1.0 => to,
        _ => from + (to - from) * w,
    }
}

/// Balance law: centre is unity on both sides, so a loop reproduces its input exactly.
pub fn balance(pan: f32) -> (f32, f32) {
    let pan = pan.clamp(-1.0, 1.0);
    ((1.0 - pan).min(1.0), (1.0 + pan).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::audio::TrackAudio;
    use crate::engine::pages::PAGE_FRAMES;
    use std::sync::Arc;

    fn ramp_track(length: u64, origin: u64) -> Track {
        let up = (0..length).map(|i| i as f32);
        let planar: Vec<f32> = up.clone().chain(up.map(|s| -s)).collect();
        let audio = TrackAudio::from_planar(2, length as usize, &planar).unwrap();
        Track::new(TrackBuffer::with_audio(Arc::new(audio)), length, origin)
    }

    fn render(track: &mut Track, from: u64, sizes: &[usize]) -> Vec<f32> {
        let mut all = Vec::new();
        let mut t = from;
        for &size in sizes {
            let mut left = vec![0.0; size];
            let mut right = vec![0.0; size];
            let mut scratch = [0, 1].map(|_| vec![0.0; size].into_boxed_slice());
            track.mix_into(t, &mut [&mut left, &mut right], &mut scratch, 240);
            all.extend(left);
            t += size as u64;
        }
        all
    }

    #[test]
    fn plays_phase_locked_to_its_origin_across_wraps() {
        let mut track = ramp_track(10, 3);
        let out = render(&mut track, 0, &[25]);
        let expected: Vec<f32> = (0..25).map(|t| ((t + 10 - 3) % 10) as f32).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn plays_across_page_boundaries_at_any_block_size() {
        let length = 3 * PAGE_FRAMES as u64 + 17;
        let expected: Vec<f32> = (0..2 * length)
            .map(|t| ((t + length - 5) % length) as f32)
            .collect();
        for sizes in [
            &[2 * length as usize][..],
            &[1, 4095, 4097, 333, 64, 9000, 7],
        ] {
            let mut track = ramp_track(length, 5);
            let mut out = render(&mut track, 0, sizes);
            out.resize(expected.len(), 0.0);
            let played = sizes.iter().sum::<usize>().min(expected.len());
            assert_eq!(out[..played], expected[..played], "blocks {sizes:?}");
        }
    }

    #[test]
    fn index_at_is_the_euclidean_remainder_of_the_time_since_the_origin() {
        let times = [
            0,
            1,
            5,
            9,
            10,
            11,
            4095,
            4096,
            u64::MAX / 2,
            u64::MAX - 1,
            u64::MAX,
        ];
        for length in [1, 2, 10, 4097, 96_000, u64::MAX / 3, u64::MAX] {
            for &origin in &times {
                let mut track = ramp_track(1, origin);
                track.length_samples = length;
                for &t in &times {
                    let expected = (t as i128 - origin as i128).rem_euclid(length as i128) as u64;
                    assert_eq!(
                        track.index_at(t),
                        expected,
                        "t {t} origin {origin} length {length}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_track_hears_pages_written_while_it_plays() {
        // A capture fills a playing track's pages: the mix must not keep reading the silence it
        // found there before.
        let length = 2 * PAGE_FRAMES as u64;
        let mut track = Track::new(TrackBuffer::try_new(2, length as usize).unwrap(), length, 0);
        assert_eq!(
            render(&mut track, 10, &[64]),
            vec![0.0; 64],
            "no page held yet"
        );
        let samples = (0..length).map(|i| i as f32).collect::<Vec<_>>();
        for c in 0..2 {
            track
                .buffer
                .channel_mut(c)
                .write(0, &samples, &mut crate::engine::pages::Allocate);
        }
        assert_eq!(render(&mut track, 74, &[64]), samples[74..138]);
        // A mono track plays its channel on both sides, across the loop's wrap.
        let mono = TrackAudio::from_planar(1, length as usize, &samples).unwrap();
        let mut track = Track::new(TrackBuffer::with_audio(Arc::new(mono)), length, 0);
        let mut left = vec![0.0; 100];
        let mut right = vec![0.0; 100];
        let mut scratch = [0, 1].map(|_| vec![0.0; 100].into_boxed_slice());
        track.mix_into(length - 50, &mut [&mut left, &mut right], &mut scratch, 240);
        let expected: Vec<f32> = (length - 50..length + 50)
            .map(|t| (t % length) as f32)
            .collect();
        assert_eq!((&left, &right), (&expected, &expected));
    }

    #[test]
    fn block_split_does_not_change_a_ramped_gain() {
        let mut a = ramp_track(10, 0);
        let mut b = ramp_track(10, 0);
        a.gain.ramp_to(0.3, 17);
        b.gain.ramp_to(0.3, 17);
        assert_eq!(
            render(&mut a, 5, &[40]),
            render(&mut b, 5, &[1, 3, 7, 2, 27])
        );
    }

    #[test]
    fn block_split_does_not_change_pan_mute_and_fade_ramps() {
        let mut a = ramp_track(10, 0);
        let mut b = ramp_track(10, 0);
        for track in [&mut a, &mut b] {
            track.pan.ramp_to(0.7, 13);
            track.audibility.ramp_to(0.0, 29);
            track.fade.ramp_to(0.5, 7);
        }
        assert_eq!(
            render(&mut a, 3, &[50]),
            render(&mut b, 3, &[2, 9, 1, 30, 8])
        );
    }

    #[test]
    fn a_loop_cut_short_by_a_tempo_change_keeps_its_restart_fades_at_half_speed() {
        // 6 000 samples of audio restarting every 8 000 (a host tempo change), at x1/2: every
        // other sample is the faded audio at half the position, silence past the audio.
        let (length, content) = (8_000u64, 6_000u64);
        let mut track = ramp_track(length, 0);
        track.content_samples = content;
        track.jump_to_speed(Speed::NORMAL.halved());
        let out = render(&mut track, 0, &[1, 4095, 64, 333, 20_000, 7_507]);
        for (t, &sample) in out.iter().enumerate() {
            let p = (t as u64 % (2 * length)) / 2;
            if t % 2 == 0 {
                let gain = restart_gain(p, content, length, 240);
                assert_eq!(sample, p as f32 * gain, "t={t}");
            } else if p > content + 16 && p < length - 16 {
                assert_eq!(sample, 0.0, "t={t}");
            }
        }
    }

    #[test]
    fn balance_is_unity_at_centre() {
        assert_eq!(balance(0.0), (1.0, 1.0));
        assert_eq!(balance(1.0), (0.0, 1.0));
        assert_eq!(balance(-0.5), (1.0, 0.5));
    }
}
