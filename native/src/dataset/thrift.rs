//! A bounds-checked reader of the thrift compact protocol, the encoding of Parquet footers and
//! page headers. It allocates nothing, reports byte offsets, and turns any malformed input into
//! an error naming `what` was being read (never a panic).

use std::ops::Range;

use crate::error::{Error, Result};

/// Nesting limit for skipped values (real footers nest a few levels).
const MAX_DEPTH: usize = 64;

// Thrift compact protocol type ids.
pub const STOP: u8 = 0;
pub const TRUE: u8 = 1;
pub const FALSE: u8 = 2;
pub const BYTE: u8 = 3;
pub const I16: u8 = 4;
pub const I32: u8 = 5;
pub const I64: u8 = 6;
pub const DOUBLE: u8 = 7;
pub const BINARY: u8 = 8;
pub const LIST: u8 = 9;
pub const SET: u8 = 10;
pub const MAP: u8 = 11;
pub const STRUCT: u8 = 12;

/// Reads thrift compact values from `buf`, starting at `pos`.
pub struct Compact<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
    /// What is being read, for error messages (`Parquet footer`, `page header`).
    what: &'static str,
    /// The error kind of malformed input.
    error: fn(String) -> Error,
}

impl<'a> Compact<'a> {
    pub fn new(buf: &'a [u8], what: &'static str, error: fn(String) -> Error) -> Self {
        Compact { buf, pos: 0, what, error }
    }

    /// An error about corrupt input.
    pub fn corrupt(&self, why: &str) -> Error {
        (self.error)(format!("corrupt {}: {why}", self.what))
    }

    pub fn take(&mut self, n: usize) -> Result<Range<usize>> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(|| self.corrupt("truncated"))?;
        let range = self.pos..end;
        self.pos = end;
        Ok(range)
    }

    pub fn byte(&mut self) -> Result<u8> {
        let at = self.take(1)?.start;
        Ok(self.buf[at])
    }

    pub fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.corrupt("varint too long"))
    }

    /// A zigzag-encoded `i32`.
    pub fn i32(&mut self) -> Result<i32> {
        let z = self.varint()?;
        i32::try_from((z >> 1) as i64 ^ -((z & 1) as i64)).map_err(|_| self.corrupt("i32 out of range"))
    }

    pub fn binary(&mut self) -> Result<Range<usize>> {
        let len = usize::try_from(self.varint()?).map_err(|_| self.corrupt("length overflow"))?;
        self.take(len)
    }

    /// The next field's id and type, `None` at the struct's end.
    pub fn field_header(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>> {
        let b = self.byte()?;
        if b == STOP {
            return Ok(None);
        }
        let delta = i16::from(b >> 4);
        *last = match delta {
            0 => {
                let z = self.varint()?;
                i16::try_from((z >> 1) as i64 ^ -((z & 1) as i64)).map_err(|_| self.corrupt("field id"))?
            }
            d => last.checked_add(d).ok_or_else(|| self.corrupt("field id"))?,
        };
        Ok(Some((*last, b & 0x0f)))
    }

    pub fn list_header(&mut self) -> Result<(u64, u8)> {
        let b = self.byte()?;
        let count = match b >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        Ok((count, b & 0x0f))
    }

    /// Skips a value of type `ty` in a struct field (booleans carry no byte there).
    pub fn skip(&mut self, ty: u8, depth: usize) -> Result<()> {
        match ty {
            TRUE | FALSE => Ok(()),
            _ => self.skip_value(ty, depth),
        }
    }

    /// Skips a value of type `ty` (as a collection element: booleans take one byte).
    fn skip_value(&mut self, ty: u8, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(self.corrupt("nested too deeply"));
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
            _ => Err(self.corrupt("unknown thrift type")),
        }
    }
}
