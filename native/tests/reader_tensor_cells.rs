//! A fixed-shape `ndarray` column decodes to the same values whatever its cells' NPY headers:
//! row groups whose cells all carry `numpy.save`'s exact header for the field (copied in one
//! pass), and row groups mixing them with Fortran-order cells and nulls (decoded cell by cell).

mod reader_util;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BinaryArray, Int64Array, RecordBatch};
use arrow::datatypes::{Field, Schema};
use petastorm_native::schema::{encode_cell, Unischema};
use reader_util::*;
use serde_json::json;

const SCHEMA: &str = r#"{"name": "Cells", "fields": [
 {"name": "id", "dtype": "int64", "shape": [], "codec": {"type": "scalar", "spark_type": "long"}},
 {"name": "m", "dtype": "float32", "shape": [2, 3], "nullable": true, "codec": {"type": "ndarray"}}]}"#;

const ROWS: i64 = 4;
const FORTRAN_ID: i64 = 5;
const NULL_ID: i64 = 9;

/// The C-order elements of the (2, 3) tensor of row `id`.
fn value(id: i64) -> Vec<f32> {
    (0..6).map(|k| id as f32 * 10.0 + k as f32).collect()
}

/// The cell of row `id`: Fortran order for `FORTRAN_ID`, null for `NULL_ID`, else C order.
fn cell(schema: &Unischema, id: i64) -> Option<Vec<u8>> {
    let c = value(id);
    match id {
        NULL_ID => None,
        FORTRAN_ID => {
            let fortran = [c[0], c[3], c[1], c[4], c[2], c[5]];
            Some(encode_cell(schema, 1, "<f4", &[2, 3], true, &f32_bytes(fortran)).unwrap())
        }
        _ => Some(encode_cell(schema, 1, "<f4", &[2, 3], false, &f32_bytes(c)).unwrap()),
    }
}

#[test]
fn fixed_tensors_decode_alike_with_exact_and_other_headers() {
    let dir = temp_dir("tensor-cells");
    let schema = Unischema::from_json(SCHEMA).unwrap();
    let ids: Vec<i64> = (0..3 * ROWS).collect();
    let cells: Vec<Option<Vec<u8>>> = ids.iter().map(|&id| cell(&schema, id)).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(BinaryArray::from_iter(cells.iter().map(|c| c.as_deref()))),
    ];
    let fields = vec![
        Field::new("id", columns[0].data_type().clone(), false),
        Field::new("m", columns[1].data_type().clone(), true),
    ];
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    write_parquet(&dir, "cells.parquet", &batch, ROWS as usize);
    write_metadata(&dir, &schema);

    let reader = open(json!({"dataset_url": dir.display().to_string(), "shuffle_row_groups": false})).unwrap();
    let batches = drain(&reader);
    assert_eq!(batches.len(), 3);
    assert_eq!(ints(&batches, "id"), ids);
    for b in &batches {
        let m = b.column_by_name("m").unwrap();
        for (row, id) in ints(std::slice::from_ref(b), "id").into_iter().enumerate() {
            assert_eq!(m.is_null(row), id == NULL_ID, "null of row {id}");
            if id != NULL_ID {
                assert_eq!(fixed_cell_bytes(m, row), f32_bytes(value(id)), "values of row {id}");
            }
        }
    }
}
