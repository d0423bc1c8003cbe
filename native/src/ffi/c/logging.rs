//! C ABI: native log records for Python `logging` (`crate::logging`). A binding sets the level,
//! then drains records from one daemon thread.

use std::time::Duration;

use super::{out_arg, status, write_bytes};
use crate::logging;

/// Installs the native logger (once) and keeps records up to `level`: 0 off, 1 error, 2 warn,
/// 3 info, 4 debug, 5 trace.
#[no_mangle]
pub extern "C" fn pst_log_set_level(level: i32) -> i32 {
    status(|| logging::set_level(level.into()))
}

/// Waits up to `timeout_ms` until a record can be taken: `*out_ready` is 1, else 0. Takes
/// nothing, so a binding can take records under its own lock, and holds no lock while waiting.
///
/// # Safety
/// `out_ready` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_log_wait(timeout_ms: u64, out_ready: *mut i32) -> i32 {
    status(|| {
        let ready = out_arg(out_ready, "out_ready")?;
        *ready = logging::wait(Duration::from_millis(timeout_ms)) as i32;
        Ok(())
    })
}

/// Takes the next record, waiting up to `timeout_ms`: its JSON (`{"level": 1..5, "logger",
/// "target", "message", "time_ms", "thread"}`), or `*out = NULL, *out_len = 0` on timeout.
///
/// # Safety
/// `out`/`out_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn pst_log_next(timeout_ms: u64, out: *mut *mut u8, out_len: *mut usize) -> i32 {
    status(|| match logging::take(Duration::from_millis(timeout_ms)) {
        Some(record) => write_bytes(out, out_len, record.to_json()),
        None => {
            *out_arg(out, "out")? = std::ptr::null_mut();
            *out_arg(out_len, "out_len")? = 0;
            Ok(())
        }
    })
}
