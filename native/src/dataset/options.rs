//! The reader's options JSON (`docs/ffi.md`, "Reader"), with upstream's names and defaults.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ngram::NGramOptions;
use super::predicate::{Filters, Predicate};
use crate::error::{Error, Result};
use crate::storage::CacheSettings;

/// One URL or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Urls {
    One(String),
    Many(Vec<String>),
}

impl Urls {
    pub fn list(&self) -> Vec<String> {
        match self {
            Urls::One(u) => vec![u.clone()],
            Urls::Many(v) => v.clone(),
        }
    }

    /// Checks that there is at least one URL and none is empty, and drops trailing `/`s.
    fn normalize(&mut self) -> Result<()> {
        let urls = match self {
            Urls::One(u) => std::slice::from_mut(u),
            Urls::Many(v) if v.is_empty() => return Err(Error::value("dataset url list must be non-empty.")),
            Urls::Many(v) => v.as_mut_slice(),
        };
        for url in urls {
            if url.is_empty() {
                return Err(Error::value("dataset url must be a non-empty string, got ''"));
            }
            let kept = url.trim_end_matches('/').len().max(1);
            url.truncate(kept);
        }
        Ok(())
    }
}

/// Upstream's `reader_pool_type` values. Decoding always runs in the native pool; `dummy` makes
/// it one thread.
const POOL_TYPES: [&str; 3] = ["thread", "process", "dummy"];

/// What `make_reader` / `make_batch_reader` pass to `pst_reader_open`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReaderOptions {
    pub dataset_url: Urls,
    /// Regular expressions matching whole field names (upstream's strings in `schema_fields`).
    #[serde(default)]
    pub schema_fields: Option<Vec<String>>,
    /// Exact field names (upstream's `UnischemaField` objects in `schema_fields`): the view holds
    /// them first, in this order, then the fields `schema_fields` matches (see `dataset::view`).
    #[serde(default)]
    pub schema_field_names: Vec<String>,
    /// The fields of a predicate the caller applies to the batches (upstream's `in_lambda`):
    /// checked like a native predicate's, and carried in every batch after the view's fields
    /// without being part of the view. An empty list is an error.
    #[serde(default)]
    pub predicate_fields: Option<Vec<String>>,
    /// `"thread"`, `"process"` or `"dummy"` (one decode thread).
    #[serde(default = "thread")]
    pub reader_pool_type: String,
    #[serde(default)]
    pub batch_mode: bool,
    /// Decoded (H, W, 3) image fields as channel planes: `arrow.fixed_shape_tensor` of shape
    /// `[3, H, W]`, `permutation` `[1, 2, 0]` (the layout OpenCV's BGR→RGB index gives upstream's
    /// rows; per-channel NumPy arithmetic runs on whole planes).
    #[serde(default)]
    pub planar_images: bool,
    #[serde(default = "yes")]
    pub shuffle_row_groups: bool,
    #[serde(default)]
    pub shuffle_rows: bool,
    #[serde(default)]
    pub seed: Option<u64>,
    /// `None` reads forever.
    #[serde(default = "one_epoch")]
    pub num_epochs: Option<u64>,
    #[serde(default)]
    pub cur_shard: Option<u64>,
    #[serde(default)]
    pub shard_count: Option<u64>,
    /// Shuffles the ordered row groups with this seed before sharding (upstream's `shard_seed`).
    #[serde(default)]
    pub shard_seed: Option<u64>,
    #[serde(default = "one")]
    pub shuffle_row_drop_partitions: u64,
    #[serde(default = "ten")]
    pub workers_count: usize,
    #[serde(default = "fifty")]
    pub results_queue_size: usize,
    /// Bytes of decoded batches held ahead of the consumer above which no more row groups
    /// start decoding (one batch is always allowed, so a larger one still reads).
    #[serde(default = "queue_bytes")]
    pub results_queue_bytes: u64,
    #[serde(default)]
    pub predicate: Option<Predicate>,
    #[serde(default)]
    pub filters: Option<Filters>,
    /// Only these row groups, as piece indices in upstream's numbering (data files in path
    /// order, each file's row groups in order): what a row-group selector chose.
    #[serde(default)]
    pub row_groups: Option<Vec<u64>>,
    #[serde(default)]
    pub storage_options: BTreeMap<String, String>,
    /// Skip (log and count) files listed in `_common_metadata` but missing and row groups that
    /// cannot be read, instead of failing.
    #[serde(default)]
    pub skip_unreadable_row_groups: bool,
    /// Check the CRC of each page that has one.
    #[serde(default = "yes")]
    pub verify_page_checksums: bool,
    /// Bytes the tensor (NPY, NPZ, image) columns of one batch may decode to; a batch that
    /// would exceed it is refused before its cells are decoded.
    #[serde(default = "two_gib")]
    pub decode_memory_limit: u64,
    /// `"null"` (none) or `"local-disk"`: whole data files kept in `cache_location`.
    #[serde(default)]
    pub cache_type: Option<String>,
    /// A local directory, required by `"local-disk"`.
    #[serde(default)]
    pub cache_location: Option<String>,
    /// Bytes the cache may hold (files evicted least recently used first); `null`: no limit.
    #[serde(default)]
    pub cache_size_limit: Option<u64>,
    /// Upstream's row-cache settings: accepted, unused by a cache of whole files.
    #[serde(default)]
    pub cache_row_size_estimate: Option<u64>,
    #[serde(default)]
    pub cache_extra_settings: Option<serde_json::Value>,
    /// Batches of NGram windows instead of rows (`docs/ffi.md`, "NGram").
    #[serde(default)]
    pub ngram: Option<NGramOptions>,
}

fn thread() -> String {
    POOL_TYPES[0].to_string()
}
fn yes() -> bool {
    true
}
fn one_epoch() -> Option<u64> {
    Some(1)
}
fn one() -> u64 {
    1
}
fn ten() -> usize {
    10
}
fn fifty() -> usize {
    50
}
/// A few large batches or many small ones ahead of the consumer: reading a 50-row hello-world
/// dataset forever with a slow consumer peaked at 546 MiB RSS unbounded, 170 MiB at 16 MiB.
fn queue_bytes() -> u64 {
    32 << 20
}
/// Twice the largest single cell the codecs accept (1 GiB), so any one valid cell decodes,
/// while a batch of several near-limit cells (4 × 900 MiB took 7.5 GB peak) is refused.
fn two_gib() -> u64 {
    2 << 30
}

impl ReaderOptions {
    /// Parses and checks the options JSON (`Value` errors naming the option).
    pub fn from_json(json: &str) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::value(format!("invalid reader options JSON: {e}")))?;
        let mut options: ReaderOptions = serde_json::from_value(value.clone()).map_err(|e| bad_option(&value, e))?;
        options.dataset_url.normalize()?;
        options.check()?;
        Ok(options)
    }

    /// The size of the decode pool (`workers_count`, one thread for the `dummy` pool).
    pub fn workers(&self) -> usize {
        if self.reader_pool_type == "dummy" {
            1
        } else {
            self.workers_count
        }
    }

    /// Options for reading `url` with every default.
    pub fn for_url(url: &str) -> Self {
        Self::from_json(&serde_json::json!({ "dataset_url": url }).to_string()).expect("defaults are valid")
    }

    fn check(&self) -> Result<()> {
        if !POOL_TYPES.contains(&self.reader_pool_type.as_str()) {
            return Err(Error::value(format!(
                "Unknown reader_pool_type: '{}' (use one of {})",
                self.reader_pool_type,
                POOL_TYPES.join(", ")
            )));
        }
        if self.predicate_fields.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::value("At least one field name must be returned by predicate's get_fields() method"));
        }
        if self.num_epochs == Some(0) {
            return Err(Error::value("num_epochs must be a positive integer or None"));
        }
        if self.shuffle_row_drop_partitions == 0 {
            return Err(Error::value("shuffle_row_drop_partitions must be a positive integer"));
        }
        if self.decode_memory_limit == 0 {
            return Err(Error::value("decode_memory_limit must be a positive number of bytes"));
        }
        if self.workers_count == 0 {
            return Err(Error::value("workers_count must be a positive integer"));
        }
        self.cache()?;
        if let Some(ngram) = &self.ngram {
            ngram.check(self.shuffle_row_drop_partitions)?;
        }
        match (self.cur_shard, self.shard_count) {
            (None, None) => Ok(()),
            (Some(cur), Some(count)) if count > 0 && cur < count => Ok(()),
            (Some(_), Some(_)) => Err(Error::value("cur_shard must be in 0..shard_count")),
            _ => Err(Error::value("cur_shard and shard_count must be given together")),
        }
    }

    /// The local-disk cache settings, `None` without a cache.
    pub fn cache(&self) -> Result<Option<CacheSettings>> {
        match (self.cache_type.as_deref(), &self.cache_location) {
            (None | Some("null"), _) => Ok(None),
            (Some("local-disk"), Some(dir)) if !dir.is_empty() => {
                let size_limit = self.cache_size_limit.unwrap_or(u64::MAX);
                Ok(Some(CacheSettings { dir: dir.into(), size_limit }))
            }
            (Some("local-disk"), _) => Err(Error::value("cache_type 'local-disk' needs a cache_location")),
            (Some(other), _) => Err(Error::value(format!("unknown cache_type '{other}' (use 'null' or 'local-disk')"))),
        }
    }

    pub fn storage_options(&self) -> Vec<(String, String)> {
        self.storage_options.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// The error of options that do not deserialize, naming the first option that fails on its own
/// (serde's message alone gives only a position).
fn bad_option(value: &serde_json::Value, error: serde_json::Error) -> Error {
    let culprit = value.as_object().and_then(|fields| {
        fields.iter().filter(|(key, _)| key.as_str() != "dataset_url").find_map(|(key, v)| {
            let alone = serde_json::json!({ "dataset_url": "x", key.as_str(): v });
            serde_json::from_value::<ReaderOptions>(alone)
                .err()
                .map(|e| format!("invalid reader option {key} = {v}: {e}"))
        })
    });
    Error::value(culprit.unwrap_or_else(|| format!("invalid reader options JSON: {error}")))
}
