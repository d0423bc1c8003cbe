//! C ABI: the native Parquet part-file writer (`dataset::writer`), the commit protocol
//! (`dataset::commit`) and `_common_metadata` (`dataset::summary`) of datasets written by Python
//! workers, on any store of the storage layer.

use std::ffi::{c_char, c_void};

use super::{opt_str_arg, out_arg, schema_arg, slice_arg, status, str_arg, write_bytes};
use crate::dataset::writer::{unsupported_field, PartWriter, SharedPartWriter};
use crate::dataset::{commit, summary};
use crate::error::{Error, Result};
use crate::ffi::api;
use crate::storage::{self, Location};

/// The writer behind a handle from [`pst_writer_open`].
///
/// # Safety
/// `ptr` is null or a live handle from [`pst_writer_open`].
unsafe fn writer_arg<'a>(ptr: *const c_void) -> Result<&'a SharedPartWriter> {
    (ptr as *const SharedPartWriter).as_ref().ok_or_else(|| Error::value("writer handle is NULL"))
}

/// Runs `f` on the open writer behind `writer`.
///
/// # Safety
/// `writer` is null or a live handle.
unsafe fn with_writer(writer: *mut c_void, f: impl FnOnce(&mut PartWriter) -> Result<()>) -> i32 {
    status(|| writer_arg(writer)?.with(f))
}

/// Why the native writer cannot write the schema (a field of a date, timestamp or decimal
/// type); empty when it can.
///
/// # Safety
/// `schema` is a live handle; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_unsupported(schema: *const c_void, out: *mut *mut u8, out_len: *mut usize) -> i32 {
    status(|| write_bytes(out, out_len, unsupported_field(schema_arg(schema)?).unwrap_or_default()))
}

/// Creates a Parquet file at `url` (a local path or `file:` URL, its missing folders created; or
/// an object on any store of the storage layer, uploaded in parts and visible only once finished)
/// and a writer handle for it, released by [`pst_writer_free`].
///
/// # Safety
/// `schema` is a live handle; `url` and `compression` are NUL-terminated strings, `options_json`
/// NULL or one; `out_writer` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_open(
    schema: *const c_void,
    url: *const c_char,
    options_json: *const c_char,
    row_group_bytes: u64,
    compression: *const c_char,
    out_writer: *mut *mut c_void,
) -> i32 {
    status(|| {
        let out = out_arg(out_writer, "out_writer")?;
        let row_group_bytes = usize::try_from(row_group_bytes)
            .map_err(|_| Error::value(format!("invalid row group size {row_group_bytes}")))?;
        let options = api::storage_options(opt_str_arg(options_json, "options_json")?)?;
        let schema = schema_arg(schema)?.clone();
        let compression = str_arg(compression, "compression")?;
        let writer = PartWriter::to_url(schema, str_arg(url, "url")?, &options, row_group_bytes, compression)?;
        *out = Box::into_raw(Box::new(SharedPartWriter::new(writer))) as *mut c_void;
        Ok(())
    })
}

/// Puts null into field `index` of the current row.
///
/// # Safety
/// `writer` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_put_null(writer: *mut c_void, index: usize) -> i32 {
    with_writer(writer, |w| w.put_null(index))
}

/// Puts a boolean (non-zero: true).
///
/// # Safety
/// `writer` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_put_bool(writer: *mut c_void, index: usize, value: i32) -> i32 {
    with_writer(writer, |w| w.put_bool(index, value != 0))
}

/// Puts an integer into a byte/short/integer/long column (range-checked).
///
/// # Safety
/// `writer` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_put_long(writer: *mut c_void, index: usize, value: i64) -> i32 {
    with_writer(writer, |w| w.put_long(index, value))
}

/// Puts a number into a float or double column.
///
/// # Safety
/// `writer` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_put_double(writer: *mut c_void, index: usize, value: f64) -> i32 {
    with_writer(writer, |w| w.put_double(index, value))
}

/// Puts a UTF-8 string of `len` bytes.
///
/// # Safety
/// `writer` is a live handle; `value` holds `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_put_str(writer: *mut c_void, index: usize, value: *const u8, len: usize) -> i32 {
    with_writer(writer, |w| {
        let text = std::str::from_utf8(slice_arg(value, len, "value")?)
            .map_err(|_| Error::value("value is not valid UTF-8"))?;
        w.put_str(index, text)
    })
}

/// Puts a binary value (a binary scalar, or an already-encoded codec cell).
///
/// # Safety
/// `writer` is a live handle; `value` holds `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_put_bytes(writer: *mut c_void, index: usize, value: *const u8, len: usize) -> i32 {
    with_writer(writer, |w| w.put_bytes(index, slice_arg(value, len, "value")?))
}

/// Checks and encodes a NumPy value for codec field `index` as `pst_encode_cell` does, and puts the cell.
///
/// # Safety
/// `writer` is a live handle; `dtype` a NUL-terminated string; `shape` holds `ndim` and `data`
/// holds `data_len` readable elements.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_put_array(
    writer: *mut c_void,
    index: usize,
    dtype: *const c_char,
    shape: *const i64,
    ndim: usize,
    fortran_order: i32,
    data: *const u8,
    data_len: usize,
) -> i32 {
    with_writer(writer, |w| {
        let shape = api::shape(slice_arg(shape, ndim, "shape")?)?;
        let data = slice_arg(data, data_len, "data")?;
        w.put_array(index, str_arg(dtype, "dtype")?, &shape, fortran_order != 0, data)
    })
}

/// Ends the current row (fields not put are null).
///
/// # Safety
/// `writer` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_end_row(writer: *mut c_void) -> i32 {
    with_writer(writer, |w| w.end_row())
}

/// Writes the remaining rows and the footer, and closes the file; later calls are `Value` errors.
///
/// # Safety
/// `writer` is a live handle; `out_rows` and `out_row_groups` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_finish(writer: *mut c_void, out_rows: *mut u64, out_row_groups: *mut u64) -> i32 {
    status(|| {
        let (out_rows, out_row_groups) = (out_arg(out_rows, "out_rows")?, out_arg(out_row_groups, "out_row_groups")?);
        let (rows, row_groups) = writer_arg(writer)?.finish()?;
        *out_rows = rows;
        *out_row_groups = row_groups as u64;
        Ok(())
    })
}

/// Frees a writer, finished or not (an unfinished file is left as it is: the caller deletes it).
/// NULL is a no-op.
///
/// # Safety
/// `writer` is NULL or a live handle from [`pst_writer_open`], released once.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_free(writer: *mut c_void) {
    crate::ffi::guard::free_handle(writer as *mut SharedPartWriter);
}

/// The dataset root at `url` (any store) with `options_json` (NULL or a JSON object of strings).
///
/// # Safety
/// `url` is a NUL-terminated string, `options_json` NULL or one.
unsafe fn root_arg(url: *const c_char, options_json: *const c_char) -> Result<Location> {
    storage::open(str_arg(url, "url")?, &api::storage_options(opt_str_arg(options_json, "options_json")?)?)
}

/// Applies save mode `mode` to the dataset at `url`; `*out_proceed` is 0 when there is nothing
/// to write (`ignore` and the dataset exists).
///
/// # Safety
/// `url` and `mode` are NUL-terminated strings, `options_json` NULL or one; `out_proceed` is
/// valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_dataset_prepare(
    url: *const c_char,
    options_json: *const c_char,
    mode: *const c_char,
    out_proceed: *mut i32,
) -> i32 {
    status(|| {
        let out = out_arg(out_proceed, "out_proceed")?;
        *out = i32::from(commit::prepare(&root_arg(url, options_json)?, str_arg(mode, "mode")?)?);
        Ok(())
    })
}

/// The staging URL where attempt `attempt` of job `job` writes partition `partition`.
///
/// # Safety
/// `url` and `job` are NUL-terminated strings; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_dataset_part_url(
    url: *const c_char,
    job: *const c_char,
    partition: u32,
    attempt: u64,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        write_bytes(out, out_len, commit::part_url(str_arg(url, "url")?, str_arg(job, "job")?, partition, attempt)?)
    })
}

/// Commits job `job`: moves its parts (`[[partition, URL], ...]` JSON) into place and creates `_SUCCESS`.
///
/// # Safety
/// `url`, `job` and `parts_json` are NUL-terminated strings, `options_json` NULL or one.
#[no_mangle]
pub unsafe extern "C" fn pst_dataset_commit(
    url: *const c_char,
    options_json: *const c_char,
    job: *const c_char,
    parts_json: *const c_char,
) -> i32 {
    status(|| {
        let parts: Vec<(u32, String)> = serde_json::from_str(str_arg(parts_json, "parts_json")?)
            .map_err(|e| Error::value(format!("invalid parts JSON: {e}")))?;
        commit::commit(&root_arg(url, options_json)?, str_arg(job, "job")?, &parts)
    })
}

/// Removes the staging files of job `job`.
///
/// # Safety
/// `url` and `job` are NUL-terminated strings, `options_json` NULL or one.
#[no_mangle]
pub unsafe extern "C" fn pst_dataset_abort(url: *const c_char, options_json: *const c_char, job: *const c_char) -> i32 {
    status(|| commit::abort(&root_arg(url, options_json)?, str_arg(job, "job")?))
}

/// Writes `_common_metadata` (atomically) for the data files under `url` and the schema;
/// `*out_files` is the number of data files described.
///
/// # Safety
/// `schema` is a live handle; `url` is a NUL-terminated string, `options_json` NULL or one;
/// `out_files` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_dataset_write_metadata(
    schema: *const c_void,
    url: *const c_char,
    options_json: *const c_char,
    out_files: *mut u64,
) -> i32 {
    status(|| {
        let files = summary::write_common_metadata(&root_arg(url, options_json)?, schema_arg(schema)?)?;
        *out_arg(out_files, "out_files")? = files as u64;
        Ok(())
    })
}

/// Sets `key` to the `value_len` bytes at `value` in the `_common_metadata` of the dataset at
/// `url`, keeping its schema and other keys; the file is replaced atomically.
///
/// # Safety
/// `url` and `key` are NUL-terminated strings, `options_json` NULL or one; `value` holds
/// `value_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn pst_dataset_set_metadata(
    url: *const c_char,
    options_json: *const c_char,
    key: *const c_char,
    value: *const u8,
    value_len: usize,
) -> i32 {
    status(|| {
        api::dataset_set_metadata(
            str_arg(url, "url")?,
            opt_str_arg(options_json, "options_json")?,
            str_arg(key, "key")?,
            slice_arg(value, value_len, "value")?,
        )
    })
}
