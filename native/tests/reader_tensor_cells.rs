//! A fixed-shape `ndarray` column decodes to the same values whatever its cells' NPY headers
//! (row groups whose cells all carry `numpy.save`'s exact header for the field are copied in one
//! pass; others mix them with Fortran-order cells and nulls, decoded cell by cell) and whatever
//! its Parquet encoding: dictionary pages only (read as a dictionary), plain pages only, or a
//! dictionary that fell back to plain pages.

mod reader_util;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BinaryArray, Int64Array, RecordBatch};
use arrow::datatypes::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Encoding, PageType};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
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

/// Writes the rows with `props` (row groups of `ROWS` rows); returns the encodings of the data
/// pages of column `m` per row group.
fn write(dir: &std::path::Path, batch: &RecordBatch, props: WriterProperties) -> Vec<Vec<Encoding>> {
    let path = dir.join("cells.parquet");
    let mut writer = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let groups = reader.metadata().row_groups().iter();
    let data_pages = |g: &parquet::file::metadata::RowGroupMetaData| {
        let stats = g.column(1).page_encoding_stats().unwrap();
        stats.iter().filter(|s| s.page_type == PageType::DATA_PAGE).map(|s| s.encoding).collect::<Vec<_>>()
    };
    groups.map(data_pages).collect()
}

#[test]
fn fixed_tensors_decode_alike_with_any_header_and_encoding() {
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
    let props = || WriterProperties::builder().set_max_row_group_size(ROWS as usize);
    let dictionary = [Encoding::RLE_DICTIONARY];
    let cases = [
        ("dictionary", props().build(), vec![&dictionary[..]; 3]),
        ("plain", props().set_dictionary_enabled(false).build(), vec![&[Encoding::PLAIN][..]; 3]),
        (
            "fallback",
            props().set_dictionary_page_size_limit(1).set_data_page_row_count_limit(1).set_write_batch_size(1).build(),
            vec![&[Encoding::RLE_DICTIONARY, Encoding::PLAIN][..]; 3],
        ),
    ];
    for (tag, props, encodings) in cases {
        let dir = temp_dir(&format!("tensor-cells-{tag}"));
        assert_eq!(write(&dir, &batch, props), encodings, "{tag}: the file's data page encodings");
        write_metadata(&dir, &schema);
        let reader = open(json!({"dataset_url": dir.display().to_string(), "shuffle_row_groups": false})).unwrap();
        let batches = drain(&reader);
        assert_eq!(batches.len(), 3, "{tag}");
        assert_eq!(ints(&batches, "id"), ids, "{tag}");
        for b in &batches {
            let m = b.column_by_name("m").unwrap();
            for (row, id) in ints(std::slice::from_ref(b), "id").into_iter().enumerate() {
                assert_eq!(m.is_null(row), id == NULL_ID, "{tag}: null of row {id}");
                if id != NULL_ID {
                    assert_eq!(fixed_cell_bytes(m, row), f32_bytes(value(id)), "{tag}: values of row {id}");
                }
            }
        }
    }
}
