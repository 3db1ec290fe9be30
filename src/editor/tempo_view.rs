//! The tempo, large, with where it comes from (the host, JACK's transport, MIDI clock, Link and
//! its peers, the loop's beats, or the tempo heard) and the host's or clock's bar and beat.

use super::status_panel::{CycleBeats, beats_per_cycle};
use crate::engine::EngineStatus;
use crate::tempo_source::TempoSource;

/// Height of the tempo's figure, in points (read from two metres, as the state badge).
const FIGURE_HEIGHT: f32 = 40.0;

/// What the tempo block says.
#[derive(Debug, Clone, PartialEq)]
pub struct TempoView {
    /// The tempo the loops follow, in BPM, if there is one.
    pub bpm: Option<f64>,
    /// Where it comes from, in words ("from MIDI clock", "heard").
    pub source: String,
    /// The transport's bar and beat, or the loop's beats, in words.
    pub position: Option<String>,
    /// The tempo heard in the input, in BPM, when the tempo shown comes from elsewhere.
    pub heard_bpm: Option<f32>,
}

impl TempoView {
    /// The view of `status`, with the analysis' tempo `heard_bpm`, and `source` (with Link's
    /// `link_peers`) feeding the transport. The transport's tempo wins while it plays, then the
    /// anchor's beats, then what is heard.
    pub fn of(
        status: &EngineStatus,
        heard_bpm: Option<f32>,
        source: TempoSource,
        link_peers: u64,
    ) -> Self {
        if let Some(grid) = status.host_grid {
            let rate = f64::from(status.sample_rate_hz.max(1.0));
            let beats = grid.beats_per_bar.max(1);
            let bar = grid.origin_bar
                + (status.now_samples as f64 - grid.bar_origin_samples) / grid.bar_length_samples;
            let beat = (bar.rem_euclid(1.0) * f64::from(beats)).floor() as u32 + 1;
            let source = match source {
                TempoSource::Link => {
                    let unit = if link_peers == 1 { "peer" } else { "peers" };
                    format!("from Link, {link_peers} {unit}")
                }
                other => format!("from {}", other.name()),
            };
            return Self {
                // In quarter notes, as the host and the clock count it.
                bpm: Some(60.0 * rate / grid.quarter_samples.max(1.0)),
                source,
                position: Some(format!(
                    "bar {}, beat {beat} of {beats}",
                    bar.floor() as i64 + 1
                )),
                heard_bpm,
            };
        }
        if let Some(CycleBeats { beats, bpm }) = beats_per_cycle(status) {
            return Self {
                bpm: Some(bpm),
                source: "from the loop".to_owned(),
                position: Some(format!("{beats} beats a cycle")),
                heard_bpm,
            };
        }
        Self {
            bpm: heard_bpm.map(f64::from),
            source: if heard_bpm.is_some() {
                "heard".to_owned()
            } else {
                "listening".to_owned()
            },
            position: None,
            heard_bpm: None,
        }
    }
}

/// Draws `view`: the figure large, the source and position under it.
pub fn show(ui: &mut egui::Ui, view: &TempoView) {
    ui.vertical(|ui| {
        ui.spacing_mut().item_spacing.y = 2.0;
        let figure = view.bpm.map_or("--".to_owned(), |bpm| format!("{bpm:.1}"));
        ui.horizontal(|ui| {
            ui.label(
                egui::RichText::new(figure)
                    .size(FIGURE_HEIGHT)
                    .strong()
                    .color(egui::Color32::WHITE),
            );
            ui.label(egui::RichText::new("BPM").size(18.0));
        });
        ui.label(egui::RichText::new(&view.source).size(16.0));
        if let Some(position) = &view.position {
            ui.label(egui::RichText::new(position).size(16.0));
        }
        if let Some(heard) = view.heard_bpm {
            ui.label(format!("heard {heard:.1}"));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cycle::HostGrid;

    fn status() -> EngineStatus {
        EngineStatus::idle(48_000.0)
    }

    /// A 120 BPM 4/4 grid whose bar 0 starts at sample 0, at `now_samples`.
    fn with_grid(now_samples: u64) -> EngineStatus {
        EngineStatus {
            now_samples,
            host_grid: Some(HostGrid {
                bar_origin_samples: 0.0,
                bar_length_samples: 96_000.0,
                beats_per_bar: 4,
                origin_bar: 0.0,
                quarter_samples: 24_000.0,
            }),
            ..status()
        }
    }

    #[test]
    fn the_transport_tempo_says_its_source_and_the_bar_and_beat() {
        // 4.6 bars in: bar 5, beat 3 (0.6 of a bar is past beat 3's start).
        let status = with_grid(4 * 96_000 + 57_600);
        let view = TempoView::of(&status, Some(118.5), TempoSource::MidiClock, 0);
        assert_eq!(view.bpm, Some(120.0));
        assert_eq!(view.source, "from MIDI clock");
        assert_eq!(view.position.as_deref(), Some("bar 5, beat 3 of 4"));
        assert_eq!(view.heard_bpm, Some(118.5));
        let link = TempoView::of(&status, None, TempoSource::Link, 2);
        assert_eq!(link.source, "from Link, 2 peers");
        assert_eq!(
            TempoView::of(&status, None, TempoSource::Link, 1).source,
            "from Link, 1 peer"
        );
        assert_eq!(
            TempoView::of(&status, None, TempoSource::Host, 0).source,
            "from host"
        );
    }

    #[test]
    fn without_a_transport_the_loops_beats_then_the_tempo_heard() {
        let anchored = EngineStatus {
            cycle_length_samples: Some(96_000),
            cycle_beats: Some(4),
            ..status()
        };
        let view = TempoView::of(&anchored, Some(97.0), TempoSource::Host, 0);
        assert_eq!(view.bpm, Some(120.0));
        assert_eq!(view.source, "from the loop");
        assert_eq!(view.position.as_deref(), Some("4 beats a cycle"));
        let heard = TempoView::of(&status(), Some(97.0), TempoSource::Host, 0);
        assert_eq!((heard.bpm, heard.source.as_str()), (Some(97.0), "heard"));
        let nothing = TempoView::of(&status(), None, TempoSource::Host, 0);
        assert_eq!((nothing.bpm, nothing.source.as_str()), (None, "listening"));
    }
}
