//! The standalone Loopmate: nice-plug's standalone wrapper (JACK, ALSA or the dummy backend,
//! MIDI input), `loopmate --help` lists its options.

use loopmate::Loopmate;
use nice_plug::prelude::*;

fn main() {
    if !nice_export_standalone::<Loopmate>() {
        std::process::exit(1);
    }
}
