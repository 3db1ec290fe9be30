//! The standalone Loopmate: nice-plug's standalone wrapper (JACK, ALSA or the dummy backend,
//! MIDI input), `loopmate --help` lists its options. `loopmate --demo` replaces the input with a
//! scripted player who loops four parts, to try Loopmate without an instrument.

use loopmate::Loopmate;
use nice_plug::prelude::*;

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == "--demo") {
        args.remove(at);
        loopmate::demo::enable();
    }
    if !nice_export_standalone_with_args::<Loopmate, _>(args) {
        std::process::exit(1);
    }
}
