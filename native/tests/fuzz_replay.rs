//! Replays every committed fuzz input (`fuzz/seeds/T/`, `fuzz/regressions/T/`: crashes found
//! and fixed) through its target in `petastorm_native::fuzzing`: the stable smoke run of each
//! cargo-fuzz target, and the regression tests of the bugs fuzzing found.

use std::path::Path;

use petastorm_native::fuzzing::TARGETS;

/// The files directly under `dir` (none when it does not exist), sorted.
fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> = entries.map(|e| e.expect("a directory entry").path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_target_has_seeds_and_replays_them_and_its_regressions() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, target) in TARGETS {
        let seeds = inputs(&fuzz.join("seeds").join(name));
        assert!(!seeds.is_empty(), "target {name}: no seeds under fuzz/seeds/{name}");
        for path in seeds.iter().chain(&inputs(&fuzz.join("regressions").join(name))) {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let run = std::panic::catch_unwind(|| target(&data));
            assert!(run.is_ok(), "target {name} panicked on {}", path.display());
        }
    }
}

#[test]
fn every_fuzz_binary_calls_its_target() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut binaries: Vec<String> =
        inputs(&dir).iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    binaries.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(binaries, names, "fuzz/fuzz_targets/*.rs and fuzzing::TARGETS differ");
    for name in &names {
        let body = std::fs::read_to_string(dir.join(format!("{name}.rs"))).unwrap();
        assert!(body.contains(&format!("petastorm_native::fuzzing::{name}(data)")), "{name}.rs");
    }
}
