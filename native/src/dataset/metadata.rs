//! Dataset metadata: the Hadoop settings `materialize_dataset` writes under, Parquet
//! footers, and the footer-only `_common_metadata` file holding the Unischema.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::Schema;
use parquet::arrow::{parquet_to_arrow_schema, ArrowWriter};
use parquet::file::metadata::{KeyValue, ParquetMetaData, ParquetMetaDataReader};

use super::footer_kv::key_values;
use crate::error::{Error, Result};
use crate::schema::{pickle, pickle_read, Unischema};

/// Key of the pickled Unischema (upstream's format).
/// The summary file of a dataset.
pub const COMMON_METADATA: &str = "_common_metadata";

pub const UNISCHEMA_PICKLE_KEY: &str = "dataset-toolkit.unischema.v1";
/// Key of the Unischema JSON (ours; read first when present).
pub const UNISCHEMA_JSON_KEY: &str = "dataset-toolkit.unischema.json.v1";
/// Key of the JSON `{relative path: row-group count}`.
pub const ROW_GROUPS_PER_FILE_KEY: &str = "dataset-toolkit.num_row_groups_per_file.v1";
/// Key of the Arrow schema that Arrow writers embed.
const ARROW_SCHEMA_KEY: &str = "ARROW:schema";

const MAGIC: &[u8; 4] = b"PAR1";

/// Hadoop settings for the duration of `materialize_dataset`: the row-group size (when given,
/// in MiB), no summary files, and row-count checks early enough for small row groups.
pub fn writer_hadoop_conf(row_group_size_mb: Option<i64>) -> Vec<(String, String)> {
    let block_size = row_group_size_mb.map(|mb| ("parquet.block.size", (mb * 1024 * 1024).to_string()));
    block_size
        .into_iter()
        .chain(
            [
                ("parquet.summary.metadata.level", "NONE"),
                ("parquet.enable.summary-metadata", "false"),
                ("parquet.summary.metadata.propagate-errors", "true"),
                ("parquet.block.size.row.check.min", "3"),
                ("parquet.row-group.size.row.check.min", "3"),
            ]
            .map(|(k, v)| (k, v.to_string())),
        )
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// The footer length announced by the last 8 bytes of a Parquet file (`tail`'s last 8 bytes).
pub fn parquet_footer_len(tail: &[u8]) -> Result<u64> {
    let tail: &[u8; 8] = tail
        .len()
        .checked_sub(8)
        .and_then(|start| tail[start..].try_into().ok())
        .ok_or_else(|| Error::metadata(format!("a Parquet file ends with 8 bytes, got {}", tail.len())))?;
    if &tail[4..] != MAGIC {
        return Err(Error::metadata("not a Parquet file (no PAR1 magic at its end)"));
    }
    Ok(u32::from_le_bytes(tail[..4].try_into().expect("4 bytes")).into())
}

/// The serialized `FileMetaData` at the end of `bytes` (a footer, or a whole file).
fn footer_thrift(bytes: &[u8]) -> Result<&[u8]> {
    let len = usize::try_from(parquet_footer_len(bytes)?).ok();
    let start = len.and_then(|len| bytes.len().checked_sub(len.checked_add(8)?));
    let start = start.ok_or_else(|| Error::metadata("truncated Parquet footer"))?;
    Ok(&bytes[start..bytes.len() - 8])
}

/// Decodes a footer (the last `footer_len + 8` bytes of a Parquet file). parquet-rs rejects
/// key/value values that are not UTF-8 (upstream's pickles), so those are blanked first, in
/// a copy and at the same length: the decoded metadata is for the schema and row groups.
fn decode_footer(footer: &[u8]) -> Result<ParquetMetaData> {
    let mut meta = footer_thrift(footer)?.to_vec();
    for range in key_values(&meta)?.into_iter().filter_map(|kv| kv.value) {
        if std::str::from_utf8(&meta[range.clone()]).is_err() {
            meta[range].fill(b'?');
        }
    }
    ParquetMetaDataReader::decode_metadata(&meta).map_err(|e| Error::metadata(format!("invalid Parquet footer: {e}")))
}

/// The key/value metadata of a footer (or a whole Parquet file), values as raw bytes
/// (the pickle upstream stores is not UTF-8).
pub fn key_value_metadata(footer: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let meta = footer_thrift(footer)?;
    Ok(key_values(meta)?.into_iter().map(|kv| (kv.key, kv.value.map_or_else(Vec::new, |r| meta[r].to_vec()))).collect())
}

/// The bytes of `_common_metadata` for a dataset of `files` (relative path, footer bytes):
/// a footer-only Parquet file with the first file's schema and key/value metadata, plus the
/// Unischema (pickle and JSON) and the row-group count of every file.
pub fn common_metadata(schema: &Unischema, files: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let (first_path, first_footer) = files.first().ok_or_else(|| Error::metadata("no Parquet files in the dataset"))?;
    let footers =
        files.iter().map(|(path, footer)| decode_footer(footer).map_err(in_file(path))).collect::<Result<Vec<_>>>()?;
    let file_meta = footers[0].file_metadata();
    let arrow_schema = parquet_to_arrow_schema(file_meta.schema_descr(), file_meta.key_value_metadata())
        .map_err(|e| Error::metadata(format!("file '{first_path}': unsupported Parquet schema: {e}")))?;
    check_columns(schema, &arrow_schema, files)?;

    let counts: serde_json::Map<_, _> =
        files.iter().zip(&footers).map(|((path, _), md)| (path.to_string(), md.num_row_groups().into())).collect();
    let ours = [
        (UNISCHEMA_PICKLE_KEY.to_string(), pickle::to_pickle(schema)),
        (UNISCHEMA_JSON_KEY.to_string(), schema.to_json().into_bytes()),
        (ROW_GROUPS_PER_FILE_KEY.to_string(), serde_json::Value::Object(counts).to_string().into_bytes()),
    ];
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for (key, value) in key_value_metadata(first_footer).map_err(in_file(first_path))? {
        let replaced = key == ARROW_SCHEMA_KEY || ours.iter().any(|(k, _)| *k == key);
        if !replaced && entries.iter().all(|(k, _)| *k != key) {
            entries.push((key, value));
        }
    }
    entries.extend(ours);
    footer_only_file(Schema::new(arrow_schema.fields().clone()), entries)
}

/// The Arrow schema of a footer or whole Parquet file. An embedded `ARROW:schema` that arrow-rs
/// refuses is ignored (with a warning) for the Parquet schema's own mapping: pyarrow embeds a
/// schema's metadata there, binary pickles included, as in a `_common_metadata` that upstream's
/// index writer rewrote.
pub fn arrow_schema(footer: &[u8]) -> Result<Schema> {
    let meta = decode_footer(footer)?;
    let file_meta = meta.file_metadata();
    parquet_to_arrow_schema(file_meta.schema_descr(), file_meta.key_value_metadata()).or_else(|e| {
        log::warn!("ignoring the embedded {ARROW_SCHEMA_KEY} of a Parquet footer: {e}");
        parquet_to_arrow_schema(file_meta.schema_descr(), None)
            .map_err(|e| Error::metadata(format!("unsupported Parquet schema: {e}")))
    })
}

/// A footer-only Parquet file with the schema and key/value metadata of `base` (a footer, or a
/// whole Parquet file such as `_common_metadata`) and `key` set to `value` (replaced in place,
/// else appended): how an extra entry such as a row-group index is added to a summary.
pub fn with_key_value(base: &[u8], key: &str, value: &[u8]) -> Result<Vec<u8>> {
    let arrow_schema = arrow_schema(base)?;
    let mut entries: Vec<(String, Vec<u8>)> =
        key_value_metadata(base)?.into_iter().filter(|(k, _)| k != ARROW_SCHEMA_KEY).collect();
    match entries.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value.to_vec(),
        None => entries.push((key.to_string(), value.to_vec())),
    }
    footer_only_file(Schema::new(arrow_schema.fields().clone()), entries)
}

/// Adds the file to an error's message.
fn in_file(path: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| e.context(format_args!("file '{path}'"))
}

/// Every Unischema field is a column of the first file, or a Hive partition key (`key=value/`).
fn check_columns(schema: &Unischema, arrow_schema: &Schema, files: &[(&str, &[u8])]) -> Result<()> {
    let is_partition_key = |name: &str| {
        files.iter().any(|(path, _)| {
            let dirs = path.split('/').rev().skip(1);
            dirs.filter_map(|d| d.split_once('=')).any(|(key, _)| key == name)
        })
    };
    match schema.fields().iter().find(|f| arrow_schema.field_with_name(&f.name).is_err() && !is_partition_key(&f.name))
    {
        Some(f) => Err(Error::metadata(format!(
            "field '{}' of schema {} has no column in the Parquet files",
            f.name,
            schema.name()
        ))),
        None => Ok(()),
    }
}

/// Writes a Parquet file with no row groups, `schema` (embedded as `ARROW:schema` too) and
/// the key/value `entries`.
///
/// parquet-rs holds key/value values as `String`s, so each non-UTF-8 value (the pickle) is
/// written as a placeholder of the same length and then copied over it in the footer.
fn footer_only_file(schema: Schema, entries: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>> {
    let write_error = |e: parquet::errors::ParquetError| Error::internal(format!("writing _common_metadata: {e}"));
    let mut writer = ArrowWriter::try_new(Vec::new(), Arc::new(schema), None).map_err(write_error)?;
    let mut binary = HashMap::new();
    for (key, value) in entries {
        let text = match String::from_utf8(value) {
            Ok(text) => text,
            Err(e) => {
                let value = e.into_bytes();
                let placeholder = "?".repeat(value.len());
                binary.insert(key.clone(), value);
                placeholder
            }
        };
        writer.append_key_value_metadata(KeyValue::new(key, text));
    }
    let mut file = writer.into_inner().map_err(write_error)?;
    let meta_start = file.len() - footer_thrift(&file)?.len() - 8;
    for kv in key_values(&file[meta_start..file.len() - 8])? {
        if let (Some(value), Some(range)) = (binary.get(&kv.key), kv.value) {
            file[meta_start + range.start..meta_start + range.end].copy_from_slice(value);
        }
    }
    Ok(file)
}

/// The Unischema stored in a whole `_common_metadata` (or any Parquet) file: our JSON when
/// present, else upstream's pickle (read with an allow-list, see `schema::pickle_read`).
pub fn schema_from_metadata(file_bytes: &[u8]) -> Result<Unischema> {
    let entries = key_value_metadata(file_bytes)?;
    let value = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    match (value(UNISCHEMA_JSON_KEY), value(UNISCHEMA_PICKLE_KEY)) {
        (Some(json), _) => {
            let json =
                std::str::from_utf8(json).map_err(|_| Error::metadata(format!("{UNISCHEMA_JSON_KEY} is not UTF-8")))?;
            Unischema::from_json(json).map_err(|e| Error::metadata(e.message()).context(UNISCHEMA_JSON_KEY))
        }
        (None, Some(pickled)) => {
            pickle_read::from_pickle(pickled).map_err(|e| Error::metadata(e.message()).context(UNISCHEMA_PICKLE_KEY))
        }
        (None, None) => Err(Error::metadata("no Unischema in the dataset metadata")),
    }
}
