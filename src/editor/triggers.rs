//! Pending triggers with a countdown; clicking one cancels it (by sending the same trigger
//! again, as a pedal would).

use crate::engine::EngineStatus;
use crate::engine::command::{Command, Repeat, TriggerAction, TriggerSpec, TriggerTime};

/// What a trigger does, in words.
fn action_text(action: TriggerAction) -> &'static str {
    match action {
        TriggerAction::ToggleMixMute => "Mute/unmute mix",
        TriggerAction::RecordCycleWithPaMuted => "Record cycle (PA muted)",
        TriggerAction::Restart => "Restart",
        TriggerAction::RecordToggle => "Record",
        TriggerAction::Capture => "Capture",
    }
}

/// Draws the pending triggers; returns the cancel command of the one clicked.
pub fn show(ui: &mut egui::Ui, status: &EngineStatus) -> Option<Command> {
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
            action_text(trigger.action)
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
