//! A Unischema inferred from an Arrow schema, like upstream `Unischema.from_arrow_schema`:
//! used for Parquet datasets that have no Petastorm metadata (`make_batch_reader`).
//!
//! Plain columns become scalar fields with a `ScalarCodec` of the matching Spark type (or no
//! codec where Spark has none, e.g. unsigned ints); lists of primitives become fields of shape
//! `(None,)` without a codec. Columns NumPy has no scalar type for are kept, never dropped:
//! dates and timestamps as `datetime64` fields (as upstream; the reader passes them through as
//! Arrow `date32`/`timestamp`), and nested columns (structs,
//! maps, lists of lists) as codec-less `bytes` fields, passed through as read.

use arrow::datatypes::{DataType, Schema};

use super::{Codec, Field, FieldDType, SparkType, Unischema};
use crate::error::Result;

/// The name upstream gives inferred schemas.
pub const INFERRED_SCHEMA_NAME: &str = "inferred_schema";

/// Infers a Unischema from `schema`, then adds each Hive partition key that is not a column
/// as a `str` field.
pub fn unischema_from_arrow(schema: &Schema, partition_keys: &[String]) -> Result<Unischema> {
    let mut fields: Vec<Field> =
        schema.fields().iter().map(|f| field(f.name(), f.data_type(), f.is_nullable())).collect();
    for key in partition_keys {
        if fields.iter().all(|f| &f.name != key) {
            fields.push(field(key, &DataType::Utf8, false));
        }
    }
    Unischema::new(INFERRED_SCHEMA_NAME, fields)
}

/// The field for one Arrow column.
pub fn field(name: &str, data_type: &DataType, nullable: bool) -> Field {
    let (dtype, shape, codec) = match data_type {
        DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item) | DataType::LargeListView(item) => {
            list_of(item.data_type(), None)
        }
        DataType::FixedSizeList(item, n) => list_of(item.data_type(), usize::try_from(*n).ok()),
        other => match scalar(other) {
            Some((dtype, spark)) => (dtype, vec![], spark.map(|spark_type| Codec::Scalar { spark_type })),
            None => (FieldDType::Bytes, vec![], None),
        },
    };
    Field { name: name.to_string(), dtype, shape, nullable, codec }
}

/// A list column: a 1-d field of its element type, when that is a scalar type.
fn list_of(item: &DataType, size: Option<usize>) -> (FieldDType, Vec<Option<usize>>, Option<Codec>) {
    match scalar(item) {
        Some((dtype, _)) if dtype != FieldDType::Decimal => (dtype, vec![size], None),
        _ => (FieldDType::Bytes, vec![], None),
    }
}

/// The NumPy type and Spark type (when Spark has one) of a scalar Arrow type.
fn scalar(data_type: &DataType) -> Option<(FieldDType, Option<SparkType>)> {
    use FieldDType as F;
    Some(match data_type {
        DataType::Boolean => (F::Bool, Some(SparkType::Boolean)),
        DataType::Int8 => (F::Int8, Some(SparkType::Byte)),
        DataType::Int16 => (F::Int16, Some(SparkType::Short)),
        DataType::Int32 => (F::Int32, Some(SparkType::Integer)),
        DataType::Int64 => (F::Int64, Some(SparkType::Long)),
        DataType::UInt8 => (F::UInt8, None),
        DataType::UInt16 => (F::UInt16, None),
        DataType::UInt32 => (F::UInt32, None),
        DataType::UInt64 => (F::UInt64, None),
        DataType::Float16 => (F::Float16, None),
        DataType::Float32 => (F::Float32, Some(SparkType::Float)),
        DataType::Float64 => (F::Float64, Some(SparkType::Double)),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => (F::Str, Some(SparkType::String)),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            (F::Bytes, Some(SparkType::Binary))
        }
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => {
            (F::Decimal, decimal(*p, *s))
        }
        DataType::Decimal256(p, s) => (F::Decimal, decimal(*p, *s)),
        DataType::Date32 | DataType::Date64 => (F::Datetime64, Some(SparkType::Date)),
        DataType::Timestamp(..) => (F::Datetime64, Some(SparkType::Timestamp)),
        DataType::Dictionary(_, value) => scalar(value)?,
        _ => return None,
    })
}

/// Spark's decimal type, when it can hold the precision.
fn decimal(precision: u8, scale: i8) -> Option<SparkType> {
    let scale = u8::try_from(scale).ok()?;
    ((1..=38).contains(&precision) && scale <= precision).then_some(SparkType::Decimal { precision, scale })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field as ArrowField, TimeUnit};
    use std::sync::Arc;

    #[test]
    fn infers_scalars_lists_and_keeps_nested_columns() {
        let schema = Schema::new(vec![
            ArrowField::new("id", DataType::Int64, false),
            ArrowField::new("name", DataType::Utf8, true),
            ArrowField::new("price", DataType::Decimal128(10, 2), true),
            ArrowField::new("day", DataType::Date32, true),
            ArrowField::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            ArrowField::new("vec", DataType::List(Arc::new(ArrowField::new("item", DataType::Float32, true))), true),
            ArrowField::new("u", DataType::UInt32, false),
            ArrowField::new("s", DataType::Struct(vec![ArrowField::new("a", DataType::Int32, true)].into()), true),
        ]);
        let u = unischema_from_arrow(&schema, &["part".to_string(), "id".to_string()]).unwrap();
        let json: serde_json::Value = serde_json::from_str(&u.to_json()).unwrap();
        let f = |i: usize| &json["fields"][i];
        assert_eq!(json["name"], "inferred_schema");
        assert_eq!(f(0)["codec"]["spark_type"], "long");
        assert_eq!(f(1)["dtype"], "str");
        assert_eq!(f(2)["codec"]["spark_type"], "decimal(10,2)");
        assert_eq!((f(3)["dtype"].as_str(), f(3)["codec"]["spark_type"].as_str()), (Some("datetime64"), Some("date")));
        assert_eq!(
            (f(4)["dtype"].as_str(), f(4)["codec"]["spark_type"].as_str()),
            (Some("datetime64"), Some("timestamp"))
        );
        assert_eq!((f(5)["dtype"].as_str(), f(5)["shape"].clone()), (Some("float32"), serde_json::json!([null])));
        assert_eq!((f(6)["dtype"].as_str(), f(6)["codec"].is_null()), (Some("uint32"), true));
        assert_eq!((f(7)["name"].as_str(), f(7)["dtype"].as_str()), (Some("s"), Some("bytes")));
        assert_eq!((f(8)["name"].as_str(), f(8)["dtype"].as_str()), (Some("part"), Some("str")));
        assert_eq!(u.fields().len(), 9);
    }
}
