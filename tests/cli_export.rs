//! `loopmate export PERFORMANCE OUT_DIR`: the standalone binary exports a saved performance's
//! loops and mix as WAV files, and refuses bad input with a message and a non-zero exit.

use std::process::Command as Process;

use loopmate::engine::command::{Command, TimedCommand};
use loopmate::engine::{Engine, EngineConfig};
use loopmate::state::store::SessionStore;

/// A performance with one 0.5 s stereo loop, as the editor's "Save performance file" writes it.
fn performance_file(dir: &std::path::Path) -> std::path::PathBuf {
    let (mut engine, mut keeper) = Engine::new(EngineConfig {
        sample_rate_hz: 48_000.0,
        recorded_channels: 2,
        history_secs: 10.0,
    })
    .unwrap();
    let store = SessionStore::default();
    store.attach(engine.connect_session(), 48_000.0);
    let mut t = 0u64;
    for block in 0..200u64 {
        let mut left: Vec<f32> = (0..256)
            .map(|i| ((t + i) as f32 * 0.01).sin() * 0.3)
            .collect();
        let mut right = left.clone();
        let (mut pl, mut pr) = (vec![0.0; 256], vec![0.0; 256]);
        let commands: Vec<TimedCommand> = [10, 104]
            .iter()
            .filter(|&&b| b == block)
            .map(|_| TimedCommand {
                offset_samples: 0,
                command: Command::RecordToggle,
            })
            .collect();
        engine.process(
            &mut [&mut left, &mut right],
            &mut [&mut pl, &mut pr],
            &commands,
        );
        keeper.service().unwrap();
        t += 256;
    }
    let path = dir.join("performance.loopmate");
    std::fs::write(&path, store.save()).unwrap();
    path
}

#[test]
fn exports_a_saved_performance_and_refuses_bad_input() {
    let dir = std::env::temp_dir().join(format!("loopmate-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let performance = performance_file(&dir);
    let out_dir = dir.join("wavs");
    let exe = env!("CARGO_BIN_EXE_loopmate");

    let done = Process::new(exe)
        .args(["export"])
        .arg(&performance)
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let listed = String::from_utf8_lossy(&done.stdout);
    assert!(
        listed.contains("track_01.wav") && listed.contains("mix.wav"),
        "{listed}"
    );
    let reader = hound::WavReader::open(out_dir.join("track_01.wav")).unwrap();
    assert_eq!(
        reader.duration(),
        94 * 256,
        "one loop: the time between the presses"
    );

    let junk = dir.join("junk");
    std::fs::write(&junk, b"LOOPMATE\x07\0\0\0").unwrap();
    let refused = Process::new(exe)
        .arg("export")
        .arg(&junk)
        .arg(dir.join("x"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("truncated"));

    let again = Process::new(exe)
        .arg("export")
        .arg(&performance)
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1), "never overwrites");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let usage = Process::new(exe).arg("export").output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}
