//! Single cell values of decoded Arrow columns, as predicates and filters see them, and how
//! they compare with JSON values.

use std::cmp::Ordering;

use arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray, StructArray};
use arrow::datatypes::{self as dt, DataType};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::Value as Json;

/// One scalar value of a cell (or of a tensor element).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
}

/// A cell: a scalar, or the elements of a tensor / list cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Scalar(Value),
    List(Vec<Value>),
}

/// The cell at `row` of a decoded column.
pub fn cell(array: &ArrayRef, row: usize) -> Cell {
    if array.is_null(row) {
        return Cell::Scalar(Value::Null);
    }
    match array.data_type() {
        DataType::FixedSizeList(..) => {
            let list: &FixedSizeListArray = array.as_fixed_size_list();
            Cell::List(elements(&list.value(row)))
        }
        DataType::List(_) => Cell::List(elements(&array.as_list::<i32>().value(row))),
        DataType::LargeList(_) => Cell::List(elements(&array.as_list::<i64>().value(row))),
        DataType::Struct(fields) if fields.iter().any(|f| f.name() == "data") => {
            // The variable-shape tensor layout: elements of `data`.
            let s: &StructArray = array.as_struct();
            cell(s.column_by_name("data").expect("checked"), row)
        }
        _ => Cell::Scalar(value(array, row)),
    }
}

fn elements(array: &ArrayRef) -> Vec<Value> {
    (0..array.len()).map(|i| value(array, i)).collect()
}

/// The scalar at `row`; types without a natural scalar form become their display string.
pub fn value(array: &ArrayRef, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    macro_rules! int {
        ($t:ty) => {
            Value::Int(array.as_primitive::<$t>().value(row) as i128)
        };
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => int!(dt::Int8Type),
        DataType::Int16 => int!(dt::Int16Type),
        DataType::Int32 => int!(dt::Int32Type),
        DataType::Int64 => int!(dt::Int64Type),
        DataType::UInt8 => int!(dt::UInt8Type),
        DataType::UInt16 => int!(dt::UInt16Type),
        DataType::UInt32 => int!(dt::UInt32Type),
        DataType::UInt64 => int!(dt::UInt64Type),
        DataType::Float16 => Value::Float(array.as_primitive::<dt::Float16Type>().value(row).to_f64()),
        DataType::Float32 => Value::Float(array.as_primitive::<dt::Float32Type>().value(row) as f64),
        DataType::Float64 => Value::Float(array.as_primitive::<dt::Float64Type>().value(row)),
        DataType::Utf8 => Value::Str(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Value::Str(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Value::Str(array.as_string_view().value(row).to_string()),
        DataType::Binary => Value::Bytes(array.as_binary::<i32>().value(row).to_vec()),
        DataType::LargeBinary => Value::Bytes(array.as_binary::<i64>().value(row).to_vec()),
        DataType::FixedSizeBinary(_) => Value::Bytes(array.as_fixed_size_binary().value(row).to_vec()),
        _ => {
            let options = FormatOptions::default();
            let text = ArrayFormatter::try_new(array.as_ref(), &options).map(|f| f.value(row).to_string());
            Value::Str(text.unwrap_or_default())
        }
    }
}

impl Value {
    /// Python's `str()` of the value as upstream sees it (numpy scalars print like Python's).
    pub fn python_str(&self) -> String {
        match self {
            Value::Null => "None".into(),
            Value::Bool(b) => (if *b { "True" } else { "False" }).into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => python_float(*f),
            Value::Str(s) => s.clone(),
            Value::Bytes(b) => {
                let body: String = b
                    .iter()
                    .map(|&c| match c {
                        b'\\' => "\\\\".to_string(),
                        b'\'' => "\\'".to_string(),
                        b'\n' => "\\n".to_string(),
                        b'\r' => "\\r".to_string(),
                        b'\t' => "\\t".to_string(),
                        0x20..=0x7e => (c as char).to_string(),
                        _ => format!("\\x{c:02x}"),
                    })
                    .collect();
                format!("b'{body}'")
            }
        }
    }

    /// Compares with a JSON value: numbers with numbers (a numeric string compares as a
    /// number, as partition values do), strings with strings, booleans with booleans.
    /// `None` when they do not compare (different kinds, or a null).
    pub fn compare(&self, other: &Json) -> Option<Ordering> {
        match (self, other) {
            (Value::Null, _) | (_, Json::Null) => None,
            (Value::Bool(a), Json::Bool(b)) => Some(a.cmp(b)),
            (Value::Int(a), Json::Number(n)) => match (n.as_i64(), n.as_u64()) {
                (Some(b), _) => Some(a.cmp(&(b as i128))),
                (_, Some(b)) => Some(a.cmp(&(b as i128))),
                _ => (*a as f64).partial_cmp(&n.as_f64()?),
            },
            (Value::Bool(a), Json::Number(_)) => Value::Int(*a as i128).compare(other),
            (Value::Float(a), Json::Number(n)) => a.partial_cmp(&n.as_f64()?),
            (Value::Str(a), Json::String(b)) => Some(a.as_str().cmp(b.as_str())),
            (Value::Bytes(a), Json::String(b)) => Some(a.as_slice().cmp(b.as_bytes())),
            (Value::Str(a), Json::Number(n)) => a.trim().parse::<f64>().ok()?.partial_cmp(&n.as_f64()?),
            (Value::Str(a), Json::Bool(b)) => Some(a.as_str().cmp(if *b { "True" } else { "False" })),
            _ => None,
        }
    }

    /// Equality with a JSON value (`compare` gives `Equal`).
    pub fn equals(&self, other: &Json) -> bool {
        match (self, other) {
            (Value::Null, Json::Null) => true,
            _ => self.compare(other) == Some(Ordering::Equal),
        }
    }
}

/// Python's `repr(float)`: shortest round-trip digits, `.0` for integral values, exponent
/// form outside `1e-4 <= |x| < 1e16`.
fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return (if f > 0.0 { "inf" } else { "-inf" }).into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Rust prints `1e20` / `1.5e-7`; Python prints `1e+20` / `1.5e-07`.
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e').expect("exponent form");
        let exp: i32 = exp.parse().expect("integer exponent");
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let text = format!("{f}");
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        for (f, s) in [(1.0, "1.0"), (0.1, "0.1"), (1e20, "1e+20"), (1.5e-7, "1.5e-07"), (-2.5, "-2.5"), (0.0, "0.0")] {
            assert_eq!(python_float(f), s);
        }
    }

    #[test]
    fn compares_with_json() {
        assert!(Value::Int(3).equals(&serde_json::json!(3)));
        assert!(Value::Int(3).equals(&serde_json::json!(3.0)));
        assert!(Value::Str("p_1".into()).equals(&serde_json::json!("p_1")));
        assert!(Value::Str("7".into()).equals(&serde_json::json!(7)));
        assert!(!Value::Str("a".into()).equals(&serde_json::json!(7)));
        assert_eq!(Value::Float(2.5).compare(&serde_json::json!(3)), Some(Ordering::Less));
        assert!(Value::Null.equals(&Json::Null));
    }
}
