//! Element conversions between numeric dtypes, as Spark columns need them: Spark has no
//! unsigned or half-precision types, so a `uint8` field is filled from `array<int>` (or
//! `smallint`, …) and decoded back into `array<smallint>`.
//!
//! Rules: integers convert to any integer type when every value fits (else a `Value` error
//! naming the first value that does not), integers and floats to any float type (rounded to
//! nearest), bools only to bools; floats never convert to integers, nor numbers to bools.

use std::borrow::Cow;

use half::f16;

use super::fmt_shape;
use crate::dtype::{ArrayDType, Kind};
use crate::error::{Error, Result};
use crate::schema::numpy_name;

/// One element, widened.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
    Bool(bool),
}

fn read(dtype: ArrayDType, b: &[u8]) -> Num {
    let mut le = [0u8; 8];
    le[..b.len()].copy_from_slice(b);
    if dtype.big_endian {
        le[..b.len()].reverse();
    }
    let u = u64::from_le_bytes(le);
    match (dtype.kind, dtype.itemsize) {
        (Kind::Bool, _) => Num::Bool(u != 0),
        (Kind::UInt, _) => Num::Int(u as i128),
        (Kind::Int, 1) => Num::Int(u as u8 as i8 as i128),
        (Kind::Int, 2) => Num::Int(u as u16 as i16 as i128),
        (Kind::Int, 4) => Num::Int(u as u32 as i32 as i128),
        (Kind::Int, _) => Num::Int(u as i64 as i128),
        (Kind::Float, 2) => Num::Float(f16::from_bits(u as u16).to_f64()),
        (Kind::Float, 4) => Num::Float(f32::from_bits(u as u32) as f64),
        (Kind::Float, _) => Num::Float(f64::from_bits(u)),
        (Kind::Unicode | Kind::Bytes, _) => unreachable!("string dtypes are refused before reading"),
    }
}

/// The integer range of an integer dtype.
fn int_range(dtype: ArrayDType) -> (i128, i128) {
    let bits = 8 * dtype.itemsize as u32;
    match dtype.kind {
        Kind::UInt => (0, (1i128 << bits) - 1),
        _ => (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1),
    }
}

fn write(to: ArrayDType, n: Num, out: &mut Vec<u8>) {
    match (n, to.kind, to.itemsize) {
        (Num::Bool(b), _, _) => out.push(b as u8),
        (Num::Int(i), Kind::Int | Kind::UInt, size) => out.extend_from_slice(&(i as u64).to_le_bytes()[..size]),
        (Num::Int(i), _, _) => write(to, Num::Float(i as f64), out),
        (Num::Float(f), _, 2) => out.extend_from_slice(&f16::from_f64(f).to_le_bytes()),
        (Num::Float(f), _, 4) => out.extend_from_slice(&(f as f32).to_le_bytes()),
        (Num::Float(f), _, _) => out.extend_from_slice(&f.to_le_bytes()),
    }
}

/// True when values of `from` can be stored as `to` (value ranges aside).
pub fn convertible(from: ArrayDType, to: ArrayDType) -> bool {
    use Kind::*;
    matches!((from.kind, to.kind), (Bool, Bool) | (Int | UInt, Int | UInt | Float) | (Float, Float))
}

/// `data` (elements of `from`, any byte order) as little-endian elements of `to`;
/// borrowed when nothing changes.
pub fn cast<'a>(data: &'a [u8], from: ArrayDType, to: ArrayDType) -> Result<Cow<'a, [u8]>> {
    let to = to.to_little_endian();
    if !convertible(from, to) {
        return Err(Error::value(format!("cannot convert {} values to {}", numpy_name(&from), numpy_name(&to))));
    }
    if !data.len().is_multiple_of(from.itemsize) {
        return Err(Error::value(format!(
            "{} bytes are not a whole number of {} elements",
            data.len(),
            numpy_name(&from)
        )));
    }
    let same_layout = from.kind == to.kind && from.itemsize == to.itemsize;
    if same_layout && (!from.big_endian || from.itemsize == 1) {
        return Ok(Cow::Borrowed(data));
    }
    let range = matches!(to.kind, Kind::Int | Kind::UInt).then(|| int_range(to));
    let mut out = Vec::with_capacity(data.len() / from.itemsize * to.itemsize);
    for (index, chunk) in data.chunks_exact(from.itemsize).enumerate() {
        let n = read(from, chunk);
        if let (Num::Int(i), Some((lo, hi))) = (n, range) {
            if i < lo || i > hi {
                return Err(Error::value(format!(
                    "value {i} at index {index} is out of range for {}",
                    numpy_name(&to)
                )));
            }
        }
        write(to, n, &mut out);
    }
    Ok(Cow::Owned(out))
}

/// Checks that a NumPy scalar (one element of `from`) can be stored as an integer of `to`
/// (`column` names its type in messages) the way Python's `int()` converts it (floats
/// truncate): a `Value` error for NaN, infinities and values out of `to`'s range. Values that
/// are not numbers pass.
pub fn check_integral_scalar(
    data: &[u8],
    from: ArrayDType,
    to: ArrayDType,
    column: impl std::fmt::Display,
) -> Result<()> {
    if data.len() != from.itemsize || !matches!(from.kind, Kind::Int | Kind::UInt | Kind::Float) {
        return Ok(());
    }
    let (lo, hi) = int_range(to);
    let (shown, fits) = match read(from, data) {
        Num::Int(i) => (i.to_string(), lo <= i && i <= hi),
        Num::Float(f) => (f.to_string(), f.is_finite() && lo as f64 <= f.trunc() && f.trunc() <= hi as f64),
        Num::Bool(_) => return Ok(()),
    };
    match fits {
        true => Ok(()),
        false => {
            Err(Error::value(format!("value {shown} does not fit Spark type {column} (integers from {lo} to {hi})")))
        }
    }
}

/// `Value` error unless `len` elements exactly fill `shape`.
pub fn check_count(len: usize, shape: &[usize]) -> Result<()> {
    let need = shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
    match need {
        Some(n) if n == len => Ok(()),
        _ => Err(Error::value(format!("{len} values do not fill shape {}", fmt_shape(shape.iter().map(|d| Some(*d)))))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> ArrayDType {
        ArrayDType::parse(s).unwrap()
    }

    #[test]
    fn integers_convert_when_they_fit() {
        let ints: Vec<u8> = [0i32, 17, 255].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(&*cast(&ints, dt("<i4"), dt("|u1")).unwrap(), &[0, 17, 255]);
        let wide: Vec<u8> = [0u16, 17, 255].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(&*cast(&ints, dt("<i4"), dt("<u2")).unwrap(), &wide[..]);
        let bad: Vec<u8> = [1i32, 256].iter().flat_map(|v| v.to_le_bytes()).collect();
        let e = cast(&bad, dt("<i4"), dt("|u1")).unwrap_err();
        assert_eq!(e.message(), "value 256 at index 1 is out of range for uint8");
        let neg = (-1i16).to_le_bytes();
        assert!(cast(&neg, dt("<i2"), dt("|u1")).unwrap_err().message().contains("value -1"));
        // uint8 decoded into Spark's smallint and back.
        let back = cast(&[200, 3], dt("|u1"), dt("<i2")).unwrap();
        assert_eq!(&*back, &[200, 0, 3, 0]);
        let max = u64::MAX.to_le_bytes();
        assert!(cast(&max, dt("<u8"), dt("<i8")).is_err());
        assert_eq!(&*cast(&max, dt("<u8"), dt("<u8")).unwrap(), &max);
    }

    #[test]
    fn floats_round_and_never_become_integers() {
        let d: Vec<u8> = [1.5f64, -2.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        let f: Vec<u8> = [1.5f32, -2.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(&*cast(&d, dt("<f8"), dt("<f4")).unwrap(), &f[..]);
        let h: Vec<u8> = [1.5f32, -2.25].iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect();
        assert_eq!(&*cast(&f, dt("<f4"), dt("<f2")).unwrap(), &h[..]);
        assert_eq!(&*cast(&h, dt("<f2"), dt("<f4")).unwrap(), &f[..]);
        let i = 3i64.to_le_bytes();
        assert_eq!(&*cast(&i, dt("<i8"), dt("<f4")).unwrap(), &3f32.to_le_bytes());
        assert_eq!(cast(&d, dt("<f8"), dt("|u1")).unwrap_err().message(), "cannot convert float64 values to uint8");
        assert!(cast(&[1], dt("|b1"), dt("|u1")).is_err());
        assert!(cast(&[1], dt("|u1"), dt("|b1")).is_err());
        assert_eq!(&*cast(&[1, 0], dt("|b1"), dt("|b1")).unwrap(), &[1, 0]);
    }

    #[test]
    fn byte_order_and_lengths() {
        let be = 258u16.to_be_bytes();
        assert_eq!(&*cast(&be, dt(">u2"), dt("<u2")).unwrap(), &258u16.to_le_bytes());
        assert!(matches!(cast(&[1, 2], dt("|u1"), dt("|u1")).unwrap(), Cow::Borrowed(_)));
        assert!(cast(&[1, 2, 3], dt("<i2"), dt("|u1")).is_err());
        assert!(check_count(6, &[2, 3]).is_ok());
        assert_eq!(check_count(5, &[2, 3]).unwrap_err().message(), "5 values do not fill shape (2, 3)");
    }
}
