//! The track banks: the host's per-loop parameters turned into track commands. The 16 slots
//! (gain, pan, mute and solo of the n-th track in the mix) and the *Selected loop* bank (every
//! control of the selected loop) work alike.
//!
//! Two sources change a track: the banks' parameters (host automation, a control surface, a CC
//! mapped to a bank parameter) and the editor or MIDI commands (gain up/down, reset, mute and solo
//! buttons). A bank's value is sent to its track only when that value changes, so each source's
//! latest change wins and a static automation lane never undoes a pedal press. Slot n addresses
//! the n-th track playing in the mix (the anchor is slot 1); the selected-loop bank addresses the
//! selected loop at the sample of the change, so selecting another loop applies nothing to it.
//!
//! Framework-free and realtime-safe: fixed-size state, no allocation.

use crate::engine::command::{Command, TrackControl, TrackTarget};
use crate::engine::fx::chain::{FxControl, FxSettings};
use crate::engine::speed::Speed;

/// A loop's parameter values, turned into the track controls that change one set into another.
pub trait LoopValues: Copy + PartialEq {
    /// Calls `send` with the controls that take a loop from `before` to `self`, in the order
    /// they apply (an effect's settings before its switch).
    fn changes_from(&self, before: &Self, send: &mut impl FnMut(TrackControl));
}

/// One slot's values as the plugin reads them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotValues {
    /// Track gain (linear).
    pub gain: f32,
    /// Track pan (-1 left ..= 1 right).
    pub pan: f32,
    /// Track muted.
    pub mute: bool,
    /// Track soloed.
    pub solo: bool,
}

impl LoopValues for SlotValues {
    fn changes_from(&self, before: &Self, send: &mut impl FnMut(TrackControl)) {
        let controls = [
            (self.gain != before.gain).then_some(TrackControl::SetGain(self.gain)),
            (self.pan != before.pan).then_some(TrackControl::SetPan(self.pan)),
            (self.mute != before.mute).then_some(TrackControl::SetMute(self.mute)),
            (self.solo != before.solo).then_some(TrackControl::SetSolo(self.solo)),
        ];
        controls.into_iter().flatten().for_each(send);
    }
}

/// The *Selected loop* bank's values as the plugin reads them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectedValues {
    /// Gain (linear), pan, mute and solo.
    pub mix: SlotValues,
    /// Playing backwards.
    pub reverse: bool,
    /// Playback speed.
    pub speed: Speed,
    /// The effect settings, the delay time in frames at `sample_rate_hz`.
    pub fx: FxSettings,
    /// The sample rate `fx.delay_frames` counts at, in Hz.
    pub sample_rate_hz: f32,
}

impl LoopValues for SelectedValues {
    fn changes_from(&self, before: &Self, send: &mut impl FnMut(TrackControl)) {
        self.mix.changes_from(&before.mix, send);
        if self.speed != before.speed {
            send(TrackControl::SetSpeed(self.speed));
        }
        let (fx, was) = (&self.fx, &before.fx);
        let filter = (fx.filter_mode, fx.cutoff_hz, fx.q);
        let delay = (fx.delay_frames, fx.delay_feedback, fx.delay_mix);
        let controls = [
            (self.reverse != before.reverse).then_some(FxControl::SetReverse(self.reverse)),
            (filter != (was.filter_mode, was.cutoff_hz, was.q)).then_some(
                FxControl::FilterSettings {
                    mode: fx.filter_mode,
                    cutoff_hz: fx.cutoff_hz,
                    q: fx.q,
                },
            ),
            (fx.filter_on != was.filter_on).then_some(FxControl::SetFilter(fx.filter_on)),
            (fx.drive_amount != was.drive_amount)
                .then_some(FxControl::DriveAmount(fx.drive_amount)),
            (fx.drive_on != was.drive_on).then_some(FxControl::SetDrive(fx.drive_on)),
            (delay != (was.delay_frames, was.delay_feedback, was.delay_mix)).then_some(
                FxControl::DelaySettings {
                    time_secs: fx.delay_frames / self.sample_rate_hz,
                    feedback: fx.delay_feedback,
                    mix: fx.delay_mix,
                },
            ),
            (fx.delay_on != was.delay_on).then_some(FxControl::SetDelay(fx.delay_on)),
        ];
        controls
            .into_iter()
            .flatten()
            .map(TrackControl::Fx)
            .for_each(send);
    }
}

/// The values last sent for each of a bank's `SLOTS`.
#[derive(Debug, Clone)]
pub struct TrackBank<V, const SLOTS: usize> {
    /// Last values seen per slot (`None` before the first block: nothing is sent then).
    sent: [Option<V>; SLOTS],
}

impl<V, const SLOTS: usize> Default for TrackBank<V, SLOTS> {
    fn default() -> Self {
        Self {
            sent: [const { None }; SLOTS],
        }
    }
}

impl<V: LoopValues, const SLOTS: usize> TrackBank<V, SLOTS> {
    /// Calls `send` with a track command, to the loop `target(slot)`, for every slot value that
    /// changed since the last call. The first call only records the values. Realtime-safe.
    pub fn changes(
        &mut self,
        current: [V; SLOTS],
        target: impl Fn(usize) -> TrackTarget,
        mut send: impl FnMut(Command),
    ) {
        for (slot, (now, sent)) in current.into_iter().zip(&mut self.sent).enumerate() {
            if let Some(before) = sent {
                now.changes_from(before, &mut |control| {
                    send(Command::Track(target(slot), control))
                });
            }
            *sent = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fx::filter::FilterMode;

    const UNITY: SlotValues = SlotValues {
        gain: 1.0,
        pan: 0.0,
        mute: false,
        solo: false,
    };

    fn changes(bank: &mut TrackBank<SlotValues, 3>, current: [SlotValues; 3]) -> Vec<Command> {
        let mut sent = Vec::new();
        let slot = |n| TrackTarget::Index(n as u32);
        bank.changes(current, slot, |command| sent.push(command));
        sent
    }

    #[test]
    fn only_changed_values_are_sent_to_their_slot() {
        let mut bank = TrackBank::<SlotValues, 3>::default();
        assert!(changes(&mut bank, [UNITY; 3]).is_empty(), "first block");
        assert!(changes(&mut bank, [UNITY; 3]).is_empty(), "nothing moved");
        let moved = SlotValues {
            gain: 0.5,
            mute: true,
            ..UNITY
        };
        assert_eq!(
            changes(&mut bank, [UNITY, moved, UNITY]),
            [
                Command::Track(TrackTarget::Index(1), TrackControl::SetGain(0.5)),
                Command::Track(TrackTarget::Index(1), TrackControl::SetMute(true)),
            ]
        );
        assert!(
            changes(&mut bank, [UNITY, moved, UNITY]).is_empty(),
            "a static lane never re-sends (a pedal's change to that track stays)"
        );
    }

    #[test]
    fn the_selected_bank_sends_each_changed_control_to_the_selected_loop() {
        let fx = FxSettings {
            filter_on: false,
            filter_mode: FilterMode::LowPass,
            cutoff_hz: 1_000.0,
            q: 0.707,
            drive_on: false,
            drive_amount: 4.0,
            delay_on: false,
            delay_frames: 18_000.0,
            delay_feedback: 0.35,
            delay_mix: 0.5,
        };
        let rest = SelectedValues {
            mix: UNITY,
            reverse: false,
            speed: Speed::NORMAL,
            fx,
            sample_rate_hz: 48_000.0,
        };
        let mut bank = TrackBank::<SelectedValues, 1>::default();
        let mut changes = |current| {
            let mut sent = Vec::new();
            bank.changes([current], |_| TrackTarget::Selected, |c| sent.push(c));
            sent
        };
        assert!(changes(rest).is_empty(), "first block");
        let moved = SelectedValues {
            mix: SlotValues { pan: 0.25, ..UNITY },
            speed: Speed::NORMAL.halved(),
            fx: FxSettings {
                cutoff_hz: 500.0,
                filter_on: true,
                delay_mix: 0.75,
                ..fx
            },
            reverse: true,
            ..rest
        };
        let fx = |control| Command::Track(TrackTarget::Selected, TrackControl::Fx(control));
        assert_eq!(
            changes(moved),
            [
                Command::Track(TrackTarget::Selected, TrackControl::SetPan(0.25)),
                Command::Track(
                    TrackTarget::Selected,
                    TrackControl::SetSpeed(Speed::NORMAL.halved())
                ),
                fx(FxControl::SetReverse(true)),
                fx(FxControl::FilterSettings {
                    mode: FilterMode::LowPass,
                    cutoff_hz: 500.0,
                    q: 0.707
                }),
                fx(FxControl::SetFilter(true)),
                fx(FxControl::DelaySettings {
                    time_secs: 0.375,
                    feedback: 0.35,
                    mix: 0.75
                }),
            ]
        );
        assert!(changes(moved).is_empty(), "a static lane never re-sends");
        let driven = SelectedValues {
            fx: FxSettings {
                drive_on: true,
                drive_amount: 9.0,
                ..moved.fx
            },
            ..moved
        };
        assert_eq!(
            changes(driven),
            [
                fx(FxControl::DriveAmount(9.0)),
                fx(FxControl::SetDrive(true))
            ]
        );
    }
}
