//! The looper's state in one large badge, read from two metres: recording, armed with its
//! countdown, dubbing, playing or ready, and a second badge while the PA is muted.
//!
//! Colour is never the only cue: each state has its own shape (a filled dot records, a ring is
//! armed, a dot with a plus dubs, a triangle plays, a square waits) and its word.

use crate::engine::dub::{DubKind, DubState};
use crate::engine::{EngineStatus, RecordingState};

/// Height of the badge's words, in points: the 40 px at the default scale.
pub const TEXT_HEIGHT: f32 = 40.0;

/// What the looper does now, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StageState {
    /// A take records, for this long, in seconds.
    Recording { secs: f64 },
    /// A take starts in this many seconds.
    Armed { countdown_secs: f64 },
    /// A dub writes into a loop.
    Dubbing { kind: DubKind },
    /// A dub starts in this many seconds.
    DubArmed { kind: DubKind, countdown_secs: f64 },
    /// Loops play (`muted`: the loop mix is muted).
    Playing { muted: bool },
    /// Nothing recorded yet.
    Ready,
}

/// The shape drawn beside the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Recording.
    Dot,
    /// Armed.
    Ring,
    /// Dubbing or armed to dub.
    DotPlus,
    /// Playing.
    Triangle,
    /// Ready, or the mix muted.
    Square,
}

impl StageState {
    /// The state `status` shows.
    pub fn of(status: &EngineStatus) -> Self {
        let rate = f64::from(status.sample_rate_hz.max(1.0));
        let secs = |samples: u64| samples as f64 / rate;
        match (status.recording, status.dub) {
            (RecordingState::Recording { start_samples }, _) => Self::Recording {
                secs: secs(status.now_samples.saturating_sub(start_samples)),
            },
            (RecordingState::Armed { start_samples }, _) => Self::Armed {
                countdown_secs: secs(start_samples.saturating_sub(status.now_samples)),
            },
            (_, DubState::Dubbing { kind, .. } | DubState::Finishing { kind, .. }) => {
                Self::Dubbing { kind }
            }
            (
                _,
                DubState::Armed {
                    kind,
                    start_samples,
                    ..
                },
            ) => Self::DubArmed {
                kind,
                countdown_secs: secs(start_samples.saturating_sub(status.now_samples)),
            },
            _ if status.track_count > 0 => Self::Playing {
                muted: status.mix_muted,
            },
            _ => Self::Ready,
        }
    }

    /// The words.
    pub fn text(&self) -> String {
        let dub = |kind: DubKind| match kind {
            DubKind::Overdub => "OVERDUB",
            DubKind::Replace => "REPLACE",
            DubKind::Multiply => "MULTIPLY",
        };
        match *self {
            Self::Recording { secs } => format!("RECORDING {secs:.1} s"),
            Self::Armed { countdown_secs } => format!("ARMED {countdown_secs:.1} s"),
            Self::Dubbing { kind } => dub(kind).to_owned(),
            Self::DubArmed {
                kind,
                countdown_secs,
            } => format!("{} IN {countdown_secs:.1} s", dub(kind)),
            Self::Playing { muted: false } => "PLAYING".to_owned(),
            Self::Playing { muted: true } => "LOOPS MUTED".to_owned(),
            Self::Ready => "READY".to_owned(),
        }
    }

    /// The colour: red records, amber waits to, orange dubs, green plays, grey otherwise.
    pub fn colour(&self) -> egui::Color32 {
        match self {
            Self::Recording { .. } => egui::Color32::from_rgb(230, 50, 50),
            Self::Armed { .. } | Self::DubArmed { .. } => egui::Color32::from_rgb(235, 175, 40),
            Self::Dubbing { .. } => egui::Color32::from_rgb(240, 120, 40),
            Self::Playing { muted: false } => egui::Color32::from_rgb(70, 200, 110),
            Self::Playing { muted: true } | Self::Ready => egui::Color32::from_gray(150),
        }
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        match self {
            Self::Recording { .. } => Shape::Dot,
            Self::Armed { .. } => Shape::Ring,
            Self::Dubbing { .. } | Self::DubArmed { .. } => Shape::DotPlus,
            Self::Playing { muted: false } => Shape::Triangle,
            Self::Playing { muted: true } | Self::Ready => Shape::Square,
        }
    }
}

/// Draws the state's badge, and a "PA MUTED" badge under it while the PA is muted.
pub fn show(ui: &mut egui::Ui, status: &EngineStatus) {
    let state = StageState::of(status);
    ui.vertical(|ui| {
        badge(ui, &state.text(), state.colour(), state.shape());
        if status.pa_muted {
            badge(
                ui,
                "PA MUTED",
                egui::Color32::from_rgb(235, 175, 40),
                Shape::Square,
            );
        }
    });
}

/// One badge: the shape, then the words, both `colour`.
fn badge(ui: &mut egui::Ui, text: &str, colour: egui::Color32, shape: Shape) {
    ui.horizontal(|ui| {
        let (rect, _) =
            ui.allocate_exact_size(egui::Vec2::splat(TEXT_HEIGHT), egui::Sense::hover());
        let painter = ui.painter_at(rect);
        let centre = rect.center();
        let radius = TEXT_HEIGHT * 0.38;
        match shape {
            Shape::Dot => painter.circle_filled(centre, radius, colour),
            Shape::Ring => painter.circle_stroke(centre, radius, egui::Stroke::new(5.0, colour)),
            Shape::DotPlus => {
                let arm = radius * 0.6;
                let stroke = egui::Stroke::new(5.0, egui::Color32::BLACK);
                let plus = [egui::vec2(arm, 0.0), egui::vec2(0.0, arm)]
                    .map(|half| egui::Shape::line_segment([centre - half, centre + half], stroke));
                painter.add(egui::Shape::Vec(
                    [
                        vec![egui::Shape::circle_filled(centre, radius, colour)],
                        plus.to_vec(),
                    ]
                    .concat(),
                ))
            }
            Shape::Triangle => painter.add(egui::Shape::convex_polygon(
                vec![
                    centre + egui::vec2(-radius * 0.7, -radius),
                    centre + egui::vec2(radius, 0.0),
                    centre + egui::vec2(-radius * 0.7, radius),
                ],
                colour,
                egui::Stroke::NONE,
            )),
            Shape::Square => painter.rect_filled(
                egui::Rect::from_center_size(centre, egui::Vec2::splat(radius * 1.5)),
                2.0,
                colour,
            ),
        };
        ui.label(
            egui::RichText::new(text)
                .size(TEXT_HEIGHT)
                .strong()
                .color(colour),
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    fn at(now_samples: u64) -> EngineStatus {
        EngineStatus {
            now_samples,
            ..EngineStatus::idle(48_000.0)
        }
    }

    #[test]
    fn the_state_follows_the_recorder_and_the_dubber_most_urgent_first() {
        let mut status = at(96_000);
        assert_eq!(StageState::of(&status), StageState::Ready);
        status.track_count = 2;
        assert_eq!(
            StageState::of(&status),
            StageState::Playing { muted: false }
        );
        status.dub = DubState::Armed {
            kind: DubKind::Overdub,
            track_id: 1,
            start_samples: 120_000,
        };
        assert_eq!(
            StageState::of(&status),
            StageState::DubArmed {
                kind: DubKind::Overdub,
                countdown_secs: 0.5
            }
        );
        status.dub = DubState::Dubbing {
            kind: DubKind::Multiply,
            track_id: 1,
        };
        assert_eq!(
            StageState::of(&status),
            StageState::Dubbing {
                kind: DubKind::Multiply
            }
        );
        status.recording = RecordingState::Armed {
            start_samples: 168_000,
        };
        let armed = StageState::of(&status);
        assert_eq!(
            armed,
            StageState::Armed {
                countdown_secs: 1.5
            }
        );
        assert_eq!(armed.text(), "ARMED 1.5 s");
        status.recording = RecordingState::Recording {
            start_samples: 24_000,
        };
        let recording = StageState::of(&status);
        assert_eq!(recording.text(), "RECORDING 1.5 s");
        // Every state is told apart by its shape as well as its colour.
        let states = [
            recording,
            armed,
            StageState::Dubbing {
                kind: DubKind::Overdub,
            },
            StageState::Playing { muted: false },
            StageState::Ready,
        ];
        for (i, a) in states.iter().enumerate() {
            for b in &states[i + 1..] {
                assert_ne!(
                    (a.shape(), a.colour()),
                    (b.shape(), b.colour()),
                    "{a:?} {b:?}"
                );
                assert_ne!(
                    a.shape(),
                    b.shape(),
                    "{a:?} and {b:?} differ by colour only"
                );
            }
        }
    }

    #[test]
    fn the_badge_is_large_and_the_pa_mute_has_its_own() {
        let mut status = at(48_000);
        status.recording = RecordingState::Recording { start_samples: 0 };
        status.pa_muted = true;
        let mut harness = Harness::builder().build_ui(|ui| show(ui, &status));
        harness.run();
        let words = harness.get_by_label("RECORDING 1.0 s");
        let height = words.rect().height();
        assert!(
            height >= TEXT_HEIGHT,
            "the state's words are {height} points high"
        );
        harness.get_by_label("PA MUTED");
    }
}
