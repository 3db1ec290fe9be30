//! The last seconds of the input: its level over time, the onset envelope under it and the
//! detected onsets as marks, newest at the right.

use std::collections::VecDeque;

/// Seconds of input shown.
pub const SPAN_SECS: f64 = 4.0;
/// Height of the view, in points.
const HEIGHT: f32 = 56.0;
/// Level shown at the bottom of the view, in dBFS.
const FLOOR_DB: f32 = -60.0;

/// Input levels sampled at the display rate (the GUI's own record: it costs the audio thread
/// nothing), as `(absolute time in samples, peak level linear)`, oldest first.
#[derive(Debug, Clone, Default)]
pub struct InputTrace {
    /// Points within the last `SPAN_SECS`.
    points: VecDeque<(u64, f32)>,
}

impl InputTrace {
    /// Adds the level read at `now_samples`, forgets what scrolled out; a restart of the engine
    /// (time going back) starts a new trace.
    pub fn push(&mut self, now_samples: u64, peak: f32, sample_rate_hz: f32) {
        if self.points.back().is_some_and(|&(t, _)| t > now_samples) {
            self.points.clear();
        }
        if self.points.back().is_some_and(|&(t, _)| t == now_samples) {
            return;
        }
        self.points.push_back((now_samples, peak));
        let span = (SPAN_SECS * f64::from(sample_rate_hz)) as u64;
        while self
            .points
            .front()
            .is_some_and(|&(t, _)| t + span < now_samples)
        {
            self.points.pop_front();
        }
    }

    /// The points, oldest first.
    pub fn points(&self) -> impl Iterator<Item = (u64, f32)> + '_ {
        self.points.iter().copied()
    }
}

/// What the view draws: the level trace, the onset envelope (0..1 values, one every
/// `envelope_step_secs`, the last at `envelope_end_samples`) and onset times (absolute samples).
pub struct InputPicture<'a> {
    /// The level trace.
    pub trace: &'a InputTrace,
    /// Onset envelope, oldest first, normalised to 0..1.
    pub envelope: &'a [f32],
    /// Seconds between envelope values.
    pub envelope_step_secs: f64,
    /// Absolute time of the last envelope value, in samples.
    pub envelope_end_samples: u64,
    /// Detected onsets, absolute sample times.
    pub onsets: &'a [u64],
    /// Absolute time of the right edge, in samples.
    pub now_samples: u64,
    /// Sample rate in Hz.
    pub sample_rate_hz: f32,
}

/// Draws `picture` across the available width.
pub fn show(ui: &mut egui::Ui, picture: &InputPicture) {
    let width = ui.available_width().max(60.0);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(width, HEIGHT), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 3.0, egui::Color32::from_gray(20));
    let rate = f64::from(picture.sample_rate_hz.max(1.0));
    // x of an absolute time (seconds ago -> left).
    let x_of = |t: u64| {
        let ago_secs = picture.now_samples.saturating_sub(t) as f64 / rate;
        rect.right() - (ago_secs / SPAN_SECS) as f32 * rect.width()
    };
    let y_of = |unit: f32| rect.bottom() - unit.clamp(0.0, 1.0) * (rect.height() - 2.0);

    if picture.envelope.len() > 1 && picture.envelope_step_secs > 0.0 {
        let end_x = x_of(picture.envelope_end_samples);
        let points = picture
            .envelope
            .iter()
            .rev()
            .enumerate()
            .map(|(n, &value)| {
                let x = end_x
                    - (n as f64 * picture.envelope_step_secs / SPAN_SECS) as f32 * rect.width();
                egui::pos2(x, y_of(value))
            })
            .take_while(|point| point.x >= rect.left())
            .collect();
        painter.line(
            points,
            egui::Stroke::new(1.0, egui::Color32::from_rgb(120, 110, 200)),
        );
    }
    let level = picture
        .trace
        .points()
        .map(|(t, peak)| {
            let db = 20.0 * peak.max(1e-6).log10();
            egui::pos2(x_of(t), y_of((db - FLOOR_DB) / -FLOOR_DB))
        })
        .collect::<Vec<_>>();
    if level.len() > 1 {
        painter.line(
            level,
            egui::Stroke::new(2.0, egui::Color32::from_rgb(40, 170, 80)),
        );
    }
    for &onset in picture.onsets {
        if picture.now_samples.saturating_sub(onset) as f64 <= SPAN_SECS * rate {
            painter.vline(
                x_of(onset),
                rect.y_range(),
                egui::Stroke::new(1.5, egui::Color32::from_rgb(250, 160, 40)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_keeps_the_last_span_and_restarts_when_time_goes_back() {
        let mut trace = InputTrace::default();
        let rate = 1000.0;
        for t in (0..10_000).step_by(100) {
            trace.push(t, 0.5, rate);
        }
        let kept: Vec<u64> = trace.points().map(|(t, _)| t).collect();
        assert_eq!(kept.first(), Some(&(9_900 - 4_000)));
        assert_eq!(kept.last(), Some(&9_900));
        trace.push(9_900, 0.9, rate);
        assert_eq!(
            trace.points().count(),
            kept.len(),
            "same time: no new point"
        );
        trace.push(50, 0.1, rate);
        assert_eq!(trace.points().collect::<Vec<_>>(), vec![(50, 0.1)]);
    }
}
