//! Accuracy tests of the analysis on synthetic material (clicks, tone bursts, click tracks).

use super::AnalysisConfig;
use super::offline::analyze;
use super::online::OnlineAnalyzer;

/// A deterministic noise source (xorshift), uniform in -1..1.
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 as f32 / u32::MAX as f32) * 2.0 - 1.0
    }
}

/// A short decaying noise click of `level` at each of `times` (samples), over faint noise.
fn clicks(len: usize, times: &[usize], level: f32, sample_rate_hz: f32) -> Vec<f32> {
    let mut noise = Noise(12345);
    let mut out: Vec<f32> = (0..len).map(|_| 0.001 * noise.next()).collect();
    let decay = (-1.0 / (0.01 * sample_rate_hz)).exp();
    for &t in times {
        let mut env = level;
        for sample in out
            .iter_mut()
            .skip(t)
            .take((0.05 * sample_rate_hz) as usize)
        {
            *sample += env * noise.next();
            env *= decay;
        }
    }
    out
}

/// Tone bursts (a sine with a 2 ms attack and 60 ms decay, faded out over 400 ms) at `times`.
fn tone_bursts(len: usize, times: &[usize], hz: f32, sample_rate_hz: f32) -> Vec<f32> {
    let mut out = vec![0.0f32; len];
    let attack = 0.002 * sample_rate_hz;
    for (i, &t) in times.iter().enumerate() {
        let hz = hz * (1.0 + 0.25 * (i % 3) as f32);
        for (n, sample) in out
            .iter_mut()
            .skip(t)
            .take((0.4 * sample_rate_hz) as usize)
            .enumerate()
        {
            let secs = n as f32 / sample_rate_hz;
            let env = (n as f32 / attack).min(1.0) * (-secs / 0.06).exp() * (1.0 - secs / 0.4);
            *sample += 0.3 * env * (std::f32::consts::TAU * hz * secs).sin();
        }
    }
    out
}

fn assert_onsets_at(signal: &[f32], times: &[usize], sample_rate_hz: f32, tolerance: f64) {
    let config = AnalysisConfig::new(sample_rate_hz);
    let analysis = analyze(signal, config);
    // Reported onsets deliberately lead the attack a little (see `ONSET_LEAD_SECS`).
    let lead = super::online::ONSET_LEAD_SECS * f64::from(sample_rate_hz);
    let found: Vec<f64> = analysis
        .onsets
        .iter()
        .map(|o| o.time_samples + lead)
        .collect();
    assert_eq!(
        found.len(),
        times.len(),
        "onsets {found:?}, expected {times:?}"
    );
    for (found, &expected) in found.iter().zip(times) {
        assert!(
            (found - expected as f64).abs() <= tolerance,
            "onset at {found}, expected {expected} (+-{tolerance})"
        );
    }
}

#[test]
fn envelope_peaks_at_clicks_within_one_hop() {
    for sample_rate_hz in [44_100.0, 48_000.0, 96_000.0] {
        let config = AnalysisConfig::new(sample_rate_hz);
        let step = (0.37 * sample_rate_hz) as usize;
        let times: Vec<usize> = (1..12).map(|i| i * step + 17 * i).collect();
        for level in [0.05, 0.5] {
            let signal = clicks(13 * step, &times, level, sample_rate_hz);
            assert_onsets_at(&signal, &times, sample_rate_hz, config.hop_samples as f64);
        }
    }
}

#[test]
fn envelope_peaks_at_tone_bursts_within_one_hop() {
    let sample_rate_hz = 48_000.0;
    let config = AnalysisConfig::new(sample_rate_hz);
    let times: Vec<usize> = (1..10).map(|i| i * 21_000 + 311 * i).collect();
    let signal = tone_bursts(11 * 21_000, &times, 440.0, sample_rate_hz);
    assert_onsets_at(&signal, &times, sample_rate_hz, config.hop_samples as f64);
}

#[test]
fn soft_attacks_between_loud_ones_are_found() {
    // A hi-hat-like pattern: loud clicks on the beat and clicks 34 dB softer (about -46 dBFS)
    // on the off-beats, over a -65 dBFS noise floor. The soft ones must be found, within 8 ms
    // (the soft ones are timed up to 6 ms later than the loud ones), and noise fluctuations must
    // not add any. The timing envelope alone finds none of the soft ones.
    let sample_rate_hz = 48_000.0;
    let step = (0.25 * sample_rate_hz) as usize;
    let times: Vec<usize> = (1..24).map(|i| i * step + 13 * i).collect();
    let (loud, soft): (Vec<usize>, Vec<usize>) = times.iter().partition(|&&t| t / step % 2 == 1);
    let signal: Vec<f32> = clicks(25 * step, &loud, 0.5, sample_rate_hz)
        .iter()
        .zip(clicks(25 * step, &soft, 0.01, sample_rate_hz))
        .map(|(loud, soft)| 0.5 * (loud + soft))
        .collect();
    assert_onsets_at(
        &signal,
        &times,
        sample_rate_hz,
        0.008 * f64::from(sample_rate_hz),
    );
}

#[test]
fn click_track_tempo_is_exact_within_one_percent() {
    let sample_rate_hz = 48_000.0;
    let config = AnalysisConfig::new(sample_rate_hz);
    for bpm in (60..=180).step_by(10) {
        let period = 60.0 / f64::from(bpm) * f64::from(sample_rate_hz);
        let len = (12.0 * sample_rate_hz) as usize;
        let times: Vec<usize> = (0..)
            .map(|i| (0.25 * f64::from(sample_rate_hz) + i as f64 * period) as usize)
            .take_while(|&t| t + 4_000 < len)
            .collect();
        let signal = clicks(len, &times, 0.5, sample_rate_hz);
        let analysis = analyze(&signal, config);
        let found = analysis.bpm.expect("a click track has a tempo");
        assert!(
            (found / f64::from(bpm) - 1.0).abs() < 0.01,
            "{bpm} BPM click track: found {found}"
        );
        // The beats land on the clicks.
        for beat in &analysis.beats_samples {
            let nearest = times
                .iter()
                .map(|&t| (t as f64 - beat).abs())
                .fold(f64::MAX, f64::min);
            assert!(
                nearest < 0.02 * f64::from(sample_rate_hz),
                "beat {beat} off the clicks"
            );
        }
        assert!(analysis.beats_samples.len() + 2 >= times.len());
    }
}

#[test]
fn online_results_equal_offline_ones_whatever_the_chunking() {
    let sample_rate_hz = 48_000.0;
    let config = AnalysisConfig::new(sample_rate_hz);
    let times: Vec<usize> = (1..20).map(|i| i * 11_000 + 97 * (i % 5)).collect();
    let signal = clicks(22 * 11_000, &times, 0.3, sample_rate_hz);
    let offline = analyze(&signal, config);
    for chunk in [1, 64, 500, 4096] {
        let mut online = OnlineAnalyzer::new(config);
        let mut onsets = Vec::new();
        let mut envelope = Vec::new();
        for part in signal.chunks(chunk) {
            online.push(part, |out| {
                envelope.push(out.envelope);
                onsets.extend(out.onset);
            });
        }
        assert_eq!(envelope, offline.envelope, "chunk {chunk}");
        // Onsets decided within the stream are the offline ones (the offline pass also decides
        // the last look-ahead frames at the end).
        assert_eq!(onsets[..], offline.onsets[..onsets.len()], "chunk {chunk}");
        assert!(onsets.len() + 1 >= offline.onsets.len());
    }
}

/// A click track at `bpm` for `secs`: `per_beat` clicks per beat, the first of each beat at
/// `beat_level` (and every `accent_every`-th beat doubled), the others at `off_level`.
fn click_track(
    bpm: f64,
    secs: f64,
    per_beat: usize,
    accent_every: usize,
    off_level: f32,
) -> Vec<f32> {
    let sample_rate_hz = 48_000.0f32;
    let len = (secs * f64::from(sample_rate_hz)) as usize;
    let step = 60.0 / bpm / per_beat as f64 * f64::from(sample_rate_hz);
    let times: Vec<(usize, usize)> = (0..)
        .map(|i| {
            (
                (0.2 * f64::from(sample_rate_hz) + i as f64 * step) as usize,
                i,
            )
        })
        .take_while(|&(t, _)| t + 4_000 < len)
        .collect();
    let on_beat: Vec<usize> = times
        .iter()
        .filter(|(_, i)| i % per_beat == 0)
        .map(|&(t, _)| t)
        .collect();
    let accents: Vec<usize> = times
        .iter()
        .filter(|(_, i)| i % (per_beat * accent_every) == 0)
        .map(|&(t, _)| t)
        .collect();
    let off_beat: Vec<usize> = times
        .iter()
        .filter(|(_, i)| i % per_beat != 0)
        .map(|&(t, _)| t)
        .collect();
    let mut signal = clicks(len, &on_beat, 0.25, sample_rate_hz);
    for (layer, level) in [(&accents, 0.25), (&off_beat, off_level)] {
        if !layer.is_empty() {
            for (out, x) in signal
                .iter_mut()
                .zip(clicks(len, layer, level, sample_rate_hz))
            {
                *out += x;
            }
        }
    }
    signal
}

fn assert_tempo(signal: &[f32], bpm: f64, what: &str) {
    let found = analyze(signal, AnalysisConfig::new(48_000.0))
        .bpm
        .expect("a click track has a tempo");
    assert!(
        (found / bpm - 1.0).abs() < 0.01,
        "{what}: found {found} BPM, expected {bpm}"
    );
}

#[test]
fn accents_on_every_other_beat_keep_the_beat() {
    // A strong beat every two beats must not halve the tempo (nor double it).
    for bpm in [70.0, 100.0, 140.0] {
        assert_tempo(
            &click_track(bpm, 12.0, 1, 2, 0.0),
            bpm,
            "accents every other beat",
        );
    }
}

#[test]
fn eighth_notes_under_the_beat_keep_the_beat() {
    // Softer eighth notes between the beats: the beat, not the eighth-note pulse, and bars of
    // four accented beats do not make it a half or a two-thirds tempo.
    for bpm in [80.0, 100.0, 120.0] {
        assert_tempo(
            &click_track(bpm, 14.0, 2, 4, 0.1),
            bpm,
            "eighths under the beat",
        );
    }
}

#[test]
fn the_live_tempogram_agrees_with_the_offline_tempo() {
    // The live 3 s tempogram and the whole-buffer estimate share the comb and the prior.
    let config = AnalysisConfig::new(48_000.0);
    for bpm in [70.0, 100.0, 150.0] {
        let signal = click_track(bpm, 12.0, 1, 2, 0.0);
        let offline = analyze(&signal, config);
        let mut live = super::tempo::Tempogram::new(config.frame_rate_hz());
        for &value in &offline.novelty {
            live.push(value);
        }
        let live_bpm = live.bpm().expect("a live tempo");
        let offline_bpm = offline.bpm.expect("an offline tempo");
        assert!(
            (live_bpm / offline_bpm - 1.0).abs() < 0.01,
            "{bpm} BPM: live {live_bpm}, offline {offline_bpm}"
        );
        assert!(
            (offline_bpm / bpm - 1.0).abs() < 0.01,
            "{bpm} BPM: {offline_bpm}"
        );
    }
}

/// Even chord strums every `step_secs` for `secs`, the chord changing every `per_chord` strums
/// (a minor, F, C, G major triads with their root an octave down), each note a sine with a 2 ms
/// attack decaying over 150 ms.
fn chord_strums(step_secs: f64, per_chord: usize, secs: f64) -> Vec<f32> {
    let rate = 48_000.0f64;
    let chords: [[f64; 4]; 4] = [
        [110.0, 220.0, 261.63, 329.63],
        [87.31, 174.61, 220.0, 261.63],
        [130.81, 261.63, 329.63, 392.0],
        [98.0, 196.0, 246.94, 293.66],
    ];
    let mut out = vec![0.0f32; (secs * rate) as usize];
    let strums = ((secs - 0.5) / step_secs) as usize;
    for strum in 0..strums {
        let start = ((0.2 + strum as f64 * step_secs) * rate) as usize;
        let chord = &chords[(strum / per_chord) % chords.len()];
        for (n, sample) in out
            .iter_mut()
            .skip(start)
            .take((0.4 * rate) as usize)
            .enumerate()
        {
            let t = n as f64 / rate;
            let env = (t / 0.002).min(1.0) * (-t / 0.15).exp();
            let tone: f64 = chord
                .iter()
                .map(|hz| (std::f64::consts::TAU * hz * t).sin())
                .sum();
            *sample += (0.08 * env * tone) as f32;
        }
    }
    out
}

#[test]
fn chord_changes_every_four_beats_decide_the_octave() {
    // The same even strums every 0.4286 s (140 per minute), once with the chord changing every
    // 8 strums (a 70 BPM ballad in eighth notes: a bar of 4 beats is 3.43 s) and once every 4
    // (140 BPM quarter notes: a bar is 1.71 s). The onsets cannot tell these apart; the bars can.
    let config = AnalysisConfig::new(48_000.0);
    let step_secs = 60.0 / 140.0;
    for (per_chord, bpm) in [(8, 70.0), (4, 140.0)] {
        let signal = chord_strums(step_secs, per_chord, 24.0);
        let analysis = analyze(&signal, config);
        let found = analysis.bpm.expect("strums have a tempo");
        assert!(
            (found / bpm - 1.0).abs() < 0.02,
            "chord every {per_chord} strums: {found:.1} BPM, the bars say {bpm}"
        );
    }
    // Without the chords' cue the rhythm alone reads as the strum rate: the ballad's case is
    // the octave error the bar cue corrects.
    let ballad = analyze(&chord_strums(step_secs, 8, 24.0), config);
    let rhythm_only = super::offline::tempo_of(&ballad.novelty, config).expect("a tempo");
    assert!(
        (rhythm_only / 140.0 - 1.0).abs() < 0.02,
        "the rhythm alone gives {rhythm_only:.1} BPM"
    );
}

#[test]
fn onsets_are_final_where_the_analysis_says_and_soon_after_the_input() {
    // Clicks, tone bursts and slow swells (a 40 ms attack) at uneven times, some overlapping:
    // fed as the worker gets them (128-sample chunks), no onset may be reported before a time
    // the analysis already called final, and in the quiet between notes the onsets are final
    // up to the onset delay behind the input, not the 56 ms of the worst case.
    let rate = 48_000.0f32;
    let config = AnalysisConfig::new(rate);
    let len = (8.0 * rate) as usize;
    let mut signal = clicks(len, &[9_000, 61_000, 130_500, 200_000], 0.3, rate);
    let bursts = tone_bursts(len, &[30_000, 95_000, 131_000, 240_000], 330.0, rate);
    for (out, x) in signal.iter_mut().zip(bursts) {
        *out += x;
    }
    for start in [160_000usize, 280_000, 330_000] {
        for (n, out) in signal[start..start + 24_000].iter_mut().enumerate() {
            let secs = n as f32 / rate;
            let env = (secs / 0.04).min(1.0) * (-secs / 0.3).exp();
            *out += 0.2 * env * (std::f32::consts::TAU * 220.0 * secs).sin();
        }
    }
    let mut analyzer = OnlineAnalyzer::new(config);
    let mut final_until = 0.0f64;
    let mut lags = Vec::new();
    let mut onsets = 0;
    for chunk in signal.chunks(super::feed::FEED_CHUNK_FRAMES) {
        analyzer.push(chunk, |out| {
            if let Some(onset) = out.onset {
                onsets += 1;
                assert!(
                    onset.time_samples >= final_until,
                    "onset at {} reported after final until {final_until}",
                    onset.time_samples
                );
            }
        });
        let now = analyzer.final_until_samples();
        final_until = final_until.max(now);
        lags.push(analyzer.samples() as f64 - now);
    }
    assert!(onsets >= 10, "{onsets} onsets");
    lags.sort_by(f64::total_cmp);
    let median = lags[lags.len() / 2];
    let worst = lags[lags.len() - 1];
    let delay = analyzer.onset_delay_samples();
    assert!(
        (median - delay).abs() < 1.0,
        "median finality lag {median} samples, the onset delay is {delay}"
    );
    // Never later than the fixed bound the engine schedules its decisions by.
    assert!(
        worst <= analyzer.detection_latency_samples() + 1e-6,
        "worst finality lag {worst} samples"
    );
}
