//! The commit protocol of datasets written by Python workers (`dataset::commit`), on local files
//! through the storage layer (the object-store runs are end-to-end tests against a real server).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::temp_dir;
use petastorm_native::dataset::commit::{
    abort, commit, committed_part, part_url, prepare, save_action, staging_dir, staging_part, SaveAction,
};
use petastorm_native::error::{ErrorKind, Result};
use petastorm_native::storage::{self, Location};

/// The storage location of a local path.
fn at(path: &Path) -> Location {
    storage::open(&format!("file://{}", path.display()), &[]).unwrap()
}

fn prepare_at(root: &Path, mode: &str) -> Result<bool> {
    prepare(&at(root), mode)
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

/// Writes `text` to the staging file of (`job`, `partition`, `attempt`); returns (partition, URL).
fn stage(root: &Path, job: &str, partition: u32, attempt: u64, text: &str) -> (u32, String) {
    let url = part_url(&format!("file://{}", root.display()), job, partition, attempt).unwrap();
    let path = PathBuf::from(url.strip_prefix("file://").unwrap());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    (partition, url)
}

#[test]
fn save_modes() {
    let dir = temp_dir("commit-modes");
    let root = dir.join("ds");
    let existing = || {
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("old.parquet"), "old").unwrap();
    };
    for mode in ["error", "errorifexists", "default", "ErrorIfExists"] {
        assert!(prepare_at(&root, mode).unwrap(), "{mode}");
    }
    assert!(prepare_at(&root, "ignore").unwrap());
    assert!(prepare_at(&root, "append").unwrap());
    assert!(prepare_at(&root, "overwrite").unwrap());

    existing();
    let e = prepare_at(&root, "error").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.message().contains("already exists") && e.message().contains(&*root.to_string_lossy()), "{e}");
    assert_eq!(prepare_at(&root, "default").unwrap_err().kind(), ErrorKind::Io);
    assert!(!prepare_at(&root, "ignore").unwrap());
    assert!(prepare_at(&root, "append").unwrap());
    assert_eq!(names(&root), ["old.parquet"]);
    assert!(prepare_at(&root, "OVERWRITE").unwrap());
    assert!(!root.exists());

    fs::write(&root, "a file").unwrap();
    assert!(prepare_at(&root, "overwrite").unwrap());
    assert!(!root.exists());

    let e = prepare_at(&root, "upsert").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Value);
    assert!(e.message().contains("'upsert'"), "{e}");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn part_urls_are_staged_per_job() {
    assert_eq!(
        part_url("s3://bucket/ds/", "job-1", 7, 42).unwrap(),
        "s3://bucket/ds/_temporary/job-1/part-00007-attempt-42.parquet"
    );
    for job in ["", ".", "..", "a/b"] {
        assert_eq!(part_url("file:///data/ds", job, 0, 0).unwrap_err().kind(), ErrorKind::Value, "{job:?}");
    }
}

#[test]
fn commit_moves_parts_in_partition_order() {
    let dir = temp_dir("commit");
    let root = dir.join("ds");
    let parts =
        vec![stage(&root, "j1", 2, 9, "two"), stage(&root, "j1", 0, 3, "zero"), stage(&root, "j1", 11, 4, "eleven")];
    stage(&root, "other", 0, 1, "another job's");
    commit(&at(&root), "j1", &parts).unwrap();
    assert_eq!(
        names(&root),
        [
            "_SUCCESS",
            "_temporary",
            "part-00000-j1-c000.parquet",
            "part-00002-j1-c000.parquet",
            "part-00011-j1-c000.parquet"
        ]
    );
    assert_eq!(fs::read_to_string(root.join("part-00002-j1-c000.parquet")).unwrap(), "two");
    assert_eq!(fs::read(root.join("_SUCCESS")).unwrap(), b"");
    assert_eq!(names(&root.join("_temporary")), ["other"]);

    // The last job removes `_temporary`; an empty job commits only `_SUCCESS`.
    let parts = vec![stage(&root, "other", 0, 1, "another job's")];
    commit(&at(&root), "other", &parts).unwrap();
    assert!(!root.join("_temporary").exists());
    commit(&at(&root), "empty", &[]).unwrap();
    assert_eq!(names(&root).len(), 5);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn failed_commits_leave_no_part() {
    let dir = temp_dir("commit-fail");
    let root = dir.join("ds");
    let mut parts = vec![stage(&root, "j", 0, 1, "zero")];
    parts.push((1, format!("file://{}/_temporary/j/missing.parquet", root.display())));
    let e = commit(&at(&root), "j", &parts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.message().contains("missing.parquet") && e.message().contains("part-00001-j-c000.parquet"), "{e}");
    assert_eq!(names(&root), ["_temporary"]);

    let elsewhere = vec![(0, "file:///elsewhere/part-0.parquet".to_string())];
    let e = commit(&at(&root), "j", &elsewhere).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Value);
    assert!(e.message().contains("is not under"), "{e}");

    let twice = vec![stage(&root, "j", 3, 1, "a"), stage(&root, "j", 3, 2, "b")];
    assert_eq!(commit(&at(&root), "j", &twice).unwrap_err().kind(), ErrorKind::Value);
    assert_eq!(names(&root), ["_temporary"]);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn abort_removes_the_staged_parts() {
    let dir = temp_dir("commit-abort");
    let root = dir.join("ds");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("kept.parquet"), "earlier data").unwrap();
    stage(&root, "j", 0, 1, "zero");
    stage(&root, "j", 1, 2, "one");
    abort(&at(&root), "j").unwrap();
    assert_eq!(names(&root), ["kept.parquet"]);
    abort(&at(&root), "j").unwrap(); // nothing staged: no error
    stage(&root, "j", 0, 1, "zero");
    stage(&root, "k", 0, 1, "zero");
    abort(&at(&root), "j").unwrap();
    assert_eq!(names(&root.join("_temporary")), ["k"]);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_rules_the_jvm_applies_are_the_local_ones() {
    let action = |mode, exists| save_action(mode, exists).unwrap();
    assert_eq!(action("Overwrite", true), SaveAction::ReplaceThenWrite);
    assert_eq!(action("overwrite", false), SaveAction::Write);
    assert_eq!(action("append", true), SaveAction::Write);
    assert_eq!(action("ignore", true), SaveAction::Skip);
    assert_eq!(action("ignore", false), SaveAction::Write);
    for mode in ["error", "errorifexists", "default"] {
        assert_eq!(action(mode, true), SaveAction::RefuseExisting);
        assert_eq!(action(mode, false), SaveAction::Write);
    }
    assert!(save_action("upsert", false).unwrap_err().message().contains("'upsert'"));
    assert_eq!(staging_dir("j").unwrap(), "_temporary/j");
    assert_eq!(staging_part("j", 3, 7).unwrap(), "_temporary/j/part-00003-attempt-7.parquet");
    assert_eq!(committed_part("j", 3), "part-00003-j-c000.parquet");
    assert!(staging_dir("../x").is_err());
}
