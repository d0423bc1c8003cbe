//! Dataset discovery: URLs → Parquet data files (Hive partitions parsed), the Unischema
//! (from `_common_metadata` / `_metadata`, else inferred from the first file), row-group
//! counts, and each file's footer, loaded once and shared.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use futures::{StreamExt, TryStreamExt};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::async_reader::ParquetObjectReader;
use parquet::errors::ParquetError;

use super::damage;
use super::metadata::{self, ROW_GROUPS_PER_FILE_KEY, UNISCHEMA_JSON_KEY, UNISCHEMA_PICKLE_KEY};
use crate::error::{Error, Result};
use crate::schema::from_arrow::unischema_from_arrow;
use crate::schema::Unischema;
use crate::storage::{self, CacheSettings, IoStats, Location};

/// How many footers are fetched at once.
const FOOTER_CONCURRENCY: usize = 16;

/// One Parquet data file.
#[derive(Debug)]
pub struct DataFile {
    /// Path relative to its dataset URL (`key=value/part-0.parquet`), for messages and metadata.
    pub rel: String,
    pub location: Location,
    pub size: u64,
    /// Hive partition `(key, value)` pairs from the directories, outermost first.
    pub partitions: Vec<(String, String)>,
    footer: OnceLock<ArrowReaderMetadata>,
}

impl DataFile {
    /// The value of Hive partition `key` for this file.
    pub fn partition(&self, key: &str) -> Option<&str> {
        self.partitions.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// An async reader of this file.
    pub fn reader(&self) -> ParquetObjectReader {
        ParquetObjectReader::new(Arc::clone(&self.location.store), self.location.path.clone()).with_file_size(self.size)
    }

    /// The footer (loaded on first use).
    pub fn footer(&self) -> Result<&ArrowReaderMetadata> {
        if let Some(meta) = self.footer.get() {
            return Ok(meta);
        }
        let meta = storage::block_on(self.load_footer())?;
        Ok(self.footer.get_or_init(|| meta))
    }

    async fn load_footer(&self) -> Result<ArrowReaderMetadata> {
        ArrowReaderMetadata::load_async(&mut self.reader(), ArrowReaderOptions::new())
            .await
            .map_err(|e| parquet_error(e).context(format_args!("file '{}': reading the Parquet footer", self.rel)))
    }
}

/// Object store failures are `Io`; anything else about a file's bytes is `Metadata`.
pub fn parquet_error(e: ParquetError) -> Error {
    match e {
        ParquetError::External(e) => Error::io(e.to_string()),
        e => Error::metadata(e.to_string()),
    }
}

/// Where the Unischema came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaSource {
    Metadata,
    Inferred,
}

/// The files and schema of one dataset (one directory URL, or a list of file/dir URLs).
#[derive(Debug)]
pub struct Dataset {
    pub files: Vec<DataFile>,
    pub schema: Unischema,
    pub schema_source: SchemaSource,
    /// Row groups per file from `dataset-toolkit.num_row_groups_per_file.v1`.
    pub row_groups_hint: HashMap<String, usize>,
    /// The Hive partition keys seen in the file paths.
    pub partition_keys: Vec<String>,
    /// Read requests and bytes fetched from the stores so far.
    pub io: Arc<IoStats>,
    /// Files the row-group counts list but the listing did not find, with their counts.
    pub missing: Vec<(String, usize)>,
}

impl Dataset {
    /// Lists the data files of `urls` and reads or infers the schema.
    pub fn open(urls: &[String], storage_options: &[(String, String)]) -> Result<Dataset> {
        Dataset::open_cached(urls, storage_options, None)
    }

    /// [`Dataset::open`], reading through a local-disk cache when `cache` is given (between the
    /// reader and the counted source store: `io` counts only what the source served).
    pub fn open_cached(
        urls: &[String],
        storage_options: &[(String, String)],
        cache: Option<&CacheSettings>,
    ) -> Result<Dataset> {
        let io = Arc::new(IoStats::default());
        let open = |url: &String| {
            let counted = storage::counted(storage::open(url, storage_options)?, &io);
            match cache {
                Some(settings) => storage::disk_cached(counted, settings, &io),
                None => Ok(counted),
            }
        };
        let locations = urls.iter().map(open).collect::<Result<Vec<_>>>()?;
        let mut files = Vec::new();
        for location in &locations {
            let mut found = data_files(location)?;
            found.sort_by(|a, b| a.rel.cmp(&b.rel));
            files.extend(found);
        }
        let mut partition_keys: Vec<String> = Vec::new();
        for (key, _) in files.iter().flat_map(|f| &f.partitions) {
            if !partition_keys.contains(key) {
                partition_keys.push(key.clone());
            }
        }
        // Summary files live in the dataset directory (not when the one URL is a file).
        let summary = match locations.as_slice() {
            [only] if files.iter().all(|f| f.location.path != only.path) => summary_file(only)?,
            _ => None,
        };
        let mut row_groups_hint = HashMap::new();
        let (schema, schema_source) = match summary {
            Some((name, bytes)) => {
                let entries = metadata::key_value_metadata(&bytes).map_err(|e| e.context(format_args!("{name}")))?;
                if let Some((_, json)) = entries.iter().find(|(k, _)| k == ROW_GROUPS_PER_FILE_KEY) {
                    row_groups_hint = serde_json::from_slice(json).unwrap_or_default();
                }
                if entries.iter().any(|(k, _)| k == UNISCHEMA_JSON_KEY || k == UNISCHEMA_PICKLE_KEY) {
                    let schema =
                        metadata::schema_from_metadata(&bytes).map_err(|e| e.context(format_args!("{name}")))?;
                    (schema, SchemaSource::Metadata)
                } else {
                    let arrow = metadata::arrow_schema(&bytes).map_err(|e| e.context(format_args!("{name}")))?;
                    (unischema_from_arrow(&arrow, &partition_keys)?, SchemaSource::Inferred)
                }
            }
            None => {
                let first = files.first().ok_or_else(|| no_files(urls))?;
                (unischema_from_arrow(first.footer()?.schema(), &partition_keys)?, SchemaSource::Inferred)
            }
        };
        let missing = damage::missing_files(&files, &row_groups_hint);
        Ok(Dataset { files, schema, schema_source, row_groups_hint, partition_keys, io, missing })
    }

    /// Row groups of file `index`: from the metadata hint when it has the file, else the footer.
    pub fn row_group_count(&self, index: usize) -> Result<usize> {
        let file = &self.files[index];
        match self.row_groups_hint.get(&file.rel) {
            Some(n) if file.footer.get().is_none() => Ok(*n),
            _ => Ok(file.footer()?.metadata().num_row_groups()),
        }
    }

    /// The row-group count of every file, in file order (footers loaded for files the
    /// metadata does not list): the numbering of upstream's pieces.
    pub fn row_group_counts(&self) -> Result<Vec<usize>> {
        let unhinted: Vec<usize> =
            (0..self.files.len()).filter(|&i| !self.row_groups_hint.contains_key(&self.files[i].rel)).collect();
        self.load_footers(&unhinted)?;
        (0..self.files.len()).map(|i| self.row_group_count(i)).collect()
    }

    /// Loads the footers of `indices` concurrently (those not loaded yet).
    pub fn load_footers(&self, indices: &[usize]) -> Result<()> {
        let missing: Vec<&DataFile> =
            indices.iter().map(|&i| &self.files[i]).filter(|f| f.footer.get().is_none()).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let loaded: Vec<(&DataFile, ArrowReaderMetadata)> = storage::block_on(
            futures::stream::iter(missing)
                .map(|f| async move { f.load_footer().await.map(|m| (f, m)) })
                .buffered(FOOTER_CONCURRENCY)
                .try_collect(),
        )?;
        for (file, meta) in loaded {
            let _ = file.footer.set(meta);
        }
        Ok(())
    }
}

fn no_files(urls: &[String]) -> Error {
    Error::no_data(format!("no Parquet files found at {}", urls.join(", ")))
}

/// Whether a file at `rel_path` (relative to its dataset, `/`-separated) holds dataset rows:
/// `.parquet`/`.parq` files and Hadoop-style `part-*` files, skipping `.crc` files and any path
/// component that starts with `_` or `.`. The one rule for readers and metadata writers.
pub fn is_data_file(rel_path: &str) -> bool {
    let hidden = rel_path.split('/').any(|c| c.starts_with('_') || c.starts_with('.'));
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    let parquet = name.ends_with(".parquet") || name.ends_with(".parq") || name.starts_with("part-");
    !hidden && parquet && !name.ends_with(".crc")
}

/// The data files under a location (or the file it names), see [`is_data_file`].
fn data_files(location: &Location) -> Result<Vec<DataFile>> {
    let mut files = Vec::new();
    for meta in storage::list(location)? {
        let rel = storage::relative(&location.path, &meta.location);
        if !is_data_file(&rel) {
            continue;
        }
        let components: Vec<&str> = rel.split('/').collect();
        let (_, dirs) = components.split_last().expect("split gives at least one part");
        let partitions = dirs
            .iter()
            .filter_map(|d| d.split_once('='))
            .map(|(k, v)| (storage::percent_decode(k), storage::percent_decode(v)))
            .collect();
        let file_location = Location { path: meta.location.clone(), ..location.clone() };
        files.push(DataFile { rel, location: file_location, size: meta.size, partitions, footer: OnceLock::new() });
    }
    Ok(files)
}

/// `(relative path, size)` of the data files under a location, sorted by path.
pub fn data_file_sizes(location: &Location) -> Result<Vec<(String, u64)>> {
    let mut files: Vec<(String, u64)> = data_files(location)?.into_iter().map(|f| (f.rel, f.size)).collect();
    files.sort();
    Ok(files)
}

/// `_common_metadata`, else `_metadata`, in the dataset directory: `(name, bytes)`.
fn summary_file(location: &Location) -> Result<Option<(String, Vec<u8>)>> {
    for name in ["_common_metadata", "_metadata"] {
        if let Some(bytes) = storage::read_optional(&location.child(name))? {
            return Ok(Some((name.to_string(), bytes)));
        }
    }
    Ok(None)
}

/// The Unischema of the dataset at `url` (metadata, or inferred).
pub fn dataset_schema(url: &str, storage_options: &[(String, String)]) -> Result<Unischema> {
    Ok(Dataset::open(&[url.to_string()], storage_options)?.schema)
}

#[cfg(test)]
mod tests {
    use super::is_data_file;

    #[test]
    fn data_files_are_parquet_or_part_files_outside_hidden_paths() {
        for rel in ["part-00000-x.c000.snappy.parquet", "key=v/part-1.parquet", "a.parq", "part-00001"] {
            assert!(is_data_file(rel), "{rel}");
        }
        for rel in [
            "_SUCCESS",
            "_common_metadata",
            ".part-0.parquet.crc",
            "_temporary/0/part-0.parquet",
            "x/.hidden/a.parquet",
            "notes.txt",
            "part-0.crc",
        ] {
            assert!(!is_data_file(rel), "{rel}");
        }
    }
}
