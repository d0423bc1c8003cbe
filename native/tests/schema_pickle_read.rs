//! Reading pickled Unischemas without Python: every upstream fixture (Petastorm 0.4.0–0.7.6
//! protocol-0 Python 2 pickles, 0.13.1 protocol-4 pickles), our own writer's pickles, the
//! allow-list of globals, and robustness against truncated and corrupted input.

mod common;

use std::fs::File;
use std::io::Read;

use common::{fixtures, hello_world, photo};
use petastorm_native::codec::{npy, Expect};
use petastorm_native::dataset::metadata::{key_value_metadata, schema_from_metadata, UNISCHEMA_PICKLE_KEY};
use petastorm_native::dtype::Kind;
use petastorm_native::schema::pickle::to_pickle;
use petastorm_native::schema::pickle_read::from_pickle;
use petastorm_native::schema::{Codec, Field, FieldDType, SparkType, Unischema};
use petastorm_native::ErrorKind;

const LEGACY: [&str; 6] = ["0.4.0", "0.4.3", "0.5.1", "0.6.0", "0.7.0", "0.7.6"];
const CURRENT: [&str; 3] = ["hello", "mnist", "jpeg"];

fn common_metadata(dataset: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(dataset).join("_common_metadata")).unwrap()
}

/// The raw `dataset-toolkit.unischema.v1` pickle of a fixture.
fn fixture_pickle(dataset: &str) -> Vec<u8> {
    let kv = key_value_metadata(&common_metadata(dataset)).unwrap();
    kv.into_iter().find(|(k, _)| k == UNISCHEMA_PICKLE_KEY).unwrap().1
}

fn all_fixture_datasets() -> Vec<String> {
    let legacy = LEGACY.iter().map(|v| format!("petastorm-legacy/{v}"));
    legacy.chain(CURRENT.iter().map(|d| format!("petastorm-0.13.1/{d}"))).collect()
}

// ---- fixtures checked against `__fields__` of the expected npz ----

/// `__fields__` of `DATASET.expected.npz`: `[name, numpy dtype str, shape, codec repr, nullable]`.
fn expected_fields(dataset: &str) -> Vec<serde_json::Value> {
    let path = fixtures().join(format!("{dataset}.expected.npz"));
    let mut archive = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
    let mut bytes = Vec::new();
    archive.by_name("__fields__.npy").unwrap().read_to_end(&mut bytes).unwrap();
    let tensor = npy::decode(&bytes, &Expect { kind: Kind::Unicode, itemsize: None, shape: &[] }).unwrap();
    let text: String = tensor
        .data
        .chunks(4)
        .map(|c| {
            let c: [u8; 4] = c.try_into().unwrap();
            if tensor.dtype.big_endian {
                u32::from_be_bytes(c)
            } else {
                u32::from_le_bytes(c)
            }
        })
        .take_while(|&u| u != 0)
        .map(|u| char::from_u32(u).unwrap())
        .collect();
    serde_json::from_str(&text).unwrap()
}

/// `np.dtype(field.numpy_dtype).str`, string widths dropped.
fn numpy_str(dtype: FieldDType) -> &'static str {
    use FieldDType::*;
    match dtype {
        Bool => "|b1",
        Int8 => "|i1",
        Int16 => "<i2",
        Int32 => "<i4",
        Int64 => "<i8",
        UInt8 => "|u1",
        UInt16 => "<u2",
        UInt32 => "<u4",
        UInt64 => "<u8",
        Float16 => "<f2",
        Float32 => "<f4",
        Float64 => "<f8",
        Str => "<U",
        Bytes => "|S",
        Decimal => "<class 'decimal.Decimal'>",
        Datetime64 => "<M8",
    }
}

/// Upstream's `repr(codec)` (the fixtures' pyspark printed `DecimalType()` for decimals).
fn codec_repr(codec: &Option<Codec>) -> String {
    match *codec {
        None => "None".into(),
        Some(Codec::Scalar { spark_type }) => format!("ScalarCodec({}())", spark_type.pyspark_class()),
        Some(Codec::Ndarray) => "NdarrayCodec()".into(),
        Some(Codec::CompressedNdarray) => "CompressedNdarrayCodec()".into(),
        Some(Codec::CompressedImage { format, quality }) => {
            let format = match format {
                petastorm_native::codec::ImageFormat::Png => "png",
                petastorm_native::codec::ImageFormat::Jpeg => "jpeg",
            };
            format!("CompressedImageCodec('{format}', {quality})")
        }
        Some(Codec::Custom { ref module, ref class, .. }) => format!("{module}.{class}"),
    }
}

fn describe(f: &Field) -> serde_json::Value {
    serde_json::json!([f.name, numpy_str(f.dtype), f.shape, codec_repr(&f.codec), f.nullable])
}

fn normalize(mut expected: serde_json::Value) -> serde_json::Value {
    let dtype = expected[1].as_str().unwrap().to_string();
    if dtype.starts_with("<U") || dtype.starts_with("|S") {
        expected[1] = dtype[..2].into();
    }
    expected
}

#[test]
fn fixtures_match_expected_fields() {
    let datasets =
        CURRENT.iter().map(|d| format!("petastorm-0.13.1/{d}")).chain(["petastorm-legacy/0.7.6".to_string()]);
    for dataset in datasets {
        let schema = schema_from_metadata(&common_metadata(&dataset)).unwrap_or_else(|e| panic!("{dataset}: {e}"));
        let ours: Vec<_> = schema.fields().iter().map(describe).collect();
        let expected: Vec<_> = expected_fields(&dataset).into_iter().map(normalize).collect();
        assert_eq!(ours, expected, "{dataset}");
        // The pickle alone gives the same schema as the metadata path.
        assert_eq!(from_pickle(&fixture_pickle(&dataset)).unwrap(), schema);
    }
    let names = [("hello", "HelloWorldSchema"), ("mnist", "MnistSchema"), ("jpeg", "PhotoSchema")];
    for (dataset, name) in names {
        let schema = schema_from_metadata(&common_metadata(&format!("petastorm-0.13.1/{dataset}"))).unwrap();
        assert_eq!(schema.name(), name);
    }
    // The same schema as the project's own JSON of the jpeg fixture.
    let jpeg = schema_from_metadata(&common_metadata("petastorm-0.13.1/jpeg")).unwrap();
    assert_eq!(jpeg, photo());
    let legacy = schema_from_metadata(&common_metadata("petastorm-legacy/0.7.6")).unwrap();
    assert_eq!(legacy.name(), "TestSchema");
    let decimal = legacy.field_by_name("decimal").unwrap();
    assert_eq!(decimal.codec, Some(Codec::Scalar { spark_type: SparkType::Decimal { precision: 10, scale: 9 } }));
}

// ---- legacy fixtures by hand ----

/// The fields of the legacy test schema, in upstream's (sorted) order, for `version`.
fn legacy_schema(version: &str) -> Unischema {
    let at_least = |v: &str| {
        let parse = |s: &str| s.split('.').map(|p| p.parse::<u32>().unwrap()).collect::<Vec<_>>();
        parse(version) >= parse(v)
    };
    let scalar = |t: &str| format!(r#"{{"type": "scalar", "spark_type": "{t}"}}"#);
    let nd = r#"{"type": "ndarray"}"#.to_string();
    let matrix_string = if at_least("0.6.0") { "[null, null]" } else { "[null]" };
    let mut fields: Vec<(&str, &str, &str, String, bool)> = vec![
        ("decimal", "decimal", "[]", scalar("decimal(10,9)"), false),
        ("empty_matrix_string", "bytes", "[null]", nd.clone(), false),
        ("id", "int64", "[]", scalar("long"), false),
        ("id2", "int32", "[]", scalar("short"), false),
        ("id_float", "float64", "[]", scalar("double"), false),
        ("id_odd", "bool", "[]", scalar("boolean"), false),
        (
            "image_png",
            "uint8",
            "[32, 16, 3]",
            r#"{"type": "compressed_image", "format": "png", "quality": 80}"#.into(),
            false,
        ),
        ("integer_nullable", "int32", "[]", scalar("short"), true),
        ("matrix", "float32", "[32, 16, 3]", nd.clone(), false),
        ("matrix_nullable", "uint16", "[32, 16, 3]", nd.clone(), true),
        ("matrix_string", "bytes", matrix_string, nd.clone(), false),
        ("matrix_uint16", "uint16", "[32, 16, 3]", nd.clone(), false),
        ("matrix_uint32", "uint32", "[32, 16, 3]", nd.clone(), false),
        ("partition_key", "str", "[]", scalar("string"), false),
        ("python_primitive_uint8", "uint8", "[]", scalar("short"), false),
        ("sensor_name", "str", "[1]", nd.clone(), false),
        ("string_array_nullable", "str", "[null]", nd, true),
    ];
    fields.retain(|(name, ..)| match *name {
        "id_float" | "id_odd" => at_least("0.5.1"),
        "integer_nullable" | "matrix_uint32" => at_least("0.7.6"),
        _ => true,
    });
    let fields: Vec<String> = fields
        .into_iter()
        .map(|(name, dtype, shape, codec, nullable)| {
            format!(r#"{{"name": "{name}", "dtype": "{dtype}", "shape": {shape}, "codec": {codec}, "nullable": {nullable}}}"#)
        })
        .collect();
    Unischema::from_json(&format!(r#"{{"name": "TestSchema", "fields": [{}]}}"#, fields.join(","))).unwrap()
}

#[test]
fn legacy_fixtures_by_hand() {
    for version in LEGACY {
        let schema = schema_from_metadata(&common_metadata(&format!("petastorm-legacy/{version}")))
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        assert_eq!(schema, legacy_schema(version), "{version}");
    }
    assert_eq!(legacy_schema("0.4.0").fields().len(), 13);
    assert_eq!(legacy_schema("0.7.6").fields().len(), 17);
}

// ---- our writer's pickles ----

fn round_trip(schema: &Unischema) {
    let back = from_pickle(&to_pickle(schema)).unwrap_or_else(|e| panic!("{}: {e}", schema.name()));
    assert_eq!(&back, schema);
}

#[test]
fn writer_pickles_round_trip() {
    round_trip(&hello_world());
    round_trip(&photo());
    use FieldDType::*;
    let all = [Bool, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float16, Float32, Float64, Str, Bytes];
    let mut fields = Vec::new();
    for (i, dtype) in all.into_iter().enumerate() {
        let field = |suffix: &str, shape: Vec<Option<usize>>, codec, nullable| Field {
            name: format!("{}_{suffix}", dtype.name()),
            dtype,
            shape,
            nullable,
            codec,
        };
        let scalar = dtype.default_spark_type().map(|spark_type| Codec::Scalar { spark_type });
        fields.push(field("plain", vec![], None, i % 2 == 0));
        fields.push(field("scalar", vec![], scalar, i % 3 == 0));
        fields.push(field("nd", vec![None, Some(3), None], Some(Codec::Ndarray), i % 2 == 1));
        fields.push(field("npz", vec![Some(7), Some(0)], Some(Codec::CompressedNdarray), false));
    }
    let decimal = |name: &str, precision, scale| Field {
        name: name.into(),
        dtype: Decimal,
        shape: vec![],
        nullable: true,
        codec: Some(Codec::Scalar { spark_type: SparkType::Decimal { precision, scale } }),
    };
    fields.push(decimal("decimal", 10, 9));
    fields.push(decimal("decimal_38", 38, 0));
    fields.push(Field { name: "decimal_plain".into(), dtype: Decimal, shape: vec![], nullable: false, codec: None });
    for spark_type in [SparkType::Date, SparkType::Timestamp] {
        let codec = Some(Codec::Scalar { spark_type });
        let name = format!("datetime64_{spark_type}");
        fields.push(Field { name, dtype: Datetime64, shape: vec![], nullable: true, codec });
    }
    for spark_type in [SparkType::Date, SparkType::Timestamp, SparkType::Binary] {
        let name = format!("spark_{spark_type}");
        fields.push(Field {
            name,
            dtype: Int64,
            shape: vec![],
            nullable: false,
            codec: Some(Codec::Scalar { spark_type }),
        });
    }
    use petastorm_native::codec::ImageFormat::{Jpeg, Png};
    let image = |name: &str, dtype, shape: Vec<Option<usize>>, format, quality| Field {
        name: name.into(),
        dtype,
        shape,
        nullable: false,
        codec: Some(Codec::CompressedImage { format, quality }),
    };
    fields.push(image("png_gray16", UInt16, vec![Some(300), None], Png, 80));
    fields.push(image("png_rgb", UInt8, vec![None, None, Some(3)], Png, 1));
    fields.push(image("jpeg_q100", UInt8, vec![Some(224), Some(224), Some(3)], Jpeg, 100));
    // Names that upstream's pickle does not mirror as attributes.
    fields.push(Field { name: "fields".into(), dtype: Int32, shape: vec![], nullable: false, codec: None });
    fields.push(Field {
        name: "__dunder__".into(),
        dtype: Int32,
        shape: vec![Some(70000)],
        nullable: false,
        codec: Some(Codec::Ndarray),
    });
    fields.push(Field {
        name: "ünïcode 名前".into(),
        dtype: Str,
        shape: vec![Some(1 << 40)],
        nullable: true,
        codec: Some(Codec::Ndarray),
    });
    let schema = Unischema::new("Everything", fields).unwrap();
    round_trip(&schema);
    // Many fields: memo indices past 255 (LONG_BINGET) and names past 255 bytes (BINUNICODE).
    let many: Vec<Field> = (0..400)
        .map(|i| Field {
            name: format!("f{i}_{}", "x".repeat(i % 300)),
            dtype: Float32,
            shape: vec![],
            nullable: false,
            codec: None,
        })
        .collect();
    round_trip(&Unischema::new("Many".repeat(100), many).unwrap());
    round_trip(&Unischema::new("Empty", vec![]).unwrap());
}

// ---- the allow-list ----

fn metadata_error(pickled: &[u8]) -> String {
    let e = from_pickle(pickled).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Metadata, "{e}");
    e.message().to_string()
}

#[test]
fn disallowed_globals_are_rejected() {
    let cases: [(&[u8], &str); 6] = [
        (b"cos\nsystem\n(S'echo pwned'\ntR.", "os.system"),
        (b"cposix\nsystem\n(S'echo pwned'\ntR.", "posix.system"),
        (b"c__builtin__\neval\n(S'1'\ntR.", "builtins.eval"),
        (b"(S'ls'\nios\nsystem\n.", "os.system"),
        (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x07getattr\x93)R.", "builtins.getattr"),
        (b"\x80\x02csubprocess\ncheck_output\n]\x85R.", "subprocess.check_output"),
    ];
    for (pickled, global) in cases {
        assert_eq!(metadata_error(pickled), format!("pickle references {global}, which is not allowed"));
    }
    // Allowed globals in the wrong places are still not a Unischema.
    assert!(
        metadata_error(b"cnumpy\nint32\n.").contains("expected an object"),
        "{}",
        metadata_error(b"cnumpy\nint32\n.")
    );
    let message = metadata_error(b"\x80\x04\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R.");
    assert!(message.contains("not a petastorm.unischema.Unischema"), "{message}");
    // A disallowed global deep inside a real pickle: a field dtype swapped for os.system.
    let p = to_pickle(&hello_world());
    let at = p.windows(6).position(|w| w == b"\x05numpy").unwrap();
    let mut evil = p[..at].to_vec();
    evil.extend(b"\x02os\x8c\x06system");
    evil.extend(&p[at + 1 + 5 + 2 + 5..]);
    assert_eq!(
        metadata_error(&evil),
        "pickled Unischema HelloWorldSchema, field 'id': unsupported numpy_dtype os.system"
    );
    // Other names are a user's codec class at most: never called with arguments.
    assert_eq!(
        metadata_error(b"\x80\x04\x8c\x02my\x8c\x05Codec\x93K\x01\x85\x81."),
        "pickle references my.Codec, which is not allowed"
    );
}

#[test]
fn custom_codecs_round_trip_with_their_state() {
    let state = serde_json::json!({"scale": 2, "big": -5_000_000_000i64, "ratio": 0.5, "name": "x", "tags": ["a", null, true],
                                   "nested": {"k": [1, 2]}});
    let codec = Codec::Custom {
        module: "my_pkg.codecs".into(),
        class: "ScaledCodec".into(),
        state: state.as_object().unwrap().clone(),
        spark_type: SparkType::Binary,
    };
    let field =
        Field { name: "v".into(), dtype: FieldDType::Float32, shape: vec![None], nullable: true, codec: Some(codec) };
    round_trip(&Unischema::new("S", vec![field]).unwrap());
}

#[test]
fn malformed_input_is_a_metadata_error() {
    let cases: [&[u8]; 12] = [
        b"",
        b".",
        b"N",
        b"(.",
        b"g1\n.",
        b"\x80\x04X\xff\xff\xff\xff",
        b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\x80\x09N.",
        b"I99999999999999999999999\n.",
        b"\x8a\x10\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10.",
        b"P0\n.",
        b"\xff",
    ];
    for case in cases {
        metadata_error(case);
    }
    // Deep nesting and many marks do not recurse.
    let mut deep = vec![b']'; 200_000];
    deep.extend(std::iter::repeat_n(b'a', 199_999));
    deep.push(b'.');
    assert!(metadata_error(&deep).contains("expected an object"));
    let mut marks = vec![b'('; 500_000];
    marks.push(b'.');
    metadata_error(&marks);
    // A list appended to itself is not a problem either.
    metadata_error(b"]q\x00h\x00a.");
    // The legacy pickle with a _restore namedtuple that is not a UnischemaField.
    let p = fixture_pickle("petastorm-legacy/0.4.0");
    let bad = String::from_utf8_lossy(&p).replace("S'nullable'", "S'nullabl3'").into_bytes();
    assert!(metadata_error(&bad).contains("not a UnischemaField"), "{}", metadata_error(&bad));
}

// ---- robustness ----

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn truncated_and_corrupted_pickles_never_panic() {
    let mut pickles: Vec<Vec<u8>> = all_fixture_datasets().iter().map(|d| fixture_pickle(d)).collect();
    pickles.push(to_pickle(&hello_world()));
    pickles.push(to_pickle(&photo()));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let interesting =
        [b'(', b'.', b't', b'R', b'b', b'g', b'h', b'p', b's', b'u', b'a', b'0', b'1', b'2', 0x80, 0x93, 0x94, 0xff, 0];
    let mut ok = 0;
    for p in &pickles {
        assert!(from_pickle(p).is_ok());
        for n in 0..p.len() {
            assert!(from_pickle(&p[..n]).is_err(), "a truncation to {n} bytes parsed");
        }
        for _ in 0..3000 {
            let mut q = p.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(q.len());
                q[at] = match rng.below(3) {
                    0 => interesting[rng.below(interesting.len())],
                    1 => q[at] ^ (1 << rng.below(8)),
                    _ => rng.next() as u8,
                };
            }
            if rng.below(10) == 0 {
                let at = rng.below(q.len());
                let len = rng.below(16).min(q.len() - at);
                q.drain(at..at + len);
            }
            match from_pickle(&q) {
                Ok(_) => ok += 1,
                Err(e) => assert_eq!(e.kind(), ErrorKind::Metadata, "{e}"),
            }
        }
    }
    // Many corruptions (in strings, say) still give a schema.
    assert!(ok > 0);
}

// ---- pickles Python itself writes, every protocol ----

/// Pickles one schema with protocols 0–5 into `argv[1..]`, with stand-ins for Petastorm's
/// classes (same module and class names) and the installed numpy and pyspark.
const PYTHON_PICKLES: &str = r#"
import collections, decimal, pickle, sys, types
import numpy as np
from pyspark.sql.types import DecimalType, IntegerType, LongType, StringType

def module(name, **classes):
    m = types.ModuleType(name)
    for class_name, cls in classes.items():
        cls.__module__, cls.__qualname__, cls.__name__ = name, class_name, class_name
        setattr(m, class_name, cls)
    sys.modules[name] = m

UnischemaField = collections.namedtuple('UnischemaField', ['name', 'numpy_dtype', 'shape', 'codec', 'nullable'])

class Unischema:
    def __init__(self, name, fields):
        self._name = name
        self._fields = collections.OrderedDict((f.name, f) for f in fields)
        for f in fields:
            setattr(self, f.name, f)

class ScalarCodec:
    def __init__(self, spark_type):
        self._spark_type = spark_type

class NdarrayCodec:
    pass

class CompressedNdarrayCodec:
    pass

class CompressedImageCodec:
    def __init__(self, image_codec='png', quality=80):
        self._image_codec = '.' + image_codec
        self._quality = quality

sys.modules['petastorm'] = types.ModuleType('petastorm')
module('petastorm.unischema', Unischema=Unischema, UnischemaField=UnischemaField)
module('petastorm.codecs', ScalarCodec=ScalarCodec, NdarrayCodec=NdarrayCodec,
       CompressedNdarrayCodec=CompressedNdarrayCodec, CompressedImageCodec=CompressedImageCodec)

long_codec = ScalarCodec(LongType())  # shared by two fields: memoized after BUILD
schema = Unischema('PySchema', [
    UnischemaField('id', np.int32, (), ScalarCodec(IntegerType()), False),
    UnischemaField('id2', np.int64, (), long_codec, False),
    UnischemaField('id3', np.int64, (), long_codec, True),
    UnischemaField('d', decimal.Decimal, (), ScalarCodec(DecimalType(10, 9)), True),
    UnischemaField('s', np.str_, (), ScalarCodec(StringType()), False),
    UnischemaField('b', np.bytes_, (None,), NdarrayCodec(), False),
    UnischemaField('flag', np.bool_, (2, 2), NdarrayCodec(), False),
    UnischemaField('img', np.uint8, (10, 20, 3), CompressedImageCodec('jpeg', 70), False),
    UnischemaField('png16', np.uint16, (10, 20), CompressedImageCodec(), False),
    UnischemaField('nd', np.dtype('float32'), (None, 3), NdarrayCodec(), False),
    UnischemaField('u5', np.dtype('<U5'), (4,), NdarrayCodec(), False),
    UnischemaField('be', np.dtype('>i2'), (4,), NdarrayCodec(), False),
    UnischemaField('z', np.int64, (None,), CompressedNdarrayCodec(), True),
    UnischemaField('py_int', int, (), None, False),
    UnischemaField('py_float', float, (), None, False),
    UnischemaField('py_str', str, (), None, False),
    UnischemaField('py_bool', bool, (), None, False),
    UnischemaField('py_bytes', bytes, (), None, False),
    UnischemaField('big', np.float64, (2**40, None), NdarrayCodec(), False),
])
for protocol, path in enumerate(sys.argv[1:]):
    with open(path, 'wb') as f:
        f.write(pickle.dumps(schema, protocol=protocol))
"#;

const PYTHON_SCHEMA: &str = r#"{"name": "PySchema", "fields": [
 {"name": "id", "dtype": "int32", "shape": [], "codec": {"type": "scalar", "spark_type": "integer"}},
 {"name": "id2", "dtype": "int64", "shape": [], "codec": {"type": "scalar", "spark_type": "long"}},
 {"name": "id3", "dtype": "int64", "shape": [], "nullable": true, "codec": {"type": "scalar", "spark_type": "long"}},
 {"name": "d", "dtype": "decimal", "shape": [], "nullable": true, "codec": {"type": "scalar", "spark_type": "decimal(10,9)"}},
 {"name": "s", "dtype": "str", "shape": [], "codec": {"type": "scalar", "spark_type": "string"}},
 {"name": "b", "dtype": "bytes", "shape": [null], "codec": {"type": "ndarray"}},
 {"name": "flag", "dtype": "bool", "shape": [2, 2], "codec": {"type": "ndarray"}},
 {"name": "img", "dtype": "uint8", "shape": [10, 20, 3], "codec": {"type": "compressed_image", "format": "jpeg", "quality": 70}},
 {"name": "png16", "dtype": "uint16", "shape": [10, 20], "codec": {"type": "compressed_image", "format": "png", "quality": 80}},
 {"name": "nd", "dtype": "float32", "shape": [null, 3], "codec": {"type": "ndarray"}},
 {"name": "u5", "dtype": "str", "shape": [4], "codec": {"type": "ndarray"}},
 {"name": "be", "dtype": "int16", "shape": [4], "codec": {"type": "ndarray"}},
 {"name": "z", "dtype": "int64", "shape": [null], "nullable": true, "codec": {"type": "compressed_ndarray"}},
 {"name": "py_int", "dtype": "int64", "shape": []},
 {"name": "py_float", "dtype": "float64", "shape": []},
 {"name": "py_str", "dtype": "str", "shape": []},
 {"name": "py_bool", "dtype": "bool", "shape": []},
 {"name": "py_bytes", "dtype": "bytes", "shape": []},
 {"name": "big", "dtype": "float64", "shape": [1099511627776, null], "codec": {"type": "ndarray"}}]}"#;

#[test]
fn python_pickles_of_every_protocol() {
    let python = common::python();
    let dir = common::temp_dir("pickle-read");
    let paths: Vec<_> = (0..=5).map(|p| dir.join(format!("protocol{p}.pickle"))).collect();
    let out = std::process::Command::new(python).arg("-c").arg(PYTHON_PICKLES).args(&paths).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = Unischema::from_json(PYTHON_SCHEMA).unwrap();
    for (protocol, path) in paths.iter().enumerate() {
        let schema = from_pickle(&std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("protocol {protocol}: {e}"));
        assert_eq!(schema, expected, "protocol {protocol}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

// ---- pathological sharing stays cheap ----

/// A minimal protocol-4 pickle writer for hand-made object graphs.
#[derive(Default)]
struct Pickle {
    out: Vec<u8>,
    memo: u32,
}

impl Pickle {
    fn str(&mut self, s: &str) -> &mut Self {
        self.out.push(b'X');
        self.out.extend((s.len() as u32).to_le_bytes());
        self.out.extend(s.as_bytes());
        self
    }
    fn op(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend(bytes);
        self
    }
    fn global(&mut self, module: &str, name: &str) -> &mut Self {
        self.str(module).str(name).op(b"\x93")
    }
    fn memoize(&mut self) -> u32 {
        self.out.push(0x94);
        self.memo += 1;
        self.memo - 1
    }
    fn get(&mut self, index: u32) -> &mut Self {
        self.out.push(b'j');
        self.out.extend(index.to_le_bytes());
        self
    }
    /// `Unischema` with `_name` 'S' and `_fields` from `fields`(writer of `(key, field)` pairs).
    fn unischema(fields: impl FnOnce(&mut Self)) -> Vec<u8> {
        let mut p = Pickle::default();
        p.op(b"\x80\x04").global("petastorm.unischema", "Unischema").op(b")\x81}(");
        p.str("_name").str("S").str("_fields").global("collections", "OrderedDict").op(b")R(");
        fields(&mut p);
        p.op(b"uub.");
        p.out
    }
    /// Starts `UnischemaField(name, numpy.int32, ...`: the caller adds shape, codec, nullable, `t\x81`.
    fn field_start(&mut self, name: &str) -> &mut Self {
        self.global("petastorm.unischema", "UnischemaField").op(b"(").str(name).global("numpy", "int32")
    }
}

#[test]
fn shared_objects_do_not_multiply_work() {
    let start = std::time::Instant::now();
    // 20 000 fields sharing one 200 000-dimension shape.
    let shape_fields = Pickle::unischema(|p| {
        p.op(b"(").op(&vec![b'N'; 200_000]).op(b"t");
        let shape = p.memoize();
        p.op(b"0");
        for i in 0..20_000 {
            p.str(&format!("f{i}")).field_start(&format!("f{i}")).get(shape).op(b"N\x89t\x81");
        }
    });
    assert!(metadata_error(&shape_fields).contains("more than 64"), "{}", metadata_error(&shape_fields));
    // 20 000 codecs sharing one 200 000-entry state dict.
    let state_fields = Pickle::unischema(|p| {
        p.op(b"}(");
        for i in 0..200_000 {
            p.str(&format!("k{i}")).op(b"N");
        }
        p.op(b"u");
        let state = p.memoize();
        p.op(b"0");
        for i in 0..20_000 {
            p.str(&format!("f{i}")).field_start(&format!("f{i}")).op(b")");
            p.global("petastorm.codecs", "NdarrayCodec").op(b")\x81").get(state).op(b"b\x89t\x81");
        }
    });
    assert!(metadata_error(&state_fields).contains("more than 64 entries"), "{}", metadata_error(&state_fields));
    // One field object, with a 1 MB name, under 20 000 keys.
    let same_field = Pickle::unischema(|p| {
        let name = "n".repeat(1 << 20);
        p.str("first").field_start(&name).op(b")N\x89t\x81");
        let field = p.memoize();
        for i in 0..20_000 {
            p.str(&format!("k{i}")).get(field);
        }
    });
    assert!(metadata_error(&same_field).contains("the same field appears twice"), "{}", metadata_error(&same_field));
    // 20 000 field objects sharing one 1 MB name string.
    let same_name = Pickle::unischema(|p| {
        p.str(&"n".repeat(1 << 20));
        let name = p.memoize();
        p.op(b"0");
        for i in 0..20_000 {
            p.str(&format!("k{i}")).global("petastorm.unischema", "UnischemaField").op(b"(").get(name);
            p.global("numpy", "int32").op(b")N\x89t\x81");
        }
    });
    assert!(metadata_error(&same_name).contains("the same field appears twice"), "{}", metadata_error(&same_name));
    // The hand-made writer itself makes valid schemas.
    let ok = Pickle::unischema(|p| {
        p.str("a").field_start("a").op(b"(K\x03Nt").global("petastorm.codecs", "NdarrayCodec").op(b")\x81\x88t\x81");
    });
    let schema = from_pickle(&ok).unwrap();
    assert_eq!(schema.fields()[0].shape, vec![Some(3), None]);
    assert!(schema.fields()[0].nullable);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}
