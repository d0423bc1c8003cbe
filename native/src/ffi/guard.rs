//! Runs an exported function's body so that a panic becomes an `Internal` error instead of
//! unwinding across the FFI boundary.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, Result};

/// Calls `f`, turning a panic into `Error::internal("panic: ...")`.
pub fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(Error::internal(format!("panic: {}", message(&*payload)))))
}

/// Drops the box behind a handle (a null handle is a no-op), as one guarded call: a panic in
/// a destructor is swallowed, never unwound across FFI. Frees report nothing, like `free()`.
///
/// # Safety
/// `handle` is null or came from `Box::into_raw` of a `Box<T>`, and is freed once.
pub unsafe fn free_handle<T: ?Sized>(handle: *mut T) {
    if !(handle as *mut u8).is_null() {
        let _ = guard(|| {
            drop(Box::from_raw(handle));
            Ok(())
        });
    }
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let e = guard(|| -> Result<()> { panic!("boom {}", 42) }).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(e.message(), "panic: boom 42");
        let e = guard(|| -> Result<()> { std::panic::panic_any(7u8) }).unwrap_err();
        assert_eq!(e.message(), "panic: (no message)");
    }

    #[test]
    fn a_panicking_destructor_is_contained_by_free_handle() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("drop");
            }
        }
        unsafe { free_handle(Box::into_raw(Box::new(Bomb))) };
        unsafe { free_handle::<Bomb>(std::ptr::null_mut()) };
    }

    #[test]
    fn results_pass_through() {
        assert_eq!(guard(|| Ok(3)), Ok(3));
        assert_eq!(guard(|| -> Result<()> { Err(Error::value("bad")) }).unwrap_err().kind(), ErrorKind::Value);
    }
}
