//! Checks a row's values against the schema and encodes/decodes single cells by field.

use super::field_dtype::numpy_name;
use super::{Codec, Field, SparkType, Unischema};
use crate::codec::{self, fmt_shape, Tensor, TensorRef};
use crate::dtype::{ArrayDType, Kind};
use crate::error::{Error, ErrorKind, Result};

/// Checks a row's keys (`present`) and the keys whose value is None (`none`):
/// every non-nullable field present and not None, and no key outside the schema.
pub fn validate_row<S: AsRef<str>>(schema: &Unischema, present: &[S], none: &[S]) -> Result<()> {
    let has = |keys: &[S], name: &str| keys.iter().any(|k| k.as_ref() == name);
    if let Some(f) = schema.fields().iter().find(|f| !f.nullable && !has(present, &f.name)) {
        return Err(Error::value(format!("Field {} is not found in the row, but is not nullable", f.name)));
    }
    if let Some(k) = present.iter().find(|k| schema.field_by_name(k.as_ref()).is_none()) {
        return Err(Error::value(format!("Field '{}' is not in schema {}", k.as_ref(), schema.name())));
    }
    if let Some(f) = schema.fields().iter().find(|f| !f.nullable && has(none, &f.name)) {
        return Err(Error::value(format!("Field {} is not nullable, but got a None value", f.name)));
    }
    Ok(())
}

/// Checks one value against field `field_index` and encodes it by the field's codec.
///
/// `dtype` is NumPy's `value.dtype.str` (`decimal` for a decimal scalar, `O` for any other
/// non-array); `data` holds the raw elements in C order (Fortran order when `fortran`).
/// Scalar-column fields return an empty buffer: the binding converts the scalar itself.
pub fn encode_cell(
    schema: &Unischema,
    field_index: usize,
    dtype: &str,
    shape: &[usize],
    fortran: bool,
    data: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_cell_into(schema, field_index, (dtype, shape, fortran, data), &mut out)?;
    Ok(out)
}

/// A NumPy value as [`encode_cell`] takes it: `dtype.str`, shape, Fortran order, raw elements.
pub type NumpyValue<'a> = (&'a str, &'a [usize], bool, &'a [u8]);

/// [`encode_cell`], appending the cell to `out` (nothing for scalar-column fields). On an error
/// `out` may hold part of a cell: the caller drops it.
pub fn encode_cell_into(schema: &Unischema, field_index: usize, value: NumpyValue, out: &mut Vec<u8>) -> Result<()> {
    let field = schema.field(field_index)?;
    encode(field, value, out).map_err(|e| e.context(format_args!("field '{}'", field.name)))
}

fn encode(field: &Field, (dtype, shape, fortran, data): NumpyValue, out: &mut Vec<u8>) -> Result<()> {
    let array = || check_array(field, dtype, shape, fortran, data);
    match field.codec {
        None | Some(Codec::Scalar { .. }) => check_scalar(field, dtype, shape, data),
        Some(Codec::Ndarray) => codec::npy::encode_into(&array()?, out),
        Some(Codec::CompressedNdarray) => {
            out.extend_from_slice(&codec::npz::encode(&array()?)?); // a zip cannot start mid-buffer
            Ok(())
        }
        Some(Codec::CompressedImage { format, quality }) => codec::image::encode_into(&array()?, format, quality, out),
        Some(Codec::Custom { .. }) => Err(custom_in_python()),
    }
}

/// Upstream's array codec checks: an ndarray of the field's type and a compliant shape
/// (plus a buffer that holds exactly that array).
fn check_array<'a>(
    field: &Field,
    dtype: &str,
    shape: &'a [usize],
    fortran: bool,
    data: &'a [u8],
) -> Result<TensorRef<'a>> {
    if dtype == "O" || dtype == "decimal" {
        return Err(Error::type_error(format!(
            "Unexpected type of {} feature. Expected an ndarray of {}. Got {dtype}",
            field.name,
            field.dtype.name()
        )));
    }
    let array_dtype = ArrayDType::parse(dtype)?;
    if !field.dtype.matches(&array_dtype) {
        return Err(Error::value(format!(
            "Unexpected type of {} feature. Expected {}. Got {}",
            field.name,
            field.dtype.name(),
            numpy_name(&array_dtype)
        )));
    }
    if !shape_complies(shape, &field.shape) {
        return Err(Error::value(format!(
            "Unexpected dimensions of {} feature. Expected {}. Got {}",
            field.name,
            fmt_shape(field.shape.iter().copied()),
            fmt_shape(shape.iter().map(|d| Some(*d)))
        )));
    }
    let value = TensorRef { dtype: array_dtype, shape, fortran_order: fortran, data };
    value.check_len()?;
    Ok(value)
}

/// Upstream `ScalarCodec.encode` checks: a 0-d value, and a string for string columns; and a
/// number that fits integer columns (Spark would fail later without naming the field).
fn check_scalar(field: &Field, dtype: &str, shape: &[usize], data: &[u8]) -> Result<()> {
    if !shape.is_empty() {
        return Err(Error::type_error(format!(
            "expected a scalar for field '{}', got a value of shape {}",
            field.name,
            fmt_shape(shape.iter().map(|d| Some(*d)))
        )));
    }
    let parsed = || if dtype == "O" || dtype == "decimal" { None } else { ArrayDType::parse(dtype).ok() };
    let spark = field.spark_type()?;
    let integer = match spark {
        SparkType::Byte => 1,
        SparkType::Short => 2,
        SparkType::Integer => 4,
        SparkType::Long => 8,
        SparkType::String => {
            if parsed().is_none_or(|d| d.kind != Kind::Unicode) {
                return Err(Error::value(format!(
                    "Expected a string value for field {}. Got type {dtype}",
                    field.name
                )));
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    match parsed() {
        Some(from) => codec::cast::check_integral_scalar(data, from, ArrayDType::native(Kind::Int, integer), spark),
        None => Ok(()),
    }
}

/// Same rank, and every declared size equal (`None` matches any size).
fn shape_complies(shape: &[usize], declared: &[Option<usize>]) -> bool {
    shape.len() == declared.len() && shape.iter().zip(declared).all(|(s, d)| d.is_none_or(|d| d == *s))
}

/// Decodes the bytes of a binary-codec cell of field `field_index` into a C-order,
/// little-endian array checked against the field's dtype and shape.
/// Errors are `Decode` and name the field.
pub fn decode_cell(schema: &Unischema, field_index: usize, cell: &[u8]) -> Result<Tensor> {
    let field = schema.field(field_index)?;
    decode(field, cell).map_err(|e| e.context(format_args!("field '{}'", field.name)))
}

/// The bytes `cells` of a binary-codec field decode to: exact when the field fixes dtype and
/// shape, else the sum of what each cell's NPY/NPZ/image header announces (a header that
/// cannot be read counts 0: decoding it fails with the reason).
pub fn decoded_len<'a>(field: &Field, mut cells: impl ExactSizeIterator<Item = Option<&'a [u8]>>) -> u64 {
    let expect = field.dtype.expect(&field.shape);
    if let Some(fixed) = expect.as_ref().and_then(|e| e.fixed_byte_len()) {
        return (cells.len() as u64).saturating_mul(fixed as u64);
    }
    let announced: fn(&[u8]) -> Option<usize> = match field.codec {
        Some(Codec::Ndarray) => codec::npy::announced_len,
        Some(Codec::CompressedNdarray) => codec::npz::announced_len,
        Some(Codec::CompressedImage { .. }) => codec::image::announced_len,
        None | Some(Codec::Scalar { .. } | Codec::Custom { .. }) => return 0,
    };
    cells.try_fold(0u64, |sum, cell| sum.checked_add(cell.and_then(announced).unwrap_or(0) as u64)).unwrap_or(u64::MAX)
}

/// Custom codecs are the user's Python code: the binding calls their `encode`/`decode`.
fn custom_in_python() -> Error {
    Error::value("a custom codec encodes and decodes its cells in Python (codec.encode / codec.decode)")
}

fn decode(field: &Field, cell: &[u8]) -> Result<Tensor> {
    let not_binary = || Error::value("decode_cell needs a field with a binary codec");
    let expect = field.dtype.expect(&field.shape).ok_or_else(not_binary)?;
    let decoded = match field.codec {
        Some(Codec::Ndarray) => codec::npy::decode(cell, &expect),
        Some(Codec::CompressedNdarray) => codec::npz::decode(cell, &expect),
        Some(Codec::CompressedImage { .. }) => codec::image::decode(cell, &expect),
        None | Some(Codec::Scalar { .. }) => return Err(not_binary()),
        Some(Codec::Custom { .. }) => return Err(custom_in_python()),
    };
    decoded.map_err(|e| match e.kind() {
        ErrorKind::Decode | ErrorKind::Internal => e,
        _ => Error::decode(e.message()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_comply_by_rank_and_size() {
        assert!(shape_complies(&[4, 128], &[None, Some(128)]));
        assert!(!shape_complies(&[4, 127], &[None, Some(128)]));
        assert!(!shape_complies(&[4], &[None, Some(128)]));
    }
}
