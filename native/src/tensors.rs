//! Decoded batch columns as [`ndarray`] arrays, for Rust trainers (burn, candle, tch-rs, ...).
//!
//! A numeric scalar column is a 1-D array of its rows and a fixed-shape tensor column one array
//! of shape `(rows, *shape)`, both borrowed from the batch without a copy ([`column_view`]);
//! any tensor column, variable shape included, is one owned array per row ([`tensor_cells`]).
//! The element type is chosen with an Arrow type (`UInt8Type` for `np.uint8`, ...).

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use arrow::datatypes::{ArrowPrimitiveType, DataType, Int32Type};
use arrow::record_batch::RecordBatch;
use arrow_schema::extension::EXTENSION_TYPE_METADATA_KEY;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::error::{Error, Result};

/// Column `name` of `batch` without a copy: shape `(rows,)` for a numeric scalar column,
/// `(rows, *shape)` for a fixed-shape tensor column. A null row is an error (a dense array
/// cannot hold it; [`tensor_cells`] can).
pub fn column_view<'a, T: ArrowPrimitiveType>(batch: &'a RecordBatch, name: &str) -> Result<ArrayViewD<'a, T::Native>> {
    let array = column(batch, name)?;
    if let Some(row) = (0..array.len()).find(|&i| array.is_null(i)) {
        return Err(Error::value(format!(
            "field '{name}': row {row} is null; a dense array cannot hold it (use tensor_cells)"
        )));
    }
    let (shape, values) = match fixed_shape(batch, name)? {
        None => (vec![array.len()], primitive::<T>(name, array)?.values().as_ref()),
        Some(cell) => {
            let list = array.as_fixed_size_list_opt().ok_or_else(|| not_a_tensor(name, array))?;
            let size: usize = cell.iter().product();
            let start = list.value_offset(0) as usize;
            let values = primitive::<T>(name, list.values())?.values();
            (std::iter::once(array.len()).chain(cell).collect(), &values[start..start + array.len() * size])
        }
    };
    ArrayViewD::from_shape(IxDyn(&shape), values).map_err(|e| Error::internal(format!("field '{name}': {e}")))
}

/// Each row of tensor column `name` of `batch` as an owned array of the cell's shape; `None` for
/// a null cell.
pub fn tensor_cells<T: ArrowPrimitiveType>(batch: &RecordBatch, name: &str) -> Result<Vec<Option<ArrayD<T::Native>>>> {
    let array = column(batch, name)?;
    let fixed = fixed_shape(batch, name)?;
    let cell = |row: usize| -> Result<ArrayD<T::Native>> {
        let (shape, values): (Vec<usize>, ArrayRef) = match (&fixed, array.data_type()) {
            (Some(shape), DataType::FixedSizeList(..)) => (shape.clone(), array.as_fixed_size_list().value(row)),
            (None, DataType::Struct(_)) => {
                let parts = array.as_struct();
                let dims = parts.column_by_name("shape").and_then(|s| s.as_fixed_size_list_opt()).map(|s| s.value(row));
                let shape = primitive::<Int32Type>(name, &dims.ok_or_else(|| not_a_tensor(name, array))?)?
                    .values()
                    .iter()
                    .map(|&d| d as usize)
                    .collect();
                let data = parts.column_by_name("data").and_then(|d| d.as_list_opt::<i32>());
                (shape, data.ok_or_else(|| not_a_tensor(name, array))?.value(row))
            }
            _ => return Err(not_a_tensor(name, array)),
        };
        let data = primitive::<T>(name, &values)?.values().to_vec();
        ArrayD::from_shape_vec(IxDyn(&shape), data)
            .map_err(|e| Error::decode(format!("field '{name}': row {row}: {e}")))
    };
    (0..array.len()).map(|row| if array.is_null(row) { Ok(None) } else { cell(row).map(Some) }).collect()
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        Error::value(format!("field '{name}' is not in the batch (columns: {})", names.join(", ")))
    })
}

/// The cell shape of a fixed-shape tensor column (`None` for any other column).
fn fixed_shape(batch: &RecordBatch, name: &str) -> Result<Option<Vec<usize>>> {
    let schema = batch.schema();
    let Some(json) = schema.field_with_name(name).ok().and_then(|f| f.metadata().get(EXTENSION_TYPE_METADATA_KEY))
    else {
        return Ok(None);
    };
    let metadata: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| Error::decode(format!("field '{name}': tensor metadata {json}: {e}")))?;
    serde_json::from_value(metadata["shape"].clone())
        .map(Some)
        .map_err(|e| Error::decode(format!("field '{name}': tensor metadata {json}: {e}")))
}

fn primitive<'a, T: ArrowPrimitiveType>(name: &str, array: &'a ArrayRef) -> Result<&'a PrimitiveArray<T>> {
    array.as_primitive_opt::<T>().ok_or_else(|| {
        Error::type_error(format!("field '{name}': elements are {}, not {}", array.data_type(), T::DATA_TYPE))
    })
}

fn not_a_tensor(name: &str, array: &ArrayRef) -> Error {
    Error::type_error(format!("field '{name}': a {} column is not a tensor column", array.data_type()))
}
