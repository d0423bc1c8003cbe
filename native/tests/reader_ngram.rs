//! The reader's `ngram` option on the synthetic dataset (ids 0.. in path order, row groups of
//! `ROWS` rows): windows inside row groups only, overlap on and off, row-drop parts, shuffling and
//! errors at open.

mod reader_util;

use arrow::array::{Array, UInt32Array};
use petastorm_native::dataset::ngram::STARTS_COLUMN;
use petastorm_native::ErrorKind;
use reader_util::*;
use serde_json::{json, Value};

/// The windows of every batch, as the ids of their rows.
fn windows(options: Value) -> Vec<Vec<i64>> {
    let reader = open(options).unwrap();
    let mut out = Vec::new();
    for batch in drain(&reader) {
        let ids = ints(std::slice::from_ref(&batch), "id");
        let last = batch.schema().fields().len() - 1;
        assert_eq!(batch.schema().field(last).name(), STARTS_COLUMN);
        let starts = batch.column(last).as_any().downcast_ref::<UInt32Array>().unwrap();
        let count = starts.len() - starts.null_count();
        assert!(count > 0, "batches without windows are skipped");
        assert!((0..count).all(|i| starts.is_valid(i)), "starts first, then nulls");
        for &s in &starts.values()[..count] {
            out.push(ids[s as usize..s as usize + 3].to_vec());
        }
    }
    out
}

fn options(dir: &std::path::Path, ngram: Value, more: Value) -> Value {
    let mut o = json!({"dataset_url": format!("file://{}", dir.display()), "schema_fields": ["id"],
                       "shuffle_row_groups": false, "ngram": ngram});
    o.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
    o
}

fn ngram(overlap: bool) -> Value {
    json!({"timestamp_field": "id", "length": 3, "delta_threshold": 1.0, "timestamp_overlap": overlap})
}

/// Every run of 3 consecutive ids inside one row group (none across two).
fn expected(step: usize) -> Vec<Vec<i64>> {
    (0..TOTAL / ROWS)
        .flat_map(|g| {
            (0..=ROWS - 3).step_by(step).map(move |i| ((g * ROWS + i) as i64..(g * ROWS + i + 3) as i64).collect())
        })
        .collect()
}

#[test]
fn windows_stay_inside_row_groups() {
    let dir = synthetic_dataset("ngram-groups");
    assert_eq!(windows(options(&dir, ngram(true), json!({}))), expected(1));
    // without overlap: 0-2, 3-5, 6-8 of each group
    assert_eq!(windows(options(&dir, ngram(false), json!({}))), expected(3));
    // a threshold below the gaps: no window, no batch
    let none = json!({"timestamp_field": "id", "length": 2, "delta_threshold": 0.5});
    assert!(windows(options(&dir, none, json!({}))).is_empty());
}

#[test]
fn row_drop_parts_keep_the_windows_across_their_boundary_once() {
    let dir = synthetic_dataset("ngram-parts");
    let mut got = windows(options(&dir, ngram(true), json!({"shuffle_row_drop_partitions": 2})));
    got.sort();
    assert_eq!(got, expected(1));
    let err = open(options(&dir, ngram(false), json!({"shuffle_row_drop_partitions": 2}))).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Value);
}

#[test]
fn shuffle_rows_shuffles_windows_not_their_rows() {
    let dir = synthetic_dataset("ngram-shuffle");
    let shuffled = windows(options(&dir, ngram(true), json!({"shuffle_rows": true, "seed": 5})));
    assert_ne!(shuffled, expected(1));
    assert_eq!(shuffled, windows(options(&dir, ngram(true), json!({"shuffle_rows": true, "seed": 5}))));
    let mut sorted = shuffled;
    sorted.sort();
    assert_eq!(sorted, expected(1));
}

#[test]
fn the_timestamp_field_is_checked_at_open() {
    let dir = synthetic_dataset("ngram-errors");
    let not_read = json!({"timestamp_field": "id8", "length": 2, "delta_threshold": 1.0});
    let err = open(options(&dir, not_read, json!({}))).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Value);
    assert!(err.to_string().contains("'id8' must be one of schema_fields"), "{err}");
    let text = json!({"timestamp_field": "label", "length": 2, "delta_threshold": 1.0});
    let err = open(options(&dir, text, json!({"schema_fields": ["id", "label"]}))).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Type);
    let unknown = json!({"timestamp_field": "nope", "length": 2, "delta_threshold": 1.0});
    assert!(open(options(&dir, unknown, json!({}))).is_err());
}
