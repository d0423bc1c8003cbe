//! Locates the key/value metadata in a Parquet footer (thrift-compact `FileMetaData`).
//!
//! Hand-written because no crate fitted: parquet-rs decodes key/value values into Rust
//! `String`s and rejects the binary pickle upstream stores there, and the `thrift` crate's
//! reader neither reports offsets nor bounds its allocations. This walker allocates nothing
//! but the keys and returns where each value lies, so values can be read or patched in place.

use std::ops::Range;

use crate::error::{Error, Result};

/// One key/value entry: the key, and the byte range of its value in the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValueAt {
    pub key: String,
    pub value: Option<Range<usize>>,
}

/// `FileMetaData.key_value_metadata` is thrift field 5.
const KEY_VALUE_FIELD: i16 = 5;
/// Nesting limit for skipped values (real footers nest a few levels).
const MAX_DEPTH: usize = 64;

// Thrift compact protocol type ids.
const STOP: u8 = 0;
const TRUE: u8 = 1;
const FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;

/// The key/value entries of a serialized `FileMetaData` (the footer without its last 8 bytes).
pub fn key_values(meta: &[u8]) -> Result<Vec<KeyValueAt>> {
    let mut r = Reader { buf: meta, pos: 0 };
    let mut entries = Vec::new();
    let mut last = 0;
    while let Some((id, ty)) = r.field_header(&mut last)? {
        if id != KEY_VALUE_FIELD || ty != LIST {
            r.skip(ty, 0)?;
            continue;
        }
        let (count, elem) = r.list_header()?;
        if elem != STRUCT {
            return Err(corrupt("key/value metadata is not a list of structs"));
        }
        for _ in 0..count {
            entries.push(r.key_value()?);
        }
    }
    Ok(entries)
}

fn corrupt(what: &str) -> Error {
    Error::metadata(format!("corrupt Parquet footer: {what}"))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<Range<usize>> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(|| corrupt("truncated"))?;
        let range = self.pos..end;
        self.pos = end;
        Ok(range)
    }

    fn byte(&mut self) -> Result<u8> {
        let at = self.take(1)?.start;
        Ok(self.buf[at])
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(corrupt("varint too long"))
    }

    fn binary(&mut self) -> Result<Range<usize>> {
        let len = usize::try_from(self.varint()?).map_err(|_| corrupt("length overflow"))?;
        self.take(len)
    }

    /// The next field's id and type, `None` at the struct's end.
    fn field_header(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>> {
        let b = self.byte()?;
        if b == STOP {
            return Ok(None);
        }
        let delta = i16::from(b >> 4);
        *last = match delta {
            0 => {
                let z = self.varint()?;
                i16::try_from((z >> 1) as i64 ^ -((z & 1) as i64)).map_err(|_| corrupt("field id"))?
            }
            d => last.checked_add(d).ok_or_else(|| corrupt("field id"))?,
        };
        Ok(Some((*last, b & 0x0f)))
    }

    fn list_header(&mut self) -> Result<(u64, u8)> {
        let b = self.byte()?;
        let count = match b >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        Ok((count, b & 0x0f))
    }

    fn key_value(&mut self) -> Result<KeyValueAt> {
        let (mut key, mut value, mut last) = (None, None, 0);
        while let Some((id, ty)) = self.field_header(&mut last)? {
            match (id, ty) {
                (1, BINARY) => key = Some(self.binary()?),
                (2, BINARY) => value = Some(self.binary()?),
                _ => self.skip(ty, 1)?,
            }
        }
        let key = key.ok_or_else(|| corrupt("key/value entry without a key"))?;
        let key = String::from_utf8_lossy(&self.buf[key]).into_owned();
        Ok(KeyValueAt { key, value })
    }

    /// Skips a value of type `ty` in a struct field (booleans carry no byte there).
    fn skip(&mut self, ty: u8, depth: usize) -> Result<()> {
        match ty {
            TRUE | FALSE => Ok(()),
            _ => self.skip_value(ty, depth),
        }
    }

    /// Skips a value of type `ty` (as a collection element: booleans take one byte).
    fn skip_value(&mut self, ty: u8, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(corrupt("nested too deeply"));
        }
        match ty {
            TRUE | FALSE | BYTE => self.take(1).map(drop),
            I16 | I32 | I64 => self.varint().map(drop),
            DOUBLE => self.take(8).map(drop),
            BINARY => self.binary().map(drop),
            LIST | SET => {
                let (count, elem) = self.list_header()?;
                (0..count).try_for_each(|_| self.skip_value(elem, depth + 1))
            }
            MAP => {
                let count = self.varint()?;
                if count == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                (0..count).try_for_each(|_| {
                    self.skip_value(types >> 4, depth + 1)?;
                    self.skip_value(types & 0x0f, depth + 1)
                })
            }
            STRUCT => {
                let mut last = 0;
                while let Some((_, ty)) = self.field_header(&mut last)? {
                    self.skip(ty, depth + 1)?;
                }
                Ok(())
            }
            _ => Err(corrupt("unknown thrift type")),
        }
    }
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
