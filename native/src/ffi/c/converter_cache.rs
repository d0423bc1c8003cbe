//! C ABI: the converter's cache directories (`dataset::converter_dir`) and the persistent cache's key
//! and marker (`dataset::converter_cache`).

use std::ffi::c_char;

use super::opt_str_arg;
use super::{out_arg, slice_arg, status, str_arg, write_bytes};
use crate::dataset::{converter_cache, converter_dir};
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

/// The name of a new cache directory for Spark application `app_id`.
///
/// # Safety
/// `app_id` is a NUL-terminated string; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_converter_dir_name(app_id: *const c_char, out: *mut *mut u8, out_len: *mut usize) -> i32 {
    status(|| write_bytes(out, out_len, converter_dir::new_dir_name(str_arg(app_id, "app_id")?)))
}

/// 0 when `url` is a converter directory directly under `parent` (NULL: unknown), else a `Value`
/// error refusing the delete.
///
/// # Safety
/// `url` is a NUL-terminated string, `parent` NULL or one.
#[no_mangle]
pub unsafe extern "C" fn pst_converter_check_delete(url: *const c_char, parent: *const c_char) -> i32 {
    status(|| converter_dir::check_deletable(str_arg(url, "url")?, opt_str_arg(parent, "parent")?))
}

/// Whether `name` is a converter directory name (`*out` 1 or 0).
///
/// # Safety
/// `name` is a NUL-terminated string; `out` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_converter_is_dir_name(name: *const c_char, out: *mut i32) -> i32 {
    status(|| {
        *out_arg(out, "out")? = i32::from(converter_dir::is_dir_name(str_arg(name, "name")?));
        Ok(())
    })
}

/// The persistent cache's marker file name.
///
/// # Safety
/// `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_converter_marker_name(out: *mut *mut u8, out_len: *mut usize) -> i32 {
    status(|| write_bytes(out, out_len, converter_cache::MARKER))
}
