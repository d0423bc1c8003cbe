//! The Rust API (`Reader`, `ReaderOptions`, `tensors`) on datasets upstream Petastorm wrote:
//! ndarray views and cells hold exactly the decoded Arrow batches' values and shapes.

use std::path::PathBuf;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float32Type, Int32Type, Int64Type, UInt8Type};
use petastorm_native::{tensors, Reader, ReaderOptions};

fn read(name: &str, fields: &[&str]) -> (Reader, Vec<RecordBatch>) {
    read_with(name, fields, false)
}

fn read_with(name: &str, fields: &[&str], planar_images: bool) -> (Reader, Vec<RecordBatch>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/petastorm-0.13.1").join(name);
    let mut options = ReaderOptions::for_url(&format!("file://{}", dir.display()));
    options.schema_fields = Some(fields.iter().map(|f| f.to_string()).collect());
    options.planar_images = planar_images;
    options.shuffle_row_groups = false;
    options.workers_count = 2;
    let reader = Reader::open(&options).unwrap();
    let batches = reader.batches().collect::<petastorm_native::Result<Vec<_>>>().unwrap();
    (reader, batches)
}

#[test]
fn fixed_shape_and_scalar_columns_are_views_of_the_batch() {
    let (reader, batches) = read("mnist", &["image", "idx"]);
    let names: Vec<&str> = reader.schema().fields().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["idx", "image"]);
    let mut ids = Vec::new();
    for batch in &batches {
        let images = tensors::column_view::<UInt8Type>(batch, "image").unwrap();
        assert_eq!(images.shape(), [batch.num_rows(), 28, 28]);
        let stored = batch.column_by_name("image").unwrap().as_fixed_size_list();
        let cells = tensors::tensor_cells::<UInt8Type>(batch, "image").unwrap();
        for (row, cell) in cells.iter().enumerate() {
            let expected = stored.value(row).as_primitive::<UInt8Type>().values().to_vec();
            let image = images.index_axis(ndarray::Axis(0), row);
            assert_eq!(image.iter().copied().collect::<Vec<u8>>(), expected, "row {row}");
            assert_eq!(cell.as_ref().unwrap(), &image.into_dyn());
        }
        assert_eq!(cells.len(), batch.num_rows());
        let idx = tensors::column_view::<Int64Type>(batch, "idx").unwrap();
        assert_eq!(idx.shape(), [batch.num_rows()]);
        assert_eq!(
            idx.as_slice().unwrap(),
            batch.column_by_name("idx").unwrap().as_primitive::<Int64Type>().values().as_ref()
        );
        ids.extend(idx.iter().copied());
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..300).collect::<Vec<i64>>());
}

#[test]
fn planar_images_are_permuted_views_with_the_values_of_interleaved_ones() {
    let (_, interleaved) = read("hello", &["id", "image1"]);
    let (_, planar) = read_with("hello", &["id", "image1"], true);
    assert_eq!(interleaved.len(), planar.len());
    for (before, after) in interleaved.iter().zip(&planar) {
        let metadata = after.schema().field_with_name("image1").unwrap().metadata().clone();
        assert_eq!(metadata["ARROW:extension:metadata"], r#"{"permutation":[1,2,0],"shape":[3,128,256]}"#);
        let (want, got) = (
            tensors::column_view::<UInt8Type>(before, "image1").unwrap(),
            tensors::column_view::<UInt8Type>(after, "image1").unwrap(),
        );
        assert_eq!(got.shape(), [after.num_rows(), 128, 256, 3]);
        assert_eq!(got.strides(), [3 * 128 * 256, 256, 1, 128 * 256], "(H, W, 3) views of the planes");
        assert_eq!(got, want);
        let cells = tensors::tensor_cells::<UInt8Type>(after, "image1").unwrap();
        for (row, cell) in cells.iter().enumerate() {
            assert_eq!(cell.as_ref().unwrap(), &want.index_axis(ndarray::Axis(0), row).into_dyn(), "row {row}");
        }
    }
}

#[test]
fn variable_shape_cells_keep_each_rows_shape() {
    let (_, batches) = read("hello", &["id", "array_4d"]);
    let mut rows = 0;
    for batch in &batches {
        let cells = tensors::tensor_cells::<UInt8Type>(batch, "array_4d").unwrap();
        let stored = batch.column_by_name("array_4d").unwrap().as_struct();
        for (row, cell) in cells.iter().enumerate() {
            let cell = cell.as_ref().unwrap();
            let shape = stored.column_by_name("shape").unwrap().as_fixed_size_list().value(row);
            let shape: Vec<usize> = shape.as_primitive::<Int32Type>().values().iter().map(|&d| d as usize).collect();
            assert_eq!(cell.shape(), shape.as_slice());
            assert_eq!(&shape[1..3], [128, 30]);
            let data = stored.column_by_name("data").unwrap().as_list::<i32>().value(row);
            assert_eq!(cell.iter().copied().collect::<Vec<u8>>(), data.as_primitive::<UInt8Type>().values().to_vec());
        }
        rows += cells.len();
        let err = tensors::column_view::<UInt8Type>(batch, "array_4d").unwrap_err();
        assert!(err.message().contains("field 'array_4d'"), "{err}");
    }
    assert_eq!(rows, 20);
}

#[test]
fn null_cells_are_none_and_refused_by_views() {
    let (_, batches) = read("jpeg", &["id", "embedding"]);
    let (mut nulls, mut rows) = (0, 0);
    for batch in &batches {
        let stored = batch.column_by_name("embedding").unwrap();
        let cells = tensors::tensor_cells::<Float32Type>(batch, "embedding").unwrap();
        for (row, cell) in cells.iter().enumerate() {
            assert_eq!(cell.is_none(), stored.is_null(row));
            if let Some(cell) = cell {
                assert_eq!(cell.shape(), [128]);
            }
        }
        nulls += stored.null_count();
        rows += cells.len();
        if stored.null_count() > 0 {
            let err = tensors::column_view::<Float32Type>(batch, "embedding").unwrap_err();
            assert!(err.message().contains("field 'embedding': row") && err.message().contains("is null"), "{err}");
        }
    }
    assert_eq!((rows, nulls), (40, 6));
}

#[test]
fn errors_name_the_field() {
    let (_, batches) = read("mnist", &["idx", "image"]);
    let err = tensors::column_view::<Float32Type>(&batches[0], "image").unwrap_err();
    assert!(err.message().contains("field 'image': elements are UInt8, not Float32"), "{err}");
    let err = tensors::column_view::<UInt8Type>(&batches[0], "digit").unwrap_err();
    assert!(err.message().contains("field 'digit' is not in the batch (columns: idx, image)"), "{err}");
    let err = tensors::tensor_cells::<Int64Type>(&batches[0], "idx").unwrap_err();
    assert!(err.message().contains("field 'idx': a Int64 column is not a tensor column"), "{err}");
}
