//! What an open editor costs the audio thread: one 128-frame block of `Engine::process` with 16
//! loops plus the status snapshot the plugin publishes after every block, first with nobody
//! reading the snapshots, then with the real editor model drawing frames from them on another
//! thread as fast as it can (layout and tessellation, a harsher load than its 30 Hz repaint).
//! BENCHMARKS.md compares the two medians.
//!
//! Then what one editor frame costs the GUI thread (layout and tessellation) with 8, 64 and 128
//! loops as tiles: the whole editor at its default 1000 x 800 points, and the tile grid alone in
//! a window tall enough to show every tile (the worst case: nothing scrolled out of view).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use loopmate::editor::loop_tiles;
use loopmate::editor::{EditorLink, LoopmateApp};
use loopmate::engine::{EngineStatus, LoopBoard, MAX_TILES, TileStatus, TrackStatus};
use loopmate::params::LoopmateParams;
use parking_lot::Mutex;

mod common;
use common::{RATE_HZ, engine_with_tracks, time_block};

/// The editor model reading `status` and `board`.
fn app_of(
    status: triple_buffer::Output<EngineStatus>,
    board: Option<triple_buffer::Output<LoopBoard>>,
) -> LoopmateApp {
    let (commands, _commands_rx) = rtrb::RingBuffer::new(256);
    let (_audio, midi) = loopmate::midi_link::reports();
    LoopmateApp::new(EditorLink {
        status: Arc::new(Mutex::new(status)),
        commands: Arc::new(Mutex::new(commands)),
        params: Arc::new(LoopmateParams::default()),
        midi: Arc::new(Mutex::new(midi)),
        session: Arc::default(),
        analysis: Arc::default(),
        board: Arc::new(Mutex::new(board)),
        close_requested: Arc::default(),
        calibration: Arc::default(),
        tempo_source: Arc::default(),
    })
}

/// The editor model drawing from `status` until `stop` is set; returns the frames drawn.
fn draw_until(status: triple_buffer::Output<EngineStatus>, stop: Arc<AtomicBool>) -> u64 {
    let mut app = app_of(status, None);
    let ctx = egui::Context::default();
    let mut frames = 0;
    while !stop.load(Ordering::Relaxed) {
        let output = ctx.run_ui(egui::RawInput::default(), |ui| app.draw(ui));
        std::hint::black_box(ctx.tessellate(output.shapes, output.pixels_per_point));
        frames += 1;
    }
    frames
}

fn editor_cost(c: &mut Criterion) {
    let mut group = c.benchmark_group("process_128_frames_16_tracks");
    let (mut engine, _keeper) = engine_with_tracks(16);
    let (mut status_in, _unread) = triple_buffer::triple_buffer(&EngineStatus::idle(RATE_HZ));
    group.bench_function("editor_closed", |b| {
        time_block(b, &mut engine, |engine| status_in.write(engine.status()))
    });

    let (mut status_in, status_out) = triple_buffer::triple_buffer(&EngineStatus::idle(RATE_HZ));
    let stop = Arc::new(AtomicBool::new(false));
    let editor = {
        let stop = stop.clone();
        std::thread::spawn(move || draw_until(status_out, stop))
    };
    group.bench_function("editor_open_drawing", |b| {
        time_block(b, &mut engine, |engine| status_in.write(engine.status()))
    });
    stop.store(true, Ordering::Relaxed);
    let frames = editor.join().expect("the editor thread");
    eprintln!("the editor drew {frames} frames meanwhile");
    group.finish();
}

/// A board of `count` loops as a set shows them: lengths of 1 to 4 cycles, playheads spread,
/// every fourth muted, one soloed, one selected, badges on some, a pending mute on one.
fn board_of(count: usize) -> LoopBoard {
    let tiles: Vec<TileStatus> = (0..count)
        .map(|n| {
            let cycles = 1 + (n % 4) as u32;
            let length_samples = u64::from(cycles) * 96_000;
            TileStatus {
                track: TrackStatus {
                    id: n as u64,
                    cycles,
                    length_samples,
                    speed: Default::default(),
                    position_samples: (n as u64 * 7_919) % length_samples,
                    gain: 1.0,
                    pan: 0.0,
                    muted: n % 4 == 3,
                    soloed: n == 2,
                    filter_on: n % 3 == 0,
                    drive_on: n % 5 == 0,
                    delay_on: n % 2 == 0,
                    reversed: n % 7 == 0,
                    layers: (n % 3) as u32,
                },
                selected: n == 1,
                pending: (n == 5).then_some(loopmate::engine::TilePending {
                    action: loopmate::engine::command::TriggerAction::ToggleLoopMute {
                        track_id: n as u64,
                    },
                    in_samples: 72_000,
                    remaining: Some(1),
                }),
            }
        })
        .collect();
    LoopBoard::from_tiles(&tiles, MAX_TILES, RATE_HZ, 500_000)
}

/// Input for one frame of a window of `width` x `height` points.
fn window(width: f32, height: f32) -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(width, height),
        )),
        ..Default::default()
    }
}

fn frame_cost(c: &mut Criterion) {
    let mut group = c.benchmark_group("editor_frame");
    group.sample_size(30);
    for loops in [8, 64, 128] {
        let (_status_in, status_out) = triple_buffer::triple_buffer(&EngineStatus::idle(RATE_HZ));
        let (_board_in, board_out) = triple_buffer::triple_buffer(&board_of(loops));
        let mut app = app_of(status_out, Some(board_out));
        let ctx = egui::Context::default();
        group.bench_function(format!("whole_editor_1000x800/{loops}_loops"), |b| {
            b.iter(|| {
                let output = ctx.run_ui(window(1000.0, 800.0), |ui| app.draw(ui));
                std::hint::black_box(ctx.tessellate(output.shapes, output.pixels_per_point))
            })
        });
        let board = board_of(loops);
        let status = EngineStatus::idle(RATE_HZ);
        let ctx = egui::Context::default();
        group.bench_function(format!("every_tile_shown_1000x2800/{loops}_loops"), |b| {
            b.iter(|| {
                let output = ctx.run_ui(window(1000.0, 2800.0), |ui| {
                    std::hint::black_box(loop_tiles::show(ui, Some(&board), &status, |_| None));
                });
                std::hint::black_box(ctx.tessellate(output.shapes, output.pixels_per_point))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, editor_cost, frame_cost);
criterion_main!(benches);
