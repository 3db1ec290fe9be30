//! Loopmate: a live looper for acoustic musicians, as a CLAP/VST3 plugin and a standalone.
//!
//! The engine, analysis, saved state, WAV, MIDI map, MIDI clock follower and the Link session's
//! maths are framework-free modules. The nice-plug shell ([`plugin`], with [`host`] turning the host's MIDI, parameters
//! and transport into engine input), the editor and the parameters are the default `plugin`
//! feature; without it the crate is the framework-free modules alone, which is what the fuzz
//! targets in `fuzz/` build.

pub mod analysis;
pub mod calibrate;
pub mod demo;
#[cfg(feature = "plugin")]
pub mod editor;
pub mod engine;
#[cfg(feature = "plugin")]
pub mod host;
pub mod link_clock;
pub mod midi_clock;
#[cfg(feature = "plugin")]
pub mod midi_link;
pub mod midi_map;
#[cfg(feature = "plugin")]
pub mod param_overrides;
#[cfg(feature = "plugin")]
pub mod params;
#[cfg(feature = "plugin")]
pub mod plugin;
#[cfg(feature = "plugin")]
pub mod standalone;
pub mod state;
pub mod tempo_source;
pub mod track_bank;
pub mod wav;

#[cfg(feature = "plugin")]
pub use plugin::Loopmate;
