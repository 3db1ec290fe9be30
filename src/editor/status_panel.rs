//! The engine's state: the cycle ring, and the cycle, tracks, history and messages in words.

use super::cycle_ring;
use crate::analysis::snapshot::AnalysisSnapshot;
use crate::engine::{EngineMessage, EngineStatus, RecordingState};

/// Draws `status` (and the analysis' tempo, if it runs): the cycle ring beside the cycle, tempo,
/// track and recorder lines.
pub fn show(ui: &mut egui::Ui, status: &EngineStatus, analysis: Option<&AnalysisSnapshot>) {
    ui.horizontal(|ui| {
        let rate = status.sample_rate_hz.max(1.0) as f64;
        let recording = matches!(status.recording, RecordingState::Recording { .. });
        let progress = status
            .cycle_length_samples
            .map(|length| status.cycle_position_samples as f32 / length.max(1) as f32);
        let beats = beats_per_cycle(status);
        // The beat in the cycle when the cycle has beats, else the position in seconds.
        let centre = match (beats.map(|b| b.beats), progress) {
            (Some(beats), Some(progress)) => {
                format!(
                    "{}",
                    (progress * beats as f32).floor() as u32 % beats.max(1) + 1
                )
            }
            _ => format!("{:.1}", status.cycle_position_samples as f64 / rate),
        };
        cycle_ring::show(ui, progress, &centre, recording);
        ui.vertical(|ui| {
            lines(ui, status, rate);
            tempo_lines(ui, status, analysis, beats);
        });
    });
}

/// The anchor cycle in beats, with the tempo that makes them whole.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CycleBeats {
    /// Whole beats in one cycle.
    beats: u32,
    /// The tempo at which the cycle holds exactly `beats`, in BPM.
    bpm: f64,
}

/// Beats in the anchor cycle: the metronome's (the host's bars, the beats beat quantization
/// gave the anchor, or the *Beats per cycle* setting), so the ring counts what the click plays.
fn beats_per_cycle(status: &EngineStatus) -> Option<CycleBeats> {
    let length_secs =
        status.cycle_length_samples? as f64 / f64::from(status.sample_rate_hz.max(1.0));
    let beats = status.cycle_beats?;
    Some(CycleBeats {
        beats,
        bpm: f64::from(beats) * 60.0 / length_secs,
    })
}

/// The loop in beats, the live tempo estimate and the host's tempo and bar.
fn tempo_lines(
    ui: &mut egui::Ui,
    status: &EngineStatus,
    analysis: Option<&AnalysisSnapshot>,
    beats: Option<CycleBeats>,
) {
    if let Some(CycleBeats { beats, bpm }) = beats {
        ui.label(format!("Loop: {beats} beats at {bpm:.1} BPM"));
    }
    match analysis.and_then(|a| a.bpm) {
        Some(bpm) => ui.label(format!("Tempo heard: {bpm:.1} BPM")),
        None => ui.label("Tempo heard: listening"),
    };
    match status.host_grid {
        Some(grid) => {
            let rate = f64::from(status.sample_rate_hz.max(1.0));
            let bar_secs = grid.bar_length_samples / rate;
            let bpm = f64::from(grid.beats_per_bar) * 60.0 / bar_secs;
            let bar = grid.origin_bar
                + (status.now_samples as f64 - grid.bar_origin_samples) / grid.bar_length_samples;
            ui.label(format!(
                "Host: {bpm:.1} BPM, {} beats a bar, bar {:.1}",
                grid.beats_per_bar,
                bar + 1.0
            ))
        }
        None => ui.label("Host: transport stopped (free time)"),
    };
}

/// The cycle, tracks, recorder and messages, in words.
fn lines(ui: &mut egui::Ui, status: &EngineStatus, rate: f64) {
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
    // The state badge shows the recorder, the dubber and the mutes.
    let mut flags = Vec::new();
    if status.limiter_gain < 0.99 {
        flags.push("limiting");
    }
    if !flags.is_empty() {
        ui.label(flags.join(", "));
    }
    if status.bad_input_chunks > 0 {
        ui.label(format!(
            "Bad input (NaN/inf) silenced {} times",
            status.bad_input_chunks
        ));
    }
    if let Some(message) = status.message {
        ui.label(message_text(message));
    }
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
