//! The editor driven headless (egui_kittest): what it shows for a status, and the commands its
//! buttons send.

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use parking_lot::Mutex;

use super::{EditorLink, LoopmateApp};
use crate::engine::command::{Command, NoteMap, TrackControl, TrackTarget, TriggerAction};
use crate::engine::fx::chain::FxControl;
use crate::engine::{EngineStatus, PendingTrigger, RecordingState, TrackStatus};

/// An editor showing `status`, and the consumer end of its command queue.
fn editor(status: EngineStatus) -> (LoopmateApp, rtrb::Consumer<Command>) {
    let (mut status_in, status_out) = triple_buffer::triple_buffer(&status);
    status_in.write(status);
    let (commands_tx, commands_rx) = rtrb::RingBuffer::new(16);
    let link = EditorLink {
        status: Arc::new(Mutex::new(status_out)),
        commands: Arc::new(Mutex::new(commands_tx)),
    };
    (LoopmateApp::new(link, NoteMap::default()), commands_rx)
}

fn playing_status() -> EngineStatus {
    let track = TrackStatus {
        cycles: 1,
        gain: 1.0,
        pan: 0.0,
        muted: false,
        soloed: false,
        filter_on: false,
        drive_on: false,
        delay_on: true,
        reversed: false,
    };
    let mut tracks = [None; crate::engine::SHOWN_TRACKS];
    tracks[0] = Some(track);
    tracks[1] = Some(TrackStatus { cycles: 2, ..track });
    EngineStatus {
        tracks,
        now_samples: 500_000,
        cycle_length_samples: Some(96_000),
        cycle_position_samples: 24_000,
        host_bars: Some(2),
        track_count: 3,
        redo_count: 1,
        recording: RecordingState::Recording {
            start_samples: 452_000,
        },
        ..EngineStatus::idle(48_000.0)
    }
}

#[test]
fn shows_the_cycle_the_tracks_and_the_recorder() {
    let (mut app, _) = editor(playing_status());
    let harness = Harness::new_ui(|ui| app.draw(ui));
    harness.get_by_label("Cycle: 2.000 s (96000 samples)");
    harness.get_by_label("Host sync: 2 bars, on the host's bars");
    harness.get_by_label("Tracks: 3   (redo: 1)");
    harness.get_by_label("Recorder: Recording 1.00 s");
}

#[test]
fn record_and_undo_buttons_send_the_same_commands_as_midi() {
    let (mut app, mut commands) = editor(playing_status());
    let mut harness = Harness::new_ui(|ui| app.draw(ui));
    harness.get_by_label("Record (47)").click();
    harness.run();
    harness.get_by_label("Undo (27)").click();
    harness.run();
    assert_eq!(commands.pop(), Ok(Command::RecordToggle));
    assert_eq!(commands.pop(), Ok(Command::Undo));
    assert!(commands.pop().is_err());
}

#[test]
fn a_pending_trigger_shows_a_countdown_and_a_click_cancels_it() {
    let mut status = playing_status();
    status.pending_count = 1;
    status.triggers[0] = Some(PendingTrigger {
        action: TriggerAction::ToggleMixMute,
        at_samples: 572_000,
        remaining: Some(1),
    });
    let (mut app, mut commands) = editor(status);
    let mut harness = Harness::new_ui(|ui| app.draw(ui));
    harness
        .get_by_label("Mute/unmute mix in 1.5 s - click to cancel")
        .click();
    harness.run();
    match commands.pop() {
        Ok(Command::Trigger(spec)) => assert_eq!(spec.action, TriggerAction::ToggleMixMute),
        other => panic!("expected the trigger again, got {other:?}"),
    }
}

#[test]
fn track_rows_switch_that_tracks_effects() {
    let (mut app, mut commands) = editor(playing_status());
    let mut harness = Harness::new_ui(|ui| app.draw(ui));
    harness.get_by_label("Track 2 (2 cycles)");
    harness.get_by_label("Filter 2").click();
    harness.run();
    harness.get_by_label("Delay 1").click();
    harness.run();
    assert_eq!(
        commands.pop(),
        Ok(Command::Track(
            TrackTarget::Index(1),
            TrackControl::Fx(FxControl::SetFilter(true))
        ))
    );
    assert_eq!(
        commands.pop(),
        Ok(Command::Track(
            TrackTarget::Index(0),
            TrackControl::Fx(FxControl::SetDelay(false))
        )),
        "the delay was on: the switch turns it off"
    );
}

#[test]
fn the_effect_sliders_send_settings_for_the_chosen_track() {
    let (mut app, mut commands) = editor(playing_status());
    let mut harness = Harness::new_ui(|ui| app.draw(ui));
    harness.get_by_label("High-pass").click();
    harness.run();
    match commands.pop() {
        Ok(Command::Track(
            TrackTarget::Index(0),
            TrackControl::Fx(FxControl::FilterSettings { mode, .. }),
        )) => assert_eq!(mode, crate::engine::fx::filter::FilterMode::HighPass),
        other => panic!("expected the filter settings of track 1, got {other:?}"),
    }
}

#[test]
fn the_input_meter_shows_the_level_and_clipping() {
    let mut status = playing_status();
    status.input_peak = 0.1;
    let (mut app, _) = editor(status);
    let harness = Harness::new_ui(|ui| app.draw(ui));
    harness.get_by_label("Input -20 dBFS");
    status.input_clips = 3;
    let (mut app, _) = editor(status);
    let harness = Harness::new_ui(|ui| app.draw(ui));
    harness.get_by_label("Input -20 dBFS - CLIPPED 3 times");
}
