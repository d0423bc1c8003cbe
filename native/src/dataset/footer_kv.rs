//! Locates the key/value metadata in a Parquet footer (thrift-compact `FileMetaData`).
//!
//! Hand-written because no crate fitted: parquet-rs decodes key/value values into Rust
//! `String`s and rejects the binary pickle upstream stores there, and the `thrift` crate's
//! reader neither reports offsets nor bounds its allocations. This walker allocates nothing
//! but the keys and returns where each value lies, so values can be read or patched in place.

use std::ops::Range;

use super::thrift::{Compact, BINARY, LIST, STRUCT};
use crate::error::{Error, Result};

/// One key/value entry: the key, and the byte range of its value in the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValueAt {
    pub key: String,
    pub value: Option<Range<usize>>,
}

/// `FileMetaData.key_value_metadata` is thrift field 5.
const KEY_VALUE_FIELD: i16 = 5;

/// The key/value entries of a serialized `FileMetaData` (the footer without its last 8 bytes).
pub fn key_values(meta: &[u8]) -> Result<Vec<KeyValueAt>> {
    let mut r = Compact::new(meta, "Parquet footer", Error::metadata);
    let mut entries = Vec::new();
    let mut last = 0;
    while let Some((id, ty)) = r.field_header(&mut last)? {
        if id != KEY_VALUE_FIELD || ty != LIST {
            r.skip(ty, 0)?;
            continue;
        }
        let (count, elem) = r.list_header()?;
        if elem != STRUCT {
            return Err(r.corrupt("key/value metadata is not a list of structs"));
        }
        for _ in 0..count {
            entries.push(key_value(&mut r)?);
        }
    }
    Ok(entries)
}

/// One `KeyValue` struct: its key and where its value lies.
fn key_value(r: &mut Compact<'_>) -> Result<KeyValueAt> {
    let (mut key, mut value, mut last) = (None, None, 0);
    while let Some((id, ty)) = r.field_header(&mut last)? {
        match (id, ty) {
            (1, BINARY) => key = Some(r.binary()?),
            (2, BINARY) => value = Some(r.binary()?),
            _ => r.skip(ty, 1)?,
        }
    }
    let key = key.ok_or_else(|| r.corrupt("key/value entry without a key"))?;
    let key = String::from_utf8_lossy(&r.buf[key]).into_owned();
    Ok(KeyValueAt { key, value })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::KeyValue;

    use super::*;

    /// The thrift `FileMetaData` of a small file with key/value metadata.
    fn footer() -> Vec<u8> {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, false)]));
        let mut w = ArrowWriter::try_new(Vec::new(), schema, None).unwrap();
        w.append_key_value_metadata(KeyValue::new("k1".into(), "v1".to_string()));
        w.append_key_value_metadata(KeyValue::new("k2".into(), None));
        let file = w.into_inner().unwrap();
        let len = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap()) as usize;
        file[file.len() - 8 - len..file.len() - 8].to_vec()
    }

    #[test]
    fn finds_keys_and_value_ranges() {
        let meta = footer();
        let kv = key_values(&meta).unwrap();
        let keys: Vec<&str> = kv.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["ARROW:schema", "k1", "k2"]);
        assert_eq!(&meta[kv[1].value.clone().unwrap()], b"v1");
        assert_eq!(kv[2].value, None);
    }

    #[test]
    fn truncated_or_garbled_footers_are_errors_not_panics() {
        let meta = footer();
        for end in 0..meta.len() {
            if let Err(e) = key_values(&meta[..end]) {
                assert_eq!(e.kind(), crate::error::ErrorKind::Metadata);
            }
        }
        let deep = [0x1cu8; 200]; // nested structs, never closed
        assert!(key_values(&deep).is_err());
        let mut flipped = meta.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0x5a;
            let _ = key_values(&flipped);
            flipped[i] ^= 0x5a;
        }
    }
}
