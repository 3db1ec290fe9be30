//! Ableton Link's session as the engine's transport, and the tempo Loopmate proposes to it: the
//! maths alone, framework-free (the Link session itself is the standalone's `link` feature, see
//! `standalone::link`).
//!
//! Link gives, for any host time, a beat position whose phase against the quantum is shared by
//! every peer, and the session tempo. With the quantum = beats per bar, the session's bar lines
//! are where the phase is 0. [`link_transport`] turns the beat position at a period's first
//! output sample into a [`HostTransport`], the same path a DAW's transport and the MIDI clock
//! follower take: the musical position is Link's beat position (exact, never rounded), and the
//! timeline position in samples is that position on a timeline at the session tempo, as the
//! MIDI clock follower does. `HostClock` then finds the exact grid from the first period
//! (position and timeline agree on quarter 0), and moves it with Link's phase from period to
//! period (Link compensates clock drift between peers by bending beat time slightly), so the
//! engine's loops follow the session's bar lines; a tempo change is a new stretch of the grid,
//! on the same beat positions.
//!
//! Link works in host time (microseconds of the system's clock), the engine in samples. A period's
//! callback reads the host clock when it runs, which is late by however long the system took to
//! wake it: a little, and on a loaded machine now and then tens of milliseconds. [`HostTimeMap`]
//! takes that out: the lateness is one-sided, so the earliest readings of the last second, on the
//! sample clock, are the period starts.
//!
//! Realtime: [`link_transport`], [`TempoProposal::propose`] and [`HostTimeMap::host_micros`] run
//! on the audio thread once a period; they never allocate.

use crate::engine::host_clock::HostTransport;

/// Tempos Link accepts, in BPM (Ableton's range; the session clamps to it).
pub const LINK_TEMPO_RANGE_BPM: std::ops::RangeInclusive<f64> = 20.0..=999.0;
/// An anchor tempo this close to the session's, in BPM, is the session's (an anchor recorded on
/// Link's bars has its tempo up to a few ppm off, from rounding its length to whole samples):
/// proposing it would restart every peer's loops for nothing.
pub const PROPOSE_TOLERANCE_BPM: f64 = 0.01;

/// Readings of the host clock [`HostTimeMap`] keeps, at most (a second of 48-sample periods at
/// 48 kHz; shorter periods keep less than a second).
pub const HOST_TIME_READINGS: usize = 1024;
/// How far back [`HostTimeMap`] looks for the earliest reading, in seconds. The audio clock may
/// drift from the host's by up to some 100 ppm, which biases the estimate by at most this times
/// the drift (0.1 ms); a callback late for longer than this all along is taken as on time.
pub const HOST_TIME_WINDOW_SECS: f64 = 1.0;

/// Maps engine time (samples) to host time (microseconds) from the host clock read at each
/// period's start: a line at the nominal rate through the earliest of the recent readings
/// (the least late), so that wake-up delays, however long, never move it.
///
/// The earliest is a sliding minimum kept in a monotonic queue: each reading enters once and
/// leaves once, so a period costs O(1) amortized, not a scan of the window.
#[derive(Debug, Clone)]
pub struct HostTimeMap {
    /// Microseconds per sample at the nominal rate.
    micros_per_sample: f64,
    /// [`HOST_TIME_WINDOW_SECS`] in samples.
    window_samples: f64,
    /// The queue, in a ring: readings that may still be the window's earliest, oldest first,
    /// their offsets (the reading minus its engine time at the nominal rate, in microseconds)
    /// rising. Each with its engine time (samples) and its number among the readings.
    queue: Box<[QueuedReading]>,
    /// Where the queue's oldest is in the ring.
    head: usize,
    /// Readings in the queue.
    len: usize,
    /// Readings taken so far.
    taken: u64,
}

/// A reading in [`HostTimeMap`]'s queue.
#[derive(Debug, Clone, Copy)]
struct QueuedReading {
    /// Engine time of the period start, in samples.
    at_samples: u64,
    /// The reading minus `at_samples` at the nominal rate, in microseconds.
    offset_micros: f64,
    /// Its number among the readings (the first is 0).
    number: u64,
}

impl HostTimeMap {
    /// A map at `sample_rate_hz` (a bad rate is taken as 48 kHz). Not realtime (allocates).
    pub fn new(sample_rate_hz: f32) -> Self {
        let rate_hz = if sample_rate_hz.is_finite() && sample_rate_hz >= 1.0 {
            f64::from(sample_rate_hz)
        } else {
            48_000.0
        };
        let empty = QueuedReading {
            at_samples: 0,
            offset_micros: 0.0,
            number: 0,
        };
        Self {
            micros_per_sample: 1e6 / rate_hz,
            window_samples: HOST_TIME_WINDOW_SECS * rate_hz,
            queue: vec![empty; HOST_TIME_READINGS].into_boxed_slice(),
            head: 0,
            len: 0,
            taken: 0,
        }
    }

    /// The host time of engine time `at_samples`, in microseconds, given the host clock read
    /// (`reading_micros`) as the period starting there runs. Realtime-safe.
    pub fn host_micros(&mut self, reading_micros: i64, at_samples: u64) -> i64 {
        let nominal = at_samples as f64 * self.micros_per_sample;
        let reading = QueuedReading {
            at_samples,
            offset_micros: reading_micros as f64 - nominal,
            number: self.taken,
        };
        self.taken += 1;
        let capacity = self.queue.len();
        let at = |n: usize| (self.head + n) % capacity;
        // A reading no earlier than the new one can never be the earliest again.
        while self.len > 0 && self.queue[at(self.len - 1)].offset_micros >= reading.offset_micros {
            self.len -= 1;
        }
        // Out of the window: older than its time, or than the last `capacity` readings.
        let stale = |old: &QueuedReading| {
            (at_samples.saturating_sub(old.at_samples) as f64) > self.window_samples
                || old.number + capacity as u64 <= reading.number
        };
        while self.len > 0 && stale(&self.queue[self.head]) {
            self.head = (self.head + 1) % capacity;
            self.len -= 1;
        }
        self.queue[(self.head + self.len) % capacity] = reading;
        self.len += 1;
        // The reading just stored is always in the window, so the queue is never empty here.
        (self.queue[self.head].offset_micros + nominal).round() as i64
    }
}

/// The transport for a period whose first output sample plays at Link beat `beats` of a session
/// at `tempo_bpm`, with `beats_per_bar` beats (quarter notes) a bar, the quantum. Stopped when a
/// value is unusable (NaN, a tempo outside Link's range, a sample rate of 0). Realtime-safe.
pub fn link_transport(
    beats: f64,
    tempo_bpm: f64,
    beats_per_bar: u32,
    sample_rate_hz: f32,
) -> HostTransport {
    let usable = beats.is_finite()
        && LINK_TEMPO_RANGE_BPM.contains(&tempo_bpm)
        && (1..=64).contains(&beats_per_bar)
        && sample_rate_hz.is_finite()
        && sample_rate_hz > 0.0;
    if !usable {
        return HostTransport::default();
    }
    let bar_beats = f64::from(beats_per_bar);
    HostTransport {
        playing: true,
        tempo_bpm: Some(tempo_bpm),
        time_signature: Some((beats_per_bar as i32, 4)),
        // Saturates for absurd positions (a beat count of 1e300), never panics.
        pos_samples: Some((beats * 60.0 / tempo_bpm * f64::from(sample_rate_hz)).round() as i64),
        pos_beats: Some(beats),
        bar_start_pos_beats: Some((beats / bar_beats).floor() * bar_beats),
    }
}

/// Decides when Loopmate proposes its anchor's tempo to the Link session: when it is alone in
/// it (it started the session, or everyone else left), once per anchor tempo, so that peers
/// joining later play at the loops' tempo. With peers, their session's tempo stands (host-sync
/// mode follows it). Once per anchor tempo, so a session tempo that changes afterwards is never
/// fought over.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TempoProposal {
    /// The anchor tempo last proposed (or found equal to the session's), in BPM; `None` while
    /// there is no anchor.
    proposed_bpm: Option<f64>,
}

impl TempoProposal {
    /// The tempo to set the session to, in BPM, if any, given the anchor's tempo (`None`
    /// without an anchor whose beats are known), the session's tempo and the number of other
    /// peers. Realtime-safe.
    pub fn propose(
        &mut self,
        anchor_bpm: Option<f64>,
        session_bpm: f64,
        peers: u64,
    ) -> Option<f64> {
        let Some(anchor_bpm) = anchor_bpm.filter(|bpm| LINK_TEMPO_RANGE_BPM.contains(bpm)) else {
            // No anchor (a clear, an undo of it): the next one is proposed afresh.
            self.proposed_bpm = None;
            return None;
        };
        if peers > 0 || self.proposed_bpm == Some(anchor_bpm) {
            return None;
        }
        self.proposed_bpm = Some(anchor_bpm);
        ((anchor_bpm - session_bpm).abs() > PROPOSE_TOLERANCE_BPM).then_some(anchor_bpm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::host_clock::HostClock;

    const RATE_HZ: f32 = 48_000.0;
    const PERIOD: u64 = 128;

    /// A session at `tempo_bpm` whose beat position is `beats_at_zero` at engine sample 0.
    fn beats_at(tempo_bpm: f64, beats_at_zero: f64, t_samples: u64) -> f64 {
        beats_at_zero + t_samples as f64 * tempo_bpm / 60.0 / f64::from(RATE_HZ)
    }

    /// How far the engine's grid puts bar lines from Link's: the distance of the grid's bar
    /// origin from the nearest point where Link's phase is 0, in samples.
    fn bar_error_samples(origin_samples: f64, tempo_bpm: f64, beats_at_zero: f64) -> f64 {
        let quarter = 60.0 / tempo_bpm * f64::from(RATE_HZ);
        let bar = 4.0 * quarter;
        // Link's bar lines: beats a multiple of 4, at samples (4k - beats_at_zero) * quarter.
        let first_line = -beats_at_zero * quarter;
        let off = (origin_samples - first_line).rem_euclid(bar);
        off.min(bar - off)
    }

    #[test]
    fn the_engines_bars_fall_where_links_phase_is_0_from_the_first_period() {
        // Odd phases and tempos, and a beat position below 0 (Link's beat magnitude is local and
        // may be negative just after a peer joins).
        for (tempo, beats0) in [(120.0, 0.0), (93.7, 13.3721), (174.0, -6.25)] {
            let mut clock = HostClock::default();
            for k in 0..2_000u64 {
                let t = 77 + k * PERIOD;
                let transport = link_transport(beats_at(tempo, beats0, t), tempo, 4, RATE_HZ);
                let grid = clock.grid(&transport, t, RATE_HZ).expect("a grid");
                let error = bar_error_samples(grid.bar_origin_samples, tempo, beats0);
                // The timeline in whole samples rounds the grid by half a sample at most.
                assert!(
                    error <= 0.5 + 1e-6,
                    "{tempo} BPM, period {k}: bar lines {error} samples off Link's"
                );
                assert_eq!(grid.beats_per_bar, 4);
                assert!((grid.quarter_samples - 60.0 / tempo * 48_000.0).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn a_tempo_change_keeps_the_bars_on_links_phase() {
        // 120 BPM, then 90 BPM from beat 10.5 (mid-bar, as a peer's change lands anywhere):
        // Link keeps the beat position at the change, so the bars at 90 BPM are where beats
        // 12, 16, ... fall at the new tempo.
        let change_samples = 10.5 * 24_000.0;
        let beats = |t: u64| {
            let t = t as f64;
            if t < change_samples {
                t / 24_000.0
            } else {
                10.5 + (t - change_samples) / 32_000.0
            }
        };
        let mut clock = HostClock::default();
        for k in 0..3_000u64 {
            let t = k * PERIOD;
            let tempo = if (t as f64) < change_samples {
                120.0
            } else {
                90.0
            };
            let grid = clock
                .grid(&link_transport(beats(t), tempo, 4, RATE_HZ), t, RATE_HZ)
                .unwrap();
            // Beat 12 (a bar line) at the old tempo's 288 000 or the new one's.
            let line = if tempo == 120.0 {
                12.0 * 24_000.0
            } else {
                change_samples + 1.5 * 32_000.0
            };
            let bars = (grid.bar_origin_samples - line) / grid.bar_length_samples;
            let error = (bars - bars.round()) * grid.bar_length_samples;
            assert!(
                error.abs() <= 0.5 + 1e-6,
                "period {k} at {tempo} BPM: {error} samples off"
            );
        }
    }

    #[test]
    fn three_beats_a_bar_put_bar_lines_every_three_beats() {
        let transport = link_transport(7.5, 100.0, 3, RATE_HZ);
        assert_eq!(transport.bar_start_pos_beats, Some(6.0));
        assert_eq!(transport.time_signature, Some((3, 4)));
        // 7.5 beats at 100 BPM: 4.5 s, 216 000 samples.
        assert_eq!(transport.pos_samples, Some(216_000));
    }

    #[test]
    fn unusable_values_stop_the_transport_without_panicking() {
        for (beats, tempo, bar, rate) in [
            (f64::NAN, 120.0, 4, RATE_HZ),
            (1.0, f64::INFINITY, 4, RATE_HZ),
            (1.0, 0.0, 4, RATE_HZ),
            (1.0, 5_000.0, 4, RATE_HZ),
            (1.0, 120.0, 0, RATE_HZ),
            (1.0, 120.0, 4, f32::NAN),
            (1.0, 120.0, 4, 0.0),
        ] {
            assert_eq!(
                link_transport(beats, tempo, bar, rate),
                HostTransport::default(),
                "{beats} beats at {tempo} BPM, {bar} a bar, {rate} Hz"
            );
        }
        // Absurd but finite: a transport, with a saturated timeline, and no panic.
        let far = link_transport(1e300, 120.0, 4, RATE_HZ);
        assert_eq!(far.pos_samples, Some(i64::MAX));
    }

    #[test]
    fn late_callbacks_never_move_the_host_time_and_a_drifting_clock_is_followed() {
        // Periods of 128 samples whose callbacks run 50 to 300 us late, with a burst of a
        // hundred periods up to 30 ms late (a loaded machine), on an audio clock 80 ppm slow
        // against the host's: the host time of each period start within 0.15 ms of the truth.
        let mut map = HostTimeMap::new(RATE_HZ);
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut worst_micros = 0.0f64;
        let start_micros = 123_456_789.0;
        for k in 0..40_000u64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let unit = (rng >> 11) as f64 / (1u64 << 53) as f64;
            let t = k * PERIOD;
            let truth = start_micros + t as f64 * 1e6 / 48_000.0 * (1.0 + 80e-6);
            let late = if (20_000..20_100).contains(&k) {
                30_000.0 * unit
            } else {
                50.0 + 250.0 * unit
            };
            let mapped = map.host_micros((truth + late).round() as i64, t);
            if k >= 400 {
                worst_micros = worst_micros.max((mapped as f64 - truth).abs());
            }
        }
        assert!(
            worst_micros < 150.0,
            "host time {worst_micros} us off the period starts"
        );
    }

    #[test]
    fn the_sliding_minimum_is_the_earliest_reading_of_the_window_every_period() {
        // Periods of varying length (64 to 4095 samples) with random lateness: every answer is
        // the earliest of the readings of the last second and the last 1024, as a scan finds it.
        let mut map = HostTimeMap::new(RATE_HZ);
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut history: Vec<(u64, f64)> = Vec::new();
        let mut t = 0u64;
        for _ in 0..20_000 {
            t += 64 + next() % 4_032;
            let reading = (t as f64 * 1e6 / 48_000.0) as i64 + (next() % 40_000) as i64;
            let mapped = map.host_micros(reading, t);
            // As the map reckons it, to the last bit.
            let nominal = t as f64 * (1e6 / 48_000.0);
            history.push((t, reading as f64 - nominal));
            let first = history.len().saturating_sub(HOST_TIME_READINGS);
            let window = HOST_TIME_WINDOW_SECS * 48_000.0;
            let earliest = (history[first..].iter())
                .filter(|(at, _)| (t - at) as f64 <= window)
                .map(|&(_, offset)| offset)
                .fold(f64::INFINITY, f64::min);
            assert_eq!(mapped, (earliest + nominal).round() as i64, "at {t}");
        }
    }

    #[test]
    fn the_anchor_tempo_is_proposed_once_while_alone_and_never_against_peers() {
        let mut proposal = TempoProposal::default();
        assert_eq!(proposal.propose(None, 120.0, 0), None, "no anchor yet");
        // A peer is there: its session's tempo stands.
        assert_eq!(proposal.propose(Some(97.3), 120.0, 1), None);
        // Alone: 97.3 BPM proposed, once.
        assert_eq!(proposal.propose(Some(97.3), 120.0, 0), Some(97.3));
        assert_eq!(proposal.propose(Some(97.3), 97.3, 0), None);
        // Someone joins and moves the session to 110 BPM: the anchor's tempo is not pushed back.
        assert_eq!(proposal.propose(Some(97.3), 110.0, 0), None);
        // An anchor recorded on the session's bars, 2 ppm off its tempo: nothing to propose.
        assert_eq!(proposal.propose(None, 110.0, 0), None, "cleared");
        assert_eq!(proposal.propose(Some(110.000_22), 110.0, 0), None);
        // A new anchor at another tempo is proposed; an absurd one never.
        assert_eq!(proposal.propose(Some(84.0), 110.0, 0), Some(84.0));
        assert_eq!(proposal.propose(Some(f64::NAN), 84.0, 0), None);
        assert_eq!(proposal.propose(Some(3_000.0), 84.0, 0), None);
    }
}
