//! Saving and restoring the performance with the host's project: the float audio codec, the
//! versioned container, the session mirror that keeps the saved model off the audio thread, and
//! the store the plugin shell and the editor talk to.

pub mod codec;
pub mod format;
pub mod mirror;
mod parallel;
#[cfg(feature = "plugin")]
pub mod persist;
pub mod store;
pub mod text;

#[cfg(test)]
pub(crate) mod tests;
