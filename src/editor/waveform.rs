//! A loop's waveform overview with its playhead.
//!
//! The overview (lowest and highest sample per column) is computed once per take, off the audio
//! thread, where the finished take's audio is shared; the editor only draws it.

use crate::state::store::SessionStore;

/// Columns of an overview: enough for a wide strip, small enough to compute in microseconds.
pub const OVERVIEW_COLUMNS: usize = 400;

/// Lowest and highest sample per column of a loop (any channel), full scale = 1.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overview {
    /// Per column, `[lowest, highest]` sample value.
    pub columns: Vec<[f32; 2]>,
}

impl Overview {
    /// The overview of the first `length_frames` frames of `channels` in `columns` columns.
    /// Not realtime-safe (allocates): run it off the audio thread. NaN samples are ignored.
    pub fn of(channels: &[&[f32]], length_frames: usize, columns: usize) -> Self {
        let length_frames = channels
            .iter()
            .map(|channel| channel.len())
            .fold(length_frames, usize::min);
        let columns = columns.min(length_frames).max(1);
        let columns = (0..columns)
            .map(|column| {
                let range =
                    column * length_frames / columns..(column + 1) * length_frames / columns;
                channels
                    .iter()
                    .flat_map(|channel| &channel[range.clone()])
                    .filter(|sample| sample.is_finite())
                    .fold([0.0f32, 0.0f32], |[low, high], &sample| {
                        [low.min(sample), high.max(sample)]
                    })
            })
            .collect();
        Self { columns }
    }
}

/// Overviews of the saved performance's tracks by id, each computed once, when the editor first
/// sees the track (on the GUI thread: the audio thread never pays for them).
#[derive(Debug, Default)]
pub struct Overviews {
    /// (track id, its overview), in the order first seen.
    by_id: Vec<(u64, Overview)>,
}

impl Overviews {
    /// Computes the overviews of tracks in `store` not seen before; forgets tracks gone. While
    /// the store is busy (a save or a load working) keeps the overviews it has: the editor
    /// never waits for the store.
    pub fn update(&mut self, store: &SessionStore) {
        store.try_with_model(|model, _| {
            self.by_id
                .retain(|(id, _)| model.tracks.iter().any(|t| t.record.id == *id));
            for track in &model.tracks {
                if self.get(track.record.id).is_none() {
                    let audio = &track.audio;
                    let length = track.record.length_samples as usize;
                    let held = length.min(audio.capacity_frames());
                    let channels: Vec<Vec<f32>> = (0..audio.channels())
                        .map(|c| audio.to_vec(c, held))
                        .collect();
                    let channels: Vec<&[f32]> = channels.iter().map(Vec::as_slice).collect();
                    let overview = Overview::of(&channels, length, OVERVIEW_COLUMNS);
                    self.by_id.push((track.record.id, overview));
                }
            }
        });
    }

    /// The overview of track `id`, if known.
    pub fn get(&self, id: u64) -> Option<&Overview> {
        self.by_id
            .iter()
            .find(|(known, _)| *known == id)
            .map(|(_, overview)| overview)
    }
}

/// Paints `overview` (or an empty lane while it is being computed) into `rect` in `colour`,
/// with a playhead at `playhead` (0..1 of the loop). Columns are merged (extremes kept) to at
/// most one line per 3 points, so a small tile costs a few dozen lines.
pub fn paint(
    painter: &egui::Painter,
    rect: egui::Rect,
    overview: Option<&Overview>,
    playhead: f32,
    colour: egui::Color32,
) {
    painter.rect_filled(rect, 3.0, egui::Color32::from_gray(24));
    if let Some(overview) = overview.filter(|o| !o.columns.is_empty()) {
        let centre = rect.center().y;
        let half_height = rect.height() * 0.5 - 1.0;
        let lines = ((rect.width() / 3.0) as usize).clamp(1, overview.columns.len());
        let line_width = rect.width() / lines as f32;
        let count = overview.columns.len();
        for n in 0..lines {
            let merged = &overview.columns
                [n * count / lines..((n + 1) * count / lines).max(n * count / lines + 1)];
            let [low, high] = merged
                .iter()
                .fold([0.0f32, 0.0f32], |[low, high], &[l, h]| {
                    [low.min(l), high.max(h)]
                });
            let x = rect.left() + (n as f32 + 0.5) * line_width;
            let top = centre - high.clamp(-1.0, 1.0) * half_height;
            // At least a pixel, so silence still reads as a line.
            let bottom = (centre - low.clamp(-1.0, 1.0) * half_height).max(top + 1.0);
            painter.vline(
                x,
                top..=bottom,
                egui::Stroke::new((line_width - 1.0).max(1.0), colour),
            );
        }
    }
    let x = rect.left() + playhead.clamp(0.0, 1.0) * rect.width();
    painter.vline(
        x,
        rect.y_range(),
        egui::Stroke::new(2.0, egui::Color32::from_rgb(250, 220, 80)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_hold_each_stretch_extremes_over_both_channels() {
        let mut left = vec![0.0f32; 1000];
        let mut right = vec![0.0f32; 1000];
        left[10] = 0.5;
        right[20] = -0.75;
        left[999] = f32::NAN;
        right[998] = 0.25;
        let overview = Overview::of(&[&left, &right], 1000, 10);
        assert_eq!(overview.columns.len(), 10);
        assert_eq!(overview.columns[0], [-0.75, 0.5]);
        assert_eq!(overview.columns[5], [0.0, 0.0]);
        assert_eq!(overview.columns[9], [0.0, 0.25], "NaN is skipped");
    }

    #[test]
    fn only_the_loop_length_counts() {
        let mut audio = vec![0.0f32; 100];
        audio[80] = 1.0;
        let overview = Overview::of(&[&audio], 50, 5);
        assert!(overview.columns.iter().all(|&c| c == [0.0, 0.0]));
        assert_eq!(
            Overview::of(&[&audio], 3, 10).columns.len(),
            3,
            "never more columns than frames"
        );
    }
}
