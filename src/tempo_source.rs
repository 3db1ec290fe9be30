//! Where the transport (its tempo and bars) comes from, for the editor to say: the DAW in a
//! plugin; in the standalone, JACK's transport, MIDI clock or an Ableton Link session (with its
//! peer count). The engine sees one `HostTransport` whatever feeds it, so the standalone tells
//! the editor the source beside it.
//!
//! Realtime: [`TempoSourceReport::set_link_peers`] is one relaxed atomic store, safe on the audio
//! thread.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// What feeds the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TempoSource {
    /// The plugin's host (a DAW).
    Host,
    /// The standalone follows JACK's transport.
    JackTransport,
    /// The standalone follows MIDI beat clock.
    MidiClock,
    /// The standalone is a peer in an Ableton Link session.
    Link,
}

impl TempoSource {
    /// All sources, in the order of their codes.
    const ALL: [Self; 4] = [Self::Host, Self::JackTransport, Self::MidiClock, Self::Link];

    /// The source's name, as the editor writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::JackTransport => "JACK transport",
            Self::MidiClock => "MIDI clock",
            Self::Link => "Link",
        }
    }
}

/// The source and Link's peer count, shared by whatever feeds the transport (writer) and the
/// editor (reader). A plugin's report stays at [`TempoSource::Host`].
#[derive(Debug, Default)]
pub struct TempoSourceReport {
    /// The source's index in [`TempoSource::ALL`].
    source: AtomicU8,
    /// Other peers in the Link session (0 unless the source is Link).
    link_peers: AtomicU64,
}

impl TempoSourceReport {
    /// Sets the source (once, before the audio starts).
    pub fn set_source(&self, source: TempoSource) {
        let code = TempoSource::ALL.iter().position(|s| *s == source);
        self.source
            .store(code.unwrap_or(0) as u8, Ordering::Relaxed);
    }

    /// Sets how many other peers the Link session has. Realtime-safe.
    pub fn set_link_peers(&self, peers: u64) {
        self.link_peers.store(peers, Ordering::Relaxed);
    }

    /// The source.
    pub fn source(&self) -> TempoSource {
        let code = usize::from(self.source.load(Ordering::Relaxed));
        TempoSource::ALL
            .get(code)
            .copied()
            .unwrap_or(TempoSource::Host)
    }

    /// Other peers in the Link session.
    pub fn link_peers(&self) -> u64 {
        self.link_peers.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_starts_as_the_host_and_keeps_what_the_standalone_sets() {
        let report = TempoSourceReport::default();
        assert_eq!(report.source(), TempoSource::Host);
        for source in TempoSource::ALL {
            report.set_source(source);
            assert_eq!(report.source(), source);
        }
        report.set_link_peers(3);
        assert_eq!(report.link_peers(), 3);
    }
}
