//! The built CLAP plugin in a real host (`clack-host`): a one-shot captured by note 44 and
//! struck by note 36 sounds from the strike's sample, the captured attack first, at every block
//! size.
//!
//! Rendered offline (`clap.render`), so the capture waits for the analysis thread and the
//! onsets it decides on are the same at every run.
//!
//! Needs the bundle: run `cargo xtask bundle loopmate` first (or set `LOOPMATE_CLAP`).

mod common;

use common::clap_host::{Rendered, Stereo, TestPlugin, pedal_press};

const RATE: f64 = 48_000.0;
/// Note capturing a one-shot into the next free pad.
const CAPTURE_NOTE: u8 = 44;
/// Note striking pad 1.
const PAD_1_NOTE: u8 = 36;
/// The attacks played, in samples.
const ATTACKS: [usize; 2] = [20_011, 44_017];
/// The capture press: the phrase is the first attack up to the second.
const PRESS: u64 = 70_003;
/// The strike: off every block boundary, long after the input went silent.
const STRIKE: u64 = 120_007;
/// Length of the run.
const LEN: usize = 180_000;

/// Two percussive attacks (decaying noise and a 330 Hz tone, 0.3 s each), then silence.
fn attacks() -> Stereo {
    let mut seed = 0x1357_9bdfu32;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as f32 / u32::MAX as f32 * 2.0 - 1.0
    };
    let mut out = vec![0.0f32; LEN];
    for at in ATTACKS {
        for n in 0..(0.3 * RATE) as usize {
            let secs = n as f32 / RATE as f32;
            let env = (-secs / 0.04).exp();
            out[at + n] +=
                env * (0.3 * noise() + 0.3 * (std::f32::consts::TAU * 330.0 * secs).sin());
        }
    }
    Stereo {
        channels: [out.clone(), out],
    }
}

fn render(block_sizes: impl IntoIterator<Item = usize>) -> Rendered {
    let mut plugin = TestPlugin::activate_offline(RATE);
    let events: Vec<_> = pedal_press(PRESS, CAPTURE_NOTE)
        .into_iter()
        .chain(pedal_press(STRIKE, PAD_1_NOTE))
        .collect();
    let rendered = plugin.run(&attacks(), &events, block_sizes, None);
    plugin.deactivate();
    rendered
}

#[test]
fn a_struck_pad_sounds_the_captured_attack_from_the_notes_sample() {
    let input = attacks();
    let rendered = render(std::iter::repeat(512));
    let (main, x) = (&rendered.main.channels[0], &input.channels[0]);
    let strike = STRIKE as usize;
    let silent_from = ATTACKS[1] + (0.3 * RATE) as usize;
    assert!(
        main[silent_from..strike].iter().all(|&s| s == 0.0),
        "silence before the strike"
    );
    // The one-shot starts on an attack (the analysis' onset, within its 5 ms), and from the
    // strike's sample on the output is the input from there, at full velocity.
    let start = (ATTACKS[0] - 480..ATTACKS[0] + 480)
        .find(|&from| (0..2_000).all(|i| (main[strike + i] - x[from + i]).abs() < 1e-6))
        .unwrap_or_else(|| {
            panic!(
                "the output at the strike is not the first attack: {:?}",
                &main[strike..strike + 4]
            )
        });
    assert_eq!(main[strike - 1], 0.0, "nothing before the strike's sample");
    // The whole first attack (0.3 s), then silence: the phrase ends at the second attack, and
    // the input between the two is silent.
    let attack = (0.3 * RATE) as usize;
    for t in strike..strike + attack {
        assert!((main[t] - x[start + t - strike]).abs() < 1e-6, "sample {t}");
    }
    assert!(main[strike + attack + 500..].iter().all(|&s| s == 0.0));
    // The headphones hear it too.
    assert_eq!(
        rendered.phones.channels[0][strike..strike + 100],
        main[strike..strike + 100]
    );
}

#[test]
fn the_one_shot_is_the_same_at_every_block_size() {
    let reference = render(std::iter::repeat(512));
    let varying = [1, 7, 64, 511, 4096, 13, 2, 1000, 3, 2048, 333];
    let rendered = render(varying.into_iter().cycle());
    assert_eq!(rendered.main, reference.main);
    assert!(
        reference.main.channels[0][STRIKE as usize..]
            .iter()
            .any(|&s| s.abs() > 0.1)
    );
}
