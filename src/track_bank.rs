//! The track bank: the host's per-slot gain, pan, mute and solo parameters, turned into track
//! commands.
//!
//! Two sources change a track: the bank's parameters (host automation, a control surface, a CC
//! mapped to a slot parameter) and the editor or MIDI commands (gain up/down, reset, mute and solo
//! buttons). A slot's value is sent to its track only when that value changes, so each source's
//! latest change wins and a static automation lane never undoes a pedal press. Slot n addresses
//! the n-th track playing in the mix (the anchor is slot 1).
//!
//! Framework-free and realtime-safe: fixed-size state, no allocation.

use crate::engine::command::{Command, TrackControl, TrackTarget};

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

/// The values last sent for each slot.
#[derive(Debug, Clone)]
pub struct TrackBank<const SLOTS: usize> {
    /// Last values seen per slot (`None` before the first block: nothing is sent then).
    sent: [Option<SlotValues>; SLOTS],
}

impl<const SLOTS: usize> Default for TrackBank<SLOTS> {
    fn default() -> Self {
        Self {
            sent: [None; SLOTS],
        }
    }
}

impl<const SLOTS: usize> TrackBank<SLOTS> {
    /// Calls `send` with a track command for every slot value that changed since the last call.
    /// The first call only records the values. Realtime-safe.
    pub fn changes(&mut self, current: [SlotValues; SLOTS], mut send: impl FnMut(Command)) {
        for (slot, (now, sent)) in current.into_iter().zip(&mut self.sent).enumerate() {
            let target = TrackTarget::Index(slot as u32);
            if let Some(before) = sent {
                let controls = [
                    (now.gain != before.gain).then_some(TrackControl::SetGain(now.gain)),
                    (now.pan != before.pan).then_some(TrackControl::SetPan(now.pan)),
                    (now.mute != before.mute).then_some(TrackControl::SetMute(now.mute)),
                    (now.solo != before.solo).then_some(TrackControl::SetSolo(now.solo)),
                ];
                for control in controls.into_iter().flatten() {
                    send(Command::Track(target, control));
                }
            }
            *sent = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNITY: SlotValues = SlotValues {
        gain: 1.0,
        pan: 0.0,
        mute: false,
        solo: false,
    };

    fn changes(bank: &mut TrackBank<3>, current: [SlotValues; 3]) -> Vec<Command> {
        let mut sent = Vec::new();
        bank.changes(current, |command| sent.push(command));
        sent
    }

    #[test]
    fn only_changed_values_are_sent_to_their_slot() {
        let mut bank = TrackBank::<3>::default();
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
}
