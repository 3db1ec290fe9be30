//! Pending triggers with a countdown; clicking one cancels it (by sending the same trigger
//! again, as a pedal would).

use crate::engine::command::{Command, Repeat, TriggerAction, TriggerSpec, TriggerTime};
use crate::engine::{EngineStatus, LoopBoard};

/// What a trigger does, in words: a loop by its number in the mix (1 for the anchor), as its
/// tile on the loop `board` shows it.
fn action_text(action: TriggerAction, board: Option<&LoopBoard>) -> String {
    match action {
        TriggerAction::ToggleMixMute => "Mute/unmute mix".to_owned(),
        TriggerAction::RecordCycleWithPaMuted => "Record cycle (PA muted)".to_owned(),
        TriggerAction::Restart => "Restart".to_owned(),
        TriggerAction::RecordToggle => "Record".to_owned(),
        TriggerAction::Capture => "Capture".to_owned(),
        TriggerAction::ToggleLoopMute { track_id } => {
            let place = board.and_then(|board| {
                (board.tiles().iter()).position(|tile| tile.track.id == track_id)
            });
            match place {
                Some(place) => format!("Mute/unmute loop {}", place + 1),
                // Past the board's tiles (or before the first board): still a loop.
                None => "Mute/unmute a loop".to_owned(),
            }
        }
    }
}

/// Draws the pending triggers of `status`, their loops named from `board`; returns the cancel
/// command of the one clicked.
pub fn show(
    ui: &mut egui::Ui,
    status: &EngineStatus,
    board: Option<&LoopBoard>,
) -> Option<Command> {
    let rate = f64::from(status.sample_rate_hz.max(1.0));
    let mut clicked = None;
    for trigger in status.triggers.iter().flatten() {
        let seconds = trigger.at_samples.saturating_sub(status.now_samples) as f64 / rate;
        let repeats = match trigger.remaining {
            Some(1) => String::new(),
            Some(n) => format!(" x{n}"),
            None => " (repeating)".to_owned(),
        };
        let label = format!(
            "{} in {seconds:.1} s{repeats} - click to cancel",
            action_text(trigger.action, board)
        );
        if ui.button(label).clicked() {
            // The engine cancels a pending trigger when the same action is sent again.
            clicked = Some(Command::Trigger(TriggerSpec {
                action: trigger.action,
                time: TriggerTime::NextCycle,
                repeat: Repeat::Once,
            }));
        }
    }
    clicked
}
