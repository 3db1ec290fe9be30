//! What an open editor costs the audio thread: one 128-frame block of `Engine::process` with 16
//! loops plus the status snapshot the plugin publishes after every block, first with nobody
//! reading the snapshots, then with the real editor model drawing frames from them on another
//! thread as fast as it can (layout and tessellation, a harsher load than its 30 Hz repaint).
//! BENCHMARKS.md compares the two medians.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use loopmate::editor::{EditorLink, LoopmateApp};
use loopmate::engine::EngineStatus;
use loopmate::params::LoopmateParams;
use parking_lot::Mutex;

mod common;
use common::{RATE_HZ, engine_with_tracks, time_block};

/// The editor model drawing from `status` until `stop` is set; returns the frames drawn.
fn draw_until(status: triple_buffer::Output<EngineStatus>, stop: Arc<AtomicBool>) -> u64 {
    let (commands, _commands_rx) = rtrb::RingBuffer::new(256);
    let (_audio, midi) = loopmate::midi_link::reports();
    let mut app = LoopmateApp::new(EditorLink {
        status: Arc::new(Mutex::new(status)),
        commands: Arc::new(Mutex::new(commands)),
        params: Arc::new(LoopmateParams::default()),
        midi: Arc::new(Mutex::new(midi)),
        session: Arc::default(),
        analysis: Arc::default(),
        close_requested: Arc::default(),
        calibration: Arc::default(),
    });
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

criterion_group!(benches, editor_cost);
criterion_main!(benches);
