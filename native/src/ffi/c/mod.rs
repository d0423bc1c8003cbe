//! The C ABI used by Python through ctypes (`docs/ffi.md`): status codes, a thread-local
//! last error, bytes handed out as boxed slices, opaque handles.

mod converter_cache;
mod logging;
mod metadata;
mod reader;
mod schema;
mod storage;
mod writer;

pub use converter_cache::*;
pub use logging::*;
pub use metadata::*;
pub use reader::*;
pub use schema::*;
pub use storage::*;
pub use writer::*;

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};

use super::guard;
use crate::error::{Error, Result};
use crate::schema::Unischema;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Runs a guarded body: 0 on success, else the error kind's C code with the message kept
/// for [`pst_last_error`].
fn status(f: impl FnOnce() -> Result<()>) -> i32 {
    match guard(f) {
        Ok(()) => 0,
        Err(e) => {
            let message = CString::new(e.message().replace('\0', "\\0")).expect("NULs were replaced");
            LAST_ERROR.with(|m| *m.borrow_mut() = message);
            e.kind().info().c_code
        }
    }
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `ptr` is null or points to a NUL-terminated string that outlives `'a`.
unsafe fn str_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::value(format!("{what} is NULL")));
    }
    CStr::from_ptr(ptr).to_str().map_err(|_| Error::value(format!("{what} is not valid UTF-8")))
}

/// An optional NUL-terminated string argument (NULL → `None`).
///
/// # Safety
/// `ptr` is null or points to a NUL-terminated string that outlives `'a`.
unsafe fn opt_str_arg<'a>(ptr: *const c_char, what: &str) -> Result<Option<&'a str>> {
    match ptr.is_null() {
        true => Ok(None),
        false => str_arg(ptr, what).map(Some),
    }
}

/// A `(pointer, length)` argument; NULL is allowed only for an empty slice.
///
/// # Safety
/// `ptr` is null or points to `len` readable elements that outlive `'a`.
unsafe fn slice_arg<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T]> {
    match (ptr.is_null(), len) {
        (true, 0) => Ok(&[]),
        (true, _) => Err(Error::value(format!("{what} is NULL"))),
        (false, _) => Ok(std::slice::from_raw_parts(ptr, len)),
    }
}

/// The schema behind a handle from `pst_schema_parse`.
///
/// # Safety
/// `ptr` is null or a live handle from `pst_schema_parse`.
unsafe fn schema_arg<'a>(ptr: *const std::ffi::c_void) -> Result<&'a Unischema> {
    (ptr as *const Unischema).as_ref().ok_or_else(|| Error::value("schema handle is NULL"))
}

/// An out-pointer that must not be NULL.
///
/// # Safety
/// `ptr` is null or valid for writes.
unsafe fn out_arg<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T> {
    ptr.as_mut().ok_or_else(|| Error::value(format!("out-pointer {what} is NULL")))
}

/// Hands `bytes` to the caller, who releases them with [`pst_bytes_free`].
///
/// # Safety
/// `out` and `out_len` are null or valid for writes.
unsafe fn write_bytes(out: *mut *mut u8, out_len: *mut usize, bytes: impl Into<Vec<u8>>) -> Result<()> {
    let (out, out_len) = (out_arg(out, "out")?, out_arg(out_len, "out_len")?);
    let boxed = bytes.into().into_boxed_slice();
    *out_len = boxed.len();
    *out = Box::into_raw(boxed) as *mut u8;
    Ok(())
}

/// The message of the last failed call on this thread (empty if none); valid until the next
/// failing call on this thread.
#[no_mangle]
pub extern "C" fn pst_last_error() -> *const c_char {
    LAST_ERROR.with(|m| m.borrow().as_ptr())
}

/// Releases bytes returned by any `pst_*` function. NULL is a no-op.
///
/// # Safety
/// `ptr`/`len` are exactly what a `pst_*` function wrote, released once.
#[no_mangle]
pub unsafe extern "C" fn pst_bytes_free(ptr: *mut u8, len: usize) {
    crate::ffi::guard::free_handle(std::ptr::slice_from_raw_parts_mut(ptr, len));
}

/// The error table as JSON (`[{"code":1,"kind":"Value","python":"ValueError"},...]`).
///
/// # Safety
/// `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_error_table(out: *mut *mut u8, out_len: *mut usize) -> i32 {
    status(|| write_bytes(out, out_len, super::api::error_table()))
}
