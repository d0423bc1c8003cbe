//! The buffered values of one column, appended and rolled back per row, and handed to the
//! Parquet encoder as Arrow arrays.

use std::mem;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, Int8Array,
    StringArray,
};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::DataType;

use crate::error::{Error, Result};
use crate::schema::{Field, SparkType};

/// A value put into a cell, before conversion to its column's type.
#[derive(Clone, Copy)]
pub(super) enum Value<'a> {
    Bool(bool),
    Long(i64),
    Double(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
}

impl Value<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "boolean",
            Value::Long(_) => "long",
            Value::Double(_) => "double",
            Value::Str(_) => "string",
            Value::Bytes(_) => "binary",
        }
    }
}

/// One column's values of the buffered rows (nulls hold a default value).
enum Values {
    Bool(Vec<bool>),
    Int8(Vec<i8>),
    Int16(Vec<i16>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Float32(Vec<f32>),
    Float64(Vec<f64>),
    Utf8(Vec<i32>, Vec<u8>),
    Binary(Vec<i32>, Vec<u8>),
}

/// Evaluates `$fixed` with `$v` bound to a fixed-width variant's vector, or `$var` with `$o, $d`
/// bound to a variable-width variant's offsets and data.
macro_rules! each {
    ($values:expr, $v:ident => $fixed:expr, ($o:ident, $d:ident) => $var:expr) => {
        match $values {
            Values::Bool($v) => $fixed,
            Values::Int8($v) => $fixed,
            Values::Int16($v) => $fixed,
            Values::Int32($v) => $fixed,
            Values::Int64($v) => $fixed,
            Values::Float32($v) => $fixed,
            Values::Float64($v) => $fixed,
            Values::Utf8($o, $d) | Values::Binary($o, $d) => $var,
        }
    };
}

impl Values {
    /// Empty values and the Arrow type of a column of `spark_type` (`None`: not written natively).
    fn of(spark_type: SparkType) -> Option<(Values, DataType)> {
        let bytes = || Vec::from([0]);
        Some(match spark_type {
            SparkType::Boolean => (Values::Bool(Vec::new()), DataType::Boolean),
            SparkType::Byte => (Values::Int8(Vec::new()), DataType::Int8),
            SparkType::Short => (Values::Int16(Vec::new()), DataType::Int16),
            SparkType::Integer => (Values::Int32(Vec::new()), DataType::Int32),
            SparkType::Long => (Values::Int64(Vec::new()), DataType::Int64),
            SparkType::Float => (Values::Float32(Vec::new()), DataType::Float32),
            SparkType::Double => (Values::Float64(Vec::new()), DataType::Float64),
            SparkType::String => (Values::Utf8(bytes(), Vec::new()), DataType::Utf8),
            SparkType::Binary => (Values::Binary(bytes(), Vec::new()), DataType::Binary),
            SparkType::Date | SparkType::Timestamp | SparkType::Decimal { .. } => return None,
        })
    }

    /// Appends `value` converted to this column's type (`spark_type`, for messages).
    fn push(&mut self, value: Value, spark_type: SparkType) -> Result<()> {
        let fit = |v: i64| Error::value(format!("value {v} out of range for {spark_type}"));
        match (self, value) {
            (Values::Bool(v), Value::Bool(b)) => v.push(b),
            (Values::Int8(v), Value::Long(x)) => v.push(x.try_into().map_err(|_| fit(x))?),
            (Values::Int16(v), Value::Long(x)) => v.push(x.try_into().map_err(|_| fit(x))?),
            (Values::Int32(v), Value::Long(x)) => v.push(x.try_into().map_err(|_| fit(x))?),
            (Values::Int64(v), Value::Long(x)) => v.push(x),
            (Values::Float32(v), Value::Double(x)) => v.push(x as f32),
            (Values::Float64(v), Value::Double(x)) => v.push(x),
            (Values::Utf8(o, d), Value::Str(s)) => push_bytes(o, d, s.as_bytes())?,
            (Values::Binary(o, d), Value::Bytes(b)) => push_bytes(o, d, b)?,
            (_, value) => {
                return Err(Error::type_error(format!(
                    "cannot store a {} value in a column of type {spark_type}",
                    value.kind()
                )))
            }
        }
        Ok(())
    }

    fn push_null(&mut self) {
        each!(self, v => v.push(Default::default()), (o, _d) => o.push(*o.last().expect("offsets start at 0")))
    }

    /// Keeps the first `rows` values.
    fn truncate(&mut self, rows: usize) {
        each!(self, v => v.truncate(rows), (o, d) => {
            o.truncate(rows + 1);
            d.truncate(o[rows] as usize);
        })
    }

    fn heap_bytes(&self) -> usize {
        each!(self, v => mem::size_of_val(v.as_slice()), (o, d) => mem::size_of_val(o.as_slice()) + d.len())
    }

    /// The values as an Arrow array with `nulls`, leaving them empty.
    fn take_array(&mut self, nulls: Option<NullBuffer>) -> Result<ArrayRef> {
        let offsets = |o: &mut Vec<i32>| OffsetBuffer::new(ScalarBuffer::from(mem::replace(o, vec![0])));
        // The next batch will likely be about as large: reserve that much and some (a batch ends after
        // the row that crosses its size, so it may hold a row more), instead of growing by copying.
        let data = |d: &mut Vec<u8>| Buffer::from_vec(mem::replace(d, Vec::with_capacity(d.len() + d.len() / 2)));
        let array: ArrayRef = match self {
            Values::Bool(v) => Arc::new(BooleanArray::new(mem::take(v).into(), nulls)),
            Values::Int8(v) => Arc::new(Int8Array::new(mem::take(v).into(), nulls)),
            Values::Int16(v) => Arc::new(Int16Array::new(mem::take(v).into(), nulls)),
            Values::Int32(v) => Arc::new(Int32Array::new(mem::take(v).into(), nulls)),
            Values::Int64(v) => Arc::new(Int64Array::new(mem::take(v).into(), nulls)),
            Values::Float32(v) => Arc::new(Float32Array::new(mem::take(v).into(), nulls)),
            Values::Float64(v) => Arc::new(Float64Array::new(mem::take(v).into(), nulls)),
            Values::Utf8(o, d) => {
                Arc::new(StringArray::try_new(offsets(o), data(d), nulls).map_err(|e| Error::internal(e.to_string()))?)
            }
            Values::Binary(o, d) => Arc::new(BinaryArray::new(offsets(o), data(d), nulls)),
        };
        Ok(array)
    }
}

fn push_bytes(offsets: &mut Vec<i32>, data: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    let end = i32::try_from(data.len() + bytes.len())
        .map_err(|_| Error::value(format!("a cell of {} bytes is too large for one Parquet batch", bytes.len())))?;
    data.extend_from_slice(bytes);
    offsets.push(end);
    Ok(())
}

/// A column: its buffered values and validity, and what messages need to name it.
pub(super) struct Column {
    name: String,
    nullable: bool,
    spark_type: SparkType,
    values: Values,
    valid: Vec<bool>,
}

impl Column {
    /// An empty column of `field` and its Arrow type: Spark's type for the field (a `Value`
    /// error naming the field for types the native writer does not write).
    pub(super) fn new(field: &Field) -> Result<(Column, DataType)> {
        let in_field = |e: Error| e.context(format_args!("field '{}'", field.name));
        let spark_type = field.spark_type().map_err(in_field)?;
        let (values, data_type) = Values::of(spark_type).ok_or_else(|| {
            in_field(Error::value(format!("the native Parquet writer does not write {spark_type} columns")))
        })?;
        let column =
            Column { name: field.name.clone(), nullable: field.nullable, spark_type, values, valid: Vec::new() };
        Ok((column, data_type))
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// Rows held, the current row's cell included once put.
    pub(super) fn rows(&self) -> usize {
        self.valid.len()
    }

    /// Appends the cell of row `row` (`None`: null).
    pub(super) fn put(&mut self, row: usize, value: Option<Value>) -> Result<()> {
        if self.rows() > row {
            return Err(Error::value(format!("field '{}' was already put in this row", self.name)));
        }
        match value {
            None if !self.nullable => {
                return Err(Error::value(format!("field '{}' is not nullable, but got a null value", self.name)))
            }
            None => self.values.push_null(),
            Some(v) => {
                self.values.push(v, self.spark_type).map_err(|e| e.context(format_args!("field '{}'", self.name)))?
            }
        }
        self.valid.push(value.is_some());
        Ok(())
    }

    /// Appends the cell of row `row` of a binary column that `write` appends to the column's data
    /// in place (no copy of the cell); on an error nothing of it is kept.
    pub(super) fn put_with(&mut self, row: usize, write: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
        if self.rows() > row {
            return Err(Error::value(format!("field '{}' was already put in this row", self.name)));
        }
        let Values::Binary(offsets, data) = &mut self.values else {
            let message =
                format!("field '{}': cannot store an encoded cell in a {} column", self.name, self.spark_type);
            return Err(Error::type_error(message));
        };
        let start = data.len();
        let end = write(data).and_then(|()| {
            i32::try_from(data.len()).map_err(|_| {
                Error::value(format!(
                    "field '{}': a cell of {} bytes is too large for one batch",
                    self.name,
                    data.len() - start
                ))
            })
        });
        match end {
            Ok(end) => offsets.push(end),
            Err(e) => {
                data.truncate(start);
                return Err(e);
            }
        }
        self.valid.push(true);
        Ok(())
    }

    /// Ends row `row`: a cell not put is null (a `Value` error when not nullable).
    pub(super) fn end_row(&mut self, row: usize) -> Result<()> {
        if self.rows() > row {
            return Ok(());
        }
        if !self.nullable {
            return Err(Error::value(format!(
                "field '{}' is not nullable, but the row has no value for it",
                self.name
            )));
        }
        self.values.push_null();
        self.valid.push(false);
        Ok(())
    }

    /// Keeps the first `rows` rows.
    pub(super) fn truncate(&mut self, rows: usize) {
        self.values.truncate(rows);
        self.valid.truncate(rows);
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.values.heap_bytes() + self.valid.len()
    }

    /// The rows as an Arrow array, leaving the column empty.
    pub(super) fn take_array(&mut self) -> Result<ArrayRef> {
        let valid = mem::take(&mut self.valid);
        let nulls = valid.contains(&false).then(|| NullBuffer::from(valid));
        self.values.take_array(nulls)
    }
}
