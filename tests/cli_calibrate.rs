//! `loopmate calibrate` without a loopback (the dummy backend's input is silent): the player is
//! told what to connect, the exit code says nothing was measured, and the configuration file is
//! left as it was. (The measurement itself is tested through a simulated interface in
//! `standalone::latency`, and through a real JACK server in `standalone_jack.rs`.)

use std::process::Command;

#[test]
fn calibrating_without_a_loopback_says_what_to_connect_and_saves_nothing() {
    let dir = std::env::temp_dir().join(format!("loopmate-calibrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    let text = "# my interface\n[audio]\nbackend = \"dummy\"\ninputs = [1]\nheadphones = [3, 4]\n";
    std::fs::write(&config, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_loopmate"))
        .args(["calibrate", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    for expected in [
        "PA (output 1): no click came back on input 1 (silence): connect output 1 to input 1",
        "headphones (output 3): no click came back on input 1 (silence): connect output 3 to \
         input 1",
        "Input latency: not measured, left as it was",
    ] {
        assert!(stdout.contains(expected), "{expected:?} not in:\n{stdout}");
    }
    assert!(
        stderr.contains("nothing came back: no latency was measured"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    let _ = std::fs::remove_dir_all(&dir);
}
