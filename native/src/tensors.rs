//! Decoded batch columns as [`ndarray`] arrays, for Rust trainers (burn, candle, tch-rs, ...).
//!
//! A numeric scalar column is a 1-D array of its rows and a fixed-shape tensor column one array
//! of shape `(rows, *shape)`, both borrowed from the batch without a copy ([`column_view`]);
//! any tensor column, variable shape included, is one owned array per row ([`tensor_cells`]).
//! Arrays have the logical shape: a column with a `permutation` (reader option `planar_images`)
//! gives views with permuted strides, e.g. `(rows, H, W, 3)` over channel planes.
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
    let tensor = fixed_shape(batch, name)?;
    let (shape, values) = match &tensor {
        None => (vec![array.len()], primitive::<T>(name, array)?.values().as_ref()),
        Some(Tensor { shape: cell, .. }) => {
            let list = array.as_fixed_size_list_opt().ok_or_else(|| not_a_tensor(name, array))?;
            let size: usize = cell.iter().product();
            let start = list.value_offset(0) as usize;
            let values = primitive::<T>(name, list.values())?.values();
            (
                std::iter::once(array.len()).chain(cell.iter().copied()).collect(),
                &values[start..start + array.len() * size],
            )
        }
    };
    let view =
        ArrayViewD::from_shape(IxDyn(&shape), values).map_err(|e| Error::internal(format!("field '{name}': {e}")))?;
    Ok(match tensor.and_then(|t| t.permutation) {
        Some(p) => view.permuted_axes(IxDyn(&std::iter::once(0).chain(p.iter().map(|a| a + 1)).collect::<Vec<_>>())),
        None => view,
    })
}

/// Each row of tensor column `name` of `batch` as an owned array of the cell's shape; `None` for
/// a null cell.
pub fn tensor_cells<T: ArrowPrimitiveType>(batch: &RecordBatch, name: &str) -> Result<Vec<Option<ArrayD<T::Native>>>> {
    let array = column(batch, name)?;
    let fixed = fixed_shape(batch, name)?;
    let cell = |row: usize| -> Result<ArrayD<T::Native>> {
        let (shape, values): (Vec<usize>, ArrayRef) = match (&fixed, array.data_type()) {
            (Some(t), DataType::FixedSizeList(..)) => (t.shape.clone(), array.as_fixed_size_list().value(row)),
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
        let cell = ArrayD::from_shape_vec(IxDyn(&shape), data)
            .map_err(|e| Error::decode(format!("field '{name}': row {row}: {e}")))?;
        Ok(match fixed.as_ref().and_then(|t| t.permutation.as_ref()) {
            Some(p) => cell.permuted_axes(IxDyn(p)),
            None => cell,
        })
    };
    (0..array.len()).map(|row| if array.is_null(row) { Ok(None) } else { cell(row).map(Some) }).collect()
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        Error::value(format!("field '{name}' is not in the batch (columns: {})", names.join(", ")))
    })
}

/// A fixed-shape tensor column's extension metadata: the physical cell shape and the optional
/// permutation (logical axis `i` is physical axis `permutation[i]`).
#[derive(serde::Deserialize)]
struct Tensor {
    shape: Vec<usize>,
    #[serde(default)]
    permutation: Option<Vec<usize>>,
}

/// The metadata of a fixed-shape tensor column (`None` for any other column).
fn fixed_shape(batch: &RecordBatch, name: &str) -> Result<Option<Tensor>> {
    let schema = batch.schema();
    let Some(json) = schema.field_with_name(name).ok().and_then(|f| f.metadata().get(EXTENSION_TYPE_METADATA_KEY))
    else {
        return Ok(None);
    };
    let bad = |e: String| Error::decode(format!("field '{name}': tensor metadata {json}: {e}"));
    let tensor: Tensor = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    if let Some(p) = &tensor.permutation {
        let mut axes = p.clone();
        axes.sort_unstable();
        if !axes.iter().copied().eq(0..tensor.shape.len()) {
            return Err(bad(format!("permutation {p:?} is not a permutation of the {} axes", tensor.shape.len())));
        }
    }
    Ok(Some(tensor))
}

fn primitive<'a, T: ArrowPrimitiveType>(name: &str, array: &'a ArrayRef) -> Result<&'a PrimitiveArray<T>> {
    array.as_primitive_opt::<T>().ok_or_else(|| {
        Error::type_error(format!("field '{name}': elements are {}, not {}", array.data_type(), T::DATA_TYPE))
    })
}

fn not_a_tensor(name: &str, array: &ArrayRef) -> Error {
    Error::type_error(format!("field '{name}': a {} column is not a tensor column", array.data_type()))
}
