//! The commit protocol of datasets written by the native writer: its rules ([`save_action`],
//! [`staging_dir`], [`staging_part`], [`committed_part`]), which the JVM applies through its
//! Hadoop FileSystem, and their application to a local file system (Python workers).
//!
//! Tasks write `<root>/_temporary/<job>/part-<partition>-attempt-<attempt>.parquet`
//! ([`part_path`]); once every task succeeded the driver moves them to
//! `<root>/part-<partition>-<job>-c000.parquet` and creates `_SUCCESS` ([`commit`]); a failed job
//! removes its staging folder ([`abort`]), so no data file of it is left.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use url::Url;

use super::store;
use crate::error::{Error, Result};

const TEMPORARY: &str = "_temporary";
const SUCCESS: &str = "_SUCCESS";

/// The local directory of a dataset URL: a `file:` URL or a plain path (made absolute). Other
/// schemes are `Value` errors.
pub fn local_root(url: &str) -> Result<PathBuf> {
    let parsed = match Url::parse(url) {
        Ok(parsed) => parsed,
        Err(_) => store::to_url(url)?,
    };
    if parsed.scheme() != "file" {
        return Err(Error::value(format!(
            "the Python-worker writer writes local paths only, not '{url}'; \
             petastorm.jvm.write_dataset streams to any Hadoop FileSystem"
        )));
    }
    parsed.to_file_path().map_err(|()| Error::value(format!("'{url}' is not a local path")))
}

fn io_error(what: &str, path: &Path, e: io::Error) -> Error {
    Error::io(format!("cannot {what} '{}': {e}", path.display()))
}

/// What Spark's save mode does with a dataset root, given whether it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveAction {
    Write = 0,
    /// Delete the existing root first (`overwrite`).
    ReplaceThenWrite = 1,
    /// Write nothing (`ignore` and the root exists).
    Skip = 2,
    /// Fail: the root exists (`error`, `errorifexists`, `default`).
    RefuseExisting = 3,
}

/// The action of save mode `mode` (case-insensitive) on a root that `exists` or not; an unknown
/// mode is a `Value` error.
pub fn save_action(mode: &str, exists: bool) -> Result<SaveAction> {
    Ok(match (mode.to_ascii_lowercase().as_str(), exists) {
        ("overwrite", true) => SaveAction::ReplaceThenWrite,
        ("ignore", true) => SaveAction::Skip,
        ("error" | "errorifexists" | "default", true) => SaveAction::RefuseExisting,
        ("overwrite" | "append" | "ignore" | "error" | "errorifexists" | "default", _) => SaveAction::Write,
        _ => {
            return Err(Error::value(format!(
                "unknown save mode '{mode}' (accepted: overwrite, append, ignore, error, errorifexists, default)"
            )))
        }
    })
}

/// Applies save mode `mode` to the local `root`. Returns whether to write (false: `ignore` and
/// `root` exists); an existing root under `error` is an `Io` error.
pub fn prepare(root: &Path, mode: &str) -> Result<bool> {
    let exists = root.try_exists().map_err(|e| io_error("inspect", root, e))?;
    let action = save_action(mode, exists)?;
    log::debug!("save mode '{mode}' on {} '{}': {action:?}", if exists { "existing" } else { "new" }, root.display());
    match action {
        SaveAction::Write => Ok(true),
        SaveAction::ReplaceThenWrite => {
            let removed = if root.is_dir() { fs::remove_dir_all(root) } else { fs::remove_file(root) };
            removed.map_err(|e| io_error("delete", root, e))?;
            Ok(true)
        }
        SaveAction::Skip => Ok(false),
        SaveAction::RefuseExisting => {
            Err(Error::io(format!("path '{}' already exists (save mode '{mode}')", root.display())))
        }
    }
}

/// `_temporary/<job>`, relative to the dataset root; `job` must be a plain file name.
pub fn staging_dir(job: &str) -> Result<String> {
    if job.is_empty() || job == "." || job == ".." || job.contains('/') {
        return Err(Error::value(format!("invalid job id '{job}'")));
    }
    Ok(format!("{TEMPORARY}/{job}"))
}

/// Where the task attempt `attempt` of `job` writes partition `partition`, relative to the root.
pub fn staging_part(job: &str, partition: u32, attempt: u64) -> Result<String> {
    Ok(format!("{}/part-{partition:05}-attempt-{attempt}.parquet", staging_dir(job)?))
}

/// The name a committed part file of `job` gets in the dataset root.
pub fn committed_part(job: &str, partition: u32) -> String {
    format!("part-{partition:05}-{job}-c000.parquet")
}

fn staging(root: &Path, job: &str) -> Result<PathBuf> {
    Ok(root.join(staging_dir(job)?))
}

/// [`staging_part`] under the local `root`.
pub fn part_path(root: &Path, job: &str, partition: u32, attempt: u64) -> Result<PathBuf> {
    Ok(root.join(staging_part(job, partition, attempt)?))
}

/// Moves the written `parts` (partition, path) of `job` into `root` in partition order, creates
/// `_SUCCESS` and removes the staging folder. On a failure the files moved so far are removed.
pub fn commit(root: &Path, job: &str, parts: &[(u32, PathBuf)]) -> Result<()> {
    let staging = staging(root, job)?;
    let mut parts: Vec<&(u32, PathBuf)> = parts.iter().collect();
    parts.sort_by_key(|(partition, _)| *partition);
    if let Some(w) = parts.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::value(format!("partition {} was written twice", w[0].0)));
    }
    let mut moved = Vec::with_capacity(parts.len());
    let move_all = || {
        for (partition, path) in parts {
            let target = root.join(committed_part(job, *partition));
            fs::rename(path, &target)
                .map_err(|e| Error::io(format!("cannot move '{}' to '{}': {e}", path.display(), target.display())))?;
            moved.push(target);
        }
        let success = root.join(SUCCESS);
        fs::File::create(&success).map(drop).map_err(|e| io_error("create", &success, e))
    };
    if let Err(e) = move_all() {
        moved.iter().for_each(|m| drop(fs::remove_file(m)));
        return Err(e);
    }
    remove_staging(&staging)?;
    log::info!("committed {} part files of job {job} into '{}'", moved.len(), root.display());
    Ok(())
}

/// Removes the staging folder of `job` (and `_temporary` once empty); nothing is committed.
pub fn abort(root: &Path, job: &str) -> Result<()> {
    remove_staging(&staging(root, job)?)?;
    log::info!("aborted job {job}: its staged files under '{}' are deleted", root.display());
    Ok(())
}

fn remove_staging(staging: &Path) -> Result<()> {
    if let Err(e) = fs::remove_dir_all(staging) {
        if e.kind() != io::ErrorKind::NotFound {
            return Err(io_error("delete", staging, e));
        }
    }
    if let Some(temporary) = staging.parent() {
        // Fails, and is left, while other jobs stage files in it.
        let _ = fs::remove_dir(temporary);
    }
    Ok(())
}
