//! The recorder: record presses, the take, and captures from the history.
//!
//! One take at a time, in an explicit state machine ([`Phase`]):
//!
//! ```text
//! from       event                                         to
//! Idle       press, a boundary just ahead                  Armed
//! Idle       press, now or a boundary just past            Recording (start Undecided when
//!                                                          onset quantization may move it)
//! Idle       "record a cycle, PA muted" trigger            Recording, stop Scheduled a cycle on
//! Armed      the start is due                              Recording
//! Armed      press, undo, clear, cycle reset               Idle
//! Recording  stop press ahead of a boundary, fixed bars    stop Scheduled
//! Recording  free stop press with quantization             stop Deciding
//! Recording  stop at or before now, start Undecided        stop Deferred
//! Recording  the start is decided                          start Decided (a Deferred stop
//!                                                          then applies)
//! Recording  stop due or decided, out of pages             Idle (the take is a track)
//! Recording  undo, clear, a restored session               Idle (the take is dropped)
//! ```
//!
//! While recording, the start may still be undecided (onset quantization moves it to a nearby
//! attack) and the stop goes from *open* (only the length limit ends the take) to *scheduled* (a
//! press snapped ahead to a boundary, a fixed bar count, one cycle of a PA-muted take),
//! *deciding* (a stop press waiting for the analysis) or *deferred* (a stop that came before
//! the start was decided). Every transition is a method here; the schedule holds only the times
//! at which the engine wakes the recorder (`Action::StartTake`, `StopTake`, `QuantizeStart`,
//! `QuantizeStop`), never its state.
//!
//! Onset and beat quantization (behaviour spec section 2): a start press away from any cycle
//! boundary starts the take at once; at the press + `ONSET_WINDOW` + detection latency +
//! `WORKER_MARGIN`, when every onset within the window is final, the start moves to the chosen
//! onset (refilled from the history). With no anchor the stop press is decided the same way (and
//! rounded to whole beats with beat quantization); an anchor take's stop snaps to the cycle.
//!
//! Realtime: everything here runs on the audio thread; it never allocates (take storage comes
//! from the pool's reserve) and waits only when rendering offline.

use super::action::Action;
use super::capture::{FILL_SPEED, HistoryFill};
use super::cycle::{Cycle, WholeBeats, round_to_beats};
use super::pages::PageSource;
use super::pool::Garbage;
use super::provisional::ProvisionalLoop;
use super::quantize::{self, Chosen, Readiness, best_onset, late_attack};
use super::ramp::Ramp;
use super::session_event::SessionEvent;
use super::settings::{CHUNK_FRAMES, EngineSettings, ms_to_samples};
use super::shared::Shared;
use super::status::{EngineMessage, RecordingState};
use super::sync::HostSync;
use super::take::Take;
use super::track::Track;
use crate::analysis::worker::TempoRequest;

/// Where the recorder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// No take, none waiting.
    #[default]
    Idle,
    /// A take starts at this absolute time (a press snapped forward to a boundary).
    Armed { start_samples: u64 },
    /// A take records.
    Recording { start: Start, stop: Stop },
}

/// Whether a recording take's start is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Final.
    Decided,
    /// May still move to an onset near the press at this absolute time.
    Undecided { press_samples: u64 },
}

/// How a recording take will end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Not yet asked for: only the length limit ends it.
    Open,
    /// At this absolute time.
    Scheduled { stop_samples: u64 },
    /// Pressed at this absolute time; the analysis decides where.
    Deciding { press_samples: u64 },
    /// At this time (now or past when it came), once the start is decided.
    Deferred { stop_samples: u64 },
}

/// The recorder's state. Owned by the audio thread.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Where the recorder is; `take` is there exactly while recording.
    phase: Phase,
    /// The take being recorded.
    take: Option<Take>,
    /// Whether the take mutes the PA (a "record one cycle with the PA muted" trigger).
    mutes_pa: bool,
    /// The loop as pressed, sounding from a stop press until the decided track replaces it.
    provisional: Option<ProvisionalLoop>,
    /// Id of the last on-demand tempo request.
    request_id: u64,
    /// The onset the take's start moved to (a late stop press looks for a closing attack as
    /// strong).
    opening: Option<Chosen>,
    /// The last anchor beat quantization made: it describes the anchor while the cycle has its
    /// length (a later anchor of another length, or none, leaves it aside; redo brings it back).
    pub anchor_beats: Option<WholeBeats>,
}

impl Recorder {
    /// Where the recorder is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// What the status shows.
    pub fn recording_state(&self) -> RecordingState {
        match (self.phase, &self.take) {
            (Phase::Armed { start_samples }, _) => RecordingState::Armed { start_samples },
            (_, Some(take)) => RecordingState::Recording {
                start_samples: take.start_samples(),
            },
            _ => RecordingState::Idle,
        }
    }

    /// The take, while recording (host sync moves it with the loops).
    pub fn take_mut(&mut self) -> Option<&mut Take> {
        self.take.as_mut()
    }

    /// Whether a take records.
    pub fn is_recording(&self) -> bool {
        self.take.is_some()
    }

    /// Whether the PA is quiet now: a take records that asks for it, or the player's setting,
    /// until its stop is pressed (the loop then sounds on the PA too, while the take records on
    /// for the decision).
    pub fn pa_quiet(&self, settings: &EngineSettings) -> bool {
        let stop_pressed = matches!(
            self.phase,
            Phase::Recording {
                stop: Stop::Deciding { .. },
                ..
            }
        );
        self.take.is_some() && !stop_pressed && (self.mutes_pa || settings.pa_mute_while_recording)
    }

    /// Adds the pressed loop, while it sounds, to the loop bus `bus` at the engine's time
    /// (`scratch`: two channels, each at least the bus's length). Realtime-safe.
    pub fn mix_provisional(
        &mut self,
        shared: &Shared,
        bus: &mut [&mut [f32]; 2],
        scratch: [&mut [f32]; 2],
    ) {
        let Some(provisional) = &mut self.provisional else {
            return;
        };
        provisional.mix_into(shared.now_samples, &shared.history, bus, scratch);
        if provisional.is_silent() {
            self.provisional = None;
        }
    }

    /// Fades the pressed loop out (the decided track fades in meanwhile, or there is none).
    fn end_provisional(&mut self, shared: &Shared) {
        if let Some(provisional) = &mut self.provisional {
            provisional.fade_out(shared.blend_samples() as u32);
        }
    }

    /// The anchor's whole beats from beat quantization, while the cycle is that anchor's.
    pub fn anchor_beats(&self, cycle: Option<Cycle>) -> Option<WholeBeats> {
        let cycle = cycle?;
        (self.anchor_beats).filter(|beats| beats.length_samples == cycle.length_samples)
    }

    /// Appends a chunk of input to the take. Returns false when the take ran out of pages (it
    /// is sealed: call [`Self::out_of_pages`]).
    pub fn append(&mut self, input: &[&[f32]], pages: &mut impl PageSource) -> bool {
        (self.take.as_mut()).is_none_or(|take| take.append(input, pages))
    }

    // ----- transitions -----

    /// Record pressed (now): starts a take (now, at a boundary just past, or armed for one just
    /// ahead), cancels an armed start, or stops the take.
    pub fn press(&mut self, shared: &mut Shared, sync: &mut HostSync) {
        let now = shared.now_samples;
        match self.phase {
            Phase::Recording { .. } => return self.stop_pressed(shared, sync, now),
            Phase::Armed { .. } => {
                // A second press before a forward-snapped start fires cancels it.
                shared.schedule.cancel(|a| *a == Action::StartTake);
                self.phase = Phase::Idle;
                return;
            }
            Phase::Idle => {}
        }
        let start = match shared.cycle {
            None => match HostSync::host_take_start(shared, now) {
                Some(start) => start,
                None => {
                    // Free: start now; the start may still move to a nearby onset.
                    self.begin(shared, now, false);
                    self.start_pressed(shared, now);
                    return;
                }
            },
            Some(cycle) => {
                let start = cycle.snap(now, shared.lenience_samples());
                if start == now as i64 && cycle.position(now) != 0 {
                    // Away from the boundaries: start now; the start may still move to a
                    // nearby onset, keeping its place in the cycle.
                    self.begin(shared, now, false);
                    self.start_pressed(shared, now);
                    return;
                }
                // A boundary before the engine's time 0 (a cycle restored just now): the take
                // starts at 0, keeping its place in the cycle (nothing was played before).
                start.max(0) as u64
            }
        };
        if start > now {
            shared.schedule_action(start, Action::StartTake);
            self.phase = Phase::Armed {
                start_samples: start,
            };
        } else {
            self.begin(shared, start, false);
        }
    }

    /// The armed start is due.
    pub fn start_due(&mut self, shared: &mut Shared) {
        if let Phase::Armed { .. } = self.phase {
            self.phase = Phase::Idle;
        }
        self.begin(shared, shared.now_samples, false);
    }

    /// A "record one cycle with the PA muted" trigger: a take of exactly one anchor cycle from
    /// now, the PA quiet while it records.
    pub fn record_cycle_muted(&mut self, shared: &mut Shared) {
        let Some(cycle) = shared.cycle else { return };
        if self.take.is_some() {
            return;
        }
        self.begin(shared, shared.now_samples, true);
        if self.take.is_some() {
            self.schedule_stop(shared, shared.now_samples + cycle.length_samples);
        }
    }

    /// Starts a take at `start` (now, or a boundary in the recent past filled from the history).
    fn begin(&mut self, shared: &mut Shared, start_samples: u64, pa_muted: bool) {
        if self.take.is_some() {
            return;
        }
        let Some(buffer) = shared.take_spare() else {
            return;
        };
        // A new take ends the redo history.
        shared.discard_redo();
        self.cancel_decisions(shared);
        let mut take = Take::new(buffer, start_samples);
        if !take.append_from_history(&shared.history, shared.now_samples, &mut shared.pool) {
            shared.say(EngineMessage::TakeOutOfStorage);
        }
        let Some(limit) = shared.take_limit_samples(take.capacity_frames()) else {
            shared.pool.retire_buffer(take.into_buffer());
            shared.say(EngineMessage::TakeStoppedAtLimit);
            return;
        };
        shared.schedule_action(start_samples + limit, Action::StopTake);
        let mut stop = Stop::Open;
        if let Some(end) = HostSync::host_fixed_take_end(shared, start_samples) {
            let end = end.min(start_samples + limit);
            shared.schedule_action(end, Action::StopTake);
            stop = Stop::Scheduled { stop_samples: end };
        }
        self.take = Some(take);
        self.opening = None;
        self.mutes_pa = pa_muted;
        self.phase = Phase::Recording {
            start: Start::Decided,
            stop,
        };
    }

    /// Stop pressed at `now` while recording.
    fn stop_pressed(&mut self, shared: &mut Shared, sync: &mut HostSync, now: u64) {
        let Phase::Recording { stop, .. } = self.phase else {
            return;
        };
        match stop {
            // Deciding or waiting for the start: a second press changes nothing.
            Stop::Deciding { .. } | Stop::Deferred { .. } => return,
            Stop::Open | Stop::Scheduled { .. } => {}
        }
        if self.stop_quantized(shared, now) {
            return;
        }
        let Some(take) = &self.take else { return };
        let start = take.start_samples();
        let limit = shared
            .take_limit_samples(take.capacity_frames())
            .map_or(now, |limit| start + limit);
        let stop = match shared.cycle {
            None => {
                HostSync::host_take_stop(shared, start, now).map_or(now, |stop| stop.min(limit))
            }
            Some(cycle) => {
                let snapped = cycle.snap(now, shared.lenience_samples());
                // Never past the length limit (a restart can move the grid under a take).
                if snapped > start as i64 {
                    (snapped as u64).min(limit)
                } else {
                    now
                }
            }
        };
        self.stop_at(shared, sync, stop);
    }

    /// The scheduled stop (or the length limit) is due.
    pub fn stop_due(&mut self, shared: &mut Shared, sync: &mut HostSync) {
        self.stop_at(shared, sync, shared.now_samples);
    }

    /// The take ran out of pages: it ends cleanly at its last page.
    pub fn out_of_pages(&mut self, shared: &mut Shared, sync: &mut HostSync) {
        if let Some(end) = self.take.as_ref().map(Take::end_samples) {
            self.stop_at(shared, sync, end);
        }
    }

    /// Ends the take at `stop`: later (scheduled) or now or in the past (truncated there, once
    /// its start is decided).
    fn stop_at(&mut self, shared: &mut Shared, sync: &mut HostSync, stop: u64) {
        let Phase::Recording { start, .. } = self.phase else {
            return;
        };
        if stop > shared.now_samples {
            self.schedule_stop(shared, stop);
        } else if let Start::Undecided { .. } = start {
            // Held until the start is decided.
            shared.schedule.cancel(|a| *a == Action::StopTake);
            self.phase = Phase::Recording {
                start,
                stop: Stop::Deferred { stop_samples: stop },
            };
        } else {
            if let Some(take) = &mut self.take {
                let pool = &mut shared.pool;
                take.truncate_at(stop, |page| pool.retire(Garbage::Page(page)));
            }
            self.finish(shared, sync);
        }
    }

    /// Replaces the pending stop with one at `stop_samples` (ahead).
    fn schedule_stop(&mut self, shared: &mut Shared, stop_samples: u64) {
        shared.schedule.cancel(|a| *a == Action::StopTake);
        shared.schedule_action(stop_samples, Action::StopTake);
        if let Phase::Recording { start, .. } = self.phase {
            self.phase = Phase::Recording {
                start,
                stop: Stop::Scheduled { stop_samples },
            };
        }
    }

    /// Ends the take at its current end and turns it into a track: the anchor when there is
    /// none yet.
    fn finish(&mut self, shared: &mut Shared, sync: &mut HostSync) {
        shared.schedule.cancel(|a| *a == Action::StopTake);
        self.cancel_decisions(shared);
        self.end_provisional(shared);
        self.phase = Phase::Idle;
        let Some(mut take) = self.take.take() else {
            return;
        };
        self.mutes_pa = false;
        let limit = shared.take_limit_samples(take.capacity_frames());
        let pool = &mut shared.pool;
        let mut retire = |page| pool.retire(Garbage::Page(page));
        if let Some(limit) = limit {
            // The track must fit its storage whatever happened to the grid meanwhile.
            take.truncate_at(take.start_samples() + limit, &mut retire);
        }
        let take_samples = take.len_frames() as u64;
        let at_limit = limit == Some(take_samples);
        let (length, new_cycle) = match shared.cycle {
            Some(cycle) => {
                // Following the host, the grid may have slipped a sample under the take.
                let slack = sync.host_slip_samples(shared);
                let length = cycle.track_length(take_samples.saturating_sub(slack).max(1));
                let pool = &mut shared.pool;
                take.truncate_at(take.start_samples() + length, |page| {
                    pool.retire(Garbage::Page(page))
                });
                (length, None)
            }
            None => {
                if take_samples < shared.min_anchor_samples() {
                    shared.pool.retire_buffer(take.into_buffer());
                    shared.say(EngineMessage::TakeTooShort);
                    return;
                }
                let cycle = Cycle {
                    origin_samples: take.start_samples(),
                    length_samples: take_samples,
                };
                (take_samples, Some(cycle))
            }
        };
        let blend = shared.blend_samples();
        let mut track = take.into_track(length, blend, &shared.history, &mut shared.pool);
        // The track keeps a table for its own length, not the longest take's.
        track.buffer = shared.pool.fit(track.buffer, length as usize);
        if self.provisional.is_some() {
            // It takes over from the pressed loop with a crossfade.
            track.fade = Ramp::at(0.0);
            track.fade.ramp_to(1.0, blend as u32);
        }
        if shared.push_track(track) {
            if let Some(cycle) = new_cycle {
                shared.set_cycle(new_cycle);
                sync.lock_new_anchor(shared, cycle);
            }
            if at_limit {
                shared.say(EngineMessage::TakeStoppedAtLimit);
            }
        }
    }

    /// Undo: drops the take or the armed start. Returns false when there was neither (the undo
    /// is the track list's).
    pub fn undo(&mut self, shared: &mut Shared) -> bool {
        match self.phase {
            Phase::Recording { .. } => {
                shared.schedule.cancel(|a| *a == Action::StopTake);
                self.discard(shared);
                true
            }
            Phase::Armed { .. } => {
                shared.schedule.cancel(|a| *a == Action::StartTake);
                self.phase = Phase::Idle;
                true
            }
            Phase::Idle => false,
        }
    }

    /// The schedule was emptied of the engine's actions (the cycle was reset): an armed start
    /// is gone, a take records on with nothing pending (its length limit applies at its end).
    pub fn schedule_cleared(&mut self) {
        self.phase = match self.phase {
            Phase::Idle | Phase::Armed { .. } => Phase::Idle,
            Phase::Recording { .. } => Phase::Recording {
                start: Start::Decided,
                stop: Stop::Open,
            },
        };
    }

    /// Drops the take and its pending decisions (clear, a restored session): back to idle.
    /// What else waits in the schedule is the caller's.
    pub fn discard(&mut self, shared: &mut Shared) {
        self.cancel_decisions(shared);
        self.end_provisional(shared);
        if let Some(take) = self.take.take() {
            shared.pool.retire_buffer(take.into_buffer());
        }
        self.mutes_pa = false;
        self.phase = Phase::Idle;
    }

    // ----- onset and beat quantization -----

    /// After a take started at a press away from any cycle boundary (with or without an
    /// anchor): schedules the start's decision.
    fn start_pressed(&mut self, shared: &mut Shared, press: u64) {
        let Phase::Recording { stop, .. } = self.phase else {
            return;
        };
        if quantize::analysis_quantizes(shared) && shared.settings.quantize_mode.onsets() {
            let at = quantize::decision_time(shared, press);
            shared.schedule_action(at, Action::QuantizeStart { press });
            self.phase = Phase::Recording {
                start: Start::Undecided {
                    press_samples: press,
                },
                stop,
            };
        }
    }

    /// A stop press with no anchor: returns true when the stop goes to a quantization decision
    /// (the take records on until then).
    fn stop_quantized(&mut self, shared: &mut Shared, press: u64) -> bool {
        // With an anchor, stops snap to the cycle.
        if !quantize::analysis_quantizes(shared) || shared.cycle.is_some() {
            return false;
        }
        let Phase::Recording { start, .. } = self.phase else {
            return false;
        };
        let mode = shared.settings.quantize_mode;
        if mode.beats()
            && let (Some(take), Some(link)) = (&self.take, &mut shared.analysis)
        {
            self.request_id += 1;
            let _ = link.requests.push(TempoRequest {
                id: self.request_id,
                start_samples: take.start_samples(),
                end_samples: press,
            });
        }
        // A late press may find its closing attack before the press alone.
        let late_press = mode.onsets() && self.opening.is_some();
        let at = if late_press {
            quantize::late_press_time(shared, press)
        } else if mode.onsets() {
            quantize::decision_time(shared, press)
        } else {
            press + ms_to_samples(quantize::WORKER_MARGIN_MS, shared.config.sample_rate_hz) as u64
        };
        shared.schedule_action(at, Action::QuantizeStop { press, late_press });
        self.phase = Phase::Recording {
            start,
            stop: Stop::Deciding {
                press_samples: press,
            },
        };
        // The loop sounds from the press, as pressed, until the decision.
        self.provisional = (self.take.as_ref()).and_then(|take| {
            ProvisionalLoop::new(
                take.start_samples(),
                press,
                shared.blend_samples(),
                &shared.history,
                shared.config.sample_rate_hz,
            )
        });
        true
    }

    /// Decides a pressed start: the take moves to the best onset near the press. A stop that
    /// came meanwhile (a take shorter than the decision's delay) is applied after the move.
    pub fn decide_start(&mut self, shared: &mut Shared, sync: &mut HostSync, press: u64) {
        let Phase::Recording {
            start: Start::Undecided { .. },
            stop,
        } = self.phase
        else {
            return;
        };
        let action = Action::QuantizeStart { press };
        let window = quantize::window_samples(shared);
        let Readiness::Ready(snapshot) =
            quantize::final_snapshot(shared, press, press + window, action, self.request_id)
        else {
            return;
        };
        let deferred_stop = match stop {
            Stop::Deferred { stop_samples } => Some(stop_samples),
            _ => None,
        };
        self.phase = Phase::Recording {
            start: Start::Decided,
            stop: if deferred_stop.is_some() {
                Stop::Open
            } else {
                stop
            },
        };
        if let Some(snapshot) = snapshot
            && let Some(onset) = best_onset(snapshot.onsets(), press, window, press + window)
            && deferred_stop.is_none_or(|stop| onset.time_samples < stop)
        {
            self.move_start(shared, onset.time_samples);
            self.opening = Some(onset);
        }
        if let Some(stop) = deferred_stop {
            self.stop_at(shared, sync, stop);
        }
    }

    /// Restarts the take at `onset` from the history; its length limit's stop moves with it.
    fn move_start(&mut self, shared: &mut Shared, onset: u64) {
        let Some(take) = &mut self.take else { return };
        let old_start = take.start_samples();
        if onset == old_start || !shared.history.holds(onset, shared.now_samples) {
            return;
        }
        take.restart_at(onset);
        if !take.append_from_history(&shared.history, shared.now_samples, &mut shared.pool) {
            shared.say(EngineMessage::TakeOutOfStorage);
        }
        let Some(limit) = shared.take_limit_samples(take.capacity_frames()) else {
            return;
        };
        // An earlier stop than the limit's (an anchor take's stop snapped ahead to a boundary)
        // stays, within the limit.
        let stop = match self.phase {
            Phase::Recording {
                stop: Stop::Scheduled { stop_samples },
                ..
            } if stop_samples != old_start + limit => stop_samples.min(onset + limit),
            _ => onset + limit,
        };
        let stop = stop.max(shared.now_samples);
        shared.schedule.cancel(|a| *a == Action::StopTake);
        shared.schedule_action(stop, Action::StopTake);
        if let Phase::Recording {
            stop: Stop::Scheduled { stop_samples },
            ..
        } = &mut self.phase
        {
            *stop_samples = stop;
        }
    }

    /// Decides a pressed stop: at the best onset near the press, the length rounded to beats.
    /// First, once the onsets up to the press are final, at a closing attack before the press
    /// (a late press); failing one, once the whole window is final.
    pub fn decide_stop(
        &mut self,
        shared: &mut Shared,
        sync: &mut HostSync,
        press: u64,
        late_press: bool,
    ) {
        let Phase::Recording { start, .. } = self.phase else {
            return;
        };
        let action = Action::QuantizeStop { press, late_press };
        let mode = shared.settings.quantize_mode;
        let window = quantize::window_samples(shared);
        let late_stage = self.opening.filter(|_| late_press && mode.onsets());
        let onsets_until = press + if late_stage.is_some() { 0 } else { window };
        let Readiness::Ready(snapshot) =
            quantize::final_snapshot(shared, press, onsets_until, action, self.request_id)
        else {
            return;
        };
        let Some(take) = &self.take else { return };
        let take_start = take.start_samples();
        let closing = snapshot
            .as_ref()
            .filter(|_| mode.onsets())
            .and_then(|snapshot| {
                let onsets = snapshot.onsets();
                match late_stage {
                    Some(opening) => late_attack(onsets, press, window, opening),
                    None => best_onset(onsets, press, window, press + window),
                }
            });
        if late_stage.is_some() && closing.is_none() {
            // Not a late press: the attack may follow the press.
            let at = quantize::decision_time(shared, press).max(shared.now_samples);
            let late_press = false;
            shared.schedule_action(at, Action::QuantizeStop { press, late_press });
            return;
        }
        self.phase = Phase::Recording {
            start,
            stop: Stop::Open,
        };
        let mut stop = press;
        if let Some(onset) = closing
            && onset.time_samples > take_start
        {
            stop = onset.time_samples;
        }
        let mut whole_beats = None;
        if let Some(snapshot) = &snapshot
            && mode.beats()
        {
            // The answer is the take's own tempo, else the tempo heard up to the press (both
            // computed by the worker at the press, whatever its timing).
            let answer = snapshot
                .tempo_answer
                .filter(|answer| answer.id == self.request_id)
                .and_then(|answer| answer.bpm);
            if let Some(bpm) = answer
                && let Some(beats) = round_to_beats(
                    stop - take_start,
                    f64::from(bpm),
                    shared.config.sample_rate_hz,
                )
            {
                stop = take_start + beats.length_samples;
                whole_beats = Some(beats);
            }
        }
        if let Some(limit) = shared.take_limit_samples(take.capacity_frames()) {
            stop = stop.min(take_start + limit);
        }
        // Cut short by the length limit, the loop no longer holds whole beats.
        self.anchor_beats = whole_beats.filter(|b| b.length_samples == stop - take_start);
        shared.session.tell(SessionEvent::Beats(self.anchor_beats));
        self.stop_at(shared, sync, stop);
    }

    /// Drops pending decisions (the take they were about has ended or been replaced).
    fn cancel_decisions(&mut self, shared: &mut Shared) {
        shared.schedule.cancel(|a| {
            matches!(
                a,
                Action::QuantizeStart { .. } | Action::QuantizeStop { .. }
            )
        });
        if let Phase::Recording { .. } = self.phase {
            self.phase = Phase::Recording {
                start: Start::Decided,
                stop: Stop::Open,
            };
        }
    }

    // ----- captures -----

    /// Capture pressed: from the history, the last cycles (or host bars) up to the nearest
    /// boundary become a track; a boundary just ahead is waited for. Pressing again while it
    /// waits cancels it.
    pub fn capture_pressed(shared: &mut Shared, sync: &mut HostSync) {
        if shared.schedule.cancel(|a| *a == Action::Capture) == 0 {
            Self::capture(shared, sync);
        }
    }

    /// Captures now, or schedules the capture at the boundary just ahead.
    pub fn capture(shared: &mut Shared, sync: &mut HostSync) {
        let now = shared.now_samples;
        let cycles = u64::from(
            shared
                .settings
                .capture_cycles
                .clamp(1, 8)
                .next_power_of_two(),
        );
        let (end, length) = match (shared.cycle, shared.host_grid) {
            (Some(cycle), _) => (cycle.nearest_boundary(now), cycle.length_samples * cycles),
            (None, Some(grid)) => (
                grid.nearest_bar(now) as i64,
                (grid.bar_length_samples * cycles as f64).round() as u64,
            ),
            (None, None) => {
                shared.say(EngineMessage::NeedsAnchor);
                return;
            }
        };
        if end > now as i64 {
            shared.schedule_action(end as u64, Action::Capture);
            return;
        }
        // The history must still hold the source and its pre-roll when the copy completes (with
        // room for the copy to start over twice after restarts). A source before time 0 (right
        // after activation, or a cycle restored just now) was never played.
        let blend = shared.blend_samples() as u64;
        let source = end - length as i64;
        let needed = (now as i64 - end) as u64
            + length
            + blend
            + 3 * length / FILL_SPEED
            + CHUNK_FRAMES as u64;
        if length == 0 || source < 0 || needed > shared.history.capacity_frames() as u64 {
            shared.say(EngineMessage::CaptureTooLong);
            return;
        }
        let source = source as u64;
        // A table for the capture's length, else one for the longest take.
        let Some(buffer) =
            (shared.pool.take_fitted(length as usize)).or_else(|| shared.take_spare())
        else {
            return;
        };
        let mut track = Track::new(buffer, length, source);
        track.fill = Some(HistoryFill::new(
            source,
            length,
            track.index_at(now),
            blend,
            &shared.history,
        ));
        if shared.push_track(track) && shared.cycle.is_none() {
            let cycle = Cycle {
                origin_samples: source,
                length_samples: length,
            };
            shared.set_cycle(Some(cycle));
            sync.lock_new_anchor(shared, cycle);
        }
    }
}
