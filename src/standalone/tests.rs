//! The standalone's host end to end without audio hardware: a loop recorded through the
//! processor as a backend drives it, saved with the editor's *Save performance file*, and opened
//! again by `--load` in a new host, which plays it.

use std::sync::{Arc, Mutex};

use super::processor::{MidiIn, Processor};
use super::*;
use crate::params::LoopmateParams;

const RATE_HZ: f32 = 48_000.0;
const PERIOD: usize = 128;
/// The take: record pressed here, stopped a loop later (frames, at period starts plus 37).
const RECORD_AT: usize = 200 * PERIOD + 37;
const LOOP: usize = 96_000;

/// A host as `start` builds one for `config` (its `--load` and `--map` read and installed), with
/// quantization off (presses act where they are); its processor and parameters.
fn host_for(config: &Config) -> (Processor, Arc<LoopmateParams>) {
    let inputs = Inputs::read(config).unwrap();
    let params = Mutex::new(None);
    let host = PluginHost::new(RATE_HZ, PERIOD as u32, 1, |plugin| {
        *params.lock().unwrap() = Some(plugin.loopmate_params().clone());
        inputs.install(plugin, config)
    })
    .unwrap();
    assert!(host.param_writer().set_plain("quantize_mode", 0.0));
    let (processor, _editor) = host.split();
    (processor, params.into_inner().unwrap().unwrap())
}

/// Runs `frames` frames from frame `from`, with `input(t)` on input 1 and record presses (the
/// default map's note 47) at `presses`; the PA's first channel.
fn run(
    processor: &mut Processor,
    from: usize,
    frames: usize,
    input: impl Fn(usize) -> f32,
    presses: &[usize],
) -> Vec<f32> {
    let mut pa = Vec::with_capacity(frames);
    for start in (from..from + frames).step_by(PERIOD) {
        for (i, sample) in processor.input(0, PERIOD).iter_mut().enumerate() {
            *sample = input(start + i);
        }
        let midi: Vec<MidiIn> = (presses.iter())
            .filter(|&&at| (start..start + PERIOD).contains(&at))
            .flat_map(|&at| {
                let offset = (at - start) as u32;
                [
                    MidiIn::new(offset, &[0x90, 47, 100]).unwrap(),
                    MidiIn::new(offset, &[0x80, 47, 0]).unwrap(),
                ]
            })
            .collect();
        processor.process(PERIOD, &midi, None);
        pa.extend_from_slice(processor.pa(0, PERIOD));
    }
    pa
}

fn rms(signal: &[f32]) -> f32 {
    (signal.iter().map(|s| s * s).sum::<f32>() / signal.len() as f32).sqrt()
}

#[test]
fn a_performance_saved_from_the_editor_opens_again_with_load_and_plays() {
    let tone = |t: usize| 0.3 * (t as f32 * 2.0 * std::f32::consts::PI * 220.0 / RATE_HZ).sin();
    let played = |t: usize| if t < RECORD_AT + LOOP { tone(t) } else { 0.0 };
    let silence = |_| 0.0;
    let config = Config::from_toml(
        "[audio]\nbackend = \"dummy\"\ninputs = [1]\n",
        Default::default(),
    )
    .unwrap();
    let (mut processor, params) = host_for(&config);
    let presses = [RECORD_AT, RECORD_AT + LOOP];
    let end = RECORD_AT + 2 * LOOP;
    let pa = run(&mut processor, 0, end, played, &presses);
    // The loop plays after the take, with the player silent.
    let looped = rms(&pa[RECORD_AT + LOOP + 4_800..end - 4_800]);
    assert!(
        (looped - 0.3 / 2f32.sqrt()).abs() < 0.01,
        "the loop at {looped} RMS"
    );

    // The editor's button, in the standalone.
    let dir = std::env::temp_dir().join(format!("loopmate-standalone-{}", std::process::id()));
    let said = crate::editor::session_panel::save_performance_file(&params.performance.store, &dir);
    let file = dir.join("performance.loopmate");
    assert_eq!(said, format!("Saved {}.", file.display()));
    drop(processor);

    // `loopmate --load FILE`, and without it for comparison.
    let flags = config::Flags {
        load: Some(file.clone()),
        ..Default::default()
    };
    let loaded = Config::from_toml("[audio]\nbackend = \"dummy\"\ninputs = [1]\n", flags).unwrap();
    let (mut processor, _) = host_for(&loaded);
    let pa = run(&mut processor, 0, 2 * LOOP, silence, &[]);
    let replayed = rms(&pa[LOOP / 2..2 * LOOP]);
    assert!(
        (replayed - looped).abs() < 0.01,
        "loaded, the loop plays at {replayed} RMS, was {looped}"
    );
    let (mut processor, _) = host_for(&config);
    let pa = run(&mut processor, 0, 2 * LOOP, silence, &[]);
    assert_eq!(rms(&pa), 0.0, "a fresh start plays nothing");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_demo_script_lengthens_the_history_never_shortens_it_and_counts_its_beats() {
    use crate::demo::Script;
    let plugin = crate::Loopmate::default();
    let params = plugin.loopmate_params();
    let history = || params.history_secs.value();
    assert_eq!(history(), 60, "the default");
    assert_eq!(params.beats_per_cycle.value(), 4, "the default");
    set_up_demo(&plugin, Script::Parts);
    assert_eq!(history(), 60, "the parts script keeps the default");
    assert_eq!(params.beats_per_cycle.value(), 8, "two bars of four");
    set_up_demo(&plugin, Script::Stage);
    assert_eq!(history(), 90);
    let longer = crate::Loopmate::default();
    let longer_params = longer.loopmate_params();
    set_before_activation(longer_params.history_secs.as_ptr(), 120.0);
    set_up_demo(&longer, Script::Stage);
    assert_eq!(longer_params.history_secs.value(), 120, "never shortened");
}
