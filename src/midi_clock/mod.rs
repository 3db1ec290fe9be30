//! MIDI beat clock in: a drum machine's 24-per-quarter clock, start, stop, continue and song
//! position turned into the host transport the engine follows (see [`follower`]).
//!
//! Framework-free: the standalone timestamps the realtime messages in the engine's sample time
//! and hands the follower's transport to `Engine::set_host_transport` before every block, the
//! path a DAW's transport takes in the plugin.

pub mod follower;

pub use follower::ClockFollower;

#[cfg(test)]
mod tests;
