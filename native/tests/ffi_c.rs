//! The C ABI, called through `extern "C"` declarations as ctypes calls it.

mod common;

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};

use common::{fixtures, HELLO_WORLD};

extern crate petastorm_native;

extern "C" {
    fn pst_last_error() -> *const c_char;
    fn pst_bytes_free(ptr: *mut u8, len: usize);
    fn pst_error_table(out: *mut *mut u8, out_len: *mut usize) -> i32;
    fn pst_schema_parse(json: *const c_char, out_schema: *mut *mut c_void) -> i32;
    fn pst_schema_free(schema: *mut c_void);
    fn pst_schema_to_json(schema: *const c_void, out: *mut *mut u8, out_len: *mut usize) -> i32;
    fn pst_schema_spark_json(schema: *const c_void, out: *mut *mut u8, out_len: *mut usize) -> i32;
    fn pst_schema_pickle(schema: *const c_void, out: *mut *mut u8, out_len: *mut usize) -> i32;
    fn pst_schema_match_fields(
        schema: *const c_void,
        patterns: *const c_char,
        out: *mut *mut u8,
        out_len: *mut usize,
    ) -> i32;
    fn pst_validate_row(schema: *const c_void, row_json: *const c_char) -> i32;
    fn pst_encode_cell(
        schema: *const c_void,
        field_index: usize,
        dtype: *const c_char,
        shape: *const i64,
        ndim: usize,
        fortran_order: i32,
        data: *const u8,
        data_len: usize,
        out: *mut *mut u8,
        out_len: *mut usize,
    ) -> i32;
    fn pst_decode_cell(
        schema: *const c_void,
        field_index: usize,
        cell: *const u8,
        cell_len: usize,
        out_array: *mut *mut c_void,
    ) -> i32;
    fn pst_array_info(
        array: *const c_void,
        dtype: *mut *const c_char,
        shape: *mut *const i64,
        ndim: *mut usize,
        data: *mut *const u8,
        data_len: *mut usize,
    ) -> i32;
    fn pst_array_free(array: *mut c_void);
    fn pst_writer_hadoop_conf(row_group_size_mb: i64, out: *mut *mut u8, out_len: *mut usize) -> i32;
    fn pst_parquet_footer_len(tail8: *const u8, out_len: *mut u64) -> i32;
    fn pst_common_metadata(
        schema: *const c_void,
        n_files: usize,
        rel_paths: *const *const c_char,
        footers: *const *const u8,
        footer_lens: *const usize,
        out: *mut *mut u8,
        out_len: *mut usize,
    ) -> i32;
    fn pst_schema_from_metadata(file_bytes: *const u8, len: usize, out: *mut *mut u8, out_len: *mut usize) -> i32;
}

const VALUE: i32 = 1;
const TYPE: i32 = 2;
const METADATA: i32 = 4;
const DECODE: i32 = 5;

fn last_error() -> String {
    unsafe { CStr::from_ptr(pst_last_error()) }.to_str().unwrap().to_string()
}

/// Calls a bytes-returning function, copies and frees the bytes.
fn bytes(f: impl FnOnce(*mut *mut u8, *mut usize) -> i32) -> Result<Vec<u8>, (i32, String)> {
    let (mut ptr, mut len) = (null_mut(), 0);
    match f(&mut ptr, &mut len) {
        0 => {
            let v = unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec();
            unsafe { pst_bytes_free(ptr, len) };
            Ok(v)
        }
        code => Err((code, last_error())),
    }
}

fn text(f: impl FnOnce(*mut *mut u8, *mut usize) -> i32) -> String {
    String::from_utf8(bytes(f).unwrap()).unwrap()
}

fn parse(json: &str) -> Result<*mut c_void, (i32, String)> {
    let json = CString::new(json).unwrap();
    let mut schema = null_mut();
    match unsafe { pst_schema_parse(json.as_ptr(), &mut schema) } {
        0 => Ok(schema),
        code => Err((code, last_error())),
    }
}

#[test]
fn error_table_lists_every_kind() {
    let table: serde_json::Value = serde_json::from_str(&text(|o, l| unsafe { pst_error_table(o, l) })).unwrap();
    assert_eq!(table[0], serde_json::json!({"code": 1, "kind": "Value", "python": "ValueError"}));
    assert_eq!(table.as_array().unwrap().len(), petastorm_native::error::KIND_TABLE.len());
}

#[test]
fn schema_handle_functions() {
    let s = parse(HELLO_WORLD).unwrap();
    let json = text(|o, l| unsafe { pst_schema_to_json(s, o, l) });
    assert!(json.starts_with(r#"{"name":"HelloWorldSchema""#));
    assert!(text(|o, l| unsafe { pst_schema_spark_json(s, o, l) }).starts_with(r#"{"type":"struct""#));
    assert!(bytes(|o, l| unsafe { pst_schema_pickle(s, o, l) }).unwrap().starts_with(b"\x80\x04"));
    let patterns = CString::new(r#"["i.*"]"#).unwrap();
    assert_eq!(text(|o, l| unsafe { pst_schema_match_fields(s, patterns.as_ptr(), o, l) }), r#"["id","image1"]"#);
    let bad = CString::new(r#"["("]"#).unwrap();
    assert_eq!(bytes(|o, l| unsafe { pst_schema_match_fields(s, bad.as_ptr(), o, l) }).unwrap_err().0, VALUE);
    let not_a_list = CString::new(r#"{"a": 1}"#).unwrap();
    assert_eq!(bytes(|o, l| unsafe { pst_schema_match_fields(s, not_a_list.as_ptr(), o, l) }).unwrap_err().0, VALUE);

    let row = CString::new(r#"{"present": ["id", "image1", "other_data"], "none": []}"#).unwrap();
    assert_eq!(unsafe { pst_validate_row(s, row.as_ptr()) }, 0);
    let row = CString::new(r#"{"present": ["id", "image1", "other_data", "foo"], "none": []}"#).unwrap();
    assert_eq!(unsafe { pst_validate_row(s, row.as_ptr()) }, VALUE);
    assert_eq!(last_error(), "Field 'foo' is not in schema HelloWorldSchema");
    let bad_json = CString::new("{").unwrap();
    assert_eq!(unsafe { pst_validate_row(s, bad_json.as_ptr()) }, VALUE);
    assert!(last_error().contains("invalid row check JSON"));
    unsafe { pst_schema_free(s) };
}

#[test]
fn bad_arguments_are_value_errors() {
    let (code, message) = parse("{not json").unwrap_err();
    assert_eq!(code, VALUE);
    assert!(message.contains("invalid Unischema JSON"), "{message}");
    let mut schema = null_mut();
    assert_eq!(unsafe { pst_schema_parse(null(), &mut schema) }, VALUE);
    assert_eq!(last_error(), "json is NULL");
    let invalid_utf8 = [0xffu8, 0xfe, 0];
    assert_eq!(unsafe { pst_schema_parse(invalid_utf8.as_ptr() as *const c_char, &mut schema) }, VALUE);
    assert_eq!(last_error(), "json is not valid UTF-8");
    let json = CString::new(HELLO_WORLD).unwrap();
    assert_eq!(unsafe { pst_schema_parse(json.as_ptr(), null_mut()) }, VALUE);
    assert_eq!(
        bytes(|o, l| unsafe { pst_schema_to_json(null(), o, l) }).unwrap_err(),
        (VALUE, "schema handle is NULL".to_string())
    );
    assert_eq!(unsafe { pst_validate_row(null(), json.as_ptr()) }, VALUE);
    let s = parse(HELLO_WORLD).unwrap();
    assert_eq!(unsafe { pst_schema_to_json(s, null_mut(), null_mut()) }, VALUE);
    assert_eq!(unsafe { pst_validate_row(s, null()) }, VALUE);
    unsafe {
        pst_schema_free(s);
        pst_schema_free(null_mut());
        pst_array_free(null_mut());
        pst_bytes_free(null_mut(), 0);
    }
}

#[test]
fn cells_encode_and_decode() {
    let s = parse(HELLO_WORLD).unwrap();
    let dtype = CString::new("|u1").unwrap();
    let shape = [1i64, 128, 30, 2];
    let data: Vec<u8> = (0..128 * 30 * 2).map(|i| i as u8).collect();
    let npy = bytes(|o, l| unsafe {
        pst_encode_cell(s, 2, dtype.as_ptr(), shape.as_ptr(), 4, 0, data.as_ptr(), data.len(), o, l)
    })
    .unwrap();
    assert!(npy.starts_with(b"\x93NUMPY"));

    let mut array = null_mut();
    assert_eq!(unsafe { pst_decode_cell(s, 2, npy.as_ptr(), npy.len(), &mut array) }, 0);
    let (mut d, mut sh, mut nd, mut p, mut n) = (null(), null(), 0, null(), 0);
    assert_eq!(unsafe { pst_array_info(array, &mut d, &mut sh, &mut nd, &mut p, &mut n) }, 0);
    unsafe {
        assert_eq!(CStr::from_ptr(d).to_str().unwrap(), "|u1");
        assert_eq!(std::slice::from_raw_parts(sh, nd), &shape);
        assert_eq!(std::slice::from_raw_parts(p, n), &data[..]);
        assert_eq!(pst_array_info(array, null_mut(), &mut sh, &mut nd, &mut p, &mut n), VALUE);
        pst_array_free(array);
    }
    assert_eq!(unsafe { pst_array_info(null(), &mut d, &mut sh, &mut nd, &mut p, &mut n) }, VALUE);

    // Scalars: empty bytes. Errors: dtype (Value), object (Type), negative shape (Value), NULL data.
    let i4 = CString::new("<i4").unwrap();
    assert_eq!(
        bytes(|o, l| unsafe { pst_encode_cell(s, 0, i4.as_ptr(), null(), 0, 0, [0u8; 4].as_ptr(), 4, o, l) }).unwrap(),
        b""
    );
    let f4 = CString::new("<f4").unwrap();
    let e = bytes(|o, l| unsafe {
        pst_encode_cell(s, 2, f4.as_ptr(), shape.as_ptr(), 4, 0, data.as_ptr(), data.len(), o, l)
    })
    .unwrap_err();
    assert_eq!(
        e,
        (VALUE, "field 'other_data': Unexpected type of other_data feature. Expected uint8. Got float32".to_string())
    );
    let object = CString::new("O").unwrap();
    assert_eq!(
        bytes(|o, l| unsafe { pst_encode_cell(s, 2, object.as_ptr(), null(), 0, 0, null(), 0, o, l) }).unwrap_err().0,
        TYPE
    );
    let negative = [-1i64, 128, 30, 2];
    assert_eq!(
        bytes(|o, l| unsafe {
            pst_encode_cell(s, 2, dtype.as_ptr(), negative.as_ptr(), 4, 0, data.as_ptr(), data.len(), o, l)
        })
        .unwrap_err()
        .0,
        VALUE
    );
    assert_eq!(
        bytes(|o, l| unsafe { pst_encode_cell(s, 2, dtype.as_ptr(), shape.as_ptr(), 4, 0, null(), data.len(), o, l) })
            .unwrap_err()
            .0,
        VALUE
    );
    assert_eq!(
        bytes(|o, l| unsafe { pst_encode_cell(s, 2, dtype.as_ptr(), null(), 4, 0, data.as_ptr(), data.len(), o, l) })
            .unwrap_err()
            .0,
        VALUE
    );

    let mut array = null_mut();
    assert_eq!(unsafe { pst_decode_cell(s, 2, b"junk".as_ptr(), 4, &mut array) }, DECODE);
    assert!(last_error().starts_with("field 'other_data': "));
    assert!(array.is_null());
    unsafe { pst_schema_free(s) };
}

#[test]
fn metadata_functions() {
    let conf: serde_json::Value =
        serde_json::from_str(&text(|o, l| unsafe { pst_writer_hadoop_conf(128, o, l) })).unwrap();
    assert_eq!(conf["parquet.block.size"], "134217728");
    assert_eq!(conf["parquet.summary.metadata.level"], "NONE");
    let conf: serde_json::Value =
        serde_json::from_str(&text(|o, l| unsafe { pst_writer_hadoop_conf(0, o, l) })).unwrap();
    assert!(conf.get("parquet.block.size").is_none());

    let mut len = 0u64;
    assert_eq!(unsafe { pst_parquet_footer_len(b"\x07\0\0\0PAR1".as_ptr(), &mut len) }, 0);
    assert_eq!(len, 7);
    assert_eq!(unsafe { pst_parquet_footer_len(b"\x07\0\0\0PAR0".as_ptr(), &mut len) }, METADATA);
    assert_eq!(unsafe { pst_parquet_footer_len(null(), &mut len) }, VALUE);

    let schema = parse(
        r#"{"name": "HelloWorldSchema", "fields": [
        {"name": "id", "dtype": "int32", "shape": [], "codec": {"type": "scalar", "spark_type": "integer"}}]}"#,
    )
    .unwrap();
    let dir = fixtures().join("petastorm-0.13.1/hello");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    names.sort();
    let footers: Vec<Vec<u8>> = names
        .iter()
        .map(|n| {
            let b = std::fs::read(dir.join(n)).unwrap();
            let len = u32::from_le_bytes(b[b.len() - 8..b.len() - 4].try_into().unwrap()) as usize;
            b[b.len() - len - 8..].to_vec()
        })
        .collect();
    let paths: Vec<CString> = names.iter().map(|n| CString::new(n.as_str()).unwrap()).collect();
    let path_ptrs: Vec<*const c_char> = paths.iter().map(|p| p.as_ptr()).collect();
    let footer_ptrs: Vec<*const u8> = footers.iter().map(|f| f.as_ptr()).collect();
    let lens: Vec<usize> = footers.iter().map(Vec::len).collect();
    let file = bytes(|o, l| unsafe {
        pst_common_metadata(schema, 2, path_ptrs.as_ptr(), footer_ptrs.as_ptr(), lens.as_ptr(), o, l)
    })
    .unwrap();
    let json = text(|o, l| unsafe { pst_schema_from_metadata(file.as_ptr(), file.len(), o, l) });
    assert_eq!(json, text(|o, l| unsafe { pst_schema_to_json(schema, o, l) }));

    let e = bytes(|o, l| unsafe { pst_common_metadata(schema, 0, null(), null(), null(), o, l) }).unwrap_err();
    assert_eq!(e.0, METADATA);
    let e = bytes(|o, l| unsafe { pst_common_metadata(schema, 2, null(), footer_ptrs.as_ptr(), lens.as_ptr(), o, l) })
        .unwrap_err();
    assert_eq!(e.0, VALUE);
    let e = bytes(|o, l| unsafe {
        pst_common_metadata(null(), 2, path_ptrs.as_ptr(), footer_ptrs.as_ptr(), lens.as_ptr(), o, l)
    })
    .unwrap_err();
    assert_eq!(e.0, VALUE);
    let e = bytes(|o, l| unsafe { pst_schema_from_metadata(b"nope".as_ptr(), 4, o, l) }).unwrap_err();
    assert_eq!(e.0, METADATA);
    unsafe { pst_schema_free(schema) };
}

#[test]
fn last_error_is_per_thread() {
    assert_eq!(parse("{").unwrap_err().0, VALUE);
    let other = std::thread::spawn(last_error).join().unwrap();
    assert_eq!(other, "");
    assert!(last_error().contains("invalid Unischema JSON"));
}
