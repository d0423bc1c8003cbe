//! The operations of `docs/ffi.md` in the string/JSON forms both bindings pass across,
//! so that the C and JNI files only convert arguments and results.

use serde::Deserialize;

use crate::dataset::{converter_cache, discovery, metadata};
use crate::error::{Error, Result, KIND_TABLE};
use crate::schema::{validate_row, Unischema};
use crate::storage;

/// Names of the fields matching any regex of the JSON list `patterns_json`, as a JSON list.
pub fn match_fields(schema: &Unischema, patterns_json: &str) -> Result<String> {
    let patterns: Vec<String> = parse_json(patterns_json, "field patterns")?;
    let names: Vec<&str> = schema.match_fields(&patterns)?.into_iter().map(|f| f.name.as_str()).collect();
    Ok(serde_json::to_string(&names).expect("strings serialize"))
}

/// The row check JSON: the keys of the user's dict and those whose value is None (any JSON
/// value, so that a key that is not a string is reported as such).
#[derive(Deserialize)]
struct RowCheck {
    present: Vec<serde_json::Value>,
    #[serde(default)]
    none: Vec<serde_json::Value>,
}

/// Validates a row described by `{"present": [...], "none": [...]}`; a key that is not a
/// string is a `Type` error naming it.
pub fn validate_row_json(schema: &Unischema, row_json: &str) -> Result<()> {
    let row: RowCheck = parse_json(row_json, "row check")?;
    let names = |keys: &[serde_json::Value]| -> Result<Vec<String>> {
        keys.iter()
            .map(|k| match k {
                serde_json::Value::String(s) => Ok(s.clone()),
                other => Err(Error::type_error(format!(
                    "the row has a key {other} that is not a string: keys are the names of fields of schema {}",
                    schema.name()
                ))),
            })
            .collect()
    };
    validate_row(schema, &names(&row.present)?, &names(&row.none)?)
}

/// The Hadoop settings of `materialize_dataset` as a JSON object; `row_group_size_mb <= 0`
/// leaves the block size alone.
pub fn writer_hadoop_conf(row_group_size_mb: i64) -> String {
    let conf: serde_json::Map<String, serde_json::Value> =
        metadata::writer_hadoop_conf((row_group_size_mb > 0).then_some(row_group_size_mb))
            .into_iter()
            .map(|(k, v)| (k, v.into()))
            .collect();
    serde_json::Value::Object(conf).to_string()
}

/// A shape as the bindings pass it (signed 64-bit) → sizes; negative sizes are `Value` errors.
pub fn shape(dims: &[i64]) -> Result<Vec<usize>> {
    dims.iter().map(|&d| usize::try_from(d).map_err(|_| Error::value(format!("invalid array dimension {d}")))).collect()
}

/// A field index as the bindings pass it → index; negative is a `Value` error.
pub fn field_index(index: i64) -> Result<usize> {
    usize::try_from(index).map_err(|_| Error::value(format!("invalid field index {index}")))
}

/// The error table as JSON: `[{"code": 1, "kind": "Value", "python": "ValueError"}, ...]`.
pub fn error_table() -> String {
    let rows: Vec<_> = KIND_TABLE
        .iter()
        .map(|i| serde_json::json!({"code": i.c_code, "kind": format!("{:?}", i.kind), "python": i.python_name}))
        .collect();
    serde_json::Value::Array(rows).to_string()
}

fn parse_json<T: for<'de> Deserialize<'de>>(json: &str, what: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::value(format!("invalid {what} JSON: {e}")))
}

/// The persistent converter-cache key of key inputs as JSON ([`converter_cache::KeyInputs`]).
pub fn cache_key(inputs_json: &str) -> Result<String> {
    Ok(converter_cache::key(&parse_json(inputs_json, "converter cache key inputs")?))
}

/// A converter-cache marker for `files_json` (`[[relative path, length], ...]`).
pub fn cache_marker(key: &str, rows: u64, files_json: &str) -> Result<Vec<u8>> {
    Ok(converter_cache::marker(key, rows, &parse_json::<Vec<(String, u64)>>(files_json, "marker files")?))
}

/// The row count of a reusable cache directory (its marker's bytes, the data files present as
/// `[[relative path, length], ...]`), or -1 when the marker is not for `key` or the files differ.
pub fn cache_check_marker(marker: &[u8], key: &str, present_json: &str) -> Result<i64> {
    let present: Vec<(String, u64)> = parse_json(present_json, "present files")?;
    Ok(converter_cache::check_marker(marker, key, &present)?.map_or(-1, |rows| rows as i64))
}

/// `storage_options` as the bindings pass them: NULL/`None`, or a JSON object of strings.
pub fn storage_options(json: Option<&str>) -> Result<Vec<(String, String)>> {
    match json {
        None => Ok(Vec::new()),
        Some(json) => {
            Ok(parse_json::<std::collections::BTreeMap<String, String>>(json, "storage options")?.into_iter().collect())
        }
    }
}

/// Deletes the directory (or object) at `url` recursively; whether anything was there.
pub fn storage_delete(url: &str, options: Option<&str>) -> Result<bool> {
    storage::delete_recursive(&storage::open(url, &storage_options(options)?)?)
}

/// The bytes at `url`, or `None` when nothing is there.
pub fn storage_read(url: &str, options: Option<&str>) -> Result<Option<Vec<u8>>> {
    storage::read_optional(&storage::open(url, &storage_options(options)?)?)
}

/// The footer of the Parquet file at `url` (its last `footer length + 8` bytes).
pub fn storage_footer(url: &str, options: Option<&str>) -> Result<Vec<u8>> {
    crate::dataset::summary::file_footer(&storage::open(url, &storage_options(options)?)?)
}

/// The data files under the directory `url` as JSON `[[relative path, length], ...]`, sorted.
pub fn storage_data_files(url: &str, options: Option<&str>) -> Result<String> {
    let files = discovery::data_file_sizes(&storage::open(url, &storage_options(options)?)?)?;
    Ok(serde_json::to_string(&files).expect("pairs serialize"))
}

/// The data files of the dataset at `url` with their row-group counts, in piece order (the
/// numbering of row-group indexes and of the reader's `row_groups`): JSON `[[rel, count], ...]`.
pub fn dataset_pieces(url: &str, options: Option<&str>) -> Result<String> {
    let dataset = discovery::Dataset::open(&[url.to_string()], &storage_options(options)?)?;
    let counts = dataset.row_group_counts()?;
    let pieces: Vec<(&str, usize)> = dataset.files.iter().map(|f| f.rel.as_str()).zip(counts).collect();
    Ok(serde_json::to_string(&pieces).expect("pairs serialize"))
}

/// Sets `key` to `value` in the `_common_metadata` of the dataset at `url` (atomically).
pub fn dataset_set_metadata(url: &str, options: Option<&str>, key: &str, value: &[u8]) -> Result<()> {
    let root = storage::open(url, &storage_options(options)?)?;
    crate::dataset::summary::set_common_metadata_value(&root, key, value)
}

/// The value of `key` in the key/value metadata of a whole Parquet file (`None`: no such key).
pub fn metadata_value(file_bytes: &[u8], key: &str) -> Result<Option<Vec<u8>>> {
    Ok(metadata::key_value_metadata(file_bytes)?.into_iter().find(|(k, _)| k == key).map(|(_, v)| v))
}

/// The Unischema JSON inferred from an exported Arrow schema plus Hive partition keys (a JSON list).
pub fn unischema_from_arrow(schema: &arrow::ffi::FFI_ArrowSchema, partition_keys_json: &str) -> Result<String> {
    let keys: Vec<String> = parse_json(partition_keys_json, "partition keys")?;
    let schema =
        arrow::datatypes::Schema::try_from(schema).map_err(|e| Error::value(format!("not an Arrow schema: {e}")))?;
    Ok(crate::schema::from_arrow::unischema_from_arrow(&schema, &keys)?.to_json())
}
