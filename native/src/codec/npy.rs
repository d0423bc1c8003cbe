//! NPY files exactly as `numpy.save` writes them; reads v1/v2/v3, both endians, Fortran order.
//!
//! Written by hand rather than with `ndarray-npy`: that crate works on typed `ndarray`
//! arrays of numeric/bool elements only (no `U`/`S` strings, no `f2`), always writes
//! native-endian data, and offers no byte-identical round trip of big-endian or
//! Fortran-order headers; here arrays arrive as a runtime dtype plus raw bytes, and the
//! header is a few lines of text.

use std::borrow::Cow;

use super::{fmt_shape, is_c_contiguous, Expect, Tensor, TensorRef};
use crate::dtype::ArrayDType;
use crate::error::{Error, Result};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy aligns the data to this many bytes from the start of the file.
const ALIGN: usize = 64;
/// NumPy pads the header so the growth axis can reach this many digits in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Encodes `t` as `numpy.save` would (byte-identical: v1.0 header unless it needs v2.0).
///
/// As in NumPy, an array flagged Fortran-ordered whose layout is also C-contiguous (at most
/// one dimension above 1, or empty) is written with `'fortran_order': False`.
pub fn encode(t: &TensorRef) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_into(t, &mut out)?;
    Ok(out)
}

/// [`encode`], appending to `out`.
pub fn encode_into(t: &TensorRef, out: &mut Vec<u8>) -> Result<()> {
    t.check_len()?;
    let header = header(t.dtype, t.shape, t.fortran_order);
    out.reserve(header.len() + t.data.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(t.data);
    Ok(())
}

/// The bytes `numpy.save` writes before the data of an array of this dtype, shape and order
/// (magic, version, padded header). Every cell of
/// a fixed-shape field starts with the same header, which lets readers skip parsing it.
pub fn header(dtype: ArrayDType, shape: &[usize], fortran_order: bool) -> Vec<u8> {
    let fortran = fortran_order && !is_c_contiguous(shape);
    let shape_text = fmt_shape(shape.iter().map(|d| Some(*d)));
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': {}, 'shape': {shape_text}, }}",
        dtype.descr(),
        if fortran { "True" } else { "False" },
    );
    let growth_axis = if fortran { shape.last() } else { shape.first() };
    if let Some(dim) = growth_axis {
        let digits = dim.to_string().len();
        header.extend(std::iter::repeat_n(' ', GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    preamble(&header)
}

/// Magic, version, header length and the header padded with spaces and `\n` so the data
/// starts at a multiple of [`ALIGN`]; version 2.0 when the length does not fit 16 bits.
fn preamble(header: &str) -> Vec<u8> {
    let text_len = header.len() + 1; // the final '\n'
    let padded = |len_field: usize| {
        let unpadded = MAGIC.len() + 2 + len_field + text_len;
        text_len + ALIGN - unpadded % ALIGN
    };
    let (version, len_bytes) = match u16::try_from(padded(2)) {
        Ok(len) => (1, len.to_le_bytes().to_vec()),
        Err(_) => (2, (padded(4) as u32).to_le_bytes().to_vec()),
    };
    let total = MAGIC.len() + 2 + len_bytes.len() + padded(len_bytes.len());
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(header.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    out
}

/// Decodes NPY bytes, checking dtype, shape and payload length against `expect` before allocating.
///
/// The result is always C-ordered and little-endian (big-endian numbers and UCS-4 strings are
/// byte-swapped, Fortran-order data is transposed).
pub fn decode(bytes: &[u8], expect: &Expect) -> Result<Tensor> {
    let (header, payload) = split(bytes)?;
    let header = Header::parse(&header)?;
    expect.check_dtype(header.dtype)?;
    expect.check_shape(&header.shape)?;
    let view =
        TensorRef { dtype: header.dtype, shape: &header.shape, fortran_order: header.fortran_order, data: payload };
    let data = view
        .c_order_le()
        .map_err(|e| Error::decode(format!("NPY header does not match its data: {}", e.message())))?
        .into_owned();
    Ok(Tensor { dtype: header.dtype.to_little_endian(), fortran_order: false, data, shape: header.shape })
}

/// The data size the header of an NPY file (`prefix`: at least its header) announces, for
/// memory budgets; `None` when the header cannot be read (decoding then reports why).
pub fn announced_len(prefix: &[u8]) -> Option<usize> {
    let (text, _) = split(prefix).ok()?;
    let header = Header::parse(&text).ok()?;
    super::byte_len(header.dtype, &header.shape)
}

/// How many bytes of an NPY file precede its data, from its first [`PREAMBLE_MAX`] bytes.
pub fn header_end(preamble: &[u8]) -> Option<usize> {
    let rest = preamble.strip_prefix(MAGIC)?;
    match rest {
        [1, _, a, b, ..] => Some(10 + u16::from_le_bytes([*a, *b]) as usize),
        [2 | 3, _, a, b, c, d, ..] => Some(12 + u32::from_le_bytes([*a, *b, *c, *d]) as usize),
        _ => None,
    }
}

/// The longest NPY preamble: magic, version and a 4-byte header length.
pub const PREAMBLE_MAX: usize = 12;

/// Splits an NPY file into its header text and its data bytes.
fn split(bytes: &[u8]) -> Result<(Cow<'_, str>, &[u8])> {
    let truncated = || Error::decode(format!("not an NPY file or truncated ({} bytes)", bytes.len()));
    let rest = bytes.strip_prefix(MAGIC).ok_or_else(truncated)?;
    let (&[major, _minor], rest) = rest.split_first_chunk::<2>().ok_or_else(truncated)?;
    let (len, rest) = match major {
        1 => rest.split_first_chunk::<2>().map(|(l, r)| (u16::from_le_bytes(*l) as usize, r)),
        2 | 3 => rest.split_first_chunk::<4>().map(|(l, r)| (u32::from_le_bytes(*l) as usize, r)),
        _ => return Err(Error::decode(format!("unsupported NPY format version {major}"))),
    }
    .ok_or_else(truncated)?;
    let (header, payload) = rest.split_at_checked(len).ok_or_else(truncated)?;
    let text = match (major, std::str::from_utf8(header)) {
        (_, Ok(text)) => Cow::Borrowed(text),
        (3, Err(_)) => return Err(Error::decode("NPY v3 header is not UTF-8")),
        // v1/v2 headers are latin-1.
        (_, Err(_)) => Cow::Owned(header.iter().map(|b| char::from(*b)).collect()),
    };
    Ok((text, payload))
}

/// The three entries of an NPY header dict.
#[derive(Debug)]
struct Header {
    dtype: ArrayDType,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl Header {
    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` (any key order,
    /// either quote style, optional trailing commas, surrounding whitespace).
    fn parse(text: &str) -> Result<Self> {
        let bad = |what: &str| Error::decode(format!("invalid NPY header ({what}): {:.200}", text.trim_end()));
        let mut parser = literal::Parser::new(text);
        let dict = match parser.value(0).and_then(|v| parser.end().map(|_| v)) {
            Ok(literal::Value::Dict(entries)) => entries,
            Ok(_) => return Err(bad("not a dict")),
            Err(e) => return Err(bad(&e)),
        };
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        for (key, value) in dict {
            let slot = match key {
                literal::Value::Str(k) if k == "descr" => &mut descr,
                literal::Value::Str(k) if k == "fortran_order" => &mut fortran_order,
                literal::Value::Str(k) if k == "shape" => &mut shape,
                other => return Err(bad(&format!("unexpected key {other:?}"))),
            };
            if slot.replace(value).is_some() {
                return Err(bad("duplicate key"));
            }
        }
        let dtype = match descr {
            Some(literal::Value::Str(d)) => {
                ArrayDType::parse(&d).map_err(|e| Error::decode(format!("NPY dtype: {}", e.message())))?
            }
            Some(literal::Value::List(_)) => return Err(Error::decode("structured NPY dtypes are not supported")),
            _ => return Err(bad("'descr' missing or not a string")),
        };
        let fortran_order = match fortran_order {
            Some(literal::Value::Bool(b)) => b,
            _ => return Err(bad("'fortran_order' missing or not a bool")),
        };
        let shape = match shape {
            Some(literal::Value::Tuple(dims)) => dims
                .into_iter()
                .map(|d| match d {
                    literal::Value::Int(n) => usize::try_from(n).map_err(|_| bad("dimension too large")),
                    _ => Err(bad("'shape' holds a non-integer")),
                })
                .collect::<Result<Vec<_>>>()?,
            _ => return Err(bad("'shape' missing or not a tuple")),
        };
        Ok(Header { dtype, fortran_order, shape })
    }
}

/// The subset of Python literals found in NPY headers: dicts, lists, tuples, strings,
/// non-negative integers (Python 2's `L` suffix allowed), `True`, `False`, `None`.
mod literal {
    use std::borrow::Cow;

    /// Nesting deeper than this is refused (NPY headers nest two levels, three for structured dtypes).
    const MAX_DEPTH: usize = 16;

    #[derive(Debug, PartialEq)]
    pub enum Value<'a> {
        Str(Cow<'a, str>),
        Int(u64),
        Bool(bool),
        None,
        Tuple(Vec<Value<'a>>),
        List(Vec<Value<'a>>),
        Dict(Vec<(Value<'a>, Value<'a>)>),
    }

    /// A recursive-descent parser over the header text; errors are short descriptions.
    pub struct Parser<'a> {
        text: &'a str,
        pos: usize,
    }

    type Parsed<T> = Result<T, String>;

    impl<'a> Parser<'a> {
        pub fn new(text: &'a str) -> Self {
            Parser { text, pos: 0 }
        }

        /// Succeeds when only whitespace is left.
        pub fn end(&mut self) -> Parsed<()> {
            match self.peek() {
                None => Ok(()),
                Some(c) => Err(format!("unexpected {c:?} after the dict")),
            }
        }

        /// Parses one value at nesting level `depth`.
        pub fn value(&mut self, depth: usize) -> Parsed<Value<'a>> {
            if depth > MAX_DEPTH {
                return Err("nested too deeply".into());
            }
            match self.peek().ok_or("unexpected end")? {
                '{' => self.dict(depth),
                '(' => self.sequence(')', depth).map(|(items, comma)| match (items.len(), comma) {
                    // `(x)` is just x in Python.
                    (1, false) => items.into_iter().next().unwrap_or(Value::None),
                    _ => Value::Tuple(items),
                }),
                '[' => self.sequence(']', depth).map(|(items, _)| Value::List(items)),
                '\'' | '"' => self.string(),
                'u' if matches!(self.rest()[1..].chars().next(), Some('\'' | '"')) => {
                    self.pos += 1;
                    self.string()
                }
                '0'..='9' => self.int(),
                _ => self.word(),
            }
        }

        fn rest(&self) -> &'a str {
            &self.text[self.pos..]
        }

        /// The next non-whitespace character, without consuming it.
        fn peek(&mut self) -> Option<char> {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start().len();
            self.rest().chars().next()
        }

        fn eat(&mut self, c: char) -> bool {
            let found = self.peek() == Some(c);
            if found {
                self.pos += c.len_utf8();
            }
            found
        }

        /// Items up to `close` (the opening bracket not yet consumed); also says whether a
        /// comma was seen.
        fn sequence(&mut self, close: char, depth: usize) -> Parsed<(Vec<Value<'a>>, bool)> {
            self.pos += 1;
            let mut items = Vec::new();
            let mut comma = false;
            while !self.eat(close) {
                items.push(self.value(depth + 1)?);
                if self.eat(',') {
                    comma = true;
                } else if !self.eat(close) {
                    return Err(format!("expected ',' or '{close}'"));
                } else {
                    break;
                }
            }
            Ok((items, comma))
        }

        fn dict(&mut self, depth: usize) -> Parsed<Value<'a>> {
            self.pos += 1;
            let mut entries = Vec::new();
            while !self.eat('}') {
                let key = self.value(depth + 1)?;
                if !self.eat(':') {
                    return Err("expected ':'".into());
                }
                entries.push((key, self.value(depth + 1)?));
                if !self.eat(',') {
                    if !self.eat('}') {
                        return Err("expected ',' or '}'".into());
                    }
                    break;
                }
            }
            Ok(Value::Dict(entries))
        }

        /// A quoted string; a backslash keeps the next character literally.
        fn string(&mut self) -> Parsed<Value<'a>> {
            let rest = self.rest();
            let mut chars = rest.char_indices();
            let quote = chars.next().map(|(_, c)| c).ok_or("unexpected end")?;
            let mut escaped: Option<String> = None;
            let mut start = quote.len_utf8();
            while let Some((i, c)) = chars.next() {
                if c == quote {
                    self.pos += i + 1;
                    return Ok(Value::Str(match escaped {
                        None => Cow::Borrowed(&rest[start..i]),
                        Some(mut s) => {
                            s.push_str(&rest[start..i]);
                            Cow::Owned(s)
                        }
                    }));
                }
                if c == '\\' {
                    let s = escaped.get_or_insert_with(String::new);
                    s.push_str(&rest[start..i]);
                    let (j, next) = chars.next().ok_or("unterminated string")?;
                    s.push(next);
                    start = j + next.len_utf8();
                }
            }
            Err("unterminated string".into())
        }

        fn int(&mut self) -> Parsed<Value<'a>> {
            let rest = self.rest();
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let n = rest[..digits].parse().map_err(|_| "integer too large")?;
            self.pos += digits;
            if matches!(self.rest().chars().next(), Some('L' | 'l')) {
                self.pos += 1;
            }
            Ok(Value::Int(n))
        }

        fn word(&mut self) -> Parsed<Value<'a>> {
            let rest = self.rest();
            let len = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_').len();
            let value = match &rest[..len] {
                "True" => Value::Bool(true),
                "False" => Value::Bool(false),
                "None" => Value::None,
                _ => return Err(format!("unexpected {:?}", rest.chars().next().unwrap_or(' '))),
            };
            self.pos += len;
            Ok(value)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn parse(text: &str) -> Parsed<Value<'_>> {
            let mut p = Parser::new(text);
            let v = p.value(0)?;
            p.end().map(|_| v)
        }

        #[test]
        fn parses_header_literals() {
            use Value::*;
            assert_eq!(parse("()"), Ok(Tuple(vec![])));
            assert_eq!(parse("(5,)"), Ok(Tuple(vec![Int(5)])));
            assert_eq!(parse("(5)"), Ok(Int(5)));
            assert_eq!(parse(" ( 3L , 4 ) \n"), Ok(Tuple(vec![Int(3), Int(4)])));
            assert_eq!(parse(r#""a\"b""#), Ok(Str("a\"b".into())));
            assert_eq!(parse("u'<f4'"), Ok(Str("<f4".into())));
            assert_eq!(
                parse("{'a': [True, None], \"b\": False,}"),
                Ok(Dict(vec![(Str("a".into()), List(vec![Bool(true), None])), (Str("b".into()), Bool(false))]))
            );
            for bad in [
                "",
                "{",
                "{'a' 1}",
                "(1 2)",
                "'abc",
                "'ab\\",
                "-1",
                "1.5",
                "true",
                "{'a': 1} x",
                "99999999999999999999999",
                "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
                "u",
                "é",
            ] {
                assert!(parse(bad).is_err(), "{bad:?}");
            }
        }
    }
}
