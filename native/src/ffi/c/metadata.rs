//! C ABI: writer settings, Parquet footers and `_common_metadata`.

use std::ffi::{c_char, c_void};

use super::{out_arg, schema_arg, slice_arg, status, str_arg, write_bytes};
use crate::dataset::{discovery, metadata};
use crate::ffi::api;

/// Hadoop settings for `materialize_dataset` as a JSON object; `<= 0`: no block size.
///
/// # Safety
/// `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_writer_hadoop_conf(row_group_size_mb: i64, out: *mut *mut u8, out_len: *mut usize) -> i32 {
    status(|| write_bytes(out, out_len, api::writer_hadoop_conf(row_group_size_mb)))
}

/// The footer length announced by the last 8 bytes of a Parquet file.
///
/// # Safety
/// `tail8` points to 8 readable bytes; `out_len` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_parquet_footer_len(tail8: *const u8, out_len: *mut u64) -> i32 {
    status(|| {
        *out_arg(out_len, "out_len")? = metadata::parquet_footer_len(slice_arg(tail8, 8, "tail8")?)?;
        Ok(())
    })
}

/// Whether `rel_path` names a data file of a dataset (`dataset::discovery::is_data_file`): 1 or 0.
///
/// # Safety
/// `rel_path` is a NUL-terminated string; `out` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_is_data_file(rel_path: *const c_char, out: *mut i32) -> i32 {
    status(|| {
        *out_arg(out, "out")? = i32::from(discovery::is_data_file(str_arg(rel_path, "rel_path")?));
        Ok(())
    })
}

/// The bytes of `_common_metadata` for `n_files` files (relative path, footer bytes).
///
/// # Safety
/// `schema` is a live handle; the three arrays hold `n_files` entries each, every path a
/// NUL-terminated string and every footer `footer_lens[i]` readable bytes;
/// `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_common_metadata(
    schema: *const c_void,
    n_files: usize,
    rel_paths: *const *const c_char,
    footers: *const *const u8,
    footer_lens: *const usize,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        let paths = slice_arg(rel_paths, n_files, "rel_paths")?;
        let footers = slice_arg(footers, n_files, "footers")?;
        let lens = slice_arg(footer_lens, n_files, "footer_lens")?;
        let files = (0..n_files)
            .map(|i| Ok((str_arg(paths[i], "a relative path")?, slice_arg(footers[i], lens[i], "a footer")?)))
            .collect::<crate::Result<Vec<_>>>()?;
        write_bytes(out, out_len, metadata::common_metadata(schema_arg(schema)?, &files)?)
    })
}

/// The Unischema JSON stored in a whole `_common_metadata` file.
///
/// # Safety
/// `file_bytes` holds `len` readable bytes; `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_schema_from_metadata(
    file_bytes: *const u8,
    len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        let schema = metadata::schema_from_metadata(slice_arg(file_bytes, len, "file_bytes")?)?;
        write_bytes(out, out_len, schema.to_json())
    })
}

/// The value of `key` in the key/value metadata of a whole Parquet file (`_common_metadata`);
/// `*out_found` is 0 (and nothing is written to `out`) when the file has no such key.
///
/// # Safety
/// `file_bytes` holds `len` readable bytes; `key` is a NUL-terminated string; the
/// out-pointers are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_metadata_value(
    file_bytes: *const u8,
    len: usize,
    key: *const c_char,
    out_found: *mut i32,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    status(|| {
        let value = api::metadata_value(slice_arg(file_bytes, len, "file_bytes")?, str_arg(key, "key")?)?;
        *out_arg(out_found, "out_found")? = i32::from(value.is_some());
        match value {
            Some(bytes) => write_bytes(out, out_len, bytes),
            None => Ok(()),
        }
    })
}
