//! Unischema: fields, NumPy scalar dtypes, JSON and pickle forms, Spark type mapping, cell checks.

pub mod cell;
pub mod column;
mod field_dtype;
pub mod from_arrow;
pub mod pickle;
pub mod pickle_read;
mod spark;
mod unischema;

pub use cell::{decode_cell, decoded_len, encode_cell, validate_row};
pub use field_dtype::{numpy_name, FieldDType};
pub use spark::{SparkType, PYSPARK_DECIMAL_CLASS};
pub use unischema::{Codec, Field, Unischema};
