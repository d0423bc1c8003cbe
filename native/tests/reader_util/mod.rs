//! Helpers of the reader tests: open and drain readers, write small Petastorm datasets,
//! read tensor cells back out of decoded batches.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BinaryArray, FixedSizeListArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field as ArrowField, Int32Type, Int64Type, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use petastorm_native::codec::TensorRef;
use petastorm_native::dataset::metadata::{common_metadata, parquet_footer_len};
use petastorm_native::dataset::options::ReaderOptions;
use petastorm_native::dataset::reader::Reader;
use petastorm_native::dtype::{ArrayDType, Kind};
use petastorm_native::schema::{encode_cell, Unischema};

/// `../shared/fixtures` relative to the project root.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "petastorm-reader-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Opens a reader from options given as JSON.
pub fn open(options: serde_json::Value) -> petastorm_native::Result<Reader> {
    Reader::open(&ReaderOptions::from_json(&options.to_string())?)
}

/// Every batch until the end.
pub fn drain(reader: &Reader) -> Vec<RecordBatch> {
    std::iter::from_fn(|| reader.next().unwrap()).collect()
}

/// The integer column `name` of every batch, in order.
pub fn ints(batches: &[RecordBatch], name: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for b in batches {
        let col = b.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
        match col.data_type() {
            DataType::Int64 => out.extend(col.as_primitive::<Int64Type>().values().iter().copied()),
            DataType::Int32 => out.extend(col.as_primitive::<Int32Type>().values().iter().map(|v| *v as i64)),
            other => panic!("column {name} is {other}"),
        }
    }
    out
}

/// The string column `name` of every batch, in order.
pub fn strings(batches: &[RecordBatch], name: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name(name).unwrap().as_string::<i32>().clone();
            (0..col.len()).map(move |i| col.value(i).to_string()).collect::<Vec<_>>()
        })
        .collect()
}

/// The raw element bytes of row `row` of a numeric fixed-size-list column.
pub fn fixed_cell_bytes(column: &ArrayRef, row: usize) -> Vec<u8> {
    let list: &FixedSizeListArray = column.as_fixed_size_list();
    primitive_bytes(&list.value(row))
}

/// The raw bytes of a (possibly sliced) primitive array.
pub fn primitive_bytes(values: &ArrayRef) -> Vec<u8> {
    let data = values.to_data();
    let width = data.data_type().primitive_width().unwrap();
    data.buffers()[0].as_slice()[data.offset() * width..(data.offset() + data.len()) * width].to_vec()
}

/// `(data bytes, shape)` of row `row` of a variable-shape tensor column.
pub fn variable_cell(column: &ArrayRef, row: usize) -> (Vec<u8>, Vec<usize>) {
    let s = column.as_struct();
    let data = s.column_by_name("data").unwrap().as_list::<i32>().value(row);
    let shape = s.column_by_name("shape").unwrap().as_fixed_size_list().value(row);
    let shape = shape.as_primitive::<Int32Type>().values().iter().map(|d| *d as usize).collect();
    (primitive_bytes(&data), shape)
}

/// The string elements of row `row` of a fixed-shape string tensor column.
pub fn string_cell(column: &ArrayRef, row: usize) -> Vec<String> {
    let list: &FixedSizeListArray = column.as_fixed_size_list();
    let values = list.value(row);
    let values = values.as_string::<i32>();
    (0..values.len()).map(|i| values.value(i).to_string()).collect()
}

/// Encodes a cell of field `name` from little-endian element bytes.
pub fn encode(schema: &Unischema, name: &str, dtype: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let index = schema.fields().iter().position(|f| f.name == name).unwrap();
    encode_cell(schema, index, dtype, shape, false, data).unwrap()
}

pub fn f32_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// UCS-4 bytes of fixed-width (`<U{width}`) strings.
pub fn ucs4(strings: &[&str], width: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for s in strings {
        let mut chars: Vec<u32> = s.chars().map(|c| c as u32).collect();
        chars.resize(width, 0);
        out.extend(chars.iter().flat_map(|c| c.to_le_bytes()));
    }
    out
}

/// Writes `batch` as a Parquet file at `dir/rel` with row groups of `group_rows` rows.
pub fn write_parquet(dir: &Path, rel: &str, batch: &RecordBatch, group_rows: usize) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let props = WriterProperties::builder().set_max_row_group_size(group_rows).build();
    let mut writer = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

/// Writes `_common_metadata` for the `.parquet` files under `dir`.
pub fn write_metadata(dir: &Path, schema: &Unischema) {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                let bytes = std::fs::read(&path).unwrap();
                let len = parquet_footer_len(&bytes[bytes.len() - 8..]).unwrap() as usize;
                out.push((
                    path.strip_prefix(root).unwrap().display().to_string(),
                    bytes[bytes.len() - len - 8..].to_vec(),
                ));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, f)| (p.as_str(), f.as_slice())).collect();
    std::fs::write(dir.join("_common_metadata"), common_metadata(schema, &refs).unwrap()).unwrap();
}

/// The synthetic dataset's schema: scalars, a fixed float tensor, a variable-shape tensor,
/// a string tensor, a nullable compressed tensor and a Hive partition key.
pub const SYNTHETIC: &str = r#"{"name": "Synthetic", "fields": [
 {"name": "id", "dtype": "int64", "shape": [], "codec": {"type": "scalar", "spark_type": "long"}},
 {"name": "id8", "dtype": "uint8", "shape": [], "codec": {"type": "scalar", "spark_type": "short"}},
 {"name": "label", "dtype": "str", "shape": [], "codec": {"type": "scalar", "spark_type": "string"}},
 {"name": "matrix", "dtype": "float32", "shape": [4, 3], "codec": {"type": "ndarray"}},
 {"name": "var", "dtype": "uint8", "shape": [null, 2], "codec": {"type": "ndarray"}},
 {"name": "names", "dtype": "str", "shape": [2], "codec": {"type": "ndarray"}},
 {"name": "emb", "dtype": "float32", "shape": [3], "nullable": true, "codec": {"type": "compressed_ndarray"}},
 {"name": "part", "dtype": "str", "shape": [], "codec": {"type": "scalar", "spark_type": "string"}}]}"#;

/// Partitions, files per partition, row groups per file, rows per row group.
pub const PARTS: usize = 3;
pub const FILES: usize = 2;
pub const GROUPS: usize = 3;
pub const ROWS: usize = 10;
pub const TOTAL: usize = PARTS * FILES * GROUPS * ROWS;

pub fn matrix_value(id: i64) -> Vec<f32> {
    (0..12).map(|k| id as f32 + k as f32 / 100.0).collect()
}

pub fn var_rows(id: i64) -> usize {
    (id % 3) as usize + 1
}

pub fn emb_is_null(id: i64) -> bool {
    id % 5 == 0
}

/// Writes the synthetic dataset (`part=p{k}/file{f}.parquet`, ids 0..TOTAL in path order)
/// with its `_common_metadata`; returns its directory.
pub fn synthetic_dataset(tag: &str) -> PathBuf {
    let dir = temp_dir(tag);
    let schema = Unischema::from_json(SYNTHETIC).unwrap();
    let mut id = 0i64;
    for p in 0..PARTS {
        for f in 0..FILES {
            let n = GROUPS * ROWS;
            let ids: Vec<i64> = (id..id + n as i64).collect();
            id += n as i64;
            let cell =
                |name: &str, dtype: &str, shape: &[usize], data: &[u8]| encode(&schema, name, dtype, shape, data);
            let matrix: Vec<Vec<u8>> =
                ids.iter().map(|&i| cell("matrix", "<f4", &[4, 3], &f32_bytes(matrix_value(i)))).collect();
            let var: Vec<Vec<u8>> =
                ids.iter().map(|&i| cell("var", "|u1", &[var_rows(i), 2], &vec![i as u8; var_rows(i) * 2])).collect();
            let names: Vec<Vec<u8>> =
                ids.iter().map(|&i| cell("names", "<U4", &[2], &ucs4(&[&format!("a{}", i % 100), "b"], 4))).collect();
            let emb: Vec<Option<Vec<u8>>> = ids
                .iter()
                .map(|&i| (!emb_is_null(i)).then(|| cell("emb", "<f4", &[3], &f32_bytes([i as f32; 3]))))
                .collect();
            let binary = |v: &[Vec<u8>]| Arc::new(BinaryArray::from_iter_values(v.iter())) as ArrayRef;
            let columns: Vec<(&str, ArrayRef, bool)> = vec![
                ("id", Arc::new(Int64Array::from(ids.clone())), false),
                (
                    "id8",
                    Arc::new(arrow::array::Int16Array::from_iter_values(ids.iter().map(|i| (i % 200) as i16))),
                    false,
                ),
                ("label", Arc::new(StringArray::from_iter_values(ids.iter().map(|i| format!("L{}", i % 4)))), false),
                ("matrix", binary(&matrix), false),
                ("var", binary(&var), false),
                ("names", binary(&names), false),
                ("emb", Arc::new(BinaryArray::from_iter(emb.iter().map(|c| c.as_deref()))), true),
            ];
            let fields: Vec<ArrowField> =
                columns.iter().map(|(n, a, nullable)| ArrowField::new(*n, a.data_type().clone(), *nullable)).collect();
            let batch =
                RecordBatch::try_new(Arc::new(Schema::new(fields)), columns.into_iter().map(|(_, a, _)| a).collect())
                    .unwrap();
            write_parquet(&dir, &format!("part=p{p}/file{f}.parquet"), &batch, ROWS);
        }
    }
    write_metadata(&dir, &schema);
    dir
}

/// Checks the decoded fields of every row of `batches` against the synthetic values.
pub fn check_synthetic(batches: &[RecordBatch]) {
    for b in batches {
        let ids = ints(std::slice::from_ref(b), "id");
        for (row, &id) in ids.iter().enumerate() {
            if let Some(m) = b.column_by_name("matrix") {
                assert_eq!(fixed_cell_bytes(m, row), f32_bytes(matrix_value(id)), "matrix of id {id}");
            }
            if let Some(v) = b.column_by_name("var") {
                assert_eq!(variable_cell(v, row), (vec![id as u8; var_rows(id) * 2], vec![var_rows(id), 2]));
            }
            if let Some(n) = b.column_by_name("names") {
                assert_eq!(string_cell(n, row), vec![format!("a{}", id % 100), "b".to_string()]);
            }
            if let Some(e) = b.column_by_name("emb") {
                assert_eq!(e.is_null(row), emb_is_null(id), "emb null of id {id}");
                if !emb_is_null(id) {
                    assert_eq!(fixed_cell_bytes(e, row), f32_bytes([id as f32; 3]));
                }
            }
            if let Some(p) = b.column_by_name("part") {
                let part = id as usize / (FILES * GROUPS * ROWS);
                assert_eq!(p.as_string::<i32>().value(row), format!("p{part}"));
            }
            if let Some(u) = b.column_by_name("id8") {
                assert_eq!(u.data_type(), &DataType::UInt8);
                assert_eq!(u.as_primitive::<arrow::datatypes::UInt8Type>().value(row) as i64, id % 200);
            }
        }
    }
}

/// `ArrayDType` for a field's NumPy type of `kind`/`itemsize`.
pub fn dtype(kind: Kind, itemsize: usize) -> ArrayDType {
    ArrayDType::native(kind, itemsize)
}

/// Borrowed tensor bytes, for encoding helpers.
pub fn tensor<'a>(dtype: ArrayDType, shape: &'a [usize], data: &'a [u8]) -> TensorRef<'a> {
    TensorRef { dtype, shape, fortran_order: false, data }
}
