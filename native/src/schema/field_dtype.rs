//! The NumPy scalar type of a Unischema field (`numpy_dtype` upstream) and how array
//! dtypes are checked against it.

use serde::{Deserialize, Serialize};

use super::SparkType;
use crate::codec::Expect;
use crate::dtype::{ArrayDType, Kind};

/// A field's NumPy scalar type; JSON names as in `docs/ffi.md` (`int32`, `str`, `decimal`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldDType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float16,
    Float32,
    Float64,
    /// `numpy.str_`: unicode strings of any width.
    Str,
    /// `numpy.bytes_`: byte strings of any width.
    Bytes,
    /// `decimal.Decimal`: only stored through a scalar `DecimalType` column.
    Decimal,
    /// `numpy.datetime64`: Spark timestamps and dates (plain columns only).
    Datetime64,
}

impl FieldDType {
    /// The JSON name, which is also NumPy's name for the type (`uint8`, `float32`, `str`).
    pub fn name(self) -> &'static str {
        use FieldDType::*;
        match self {
            Bool => "bool",
            Int8 => "int8",
            Int16 => "int16",
            Int32 => "int32",
            Int64 => "int64",
            UInt8 => "uint8",
            UInt16 => "uint16",
            UInt32 => "uint32",
            UInt64 => "uint64",
            Float16 => "float16",
            Float32 => "float32",
            Float64 => "float64",
            Str => "str",
            Bytes => "bytes",
            Decimal => "decimal",
            Datetime64 => "datetime64",
        }
    }

    /// The array kind and item size this type stores as (`None` size: strings of any width);
    /// `None` for `decimal` and `datetime64`, which have no array form here.
    pub fn array_kind(self) -> Option<(Kind, Option<usize>)> {
        use FieldDType::*;
        Some(match self {
            Bool => (Kind::Bool, Some(1)),
            Int8 => (Kind::Int, Some(1)),
            Int16 => (Kind::Int, Some(2)),
            Int32 => (Kind::Int, Some(4)),
            Int64 => (Kind::Int, Some(8)),
            UInt8 => (Kind::UInt, Some(1)),
            UInt16 => (Kind::UInt, Some(2)),
            UInt32 => (Kind::UInt, Some(4)),
            UInt64 => (Kind::UInt, Some(8)),
            Float16 => (Kind::Float, Some(2)),
            Float32 => (Kind::Float, Some(4)),
            Float64 => (Kind::Float, Some(8)),
            Str => (Kind::Unicode, None),
            Bytes => (Kind::Bytes, None),
            Decimal | Datetime64 => return None,
        })
    }

    /// What a decoder must find for a field of this type and `shape`.
    pub fn expect(self, shape: &[Option<usize>]) -> Option<Expect<'_>> {
        self.array_kind().map(|(kind, itemsize)| Expect { kind, itemsize, shape })
    }

    /// True when an array of `dtype` holds values of this type: the same NumPy type,
    /// whatever the byte order and, for strings, the width.
    pub fn matches(self, dtype: &ArrayDType) -> bool {
        self.array_kind().is_some_and(|(kind, size)| kind == dtype.kind && size.is_none_or(|s| s == dtype.itemsize))
    }

    /// The Spark type `Unischema.as_spark_schema` picks for a codec-less scalar of this type.
    pub fn default_spark_type(self) -> Option<SparkType> {
        use FieldDType::*;
        Some(match self {
            Bool => SparkType::Boolean,
            Int8 => SparkType::Byte,
            UInt8 | Int16 => SparkType::Short,
            UInt16 | Int32 => SparkType::Integer,
            Int64 => SparkType::Long,
            Float32 => SparkType::Float,
            Float64 => SparkType::Double,
            Str => SparkType::String,
            Bytes => SparkType::Binary,
            Decimal => SparkType::Decimal { precision: 10, scale: 0 },
            Datetime64 => SparkType::Timestamp,
            UInt32 | UInt64 | Float16 => return None,
        })
    }
}

/// NumPy's name for an array dtype, as `str(value.dtype)` prints it (`float32`, `<U11`, `|S5`).
pub fn numpy_name(dtype: &ArrayDType) -> String {
    let bits = dtype.itemsize * 8;
    match dtype.kind {
        Kind::Bool => "bool".into(),
        Kind::Int => format!("int{bits}"),
        Kind::UInt => format!("uint{bits}"),
        Kind::Float => format!("float{bits}"),
        Kind::Unicode => format!("{}U{}", if dtype.big_endian { '>' } else { '<' }, dtype.itemsize / 4),
        Kind::Bytes => format!("|S{}", dtype.itemsize),
    }
}
