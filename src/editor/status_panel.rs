//! The engine's state: the cycle ring counting the beats (in the header), the alerts the player
//! must see (limiting, bad input, the engine's last message), and the details in words (cycle,
//! tracks, history), which the editor folds away.

use super::cycle_ring;
use crate::engine::{EngineMessage, EngineStatus, RecordingState};

/// Draws the cycle ring: filled to the position in the cycle, the beat (or the seconds, when
/// the cycle has no beats) in its centre, red while a take records.
pub fn ring(ui: &mut egui::Ui, status: &EngineStatus) {
    let rate = f64::from(status.sample_rate_hz.max(1.0));
    let recording = matches!(status.recording, RecordingState::Recording { .. });
    let progress = status
        .cycle_length_samples
        .map(|length| status.cycle_position_samples as f32 / length.max(1) as f32);
    // The beat in the cycle when the cycle has beats, else the position in seconds.
    let centre = match (beats_per_cycle(status).map(|b| b.beats), progress) {
        (Some(beats), Some(progress)) => {
            format!(
                "{}",
                (progress * beats as f32).floor() as u32 % beats.max(1) + 1
            )
        }
        _ => format!("{:.1}", status.cycle_position_samples as f64 / rate),
    };
    cycle_ring::show(ui, progress, &centre, recording);
}

/// The anchor cycle in beats, with the tempo that makes them whole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CycleBeats {
    /// Whole beats in one cycle.
    pub beats: u32,
    /// The tempo at which the cycle holds exactly `beats`, in BPM.
    pub bpm: f64,
}

/// Beats in the anchor cycle: the metronome's (the host's bars, the beats beat quantization
/// gave the anchor, or the *Beats per cycle* setting), so the ring counts what the click plays.
pub fn beats_per_cycle(status: &EngineStatus) -> Option<CycleBeats> {
    let length_secs =
        status.cycle_length_samples? as f64 / f64::from(status.sample_rate_hz.max(1.0));
    let beats = status.cycle_beats?;
    Some(CycleBeats {
        beats,
        bpm: f64::from(beats) * 60.0 / length_secs,
    })
}

/// What needs the player's eye now: the limiter working, bad input silenced, the last message.
pub fn alerts(ui: &mut egui::Ui, status: &EngineStatus) {
    let warn = egui::Color32::from_rgb(240, 190, 60);
    if status.limiter_gain < 0.99 {
        ui.colored_label(warn, "PA limiting");
    }
    if status.bad_input_chunks > 0 {
        ui.colored_label(
            warn,
            format!(
                "Bad input (NaN/inf) silenced {} times",
                status.bad_input_chunks
            ),
        );
    }
    if let Some(message) = status.message {
        ui.colored_label(warn, message_text(message));
    }
}

/// The cycle, host sync, tracks and history, in words.
pub fn details(ui: &mut egui::Ui, status: &EngineStatus) {
    let rate = f64::from(status.sample_rate_hz.max(1.0));
    match status.cycle_length_samples {
        Some(length) => {
            ui.label(format!(
                "Cycle: {:.3} s ({length} samples)",
                length as f64 / rate
            ));
            if let Some(bars) = status.host_bars {
                let unit = if bars == 1 { "bar" } else { "bars" };
                ui.label(format!("Host sync: {bars} {unit}, on the host's bars"));
            }
        }
        None => {
            ui.label("Cycle: none (the first take sets it)");
        }
    }
    ui.label(format!(
        "Tracks: {}   (redo: {})",
        status.track_count, status.redo_count
    ));
    ui.label(format!(
        "History: {:.0} s of {:.0} s",
        status.history_filled_secs, status.history_secs
    ));
}

/// What a message says to the player.
pub fn message_text(message: EngineMessage) -> &'static str {
    match message {
        EngineMessage::NoTrackStorage => "No memory ready for a new take: the take was refused.",
        EngineMessage::TakeOutOfStorage => {
            "Memory ran out during the take: it ended at its last page."
        }
        EngineMessage::CaptureOutOfStorage => {
            "Memory ran short while a capture copied: it was silent in places until memory came."
        }
        EngineMessage::DelayOutOfStorage => {
            "No memory ready for a loop's delay yet: it plays dry until memory comes."
        }
        EngineMessage::TakeTooShort => "Take too short for a loop: dropped.",
        EngineMessage::TakeStoppedAtLimit => {
            "Take stopped at the longest loop the history length allows."
        }
        EngineMessage::ScheduleFull => "Too many commands at once: one was dropped.",
        EngineMessage::TooManyTracks => "No free track slot: the take was refused.",
        EngineMessage::NeedsAnchor => {
            "Record a first loop (or start the host transport) before using that."
        }
        EngineMessage::NeedsHostTransport => {
            "That waits for the host's bars: start the host transport."
        }
        EngineMessage::ImportDoesNotFit => {
            "Import refused: the cycle changed while the file was read. Import it again."
        }
        EngineMessage::ImportTooShort => {
            "Import refused: the file is shorter than the shortest loop (0.1 s)."
        }
        EngineMessage::DubOutOfStorage => {
            "Memory ran short during the dub: it was dropped, the loop is as before."
        }
        EngineMessage::DubNeedsPlainLoop => {
            "Dubs need the loop forwards at normal speed (and a capture done copying)."
        }
        EngineMessage::CaptureTooLong => {
            "Capture refused: the history does not hold that much. Lengthen the history or \
             capture fewer cycles."
        }
    }
}
