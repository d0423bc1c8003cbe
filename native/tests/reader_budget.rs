//! The per-batch decode memory budget (`decode_memory_limit`): a batch whose NPZ cells each
//! pass the per-cell limit but together announce more than the budget is refused before any
//! cell is decoded, naming the field, file, row group and sizes; smaller batches still read.

mod reader_util;

use std::sync::Arc;

use arrow::array::{ArrayRef, BinaryArray, Int64Array, RecordBatch};
use arrow::datatypes::{Field as ArrowField, Schema};
use petastorm_native::schema::Unischema;
use petastorm_native::ErrorKind;
use reader_util::*;
use serde_json::json;

const SCHEMA: &str = r#"{"name": "Big", "fields": [
 {"name": "id", "dtype": "int64", "shape": [], "codec": {"type": "scalar", "spark_type": "long"}},
 {"name": "big", "dtype": "uint8", "shape": [null, null], "codec": {"type": "compressed_ndarray"}}]}"#;

/// Seven rows in row groups of 4 and 3; each `big` cell is a 1000x1000 uint8 NPZ (1 MB
/// decoded, about 1 KB stored).
fn big_dataset() -> std::path::PathBuf {
    let dir = temp_dir("budget");
    let schema = Unischema::from_json(SCHEMA).unwrap();
    let cells: Vec<Vec<u8>> =
        (0..7u8).map(|i| encode(&schema, "big", "|u1", &[1000, 1000], &vec![i; 1_000_000])).collect();
    assert!(cells.iter().all(|c| c.len() < 10_000));
    let columns: Vec<ArrayRef> =
        vec![Arc::new(Int64Array::from_iter_values(0..7)), Arc::new(BinaryArray::from_iter_values(cells.iter()))];
    let fields: Vec<ArrowField> =
        columns.iter().zip(["id", "big"]).map(|(a, n)| ArrowField::new(n, a.data_type().clone(), false)).collect();
    write_parquet(&dir, "data.parquet", &RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap(), 4);
    write_metadata(&dir, &schema);
    dir
}

#[test]
fn a_batch_decoding_past_the_budget_is_refused_naming_field_file_row_group_and_sizes() {
    let dir = big_dataset();
    let options = |limit: Option<u64>| {
        let mut o = json!({"dataset_url": format!("file://{}", dir.display()), "shuffle_row_groups": false, "workers_count": 1});
        if let Some(limit) = limit {
            o["decode_memory_limit"] = json!(limit);
        }
        o
    };
    // The default budget (2 GiB) reads everything.
    assert_eq!(ints(&drain(&open(options(None)).unwrap()), "id"), (0..7).collect::<Vec<_>>());

    // 3.5 MB: row group 0 announces 4 x 1 MB and is refused; row group 1 (3 MB) still reads.
    let reader = open(options(Some(3_500_000))).unwrap();
    let e = reader.next().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert_eq!(
        e.message(),
        "file 'data.parquet', row group 0: field 'big': its cells decode to 4000000 bytes, bringing this batch to \
         4000000 bytes, more than decode_memory_limit (3500000 bytes)"
    );
    assert_eq!(ints(&[reader.next().unwrap().unwrap()], "id"), vec![4, 5, 6]);
    assert!(reader.next().unwrap().is_none());

    // Exactly the announced size fits.
    assert_eq!(ints(&drain(&open(options(Some(4_000_000))).unwrap()), "id"), (0..7).collect::<Vec<_>>());
    let e = open(options(Some(0))).err().expect("a zero budget is refused");
    assert_eq!(e.kind(), ErrorKind::Value, "{e}");
    let _ = std::fs::remove_dir_all(dir);
}
