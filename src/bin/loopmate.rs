//! The standalone Loopmate (see `loopmate::standalone`): JACK or the dummy backend, MIDI in,
//! MIDI clock in and out, the editor window. `loopmate --help` lists its options; a
//! configuration file holds them too (`~/.config/loopmate/config.toml`, or `--config FILE`).
//! `loopmate --demo` replaces the input with a scripted player who loops four parts, to try
//! Loopmate without an instrument; `--demo-script stage|crowd` plays a set in progress or a
//! hundred loops instead.
//!
//! `loopmate analyze FILE.wav` prints the onsets, tempo and beats of a file as JSON instead.
//!
//! `loopmate calibrate [OPTIONS]` measures the interface's round trip through a loopback cable
//! (the PA's and the headphones' first outputs to the first input), sets *Input latency* and
//! *Headphone delay* from it and saves them in the configuration file's `[latency]` table.
//!
//! `loopmate export PERFORMANCE OUT_DIR` writes the tracks and the mix of a saved performance
//! as WAV files (see `loopmate::wav`) and exits. PERFORMANCE is a file saved by the editor's
//! "Save performance file", or a host state dump (nice-plug's JSON, with or without the CLAP
//! length prefix).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("analyze") => match loopmate::analysis::cli::run(&args[1..]) {
            Ok(json) => println!("{json}"),
            Err(message) => {
                eprintln!("loopmate analyze: {message}");
                std::process::exit(2);
            }
        },
        Some("export") => std::process::exit(export(&args[1..])),
        Some("calibrate") => std::process::exit(loopmate::standalone::calibrate(&args[1..])),
        _ => std::process::exit(loopmate::standalone::run(&args)),
    }
}

/// `loopmate export PERFORMANCE OUT_DIR`; returns the exit code.
fn export(args: &[String]) -> i32 {
    let [performance, out_dir] = args else {
        eprintln!("usage: loopmate export PERFORMANCE_FILE OUT_DIR");
        return 2;
    };
    let result = std::fs::read(performance)
        .map_err(|error| format!("{performance}: {error}"))
        .and_then(|bytes| loopmate::state::persist::performance_from_file(&bytes))
        .and_then(|decoded| {
            if let Some(warning) = decoded.warning() {
                eprintln!("loopmate export: warning: {warning}");
            }
            loopmate::wav::export(&decoded.model, std::path::Path::new(out_dir))
                .map_err(|e| e.to_string())
        });
    match result {
        Ok(files) => {
            for file in files {
                println!("{}", file.display());
            }
            0
        }
        Err(error) => {
            eprintln!("loopmate export: {error}");
            1
        }
    }
}
