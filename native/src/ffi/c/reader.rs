//! C ABI: the dataset reader (`docs/ffi.md`, "Reader"). Batches cross as Arrow C Data
//! structs that the caller allocates; this file only converts arguments and results.

use std::ffi::{c_char, c_void};

use arrow::array::{Array, StructArray};
use arrow::ffi::{to_ffi, FFI_ArrowArray, FFI_ArrowSchema};

use super::{opt_str_arg, out_arg, status, str_arg, write_bytes};
use crate::dataset::discovery::dataset_schema;
use crate::dataset::options::ReaderOptions;
use crate::dataset::reader::Reader;
use crate::error::{Error, Result};
use crate::ffi::api;

/// The reader behind a handle.
///
/// # Safety
/// `ptr` is null or a live handle from [`pst_reader_open`].
unsafe fn reader_arg<'a>(ptr: *const c_void) -> Result<&'a Reader> {
    (ptr as *const Reader).as_ref().ok_or_else(|| Error::value("reader handle is NULL"))
}

/// Opens a reader from the options JSON; the handle is released by [`pst_reader_free`].
///
/// # Safety
/// `options_json` is a NUL-terminated string; `out_reader` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_reader_open(options_json: *const c_char, out_reader: *mut *mut c_void) -> i32 {
    status(|| {
        let out = out_arg(out_reader, "out_reader")?;
        let reader = Reader::open(&ReaderOptions::from_json(str_arg(options_json, "options_json")?)?)?;
        *out = Box::into_raw(Box::new(reader)) as *mut c_void;
        Ok(())
    })
}

/// The Unischema JSON of the schema view: the fields the reader returns.
///
/// # Safety
/// `reader` is a live handle; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_reader_schema(reader: *const c_void, out: *mut *mut u8, out_len: *mut usize) -> i32 {
    status(|| write_bytes(out, out_len, reader_arg(reader)?.schema().to_json()))
}

/// The Unischema JSON of the columns of each batch: the view's fields, then the
/// `predicate_fields` the view lacks.
///
/// # Safety
/// `reader` is a live handle; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_reader_batch_schema(reader: *const c_void, out: *mut *mut u8, out_len: *mut usize) -> i32 {
    status(|| write_bytes(out, out_len, reader_arg(reader)?.batch_schema().to_json()))
}

/// JSON facts about one epoch of the plan (`row_groups`, `items`, `files`, `rows`, ...).
///
/// # Safety
/// `reader` is a live handle; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_reader_info(reader: *const c_void, out: *mut *mut u8, out_len: *mut usize) -> i32 {
    status(|| write_bytes(out, out_len, reader_arg(reader)?.info_json()?))
}

/// Blocks for the next batch. On success with `*out_eof == 0` the batch is moved into the
/// caller's `struct ArrowArray` / `struct ArrowSchema` (a struct array of the columns); with
/// `*out_eof == 1` there is no more data and both structs are left untouched.
///
/// # Safety
/// `reader` is a live handle; `out_array`, `out_schema` point to writable (uninitialized or
/// released) Arrow C structs; `out_eof` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_reader_next(
    reader: *mut c_void,
    out_array: *mut c_void,
    out_schema: *mut c_void,
    out_eof: *mut i32,
) -> i32 {
    status(|| {
        let eof = out_arg(out_eof, "out_eof")?;
        if out_array.is_null() || out_schema.is_null() {
            return Err(Error::value("out_array and out_schema must not be NULL"));
        }
        match reader_arg(reader)?.next()? {
            None => *eof = 1,
            Some(batch) => {
                let (array, schema) = to_ffi(&StructArray::from(batch).to_data())
                    .map_err(|e| Error::internal(format!("exporting the batch: {e}")))?;
                std::ptr::write(out_array as *mut FFI_ArrowArray, array);
                std::ptr::write(out_schema as *mut FFI_ArrowSchema, schema);
                *eof = 0;
            }
        }
        Ok(())
    })
}

/// Stops the reader promptly; later `next` calls report end of data. Idempotent.
///
/// # Safety
/// `reader` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn pst_reader_stop(reader: *mut c_void) -> i32 {
    status(|| reader_arg(reader)?.stop())
}

/// Restarts the plan from its next epoch (after a stop or the last batch).
///
/// # Safety
/// `reader` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn pst_reader_reset(reader: *mut c_void) -> i32 {
    status(|| reader_arg(reader)?.reset())
}

/// Stops and frees the reader; NULL is a no-op. No other call may be running on it.
///
/// # Safety
/// `reader` is NULL or a live handle, released once.
#[no_mangle]
pub unsafe extern "C" fn pst_reader_free(reader: *mut c_void) {
    crate::ffi::guard::free_handle(reader as *mut Reader);
}

/// The Unischema JSON of the dataset at `url` (from its metadata, or inferred).
///
/// # Safety
/// `url` is a NUL-terminated string, `storage_options_json` NULL or one (a JSON object of
/// strings); `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_dataset_schema(
    url: *const c_char,
    storage_options_json: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        let url = str_arg(url, "url")?;
        let options = api::storage_options(opt_str_arg(storage_options_json, "storage_options_json")?)?;
        write_bytes(out, out_len, dataset_schema(url, &options)?.to_json())
    })
}

/// The data files of the dataset at `url` with their row-group counts, in the order the reader
/// numbers row groups (`row_groups` option, row-group indexes): JSON `[["rel/path", n], ...]`.
///
/// # Safety
/// `url` is a NUL-terminated string, `storage_options_json` NULL or one; `out`/`out_len` are
/// valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_dataset_pieces(
    url: *const c_char,
    storage_options_json: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        let pieces =
            api::dataset_pieces(str_arg(url, "url")?, opt_str_arg(storage_options_json, "storage_options_json")?)?;
        write_bytes(out, out_len, pieces)
    })
}
