//! The fuzz targets' inputs replayed by a normal `cargo test`: every seed and every input that
//! once crashed a target (`fuzz/regressions/`, one folder per target) runs clean, and the seeds
//! (`fuzz/seeds/`, made by `fuzz/src/lib.rs`) are valid inputs. The fuzzing itself is
//! `cargo xtask fuzz [SECONDS]`.
//!
//! `LOOPMATE_WRITE_SEEDS=1 cargo test --test fuzz_corpus` rewrites the seeds after a format
//! change.

// Its allocation limit is left out here (nice-plug's allocation checker is this binary's global
// allocator): the fuzz runs replay these inputs under it.
#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod fuzz;

use std::path::{Path, PathBuf};

/// The fuzz crate's folder.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files in `dir` (none if it does not exist), sorted.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|entry| entry.expect("a folder entry").path())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_seed_and_every_input_that_once_crashed_runs_clean() {
    let mut replayed = 0;
    for target in &fuzz::TARGETS {
        for folder in ["seeds", "regressions"] {
            for path in files_in(&fuzz_dir().join(folder).join(target.name)) {
                let data = std::fs::read(&path).expect("a corpus file");
                eprintln!("{}: {}", target.name, path.display());
                (target.run)(&data);
                replayed += 1;
            }
        }
    }
    assert!(replayed >= fuzz::seeds().len(), "{replayed} inputs");
}

#[test]
fn the_committed_seeds_are_the_generated_ones() {
    // By name only: a seed recorded by an older engine or in an older format still starts the
    // fuzzer well (see the next test), so engine changes need not touch it.
    let write = std::env::var_os("LOOPMATE_WRITE_SEEDS").is_some();
    let seeds = fuzz::seeds();
    for target in &fuzz::TARGETS {
        let folder = fuzz_dir().join("seeds").join(target.name);
        let mut generated = Vec::new();
        for (_, name, data) in seeds.iter().filter(|(t, _, _)| *t == target.name) {
            if write {
                std::fs::create_dir_all(&folder).expect("a seed folder");
                std::fs::write(folder.join(name), data).expect("a seed written");
            }
            generated.push(folder.join(name));
        }
        generated.sort();
        assert_eq!(
            files_in(&folder),
            generated,
            "run LOOPMATE_WRITE_SEEDS=1 cargo test --test fuzz_corpus"
        );
    }
}

#[test]
fn the_seeds_are_valid_inputs_that_get_the_fuzzer_past_checksums_and_headers() {
    let committed = fuzz::TARGETS.iter().flat_map(|target| {
        files_in(&fuzz_dir().join("seeds").join(target.name))
            .into_iter()
            .map(|path| {
                let name = path
                    .file_name()
                    .expect("a name")
                    .to_string_lossy()
                    .into_owned();
                (target.name, name, std::fs::read(&path).expect("a seed"))
            })
    });
    for (target, name, data) in committed.chain(fuzz::seeds()) {
        match target {
            "state" => {
                let model = loopmate::state::format::decode(&data).expect(&name);
                assert!(!model.tracks.is_empty(), "{name}");
            }
            "midi_map" => {
                let text = std::str::from_utf8(&data).expect(&name);
                let ids = fuzz::PARAM_IDS.map(String::from);
                loopmate::midi_map::file::parse(text, &ids).expect(&name);
            }
            "wav" if !name.contains("3ch") => {
                let path = Path::new(&name);
                loopmate::wav::read_from(&data[1..], path, 48_000.0).expect(&name);
            }
            _ => {}
        }
    }
}
