//! NumPy array dtypes as they appear in NPY headers (`'<u1'`, `'|b1'`, `'>f8'`, `'<U11'`).

use crate::error::{Error, Result};

/// The kind letter of a NumPy dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `b`: numpy.bool_
    Bool,
    /// `i`: signed integers
    Int,
    /// `u`: unsigned integers
    UInt,
    /// `f`: IEEE floats (2, 4, 8 bytes)
    Float,
    /// `U`: fixed-width UCS-4 strings (numpy.str_)
    Unicode,
    /// `S`: fixed-width byte strings (numpy.bytes_)
    Bytes,
}

/// A concrete array dtype: kind, item size in bytes and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayDType {
    pub kind: Kind,
    /// Bytes per element (for `U`, 4 × the number of characters).
    pub itemsize: usize,
    /// True for `>` (big-endian) multi-byte types.
    pub big_endian: bool,
}

impl ArrayDType {
    /// A little-endian dtype (byte order is irrelevant for 1-byte and string kinds).
    pub fn native(kind: Kind, itemsize: usize) -> Self {
        ArrayDType { kind, itemsize, big_endian: false }
    }

    /// Parses a NumPy `descr` / `dtype.str` such as `'<f4'`, `'|u1'`, `'<U11'`, `'|S5'`, `'?'`.
    ///
    /// Accepted: an optional byte-order character (`<`, `>`, `|`, or `=`, which means
    /// little-endian here) followed by `b1` or `?` (bool), `i`/`u` + 1, 2, 4 or 8, `f` + 2, 4
    /// or 8, `U<n>` or `S<n>` (`U0`/`S0` are NumPy's unsized `str_`/`bytes_`). A size is
    /// required except for `?`. Object dtypes (`O`) are a `Type` error; anything else (`V`,
    /// `M`, `m`, `c`, odd sizes) is a `Value` error.
    /// `big_endian` is only set where byte order matters (multi-byte numbers and `U`).
    pub fn parse(descr: &str) -> Result<Self> {
        let (big, rest) = match descr.as_bytes().first() {
            Some(b'>') => (true, &descr[1..]),
            Some(b'<' | b'|' | b'=') => (false, &descr[1..]),
            _ => (false, descr),
        };
        let unsupported = || Error::value(format!("unsupported dtype '{descr}'"));
        let mut chars = rest.chars();
        let letter = chars.next().ok_or_else(unsupported)?;
        let size_text = chars.as_str();
        if letter == 'O' {
            return Err(Error::type_error(format!("object arrays are not supported (dtype '{descr}')")));
        }
        if letter == '?' && size_text.is_empty() {
            return Ok(Self::native(Kind::Bool, 1));
        }
        let size: usize = match size_text.bytes().all(|b| b.is_ascii_digit()) {
            true => size_text.parse().map_err(|_| unsupported())?,
            false => return Err(unsupported()),
        };
        let (kind, itemsize) = match (letter, size) {
            ('b', 1) => (Kind::Bool, 1),
            ('i', 1 | 2 | 4 | 8) => (Kind::Int, size),
            ('u', 1 | 2 | 4 | 8) => (Kind::UInt, size),
            ('f', 2 | 4 | 8) => (Kind::Float, size),
            ('U', _) => (Kind::Unicode, size.checked_mul(4).ok_or_else(unsupported)?),
            ('S', _) => (Kind::Bytes, size),
            _ => return Err(unsupported()),
        };
        let dtype = Self::native(kind, itemsize);
        Ok(ArrayDType { big_endian: big && dtype.swap_unit() > 1, ..dtype })
    }

    /// The `descr` string `numpy.save` writes for this dtype (e.g. `'<u1'` → `|u1`, `'<U11'`).
    pub fn descr(&self) -> String {
        let (letter, count) = match self.kind {
            Kind::Bool => ('b', self.itemsize),
            Kind::Int => ('i', self.itemsize),
            Kind::UInt => ('u', self.itemsize),
            Kind::Float => ('f', self.itemsize),
            Kind::Unicode => ('U', self.itemsize / 4),
            Kind::Bytes => ('S', self.itemsize),
        };
        let order = match (self.swap_unit() > 1, self.big_endian) {
            (false, _) => '|',
            (true, false) => '<',
            (true, true) => '>',
        };
        format!("{order}{letter}{count}")
    }

    /// The size of the units whose bytes a change of byte order reverses: the item size for
    /// numbers, 4 for UCS-4 strings, 1 where byte order does not apply (bool, 1-byte, `S`).
    pub fn swap_unit(&self) -> usize {
        match self.kind {
            Kind::Bool | Kind::Bytes => 1,
            Kind::Unicode => 4,
            Kind::Int | Kind::UInt | Kind::Float => self.itemsize,
        }
    }

    /// The same dtype in little-endian byte order.
    pub fn to_little_endian(self) -> Self {
        ArrayDType { big_endian: false, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn parses_and_formats_like_numpy() {
        for (input, descr) in [
            ("|b1", "|b1"),
            ("?", "|b1"),
            ("<b1", "|b1"),
            ("|u1", "|u1"),
            ("<u1", "|u1"),
            ("|i1", "|i1"),
            (">i1", "|i1"),
            ("|S5", "|S5"),
            (">S5", "|S5"),
            ("<U11", "<U11"),
            (">U2", ">U2"),
            ("<f4", "<f4"),
            (">f8", ">f8"),
            ("=u2", "<u2"),
            ("u2", "<u2"),
            ("<f2", "<f2"),
            (">i8", ">i8"),
            ("|f4", "<f4"),
            ("<u4", "<u4"),
            ("<U0", "<U0"),
            ("|S0", "|S0"),
        ] {
            assert_eq!(ArrayDType::parse(input).unwrap().descr(), descr, "{input}");
        }
        let u = ArrayDType::parse("<U11").unwrap();
        assert_eq!((u.kind, u.itemsize, u.big_endian), (Kind::Unicode, 44, false));
        assert!(ArrayDType::parse(">U1").unwrap().big_endian);
        assert!(!ArrayDType::parse(">u1").unwrap().big_endian);
    }

    #[test]
    fn rejects_unsupported() {
        assert_eq!(ArrayDType::parse("|O").unwrap_err().kind(), ErrorKind::Type);
        assert_eq!(ArrayDType::parse("O8").unwrap_err().kind(), ErrorKind::Type);
        for bad in [
            "",
            "<",
            "|V8",
            "<M8[ns]",
            "<m8",
            "<c8",
            "<f16",
            "<i3",
            "b",
            "<u",
            "<U",
            "S",
            "<f4 ",
            "<f+4",
            "<U99999999999999999999",
            "bool",
            "<é4",
        ] {
            assert_eq!(ArrayDType::parse(bad).unwrap_err().kind(), ErrorKind::Value, "{bad}");
        }
    }
}
