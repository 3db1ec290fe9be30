//! Triggers: an action (mute the loop mix, record one cycle with the PA muted, restart, record,
//! capture, mute one loop) at the next anchor cycle boundary, the next host bar, the next wrap
//! of the loop the action is aimed at or a given sample, once, a number of times or forever. A trigger waits in the schedule as `Action::Trigger`, which is
//! all there is of its state; asking for the same action again cancels it. The engine fires it
//! (the actions belong to other parts) and [`repeat`] queues the next firing.
//!
//! Realtime: runs on the audio thread; nothing allocates.

use super::action::{Action, Interval};
use super::command::{Repeat, TriggerAction, TriggerSpec, TriggerTime};
use super::schedule::Schedule;
use super::shared::Shared;
use super::status::{EngineMessage, PendingTrigger, SHOWN_TRIGGERS};

/// Schedules a trigger, or cancels the pending one with the same action.
pub fn toggle(shared: &mut Shared, spec: TriggerSpec) {
    let same = |a: &Action| matches!(a, Action::Trigger { action, .. } if *action == spec.action);
    if shared.schedule.cancel(same) > 0 {
        return;
    }
    let now = shared.now_samples;
    let every = match spec.time {
        TriggerTime::NextBar => Interval::Bar,
        TriggerTime::LoopEnd => Interval::LoopEnd,
        TriggerTime::NextCycle | TriggerTime::AtSample(_) => Interval::Cycle,
    };
    let first = match spec.time {
        TriggerTime::AtSample(at) => Some(at.max(now)),
        _ => next_after(shared, every, spec.action, now),
    };
    let Some(first) = first else {
        shared.say(match spec.time {
            TriggerTime::NextBar => EngineMessage::NeedsHostTransport,
            _ => EngineMessage::NeedsAnchor,
        });
        return;
    };
    let remaining = match spec.repeat {
        Repeat::Once => Some(1),
        Repeat::Times(times) => Some(times.max(1)),
        Repeat::Forever => None,
    };
    shared.schedule_action(
        first,
        Action::Trigger {
            action: spec.action,
            every,
            remaining,
        },
    );
}

/// After a trigger fired: queues its next firing at the next boundary of `every`, unless that
/// was its last (`remaining` counts the firing that just happened; `None`: forever).
pub fn repeat(shared: &mut Shared, action: TriggerAction, every: Interval, remaining: Option<u32>) {
    let remaining = match remaining {
        Some(1) => return,
        Some(n) => Some(n - 1),
        None => None,
    };
    if let Some(next) = next_after(shared, every, action, shared.now_samples) {
        shared.schedule_action(
            next,
            Action::Trigger {
                action,
                every,
                remaining,
            },
        );
    }
}

/// The first boundary of kind `every` strictly after `t_samples` (for [`Interval::LoopEnd`],
/// of the playing loop `action` is aimed at), if there is one.
fn next_after(
    shared: &Shared,
    every: Interval,
    action: TriggerAction,
    t_samples: u64,
) -> Option<u64> {
    match every {
        Interval::Cycle => shared.cycle.map(|c| c.boundary_after(t_samples)),
        Interval::Bar => shared.host_grid.map(|g| g.bar_after(t_samples)),
        Interval::LoopEnd => {
            let TriggerAction::ToggleLoopMute { track_id } = action else {
                return None;
            };
            let track = shared.tracks.playing().find(|t| t.id == track_id)?;
            Some(t_samples + (track.length_samples - track.index_at(t_samples)))
        }
    }
}

/// The pending triggers, soonest first (the first [`SHOWN_TRIGGERS`] of them), and how many
/// there are.
pub fn pending(schedule: &Schedule<Action>) -> ([Option<PendingTrigger>; SHOWN_TRIGGERS], usize) {
    let mut triggers = [None; SHOWN_TRIGGERS];
    let mut count = 0;
    for scheduled in schedule.iter() {
        if let Action::Trigger {
            action, remaining, ..
        } = scheduled.action
        {
            if let Some(slot) = triggers.get_mut(count) {
                *slot = Some(PendingTrigger {
                    action,
                    at_samples: scheduled.at_samples,
                    remaining,
                });
            }
            count += 1;
        }
    }
    (triggers, count)
}
