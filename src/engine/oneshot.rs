//! One-shots: a phrase captured from the history into one of [`PADS`] pads, played once from
//! its attack when its pad is struck.
//!
//! Capture. A press decides once the analysis' onsets up to the press are final (the same wait
//! as a late record press, see `quantize::late_press_time`). Of those onsets, the *strong* ones
//! (at least [`STRONG_SHARE`] of the strongest's strength) are phrase starts:
//! - with a beat grid (the host's beats, else the anchor's), the phrase is
//!   `one_shot_beats` beats long (0: one bar, the grid's beats per bar) and starts at the latest
//!   strong onset whose phrase ends by the press;
//! - without one, it runs from the latest strong onset that has a next one before the press up to
//!   that next one (without a next one, up to the press), at most [`MAX_ONE_SHOT_SECS`];
//! - without any strong onset it ends at the press: `[press - length, press)`, the length being
//!   the grid's (else [`FALLBACK_SECS`]).
//!
//! The one-shot starts exactly at the onset (no lead-in: it starts on the attack), and fades out
//! over its last declick samples (nothing changes when it ends in silence). The audio is copied
//! from the history over the next blocks as captures are (a bounded amount per block, into
//! pages from the pool); a strike before the copy is complete is ignored.
//!
//! Playback. A strike starts a voice at the strike's sample, from the one-shot's first frame, at
//! `velocity / 127` (linear). Striking again while it plays fades the old voice out over the
//! declick length while the new one starts, so a pad sounds at most two voices. Voices play on
//! the loop bus (PA and headphones, like the loops).
//!
//! Realtime: everything here runs on the audio thread and never allocates; what a pad no longer
//! needs goes back to the pool keeper.

use std::sync::Arc;

use super::action::Action;
use super::audio::{TrackAudio, TrackBuffer};
use super::command::Command;
use super::history::History;
use super::metronome::BeatGrid;
use super::pages::PageSource;
use super::pool::TrackPool;
use super::quantize::{self, Readiness};
use super::ramp::{Ramp, seam_weight};
use super::session::SessionOut;
use super::session_event::SessionEvent;
use super::shared::Shared;
use super::status::EngineMessage;
use crate::analysis::snapshot::{AnalysisSnapshot, SNAPSHOT_ONSETS, TimedOnset};

/// Pads a player can strike.
pub const PADS: usize = 8;
/// An onset this share of the strongest one's strength (or more) can start a phrase.
pub const STRONG_SHARE: f32 = 0.5;
/// Longest one-shot without a beat grid, in seconds.
pub const MAX_ONE_SHOT_SECS: f32 = 8.0;
/// A one-shot's length without a beat grid and without onsets, in seconds.
pub const FALLBACK_SECS: f32 = 1.0;
/// Frames copied per frame processed while a one-shot fills.
const FILL_SPEED: usize = 32;

/// Which pad a one-shot command is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadTarget {
    /// Pad n (0-7).
    Pad(u8),
    /// Capture: the first empty pad (all full: the one after the pad captured last). Clear:
    /// nothing.
    NextFree,
    /// The pad captured last.
    LastCaptured,
}

/// Where a phrase lies in the history, in absolute samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phrase {
    /// Its first sample (the attack).
    pub start_samples: u64,
    /// Its length.
    pub length_samples: u64,
}

/// The phrase a capture pressed at `press_samples` takes, by the rule of the module
/// documentation. `onsets` are the final onsets (any order; those after the press are left
/// out); `grid` is the beat grid, if any; `one_shot_beats` the setting (0: a bar).
pub fn choose_phrase(
    onsets: &[TimedOnset],
    press_samples: u64,
    grid: Option<BeatGrid>,
    one_shot_beats: u32,
    sample_rate_hz: f32,
) -> Phrase {
    let press = press_samples as f64;
    let before_press = || {
        onsets
            .iter()
            .filter(move |o| o.time_samples >= 0.0 && o.time_samples < press)
    };
    let strongest = before_press().fold(0.0f32, |max, o| max.max(o.strength));
    // The strong onsets' times, sorted (no allocation: a snapshot holds at most this many).
    let mut strong = [0.0f64; SNAPSHOT_ONSETS];
    let mut count = 0;
    for onset in
        before_press().filter(|o| o.strength > 0.0 && o.strength >= STRONG_SHARE * strongest)
    {
        if count < strong.len() {
            strong[count] = onset.time_samples.round();
            count += 1;
        }
    }
    let strong = &mut strong[..count];
    strong.sort_unstable_by(f64::total_cmp);
    let seconds = |secs: f32| {
        (f64::from(secs) * f64::from(sample_rate_hz))
            .round()
            .max(1.0)
    };
    let grid_length = grid.map(|grid| {
        let beats = if one_shot_beats == 0 {
            grid.beats_per_bar.max(1)
        } else {
            one_shot_beats
        };
        (grid.beat_samples * f64::from(beats)).round().max(1.0)
    });
    let phrase = |start: f64, length: f64| Phrase {
        start_samples: start.max(0.0) as u64,
        length_samples: length.max(1.0) as u64,
    };
    match grid_length {
        Some(length) => match strong.iter().rev().find(|&&start| start + length <= press) {
            Some(&start) => phrase(start, length),
            None => phrase(press - length, length),
        },
        None => {
            let longest = seconds(MAX_ONE_SHOT_SECS);
            match strong {
                [] => {
                    let length = seconds(FALLBACK_SECS);
                    phrase(press - length, length)
                }
                [.., start, end] => phrase(*start, (*end - *start).min(longest)),
                [start] => phrase(*start, (press - *start).min(longest)),
            }
        }
    }
}

/// A capture pressed now: decided once the onsets up to the press are final (at once without
/// the analysis).
pub fn capture_pressed(shared: &mut Shared, target: PadTarget) {
    let press = shared.now_samples;
    if shared.analysis.is_some() {
        let at = quantize::late_press_time(shared, press);
        shared.schedule_action(at, Action::CaptureOneShot { target, press });
    } else {
        decide_capture(shared, target, press);
    }
}

/// A strike or a clear of the pads (`StrikeOneShot`, `ClearOneShot`, `ClearOneShots`), now,
/// voices fading over the declick; other commands are not the pads'.
pub fn strike_or_clear(shared: &mut Shared, command: Command) {
    let fade = shared.declick_samples() as u32;
    let Shared {
        one_shots,
        pool,
        session,
        ..
    } = shared;
    match command {
        Command::StrikeOneShot { pad, velocity } => one_shots.strike(pad, velocity, fade, pool),
        Command::ClearOneShot(target) => one_shots.clear(target, fade, pool, session),
        Command::ClearOneShots => one_shots.clear_all(fade, pool, session),
        _ => {}
    }
}

/// Chooses the phrase of a capture pressed at `press` and starts copying it into the pad.
pub fn decide_capture(shared: &mut Shared, target: PadTarget, press: u64) {
    let action = Action::CaptureOneShot { target, press };
    let ready = |snapshot: &AnalysisSnapshot| snapshot.final_until_samples >= press;
    let snapshot = match quantize::snapshot_when(shared, press, action, ready) {
        Readiness::Ready(snapshot) => snapshot,
        Readiness::Retrying => return,
    };
    let onsets = snapshot.as_ref().map_or(&[][..], |s| s.onsets());
    let grid = shared.output.metronome.grid;
    let rate = shared.config.sample_rate_hz;
    let mut phrase = choose_phrase(onsets, press, grid, shared.settings.one_shot_beats, rate);
    // Never past what the history holds now, nor longer than it.
    let held_until = shared.history.end_samples();
    phrase.length_samples = phrase
        .length_samples
        .min(held_until.saturating_sub(phrase.start_samples))
        .min(shared.history.capacity_frames() as u64);
    let end = phrase.start_samples + phrase.length_samples;
    if phrase.length_samples == 0 || !shared.history.holds(phrase.start_samples, end) {
        shared.say(EngineMessage::CaptureTooLong);
        return;
    }
    let frames = phrase.length_samples as usize;
    let buffer = match shared.pool.take_fitted(frames) {
        Some(buffer) => buffer,
        None => match shared.take_spare() {
            Some(buffer) => buffer,
            None => return,
        },
    };
    let fade = shared.declick_samples();
    let Shared {
        one_shots,
        pool,
        session,
        ..
    } = shared;
    one_shots.capture(target, phrase, buffer, fade, pool, session);
}

/// One voice of a pad: the one-shot playing once from its start.
#[derive(Debug)]
struct Voice {
    /// A reference to the pad's audio while the voice plays (`None`: silent).
    buffer: Option<TrackBuffer>,
    /// Frames the one-shot lasts.
    length_frames: usize,
    /// The next frame to play.
    position_frames: usize,
    /// Level (linear: velocity / 127).
    level: f32,
    /// 1 while playing, ramping to 0 when a retrigger or a clear fades it out.
    fade: Ramp,
}

impl Voice {
    const SILENT: Self = Self {
        buffer: None,
        length_frames: 0,
        position_frames: 0,
        level: 0.0,
        fade: Ramp::at(1.0),
    };

    /// Adds the next `frames` of the voice to `bus` (stereo); hands its buffer back when done.
    fn mix_into(&mut self, bus: &mut [&mut [f32]; 2], frames: usize, pool: &mut TrackPool) {
        let Some(buffer) = &mut self.buffer else {
            return;
        };
        let mut done = 0;
        while done < frames && self.position_frames < self.length_frames {
            let max = (frames - done).min(self.length_frames - self.position_frames);
            let [left, right] = buffer.stereo_run(self.position_frames, max);
            let run = left.len();
            for i in 0..run {
                let gain = self.level * self.fade.next_sample();
                bus[0][done + i] += left[i] * gain;
                bus[1][done + i] += right[i] * gain;
            }
            done += run;
            self.position_frames += run;
        }
        let faded_out = self.fade.is_idle() && self.fade.target() == 0.0;
        if self.position_frames >= self.length_frames || faded_out {
            self.stop(pool);
        }
    }

    /// Silences the voice at once, handing its buffer back.
    fn stop(&mut self, pool: &mut TrackPool) {
        if let Some(buffer) = self.buffer.take() {
            pool.retire_buffer(buffer);
        }
    }

    /// Fades the voice out over `fade_samples`.
    fn fade_out(&mut self, fade_samples: u32) {
        if self.buffer.is_some() {
            self.fade.ramp_to(0.0, fade_samples);
        }
    }
}

/// A pad's one-shot.
#[derive(Debug)]
struct Sound {
    /// Its audio (only this pad writes it, while it fills; then it is shared).
    buffer: TrackBuffer,
    /// Frames it lasts.
    length_frames: usize,
    /// The copy from the history while it is in progress.
    fill: Option<Fill>,
}

/// A copy in progress from the history into a one-shot.
#[derive(Debug, Clone, Copy)]
struct Fill {
    /// Absolute time of the one-shot's first frame.
    source_start_samples: u64,
    /// Frames copied so far (from the start).
    copied_frames: usize,
    /// Frames of the fade-out at the end.
    fade_frames: usize,
}

/// One pad: its one-shot, if any, and its two voices.
#[derive(Debug)]
struct Pad {
    /// The one-shot (`None`: empty).
    sound: Option<Sound>,
    /// The voice struck last and the one fading out before it.
    voices: [Voice; 2],
    /// Which of `voices` was struck last.
    newest: usize,
}

impl Pad {
    const EMPTY: Self = Self {
        sound: None,
        voices: [Voice::SILENT, Voice::SILENT],
        newest: 0,
    };
}

/// What the editor shows of a pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PadStatus {
    /// The one-shot's length in samples (0: the pad is empty).
    pub length_samples: u64,
    /// Still copying from the history (a strike is ignored until it is done).
    pub filling: bool,
    /// A voice is sounding.
    pub playing: bool,
}

/// A pad's one-shot as the session mirror saves it (and restores it).
#[derive(Debug, Clone)]
pub struct SavedOneShot {
    /// The audio (at least `length_frames` per channel).
    pub audio: Arc<TrackAudio>,
    /// Frames it lasts.
    pub length_frames: u64,
}

/// The pads.
#[derive(Debug)]
pub struct OneShots {
    /// Every pad.
    pads: [Pad; PADS],
    /// The pad captured last (what `PadTarget::LastCaptured` addresses).
    last_captured: Option<usize>,
}

impl Default for OneShots {
    fn default() -> Self {
        Self {
            pads: [const { Pad::EMPTY }; PADS],
            last_captured: None,
        }
    }
}

impl OneShots {
    /// The pad `target` names, for a capture (`capture`) or another command.
    fn resolve(&self, target: PadTarget, capture: bool) -> Option<usize> {
        match target {
            PadTarget::Pad(n) => (usize::from(n) < PADS).then_some(usize::from(n)),
            PadTarget::LastCaptured => self.last_captured,
            PadTarget::NextFree if capture => self
                .pads
                .iter()
                .position(|pad| pad.sound.is_none())
                .or_else(|| Some(self.last_captured.map_or(0, |last| (last + 1) % PADS))),
            PadTarget::NextFree => None,
        }
    }

    /// Starts copying `phrase` from the history into the pad `target` names (replacing its
    /// one-shot; voices still sounding play the old one to their end). `buffer` holds at least
    /// the phrase; `fade_frames` is the fade-out at its end.
    pub fn capture(
        &mut self,
        target: PadTarget,
        phrase: Phrase,
        buffer: TrackBuffer,
        fade_frames: usize,
        pool: &mut TrackPool,
        session: &mut SessionOut,
    ) {
        let Some(index) = self.resolve(target, true) else {
            pool.retire_buffer(buffer);
            return;
        };
        self.drop_sound(index, pool, session);
        let length_frames = phrase.length_samples as usize;
        self.pads[index].sound = Some(Sound {
            buffer,
            length_frames,
            fill: Some(Fill {
                source_start_samples: phrase.start_samples,
                copied_frames: 0,
                fade_frames: fade_frames.min(length_frames),
            }),
        });
        self.last_captured = Some(index);
    }

    /// Starts the pad's one-shot at the current sample at `velocity` (1-127; 0 does nothing),
    /// fading out the voice still sounding over `fade_samples`.
    pub fn strike(&mut self, pad: u8, velocity: u8, fade_samples: u32, pool: &mut TrackPool) {
        let Some(pad) = self.pads.get_mut(usize::from(pad)) else {
            return;
        };
        let Some(sound) = pad.sound.as_ref().filter(|sound| sound.fill.is_none()) else {
            return;
        };
        if velocity == 0 {
            return;
        }
        let old = pad.newest;
        let new = 1 - old;
        pad.voices[old].fade_out(fade_samples);
        // The voice before the old one is still fading out only after a double retrigger
        // within the fade: it stops here so that two voices at most sound.
        pad.voices[new].stop(pool);
        pad.voices[new] = Voice {
            buffer: Some(TrackBuffer::with_audio(sound.buffer.share())),
            length_frames: sound.length_frames,
            position_frames: 0,
            level: f32::from(velocity.min(127)) / 127.0,
            fade: Ramp::at(1.0),
        };
        pad.newest = new;
    }

    /// Empties the pad `target` names, fading its voices out over `fade_samples`.
    pub fn clear(
        &mut self,
        target: PadTarget,
        fade_samples: u32,
        pool: &mut TrackPool,
        session: &mut SessionOut,
    ) {
        if let Some(index) = self.resolve(target, false) {
            for voice in &mut self.pads[index].voices {
                voice.fade_out(fade_samples);
            }
            self.drop_sound(index, pool, session);
        }
    }

    /// Empties every pad, fading the voices out over `fade_samples`.
    pub fn clear_all(&mut self, fade_samples: u32, pool: &mut TrackPool, session: &mut SessionOut) {
        for index in 0..PADS {
            self.clear(PadTarget::Pad(index as u8), fade_samples, pool, session);
        }
        self.last_captured = None;
    }

    /// Hands a pad's one-shot back and tells the mirror.
    fn drop_sound(&mut self, index: usize, pool: &mut TrackPool, session: &mut SessionOut) {
        if let Some(sound) = self.pads[index].sound.take() {
            pool.retire_buffer(sound.buffer);
            session.tell(SessionEvent::OneShotCleared { pad: index as u8 });
        }
        if self.last_captured == Some(index) && self.pads[index].sound.is_none() {
            self.last_captured = None;
        }
    }

    /// Copies the next stretch of every filling one-shot (at most `FILL_SPEED` frames per
    /// frame of `frames`), announcing each complete one to the mirror. Returns false when the
    /// page reserve ran dry (the copy goes on when pages come).
    pub fn advance_fills(
        &mut self,
        history: &History,
        frames: usize,
        pool: &mut TrackPool,
        session: &mut SessionOut,
    ) -> bool {
        let mut pages_ran_out = false;
        for (index, pad) in self.pads.iter_mut().enumerate() {
            let Some(sound) = &mut pad.sound else {
                continue;
            };
            let Some(fill) = &mut sound.fill else {
                continue;
            };
            let budget = (frames * FILL_SPEED).max(1);
            if !copy_from_history(
                &mut sound.buffer,
                sound.length_frames,
                fill,
                history,
                budget,
                pool,
            ) {
                pages_ran_out = true;
            }
            if fill.copied_frames >= sound.length_frames {
                sound.fill = None;
                session.tell(SessionEvent::OneShot {
                    pad: index as u8,
                    saved: SavedOneShot {
                        audio: sound.buffer.share(),
                        length_frames: sound.length_frames as u64,
                    },
                });
            }
        }
        !pages_ran_out
    }

    /// Adds the next `frames` of every sounding voice to `bus` (stereo).
    pub fn mix_into(&mut self, bus: &mut [&mut [f32]; 2], frames: usize, pool: &mut TrackPool) {
        for pad in &mut self.pads {
            for voice in &mut pad.voices {
                voice.mix_into(bus, frames, pool);
            }
        }
    }

    /// What the editor shows of each pad.
    pub fn status(&self) -> [PadStatus; PADS] {
        std::array::from_fn(|index| {
            let pad = &self.pads[index];
            PadStatus {
                length_samples: pad.sound.as_ref().map_or(0, |s| s.length_frames as u64),
                filling: pad.sound.as_ref().is_some_and(|s| s.fill.is_some()),
                playing: pad.voices.iter().any(|voice| voice.buffer.is_some()),
            }
        })
    }

    /// A complete one-shot's samples, per channel (both sides of a mono one).
    #[cfg(test)]
    pub fn samples_for_test(&self, pad: usize) -> Option<[Vec<f32>; 2]> {
        let sound = self.pads[pad].sound.as_ref().filter(|s| s.fill.is_none())?;
        let last = sound.buffer.channels() - 1;
        Some([0, last].map(|c| sound.buffer.to_vec(c, sound.length_frames)))
    }

    /// Tells the mirror every complete one-shot again (after its queue overflowed).
    pub fn resend(&self, session: &mut SessionOut) {
        for (index, pad) in self.pads.iter().enumerate() {
            if let Some(sound) = pad.sound.as_ref().filter(|s| s.fill.is_none()) {
                session.tell(SessionEvent::OneShot {
                    pad: index as u8,
                    saved: SavedOneShot {
                        audio: sound.buffer.share(),
                        length_frames: sound.length_frames as u64,
                    },
                });
            }
        }
    }

    /// Replaces every pad by a restored session's (taking them out of `restored`): the voices
    /// stop (the loop bus is faded out meanwhile) and what they held goes back to the keeper.
    pub fn install(&mut self, restored: &mut [Option<SavedOneShot>; PADS], pool: &mut TrackPool) {
        for (pad, saved) in self.pads.iter_mut().zip(restored.iter_mut()) {
            for voice in &mut pad.voices {
                voice.stop(pool);
            }
            if let Some(sound) = pad.sound.take() {
                pool.retire_buffer(sound.buffer);
            }
            pad.sound = saved.take().and_then(|saved| {
                let length_frames = saved.length_frames as usize;
                let fits = length_frames > 0 && length_frames <= saved.audio.capacity_frames();
                let buffer = TrackBuffer::with_audio(saved.audio);
                if !fits {
                    pool.retire_buffer(buffer);
                    return None;
                }
                Some(Sound {
                    buffer,
                    length_frames,
                    fill: None,
                })
            });
        }
        self.last_captured = None;
    }
}

/// Copies up to `budget` more frames of `fill` from the history into `buffer`, fading the last
/// `fill.fade_frames` out. Returns false when the page reserve ran dry.
fn copy_from_history(
    buffer: &mut TrackBuffer,
    length_frames: usize,
    fill: &mut Fill,
    history: &History,
    budget: usize,
    pages: &mut impl PageSource,
) -> bool {
    let from = fill.copied_frames;
    let wanted = budget.min(length_frames - from);
    let run = buffer.reserve(from, wanted, pages);
    let fade_start = length_frames - fill.fade_frames;
    for c in 0..buffer.channels() {
        let channel = buffer.channel_mut(c);
        let source = fill.source_start_samples;
        channel.for_each_run_mut(from, run, |at, samples| {
            history.read(c, source + at as u64, samples);
            for (i, sample) in samples.iter_mut().enumerate() {
                let index = at + i;
                if index >= fade_start {
                    *sample *= 1.0 - seam_weight(index - fade_start, fill.fade_frames);
                }
            }
        });
    }
    fill.copied_frames += run;
    run == wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onset(time_samples: f64, strength: f32) -> TimedOnset {
        TimedOnset {
            time_samples,
            strength,
        }
    }

    const RATE: f32 = 48_000.0;

    #[test]
    fn with_a_grid_the_phrase_is_a_bar_from_the_latest_strong_onset_that_fits() {
        let grid = BeatGrid {
            origin_samples: 0.0,
            beat_samples: 24_000.0,
            beats_per_bar: 4,
        };
        let onsets = [
            onset(10_000.0, 1.0),
            onset(20_000.0, 0.2),
            onset(30_000.0, 0.9),
            onset(200_000.0, 1.0),
        ];
        // A bar is 96 000 samples: 30 000 fits before 130 000, 200 000 is after the press.
        let phrase = choose_phrase(&onsets, 130_000, Some(grid), 0, RATE);
        assert_eq!(
            (phrase.start_samples, phrase.length_samples),
            (30_000, 96_000)
        );
        // Two beats: the weak onset at 20 000 is no phrase start.
        let phrase = choose_phrase(&onsets, 70_000, Some(grid), 2, RATE);
        assert_eq!(
            (phrase.start_samples, phrase.length_samples),
            (10_000, 48_000)
        );
        // No onset fits: the bar before the press.
        let phrase = choose_phrase(&onsets, 100_000, Some(grid), 0, RATE);
        assert_eq!(
            (phrase.start_samples, phrase.length_samples),
            (4_000, 96_000)
        );
    }

    #[test]
    fn without_a_grid_the_phrase_runs_to_the_next_strong_onset() {
        let onsets = [
            onset(10_000.0, 1.0),
            onset(30_000.0, 0.9),
            onset(40_000.0, 0.1),
            onset(55_000.0, 0.8),
        ];
        let phrase = choose_phrase(&onsets, 60_000, None, 0, RATE);
        assert_eq!(
            (phrase.start_samples, phrase.length_samples),
            (30_000, 25_000)
        );
        let phrase = choose_phrase(&onsets[..1], 60_000, None, 0, RATE);
        assert_eq!(
            (phrase.start_samples, phrase.length_samples),
            (10_000, 50_000)
        );
        let phrase = choose_phrase(&[], 60_000, None, 0, RATE);
        assert_eq!(
            (phrase.start_samples, phrase.length_samples),
            (12_000, 48_000)
        );
    }
}
