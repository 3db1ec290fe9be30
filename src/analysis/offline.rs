//! The whole analysis of a buffer: onsets (the online analyser run over it, so the results are
//! the live ones), the tempo of the whole stretch and its beats. Used by `loopmate analyze` and
//! for on-demand analysis on the worker thread.

use super::AnalysisConfig;
use super::envelope::PITCH_CLASSES;
use super::online::{OnlineAnalyzer, Onset};
use super::tempo::{
    acf_lags, autocorrelation, bpm_from_acf, harmonic_change, octave_by_bars, track_beats, unbias,
};

/// Results of an offline analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Onsets, earliest first (times in samples from the buffer's start).
    pub onsets: Vec<Onset>,
    /// Tempo of the whole buffer in BPM, if it has one.
    pub bpm: Option<f64>,
    /// Beat times in samples from the buffer's start.
    pub beats_samples: Vec<f64>,
    /// The timing envelope, one value per frame (see [`super::envelope::Flux`]).
    pub envelope: Vec<f32>,
    /// The tempo novelty, one value per frame.
    pub novelty: Vec<f32>,
    /// The chroma of each frame (for the bar-level tempo cue).
    pub chroma: Vec<[f32; PITCH_CLASSES]>,
}

/// Analyses `samples` (mono) at `config`'s rate. Allocates.
pub fn analyze(samples: &[f32], config: AnalysisConfig) -> Analysis {
    let mut analyzer = OnlineAnalyzer::new(config);
    let frames = samples.len() / config.hop_samples + 1;
    let mut onsets = Vec::new();
    let mut envelope = Vec::with_capacity(frames);
    let mut novelty = Vec::with_capacity(frames);
    let mut chroma = Vec::with_capacity(frames);
    let mut collect = |out: &super::online::FrameOut| {
        envelope.push(out.envelope);
        novelty.push(out.novelty);
        chroma.push(out.chroma);
        if let Some(onset) = out.onset {
            onsets.push(onset);
        }
    };
    analyzer.push(samples, &mut collect);
    // Flush the picker's look-ahead with silence (frames past the end only decide earlier ones).
    let flush = vec![0.0; config.frame_samples];
    let mut flushed_onsets = Vec::new();
    analyzer.push(&flush, |out| {
        if let Some(onset) = out.onset {
            flushed_onsets.push(onset);
        }
    });
    let end = samples.len() as f64;
    onsets.extend(flushed_onsets.into_iter().filter(|o| o.time_samples < end));
    let (bpm, beats_samples) = tempo_and_beats(&novelty, &chroma, config);
    Analysis {
        onsets,
        bpm,
        beats_samples,
        envelope,
        novelty,
        chroma,
    }
}

/// The tempo and beats of a stretch of tempo novelty and chroma (frame 0 first): the
/// novelty's tempo, moved by an octave where the bars' harmonic changes say so. Allocates.
pub fn tempo_and_beats(
    novelty: &[f32],
    chroma: &[[f32; PITCH_CLASSES]],
    config: AnalysisConfig,
) -> (Option<f64>, Vec<f64>) {
    let rate = config.frame_rate_hz();
    let change = harmonic_change(chroma, rate);
    let bpm = tempo_of(novelty, config).map(|bpm| octave_by_bars(bpm, &change, rate));
    let hop = config.hop_samples as f64;
    let beats = bpm.map_or_else(Vec::new, |bpm| {
        track_beats(novelty, bpm, rate)
            .into_iter()
            // The novelty of frame f peaks with the onset envelope; same delay correction.
            .map(|frame| {
                ((frame + 1.0) * hop
                    - super::online::ONSET_DELAY_FRACTION_OF_FRAME * config.frame_samples as f64)
                    .max(0.0)
            })
            .collect()
    });
    (bpm, beats)
}

/// The tempo of a stretch of tempo novelty, in BPM. Allocates.
pub fn tempo_of(novelty: &[f32], config: AnalysisConfig) -> Option<f64> {
    let rate = config.frame_rate_hz();
    let mut acf = vec![0.0f64; acf_lags(rate)];
    autocorrelation(novelty, &mut acf);
    unbias(&mut acf, novelty.len());
    bpm_from_acf(&acf, rate)
}
