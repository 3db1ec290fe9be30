//! Follows a MIDI beat clock: a steady tempo and the clock's beat position, as a
//! [`HostTransport`].
//!
//! The clock's ticks (0xF8, 24 per quarter note) arrive with a millisecond or so of jitter, from
//! a crystal that is not the audio clock. The engine, fed like a DAW's transport, wants two
//! things the raw ticks do not give:
//! - a tempo that holds still: it takes any change of the reported tempo for a tempo change and
//!   restarts its loops. So the tempo is a least-squares fit over the current stretch of ticks
//!   (up to [`RING_TICKS`]), reported only once its standard error is below [`SETTLE_PPM`], and
//!   then held while the clock plays; a new tempo is taken only when ticks run consistently off
//!   the fit (a real change), and not even then if the new fit agrees with the held tempo (the
//!   clock only jumped in phase). Until it is precise, a new stretch of ticks (after ticks off
//!   the fit, or a clock that was lost) is first fitted at the last precise tempo: if its
//!   first [`PRIOR_SETTLE_TICKS`] ticks lie on that line (a clock re-phased at Start, or sent
//!   only while playing), the held tempo is reported again at once; ticks that then run off it
//!   are a new tempo, measured from scratch (some 5 to 7 s with ±1 ms of jitter, without a grid
//!   meanwhile);
//! - bar lines on the clock's bars, within a fraction of a millisecond for hours, although the
//!   held tempo is never exact (a crystal 50 ppm off moves a bar line 180 ms in an hour). So the
//!   position is not extrapolated from the held tempo: at every block start it is the clock's
//!   beat position by the fit (`pos_beats`), and `pos_samples` is that position on a timeline at
//!   the held tempo. `HostClock` takes such a timeline as given (a timeline that is not
//!   continuous only moves its grid by as much), so the engine's grid follows the clock's phase
//!   sample by sample; the engine's loops, a whole number of bars at the held tempo, drift from
//!   it by the held tempo's error only between two loop boundaries, where the engine realigns
//!   them silently (under 1 ms).
//!
//! Song position (MIDI spec): Start sets it to 0, and the first tick after Start is beat 0;
//! Continue resumes from it (as Stop left it, or as a song position pointer set it while
//! stopped) at the next tick; Stop holds it at the tick that would have come next. A pointer
//! while the clock runs is ignored (devices send Stop, pointer, Continue to jump). Bars start at
//! song position 0. Ticks keep the tempo known while stopped; the held tempo then follows the
//! fit freely (the engine has no grid while stopped), so a clock that ran before Start plays
//! with a tempo from up to [`RING_TICKS`] ticks.
//!
//! Latency: the transport for a block starting at `t` is the fit evaluated at `t`, from every
//! tick delivered so far. The standalone delivers a block's messages before it asks for its
//! transport; their timestamps may lie before `t` (the previous period, as MIDI input usually
//! arrives: the fit extrapolates over a block, where its error is far below a millisecond) or
//! inside the block (it interpolates). Stop, Continue and Start act when delivered, at most a
//! block from their timestamp; playing starts at the first block starting at or after the
//! first tick of a Start or Continue.
//!
//! A clock silent for [`LOST_SECS`] is lost: the transport stops (position held as by Stop) and
//! the tempo is measured afresh (first at the last one, as above); playing resumes only with
//! Start or Continue, as ticks missed meanwhile cannot be counted. Every tick is counted as one:
//! MIDI does not drop bytes, and a tempo change cannot be told from a dropped tick. The first
//! tick after Start or Continue off the fit starts a new stretch at once (a device restarting
//! its clock).
//!
//! Realtime: [`ClockFollower::message`] and [`ClockFollower::transport_at`] run on the audio
//! thread; they never allocate (the ring of recent ticks is allocated by
//! [`ClockFollower::new`]).

use crate::engine::host_clock::HostTransport;

/// Clock ticks per quarter note (MIDI beat clock).
pub const TICKS_PER_QUARTER: f64 = 24.0;
/// Ticks the tempo fit keeps, at most: 42 s at 60 BPM, 12.8 s at 200 BPM.
pub const RING_TICKS: usize = 1024;
/// The tempo is settled (reported to the engine) when the fit's relative standard error is at
/// most this, in parts per million. A loop drifts from the clock by the held tempo's error
/// between two boundaries: three standard errors over a 2-bar loop at 60 BPM (8 s) are 0.5 ms.
pub const SETTLE_PPM: f64 = 20.0;
/// Fewest ticks a settled tempo comes from (two quarter notes).
const SETTLE_MIN_TICKS: usize = 48;
/// A clock silent this long, in seconds, is lost (a tick every 0.5 s is 5 BPM).
pub const LOST_SECS: f64 = 0.5;
/// Tempos the follower believes, in BPM.
const TEMPO_RANGE_BPM: std::ops::RangeInclusive<f64> = 20.0..=400.0;
/// Fewest ticks in a fit that tells a tempo change from jitter.
const DETECT_MIN_TICKS: usize = 12;
/// A tick further off the fit than this many of its residual standard deviations is off the
/// current tempo...
const CHANGE_SIGMAS: f64 = 4.0;
/// ...and at least this far, in seconds (a clean clock's residuals are its timestamps'
/// rounding)...
const CHANGE_FLOOR_SECS: f64 = 0.000_25;
/// ...and this many ticks in a row off on the same side are a new tempo (or phase), not a
/// late or early tick.
const CHANGE_RUN_TICKS: u32 = 3;
/// A new fit within this many standard errors (its and the held tempo's) of the held tempo
/// keeps the held tempo.
const SAME_TEMPO_SIGMAS: f64 = 3.0;
/// Ticks of a new stretch that must lie on the previous tempo's line (to within
/// `PRIOR_SPREAD` and `PRIOR_SLOPE_SIGMAS`) before it is reported again: a quarter note, which
/// with ±1 ms of jitter puts the phase within 0.12 ms and tells a tempo 0.25 % off.
pub const PRIOR_SETTLE_TICKS: usize = 24;
/// How much more the ticks of a new stretch may spread around a line at the previous tempo
/// than the clock's jitter did, to count as that tempo...
const PRIOR_SPREAD: f64 = 1.5;
/// ...and within how many standard errors of their own fit's tempo the previous tempo must lie
/// (a 120 to 121 BPM change is 10 of them after 24 ticks with ±1 ms of jitter).
const PRIOR_SLOPE_SIGMAS: f64 = 3.0;
/// The smallest residual standard deviation a fit assumes, in seconds (a timestamp's rounding),
/// so that a perfect clock still needs [`SETTLE_MIN_TICKS`].
const SIGMA_FLOOR_SECS: f64 = 0.000_01;

/// One received tick.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Tick {
    /// Its number since the follower started (every accepted tick counts).
    index: u64,
    /// Its timestamp in engine time, in samples.
    time_samples: f64,
}

/// A straight line through the current stretch's ticks: `time = mean_samples + (index -
/// mean_index) * tick_samples`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Fit {
    /// Mean tick number of the ticks fitted.
    mean_index: f64,
    /// Mean timestamp of the ticks fitted, in samples.
    mean_samples: f64,
    /// Samples per tick (> 0).
    tick_samples: f64,
    /// Standard deviation of the ticks around the line, in samples (at least the floor).
    sigma_samples: f64,
    /// Standard error of `tick_samples`, relative (0.000 02 is 20 ppm).
    relative_error: f64,
    /// Ticks fitted.
    ticks: usize,
}

impl Fit {
    /// The (fractional) tick number at engine time `t_samples`.
    fn index_at(&self, t_samples: f64) -> f64 {
        self.mean_index + (t_samples - self.mean_samples) / self.tick_samples
    }

    /// The engine time of tick number `index`, in samples.
    fn time_of(&self, index: f64) -> f64 {
        self.mean_samples + (index - self.mean_index) * self.tick_samples
    }

    /// The tempo in BPM at `sample_rate_hz`.
    fn tempo_bpm(&self, sample_rate_hz: f64) -> f64 {
        60.0 * sample_rate_hz / (self.tick_samples * TICKS_PER_QUARTER)
    }
}

/// What the last precise fit knew of the clock: a new stretch of ticks (after a phase jump or
/// a lost clock) that lies on its tempo is followed at once, before its own fit is precise.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Prior {
    /// Samples per tick.
    tick_samples: f64,
    /// Standard deviation of the ticks around the line (their jitter), in samples.
    sigma_samples: f64,
}

/// Where the song is: the tick numbered `tick` is (or was) at song position `quarters`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct SongAnchor {
    /// A tick number.
    tick: u64,
    /// Its song position, in quarter notes.
    quarters: f64,
}

/// Follows a MIDI beat clock and gives the engine its transport. Built off the audio thread;
/// used on it.
#[derive(Debug, Clone)]
pub struct ClockFollower {
    /// The engine's sample rate, in Hz.
    sample_rate_hz: f64,
    /// Beats (quarter notes) in a bar.
    beats_per_bar: u32,
    /// The last [`RING_TICKS`] ticks, tick `i` in slot `i % RING_TICKS`.
    ring: Box<[Tick]>,
    /// The number the next tick gets (ticks received so far).
    ticks_seen: u64,
    /// Number of the first tick of the current stretch of steady tempo.
    stretch_start: u64,
    /// The last tick's timestamp, in samples (`None` before any, or after the clock was lost).
    last_tick_samples: Option<f64>,
    /// The fit of the current stretch, from the ticks before `fitted_ticks`.
    fit: Option<Fit>,
    /// `ticks_seen` when `fit` was made.
    fitted_ticks: u64,
    /// Ticks in a row off the fit: positive late, negative early.
    off_run: i32,
    /// Whether `held_bpm` is the current stretch's (reported to the engine).
    settled: bool,
    /// Whether the current stretch's own fit was precise (and `held_bpm` checked against it).
    confirmed: bool,
    /// The tempo reported, in BPM; kept through a new stretch until it settles, to tell a
    /// phase jump from a tempo change.
    held_bpm: Option<f64>,
    /// Relative standard error of the fit `held_bpm` came from.
    held_error: f64,
    /// The last precise fit's tempo and jitter.
    prior: Option<Prior>,
    /// Whether the current stretch is fitted at the prior's tempo until its own fit is precise.
    use_prior: bool,
    /// Whether the clock runs (after Start or Continue, until Stop).
    running: bool,
    /// While running: the song position of a tick (the first one after Start or Continue).
    anchor: SongAnchor,
    /// Timestamp of the anchor's tick, in samples, once it arrived.
    anchor_samples: Option<f64>,
    /// While stopped: the song position the next Continue starts from, in quarter notes.
    song_quarters: f64,
}

impl ClockFollower {
    /// A follower for an engine at `sample_rate_hz` (48 kHz if that is not a rate), with
    /// `beats_per_bar` quarter notes a bar (clamped to 1..=64). Allocates its ring of ticks.
    pub fn new(sample_rate_hz: f32, beats_per_bar: u32) -> Self {
        let rate = f64::from(sample_rate_hz);
        Self {
            sample_rate_hz: if rate.is_finite() && rate >= 1.0 {
                rate
            } else {
                48_000.0
            },
            beats_per_bar: beats_per_bar.clamp(1, 64),
            ring: vec![Tick::default(); RING_TICKS].into_boxed_slice(),
            ticks_seen: 0,
            stretch_start: 0,
            last_tick_samples: None,
            fit: None,
            fitted_ticks: 0,
            off_run: 0,
            settled: false,
            confirmed: false,
            held_bpm: None,
            held_error: 0.0,
            prior: None,
            use_prior: false,
            running: false,
            anchor: SongAnchor::default(),
            anchor_samples: None,
            song_quarters: 0.0,
        }
    }

    /// Takes in one MIDI message received at engine time `at_samples`: clock (0xF8), Start
    /// (0xFA), Continue (0xFB), Stop (0xFC) and song position pointer (0xF2, `data` its two
    /// bytes); anything else, a tick with a timestamp that is not a time or earlier than the
    /// previous one, and a pointer with bad data are ignored. Realtime-safe.
    pub fn message(&mut self, status_byte: u8, data: &[u8], at_samples: f64) {
        match status_byte {
            0xF8 => self.tick(at_samples),
            0xFA => {
                self.running = true;
                self.anchor = SongAnchor {
                    tick: self.ticks_seen,
                    quarters: 0.0,
                };
                self.anchor_samples = None;
            }
            0xFB if !self.running => {
                self.running = true;
                self.anchor = SongAnchor {
                    tick: self.ticks_seen,
                    quarters: self.song_quarters,
                };
                self.anchor_samples = None;
            }
            0xFC => self.stop(),
            0xF2 if !self.running => {
                if let [lsb @ 0..=0x7F, msb @ 0..=0x7F, ..] = *data {
                    // MIDI beats: sixteenth notes.
                    let sixteenths = u32::from(lsb) | u32::from(msb) << 7;
                    self.song_quarters = f64::from(sixteenths) / 4.0;
                }
            }
            _ => {}
        }
    }

    /// The transport for the block starting at engine time `block_start_samples`, from every
    /// message delivered so far: playing from the first tick after Start or Continue; a tempo
    /// and a position only while the tempo is settled (no grid for the engine before), the
    /// tempo then changing only when the clock's does. Realtime-safe.
    pub fn transport_at(&mut self, block_start_samples: u64) -> HostTransport {
        let t = block_start_samples as f64;
        // A silent clock is lost; a last tick far after the block start was garbage.
        if self
            .last_tick_samples
            .is_some_and(|last| (t - last).abs() > self.lost_samples())
        {
            self.lose_clock();
        }
        if self.fitted_ticks != self.ticks_seen || self.fit.is_none() {
            self.refit();
        }
        let started = self.running && self.anchor_samples.is_some_and(|at| at <= t);
        let held = self.held_bpm.filter(|_| self.settled);
        let quarters = match self.fit.filter(|_| started) {
            Some(fit) => {
                self.anchor.quarters
                    + (fit.index_at(t) - self.anchor.tick as f64) / TICKS_PER_QUARTER
            }
            None if self.running => self.anchor.quarters,
            None => self.song_quarters,
        };
        let bar_quarters = f64::from(self.beats_per_bar);
        HostTransport {
            playing: started,
            tempo_bpm: held,
            time_signature: Some((self.beats_per_bar as i32, 4)),
            pos_samples: held
                .map(|bpm| (quarters * 60.0 / bpm * self.sample_rate_hz).round() as i64),
            pos_beats: held.map(|_| quarters),
            bar_start_pos_beats: held.map(|_| (quarters / bar_quarters).floor() * bar_quarters),
        }
    }

    /// The tempo, in BPM: the held one once settled, else the rough estimate of the ticks so
    /// far (for the editor); `None` without a tempo in 20..=400 BPM.
    pub fn tempo_bpm(&self) -> Option<f64> {
        if self.settled {
            return self.held_bpm;
        }
        self.fit
            .map(|fit| fit.tempo_bpm(self.sample_rate_hz))
            .filter(|bpm| TEMPO_RANGE_BPM.contains(bpm))
    }

    /// Whether the tempo is settled (what the engine gets).
    pub fn settled(&self) -> bool {
        self.settled
    }

    /// [`LOST_SECS`] in samples.
    fn lost_samples(&self) -> f64 {
        LOST_SECS * self.sample_rate_hz
    }

    /// A clock tick at `at_samples`.
    fn tick(&mut self, at_samples: f64) {
        if !(at_samples.is_finite() && at_samples >= 0.0) {
            return;
        }
        if let Some(last) = self.last_tick_samples {
            if at_samples < last {
                return;
            }
            if at_samples - last > self.lost_samples() {
                // A gap: the ticks before it say nothing of the tempo after it. (A running
                // transport was stopped by the block that saw the gap, if any did.)
                self.restart_tempo();
            }
        }
        let index = self.ticks_seen;
        self.watch_for_change(index, at_samples);
        self.ring[index as usize % RING_TICKS] = Tick {
            index,
            time_samples: at_samples,
        };
        self.ticks_seen += 1;
        self.last_tick_samples = Some(at_samples);
        if self.running && index == self.anchor.tick {
            self.anchor_samples = Some(at_samples);
        }
    }

    /// Compares tick `index` at `at_samples` with the fit: a run of ticks off it on one side
    /// starts a new stretch from the first of them. The new stretch is first tried at the
    /// previous tempo (the clock may only have jumped in phase) if the stretch left was
    /// confirmed; a stretch at the previous tempo that runs off it is a new tempo.
    fn watch_for_change(&mut self, index: u64, at_samples: f64) {
        // A line at the prior's tempo is good from a few ticks on.
        let enough = if self.use_prior {
            CHANGE_RUN_TICKS as usize
        } else {
            DETECT_MIN_TICKS
        };
        let Some(fit) = self.fit.filter(|fit| fit.ticks >= enough) else {
            return;
        };
        let residual = at_samples - fit.time_of(index as f64);
        let threshold =
            (CHANGE_SIGMAS * fit.sigma_samples).max(CHANGE_FLOOR_SECS * self.sample_rate_hz);
        let side = if residual > threshold {
            1
        } else if residual < -threshold {
            -1
        } else {
            0
        };
        self.off_run = match side {
            0 => 0,
            _ if side == self.off_run.signum() => self.off_run + side,
            _ => side,
        };
        // Some devices restart their clock at Start or Continue: the first tick after it off
        // the line starts the new stretch at once.
        if self.running && index == self.anchor.tick && side != 0 {
            self.stretch_start = index;
            self.new_stretch(self.confirmed);
        } else if self.off_run.unsigned_abs() >= CHANGE_RUN_TICKS {
            self.stretch_start = index + 1 - u64::from(CHANGE_RUN_TICKS);
            self.new_stretch(self.confirmed);
        }
    }

    /// Forgets the fit: a new stretch of ticks is measured from `stretch_start` on, at the
    /// prior's tempo first if `try_prior`. The held tempo stays (unreported) to be compared
    /// with the new one.
    fn new_stretch(&mut self, try_prior: bool) {
        self.fit = None;
        self.off_run = 0;
        self.settled = false;
        self.confirmed = false;
        self.use_prior = try_prior && self.prior.is_some();
    }

    /// Stop (or a lost clock): the song position held is the next tick's.
    fn stop(&mut self) {
        if self.running {
            self.song_quarters = self.anchor.quarters
                + self.ticks_seen.saturating_sub(self.anchor.tick) as f64 / TICKS_PER_QUARTER;
        }
        self.running = false;
        self.anchor_samples = None;
    }

    /// No tick for [`LOST_SECS`]: stopped, and the tempo is measured afresh.
    fn lose_clock(&mut self) {
        self.stop();
        self.restart_tempo();
    }

    /// Measures the tempo afresh from the next tick on (trying the previous tempo first: a
    /// clock that comes back is often the same).
    fn restart_tempo(&mut self) {
        self.last_tick_samples = None;
        self.stretch_start = self.ticks_seen;
        self.new_stretch(true);
    }

    /// Fits the current stretch's ticks (the last [`RING_TICKS`] of it) and settles or holds
    /// the tempo.
    fn refit(&mut self) {
        self.fitted_ticks = self.ticks_seen;
        let first = self
            .stretch_start
            .max(self.ticks_seen.saturating_sub(RING_TICKS as u64));
        let count = (self.ticks_seen - first) as usize;
        let own = self.fit_ticks(first, count, None);
        let precise = own.filter(|fit| {
            fit.ticks >= SETTLE_MIN_TICKS
                && fit.relative_error <= SETTLE_PPM * 1e-6
                && TEMPO_RANGE_BPM.contains(&fit.tempo_bpm(self.sample_rate_hz))
        });
        match (precise, self.prior.filter(|_| self.use_prior)) {
            (Some(fit), _) => self.take_precise(fit),
            (None, Some(prior)) => {
                let at_prior = self.fit_ticks(first, count, Some(prior.tick_samples));
                let on_line = at_prior.is_some_and(|fit| {
                    fit.ticks >= PRIOR_SETTLE_TICKS
                        && fit.sigma_samples <= PRIOR_SPREAD * prior.sigma_samples
                }) && own.is_some_and(|own| {
                    (prior.tick_samples / own.tick_samples - 1.0).abs()
                        <= PRIOR_SLOPE_SIGMAS * own.relative_error
                });
                if on_line && self.held_bpm.is_some() {
                    self.settled = true;
                }
                // Ticks off the line are judged by the clock's jitter, not by their spread.
                self.fit = at_prior.map(|fit| Fit {
                    sigma_samples: prior.sigma_samples,
                    ..fit
                });
            }
            (None, None) => self.fit = own,
        }
    }

    /// A precise fit of the current stretch: the first one settles the tempo (the held one if
    /// it agrees: a jump in phase is no tempo change for the engine); while stopped every one
    /// is the held tempo (the engine has no grid then).
    fn take_precise(&mut self, fit: Fit) {
        let estimate_bpm = fit.tempo_bpm(self.sample_rate_hz);
        self.fit = Some(fit);
        self.use_prior = false;
        self.prior = Some(Prior {
            tick_samples: fit.tick_samples,
            sigma_samples: fit.sigma_samples,
        });
        let hold = if self.confirmed {
            !self.running
        } else {
            self.confirmed = true;
            self.settled = true;
            let error = fit.relative_error.hypot(self.held_error);
            !self
                .held_bpm
                .is_some_and(|held| (estimate_bpm - held).abs() <= SAME_TEMPO_SIGMAS * error * held)
        };
        if hold {
            self.held_bpm = Some(estimate_bpm);
            self.held_error = fit.relative_error;
        }
    }

    /// The least-squares line through the `count` ticks from number `first` (all in the ring),
    /// of slope `fixed_tick_samples` if given; `None` under three ticks (two at a fixed slope)
    /// or without a forward slope.
    fn fit_ticks(&self, first: u64, count: usize, fixed_tick_samples: Option<f64>) -> Option<Fit> {
        let free_parameters = if fixed_tick_samples.is_some() { 1 } else { 2 };
        if count <= free_parameters {
            return None;
        }
        let ticks = || (first..first + count as u64).map(|i| self.ring[i as usize % RING_TICKS]);
        // Relative to the first tick, so that an hour of samples keeps its precision.
        let base = self.ring[first as usize % RING_TICKS].time_samples;
        let n = count as f64;
        let (sum_x, sum_y) = ticks().fold((0.0, 0.0), |(sx, sy), tick| {
            (
                sx + (tick.index - first) as f64,
                sy + (tick.time_samples - base),
            )
        });
        let (mean_x, mean_y) = (sum_x / n, sum_y / n);
        let (sxx, sxy, syy) = ticks().fold((0.0, 0.0, 0.0), |(sxx, sxy, syy), tick| {
            let x = (tick.index - first) as f64 - mean_x;
            let y = tick.time_samples - base - mean_y;
            (sxx + x * x, sxy + x * y, syy + y * y)
        });
        let tick_samples = fixed_tick_samples.unwrap_or(sxy / sxx);
        if !(tick_samples.is_finite() && tick_samples > 0.0) {
            return None;
        }
        // Around a line through the means of slope `tick_samples`.
        let residual_squares =
            (syy - 2.0 * tick_samples * sxy + tick_samples * tick_samples * sxx).max(0.0);
        let sigma_samples = (residual_squares / (n - free_parameters as f64))
            .sqrt()
            .max(SIGMA_FLOOR_SECS * self.sample_rate_hz);
        Some(Fit {
            mean_index: first as f64 + mean_x,
            mean_samples: base + mean_y,
            tick_samples,
            sigma_samples,
            relative_error: sigma_samples / sxx.sqrt() / tick_samples,
            ticks: count,
        })
    }
}
