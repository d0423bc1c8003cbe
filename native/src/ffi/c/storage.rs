//! C ABI: the storage layer (`crate::storage`) for the bindings' file rules: directory URLs,
//! recursive delete, atomic write, read, and data-file listing on any supported store.

use std::ffi::c_char;

use super::{opt_str_arg, out_arg, status, str_arg, write_bytes};
use crate::ffi::api;
use crate::storage;

/// The directory URL `url` as the converters name it (`storage::normalize_dir_url`).
///
/// # Safety
/// `url` is a NUL-terminated string; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_storage_normalize_dir_url(
    url: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| write_bytes(out, out_len, storage::normalize_dir_url(str_arg(url, "url")?)))
}

/// An existing directory given by URL or plain path, as the converters name it
/// (`storage::existing_dir_url`).
///
/// # Safety
/// `url` is a NUL-terminated string; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_storage_existing_dir_url(
    url: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| write_bytes(out, out_len, storage::existing_dir_url(str_arg(url, "url")?)?))
}

/// Deletes everything at `url` recursively; `*out_deleted` is 1 when something was there.
///
/// # Safety
/// `url` is a NUL-terminated string, `options_json` NULL or one; `out_deleted` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_storage_delete(
    url: *const c_char,
    options_json: *const c_char,
    out_deleted: *mut i32,
) -> i32 {
    status(|| {
        let deleted = api::storage_delete(str_arg(url, "url")?, opt_str_arg(options_json, "options_json")?)?;
        *out_arg(out_deleted, "out_deleted")? = i32::from(deleted);
        Ok(())
    })
}

/// The bytes at `url`; `*out_found` is 0 (and nothing is written to `out`) when there are none.
///
/// # Safety
/// `url` is a NUL-terminated string, `options_json` NULL or one; the out-pointers are valid.
#[no_mangle]
pub unsafe extern "C" fn pst_storage_read(
    url: *const c_char,
    options_json: *const c_char,
    out_found: *mut i32,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        let found = api::storage_read(str_arg(url, "url")?, opt_str_arg(options_json, "options_json")?)?;
        *out_arg(out_found, "out_found")? = i32::from(found.is_some());
        match found {
            Some(bytes) => write_bytes(out, out_len, bytes),
            None => Ok(()),
        }
    })
}

/// The data files under the directory `url`: JSON `[[relative path, length], ...]`, sorted.
///
/// # Safety
/// `url` is a NUL-terminated string, `options_json` NULL or one; `out`/`out_len` are valid.
#[no_mangle]
pub unsafe extern "C" fn pst_storage_data_files(
    url: *const c_char,
    options_json: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        let files = api::storage_data_files(str_arg(url, "url")?, opt_str_arg(options_json, "options_json")?)?;
        write_bytes(out, out_len, files)
    })
}

/// The footer of the Parquet file at `url`: its last `footer length + 8` bytes (two ranged reads).
///
/// # Safety
/// `url` is a NUL-terminated string, `options_json` NULL or one; `out`/`out_len` are valid.
#[no_mangle]
pub unsafe extern "C" fn pst_storage_footer(
    url: *const c_char,
    options_json: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        write_bytes(
            out,
            out_len,
            api::storage_footer(str_arg(url, "url")?, opt_str_arg(options_json, "options_json")?)?,
        )
    })
}
