//! The commit protocol of datasets written by the native writer: its rules ([`save_action`],
//! [`staging_dir`], [`staging_part`], [`committed_part`]), which the JVM applies through its
//! Hadoop FileSystem, and their application to any store of the storage layer (Python workers).
//!
//! Tasks write `<root>/_temporary/<job>/part-<partition>-attempt-<attempt>.parquet`
//! ([`part_url`]); once every task succeeded the driver moves them to
//! `<root>/part-<partition>-<job>-c000.parquet` and creates `_SUCCESS` ([`commit`]); a failed job
//! removes its staging folder ([`abort`]), so no data file of it is left.

use crate::error::{Error, Result};
use crate::storage::{self, Location};

const TEMPORARY: &str = "_temporary";
const SUCCESS: &str = "_SUCCESS";

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

/// Applies save mode `mode` to the dataset at `root`. Returns whether to write (false: `ignore`
/// and the dataset exists); an existing dataset under `error` is an `Io` error.
pub fn prepare(root: &Location, mode: &str) -> Result<bool> {
    let exists = !storage::list(root)?.is_empty();
    let action = save_action(mode, exists)?;
    log::debug!("save mode '{mode}' on {} '{}': {action:?}", if exists { "existing" } else { "new" }, root.url);
    match action {
        SaveAction::Write => Ok(true),
        SaveAction::ReplaceThenWrite => {
            storage::delete_recursive(root)?;
            Ok(true)
        }
        SaveAction::Skip => Ok(false),
        SaveAction::RefuseExisting => {
            Err(Error::io(format!("path '{}' already exists (save mode '{mode}')", root.url)))
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

/// The URL where attempt `attempt` of `job` writes partition `partition` under `root_url`.
pub fn part_url(root_url: &str, job: &str, partition: u32, attempt: u64) -> Result<String> {
    Ok(format!("{}/{}", root_url.trim_end_matches('/'), staging_part(job, partition, attempt)?))
}

/// Moves the written `parts` (partition, URL from [`part_url`]) of `job` into `root` in partition
/// order, creates `_SUCCESS` and removes the staging folder. On a failure the files moved so far
/// are removed.
pub fn commit(root: &Location, job: &str, parts: &[(u32, String)]) -> Result<()> {
    let prefix = format!("{}/", root.url.trim_end_matches('/'));
    let mut staged: Vec<(u32, Location)> = Vec::with_capacity(parts.len());
    for (partition, url) in parts {
        let rel = url
            .strip_prefix(&prefix)
            .ok_or_else(|| Error::value(format!("part '{url}' is not under '{}'", root.url)))?;
        staged.push((*partition, root.join(rel)));
    }
    staged.sort_by_key(|(partition, _)| *partition);
    if let Some(w) = staged.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::value(format!("partition {} was written twice", w[0].0)));
    }
    let mut moved = Vec::with_capacity(staged.len());
    let move_all = |moved: &mut Vec<Location>| {
        for (partition, from) in &staged {
            let to = root.child(&committed_part(job, *partition));
            storage::block_on(root.store.rename(&from.path, &to.path))
                .map_err(|e| Error::io(format!("cannot move '{}' to '{}': {e}", from.url, to.url)))?;
            moved.push(to);
        }
        storage::write_atomically(&root.child(SUCCESS), Vec::new())
    };
    if let Err(e) = move_all(&mut moved) {
        for m in &moved {
            let _ = storage::delete_recursive(m);
        }
        return Err(e);
    }
    remove_staging(root, job)?;
    log::info!("committed {} part files of job {job} into '{}'", moved.len(), root.url);
    Ok(())
}

/// Removes the staging folder of `job` (and `_temporary` once empty); nothing is committed.
pub fn abort(root: &Location, job: &str) -> Result<()> {
    remove_staging(root, job)?;
    log::info!("aborted job {job}: its staged files under '{}' are deleted", root.url);
    Ok(())
}

fn remove_staging(root: &Location, job: &str) -> Result<()> {
    storage::delete_recursive(&root.join(&staging_dir(job)?))?;
    let temporary = root.child(TEMPORARY);
    if storage::list(&temporary)?.is_empty() {
        // Left while other jobs stage files in it; on local disks its empty folder goes.
        storage::delete_recursive(&temporary)?;
    }
    Ok(())
}
