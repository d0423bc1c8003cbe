//! `batch_mode` (make_batch_reader) on plain Parquet without Petastorm metadata: the schema
//! is inferred, every column passes through as read (nothing dropped), Hive partitions.

mod reader_util;

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, ListArray, RecordBatch,
    StringArray, StructArray, TimestampMicrosecondArray, UInt8Array,
};
use arrow::datatypes::{DataType, Field, Fields, Int32Type, Schema, TimeUnit};
use petastorm_native::dataset::discovery::dataset_schema;
use reader_util::*;
use serde_json::json;

fn plain_batch(offset: i64, rows: usize) -> RecordBatch {
    let ids: Vec<i64> = (offset..offset + rows as i64).collect();
    let struct_fields =
        Fields::from(vec![Field::new("a", DataType::Int32, true), Field::new("b", DataType::Utf8, true)]);
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(
        ids.iter().map(|i| Some((0..(*i % 3) as i32).map(Some).collect::<Vec<_>>())),
    );
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(StringArray::from_iter_values(ids.iter().map(|i| format!("s{i}")))),
        Arc::new(
            Decimal128Array::from_iter_values(ids.iter().map(|i| *i as i128 * 101))
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ),
        Arc::new(Date32Array::from_iter_values(ids.iter().map(|i| 19000 + *i as i32))),
        Arc::new(TimestampMicrosecondArray::from_iter_values(ids.iter().map(|i| 1_700_000_000_000_000 + i))),
        Arc::new(list),
        Arc::new(StructArray::new(
            struct_fields.clone(),
            vec![
                Arc::new(Int32Array::from_iter_values(ids.iter().map(|i| *i as i32))),
                Arc::new(StringArray::from_iter_values(ids.iter().map(|i| format!("b{i}")))),
            ],
            None,
        )),
        Arc::new(UInt8Array::from_iter_values(ids.iter().map(|i| *i as u8))),
        Arc::new(Float64Array::from_iter(ids.iter().map(|i| (i % 4 != 0).then_some(*i as f64 / 2.0)))),
    ];
    let fields: Vec<Field> = ["id", "s", "dec", "day", "ts", "list", "st", "u8", "f"]
        .iter()
        .zip(&columns)
        .map(|(n, c)| Field::new(*n, c.data_type().clone(), c.null_count() > 0 || *n == "f"))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

fn plain_dataset(tag: &str) -> std::path::PathBuf {
    let dir = temp_dir(tag);
    write_parquet(&dir, "year=2023/a.parquet", &plain_batch(0, 12), 5);
    write_parquet(&dir, "year=2024/b.parquet", &plain_batch(12, 8), 5);
    std::fs::write(dir.join("_SUCCESS"), b"").unwrap();
    std::fs::write(dir.join("year=2024/.b.parquet.crc"), b"junk").unwrap();
    dir
}

#[test]
fn batch_mode_passes_plain_columns_through() {
    let dir = plain_dataset("batch");
    let reader =
        open(json!({"dataset_url": dir.display().to_string(), "batch_mode": true, "shuffle_row_groups": false}))
            .unwrap();
    let batches = drain(&reader);
    assert_eq!(ints(&batches, "id"), (0..20).collect::<Vec<_>>());
    let written = plain_batch(0, 1).schema();
    let schema = batches[0].schema();
    for field in written.fields() {
        assert_eq!(schema.field_with_name(field.name()).unwrap().data_type(), field.data_type(), "{}", field.name());
    }
    assert_eq!(schema.field_with_name("year").unwrap().data_type(), &DataType::Utf8);
    assert_eq!(strings(&batches, "year"), [vec!["2023".to_string(); 12], vec!["2024".to_string(); 8]].concat());
    let f = batches[0].column_by_name("f").unwrap();
    assert!(f.is_null(0) && !f.is_null(1));
    let st = batches[1].column_by_name("st").unwrap();
    assert_eq!(st.len(), batches[1].num_rows());

    let info: serde_json::Value = serde_json::from_str(&reader.info_json().unwrap()).unwrap();
    assert_eq!(info["schema_source"], "inferred");
    assert_eq!(info["rows"], 20);
    assert_eq!(info["row_groups"], 5);
}

#[test]
fn the_inferred_schema_keeps_every_column() {
    let dir = plain_dataset("infer");
    let schema = dataset_schema(&dir.display().to_string(), &[]).unwrap();
    let json: serde_json::Value = serde_json::from_str(&schema.to_json()).unwrap();
    let fields = json["fields"].as_array().unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["id", "s", "dec", "day", "ts", "list", "st", "u8", "f", "year"]);
    assert_eq!(fields[2]["codec"]["spark_type"], "decimal(10,2)");
    assert_eq!(fields[5]["shape"], json!([null]));
    assert_eq!(fields[5]["dtype"], "int32");
    assert_eq!(fields[9]["dtype"], "str");
}

#[test]
fn filters_and_predicates_work_in_batch_mode() {
    let dir = plain_dataset("batchfilter");
    let reader =
        open(json!({"dataset_url": dir.display().to_string(), "batch_mode": true, "shuffle_row_groups": false,
                             "filters": [[["year", "=", 2024], ["id", ">", 15]], [["s", "in", ["s1", "s2"]]]],
                             "schema_fields": ["id", "s"]}))
        .unwrap();
    let batches = drain(&reader);
    assert_eq!(batches[0].num_columns(), 2);
    assert_eq!(ints(&batches, "id"), [1, 2, 16, 17, 18, 19]);

    let reader = open(json!({"dataset_url": dir.display().to_string(), "batch_mode": true,
                             "predicate": {"in_set": {"field": "u8", "values": [3, 4, 13]}}, "schema_fields": ["id"],
                             "shuffle_row_groups": false}))
    .unwrap();
    assert_eq!(ints(&drain(&reader), "id"), [3, 4, 13]);
}

#[test]
fn row_mode_on_plain_parquet_uses_numpy_types() {
    let dir = plain_dataset("rowmode");
    let reader =
        open(json!({"dataset_url": dir.display().to_string(), "schema_fields": ["id", "u8", "day", "dec", "ts"]}))
            .unwrap();
    let batches = drain(&reader);
    let schema = batches[0].schema();
    assert_eq!(schema.field_with_name("u8").unwrap().data_type(), &DataType::UInt8);
    assert_eq!(schema.field_with_name("day").unwrap().data_type(), &DataType::Date32);
    assert_eq!(schema.field_with_name("ts").unwrap().data_type(), &DataType::Timestamp(TimeUnit::Microsecond, None));
    assert!(matches!(schema.field_with_name("dec").unwrap().data_type(), DataType::Decimal128(10, 2)));
}
