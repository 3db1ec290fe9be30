//! The loops as tiles: one per playing loop, in a grid that wraps to the window's width and
//! scrolls (only the rows in view are drawn, so 100+ loops cost what a screenful costs). Each
//! tile shows its loop's ring and waveform (its overview, computed once per take, never per
//! frame) with the playhead, a colour of its own, its length in cycles, its
//! state (muted dimmed and written, soloed marked, selected outlined), the trigger waiting on it
//! with a countdown, and badges for layers, speed, reverse and effects. A click selects the loop.

use std::f32::consts::TAU;

use super::waveform::{self, Overview};
use crate::engine::command::{Command, Select, TriggerAction};
use crate::engine::dub::{DubKind, DubState};
use crate::engine::speed::Speed;
use crate::engine::{EngineStatus, LoopBoard, RecordingState, TileStatus, TrackStatus};

/// A tile's size, in points.
pub const TILE_SIZE: egui::Vec2 = egui::vec2(132.0, 132.0);
/// Ring diameter, in points.
const RING_DIAMETER: f32 = 62.0;
/// Ring thickness, in points.
const RING_THICKNESS: f32 = 7.0;
/// Points on a full ring (the arc is a polyline).
const RING_SEGMENTS: usize = 48;
/// What a muted tile's colour is multiplied by.
const MUTED_DIM: f32 = 0.3;

/// Loop colours, by track id: distinct hues of similar brightness, so white text reads on all.
const PALETTE: [egui::Color32; 8] = [
    egui::Color32::from_rgb(231, 111, 81),
    egui::Color32::from_rgb(42, 157, 143),
    egui::Color32::from_rgb(233, 196, 106),
    egui::Color32::from_rgb(106, 130, 251),
    egui::Color32::from_rgb(214, 100, 170),
    egui::Color32::from_rgb(120, 190, 90),
    egui::Color32::from_rgb(160, 110, 230),
    egui::Color32::from_rgb(80, 180, 220),
];

/// The colour of the loop `track_id`: the same for as long as the loop lives, whatever its place.
pub fn colour_of(track_id: u64) -> egui::Color32 {
    PALETTE[(track_id % PALETTE.len() as u64) as usize]
}

/// Height of a tile's waveform strip, in points.
const STRIP_HEIGHT: f32 = 16.0;

/// The colour a tile draws its loop in: the loop's own, dimmed while it is muted.
fn tile_colour(track: &TrackStatus) -> egui::Color32 {
    let colour = colour_of(track.id);
    if track.muted {
        colour.gamma_multiply(MUTED_DIM)
    } else {
        colour
    }
}

/// Red: what records (a dub's tile outline, the new take's tile).
const RECORD_RED: egui::Color32 = egui::Color32::from_rgb(230, 50, 50);

/// Draws the tiles of `board` (`None`: no engine yet), with the waveform `overview(id)` of the
/// loop `id` where known, the dub of `status` on its loop's tile and the take it records as a
/// last tile; returns the select command of the tile clicked this frame.
pub fn show<'a>(
    ui: &mut egui::Ui,
    board: Option<&LoopBoard>,
    status: &EngineStatus,
    overview: impl Fn(u64) -> Option<&'a Overview>,
) -> Option<Command> {
    let tiles = board.map_or(&[][..], |board| board.tiles());
    let take = take_tile(status);
    ui.label(
        egui::RichText::new(format!(
            "Loops: {}",
            board.map_or(0, |board| board.loop_count())
        ))
        .strong()
        .size(18.0),
    );
    if tiles.is_empty() && take.is_none() {
        ui.label("Record (or capture) a first loop: it sets the cycle the others follow.");
        return None;
    }
    if let Some(hidden) = board.map(|board| board.hidden_count).filter(|&n| n > 0) {
        ui.label(format!(
            "... and {hidden} more loops not shown (next and previous reach them)"
        ));
    }
    let spacing = ui.spacing().item_spacing;
    let width = ui.available_width().max(TILE_SIZE.x);
    let columns = (((width + spacing.x) / (TILE_SIZE.x + spacing.x)).floor() as usize).max(1);
    let shown = tiles.len() + usize::from(take.is_some());
    let rows = shown.div_ceil(columns);
    let rate = f64::from(status.sample_rate_hz.max(1.0));
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .id_salt("loop tiles")
        .auto_shrink([false, false])
        .show_rows(ui, TILE_SIZE.y, rows, |ui, row_range| {
            for row in row_range {
                ui.horizontal(|ui| {
                    for n in row * columns..((row + 1) * columns).min(shown) {
                        let Some(tile) = tiles.get(n) else {
                            if let Some(take) = &take {
                                show_take_tile(ui, take);
                            }
                            continue;
                        };
                        let overview = overview(tile.track.id);
                        let dub = dub_word(status.dub, tile.track.id);
                        if show_tile(ui, n, tile, dub, overview, rate).clicked() {
                            clicked = Some(Command::Select(Select::Loop(n as u32)));
                        }
                    }
                });
            }
        });
    clicked
}

/// What the dub of `dub` does to the loop `track_id`, in a word, if it is aimed at it.
fn dub_word(dub: DubState, track_id: u64) -> Option<&'static str> {
    let (kind, armed) = match dub {
        DubState::Armed {
            kind, track_id: id, ..
        } if id == track_id => (kind, true),
        DubState::Dubbing { kind, track_id: id } | DubState::Finishing { kind, track_id: id }
            if id == track_id =>
        {
            (kind, false)
        }
        _ => return None,
    };
    Some(match (kind, armed) {
        (DubKind::Overdub, false) => "overdubbing",
        (DubKind::Multiply, false) => "multiplying",
        (DubKind::Replace, false) => "replacing",
        (DubKind::Overdub, true) => "overdub armed",
        (DubKind::Multiply, true) => "multiply armed",
        (DubKind::Replace, true) => "replace armed",
    })
}

/// The take being recorded or armed, as its tile shows it.
struct TakeTile {
    /// Recording (else armed).
    recording: bool,
    /// Its words: "recording 3.2 s", "armed, in 1.5 s".
    words: String,
}

/// The tile of the take `status` records or waits to record, if any.
fn take_tile(status: &EngineStatus) -> Option<TakeTile> {
    let rate = f64::from(status.sample_rate_hz.max(1.0));
    let secs = |samples: u64| samples as f64 / rate;
    match status.recording {
        RecordingState::Idle => None,
        RecordingState::Armed { start_samples } => Some(TakeTile {
            recording: false,
            words: format!(
                "armed, in {:.1} s",
                secs(start_samples.saturating_sub(status.now_samples))
            ),
        }),
        RecordingState::Recording { start_samples } => Some(TakeTile {
            recording: true,
            words: format!(
                "recording {:.1} s",
                secs(status.now_samples.saturating_sub(start_samples))
            ),
        }),
    }
}

/// Draws the tile of `take`: a red outline, a dot (recording) or a ring (armed), its words.
fn show_take_tile(ui: &mut egui::Ui, take: &TakeTile) {
    let (rect, response) = ui.allocate_exact_size(TILE_SIZE, egui::Sense::hover());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Label, true, format!("New loop: {}", take.words))
    });
    if !ui.is_rect_visible(rect) {
        return;
    }
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 8.0, RECORD_RED.gamma_multiply(0.15));
    painter.rect_stroke(
        rect.shrink(1.5),
        8.0,
        egui::Stroke::new(3.0, RECORD_RED),
        egui::StrokeKind::Inside,
    );
    let centre = rect.center_top() + egui::vec2(0.0, 8.0 + RING_DIAMETER * 0.5);
    // The state badge's shapes: a filled dot records, a ring waits.
    let radius = RING_DIAMETER * 0.3;
    if take.recording {
        painter.circle_filled(centre, radius, RECORD_RED);
    } else {
        painter.circle_stroke(centre, radius, egui::Stroke::new(5.0, RECORD_RED));
    }
    let font = egui::FontId::proportional(15.0);
    let bottom = rect.center_bottom();
    let white = egui::Color32::WHITE;
    painter.text(
        bottom - egui::vec2(0.0, 26.0),
        egui::Align2::CENTER_BOTTOM,
        "New loop",
        font.clone(),
        white,
    );
    painter.text(
        bottom - egui::vec2(0.0, 6.0),
        egui::Align2::CENTER_BOTTOM,
        &take.words,
        font,
        RECORD_RED,
    );
}

/// The words of tile `n` (0-based), as its accessible label: its number, length, state, the
/// `dub` on it, badges and pending trigger.
pub fn tile_words(n: usize, tile: &TileStatus, dub: Option<&str>, rate_hz: f64) -> String {
    let track = &tile.track;
    let mut words = format!("Loop {}: {} cyc", n + 1, track.cycles);
    let mut add = |word: &str| {
        words.push_str(", ");
        words.push_str(word);
    };
    if tile.selected {
        add("selected");
    }
    if track.muted {
        add("muted");
    }
    if track.soloed {
        add("solo");
    }
    if let Some(dub) = dub {
        add(dub);
    }
    for badge in badges(tile) {
        add(&badge);
    }
    if let Some(pending) = pending_text(tile, rate_hz) {
        add(&pending);
    }
    words
}

/// The badges of a tile: layers, speed off x1, reverse, effects on.
fn badges(tile: &TileStatus) -> Vec<String> {
    let track = &tile.track;
    let mut badges = Vec::new();
    if track.layers > 0 {
        badges.push(format!("+{}", track.layers));
    }
    if track.speed != Speed::NORMAL {
        badges.push(speed_text(track.speed));
    }
    if track.reversed {
        badges.push("rev".to_owned());
    }
    let effects = [
        (track.filter_on, "F"),
        (track.drive_on, "D"),
        (track.delay_on, "Dl"),
    ];
    for (on, name) in effects {
        if on {
            badges.push(name.to_owned());
        }
    }
    badges
}

/// The trigger waiting on a tile, with its countdown: "mute in 1.5 s".
fn pending_text(tile: &TileStatus, rate_hz: f64) -> Option<String> {
    let pending = tile.pending?;
    let what = match pending.action {
        TriggerAction::ToggleLoopMute { .. } if tile.track.muted => "unmute",
        TriggerAction::ToggleLoopMute { .. } => "mute",
        // No other action is aimed at one loop today; a new one still shows its countdown.
        _ => "trigger",
    };
    let secs = pending.in_samples as f64 / rate_hz;
    Some(format!("{what} in {secs:.1} s"))
}

/// Draws tile `n` with its loop's waveform `overview`; returns its response (clicked: select
/// it).
fn show_tile(
    ui: &mut egui::Ui,
    n: usize,
    tile: &TileStatus,
    dub: Option<&str>,
    overview: Option<&Overview>,
    rate_hz: f64,
) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(TILE_SIZE, egui::Sense::click());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Button, true, tile_words(n, tile, dub, rate_hz))
    });
    if !ui.is_rect_visible(rect) {
        return response;
    }
    let track = &tile.track;
    let painter = ui.painter_at(rect);
    let colour = tile_colour(track);
    let text_colour = if track.muted {
        egui::Color32::from_gray(150)
    } else {
        egui::Color32::WHITE
    };
    painter.rect_filled(rect, 8.0, colour.gamma_multiply(0.25));
    if dub.is_some() {
        // Recording into this loop: red, over the selection's white.
        painter.rect_stroke(
            rect.shrink(2.0),
            8.0,
            egui::Stroke::new(4.0, RECORD_RED),
            egui::StrokeKind::Inside,
        );
    } else if tile.selected {
        painter.rect_stroke(
            rect.shrink(1.5),
            8.0,
            egui::Stroke::new(3.0, egui::Color32::WHITE),
            egui::StrokeKind::Inside,
        );
    } else if response.hovered() {
        painter.rect_stroke(
            rect.shrink(1.0),
            8.0,
            egui::Stroke::new(1.0, egui::Color32::from_gray(160)),
            egui::StrokeKind::Inside,
        );
    }
    // The ring: the loop's colour up to the playhead, a dot on it.
    let centre = rect.center_top() + egui::vec2(0.0, 8.0 + RING_DIAMETER * 0.5);
    let radius = RING_DIAMETER * 0.5 - RING_THICKNESS * 0.5;
    painter.circle_stroke(
        centre,
        radius,
        egui::Stroke::new(RING_THICKNESS, egui::Color32::from_gray(50)),
    );
    let progress =
        (track.position_samples as f32 / track.length_samples.max(1) as f32).clamp(0.0, 1.0);
    let at = |fraction: f32| {
        let angle = fraction * TAU;
        // Clockwise from twelve o'clock.
        centre + radius * egui::vec2(angle.sin(), -angle.cos())
    };
    let segments = (RING_SEGMENTS as f32 * progress).ceil() as usize;
    let arc: Vec<egui::Pos2> = (0..=segments)
        .map(|k| at((k as f32 / RING_SEGMENTS as f32).min(progress)))
        .collect();
    painter.line(arc, egui::Stroke::new(RING_THICKNESS, colour));
    painter.circle_filled(at(progress), RING_THICKNESS * 0.75, text_colour);
    painter.text(
        centre,
        egui::Align2::CENTER_CENTER,
        format!("{}", n + 1),
        egui::FontId::proportional(22.0),
        text_colour,
    );
    // Top corners: solo and mute, as words, not colour alone.
    let corner = egui::FontId::proportional(14.0);
    if track.soloed {
        let solo =
            egui::Rect::from_min_size(rect.min + egui::vec2(5.0, 5.0), egui::vec2(18.0, 18.0));
        painter.rect_filled(solo, 3.0, egui::Color32::from_rgb(240, 200, 40));
        painter.text(
            solo.center(),
            egui::Align2::CENTER_CENTER,
            "S",
            corner.clone(),
            egui::Color32::BLACK,
        );
    }
    if track.muted {
        painter.text(
            rect.right_top() + egui::vec2(-5.0, 5.0),
            egui::Align2::RIGHT_TOP,
            "MUTED",
            corner.clone(),
            egui::Color32::from_rgb(240, 120, 120),
        );
    }
    // Below the ring: the length and the badges, the waveform, then what waits.
    let small = egui::FontId::proportional(13.0);
    let mut line = format!("{} cyc", track.cycles);
    for badge in badges(tile) {
        line.push(' ');
        line.push_str(&badge);
    }
    let line_top = centre.y + RING_DIAMETER * 0.5 + 2.0;
    painter.text(
        egui::pos2(rect.center().x, line_top),
        egui::Align2::CENTER_TOP,
        line,
        small.clone(),
        text_colour,
    );
    let strip = egui::Rect::from_min_size(
        egui::pos2(rect.left() + 8.0, line_top + 17.0),
        egui::vec2(rect.width() - 16.0, STRIP_HEIGHT),
    );
    waveform::paint(&painter, strip, overview, progress, colour);
    // What records here wins the last line over what waits.
    let last_line = match (dub, pending_text(tile, rate_hz)) {
        (Some(dub), _) => Some((dub.to_owned(), RECORD_RED)),
        (None, Some(pending)) => Some((pending, egui::Color32::from_rgb(255, 190, 80))),
        (None, None) => None,
    };
    if let Some((text, colour)) = last_line {
        painter.text(
            rect.center_bottom() - egui::vec2(0.0, 5.0),
            egui::Align2::CENTER_BOTTOM,
            text,
            small,
            colour,
        );
    }
    response
}

/// A gain (linear) in dB, as the selected loop shows it.
pub fn gain_text(gain: f32) -> String {
    format!("{:+.1} dB", 20.0 * gain.max(1e-6).log10())
}

/// A speed as the player reads it: x1/4, x1/2, x1, x2, x4.
pub fn speed_text(speed: Speed) -> String {
    let factor = 1u32 << speed.octaves().unsigned_abs();
    if speed.octaves() < 0 {
        format!("x1/{factor}")
    } else {
        format!("x{factor}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(id: u64, muted: bool) -> TrackStatus {
        TrackStatus {
            id,
            cycles: 1,
            length_samples: 96_000,
            gain: 1.0,
            muted,
            ..crate::engine::board::BLANK_TILE.track
        }
    }

    #[test]
    fn a_loop_keeps_its_colour_neighbours_differ_and_a_muted_one_is_dimmed() {
        // The colour follows the id, not the place: loop 7 stays itself when loop 2 goes.
        assert_eq!(tile_colour(&track(7, false)), colour_of(7));
        for id in 0..64 {
            assert_ne!(
                colour_of(id),
                colour_of(id + 1),
                "loops {id} and {}",
                id + 1
            );
        }
        for id in 0..8 {
            let (lit, dim) = (
                tile_colour(&track(id, false)),
                tile_colour(&track(id, true)),
            );
            let sum = |c: egui::Color32| u32::from(c.r()) + u32::from(c.g()) + u32::from(c.b());
            // A third of the brightness (or less): plainly darker from a few metres.
            assert!(
                sum(dim) * 3 <= sum(lit) + 3,
                "loop {id}: {lit:?} -> {dim:?}"
            );
            assert!(sum(dim) > 0, "still visible");
        }
    }

    #[test]
    fn a_countdown_reads_in_seconds_and_says_mute_or_unmute() {
        let mut tile = TileStatus {
            track: track(3, false),
            selected: false,
            pending: Some(crate::engine::TilePending {
                action: TriggerAction::ToggleLoopMute { track_id: 3 },
                in_samples: 72_000,
                remaining: Some(1),
            }),
        };
        assert_eq!(
            pending_text(&tile, 48_000.0).as_deref(),
            Some("mute in 1.5 s")
        );
        tile.track.muted = true;
        assert_eq!(
            pending_text(&tile, 48_000.0).as_deref(),
            Some("unmute in 1.5 s")
        );
        assert_eq!(
            tile_words(3, &tile, None, 48_000.0),
            "Loop 4: 1 cyc, muted, unmute in 1.5 s"
        );
        assert_eq!(
            tile_words(3, &tile, Some("overdubbing"), 48_000.0),
            "Loop 4: 1 cyc, muted, overdubbing, unmute in 1.5 s"
        );
    }
}
