//! The host transport as the engine needs it: the bar grid in the engine's absolute time.

use crate::engine::cycle::HostGrid;

/// What the host said about its transport for this block (all optional, as hosts differ).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HostTransport {
    /// Whether the transport plays.
    pub playing: bool,
    /// Tempo in quarter notes per minute.
    pub tempo_bpm: Option<f64>,
    /// Time signature numerator and denominator.
    pub time_signature: Option<(i32, i32)>,
    /// Position at the block start, in quarter notes.
    pub pos_beats: Option<f64>,
    /// Start of the current bar, in quarter notes.
    pub bar_start_pos_beats: Option<f64>,
}

/// The bar grid in absolute engine time, given that the block starts at `block_start_samples`;
/// `None` unless the transport plays with a usable tempo and position.
pub fn host_grid(
    transport: &HostTransport,
    block_start_samples: u64,
    sample_rate_hz: f32,
) -> Option<HostGrid> {
    if !transport.playing {
        return None;
    }
    let tempo = transport
        .tempo_bpm
        .filter(|t| t.is_finite() && *t > 1.0 && *t < 2000.0)?;
    let pos = transport.pos_beats.filter(|p| p.is_finite())?;
    let (numerator, denominator) = transport
        .time_signature
        .filter(|(n, d)| *n > 0 && *d > 0)
        .unwrap_or((4, 4));
    let samples_per_quarter = 60.0 / tempo * f64::from(sample_rate_hz);
    let quarters_per_bar = f64::from(numerator) * 4.0 / f64::from(denominator);
    let bar_start = transport
        .bar_start_pos_beats
        .filter(|b| b.is_finite() && *b <= pos + 1e-9)
        .unwrap_or_else(|| (pos / quarters_per_bar).floor() * quarters_per_bar);
    Some(HostGrid {
        bar_origin_samples: block_start_samples as f64 + (bar_start - pos) * samples_per_quarter,
        bar_length_samples: quarters_per_bar * samples_per_quarter,
        beats_per_bar: numerator as u32,
        origin_bar: (bar_start / quarters_per_bar).round(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_at_120_bpm_in_4_4_and_3_4() {
        let mut transport = HostTransport {
            playing: true,
            tempo_bpm: Some(120.0),
            time_signature: Some((4, 4)),
            pos_beats: Some(5.0),
            bar_start_pos_beats: Some(4.0),
        };
        let grid = host_grid(&transport, 100_000, 48_000.0).unwrap();
        assert_eq!(grid.bar_length_samples, 96_000.0);
        assert_eq!(grid.bar_origin_samples, 100_000.0 - 24_000.0);
        assert_eq!(
            grid.origin_bar, 1.0,
            "quarter 4 starts bar 1 (bar 0 starts at 0)"
        );
        transport.time_signature = Some((3, 4));
        transport.bar_start_pos_beats = None;
        let grid = host_grid(&transport, 0, 48_000.0).unwrap();
        assert_eq!(grid.bar_length_samples, 72_000.0);
        assert_eq!(
            grid.bar_origin_samples, -48_000.0,
            "bar 2 started at quarter 3"
        );
        transport.playing = false;
        assert_eq!(host_grid(&transport, 0, 48_000.0), None);
    }
}
