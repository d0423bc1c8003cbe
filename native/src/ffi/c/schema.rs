//! C ABI: schema handles, row checks, cell encoding and decoded arrays.

use std::ffi::{c_char, c_void, CString};

use arrow::ffi::FFI_ArrowSchema;

use super::{out_arg, schema_arg, slice_arg, status, str_arg, write_bytes};
use crate::error::Result;
use crate::ffi::api;
use crate::schema::{decode_cell, encode_cell, pickle, Unischema};

/// Parses and validates Unischema JSON into a handle released by [`pst_schema_free`].
///
/// # Safety
/// `json` is a NUL-terminated string; `out_schema` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_schema_parse(json: *const c_char, out_schema: *mut *mut c_void) -> i32 {
    status(|| {
        let out = out_arg(out_schema, "out_schema")?;
        let schema = Unischema::from_json(str_arg(json, "json")?)?;
        *out = Box::into_raw(Box::new(schema)) as *mut c_void;
        Ok(())
    })
}

/// Releases a schema handle; NULL is a no-op.
///
/// # Safety
/// `schema` is NULL or a live handle from [`pst_schema_parse`], released once.
#[no_mangle]
pub unsafe extern "C" fn pst_schema_free(schema: *mut c_void) {
    crate::ffi::guard::free_handle(schema as *mut Unischema);
}

/// Runs `f` on the schema behind a handle and hands its bytes out.
///
/// # Safety
/// As for the exported functions calling it.
unsafe fn schema_bytes<B: Into<Vec<u8>>>(
    schema: *const c_void,
    out: *mut *mut u8,
    out_len: *mut usize,
    f: impl FnOnce(&Unischema) -> Result<B>,
) -> i32 {
    status(|| write_bytes(out, out_len, f(schema_arg(schema)?)?))
}

/// The schema's Unischema JSON.
///
/// # Safety
/// `schema` is a live handle; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_schema_to_json(schema: *const c_void, out: *mut *mut u8, out_len: *mut usize) -> i32 {
    schema_bytes(schema, out, out_len, |s| Ok(s.to_json()))
}

/// The schema's Spark `StructType` JSON.
///
/// # Safety
/// `schema` is a live handle; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_schema_spark_json(schema: *const c_void, out: *mut *mut u8, out_len: *mut usize) -> i32 {
    schema_bytes(schema, out, out_len, Unischema::spark_schema_json)
}

/// The schema as a pickle upstream Petastorm loads.
///
/// # Safety
/// `schema` is a live handle; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_schema_pickle(schema: *const c_void, out: *mut *mut u8, out_len: *mut usize) -> i32 {
    schema_bytes(schema, out, out_len, |s| Ok(pickle::to_pickle(s)))
}

/// Names (JSON list, schema order) of the fields matching the JSON list of regexes.
///
/// # Safety
/// `schema` is a live handle; `patterns_json` is a NUL-terminated string;
/// `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_schema_match_fields(
    schema: *const c_void,
    patterns_json: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    schema_bytes(schema, out, out_len, |s| api::match_fields(s, str_arg(patterns_json, "patterns_json")?))
}

/// Checks a row's keys (`{"present": [...], "none": [...]}`) against the schema.
///
/// # Safety
/// `schema` is a live handle; `row_json` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pst_validate_row(schema: *const c_void, row_json: *const c_char) -> i32 {
    status(|| api::validate_row_json(schema_arg(schema)?, str_arg(row_json, "row_json")?))
}

/// Checks and encodes one value (see "Cell encoding contract"); empty bytes for scalars.
///
/// # Safety
/// `schema` is a live handle; `dtype` a NUL-terminated string; `shape` holds `ndim` and
/// `data` holds `data_len` readable elements; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_encode_cell(
    schema: *const c_void,
    field_index: usize,
    dtype: *const c_char,
    shape: *const i64,
    ndim: usize,
    fortran_order: i32,
    data: *const u8,
    data_len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    schema_bytes(schema, out, out_len, |s| {
        let shape = api::shape(slice_arg(shape, ndim, "shape")?)?;
        let data = slice_arg(data, data_len, "data")?;
        encode_cell(s, field_index, str_arg(dtype, "dtype")?, &shape, fortran_order != 0, data)
    })
}

/// A decoded cell: NumPy dtype string, shape and C-order little-endian data.
pub struct DecodedArray {
    dtype: CString,
    shape: Vec<i64>,
    data: Vec<u8>,
}

/// Decodes a binary cell into an array handle released by [`pst_array_free`].
///
/// # Safety
/// `schema` is a live handle; `cell` holds `cell_len` bytes; `out_array` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_decode_cell(
    schema: *const c_void,
    field_index: usize,
    cell: *const u8,
    cell_len: usize,
    out_array: *mut *mut c_void,
) -> i32 {
    status(|| {
        let out = out_arg(out_array, "out_array")?;
        let t = decode_cell(schema_arg(schema)?, field_index, slice_arg(cell, cell_len, "cell")?)?;
        let array = DecodedArray {
            dtype: CString::new(t.dtype.descr()).expect("dtype strings have no NUL"),
            shape: t.shape.iter().map(|&d| d as i64).collect(),
            data: t.data,
        };
        *out = Box::into_raw(Box::new(array)) as *mut c_void;
        Ok(())
    })
}

/// The parts of a decoded array; the pointers stay valid until [`pst_array_free`].
///
/// # Safety
/// `array` is a live handle from [`pst_decode_cell`]; every out-pointer is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_array_info(
    array: *const c_void,
    dtype: *mut *const c_char,
    shape: *mut *const i64,
    ndim: *mut usize,
    data: *mut *const u8,
    data_len: *mut usize,
) -> i32 {
    status(|| {
        let a = (array as *const DecodedArray).as_ref().ok_or_else(|| crate::Error::value("array handle is NULL"))?;
        *out_arg(dtype, "dtype")? = a.dtype.as_ptr();
        *out_arg(shape, "shape")? = a.shape.as_ptr();
        *out_arg(ndim, "ndim")? = a.shape.len();
        *out_arg(data, "data")? = a.data.as_ptr();
        *out_arg(data_len, "data_len")? = a.data.len();
        Ok(())
    })
}

/// Releases a decoded array; NULL is a no-op.
///
/// # Safety
/// `array` is NULL or a live handle from [`pst_decode_cell`], released once.
#[no_mangle]
pub unsafe extern "C" fn pst_array_free(array: *mut c_void) {
    crate::ffi::guard::free_handle(array as *mut DecodedArray);
}

/// The Unischema JSON inferred from an Arrow schema (`schema::from_arrow`), like upstream's
/// `Unischema.from_arrow_schema`; each key of the JSON list `partition_keys_json` that is not
/// a column becomes a `str` field. The Arrow struct is moved in: this call releases it.
///
/// # Safety
/// `arrow_schema` points to a valid, unreleased Arrow C Data `ArrowSchema`; `partition_keys_json`
/// is a NUL-terminated string; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_schema_from_arrow(
    arrow_schema: *mut c_void,
    partition_keys_json: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        let ffi = (arrow_schema as *mut FFI_ArrowSchema)
            .as_mut()
            .ok_or_else(|| crate::Error::value("arrow_schema is NULL"))?;
        let owned = std::mem::replace(ffi, FFI_ArrowSchema::empty()); // released when dropped
        let json = api::unischema_from_arrow(&owned, str_arg(partition_keys_json, "partition_keys_json")?)?;
        write_bytes(out, out_len, json)
    })
}
