//! C ABI: the persistent converter cache's key and marker (`dataset::converter_cache`).

use std::ffi::c_char;

use super::{out_arg, slice_arg, status, str_arg, write_bytes};
use crate::dataset::converter_cache;
use crate::ffi::api;

/// The cache key (hex) of key inputs as JSON (`KeyInputs`, camelCase fields).
///
/// # Safety
/// `inputs_json` is a NUL-terminated string; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_cache_key(inputs_json: *const c_char, out: *mut *mut u8, out_len: *mut usize) -> i32 {
    status(|| write_bytes(out, out_len, api::cache_key(str_arg(inputs_json, "inputs_json")?)?))
}

/// The simple name of a class that keeps a plan (its `toJSON`) out of the cache; empty when none.
///
/// # Safety
/// `plan_json` is a NUL-terminated string; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_cache_denied_class(
    plan_json: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        let denied = converter_cache::denied_class(str_arg(plan_json, "plan_json")?);
        write_bytes(out, out_len, denied.unwrap_or_default())
    })
}

/// A marker's bytes for `rows` rows in `files_json` (`[[relative path, length], ...]`).
///
/// # Safety
/// `key` and `files_json` are NUL-terminated strings; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_cache_marker(
    key: *const c_char,
    rows: u64,
    files_json: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        write_bytes(out, out_len, api::cache_marker(str_arg(key, "key")?, rows, str_arg(files_json, "files_json")?)?)
    })
}

/// The row count of a reusable cache directory, or -1 (see `api::cache_check_marker`).
///
/// # Safety
/// `marker` holds `marker_len` readable bytes; `key` and `present_json` are NUL-terminated
/// strings; `out_rows` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_cache_check_marker(
    marker: *const u8,
    marker_len: usize,
    key: *const c_char,
    present_json: *const c_char,
    out_rows: *mut i64,
) -> i32 {
    status(|| {
        let marker = slice_arg(marker, marker_len, "marker")?;
        *out_arg(out_rows, "out_rows")? =
            api::cache_check_marker(marker, str_arg(key, "key")?, str_arg(present_json, "present_json")?)?;
        Ok(())
    })
}
