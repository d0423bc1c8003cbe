//! Unischema JSON form, validation, Spark schema JSON and field matching.

mod common;

use common::{hello_world, HELLO_WORLD};
use petastorm_native::schema::{Codec, FieldDType, SparkType, Unischema};
use petastorm_native::ErrorKind;

fn with_field(field: &str) -> Result<Unischema, petastorm_native::Error> {
    Unischema::from_json(&format!(r#"{{"name": "S", "fields": [{field}]}}"#))
}

fn value_error(field: &str) -> String {
    let e = with_field(field).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Value, "{e}");
    e.message().to_string()
}

#[test]
fn json_round_trips() {
    let s = hello_world();
    assert_eq!(s.name(), "HelloWorldSchema");
    assert_eq!(s.fields().len(), 3);
    assert_eq!(
        s.fields()[1].codec,
        Some(Codec::CompressedImage { format: petastorm_native::codec::ImageFormat::Png, quality: 80 })
    );
    assert_eq!(s.fields()[2].shape, vec![None, Some(128), Some(30), None]);
    let json = s.to_json();
    assert_eq!(Unischema::from_json(&json).unwrap(), s);
    let expected: serde_json::Value = serde_json::from_str(HELLO_WORLD).unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap(), expected);
    assert!(json.starts_with(r#"{"name":"HelloWorldSchema","fields":[{"name":"id","dtype":"int32","shape":[],"nullable":false,"codec":{"type":"scalar","spark_type":"integer"}}"#));
}

#[test]
fn every_dtype_and_spark_type_round_trips() {
    let dtypes = [
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
        "float64", "str", "bytes",
    ];
    for d in dtypes {
        let s =
            with_field(&format!(r#"{{"name": "a", "dtype": "{d}", "shape": [2], "codec": {{"type": "ndarray"}}}}"#))
                .unwrap();
        assert_eq!(s.fields()[0].dtype.name(), d);
        assert_eq!(Unischema::from_json(&s.to_json()).unwrap(), s);
    }
    let spark = [
        "byte",
        "short",
        "integer",
        "long",
        "float",
        "double",
        "string",
        "boolean",
        "binary",
        "date",
        "timestamp",
        "decimal(10,9)",
    ];
    for t in spark {
        let s = with_field(&format!(
            r#"{{"name": "a", "dtype": "decimal", "shape": [], "codec": {{"type": "scalar", "spark_type": "{t}"}}}}"#
        ))
        .unwrap();
        assert_eq!(s.fields()[0].spark_type().unwrap().to_string(), t);
    }
    assert_eq!("decimal".parse::<SparkType>().unwrap(), SparkType::Decimal { precision: 10, scale: 0 });
    assert_eq!("decimal(38, 2)".parse::<SparkType>().unwrap(), SparkType::Decimal { precision: 38, scale: 2 });
    for bad in ["int", "decimal(39,0)", "decimal(5,6)", "decimal(5)", "decimal5,6)", "map"] {
        assert_eq!(bad.parse::<SparkType>().unwrap_err().kind(), ErrorKind::Value, "{bad}");
    }
}

#[test]
fn defaults_nullable_false_codec_null_quality_80() {
    let s = with_field(r#"{"name": "a", "dtype": "int32", "shape": []}"#).unwrap();
    assert!(!s.fields()[0].nullable);
    assert_eq!(s.fields()[0].codec, None);
    assert!(s.to_json().contains(r#""codec":null"#));
    let s = with_field(
        r#"{"name": "i", "dtype": "uint8", "shape": [2, 2], "codec": {"type": "compressed_image", "format": "jpeg"}}"#,
    )
    .unwrap();
    assert!(matches!(s.fields()[0].codec, Some(Codec::CompressedImage { quality: 80, .. })));
}

#[test]
fn validation_errors() {
    let dup = Unischema::from_json(r#"{"name": "S", "fields": [{"name": "a", "dtype": "int8", "shape": []}, {"name": "a", "dtype": "int8", "shape": []}]}"#).unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::Value);
    assert!(dup.message().contains("duplicate field name 'a'"), "{dup}");

    let image = |dtype: &str, shape: &str, format: &str, quality: u32| {
        format!(
            r#"{{"name": "img", "dtype": "{dtype}", "shape": {shape}, "codec": {{"type": "compressed_image", "format": "{format}", "quality": {quality}}}}}"#
        )
    };
    assert!(with_field(&image("uint8", "[4, 5, 3]", "png", 80)).is_ok());
    assert!(with_field(&image("uint16", "[null, null]", "png", 80)).is_ok());
    assert!(with_field(&image("uint8", "[4, 5]", "jpeg", 1)).is_ok());
    for (dtype, shape, format, quality) in [
        ("float32", "[4, 5, 3]", "png", 80),
        ("uint16", "[4, 5, 3]", "jpeg", 80),
        ("uint8", "[4, 5, 4]", "png", 80),
        ("uint8", "[4, 5, null]", "png", 80),
        ("uint8", "[4]", "png", 80),
        ("uint8", "[4, 5, 3, 1]", "png", 80),
        ("uint8", "[4, 5, 3]", "png", 0),
        ("uint8", "[4, 5, 3]", "jpeg", 101),
    ] {
        let m = value_error(&image(dtype, shape, format, quality));
        assert!(m.starts_with("field 'img': "), "{m}");
    }
    assert!(value_error(&image("uint8", "[4, 5, 3]", "gif", 80)).contains("unsupported image format 'gif'"));

    let m = value_error(
        r#"{"name": "id", "dtype": "int32", "shape": [3], "codec": {"type": "scalar", "spark_type": "integer"}}"#,
    );
    assert!(m.contains("field 'id'") && m.contains("shape []"), "{m}");
    let m = value_error(r#"{"name": "d", "dtype": "decimal", "shape": [3], "codec": {"type": "ndarray"}}"#);
    assert!(m.contains("field 'd'"), "{m}");
    assert!(value_error(r#"{"name": "a", "dtype": "complex64", "shape": []}"#).contains("invalid Unischema JSON"));
    assert!(value_error(r#"{"name": "a", "dtype": "int8", "shape": [-1]}"#).contains("invalid Unischema JSON"));
    assert!(value_error(
        r#"{"name": "a", "dtype": "int8", "shape": [], "codec": {"type": "scalar", "spark_type": "varchar"}}"#
    )
    .contains("varchar"));
    assert_eq!(Unischema::from_json("not json").unwrap_err().kind(), ErrorKind::Value);
}

#[test]
fn spark_schema_json_of_hello_world() {
    assert_eq!(
        hello_world().spark_schema_json().unwrap(),
        r#"{"type":"struct","fields":[{"name":"id","type":"integer","nullable":false,"metadata":{}},{"name":"image1","type":"binary","nullable":false,"metadata":{}},{"name":"other_data","type":"binary","nullable":false,"metadata":{}}]}"#
    );
}

#[test]
fn spark_types_follow_as_spark_schema() {
    let cases = [
        ("int8", "byte"),
        ("uint8", "short"),
        ("int16", "short"),
        ("uint16", "integer"),
        ("int32", "integer"),
        ("int64", "long"),
        ("float32", "float"),
        ("float64", "double"),
        ("str", "string"),
        ("bool", "boolean"),
        ("decimal", "decimal(10,0)"),
        ("bytes", "binary"),
    ];
    for (dtype, spark) in cases {
        let s = with_field(&format!(r#"{{"name": "a", "dtype": "{dtype}", "shape": [], "nullable": true}}"#)).unwrap();
        let json = s.spark_schema_json().unwrap();
        assert!(json.contains(&format!(r#""type":"{spark}","nullable":true"#)), "{dtype}: {json}");
    }
    for dtype in ["uint32", "uint64", "float16"] {
        let s = with_field(&format!(r#"{{"name": "a", "dtype": "{dtype}", "shape": []}}"#)).unwrap();
        assert_eq!(s.spark_schema_json().unwrap_err().kind(), ErrorKind::Value);
    }
    // A scalar codec's type wins; array codecs are binary; codec-less arrays have no Spark type.
    let s = with_field(
        r#"{"name": "a", "dtype": "uint8", "shape": [], "codec": {"type": "scalar", "spark_type": "long"}}"#,
    )
    .unwrap();
    assert!(s.spark_schema_json().unwrap().contains(r#""type":"long""#));
    let s = with_field(r#"{"name": "a", "dtype": "float64", "shape": [3], "codec": {"type": "compressed_ndarray"}}"#)
        .unwrap();
    assert!(s.spark_schema_json().unwrap().contains(r#""type":"binary""#));
    let s = with_field(r#"{"name": "a", "dtype": "float64", "shape": [null]}"#).unwrap();
    let e = s.spark_schema_json().unwrap_err();
    assert!(e.message().contains("non-scalar UnischemaField 'a'"), "{e}");
}

#[test]
fn match_fields_full_match_in_schema_order() {
    let s = hello_world();
    let names = |patterns: &[&str]| -> Vec<String> {
        s.match_fields(patterns).unwrap().into_iter().map(|f| f.name.clone()).collect()
    };
    assert_eq!(names(&["other_data", "id"]), ["id", "other_data"]);
    assert_eq!(names(&["image"]), Vec::<String>::new());
    assert_eq!(names(&["image.*"]), ["image1"]);
    assert_eq!(names(&["i.*", ".*data"]), ["id", "image1", "other_data"]);
    assert_eq!(names(&["id|other.*"]), ["id", "other_data"]);
    assert_eq!(names(&[]), Vec::<String>::new());
    let e = s.match_fields(&["("]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Value);
    assert!(e.message().contains("invalid field regex '('"));
}

#[test]
fn field_lookup() {
    let s = hello_world();
    assert_eq!(s.field(1).unwrap().dtype, FieldDType::UInt8);
    assert_eq!(s.field(3).unwrap_err().kind(), ErrorKind::Value);
    assert!(s.field_by_name("other_data").is_some());
    assert!(s.field_by_name("nope").is_none());
}

#[test]
fn a_negative_dimension_is_an_error_naming_the_field() {
    let e = with_field(r#"{"name": "m", "dtype": "int32", "shape": [null, -1, 3], "codec": {"type": "ndarray"}}"#)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Value);
    assert!(e.message().contains("field 'm': shape [null,-1,3] has a negative dimension"), "{e}");
}
