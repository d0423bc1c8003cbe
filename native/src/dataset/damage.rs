//! Damaged datasets: data files that `_common_metadata` lists but that are gone, and row groups
//! that cannot be read (footer, I/O, corrupt pages). By default each is an error naming the
//! file (and row group); with `skip_unreadable_row_groups` each is skipped instead, logged
//! (`log::warn!`) and counted for the reader's diagnostics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::discovery::{DataFile, Dataset};
use crate::error::{Error, Result};

/// Files named by the metadata's row-group counts that the listing did not find, sorted, with
/// their row-group counts.
pub fn missing_files(files: &[DataFile], row_groups_hint: &HashMap<String, usize>) -> Vec<(String, usize)> {
    let mut missing: Vec<(String, usize)> = row_groups_hint
        .iter()
        .filter(|(rel, _)| !files.iter().any(|f| &f.rel == *rel))
        .map(|(rel, n)| (rel.clone(), *n))
        .collect();
    missing.sort();
    missing
}

/// Whether damage is an error or skipped, and what was skipped.
#[derive(Debug, Default)]
pub struct Skips {
    enabled: bool,
    row_groups: AtomicU64,
    files: Mutex<Vec<String>>,
}

impl Skips {
    pub fn new(enabled: bool) -> Self {
        Skips { enabled, ..Default::default() }
    }

    /// Files listed in `_common_metadata` but missing: an `Io` error naming them, or skipped.
    pub fn missing(&self, missing: &[(String, usize)]) -> Result<()> {
        if missing.is_empty() {
            return Ok(());
        }
        if !self.enabled {
            let names: Vec<&str> = missing.iter().map(|(rel, _)| rel.as_str()).collect();
            return Err(Error::io(format!(
                "{} data file(s) listed in _common_metadata are missing: {} (pass skip_unreadable_row_groups=True \
                 to read the rest)",
                names.len(),
                names.join(", ")
            )));
        }
        for (rel, row_groups) in missing {
            log::warn!("skipping file '{rel}' ({row_groups} row groups): listed in _common_metadata but missing");
            self.row_groups.fetch_add(*row_groups as u64, Ordering::Relaxed);
            self.lock_files().push(rel.clone());
        }
        Ok(())
    }

    /// A row group (or part of one) that cannot be fetched: the error, or skipped (`Ok(None)`).
    pub fn unreadable_row_group<T>(&self, error: Error) -> Result<Option<T>> {
        if !self.enabled {
            return Err(error);
        }
        log::warn!("skipping a row group: {error}");
        self.row_groups.fetch_add(1, Ordering::Relaxed);
        Ok(None)
    }

    /// `(row groups skipped, files skipped whole)` so far.
    pub fn counts(&self) -> (u64, Vec<String>) {
        (self.row_groups.load(Ordering::Relaxed), self.lock_files().clone())
    }

    fn lock_files(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Skips {
    /// Loads the footers of `files` (those the metadata does not count); returns the files
    /// that can be read: all of them, or an error, unless skipping.
    pub fn load_footers(&self, dataset: &Dataset, files: &[usize]) -> Result<Vec<usize>> {
        if !self.enabled {
            dataset.load_footers(files)?;
            return Ok(files.to_vec());
        }
        let mut readable = Vec::with_capacity(files.len());
        for &i in files {
            match dataset.files[i].footer() {
                Ok(_) => readable.push(i),
                Err(e) => {
                    log::warn!("skipping file '{}': {e}", dataset.files[i].rel);
                    self.lock_files().push(dataset.files[i].rel.clone());
                }
            }
        }
        Ok(readable)
    }
}
