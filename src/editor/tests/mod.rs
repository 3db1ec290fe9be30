//! The editor driven headless (egui_kittest): what it shows for a status, and the commands its
//! buttons send.

mod rig;
mod set;
mod stage;

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use parking_lot::Mutex;

use super::geometry::DEFAULT_SIZE;
use super::{EditorLink, LoopmateApp};
use crate::engine::command::{Command, Select, TrackControl, TrackTarget, TriggerAction};
use crate::engine::fx::chain::FxControl;
use crate::engine::{
    EngineStatus, LoopBoard, MAX_TILES, PendingTrigger, RecordingState, SelectedStatus,
    TilePending, TileStatus, TrackStatus,
};
use crate::midi_link::AudioReports;
use crate::midi_map::{Binding, Control, MidiMessage, Target};
use crate::params::LoopmateParams;
use crate::state::store::SessionStore;

/// An editor showing `status`, and the consumer end of its command queue.
fn editor(status: EngineStatus) -> (LoopmateApp, rtrb::Consumer<Command>) {
    let (app, commands, _, _) = editor_with(status, Arc::default());
    (app, commands)
}

/// An editor showing `status`, its command queue, the audio thread's MIDI reports to it, and
/// its parameters.
fn editor_with_midi(
    status: EngineStatus,
) -> (
    LoopmateApp,
    rtrb::Consumer<Command>,
    AudioReports,
    Arc<LoopmateParams>,
) {
    editor_with(status, Arc::default())
}

/// An editor showing `status` and the saved performance of `session`, with its command queue,
/// the audio thread's MIDI reports to it, and its parameters.
fn editor_with(
    status: EngineStatus,
    session: Arc<SessionStore>,
) -> (
    LoopmateApp,
    rtrb::Consumer<Command>,
    AudioReports,
    Arc<LoopmateParams>,
) {
    let live = live_editor(status, session);
    (live.app, live.commands, live.audio, live.params)
}

/// An editor and the audio thread's ends of its links.
struct LiveEditor {
    app: LoopmateApp,
    /// Where the audio thread publishes its status.
    status: triple_buffer::Input<EngineStatus>,
    /// Where the audio thread publishes its loop board.
    board: triple_buffer::Input<LoopBoard>,
    /// The commands the editor sends.
    commands: rtrb::Consumer<Command>,
    /// The audio thread's MIDI reports to the editor.
    audio: AudioReports,
    params: Arc<LoopmateParams>,
}

/// An editor showing `status` (until another is published) and the saved performance of
/// `session`.
fn live_editor(status: EngineStatus, session: Arc<SessionStore>) -> LiveEditor {
    let (mut status_in, status_out) = triple_buffer::triple_buffer(&status);
    status_in.write(status);
    let (board_in, board_out) = triple_buffer::triple_buffer(&board_of(&status));
    let (commands_tx, commands_rx) = rtrb::RingBuffer::new(16);
    let (audio, midi) = crate::midi_link::reports();
    let params = Arc::new(LoopmateParams::default());
    let link = EditorLink {
        status: Arc::new(Mutex::new(status_out)),
        commands: Arc::new(Mutex::new(commands_tx)),
        params: params.clone(),
        midi: Arc::new(Mutex::new(midi)),
        session,
        analysis: Arc::default(),
        board: Arc::new(Mutex::new(Some(board_out))),
        close_requested: Arc::default(),
        calibration: Arc::default(),
        tempo_source: Arc::default(),
    };
    LiveEditor {
        app: LoopmateApp::new(link),
        status: status_in,
        board: board_in,
        commands: commands_rx,
        audio,
        params,
    }
}

/// The loop board the engine would publish with `status`: its listed tracks, the selected
/// one flagged, the triggers aimed at one loop on its tile.
fn board_of(status: &EngineStatus) -> LoopBoard {
    let selected = status.selected.map(|selected| selected.index);
    let pending = |id: u64| {
        let trigger = (status.triggers.iter().flatten())
            .find(|trigger| trigger.action.track_id() == Some(id))?;
        Some(TilePending {
            action: trigger.action,
            in_samples: trigger.at_samples.saturating_sub(status.now_samples),
            remaining: trigger.remaining,
        })
    };
    let tiles: Vec<TileStatus> = (status.tracks.iter().flatten().enumerate())
        .map(|(n, track)| TileStatus {
            track: *track,
            selected: selected == Some(n),
            pending: pending(track.id),
        })
        .collect();
    LoopBoard::from_tiles(&tiles, MAX_TILES, status.sample_rate_hz, status.now_samples)
}

/// The editor drawn at its default size.
fn editor_harness(app: &mut LoopmateApp) -> Harness<'_> {
    Harness::builder()
        .with_size(egui::vec2(DEFAULT_SIZE.0, DEFAULT_SIZE.1))
        .build_ui(|ui| app.draw(ui))
}

fn playing_status() -> EngineStatus {
    let track = TrackStatus {
        id: 0,
        cycles: 1,
        length_samples: 96_000,
        speed: Default::default(),
        position_samples: 24_000,
        gain: 1.0,
        pan: 0.0,
        muted: false,
        soloed: false,
        filter_on: false,
        drive_on: false,
        delay_on: true,
        reversed: false,
        layers: 0,
    };
    let mut tracks = [None; crate::engine::SHOWN_TRACKS];
    tracks[0] = Some(track);
    tracks[1] = Some(TrackStatus {
        id: 1,
        cycles: 2,
        length_samples: 192_000,
        position_samples: 120_000,
        ..track
    });
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
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("RECORDING 1.0 s");
    // The details in words are folded away: the stage shows the ring and the tiles.
    assert!(harness.query_by_label_contains("Cycle:").is_none());
    harness.get_by_label("Details").click();
    harness.run();
    harness.get_by_label("Cycle: 2.000 s (96000 samples)");
    harness.get_by_label("Host sync: 2 bars, on the host's bars");
    harness.get_by_label("Tracks: 3   (redo: 1)");
    harness.get_by_label("RECORDING 1.0 s");
}

#[test]
fn record_and_undo_buttons_send_the_same_commands_as_midi() {
    let (mut app, mut commands) = editor(playing_status());
    let mut harness = editor_harness(&mut app);
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
    let mut harness = editor_harness(&mut app);
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
fn a_pending_mute_names_its_loop_by_its_number_in_the_mix_past_the_sixteenth() {
    // 24 loops on the board (ids with gaps, as after removals); the status lists 16 tracks.
    let tiles: Vec<TileStatus> = (board_of_loops(24).tiles().iter())
        .map(|tile| TileStatus {
            track: TrackStatus {
                id: 3 * tile.track.id + 5,
                ..tile.track
            },
            ..*tile
        })
        .collect();
    let mut status = playing_status();
    let mute = |track_id| PendingTrigger {
        action: TriggerAction::ToggleLoopMute { track_id },
        at_samples: 572_000,
        remaining: Some(1),
    };
    // Loop 20 (id 62), loop 2 (id 8), and a loop gone from the mix (id 7).
    status.triggers[0] = Some(mute(62));
    status.triggers[1] = Some(mute(8));
    status.triggers[2] = Some(mute(7));
    status.pending_count = 3;
    let mut live = live_editor(status, Arc::default());
    live.board
        .write(LoopBoard::from_tiles(&tiles, MAX_TILES, 48_000.0, 500_000));
    let mut harness = editor_harness(&mut live.app);
    harness.run();
    harness.get_by_label("Mute/unmute loop 2 in 1.5 s - click to cancel");
    harness.get_by_label("Mute/unmute a loop in 1.5 s - click to cancel");
    harness
        .get_by_label("Mute/unmute loop 20 in 1.5 s - click to cancel")
        .click();
    harness.run();
    let cancel = live.commands.pop();
    assert!(
        matches!(cancel, Ok(Command::Trigger(spec)) if spec.action == TriggerAction::ToggleLoopMute { track_id: 62 }),
        "the same trigger again cancels it: {cancel:?}"
    );
}

/// `status` with its loop `index` selected, its effects as `fx`.
fn with_selected(
    mut status: EngineStatus,
    index: usize,
    fx: crate::engine::fx::chain::FxSettings,
) -> EngineStatus {
    let track = status.tracks[index].unwrap();
    status.selected = Some(SelectedStatus { index, track, fx });
    status
}

#[test]
fn the_selected_loops_panel_switches_its_effects() {
    let fx = crate::engine::fx::chain::FxChain::new(48_000.0).settings();
    let (mut app, mut commands) = editor(with_selected(playing_status(), 1, fx));
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Loop 2: 2 cyc, selected, Dl");
    harness.get_by_label_contains("Filter off").click();
    harness.run();
    assert_eq!(
        commands.pop(),
        Ok(Command::Track(
            TrackTarget::Selected,
            TrackControl::Fx(FxControl::SetFilter(true))
        ))
    );
    drop(harness);
    let delay_on = crate::engine::fx::chain::FxSettings {
        delay_on: true,
        ..fx
    };
    let (mut app, mut commands) = editor(with_selected(playing_status(), 0, delay_on));
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Loop 1: 1 cyc, selected, Dl");
    harness.get_by_label_contains("Delay on").click();
    harness.run();
    assert_eq!(
        commands.pop(),
        Ok(Command::Track(
            TrackTarget::Selected,
            TrackControl::Fx(FxControl::SetDelay(false))
        )),
        "the delay was on: the switch turns it off"
    );
    assert!(commands.pop().is_err());
}

#[test]
fn the_selected_loop_shows_its_values_and_the_select_buttons_choose_a_loop() {
    let (mut app, _) = editor(playing_status());
    editor_harness(&mut app).get_by_label("Selected loop: none");
    let mut status = playing_status();
    let track = TrackStatus {
        gain: 0.5,
        pan: -0.3,
        soloed: true,
        filter_on: true,
        ..status.tracks[1].unwrap()
    };
    status.tracks[1] = Some(track);
    let mut fx = crate::engine::fx::chain::FxChain::new(48_000.0).settings();
    fx.filter_on = true;
    fx.filter_mode = crate::engine::fx::filter::FilterMode::HighPass;
    fx.cutoff_hz = 500.0;
    fx.q = 2.0;
    fx.delay_on = true;
    fx.delay_frames = 12_000.0;
    status.selected = Some(SelectedStatus {
        index: 1,
        track,
        fx,
    });
    let (mut app, mut commands) = editor(status);
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Selected loop 2");
    harness.get_by_label("Gain -6.0 dB");
    harness.get_by_label("Pan L30");
    harness.get_by_label("Solo on");
    harness.get_by_label("Filter on (high-pass, 500 Hz, Q 2.00)");
    harness.get_by_label("Drive off (4.00)");
    harness.get_by_label("Delay on (250.0 ms, feedback 0.35, echo 0.50)");
    harness.get_by_label("Loop 1: 1 cyc, Dl").click();
    harness.run();
    harness.get_by_label("Select next (59)").click();
    harness.run();
    assert_eq!(commands.pop(), Ok(Command::Select(Select::Loop(0))));
    assert_eq!(commands.pop(), Ok(Command::Select(Select::Next)));
}

#[test]
fn the_effect_sliders_send_settings_for_the_chosen_track() {
    let (mut app, mut commands) = editor(playing_status());
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Track effects").click();
    harness.run();
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
    let harness = editor_harness(&mut app);
    harness.get_by_label("Input -20 dBFS, peak -20 dBFS");
    harness.get_by_label("no clip");
    status.input_clips = 3;
    let (mut app, _) = editor(status);
    let harness = editor_harness(&mut app);
    harness.get_by_label("Input -20 dBFS, peak -20 dBFS");
    harness.get_by_label("CLIP 3");
}

#[test]
fn learn_binds_the_next_midi_message_and_a_used_one_moves() {
    let (mut app, _commands, mut audio, params) = editor_with_midi(playing_status());
    let learning = audio.learning.clone();
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("MIDI map and learn").click();
    harness.run();
    harness.get_by_label("Learn Undo").click();
    harness.run();
    harness.get_by_label("Waiting: Undo");
    assert!(learning.load(std::sync::atomic::Ordering::Relaxed));
    // A foot switch on channel 2 sending CC 80.
    let pedal = MidiMessage::Cc {
        channel: 1,
        cc: 80,
        value: 127,
    };
    audio.heard(pedal);
    harness.run();
    harness.get_by_label("CC 80 ch 2 now controls Undo");
    harness.get_by_label("Undo (CC 80 ch 2)");
    let undo = Target::Command(Command::Undo);
    let cc_80 = Binding {
        channel: Some(1),
        control: Control::Cc(80),
    };
    assert_eq!(
        params.midi_map.map().bindings_of(undo).collect::<Vec<_>>(),
        [cc_80],
        "note 27 is replaced"
    );
    assert!(!learning.load(std::sync::atomic::Ordering::Relaxed));

    // The same pedal learned for record moves from undo (and record loses note 47).
    harness.get_by_label("Learn Record").click();
    harness.run();
    audio.heard(pedal);
    harness.run();
    harness.get_by_label("CC 80 ch 2 now controls Record (moved from Undo)");
    harness.get_by_label("Record (CC 80 ch 2)");
    harness.get_by_label("Undo");
    assert_eq!(params.midi_map.map().bindings_of(undo).count(), 0);

    // Clicking again cancels; so does Escape: what is played then is not learned.
    let before = params.midi_map.map();
    harness.get_by_label("Learn Capture").click();
    harness.run();
    harness.get_by_label("Waiting: Capture").click();
    harness.run();
    harness.get_by_label("Learn Capture").click();
    harness.run();
    harness.key_press(egui::Key::Escape);
    harness.run();
    audio.heard(MidiMessage::NoteOn {
        channel: 0,
        note: 1,
        velocity: 127,
    });
    harness.run();
    harness.get_by_label("Learn Capture");
    assert_eq!(params.midi_map.map(), before);
}

#[test]
fn a_tile_selects_its_loop_and_the_panel_removes_and_pans_it() {
    let (mut app, mut commands) = editor(playing_status());
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Loop 2: 2 cyc, Dl").click();
    harness.run();
    assert_eq!(commands.pop(), Ok(Command::Select(Select::Loop(1))));
    drop(harness);
    let fx = crate::engine::fx::chain::FxChain::new(48_000.0).settings();
    let (mut app, mut commands) = editor(with_selected(playing_status(), 1, fx));
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Clear selected (75)").click();
    harness.run();
    harness.get_by_label("Pan").focus();
    harness.run();
    harness.key_press(egui::Key::ArrowRight);
    harness.run();
    assert_eq!(
        commands.pop(),
        Ok(Command::Track(TrackTarget::Selected, TrackControl::Remove))
    );
    match commands.pop() {
        Ok(Command::Track(TrackTarget::Selected, TrackControl::SetPan(pan))) => {
            assert!(pan > 0.0 && pan <= 1.0, "panned right of centre: {pan}");
        }
        other => panic!("expected a pan of the selected loop, got {other:?}"),
    }
    assert!(commands.pop().is_err());
}

#[test]
fn a_pending_mute_shows_its_countdown_on_its_loops_tile() {
    let mut status = playing_status();
    status.pending_count = 1;
    // 1.5 s from now, on the second loop (id 1).
    status.triggers[0] = Some(PendingTrigger {
        action: TriggerAction::ToggleLoopMute { track_id: 1 },
        at_samples: 572_000,
        remaining: Some(1),
    });
    let (mut app, _) = editor(status);
    let harness = editor_harness(&mut app);
    harness.get_by_label("Loop 2: 2 cyc, Dl, mute in 1.5 s");
    harness.get_by_label("Loop 1: 1 cyc, Dl");
    assert_eq!(
        harness.query_all_by_label_contains("mute in").count(),
        1,
        "the first loop has nothing pending"
    );
}

#[test]
fn a_tile_says_muted_solo_and_selected_as_its_loop_is() {
    let mut status = playing_status();
    let mut first = status.tracks[0].unwrap();
    first.muted = true;
    status.tracks[0] = Some(first);
    let mut second = status.tracks[1].unwrap();
    second.soloed = true;
    second.speed = crate::engine::speed::Speed::NORMAL.halved();
    second.layers = 2;
    second.reversed = true;
    status.tracks[1] = Some(second);
    let fx = crate::engine::fx::chain::FxChain::new(48_000.0).settings();
    let (mut app, _) = editor(with_selected(status, 1, fx));
    let harness = editor_harness(&mut app);
    harness.get_by_label("Loop 1: 1 cyc, muted, Dl");
    harness.get_by_label("Loop 2: 2 cyc, selected, solo, +2, x1/2, rev, Dl");
}

/// A board of `count` one-cycle loops, the first selected.
fn board_of_loops(count: usize) -> LoopBoard {
    let track = playing_status().tracks[0].unwrap();
    let tiles: Vec<TileStatus> = (0..count)
        .map(|n| TileStatus {
            track: TrackStatus {
                id: n as u64,
                ..track
            },
            selected: n == 0,
            pending: None,
        })
        .collect();
    LoopBoard::from_tiles(&tiles, MAX_TILES, 48_000.0, 500_000)
}

/// The numbers of the tiles in the tree (those drawn: the rows in view).
fn tiles_drawn(harness: &Harness<'_>) -> Vec<usize> {
    use egui_kittest::kittest::NodeT;
    harness
        .query_all_by_label_contains("Loop ")
        .filter_map(|node| {
            let label = node.accesskit_node().label()?;
            let number = label.strip_prefix("Loop ")?.split(':').next()?;
            number.parse().ok()
        })
        .collect()
}

/// Scrolls the tiles down 100 points at a time, as a wheel does, until tile `n` (1 for the
/// anchor) is drawn; returns the numbers of every tile drawn on the way, the first screen's
/// included.
fn scroll_down_to_tile(harness: &mut Harness<'_>, n: usize) -> std::collections::BTreeSet<usize> {
    let mut seen: std::collections::BTreeSet<usize> = tiles_drawn(harness).into_iter().collect();
    for _ in 0..200 {
        if seen.contains(&n) {
            break;
        }
        let drawn = tiles_drawn(harness);
        let in_view = format!("Loop {}:", drawn[drawn.len() / 2]);
        harness.get_by_label_contains(&in_view).scroll_down();
        harness.run();
        seen.extend(tiles_drawn(harness));
    }
    seen
}

#[test]
fn a_hundred_loops_scroll_and_the_hundredth_tile_selects_its_loop() {
    let mut live = live_editor(playing_status(), Arc::default());
    live.board.write(board_of_loops(100));
    let mut harness = editor_harness(&mut live.app);
    harness.run();
    harness.get_by_label("Loops: 100");
    let first = tiles_drawn(&harness);
    assert!(first.contains(&1), "{first:?}");
    assert!(first.len() < 100, "a screenful, not all: {}", first.len());
    let seen = scroll_down_to_tile(&mut harness, 100);
    assert_eq!(seen.len(), 100, "every tile reached: {seen:?}");
    assert_eq!(seen.iter().copied().max(), Some(100));
    assert!(
        !tiles_drawn(&harness).contains(&1),
        "the first row scrolled away"
    );
    // Into the view's middle, where the pointer clicks it.
    harness.get_by_label("Loop 100: 1 cyc, Dl").scroll_to_me();
    harness.run();
    harness.get_by_label("Loop 100: 1 cyc, Dl").click();
    harness.run();
    assert_eq!(live.commands.pop(), Ok(Command::Select(Select::Loop(99))));
}

#[test]
fn learn_parameter_binds_a_cc_to_the_chosen_parameter() {
    let (mut app, _commands, mut audio, params) = editor_with_midi(playing_status());
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("MIDI map and learn").click();
    harness.run();
    harness.get_by_label("not mapped");
    harness.get_by_label("Learn parameter").click();
    harness.run();
    audio.heard(MidiMessage::Cc {
        channel: 0,
        cc: 7,
        value: 90,
    });
    harness.run();
    // The first mappable parameter is the PA monitor level.
    harness.get_by_label("CC 7 ch 1 now controls Monitor");
    harness.get_by_label("CC 7 ch 1");
    let ids = crate::params::mappable_param_ids();
    assert_eq!(ids[0], "monitor_gain");
    assert_eq!(
        params.midi_map.map().get(Binding {
            channel: Some(0),
            control: Control::Cc(7),
        }),
        Some(Target::Param(0))
    );
}

#[test]
fn a_refused_state_and_export_results_show_in_the_session_panel() {
    let session = Arc::new(SessionStore::default());
    assert!(session.load(b"not a performance".to_vec()).is_err());
    let (mut app, ..) = editor_with(playing_status(), session.clone());
    let mut harness = editor_harness(&mut app);
    harness.get_by_label(
        "Saved performance refused: the saved data is not a Loopmate performance. Nothing was \
         loaded.",
    );
    harness.get_by_label("Export and import").click();
    harness.run();
    harness.get_by_label("Export WAVs").click();
    wait_for_label_contains(&mut harness, "Export failed: there are no loops to export.");
    let missing = "/nonexistent/take.wav";
    harness.get_by_label("WAV file").click();
    harness.run();
    harness.get_by_label("WAV file").type_text(missing);
    harness.run();
    harness.get_by_label("Import WAV").click();
    wait_for_label_contains(&mut harness, "Import refused");
}

#[test]
fn a_performance_file_saved_while_a_capture_copies_in_a_stopped_host_says_what_it_left_out() {
    let (_engine, _keeper, store) = crate::state::tests::capturing();
    let session = Arc::new(store);
    let (mut app, ..) = editor_with(playing_status(), session.clone());
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Export and import").click();
    harness.run();
    // The folder field holds the default folder; this makes it a folder of the test's own.
    let suffix = format!("-capture-save-test-{}", std::process::id());
    harness.get_by_label("Folder").click();
    harness.run();
    harness.get_by_label("Folder").type_text(&suffix);
    harness.run();
    harness.get_by_label("Save performance file").click();
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
    let dir = std::path::PathBuf::from(format!("{home}/loopmate-export{suffix}"));
    let path = dir.join("performance.loopmate");
    wait_for_label_contains(
        &mut harness,
        &format!(
            "Saved {}. Warning: 1 capture(s) still copying were not saved",
            path.display()
        ),
    );
    let saved = std::fs::read(&path).expect("the file was written");
    std::fs::remove_dir_all(&dir).unwrap();
    let model = crate::state::format::decode(&saved).expect("it loads");
    assert_eq!(
        model.tracks.len(),
        1,
        "the anchor, without the unfinished capture"
    );
}

/// Frames the editor draws while the engine is stalled and a save waits for its capture
/// (about 10 ms each: well inside the save's [`SAVE_STALL_SECS`] of patience).
///
/// [`SAVE_STALL_SECS`]: crate::state::store::SAVE_STALL_SECS
const STALLED_FRAMES: usize = 10;
/// The longest a frame may take while a save waits: a window that freezes longer stutters.
const MAX_FRAME: Duration = Duration::from_millis(100);

#[test]
fn the_editor_keeps_drawing_while_a_save_waits_for_a_capture() {
    // A capture still copying, in an engine this test runs: stalled at first, then one block
    // per editor frame until the copy is done. A save on another thread (the host's, or the
    // editor's "Save performance file") waits for the copy meanwhile.
    let (mut engine, mut keeper, store) = crate::state::tests::capturing();
    let session = Arc::new(store);
    let (mut app, ..) = editor_with(playing_status(), session.clone());
    let mut harness = editor_harness(&mut app);
    let save = {
        let session = session.clone();
        std::thread::spawn(move || session.save_reporting())
    };
    let mut frame = || {
        let started = Instant::now();
        harness.step();
        started.elapsed()
    };
    let mut frame_times = Vec::new();
    for _ in 0..STALLED_FRAMES {
        frame_times.push(frame());
        std::thread::sleep(Duration::from_millis(10));
    }
    let slowest = frame_times.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < MAX_FRAME,
        "a frame took {slowest:?} while the save waited for a stalled engine"
    );
    assert!(!save.is_finished(), "the save waits for the capture");
    while !save.is_finished() {
        frame_times.push(frame());
        crate::state::tests::silence(&mut engine, &mut keeper, 512);
        assert!(frame_times.len() < 10_000, "the save never ends");
    }
    let slowest = frame_times.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < MAX_FRAME,
        "a frame took {slowest:?} while the save waited for the copy"
    );
    let (saved, left_out) = save.join().expect("the save thread");
    assert_eq!(left_out, None, "nothing was left out");
    let model = crate::state::format::decode(&saved).expect("the save loads");
    assert_eq!(model.tracks.len(), 2, "the anchor and the whole capture");
    assert_eq!(
        model.tracks[1].record.length_samples,
        4 * crate::state::tests::CAPTURE_CYCLE
    );
}

/// Draws frames until a label containing `part` shows (the editor's file work runs on its own
/// thread).
fn wait_for_label_contains(harness: &mut Harness<'_>, part: &str) {
    for _ in 0..1000 {
        if harness.query_by_label_contains(part).is_some() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        // One frame at a time: while the work runs the editor keeps asking for frames.
        harness.step();
    }
    harness.get_by_label_contains(part);
}

#[test]
fn the_host_tempo_its_source_its_bar_and_the_tempo_heard_show() {
    let mut status = playing_status();
    // A free anchor made 4 beats long by beat quantization, while the host plays.
    status.host_bars = None;
    status.anchor_bpm = Some(120.0);
    status.cycle_beats = Some(4);
    status.host_grid = Some(crate::engine::cycle::HostGrid {
        bar_origin_samples: 404_000.0,
        bar_length_samples: 96_000.0,
        beats_per_bar: 4,
        origin_bar: 3.0,
        quarter_samples: 24_000.0,
    });
    let (mut app, ..) = editor_with(status, Arc::default());
    hears_tempo(&mut app, 118.5);
    let harness = editor_harness(&mut app);
    // The host's tempo wins over the loop's (the same here) and the tempo heard, shown apart.
    harness.get_by_label("120.0");
    harness.get_by_label("from host");
    harness.get_by_label("heard 118.5");
    // Bar 3 (counted from 0) began at 404 000; now is 500 000: bar 5 (from 1), its first beat.
    harness.get_by_label("bar 5, beat 1 of 4");
    drop(harness);
    // The standalone following Link says so, with its peers.
    app.link
        .tempo_source
        .set_source(crate::tempo_source::TempoSource::Link);
    app.link.tempo_source.set_link_peers(2);
    let harness = editor_harness(&mut app);
    harness.get_by_label("from Link, 2 peers");
}

/// Gives `app` an analysis that hears `bpm`.
fn hears_tempo(app: &mut LoopmateApp, bpm: f32) {
    let snapshot = crate::analysis::snapshot::AnalysisSnapshot {
        bpm: Some(bpm),
        ..Default::default()
    };
    let (mut analysis_in, analysis_out) = triple_buffer::triple_buffer(&snapshot);
    analysis_in.write(snapshot);
    *app.link.analysis.lock() = Some(analysis_out);
}

#[test]
fn the_ring_counts_the_metronomes_beats_not_the_tempo_heard() {
    let mut status = playing_status();
    // A 4.8 s free anchor (no host, no beat quantization): the metronome clicks the Beats per
    // cycle setting, 5 here, whatever tempo the analysis hears.
    status.host_bars = None;
    status.host_grid = None;
    status.anchor_bpm = None;
    status.cycle_beats = None;
    status.cycle_length_samples = Some(230_400);
    status.cycle_position_samples = 100_000;
    let (mut app, ..) = editor_with(status, Arc::default());
    let harness = editor_harness(&mut app);
    // No beats from the engine: the ring shows seconds, and no tempo is known yet.
    assert!(harness.query_by_label_contains("beats a cycle").is_none());
    harness.get_by_label("Cycle position: 2.1");
    harness.get_by_label("listening");
    drop(harness);
    status.cycle_beats = Some(5);
    let (mut app, ..) = editor_with(status, Arc::default());
    hears_tempo(&mut app, 98.6);
    let harness = editor_harness(&mut app);
    // 4.8 s in 5 beats is 62.5 BPM; now (2.08 s) is in beat 3. The tempo heard is shown apart.
    harness.get_by_label("62.5");
    harness.get_by_label("from the loop");
    harness.get_by_label("5 beats a cycle");
    harness.get_by_label("heard 98.6");
    harness.get_by_label("Cycle position: 3");
}

#[test]
fn the_history_fill_and_the_main_settings_show() {
    let mut status = playing_status();
    status.history_filled_secs = 10.4;
    status.history_secs = 60.0;
    let (mut app, ..) = editor_with(status, Arc::default());
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Details").click();
    harness.run();
    harness.get_by_label("History: 10 s of 60 s");
    harness.get_by_label("Settings").click();
    harness.run();
    // Outside a plugin window there is no host to set parameters through: values are shown.
    for (name, value) in [
        ("Sync", "Free"),
        ("Quantize", "Onset"),
        ("Lenience", "200 ms"),
        ("Blend", "50.0 ms"),
        ("Capture", "1 cycle"),
    ] {
        harness.get_by_label(name);
        harness.get_by_label(value);
    }
}

/// A host as the plugin window sees it: records every parameter gesture and applies the value
/// to the parameter, as nice-plug's wrappers do.
#[derive(Default)]
struct RecordingHost {
    /// The gestures in order: `("begin" | "set" | "end", parameter name, normalized value)`.
    gestures: Mutex<Vec<(&'static str, String, f32)>>,
}

impl nice_plug::context::gui::GuiContextInner for RecordingHost {
    fn plugin_api(&self) -> nice_plug::context::PluginApi {
        nice_plug::context::PluginApi::Clap
    }

    unsafe fn raw_begin_set_parameter(&self, param: nice_plug::prelude::ParamPtr) {
        // SAFETY: the test keeps the parameters alive as long as the editor.
        let name = unsafe { param.name() }.to_owned();
        self.gestures.lock().push(("begin", name, f32::NAN));
    }

    unsafe fn raw_set_parameter_normalized(
        &self,
        param: nice_plug::prelude::ParamPtr,
        normalized: f32,
    ) {
        // SAFETY: as above; the GUI thread is the only writer here, as in a host.
        let name = unsafe {
            param._internal_set_normalized_value(normalized);
            param.name()
        }
        .to_owned();
        self.gestures.lock().push(("set", name, normalized));
    }

    unsafe fn raw_end_set_parameter(&self, param: nice_plug::prelude::ParamPtr) {
        // SAFETY: as above.
        let name = unsafe { param.name() }.to_owned();
        self.gestures.lock().push(("end", name, f32::NAN));
    }

    fn get_state(&self) -> nice_plug::prelude::PluginState {
        unimplemented!("the editor never asks for the whole state")
    }

    fn set_state(&self, _: nice_plug::prelude::PluginState) {
        unimplemented!("the editor never replaces the whole state")
    }

    fn request_restart(&self) {}
}

/// `app` in a plugin window of `host`.
fn attach(app: &mut LoopmateApp, host: &Arc<RecordingHost>) {
    let inner: Arc<dyn nice_plug::context::gui::GuiContextInner> = host.clone();
    app.attach_host(nice_plug::context::gui::GuiContext::new(inner));
}

/// Every gesture on `name` in `host`, as (what, normalized value), and checks that nothing
/// else was touched.
fn gestures_on(host: &RecordingHost, name: &str) -> Vec<(&'static str, f32)> {
    let gestures = host.gestures.lock().clone();
    assert!(gestures.iter().all(|g| g.1 == name), "{gestures:?}");
    gestures
        .into_iter()
        .map(|(what, _, value)| (what, value))
        .collect()
}

/// The control of role `role` on the settings row `name`.
fn control_on_row<'h>(
    harness: &'h Harness<'_>,
    name: &str,
    role: egui::accesskit::Role,
) -> egui_kittest::Node<'h> {
    let row_y = harness.get_by_label(name).rect().center().y;
    harness
        .get_all_by_role(role)
        .find(|node| (node.rect().center().y - row_y).abs() < 4.0)
        .unwrap_or_else(|| panic!("a {role:?} on the {name} row"))
}

#[test]
fn choosing_a_setting_from_its_list_is_one_host_gesture() {
    let (mut app, _commands, _audio, params) = editor_with_midi(playing_status());
    let host = Arc::new(RecordingHost::default());
    attach(&mut app, &host);
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Settings").click();
    harness.run();
    control_on_row(&harness, "Quantize", egui::accesskit::Role::ComboBox).click();
    harness.run();
    harness.get_by_label("Onset + beat").click();
    harness.run();
    let gestures = gestures_on(&host, "Quantize");
    assert_eq!(gestures.len(), 3, "{gestures:?}");
    assert_eq!(gestures[0].0, "begin");
    assert_eq!(gestures[1], ("set", 1.0));
    assert_eq!(gestures[2].0, "end");
    // The value went through the host into the parameter the plugin reads, and shows.
    assert_eq!(
        params.quantize_mode.value(),
        crate::params::Quantize::OnsetBeat
    );
    let list = control_on_row(&harness, "Quantize", egui::accesskit::Role::ComboBox);
    assert_eq!(list.value().as_deref(), Some("Onset + beat"));
}

#[test]
fn dragging_a_setting_slider_holds_one_host_gesture_until_release() {
    let (mut app, _commands, _audio, params) = editor_with_midi(playing_status());
    let host = Arc::new(RecordingHost::default());
    attach(&mut app, &host);
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Settings").click();
    harness.run();
    let slider = control_on_row(&harness, "Lenience", egui::accesskit::Role::Slider).rect();
    let at =
        |fraction: f32| egui::pos2(slider.min.x + fraction * slider.width(), slider.center().y);
    let before = params.lenience_ms.value();
    harness.hover_at(at(0.2));
    harness.run();
    harness.drag_at(at(0.2));
    harness.run();
    for fraction in [0.3, 0.5, 0.7, 0.9] {
        harness.hover_at(at(fraction));
        harness.run();
    }
    harness.drop_at(at(0.9));
    harness.run();
    harness.run();
    let gestures = gestures_on(&host, "Lenience");
    let (first, last) = (gestures[0].0, gestures[gestures.len() - 1].0);
    assert_eq!((first, last), ("begin", "end"), "{gestures:?}");
    let kinds: Vec<_> = gestures.iter().map(|g| g.0).collect();
    assert_eq!(
        kinds.iter().filter(|&&k| k == "begin").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|&&k| k == "end").count(),
        1,
        "{kinds:?}"
    );
    assert!(
        kinds.iter().filter(|&&k| k == "set").count() >= 3,
        "{kinds:?}"
    );
    let last_set = gestures.iter().rev().find(|g| g.0 == "set").unwrap().1;
    assert!(
        (last_set - 0.9).abs() < 0.05,
        "released at 90 %: {last_set}"
    );
    assert!(params.lenience_ms.value() > before, "the setting moved");
    harness.get_by_label(&params.lenience_ms.to_string());
}

#[test]
fn a_cc_on_a_parameter_moves_the_host_parameter_while_the_window_is_open() {
    let (mut app, _commands, mut audio, _params) = editor_with_midi(playing_status());
    let host = Arc::new(RecordingHost::default());
    attach(&mut app, &host);
    let mut harness = editor_harness(&mut app);
    let report = |normalized| crate::midi_link::ParamReport {
        index: 0,
        normalized,
    };
    // Two CCs between frames: the host hears only the latest, in one gesture.
    audio.params.push(report(0.25)).unwrap();
    audio.params.push(report(0.5)).unwrap();
    harness.run();
    let gestures = host.gestures.lock().clone();
    let monitor = |what: &'static str, value: f32| (what, "Monitor".to_owned(), value);
    assert_eq!(gestures.len(), 3, "{gestures:?}");
    assert_eq!(gestures[0].0, "begin");
    assert_eq!(gestures[1], monitor("set", 0.5));
    assert_eq!(gestures[2].0, "end");
}

#[test]
fn the_selected_loop_panel_shows_its_speed_and_its_action_buttons_act_on_it() {
    let mut status = playing_status();
    let half = crate::engine::speed::Speed::NORMAL.halved();
    let track = TrackStatus {
        speed: half,
        ..status.tracks[1].unwrap()
    };
    status.tracks[1] = Some(track);
    status.selected = Some(SelectedStatus {
        index: 1,
        track,
        fx: crate::engine::fx::chain::FxChain::new(48_000.0).settings(),
    });
    let (mut app, mut commands) = editor(status);
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Speed x1/2");
    harness.get_by_label("Loop 2: 2 cyc, selected, x1/2, Dl");
    harness
        .get_by_label("Mute selected at loop end (69)")
        .click();
    harness.run();
    harness.get_by_label("Selected speed x2 (74)").click();
    harness.run();
    harness.get_by_label("Clear selected (75)").click();
    harness.run();
    let selected = |control| Ok(Command::Track(TrackTarget::Selected, control));
    assert_eq!(commands.pop(), selected(TrackControl::ToggleMuteAtLoopEnd));
    assert_eq!(commands.pop(), selected(TrackControl::DoubleSpeed));
    assert_eq!(commands.pop(), selected(TrackControl::Remove));
    assert!(commands.pop().is_err());
}

#[test]
fn the_pads_show_their_one_shots_and_their_buttons_strike_clear_and_capture() {
    use crate::engine::command::PadTarget;
    use crate::engine::oneshot::PadStatus;
    let mut status = playing_status();
    status.one_shots[0] = PadStatus {
        length_samples: 24_000,
        filling: false,
        playing: true,
    };
    status.one_shots[1] = PadStatus {
        length_samples: 48_000,
        filling: true,
        playing: false,
    };
    let (mut app, mut commands) = editor(status);
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Pad 3 (38): empty");
    harness.get_by_label("Pad 1 (36): 0.50 s >").click();
    harness.run();
    // A pad still capturing, or empty, cannot be struck.
    harness.get_by_label("Pad 2 (37): capturing").click();
    harness.run();
    harness.get_by_label("Clear 1").click();
    harness.run();
    harness.get_by_label("Capture one-shot (44)").click();
    harness.run();
    harness.get_by_label("Clear one-shots (46)").click();
    harness.run();
    assert_eq!(
        commands.pop(),
        Ok(Command::StrikeOneShot {
            pad: 0,
            velocity: 127
        })
    );
    assert_eq!(commands.pop(), Ok(Command::ClearOneShot(PadTarget::Pad(0))));
    assert_eq!(
        commands.pop(),
        Ok(Command::CaptureOneShot(PadTarget::NextFree))
    );
    assert_eq!(commands.pop(), Ok(Command::ClearOneShots));
    assert!(commands.pop().is_err());
}

#[test]
fn the_calibrate_button_shows_in_the_standalone_only_asks_the_worker_and_shows_its_report() {
    let (mut app, ..) = editor_with(playing_status(), Arc::default());
    let control = app.link.calibration.clone();
    {
        let mut harness = editor_harness(&mut app);
        harness.get_by_label("Settings").click();
        harness.run();
        // A DAW: nothing offers calibration, so there is no button.
        harness.get_by_label("Input latency");
        harness.get_by_label("Headphone delay");
        assert!(harness.query_by_label("Calibrate latency").is_none());
    }
    control.offer();
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Settings").click();
    harness.run();
    harness.get_by_label("Calibrate latency").click();
    harness.run();
    assert!(control.take_request(), "the click asked the worker");
    control.set_running(true);
    harness.run();
    harness.get_by_label("Calibrating...");
    control.report("Input latency: 1.20 ms\nSaved in /tmp/config.toml".to_owned());
    control.set_running(false);
    harness.run();
    harness.get_by_label("Calibrate latency");
    harness.get_by_label("Input latency: 1.20 ms\nSaved in /tmp/config.toml");
}

#[test]
fn at_the_default_size_the_tiles_take_the_middle_under_the_state_ring_and_tempo() {
    let mut live = live_editor(playing_status(), Arc::default());
    live.board.write(board_of_loops(100));
    let mut harness = editor_harness(&mut live.app);
    harness.run();
    let window =
        egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(DEFAULT_SIZE.0, DEFAULT_SIZE.1));
    let badge = harness.get_by_label("RECORDING 1.0 s").rect();
    let ring = harness.get_by_label_contains("Cycle position").rect();
    let tempo = harness.get_by_label("listening").rect();
    let first = harness.get_by_label_contains("Loop 1:").rect();
    for (name, rect) in [("badge", badge), ("ring", ring), ("tempo", tempo)] {
        assert!(
            rect.bottom() <= first.top(),
            "{name} {rect:?} above the tiles {first:?}"
        );
    }
    // The whole tiles in the window: at least three rows of four.
    let whole: Vec<egui::Rect> = (1..=100)
        .filter_map(|n| {
            let label = format!("Loop {n}:");
            harness
                .query_by_label_contains(&label)
                .map(|node| node.rect())
        })
        .filter(|rect| window.contains_rect(*rect))
        .collect();
    let rows: std::collections::BTreeSet<i32> =
        whole.iter().map(|rect| rect.top().round() as i32).collect();
    assert!(
        whole.len() >= 12 && rows.len() >= 3,
        "{} whole tiles in {} rows",
        whole.len(),
        rows.len()
    );
    // The state's words and the ring are at least 40 points high.
    assert!(
        badge.height() >= 40.0 && ring.height() >= 40.0,
        "{badge:?} {ring:?}"
    );
}

#[test]
fn keys_send_the_main_commands_once_per_press_and_not_while_typing() {
    let (mut app, mut commands) = editor(playing_status());
    let mut harness = editor_harness(&mut app);
    harness.key_press(egui::Key::Space);
    harness.run();
    assert_eq!(commands.pop(), Ok(Command::RecordToggle));
    harness.key_press(egui::Key::Z);
    harness.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Z);
    harness.key_press(egui::Key::Num3);
    harness.key_press(egui::Key::ArrowRight);
    harness.run();
    for expected in [
        Command::Undo,
        Command::Redo,
        Command::Select(Select::Loop(2)),
        Command::Select(Select::Next),
    ] {
        assert_eq!(commands.pop(), Ok(expected));
    }
    // Ctrl+Z is the host's (its own undo), not ours.
    harness.key_press_modifiers(egui::Modifiers::CTRL, egui::Key::Z);
    harness.run();
    assert!(commands.pop().is_err());
    // A held Space (the key repeating) records once.
    harness.key_down(egui::Key::Space);
    harness.run();
    for _ in 0..3 {
        harness.event(egui::Event::Key {
            key: egui::Key::Space,
            physical_key: None,
            pressed: true,
            repeat: true,
            modifiers: egui::Modifiers::NONE,
        });
        harness.run();
    }
    harness.key_up(egui::Key::Space);
    harness.run();
    assert_eq!(commands.pop(), Ok(Command::RecordToggle));
    assert!(commands.pop().is_err(), "one press, one command");
    // Typing a path: the keys are text.
    harness.get_by_label("Export and import").click();
    harness.run();
    harness.get_by_label("WAV file").click();
    harness.run();
    harness.get_by_label("WAV file").type_text("c z m");
    harness.key_press(egui::Key::Space);
    harness.run();
    assert!(
        commands.pop().is_err(),
        "no command while a field has the keys"
    );
}

#[test]
fn a_buttons_hover_text_names_its_key() {
    let (mut app, _) = editor(playing_status());
    let mut harness = editor_harness(&mut app);
    harness.get_by_label("Record (47)").hover();
    // Tooltips show after a short delay.
    for _ in 0..10 {
        harness.step();
        std::thread::sleep(Duration::from_millis(60));
    }
    harness.run();
    harness.get_by_label_contains("Key: Space");
}

#[test]
fn the_take_recording_has_a_tile_and_a_dubbed_loop_says_so_on_its_own() {
    let mut status = playing_status();
    status.dub = crate::engine::dub::DubState::Dubbing {
        kind: crate::engine::dub::DubKind::Overdub,
        track_id: status.tracks[1].unwrap().id,
    };
    let (mut app, _) = editor(status);
    let harness = editor_harness(&mut app);
    harness.get_by_label("New loop: recording 1.0 s");
    harness.get_by_label_contains("Loop 2: 2 cyc, overdubbing");
    assert!(
        harness
            .query_by_label_contains("Loop 1: 1 cyc, overdubbing")
            .is_none()
    );
}

#[test]
fn every_control_fits_in_the_window_and_the_side_panel_keeps_its_width() {
    use egui_kittest::kittest::NodeT;
    let fx = crate::engine::fx::chain::FxChain::new(48_000.0).settings();
    let mut status = with_selected(playing_status(), 1, fx);
    status.pa_muted = true;
    let (mut app, _) = editor(status);
    let harness = editor_harness(&mut app);
    let window =
        egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(DEFAULT_SIZE.0, DEFAULT_SIZE.1));
    for node in harness.query_all_by(|node| node.raw_bounds().is_some()) {
        let rect = node.rect();
        // Only the tile grid and the side panel scroll (down): nothing pokes out sideways.
        assert!(
            rect.right() <= window.right() + 0.5,
            "{:?} {:?} at {rect:?}",
            node.accesskit_node().role(),
            node.accesskit_node().label()
        );
    }
    // The side panel at its 320 points and margins (a wide control would widen it, and take
    // the tiles' room: it was 412 once, with the pan slider in a wrapped row).
    let left = harness.get_by_label("Select previous (58)").rect().left();
    assert!(
        left >= DEFAULT_SIZE.0 - 330.0,
        "the side panel starts at {left}"
    );
}

#[test]
fn the_alerts_show_in_the_header_under_the_state() {
    let mut status = playing_status();
    status.limiter_gain = 0.5;
    status.bad_input_chunks = 3;
    status.message = Some(crate::engine::EngineMessage::TakeTooShort);
    let (mut app, _) = editor(status);
    let harness = editor_harness(&mut app);
    let badge = harness.get_by_label("RECORDING 1.0 s").rect();
    let first_tile = harness.get_by_label_contains("Loop 1:").rect();
    for alert in [
        "PA limiting",
        "Bad input (NaN/inf) silenced 3 times",
        "Take too short for a loop: dropped.",
    ] {
        let rect = harness.get_by_label(alert).rect();
        assert!(
            rect.top() >= badge.bottom() && rect.bottom() <= first_tile.top(),
            "{alert} at {rect:?}, between the badge {badge:?} and the tiles {first_tile:?}"
        );
    }
    drop(harness);
    let (mut app, _) = editor(playing_status());
    let harness = editor_harness(&mut app);
    assert!(
        harness.query_by_label("PA limiting").is_none(),
        "not limiting"
    );
}
