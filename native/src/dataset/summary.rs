//! `_common_metadata` of a dataset on any store: its data files listed, their footers fetched
//! (two ranged reads each), the summary built ([`metadata::common_metadata`]) and written
//! atomically, so a reader sees the old summary or the new one, never none.

use futures::{StreamExt, TryStreamExt};

use super::discovery::data_file_sizes;
use super::metadata::{self, COMMON_METADATA};
use crate::error::{Error, Result};
use crate::schema::Unischema;
use crate::storage::{self, Location};

/// How many footers are fetched at once.
const CONCURRENCY: usize = 16;

/// Writes `<root>/_common_metadata` for the data files under `root` and `schema`; returns how
/// many data files it describes.
pub fn write_common_metadata(root: &Location, schema: &Unischema) -> Result<usize> {
    let files = data_file_sizes(root)?;
    let footers: Vec<Vec<u8>> = storage::block_on(
        futures::stream::iter(files.iter().map(|(rel, size)| footer(root, rel, *size)))
            .buffered(CONCURRENCY)
            .try_collect(),
    )?;
    let entries: Vec<(&str, &[u8])> =
        files.iter().zip(&footers).map(|((rel, _), f)| (rel.as_str(), f.as_slice())).collect();
    let bytes =
        metadata::common_metadata(schema, &entries).map_err(|e| e.context(format_args!("dataset '{}'", root.url)))?;
    storage::write_atomically(&root.child(COMMON_METADATA), bytes)?;
    Ok(files.len())
}

/// Sets `key` to `value` in `<root>/_common_metadata`, keeping its schema and every other key
/// (Unischema, row groups per file), and replaces the file atomically. A dataset without one
/// starts from `_metadata`, else from its first data file's footer, as upstream does. A stale
/// Hadoop checksum (`._common_metadata.crc`) is removed.
pub fn set_common_metadata_value(root: &Location, key: &str, value: &[u8]) -> Result<()> {
    let base = match storage::read_optional(&root.child(COMMON_METADATA))? {
        Some(bytes) => bytes,
        None => match storage::read_optional(&root.child("_metadata"))? {
            Some(bytes) => bytes,
            None => {
                let files = data_file_sizes(root)?;
                let (rel, size) =
                    files.first().ok_or_else(|| Error::no_data(format!("no Parquet files found at {}", root.url)))?;
                storage::block_on(footer(root, rel, *size))?
            }
        },
    };
    let bytes = metadata::with_key_value(&base, key, value)
        .map_err(|e| e.context(format_args!("dataset '{}': setting '{key}'", root.url)))?;
    storage::write_atomically(&root.child(COMMON_METADATA), bytes)?;
    storage::delete_recursive(&root.child("._common_metadata.crc"))?;
    Ok(())
}

/// The footer (last `footer length + 8` bytes) of the Parquet file at `file`.
pub fn file_footer(file: &Location) -> Result<Vec<u8>> {
    let size = storage::block_on(file.store.head(&file.path))
        .map_err(|e| Error::io(format!("reading '{}': {e}", file.url)))?
        .size;
    storage::block_on(footer(file, "", size))
}

/// The last `footer length + 8` bytes of the data file `rel` (of `size` bytes) under `root`.
async fn footer(root: &Location, rel: &str, size: u64) -> Result<Vec<u8>> {
    let file = root.join(rel);
    let fetch = |range: std::ops::Range<u64>| {
        let file = &file;
        async move {
            file.store.get_range(&file.path, range).await.map_err(|e| Error::io(format!("reading '{}': {e}", file.url)))
        }
    };
    if size < 12 {
        return Err(Error::metadata(format!("file '{}' is too short to be Parquet ({size} bytes)", file.url)));
    }
    let len = metadata::parquet_footer_len(&fetch(size - 8..size).await?)
        .map_err(|e| e.context(format_args!("file '{}'", file.url)))?;
    let start = size.checked_sub(len + 8).ok_or_else(|| {
        Error::metadata(format!("file '{}': footer length {len} exceeds the file size {size}", file.url))
    })?;
    Ok(fetch(start..size).await?.to_vec())
}
