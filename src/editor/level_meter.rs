//! The input's level meter: the level on a -60..0 dBFS scale with its marks, the peak held a
//! moment, and a clip light that stays lit a while after the input reached full scale.
//!
//! Time is the engine's (samples since activation, in seconds), so the hold and the light
//! behave the same whatever the editor's frame rate, and tests can step it.

/// The scale's floor, in dBFS.
const FLOOR_DB: f32 = -60.0;
/// The marks on the scale, in dBFS.
const MARKS_DB: [f32; 6] = [-48.0, -36.0, -24.0, -12.0, -6.0, 0.0];
/// How long the peak is held before it falls, in seconds.
pub const PEAK_HOLD_SECS: f64 = 1.5;
/// How fast a held peak falls after its hold, in dB per second.
const PEAK_FALL_DB_PER_SEC: f32 = 20.0;
/// How long the clip light stays lit after the last clip, in seconds.
pub const CLIP_LIGHT_SECS: f64 = 3.0;
/// The bar's size, in points.
const BAR_SIZE: egui::Vec2 = egui::vec2(260.0, 22.0);
/// Above this level the bar turns yellow, in dBFS.
const HOT_DB: f32 = -12.0;
/// Above this level the bar turns red, in dBFS.
const LOUD_DB: f32 = -3.0;

/// What the meter remembers between frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelMeter {
    /// The level now, in dBFS (the floor for silence).
    level_db: f32,
    /// The held peak when it was last set, in dBFS.
    held_db: f32,
    /// When the held peak was set, in seconds.
    held_at_secs: f64,
    /// Clips the engine had counted at the last update.
    clips_seen: u64,
    /// When the input last clipped, in seconds.
    clipped_at_secs: Option<f64>,
    /// The time of the last update, in seconds.
    now_secs: f64,
}

impl Default for LevelMeter {
    fn default() -> Self {
        Self {
            level_db: FLOOR_DB,
            held_db: FLOOR_DB,
            held_at_secs: 0.0,
            clips_seen: 0,
            clipped_at_secs: None,
            now_secs: 0.0,
        }
    }
}

/// `linear` in dBFS, on the scale (NaN and silence at the floor).
fn db_of(linear: f32) -> f32 {
    if linear.is_finite() && linear > 0.0 {
        (20.0 * linear.log10()).clamp(FLOOR_DB, 0.0)
    } else {
        FLOOR_DB
    }
}

impl LevelMeter {
    /// Takes the engine's input peak (linear) and clip count at `now_secs`. Time going back (a
    /// new activation) starts the meter afresh.
    pub fn update(&mut self, peak_linear: f32, clips: u64, now_secs: f64) {
        if now_secs < self.now_secs || clips < self.clips_seen {
            *self = Self::default();
        }
        self.now_secs = now_secs;
        self.level_db = db_of(peak_linear);
        if self.level_db >= self.held_db() {
            self.held_db = self.level_db;
            self.held_at_secs = now_secs;
        }
        if clips > self.clips_seen {
            self.clips_seen = clips;
            self.clipped_at_secs = Some(now_secs);
        }
    }

    /// The level, in dBFS.
    pub fn level_db(&self) -> f32 {
        self.level_db
    }

    /// The held peak now, in dBFS: held for [`PEAK_HOLD_SECS`], then falling.
    pub fn held_db(&self) -> f32 {
        let falling_secs = (self.now_secs - self.held_at_secs - PEAK_HOLD_SECS).max(0.0);
        (self.held_db - falling_secs as f32 * PEAK_FALL_DB_PER_SEC).max(FLOOR_DB)
    }

    /// Whether the clip light is lit.
    pub fn clip_lit(&self) -> bool {
        self.clipped_at_secs
            .is_some_and(|at| self.now_secs - at < CLIP_LIGHT_SECS)
    }

    /// Clips counted since activation.
    pub fn clips(&self) -> u64 {
        self.clips_seen
    }
}

/// Where `db` falls on a bar from `left` to `right`.
fn x_of(db: f32, left: f32, right: f32) -> f32 {
    left + (right - left) * ((db - FLOOR_DB) / -FLOOR_DB).clamp(0.0, 1.0)
}

/// Draws the meter: the bar with its marks and held peak, then the clip light.
pub fn show(ui: &mut egui::Ui, meter: &LevelMeter) {
    ui.horizontal(|ui| {
        let (rect, response) = ui.allocate_exact_size(BAR_SIZE, egui::Sense::hover());
        let words = format!(
            "Input {:.0} dBFS, peak {:.0} dBFS",
            meter.level_db(),
            meter.held_db()
        );
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Meter, true, &words));
        let painter = ui.painter_at(rect);
        let bar = rect
            // Inset so the end marks' labels fit.
            .shrink2(egui::vec2(8.0, 5.0))
            .translate(egui::vec2(0.0, -4.0));
        painter.rect_filled(bar, 2.0, egui::Color32::from_gray(35));
        // The level in three zones, each in its colour.
        let level_x = x_of(meter.level_db(), bar.left(), bar.right());
        for (from_db, to_db, colour) in [
            (FLOOR_DB, HOT_DB, egui::Color32::from_rgb(60, 190, 90)),
            (HOT_DB, LOUD_DB, egui::Color32::from_rgb(225, 200, 50)),
            (LOUD_DB, 0.0, egui::Color32::from_rgb(230, 60, 50)),
        ] {
            let left = x_of(from_db, bar.left(), bar.right());
            let right = x_of(to_db, bar.left(), bar.right()).min(level_x);
            if right > left {
                let zone = egui::Rect::from_x_y_ranges(left..=right, bar.y_range());
                painter.rect_filled(zone, 0.0, colour);
            }
        }
        let held_x = x_of(meter.held_db(), bar.left(), bar.right());
        painter.line_segment(
            [
                egui::pos2(held_x, bar.top()),
                egui::pos2(held_x, bar.bottom()),
            ],
            egui::Stroke::new(2.0, egui::Color32::WHITE),
        );
        for mark_db in MARKS_DB {
            let x = x_of(mark_db, bar.left(), bar.right());
            painter.line_segment(
                [
                    egui::pos2(x, bar.bottom()),
                    egui::pos2(x, bar.bottom() + 3.0),
                ],
                egui::Stroke::new(1.0, egui::Color32::GRAY),
            );
            painter.text(
                egui::pos2(x, rect.bottom()),
                egui::Align2::CENTER_BOTTOM,
                format!("{mark_db:.0}"),
                egui::FontId::proportional(9.0),
                egui::Color32::GRAY,
            );
        }
        let (fill, text) = if meter.clip_lit() {
            (egui::Color32::from_rgb(230, 40, 40), egui::Color32::WHITE)
        } else {
            (egui::Color32::from_gray(45), egui::Color32::from_gray(120))
        };
        // The word says it too, and the count stays after the light goes out.
        let clip = match (meter.clip_lit(), meter.clips()) {
            (true, clips) => format!("CLIP {clips}"),
            (false, 0) => "no clip".to_owned(),
            (false, clips) => format!("clipped {clips}"),
        };
        ui.add(
            egui::Button::new(egui::RichText::new(clip).color(text).strong())
                .fill(fill)
                .sense(egui::Sense::hover()),
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    #[test]
    fn the_peak_holds_then_falls_and_the_clip_light_stays_lit_then_goes_out() {
        let mut meter = LevelMeter::default();
        meter.update(0.5, 0, 1.0);
        assert!((meter.held_db() - -6.02).abs() < 0.01);
        meter.update(0.01, 0, 2.0);
        assert_eq!(meter.level_db(), -40.0);
        assert!((meter.held_db() - -6.02).abs() < 0.01, "held for 1.5 s");
        meter.update(0.01, 0, 3.0);
        // 0.5 s past the hold at 20 dB/s.
        assert!(
            (meter.held_db() - -16.02).abs() < 0.01,
            "{}",
            meter.held_db()
        );
        meter.update(0.01, 0, 10.0);
        assert_eq!(meter.held_db(), -40.0, "down to the level");
        meter.update(1.0, 2, 10.5);
        assert!(meter.clip_lit());
        meter.update(0.01, 2, 13.4);
        assert!(meter.clip_lit(), "lit 2.9 s after");
        meter.update(0.01, 2, 13.6);
        assert!(!meter.clip_lit(), "out 3.1 s after");
        assert_eq!(meter.clips(), 2);
        // Bad values sit at the floor; a new activation starts afresh.
        meter.update(f32::NAN, 2, 14.0);
        assert_eq!(meter.level_db(), FLOOR_DB);
        meter.update(0.1, 0, 0.1);
        assert_eq!((meter.clips(), meter.clip_lit()), (0, false));
    }

    #[test]
    fn the_meter_says_its_level_peak_and_clips() {
        let mut meter = LevelMeter::default();
        meter.update(0.5, 0, 1.0);
        meter.update(0.1, 3, 1.2);
        let mut harness = Harness::builder().build_ui(|ui| show(ui, &meter));
        harness.run();
        harness.get_by_label("Input -20 dBFS, peak -6 dBFS");
        harness.get_by_label("CLIP 3");
    }
}
