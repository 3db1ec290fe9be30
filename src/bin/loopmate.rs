//! The standalone Loopmate: nice-plug's standalone wrapper (JACK, ALSA or the dummy backend,
//! MIDI input), `loopmate --help` lists its options. `loopmate --demo` replaces the input with a
//! scripted player who loops four parts, to try Loopmate without an instrument.
//!
//! `loopmate analyze FILE.wav` prints the onsets, tempo and beats of a file as JSON instead.
//!
//! `loopmate export PERFORMANCE OUT_DIR` writes the tracks and the mix of a saved performance
//! as WAV files (see `loopmate::wav`) and exits. PERFORMANCE is a file saved by the editor's
//! "Save performance file", or a host state dump (nice-plug's JSON, with or without the CLAP
//! length prefix).

use loopmate::Loopmate;
use nice_plug::prelude::*;

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("analyze") {
        match loopmate::analysis::cli::run(&args[2..]) {
            Ok(json) => println!("{json}"),
            Err(message) => {
                eprintln!("loopmate analyze: {message}");
                std::process::exit(2);
            }
        }
        return;
    }
    if args.get(1).map(String::as_str) == Some("export") {
        std::process::exit(export(&args[2..]));
    }
    if let Some(at) = args.iter().position(|arg| arg == "--demo") {
        args.remove(at);
        loopmate::demo::enable();
    }
    if !nice_export_standalone_with_args::<Loopmate, _>(args) {
        std::process::exit(1);
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
