//! Helpers shared by the integration tests: a small CLAP host that drives the bundled plugin, and
//! deterministic test signals.
//!
//! Every integration-test file is its own crate with its own copy of this module, and each uses
//! only part of it; `dead_code` is allowed here so that one file's unused helpers do not warn.
#![allow(dead_code)]

pub mod clap_host;
pub mod signal;
