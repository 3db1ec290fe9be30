//! The standalone Loopmate: nice-plug's standalone wrapper (JACK, ALSA or the dummy backend,
//! MIDI input), `loopmate --help` lists its options.
//!
//! `loopmate analyze FILE.wav` prints the onsets, tempo and beats of a file as JSON instead.

use loopmate::Loopmate;
use nice_plug::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
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
    if !nice_export_standalone::<Loopmate>() {
        std::process::exit(1);
    }
}
