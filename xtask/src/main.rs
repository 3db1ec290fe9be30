//! `cargo xtask`: nice-plug's bundler plus Loopmate's own commands.
//!
//! - `cargo xtask install`: installs the system packages the build needs (Debian/Ubuntu), builds
//!   release bundles and the standalone, and copies them to the per-user plugin folders.
//! - `cargo xtask test`: installs what the tests need, builds the plugin bundles, and runs every
//!   test (Rust unit and host tests, the Ableton Link test with the `link` feature, the VST3
//!   host tests in DawDreamer and Ardour, the editor under Xvfb, a short fuzz of every fuzz
//!   target).
//! - `cargo xtask fuzz [SECONDS]`: builds the fuzz targets (`fuzz/`, cargo-fuzz and libFuzzer;
//!   installs cargo-fuzz if missing) and runs each for SECONDS (default 60); `test` runs them
//!   for [`TEST_FUZZ_SECS`] each.
//! - `cargo xtask mir [DATA_DIR] [MIR_DIR]`: generates the onset/tempo corpora outside the
//!   repository and scores `loopmate analyze` and aubio on them (not part of `test`).
//! - anything else (`bundle`, ...) goes to nice-plug's xtask.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian packages the build needs (ALSA and JACK for the standalone, X11/GL for the editor).
const BUILD_PACKAGES: &[&str] = &[
    "pkg-config",
    "libasound2-dev",
    "libjack-jackd2-dev",
    "libx11-dev",
    "libx11-xcb-dev",
    "libxcursor-dev",
    "libxcb1-dev",
    "libxcb-icccm4-dev",
    "libxcb-dri2-0-dev",
    "libxkbcommon-x11-dev",
    "libgl1-mesa-dev",
];
/// Extra Debian packages the tests need (a virtual X server with software GL, screenshots,
/// Ardour, whose headless `ardour7-lua` hosts the VST3 in tests/ardour, a JACK server, whose
/// dummy backend runs the real standalone in tests/standalone_jack.rs, cmake and libclang, which
/// build Ableton Link for the `link` feature, and `ip`, which brings up the loopback of the
/// private network namespace tests/link_sync.rs runs its Link peers in).
const TEST_PACKAGES: &[&str] = &[
    "jackd2",
    "cmake",
    "libclang-dev",
    "iproute2",
    "xvfb",
    "xauth",
    "libgl1-mesa-dri",
    "x11-apps",
    "imagemagick",
    "ardour",
];
/// Python packages the tests need.
const TEST_PIP_PACKAGES: &[&str] = &["dawdreamer==0.9.0", "numpy", "pytest"];

/// The cargo-fuzz release that builds and runs the fuzz targets.
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// Seconds each fuzz target runs in `cargo xtask test` (a smoke test: the build is most of it).
const TEST_FUZZ_SECS: u64 = 15;
/// Seconds each fuzz target runs in `cargo xtask fuzz` without an argument.
const DEFAULT_FUZZ_SECS: u64 = 60;
/// Longest a fuzz target may take on one input, in seconds (libFuzzer reports a hang beyond).
const FUZZ_INPUT_TIMEOUT_SECS: u64 = 10;

type Result<T> = std::result::Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("install") => install(),
        Some("test") => test(),
        Some("fuzz") => args
            .get(1)
            .map_or(Ok(DEFAULT_FUZZ_SECS), |secs| {
                secs.parse()
                    .map_err(|_| format!("usage: cargo xtask fuzz [SECONDS], not {secs:?}"))
            })
            .and_then(fuzz),
        Some("mir") => mir(&args[1..]),
        _ => nice_plug_xtask::main().map_err(|error| format!("{error:#}")),
    };
    if let Err(message) = outcome {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn workspace_root() -> Result<PathBuf> {
    nice_plug_xtask::chdir_workspace_root().map_err(|e| format!("{e:#}"))?;
    std::env::current_dir().map_err(|e| e.to_string())
}

/// Runs a command, failing with its description if it does not succeed.
fn run(program: &str, args: &[&str]) -> Result<()> {
    run_in_env(program, args, &[])
}

/// [`run`] with `envs` added to the command's environment.
fn run_in_env(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    eprintln!("+ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// Installs the Debian packages in `packages` that are missing (needs apt-get; uses sudo unless
/// running as root).
fn ensure_debian_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", package])
                .output()
                .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("install ok"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if Command::new("apt-get").arg("--version").output().is_err() {
        return Err(format!(
            "missing system packages {missing:?} and no apt-get: install them by hand"
        ));
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    let sudo: &[&str] = if is_root { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut full: Vec<&str> = sudo.to_vec();
        full.push("apt-get");
        full.extend_from_slice(args);
        run(full[0], &full[1..])
    };
    apt(&["update", "-qq"])?;
    let mut install_args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install_args.extend(missing.iter().copied());
    apt(&install_args)
}

fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or_else(|| "HOME is not set".to_owned())
}

/// Copies a file or a directory tree.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
        for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
            let entry = entry.map_err(|e| e.to_string())?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| format!("copy {} -> {}: {e}", from.display(), to.display()))
    }
}

/// Replaces `to` with a copy of `from`.
fn install_path(from: &Path, to: &Path) -> Result<()> {
    if to.is_dir() {
        std::fs::remove_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    copy_tree(from, to)?;
    println!("installed {}", to.display());
    Ok(())
}

fn install() -> Result<()> {
    let root = workspace_root()?;
    ensure_debian_packages(BUILD_PACKAGES)?;
    run("cargo", &["xtask", "bundle", "loopmate", "--release"])?;
    let bundled = root.join("target/bundled");
    let home = home()?;
    install_path(
        &bundled.join("Loopmate.clap"),
        &home.join(".clap/Loopmate.clap"),
    )?;
    install_path(
        &bundled.join("Loopmate.vst3"),
        &home.join(".vst3/Loopmate.vst3"),
    )?;
    install_path(
        &root.join("target/release/loopmate"),
        &home.join(".local/bin/loopmate"),
    )?;
    println!(
        "Done. Rescan plugins in your DAW (CLAP: ~/.clap, VST3: ~/.vst3); run the standalone \
         with `~/.local/bin/loopmate` (`--help` for audio and MIDI options)."
    );
    Ok(())
}

fn test() -> Result<()> {
    let root = workspace_root()?;
    ensure_debian_packages(BUILD_PACKAGES)?;
    ensure_debian_packages(TEST_PACKAGES)?;
    let mut pip = vec!["-m", "pip", "install", "-q", "--disable-pip-version-check"];
    pip.extend_from_slice(TEST_PIP_PACKAGES);
    run("python3", &pip)?;
    // Debug bundles: nice-plug's allocation checker is active in them, so the host tests also
    // prove that process() never allocates.
    run("cargo", &["xtask", "bundle", "loopmate"])?;
    run("cargo", &["build", "--bin", "loopmate"])?;
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // Every test binary and the host tests run even after a failure, so one run shows all
    // that fails.
    let rust = run("cargo", &["test", "--workspace", "--no-fail-fast"]);
    // Ableton Link (the `link` feature, GPL-2.0-or-later) is not in the default build: its
    // tests, Link peers in a private network namespace, build it. Some 5 minutes on this
    // 2-core machine: Link's C++ build (1.7 min), the crate with the feature (3 min) and 27 s
    // of real time.
    let link = run(
        "cargo",
        &["test", "--features", "link", "--test", "link_sync"],
    );
    // Subnormal operands appear only where the optimizer packs floats into vector lanes, so this
    // test means something in a release build only (it is ignored in the debug run above).
    let optimized = run(
        "cargo",
        &[
            "test",
            "--release",
            "--lib",
            "--",
            "--exact",
            "engine::tests::outputs::filtered_loops_of_a_steady_tone_do_no_arithmetic_on_subnormals",
        ],
    );
    let tests = root.join("tests");
    let python = run(
        "python3",
        &[
            "-m",
            "pytest",
            "-q",
            tests.to_str().ok_or("non-UTF-8 path")?,
        ],
    );
    let fuzzed = fuzz(TEST_FUZZ_SECS);
    rust.and(link).and(optimized).and(python).and(fuzzed)?;
    println!("all tests passed");
    Ok(())
}

/// Runs a command with `envs` added to its environment, its standard error also into `log`;
/// returns whether it succeeded.
fn run_logged(command: &mut Command, envs: &[(&str, &str)], log: &Path) -> Result<bool> {
    eprintln!("+ {command:?} 2> {}", log.display());
    let file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let status = command
        .envs(envs.iter().copied())
        .stderr(file)
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    Ok(status.success())
}

/// `cargo xtask fuzz [SECONDS]`: installs cargo-fuzz if it is missing, builds every fuzz target
/// and runs each for `secs` seconds, starting from its seeds (`fuzz/seeds/`), the inputs that
/// once crashed it (`fuzz/regressions/`) and what earlier runs found (`target/fuzz/corpus/`,
/// kept between runs like the build in `target/fuzz/`). Prints each target's executions and
/// coverage; fails if any input panics, aborts, runs out of memory (or allocates more than the
/// targets' limit, see `fuzz/src/lib.rs`) or hangs, and says where that input was saved.
fn fuzz(secs: u64) -> Result<()> {
    let root = workspace_root()?;
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(CARGO_FUZZ_VERSION));
    if !installed {
        run(
            "cargo",
            &[
                "install",
                "cargo-fuzz",
                "--version",
                CARGO_FUZZ_VERSION,
                "--locked",
            ],
        )?;
    }
    // cargo-fuzz passes nightly-only flags (the sanitizer, coverage instrumentation); the
    // stable toolchain accepts them with RUSTC_BOOTSTRAP. ASan's leak check is off: the state
    // decoder's scoped threads can still be exiting when it looks, a false report each time.
    let envs = [("RUSTC_BOOTSTRAP", "1"), ("ASAN_OPTIONS", "detect_leaks=0")];
    let target_dir = root.join("target/fuzz");
    let dir_arg = |path: &Path| path.to_str().map(str::to_owned).ok_or("non-UTF-8 path");
    let target_dir_arg = dir_arg(&target_dir)?;
    run_in_env(
        "cargo",
        &["fuzz", "build", "--target-dir", &target_dir_arg],
        &envs,
    )?;
    let listed = Command::new("cargo")
        .args(["fuzz", "list"])
        .output()
        .map_err(|e| format!("cargo fuzz list: {e}"))?;
    let targets: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        return Err("cargo fuzz list found no fuzz targets".into());
    }
    let mut failed = Vec::new();
    for target in &targets {
        let corpus = target_dir.join("corpus").join(target);
        let artifacts = target_dir.join("artifacts").join(target);
        for dir in [&corpus, &artifacts] {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut command = Command::new("cargo");
        command.args(["fuzz", "run", "--target-dir", &target_dir_arg, target]);
        command.arg(&corpus);
        for extra in ["seeds", "regressions"] {
            let dir = root.join("fuzz").join(extra).join(target);
            if dir.is_dir() {
                command.arg(dir);
            }
        }
        command.arg("--").args([
            format!("-max_total_time={secs}"),
            format!("-timeout={FUZZ_INPUT_TIMEOUT_SECS}"),
            "-print_final_stats=1".to_owned(),
            format!("-artifact_prefix={}/", dir_arg(&artifacts)?),
        ]);
        let log = target_dir.join(format!("{target}.log"));
        let passed = run_logged(&mut command, &envs, &log)?;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        println!("fuzz {target}: {}", fuzz_summary(&text));
        if !passed {
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            for line in tail.iter().rev() {
                eprintln!("  {line}");
            }
            eprintln!(
                "fuzz {target}: FAILED; the input is in {} (once fixed, add it to \
                 fuzz/regressions/{target}/); full log {}",
                artifacts.display(),
                log.display()
            );
            failed.push(target.as_str());
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets failed: {}", failed.join(", ")))
    }
}

/// Executions, speed and coverage from a libFuzzer log (`-print_final_stats=1`).
fn fuzz_summary(log: &str) -> String {
    let stat = |name: &str| {
        log.lines()
            .find_map(|line| line.strip_prefix(&format!("stat::{name}:")))
            .map_or("?", str::trim)
    };
    // The last status line: "#N DONE cov: C ft: F corp: K/S ...".
    let status = log
        .lines()
        .rev()
        .find(|line| line.starts_with('#') && line.contains(" cov: "))
        .unwrap_or("");
    let field = |name: &str| {
        status
            .split_whitespace()
            .skip_while(|word| *word != name)
            .nth(1)
            .unwrap_or("?")
    };
    format!(
        "{} executions, {} per second, coverage {} edges ({} features), corpus {}",
        stat("number_of_executed_units"),
        stat("average_exec_per_sec"),
        field("cov:"),
        field("ft:"),
        field("corp:")
    )
}

/// Debian packages the MIR corpus generator needs (synthesis, effects, voice, soundfonts).
const MIR_PACKAGES: &[&str] = &[
    "fluidsynth",
    "sox",
    "espeak-ng",
    "fluid-soundfont-gm",
    "avldrums.lv2-soundfont",
];
/// Python packages of the evaluation (and aubio, the speed baseline).
const MIR_PIP_PACKAGES: &[&str] = &[
    "numpy",
    "soundfile",
    "pretty_midi",
    "mido",
    "mir_eval",
    "aubio",
];
/// The public corpus (the seed of the published baselines) and a held-out one.
const MIR_CORPORA: &[(&str, &str)] = &[("corpus_public", "20240601"), ("corpus_heldout", "777")];

/// `cargo xtask mir [DATA_DIR] [MIR_DIR]`: sets up the venv and both corpora in `DATA_DIR`
/// (default `../mir-data`, outside the repository), builds the release binary, and scores
/// `loopmate analyze` and aubio on each corpus in the same run.
fn mir(args: &[String]) -> Result<()> {
    let root = workspace_root()?;
    let data = args
        .first()
        .map_or_else(|| root.join("../mir-data"), PathBuf::from);
    let mir_dir = args
        .get(1)
        .map_or_else(|| root.join("../shared/mir"), PathBuf::from);
    let text = |path: &Path| path.to_str().map(str::to_owned).ok_or("non-UTF-8 path");
    ensure_debian_packages(MIR_PACKAGES)?;
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let python = data.join("venv/bin/python");
    if !python.exists() {
        run("python3", &["-m", "venv", &text(&data.join("venv"))?])?;
    }
    let python = text(&python)?;
    let mut pip = vec!["-m", "pip", "install", "-q", "--disable-pip-version-check"];
    pip.extend_from_slice(MIR_PIP_PACKAGES);
    run(&python, &pip)?;
    run("cargo", &["build", "--release", "--bin", "loopmate"])?;
    let binary = text(&root.join("target/release/loopmate"))?;
    let binary = std::env::var("CARGO_TARGET_DIR")
        .map(|dir| format!("{dir}/release/loopmate"))
        .unwrap_or(binary);
    for (corpus, seed) in MIR_CORPORA {
        let corpus_dir = text(&data.join(corpus))?;
        if !data.join(corpus).exists() {
            run(
                &python,
                &[
                    &text(&mir_dir.join("make_corpus.py"))?,
                    "--out",
                    &corpus_dir,
                    "--n",
                    "80",
                    "--seed",
                    seed,
                    "--profile",
                    "public",
                ],
            )?;
        }
        let eval = text(&mir_dir.join("eval_mir.py"))?;
        let systems = [
            ("loopmate", format!("{binary} analyze --timing {{wav}}")),
            (
                "aubio",
                format!(
                    "{python} {} {{wav}}",
                    text(&mir_dir.join("suts/sut_aubio.py"))?
                ),
            ),
        ];
        let mut results = Vec::new();
        for (name, command) in &systems {
            let out = text(&data.join(format!("{corpus}_{name}.json")))?;
            run(
                &python,
                &[
                    &eval,
                    "--corpus",
                    &corpus_dir,
                    "--name",
                    name,
                    "--cmd",
                    command,
                    "--out",
                    &out,
                ],
            )?;
            results.push(out);
        }
        let mut table = vec![eval.as_str(), "--table"];
        table.extend(results.iter().map(String::as_str));
        run(&python, &table)?;
    }
    Ok(())
}
