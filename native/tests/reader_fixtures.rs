//! Reads every dataset upstream Petastorm wrote (`../shared/fixtures`) through the reader
//! engine and compares every decoded cell with decoding the stored cell directly.

mod reader_util;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use petastorm_native::codec::Tensor;
use petastorm_native::dtype::Kind;
use petastorm_native::schema::{decode_cell, Codec, Unischema};
use reader_util::*;
use serde_json::json;

const CURRENT: [(&str, &str, usize); 3] = [("hello", "id", 20), ("mnist", "idx", 300), ("jpeg", "id", 40)];
const LEGACY: [&str; 6] = ["0.4.0", "0.4.3", "0.5.1", "0.6.0", "0.7.0", "0.7.6"];

/// Element values of a tensor, comparable across the Arrow and the `Tensor` forms.
#[derive(Debug, PartialEq)]
enum Elements {
    Bytes(Vec<u8>),
    Strings(Vec<String>),
}

fn arrow_elements(values: &ArrayRef) -> Elements {
    match values.data_type() {
        DataType::Utf8 => {
            let s = values.as_string::<i32>();
            Elements::Strings((0..s.len()).map(|i| s.value(i).to_string()).collect())
        }
        DataType::Binary => {
            let b = values.as_binary::<i32>();
            Elements::Strings((0..b.len()).map(|i| String::from_utf8_lossy(b.value(i)).into_owned()).collect())
        }
        DataType::Boolean => Elements::Bytes(values.as_boolean().iter().map(|b| b.unwrap() as u8).collect()),
        _ => Elements::Bytes(primitive_bytes(values)),
    }
}

fn tensor_elements(t: &Tensor) -> Elements {
    let view = t.view();
    let data = view.c_order_le().unwrap();
    match t.dtype.kind {
        Kind::Unicode => Elements::Strings(
            data.chunks(t.dtype.itemsize.max(1))
                .take(t.shape.iter().product())
                .map(|c| {
                    let s: String = c
                        .chunks(4)
                        .map(|u| char::from_u32(u32::from_le_bytes(u.try_into().unwrap())).unwrap())
                        .collect();
                    s.trim_end_matches('\0').to_string()
                })
                .collect(),
        ),
        Kind::Bytes => Elements::Strings(
            data.chunks(t.dtype.itemsize.max(1))
                .take(t.shape.iter().product())
                .map(|c| String::from_utf8_lossy(c).trim_end_matches('\0').to_string())
                .collect(),
        ),
        _ => Elements::Bytes(data.into_owned()),
    }
}

/// The decoded cell at `row` of a tensor column: elements and shape (`None` for null).
fn arrow_cell(column: &ArrayRef, row: usize, declared: &[Option<usize>]) -> Option<(Elements, Vec<usize>)> {
    if column.is_null(row) {
        return None;
    }
    Some(match column.data_type() {
        DataType::FixedSizeList(..) => {
            let shape = declared.iter().map(|d| d.unwrap()).collect();
            (arrow_elements(&column.as_fixed_size_list().value(row)), shape)
        }
        DataType::Struct(_) => {
            let s = column.as_struct();
            let data = s.column_by_name("data").unwrap().as_list::<i32>().value(row);
            let shape = s.column_by_name("shape").unwrap().as_fixed_size_list().value(row);
            let shape = shape.as_primitive::<Int32Type>().values().iter().map(|d| *d as usize).collect();
            (arrow_elements(&data), shape)
        }
        other => panic!("not a tensor column: {other}"),
    })
}

/// `(field, id) → stored cell bytes` of every binary codec field, read straight from the files.
fn raw_cells(dir: &Path, schema: &Unischema, id_column: &str) -> HashMap<(String, i64), Option<Vec<u8>>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    let mut cells = HashMap::new();
    for path in files {
        for batch in ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap().build().unwrap() {
            let batch = batch.unwrap();
            let ids = id_values(batch.column_by_name(id_column).unwrap());
            for field in schema.fields().iter().filter(|f| !f.is_scalar_column()) {
                let column = batch.column_by_name(&field.name).unwrap().as_binary::<i32>().clone();
                for (row, id) in ids.iter().enumerate() {
                    let cell = (!column.is_null(row)).then(|| column.value(row).to_vec());
                    cells.insert((field.name.clone(), *id), cell);
                }
            }
        }
    }
    cells
}

fn id_values(column: &ArrayRef) -> Vec<i64> {
    match column.data_type() {
        DataType::Int64 => column.as_primitive::<Int64Type>().values().to_vec(),
        DataType::Int32 => column.as_primitive::<Int32Type>().values().iter().map(|v| *v as i64).collect(),
        other => panic!("id column of type {other}"),
    }
}

/// Reads `dir` with the engine and checks every tensor cell against `decode_cell`.
fn check_dataset(dir: &Path, id_column: &str, rows: usize) -> (Unischema, Vec<RecordBatch>) {
    let reader = open(json!({"dataset_url": dir.display().to_string(), "workers_count": 2})).unwrap();
    let schema = reader.schema().clone();
    let batches = drain(&reader);
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(total, rows, "{}", dir.display());
    let names: Vec<String> = batches[0].schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, schema.fields().iter().map(|f| f.name.clone()).collect::<Vec<_>>());

    let raw = raw_cells(dir, &schema, id_column);
    let mut compared = 0;
    for batch in &batches {
        let ids = id_values(batch.column_by_name(id_column).unwrap());
        for (index, field) in schema.fields().iter().enumerate() {
            if field.is_scalar_column() {
                continue;
            }
            let column = batch.column_by_name(&field.name).unwrap();
            for (row, id) in ids.iter().enumerate() {
                let expected = raw[&(field.name.clone(), *id)]
                    .as_ref()
                    .map(|cell| decode_cell(&schema, index, cell).unwrap())
                    .map(|t| (tensor_elements(&t), t.shape.clone()));
                assert_eq!(arrow_cell(column, row, &field.shape), expected, "{} {}/{id}", dir.display(), field.name);
                compared += 1;
            }
        }
    }
    assert!(compared > 0);
    (schema, batches)
}

#[test]
fn reads_the_petastorm_0_13_1_fixtures() {
    for (name, id_column, rows) in CURRENT {
        let dir = fixtures().join("petastorm-0.13.1").join(name);
        let (schema, batches) = check_dataset(&dir, id_column, rows);
        let arrow_schema = batches[0].schema();
        for field in schema.fields() {
            let arrow_field = arrow_schema.field_with_name(&field.name).unwrap();
            let fixed = field.shape.iter().all(|d| d.is_some());
            match field.codec {
                Some(Codec::Scalar { .. }) | None => assert!(!matches!(arrow_field.data_type(), DataType::Binary)),
                _ if fixed => assert_eq!(arrow_field.extension_type_name(), Some("arrow.fixed_shape_tensor")),
                _ => assert!(matches!(arrow_field.data_type(), DataType::Struct(_))),
            }
        }
        let mut ids: Vec<i64> = batches.iter().flat_map(|b| id_values(b.column_by_name(id_column).unwrap())).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), rows, "{name}: every row once");
    }
}

#[test]
fn jpeg_fixture_keeps_nulls_and_labels() {
    let dir = fixtures().join("petastorm-0.13.1/jpeg");
    let reader =
        open(json!({"dataset_url": dir.display().to_string(), "schema_fields": ["id", "label", "embedding"]})).unwrap();
    let batches = drain(&reader);
    let mut nulls = 0;
    for b in &batches {
        assert_eq!(b.column_by_name("label").unwrap().data_type(), &DataType::Utf8);
        nulls += b.column_by_name("embedding").unwrap().null_count();
    }
    assert_eq!(nulls, 40usize.div_ceil(7));
}

#[test]
fn reads_the_legacy_fixtures() {
    for version in LEGACY {
        let dir = fixtures().join("petastorm-legacy").join(version);
        let (schema, batches) = check_dataset(&dir, "id", 100);
        assert!(schema.field_by_name("partition_key").is_some(), "{version}");
        for b in &batches {
            let parts = b.column_by_name("partition_key").unwrap().as_string::<i32>().clone();
            assert!(parts.iter().all(|p| p.unwrap().starts_with("p_")), "{version}");
            assert_eq!(b.column_by_name("python_primitive_uint8").unwrap().data_type(), &DataType::UInt8);
            assert!(matches!(b.column_by_name("decimal").unwrap().data_type(), DataType::Decimal128(..)));
        }
        // Filters on the partition key prune files.
        let reader = open(json!({"dataset_url": dir.display().to_string(), "filters": [["partition_key", "=", "p_3"]],
                                 "schema_fields": ["id", "partition_key"]}))
        .unwrap();
        let batches = drain(&reader);
        assert_eq!(strings(&batches, "partition_key"), vec!["p_3".to_string(); 10], "{version}");
    }
}
