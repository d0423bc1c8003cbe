//! Row checks and cell encoding/decoding by field.

mod common;

use common::{hello_world, photo};
use petastorm_native::dataset::CellDecoder;
use petastorm_native::schema::{decode_cell, encode_cell, validate_row, Unischema};
use petastorm_native::ErrorKind;

fn err_row(s: &Unischema, present: &[&str], none: &[&str]) -> (ErrorKind, String) {
    let e = validate_row(s, present, none).unwrap_err();
    (e.kind(), e.message().to_string())
}

#[test]
fn rows_are_checked_like_dict_to_spark_row() {
    let s = hello_world();
    validate_row(&s, &["id", "image1", "other_data"], &[]).unwrap();
    assert_eq!(
        err_row(&s, &["id", "image1", "other_data", "foo"], &[]),
        (ErrorKind::Value, "Field 'foo' is not in schema HelloWorldSchema".to_string())
    );
    assert_eq!(
        err_row(&s, &["id", "image1"], &[]),
        (ErrorKind::Value, "Field other_data is not found in the row, but is not nullable".to_string())
    );
    assert_eq!(
        err_row(&s, &["id", "image1", "other_data"], &["id"]),
        (ErrorKind::Value, "Field id is not nullable, but got a None value".to_string())
    );
    // Nullable fields may be missing or None.
    let p = photo();
    validate_row(&p, &["id", "label", "image"], &[]).unwrap();
    validate_row(&p, &["id", "label", "image", "embedding"], &["embedding"]).unwrap();
}

fn encode_err(s: &Unischema, field: usize, dtype: &str, shape: &[usize], data: &[u8]) -> (ErrorKind, String) {
    let e = encode_cell(s, field, dtype, shape, false, data).unwrap_err();
    (e.kind(), e.message().to_string())
}

#[test]
fn dtype_and_shape_are_checked_with_upstream_messages() {
    let s = hello_world();
    assert_eq!(
        encode_err(&s, 1, "<f4", &[10, 10, 3], &[0; 1200]),
        (
            ErrorKind::Value,
            "field 'image1': Unexpected type of image1 feature. Expected uint8. Got float32".to_string()
        )
    );
    assert_eq!(
        encode_err(&s, 1, "|u1", &[10, 10, 3], &[0; 300]),
        (
            ErrorKind::Value,
            "field 'image1': Unexpected dimensions of image1 feature. Expected (128, 256, 3). Got (10, 10, 3)"
                .to_string()
        )
    );
    let (kind, m) = encode_err(&s, 2, "|u1", &[2, 128, 30], &[0; 7680]);
    assert_eq!(kind, ErrorKind::Value);
    assert!(m.contains("Expected (None, 128, 30, None). Got (2, 128, 30)"), "{m}");
    let (kind, m) = encode_err(&s, 2, "O", &[], &[]);
    assert_eq!(kind, ErrorKind::Type);
    assert!(m.starts_with("field 'other_data': "), "{m}");
    let (kind, m) = encode_err(&s, 2, "|u1", &[1, 128, 30, 2], &[0; 10]);
    assert_eq!(kind, ErrorKind::Value);
    assert!(m.starts_with("field 'other_data': "), "{m}");
    assert_eq!(encode_err(&s, 7, "|u1", &[], &[0]).0, ErrorKind::Value);
}

#[test]
fn string_dtypes_match_any_width_and_byte_order_is_ignored() {
    let s = Unischema::from_json(
        r#"{"name": "S", "fields": [
        {"name": "names", "dtype": "str", "shape": [null], "codec": {"type": "ndarray"}},
        {"name": "x", "dtype": "float64", "shape": [2], "codec": {"type": "ndarray"}}]}"#,
    )
    .unwrap();
    let m = encode_err(&s, 0, "|S3", &[1], b"abc").1;
    assert!(m.contains("Expected str. Got |S3"), "{m}");
    let m = encode_err(&s, 1, "<f4", &[2], &[0; 8]).1;
    assert!(m.contains("Expected float64. Got float32"), "{m}");
    // Any width of string and either byte order passes.
    assert!(encode_cell(&s, 0, "<U2", &[1], false, &[0; 8]).unwrap().starts_with(b"\x93NUMPY"));
    assert!(encode_cell(&s, 0, "<U7", &[2], false, &[0; 56]).is_ok());
    assert!(encode_cell(&s, 1, ">f8", &[2], false, &[0; 16]).is_ok());
}

#[test]
fn scalars_need_ndim_0_and_strings_for_string_columns() {
    let p = photo();
    assert_eq!(encode_cell(&p, 0, "<i8", &[], false, &[0; 8]).unwrap(), Vec::<u8>::new());
    // Scalars are converted by the binding: any numeric dtype and `O` pass.
    assert!(encode_cell(&p, 0, "<i4", &[], false, &[0; 4]).unwrap().is_empty());
    assert!(encode_cell(&p, 0, "O", &[], false, &[]).unwrap().is_empty());
    let (kind, m) = encode_err(&p, 0, "<i8", &[3], &[0; 24]);
    assert_eq!(kind, ErrorKind::Type);
    assert!(m.contains("expected a scalar for field 'id'"), "{m}");
    assert!(encode_cell(&p, 1, "<U5", &[], false, &[0; 20]).unwrap().is_empty());
    let (kind, m) = encode_err(&p, 1, "<i8", &[], &[0; 8]);
    assert_eq!(kind, ErrorKind::Value);
    assert!(m.contains("Expected a string value for field label"), "{m}");
    assert_eq!(encode_err(&p, 1, "O", &[], &[]).0, ErrorKind::Value);
    let d = Unischema::from_json(
        r#"{"name": "D", "fields": [{"name": "d", "dtype": "decimal", "shape": [], "codec": {"type": "scalar", "spark_type": "decimal(10,9)"}}]}"#,
    )
    .unwrap();
    assert!(encode_cell(&d, 0, "decimal", &[], false, &[]).unwrap().is_empty());
}

#[test]
fn decode_rejects_scalar_fields_and_garbage_naming_the_field() {
    let s = hello_world();
    let e = decode_cell(&s, 0, b"123").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Value);
    for field in [1, 2] {
        let e = decode_cell(&s, field, b"garbage").unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Decode | ErrorKind::Internal), "{e:?}");
        assert!(e.message().starts_with(&format!("field '{}': ", s.fields()[field].name)), "{e}");
    }
}

#[test]
fn ndarray_cells_round_trip() {
    let s = hello_world();
    let data: Vec<u8> = (0..2 * 128 * 30 * 2).map(|i| i as u8).collect();
    let npy = encode_cell(&s, 2, "|u1", &[2, 128, 30, 2], false, &data).unwrap();
    assert!(npy.starts_with(b"\x93NUMPY"));
    let t = decode_cell(&s, 2, &npy).unwrap();
    assert_eq!((t.dtype.descr().as_str(), t.shape.as_slice(), t.data == data), ("|u1", &[2, 128, 30, 2][..], true));
    // Fortran-ordered input decodes to C order.
    let p = Unischema::from_json(r#"{"name": "P", "fields": [{"name": "m", "dtype": "int16", "shape": [2, 3], "codec": {"type": "compressed_ndarray"}}]}"#).unwrap();
    let fortran: Vec<u8> = [0i16, 3, 1, 4, 2, 5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let npz = encode_cell(&p, 0, "<i2", &[2, 3], true, &fortran).unwrap();
    let t = decode_cell(&p, 0, &npz).unwrap();
    let c: Vec<u8> = (0i16..6).flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!((t.shape, t.data), (vec![2, 3], c));
}

#[test]
fn image_cells_round_trip() {
    let s = hello_world();
    let pixels: Vec<u8> = (0..128 * 256 * 3).map(|i| (i % 251) as u8).collect();
    let png = encode_cell(&s, 1, "|u1", &[128, 256, 3], false, &pixels).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let t = decode_cell(&s, 1, &png).unwrap();
    assert_eq!(t.shape, vec![128, 256, 3]);
    assert_eq!(t.data, pixels);
}

#[test]
fn integer_columns_refuse_nan_infinity_and_out_of_range_values_naming_the_field() {
    let s = Unischema::from_json(
        r#"{"name": "N", "fields": [
         {"name": "b", "dtype": "int8", "shape": []},
         {"name": "i", "dtype": "int32", "shape": [], "codec": {"type": "scalar", "spark_type": "integer"}},
         {"name": "l", "dtype": "int64", "shape": [], "codec": {"type": "scalar", "spark_type": "long"}},
         {"name": "f", "dtype": "float64", "shape": [], "codec": {"type": "scalar", "spark_type": "double"}}]}"#,
    )
    .unwrap();
    let fits = |field: usize, dtype: &str, data: &[u8]| encode_cell(&s, field, dtype, &[], false, data);
    assert!(fits(0, "<i8", &(-128i64).to_le_bytes()).is_ok());
    assert!(fits(1, "<f8", &2147483647.9f64.to_le_bytes()).is_ok()); // int() truncates
    assert!(fits(2, ">u8", &(i64::MAX as u64).to_be_bytes()).is_ok());
    assert!(fits(3, "<f8", &f64::NAN.to_le_bytes()).is_ok()); // a double column takes NaN
    for (field, dtype, data, shown) in [
        (
            0,
            "<i8",
            128i64.to_le_bytes().to_vec(),
            "field 'b': value 128 does not fit Spark type byte (integers from -128 to 127)",
        ),
        (1, "<f8", f64::NAN.to_le_bytes().to_vec(), "field 'i': value NaN does not fit Spark type integer"),
        (1, "<f4", f32::INFINITY.to_le_bytes().to_vec(), "field 'i': value inf does not fit Spark type integer"),
        (1, "<i8", (1i64 << 31).to_le_bytes().to_vec(), "field 'i': value 2147483648 does not fit Spark type integer"),
        (
            2,
            "<u8",
            u64::MAX.to_le_bytes().to_vec(),
            "field 'l': value 18446744073709551615 does not fit Spark type long",
        ),
    ] {
        let (kind, m) = encode_err(&s, field, dtype, &[], &data);
        assert_eq!(kind, ErrorKind::Value, "{m}");
        assert!(m.starts_with(shown), "{m}");
    }
}

/// Every array field dtype, through both array codecs, with fixed, open, 0-d and empty shapes:
/// the value checks pass and the cell decodes to the same dtype, shape and elements (strings
/// of any width, non-ASCII characters and NUL bytes included).
#[test]
fn every_array_dtype_round_trips_by_field_through_both_array_codecs() {
    let ucs4 = |s: &str| s.chars().flat_map(|c| (c as u32).to_le_bytes()).collect::<Vec<u8>>();
    let values: [(&str, &str, Vec<u8>); 14] = [
        ("bool", "|b1", vec![1, 0, 1, 1, 0, 0]),
        ("int8", "|i1", vec![0x80, 0x7f, 0, 1, 0xff, 2]),
        ("int16", "<i2", (0..12).map(|i| (i * 41) as u8).collect()),
        ("int32", "<i4", (0..24).map(|i| (i * 53) as u8).collect()),
        ("int64", "<i8", (0..48).map(|i| (i * 59) as u8).collect()),
        ("uint8", "|u1", vec![0, 255, 1, 254, 7, 8]),
        ("uint16", "<u2", vec![0xff; 12]),
        ("uint32", "<u4", (0..24).map(|i| (i * 61) as u8).collect()),
        ("uint64", "<u8", vec![0xff; 48]),
        (
            "float16",
            "<f2",
            [0x3c00u16, 0xfc00, 0x7e00, 0, 0x8000, 0x7bff].iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        (
            "float32",
            "<f4",
            [1.5f32, -0.0, f32::MAX, f32::MIN_POSITIVE, -3.25, 1e-3].iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        (
            "float64",
            "<f8",
            [1.5f64, -0.0, f64::MAX, 1e-300, -3.25, 1e300].iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        ("str", "<U2", ["", "ü", "ab", "ï", "x", "é!"].iter().flat_map(|s| ucs4(&format!("{s:\0<2}"))).collect()),
        ("bytes", "|S3", b"\0yzabc\0\0\0x\0\0bytesz".to_vec()),
    ];
    // (field shape JSON, value shape, how many of the six values it takes)
    let shapes: [(&str, &[usize], usize); 4] =
        [("[2, 3]", &[2, 3], 6), ("[null, 3, null]", &[1, 3, 2], 6), ("[]", &[], 1), ("[null, 3]", &[0, 3], 0)];
    for codec in ["ndarray", "compressed_ndarray"] {
        for (dtype, descr, data) in &values {
            for (field_shape, shape, n) in shapes {
                let json = format!(
                    r#"{{"name": "S", "fields": [{{"name": "a", "dtype": "{dtype}", "shape": {field_shape}, "codec": {{"type": "{codec}"}}}}]}}"#
                );
                let s = Unischema::from_json(&json).unwrap();
                let data = &data[..data.len() / 6 * n];
                let case = format!("{codec} {dtype} {field_shape} {shape:?}");
                let cell = encode_cell(&s, 0, descr, shape, false, data).unwrap_or_else(|e| panic!("{case}: {e}"));
                let t = decode_cell(&s, 0, &cell).unwrap_or_else(|e| panic!("{case}: {e}"));
                assert_eq!(
                    (t.dtype.descr().as_str(), t.shape.as_slice(), t.data.as_slice()),
                    (*descr, shape, data),
                    "{case}"
                );
            }
        }
    }
}

#[test]
fn the_readers_cell_decoder_decodes_fixed_numeric_cells_in_place() {
    let json = |shape: &str| {
        format!(
            r#"{{"name": "P", "fields": [{{"name": "m", "dtype": "int16", "shape": {shape}, "codec": {{"type": "ndarray"}}}}]}}"#
        )
    };
    let p = Unischema::from_json(&json("[2, 3]")).unwrap();
    let decoder = CellDecoder::new(&p, 0).unwrap();
    assert_eq!(decoder.fixed_len(), Some(12));
    let c: Vec<u8> = (0i16..6).flat_map(|v| v.to_le_bytes()).collect();
    let mut out = [0u8; 12];
    // The header numpy.save writes (copied without parsing) and a Fortran-ordered cell (parsed).
    decoder.decode_into(&encode_cell(&p, 0, "<i2", &[2, 3], false, &c).unwrap(), &mut out).unwrap();
    assert_eq!(out.as_slice(), c.as_slice());
    let fortran: Vec<u8> = [0i16, 3, 1, 4, 2, 5].iter().flat_map(|v| v.to_le_bytes()).collect();
    out = [0; 12];
    decoder.decode_into(&encode_cell(&p, 0, "<i2", &[2, 3], true, &fortran).unwrap(), &mut out).unwrap();
    assert_eq!(out.as_slice(), c.as_slice());
    // A cell of another shape, and one cut short, fail naming the field.
    let other = Unischema::from_json(&json("[3, 2]")).unwrap();
    let wrong = encode_cell(&other, 0, "<i2", &[3, 2], false, &c).unwrap();
    let e = decoder.decode_into(&wrong, &mut out).unwrap_err();
    assert_eq!((e.kind(), e.message()), (ErrorKind::Decode, "field 'm': expected shape (2, 3), found (3, 2)"));
    let good = encode_cell(&p, 0, "<i2", &[2, 3], false, &c).unwrap();
    let e = decoder.decode_into(&good[..good.len() - 1], &mut out).unwrap_err();
    assert!(e.message().starts_with("field 'm': "), "{}", e.message());

    // Images decode in place too; variable shapes decode to a tensor, as decode_cell does.
    let s = hello_world();
    let pixels: Vec<u8> = (0..128 * 256 * 3).map(|i| (i % 251) as u8).collect();
    let png = encode_cell(&s, 1, "|u1", &[128, 256, 3], false, &pixels).unwrap();
    let image = CellDecoder::new(&s, 1).unwrap();
    let mut decoded = vec![0u8; image.fixed_len().unwrap()];
    image.decode_into(&png, &mut decoded).unwrap();
    assert_eq!(decoded, pixels);
    let data: Vec<u8> = (0..2 * 128 * 30 * 2).map(|i| i as u8).collect();
    let npy = encode_cell(&s, 2, "|u1", &[2, 128, 30, 2], false, &data).unwrap();
    let variable = CellDecoder::new(&s, 2).unwrap();
    assert_eq!(variable.fixed_len(), None);
    assert_eq!(variable.decode(&npy).unwrap(), decode_cell(&s, 2, &npy).unwrap());
}
