//! The reader's C ABI: open, schema, info, next into caller-allocated Arrow C structs,
//! stop, reset, free, dataset schema, and status codes.

mod reader_util;

use std::ffi::{c_void, CStr, CString};
use std::ptr;

use arrow::array::{AsArray, RecordBatch, StructArray};
use arrow::datatypes::Int64Type;
use arrow::ffi::{from_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use petastorm_native::ffi::c::*;
use reader_util::*;

fn take_bytes(ptr: *mut u8, len: usize) -> String {
    let s = unsafe { String::from_utf8(std::slice::from_raw_parts(ptr, len).to_vec()).unwrap() };
    unsafe { pst_bytes_free(ptr, len) };
    s
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(pst_last_error()).to_string_lossy().into_owned() }
}

/// Calls `pst_reader_next`; `None` at the end.
fn next(reader: *mut c_void) -> Option<RecordBatch> {
    let mut array = FFI_ArrowArray::empty();
    let mut schema = FFI_ArrowSchema::empty();
    let mut eof = -1;
    let code = unsafe {
        pst_reader_next(reader, &mut array as *mut _ as *mut c_void, &mut schema as *mut _ as *mut c_void, &mut eof)
    };
    assert_eq!(code, 0, "{}", last_error());
    if eof == 1 {
        return None;
    }
    let data = unsafe { from_ffi(array, &schema) }.unwrap();
    Some(RecordBatch::from(StructArray::from(data)))
}

#[test]
fn reads_batches_through_the_c_abi() {
    let dir = synthetic_dataset("ffi");
    let options = CString::new(
        serde_json::json!({"dataset_url": dir.display().to_string(), "schema_fields": ["id", "matrix", "var", "names", "emb"],
                           "num_epochs": 2, "workers_count": 2})
        .to_string(),
    )
    .unwrap();
    let mut reader: *mut c_void = ptr::null_mut();
    assert_eq!(unsafe { pst_reader_open(options.as_ptr(), &mut reader) }, 0, "{}", last_error());

    let (mut out, mut len) = (ptr::null_mut(), 0);
    assert_eq!(unsafe { pst_reader_schema(reader, &mut out, &mut len) }, 0);
    let schema: serde_json::Value = serde_json::from_str(&take_bytes(out, len)).unwrap();
    assert_eq!(schema["fields"].as_array().unwrap().len(), 5);
    assert_eq!(unsafe { pst_reader_info(reader, &mut out, &mut len) }, 0);
    let info: serde_json::Value = serde_json::from_str(&take_bytes(out, len)).unwrap();
    assert_eq!(info["rows"], TOTAL);

    let batches: Vec<RecordBatch> = std::iter::from_fn(|| next(reader)).collect();
    assert_eq!(ints(&batches, "id").len(), 2 * TOTAL);
    check_synthetic(&batches);
    let matrix = batches[0].schema().field_with_name("matrix").unwrap().clone();
    assert_eq!(matrix.extension_type_name(), Some("arrow.fixed_shape_tensor"), "extension metadata crosses the ABI");

    // Reset reads again; stop ends it; free releases.
    assert_eq!(unsafe { pst_reader_reset(reader) }, 0);
    let batch = next(reader).unwrap();
    assert!(!batch.column(0).as_primitive::<Int64Type>().is_empty());
    assert_eq!(unsafe { pst_reader_stop(reader) }, 0);
    assert_eq!(unsafe { pst_reader_stop(reader) }, 0);
    assert!(next(reader).is_none());
    unsafe { pst_reader_free(reader) };
    unsafe { pst_reader_free(ptr::null_mut()) };
}

#[test]
fn errors_map_to_status_codes() {
    let dir = synthetic_dataset("ffierr");
    let mut reader: *mut c_void = ptr::null_mut();
    let shard = CString::new(
        serde_json::json!({"dataset_url": dir.display().to_string(), "cur_shard": 99, "shard_count": 100}).to_string(),
    )
    .unwrap();
    assert_eq!(unsafe { pst_reader_open(shard.as_ptr(), &mut reader) }, 6, "NoData");
    assert!(last_error().contains("shard"));
    assert!(reader.is_null());
    let bad = CString::new("{not json").unwrap();
    assert_eq!(unsafe { pst_reader_open(bad.as_ptr(), &mut reader) }, 1, "Value");
    assert_eq!(unsafe { pst_reader_open(ptr::null(), &mut reader) }, 1);
    let mut eof = 0;
    let code = unsafe { pst_reader_next(ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), &mut eof) };
    assert_eq!(code, 1);

    let url = CString::new(dir.display().to_string()).unwrap();
    let (mut out, mut len) = (ptr::null_mut(), 0);
    assert_eq!(unsafe { pst_dataset_schema(url.as_ptr(), ptr::null(), &mut out, &mut len) }, 0, "{}", last_error());
    let schema: serde_json::Value = serde_json::from_str(&take_bytes(out, len)).unwrap();
    assert_eq!(schema["name"], "Synthetic");
    let options = CString::new("[1]").unwrap();
    assert_eq!(unsafe { pst_dataset_schema(url.as_ptr(), options.as_ptr(), &mut out, &mut len) }, 1);
}
