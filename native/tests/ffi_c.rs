//! The C ABI, called through `extern "C"` declarations as ctypes calls it.

mod common;

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};

use common::{fixtures, temp_dir, HELLO_WORLD};

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
    fn pst_writer_unsupported(schema: *const c_void, out: *mut *mut u8, out_len: *mut usize) -> i32;
    fn pst_writer_open(
        schema: *const c_void,
        url: *const c_char,
        options_json: *const c_char,
        row_group_bytes: u64,
        compression: *const c_char,
        out_writer: *mut *mut c_void,
    ) -> i32;
    fn pst_writer_put_null(writer: *mut c_void, index: usize) -> i32;
    fn pst_writer_put_bool(writer: *mut c_void, index: usize, value: i32) -> i32;
    fn pst_writer_put_long(writer: *mut c_void, index: usize, value: i64) -> i32;
    fn pst_writer_put_double(writer: *mut c_void, index: usize, value: f64) -> i32;
    fn pst_writer_put_str(writer: *mut c_void, index: usize, value: *const u8, len: usize) -> i32;
    fn pst_writer_put_bytes(writer: *mut c_void, index: usize, value: *const u8, len: usize) -> i32;
    fn pst_writer_put_array(
        writer: *mut c_void,
        index: usize,
        dtype: *const c_char,
        shape: *const i64,
        ndim: usize,
        fortran_order: i32,
        data: *const u8,
        data_len: usize,
    ) -> i32;
    fn pst_writer_end_row(writer: *mut c_void) -> i32;
    fn pst_writer_finish(writer: *mut c_void, out_rows: *mut u64, out_row_groups: *mut u64) -> i32;
    fn pst_writer_free(writer: *mut c_void);
    fn pst_dataset_prepare(
        url: *const c_char,
        options_json: *const c_char,
        mode: *const c_char,
        out_proceed: *mut i32,
    ) -> i32;
    fn pst_dataset_part_url(
        url: *const c_char,
        job: *const c_char,
        partition: u32,
        attempt: u64,
        out: *mut *mut u8,
        out_len: *mut usize,
    ) -> i32;
    fn pst_dataset_commit(
        url: *const c_char,
        options_json: *const c_char,
        job: *const c_char,
        parts_json: *const c_char,
    ) -> i32;
    fn pst_dataset_abort(url: *const c_char, options_json: *const c_char, job: *const c_char) -> i32;
    fn pst_log_set_level(level: i32) -> i32;
    fn pst_log_wait(timeout_ms: u64, out_ready: *mut i32) -> i32;
    fn pst_log_next(timeout_ms: u64, out: *mut *mut u8, out_len: *mut usize) -> i32;
}

const VALUE: i32 = 1;
const TYPE: i32 = 2;
const IO: i32 = 3;
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
    let int_key = CString::new(r#"{"present": ["id", "image1", "other_data", 1]}"#).unwrap();
    assert_eq!(unsafe { pst_validate_row(s, int_key.as_ptr()) }, TYPE);
    assert_eq!(
        last_error(),
        "the row has a key 1 that is not a string: keys are the names of fields of schema HelloWorldSchema"
    );
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

/// A schema of every kind of cell the writer functions put.
const WRITTEN: &str = r#"{"name": "Written", "fields": [
 {"name": "id", "dtype": "int64", "shape": [], "nullable": false, "codec": {"type": "scalar", "spark_type": "long"}},
 {"name": "name", "dtype": "str", "shape": [], "nullable": true, "codec": {"type": "scalar", "spark_type": "string"}},
 {"name": "m", "dtype": "uint8", "shape": [null, 2], "nullable": true, "codec": {"type": "ndarray"}},
 {"name": "x", "dtype": "float64", "shape": [], "nullable": true, "codec": null},
 {"name": "flag", "dtype": "bool", "shape": [], "nullable": true, "codec": null},
 {"name": "raw", "dtype": "bytes", "shape": [], "nullable": true, "codec": null}]}"#;

/// Opens a writer of `schema` at `path` (snappy).
fn open_writer(schema: *const c_void, path: &str) -> Result<*mut c_void, (i32, String)> {
    let (path, snappy) = (CString::new(path).unwrap(), CString::new("snappy").unwrap());
    let mut writer = null_mut();
    match unsafe { pst_writer_open(schema, path.as_ptr(), null(), 1 << 20, snappy.as_ptr(), &mut writer) } {
        0 => Ok(writer),
        code => Err((code, last_error())),
    }
}

fn finish(writer: *mut c_void) -> Result<(u64, u64), (i32, String)> {
    let (mut rows, mut row_groups) = (0, 0);
    match unsafe { pst_writer_finish(writer, &mut rows, &mut row_groups) } {
        0 => Ok((rows, row_groups)),
        code => Err((code, last_error())),
    }
}

#[test]
fn writer_functions() {
    let s = parse(WRITTEN).unwrap();
    assert_eq!(text(|o, l| unsafe { pst_writer_unsupported(s, o, l) }), "");
    let decimal = parse(
        r#"{"name": "D", "fields": [{"name": "d", "dtype": "decimal", "shape": [], "nullable": false,
        "codec": {"type": "scalar", "spark_type": "decimal(10,2)"}}]}"#,
    )
    .unwrap();
    let reason = text(|o, l| unsafe { pst_writer_unsupported(decimal, o, l) });
    assert!(reason.starts_with("field 'd': "), "{reason}");

    let dir = temp_dir("ffi-writer");
    let path = dir.join("a/b/part.parquet");
    assert_eq!(open_writer(decimal, path.to_str().unwrap()).unwrap_err(), (VALUE, reason));
    unsafe { pst_schema_free(decimal) };
    let w = open_writer(s, path.to_str().unwrap()).unwrap();
    let (u1, shape, data) = (CString::new("|u1").unwrap(), [3i64, 2], [1u8, 2, 3, 4, 5, 6]);
    unsafe {
        assert_eq!(pst_writer_put_long(w, 0, 7), 0);
        assert_eq!(pst_writer_put_str(w, 1, "seven".as_ptr(), 5), 0);
        assert_eq!(pst_writer_put_array(w, 2, u1.as_ptr(), shape.as_ptr(), 2, 0, data.as_ptr(), 6), 0);
        assert_eq!(pst_writer_put_double(w, 3, 0.5), 0);
        assert_eq!(pst_writer_put_bool(w, 4, 1), 0);
        assert_eq!(pst_writer_put_bytes(w, 5, b"\0raw".as_ptr(), 4), 0);
        assert_eq!(pst_writer_end_row(w), 0);

        // Failed puts discard the row; the writer stays usable.
        assert_eq!(pst_writer_put_long(w, 1, 8), TYPE);
        assert_eq!(pst_writer_put_str(w, 1, [0xffu8].as_ptr(), 1), VALUE);
        assert_eq!(last_error(), "value is not valid UTF-8");
        let f4 = CString::new("<f4").unwrap();
        assert_eq!(pst_writer_put_array(w, 2, f4.as_ptr(), shape.as_ptr(), 2, 0, data.as_ptr(), 6), VALUE);
        assert!(last_error().starts_with("field 'm': "), "{}", last_error());
        assert_eq!(pst_writer_put_array(w, 2, u1.as_ptr(), null(), 2, 0, data.as_ptr(), 6), VALUE);
        assert_eq!(pst_writer_put_null(w, 0), VALUE);
        assert_eq!(pst_writer_put_long(w, 9, 0), VALUE);

        assert_eq!(pst_writer_put_long(w, 0, 8), 0);
        assert_eq!(pst_writer_put_null(w, 1), 0);
        assert_eq!(pst_writer_end_row(w), 0);
        assert_eq!(pst_writer_end_row(w), VALUE); // `id` has no value
        assert_eq!(pst_writer_put_long(null_mut(), 0, 1), VALUE);
        assert_eq!(last_error(), "writer handle is NULL");
        assert_eq!(pst_writer_finish(w, null_mut(), null_mut()), VALUE);
    }
    assert_eq!(finish(w).unwrap(), (2, 1));
    assert_eq!(finish(w).unwrap_err(), (VALUE, "the Parquet writer is finished".to_string()));
    assert_eq!(unsafe { pst_writer_put_long(w, 0, 9) }, VALUE);
    assert_eq!(last_error(), "the Parquet writer is finished");
    unsafe {
        pst_writer_free(w);
        pst_writer_free(null_mut());
    }
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let file = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(file.metadata().file_metadata().num_rows(), 2);

    // Freed unfinished: the file stays for the caller to delete.
    let unfinished = dir.join("unfinished.parquet");
    let w = open_writer(s, unfinished.to_str().unwrap()).unwrap();
    unsafe { pst_writer_free(w) };
    assert!(unfinished.exists());
    assert_eq!(open_writer(s, "/proc/no/such/dir/part.parquet").unwrap_err().0, IO);
    unsafe { pst_schema_free(s) };
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn dataset_commit_functions() {
    let dir = temp_dir("ffi-commit");
    let url = CString::new(format!("file://{}/ds", dir.display())).unwrap();
    let (job, mode) = (CString::new("job1").unwrap(), |m: &str| CString::new(m).unwrap());
    let prepare = |url: &CString, m: &str| {
        let mut proceed = -1;
        match unsafe { pst_dataset_prepare(url.as_ptr(), null(), mode(m).as_ptr(), &mut proceed) } {
            0 => Ok(proceed),
            code => Err((code, last_error())),
        }
    };
    assert_eq!(prepare(&url, "error"), Ok(1));
    let part = text(|o, l| unsafe { pst_dataset_part_url(url.as_ptr(), job.as_ptr(), 3, 7, o, l) });
    assert_eq!(part, format!("file://{}/ds/_temporary/job1/part-00003-attempt-7.parquet", dir.display()));
    let schema = parse(WRITTEN).unwrap();
    let w = open_writer(schema, &part).unwrap();
    assert_eq!(finish(w).unwrap(), (0, 0));
    unsafe { pst_writer_free(w) };
    unsafe { pst_schema_free(schema) };

    let parts = CString::new(serde_json::json!([[3, part]]).to_string()).unwrap();
    assert_eq!(unsafe { pst_dataset_commit(url.as_ptr(), null(), job.as_ptr(), parts.as_ptr()) }, 0);
    let mut names: Vec<String> =
        std::fs::read_dir(dir.join("ds")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["_SUCCESS", "part-00003-job1-c000.parquet"]);

    assert_eq!(prepare(&url, "error").unwrap_err().0, IO);
    assert_eq!(prepare(&url, "ignore"), Ok(0));
    assert_eq!(prepare(&url, "bogus").unwrap_err().0, VALUE);
    let ftp = CString::new("ftp://host/ds").unwrap();
    let (code, message) = prepare(&ftp, "overwrite").unwrap_err();
    assert_eq!(code, VALUE);
    assert!(message.contains("unsupported URL scheme 'ftp'"), "{message}");
    let bad = CString::new("{").unwrap();
    assert_eq!(unsafe { pst_dataset_commit(url.as_ptr(), null(), job.as_ptr(), bad.as_ptr()) }, VALUE);
    assert!(last_error().starts_with("invalid parts JSON"));
    assert_eq!(unsafe { pst_dataset_commit(url.as_ptr(), null(), null(), bad.as_ptr()) }, VALUE);

    let staged = text(|o, l| unsafe { pst_dataset_part_url(url.as_ptr(), job.as_ptr(), 0, 1, o, l) });
    let staged = std::path::PathBuf::from(staged.strip_prefix("file://").unwrap());
    std::fs::create_dir_all(staged.parent().unwrap()).unwrap();
    std::fs::write(&staged, "x").unwrap();
    assert_eq!(unsafe { pst_dataset_abort(url.as_ptr(), null(), job.as_ptr()) }, 0);
    assert!(!dir.join("ds/_temporary").exists());
    assert_eq!(unsafe { pst_dataset_abort(ftp.as_ptr(), null(), job.as_ptr()) }, VALUE);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The only test that sets the log level (other tests may log concurrently: their records are
/// skipped by message).
#[test]
fn log_functions() {
    assert_eq!(unsafe { pst_log_set_level(6) }, VALUE);
    assert_eq!(last_error(), "log level 6 is not 0 (off) to 5 (trace)");
    assert_eq!(unsafe { pst_log_set_level(3) }, 0);

    let dir = temp_dir("ffi-log");
    let path = dir.join("logged.parquet");
    let s = parse(WRITTEN).unwrap();
    let w = open_writer(s, path.to_str().unwrap()).unwrap();
    unsafe {
        assert_eq!(pst_writer_put_long(w, 0, 1), 0);
        assert_eq!(pst_writer_end_row(w), 0);
    }
    assert_eq!(finish(w).unwrap(), (1, 1));
    unsafe {
        pst_writer_free(w);
        pst_schema_free(s);
    }

    let wanted = format!("wrote a Parquet part file to '{}'", path.display());
    let mut found = None;
    let mut ready = 0;
    while found.is_none() && unsafe { pst_log_wait(5000, &mut ready) } == 0 && ready == 1 {
        let record = text(|o, l| unsafe { pst_log_next(0, o, l) });
        let json: serde_json::Value = serde_json::from_str(&record).unwrap();
        found = json["message"].as_str().unwrap().starts_with(&wanted).then_some(json);
    }
    let json = found.expect("the writer's record");
    assert!(json["message"].as_str().unwrap().starts_with(&format!("{wanted}: 1 rows in 1 row groups (")), "{json}");
    assert_eq!((json["level"].as_i64(), json["logger"].as_str()), (Some(3), Some("petastorm.native.dataset.writer")));
    assert_eq!(json["target"], "petastorm_native::dataset::writer");
    assert_eq!(json["thread"], "log_functions");

    // Off: nothing more is kept; an empty queue times out with NULL.
    assert_eq!(unsafe { pst_log_set_level(0) }, 0);
    let next = |timeout_ms| {
        let (mut out, mut len) = (null_mut(), 7usize);
        assert_eq!(unsafe { pst_log_next(timeout_ms, &mut out, &mut len) }, 0);
        unsafe { pst_bytes_free(out, len) };
        (out.is_null(), len)
    };
    while next(0) != (true, 0) {}
    let start = std::time::Instant::now();
    assert_eq!(next(100), (true, 0));
    assert!(start.elapsed() >= std::time::Duration::from_millis(100));
    assert_eq!(unsafe { pst_log_wait(0, null_mut()) }, VALUE);
    std::fs::remove_dir_all(dir).unwrap();
}
