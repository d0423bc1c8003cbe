//! The Unischema pickle: its opcodes, and (with the project venv) that Python loads it into
//! the same objects as upstream Petastorm 0.13.1's pickles in the fixtures.

mod common;

use std::process::Command;

use common::{fixtures, hello_world, python, temp_dir, PHOTO};
use petastorm_native::schema::{pickle::to_pickle, Unischema};

const HELLO_FIXTURE: &str = r#"{"name": "HelloWorldSchema", "fields": [
 {"name": "id", "dtype": "int32", "shape": [], "codec": {"type": "scalar", "spark_type": "integer"}},
 {"name": "image1", "dtype": "uint8", "shape": [128, 256, 3], "codec": {"type": "compressed_image", "format": "png"}},
 {"name": "array_4d", "dtype": "uint8", "shape": [null, 128, 30, null], "codec": {"type": "ndarray"}}]}"#;

const MNIST_FIXTURE: &str = r#"{"name": "MnistSchema", "fields": [
 {"name": "idx", "dtype": "int64", "shape": [], "codec": {"type": "scalar", "spark_type": "long"}},
 {"name": "digit", "dtype": "int64", "shape": [], "codec": {"type": "scalar", "spark_type": "long"}},
 {"name": "image", "dtype": "uint8", "shape": [28, 28], "codec": {"type": "ndarray"}}]}"#;

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    count(haystack, needle) > 0
}

#[test]
fn opcodes_follow_upstream() {
    let p = to_pickle(&hello_world());
    assert!(p.starts_with(b"\x80\x04\x8c\x13petastorm.unischema\x8c\x09Unischema\x93\x94)\x81}("));
    assert!(p.ends_with(b"ub."));
    for needle in [
        &b"\x8c\x05_name\x8c\x10HelloWorldSchema\x8c\x07_fields\x8c\x0bcollections\x8c\x0bOrderedDict\x93\x94)R("[..],
        b"\x8c\x0eUnischemaField\x93\x94(\x8c\x02id\x8c\x05numpy\x8c\x05int32\x93\x94)",
        b"\x8c\x0bScalarCodec\x93\x94)\x81}(\x8c\x0b_spark_type\x8c\x11pyspark.sql.types\x8c\x0bIntegerType\x93\x94)\x81ub\x89t\x81\x94",
        b"K\x80M\x00\x01K\x03t",
        b"}(\x8c\x0c_image_codec\x8c\x04.png\x8c\x08_quality\x4b\x50ub",
        b"(NK\x80K\x1eNt",
        b"\x8c\x0cNdarrayCodec\x93\x94)\x81\x89t\x81\x94",
    ] {
        assert!(contains(&p, needle), "missing {:?}", String::from_utf8_lossy(needle));
    }
    // The state dict ends with one attribute per field, pointing at the memoized fields.
    assert!(contains(&p, b"u\x8c\x02idh"), "{}", String::from_utf8_lossy(&p));
}

#[test]
fn string_decimal_and_field_attributes() {
    let s = Unischema::from_json(
        r#"{"name": "S", "fields": [
        {"name": "label", "dtype": "str", "shape": [], "codec": {"type": "scalar", "spark_type": "string"}},
        {"name": "d", "dtype": "decimal", "shape": [], "nullable": true, "codec": {"type": "scalar", "spark_type": "decimal(10,9)"}},
        {"name": "fields", "dtype": "bytes", "shape": [], "codec": null}]}"#,
    )
    .unwrap();
    let p = to_pickle(&s);
    assert!(contains(&p, b"\x8c\x04str_\x93"));
    assert!(contains(&p, b"\x8c\x07decimal\x8c\x07Decimal\x93"));
    assert!(contains(&p, b"\x8c\x06bytes_\x93\x94)N\x89t"));
    assert!(contains(&p, b"StringType\x93\x94)\x81}(\x8c\x09collation\x8c\x0bUTF8_BINARYub"));
    assert!(contains(
        &p,
        b"DecimalType\x93\x94)\x81}(\x8c\x09precisionK\x0a\x8c\x05scaleK\x09\x8c\x10hasPrecisionInfo\x88ubub\x88t"
    ));
    // Each name is followed by a memo reference in `_fields` and, as an attribute, in the
    // state dict, except `fields`, a Unischema property upstream.
    assert_eq!(count(&p, b"\x8c\x01dh"), 2);
    assert_eq!(count(&p, b"\x8c\x06fieldsh"), 1);
}

/// Stub `petastorm` modules, then compare our pickles with the fixtures' (if Python is here).
const CHECK: &str = r#"
import os, pickle, sys, pyarrow.parquet as pq
stub = sys.argv[1]
os.makedirs(os.path.join(stub, 'petastorm'), exist_ok=True)
open(os.path.join(stub, 'petastorm', '__init__.py'), 'w').close()
with open(os.path.join(stub, 'petastorm', 'unischema.py'), 'w') as f:
    f.write("from collections import namedtuple\n"
            "UnischemaField = namedtuple('UnischemaField', 'name numpy_dtype shape codec nullable')\n"
            "class Unischema: pass\n")
with open(os.path.join(stub, 'petastorm', 'codecs.py'), 'w') as f:
    for c in ['ScalarCodec', 'NdarrayCodec', 'CompressedNdarrayCodec', 'CompressedImageCodec']:
        f.write('class %s: pass\n' % c)
sys.path.insert(0, stub)
import collections, numpy

def spark(t):
    d = dict(vars(t))
    assert d.pop('collation', 'UTF8_BINARY') == 'UTF8_BINARY'
    return (type(t).__module__, type(t).__name__, d)

def codec(c):
    if c is None:
        return None
    d = {k: spark(v) if k == '_spark_type' else v for k, v in vars(c).items()}
    return (type(c).__module__, type(c).__name__, d)

def norm(u):
    assert type(u).__module__ == 'petastorm.unischema' and type(u).__name__ == 'Unischema'
    assert isinstance(u._fields, collections.OrderedDict)
    fields = []
    for name, f in u._fields.items():
        assert type(f).__name__ == 'UnischemaField' and f.name == name
        fields.append((f.name, f.numpy_dtype, f.shape, codec(f.codec), f.nullable))
        if name not in ('fields',):
            assert vars(u)[name] is f
    return (u._name, fields)

for ours, fixture in zip(sys.argv[2::2], sys.argv[3::2]):
    mine = pickle.load(open(ours, 'rb'))
    if fixture != '-':
        theirs = pickle.loads(pq.read_metadata(fixture).metadata[b'dataset-toolkit.unischema.v1'])
        assert norm(mine) == norm(theirs), (norm(mine), norm(theirs))
    else:
        norm(mine)
    for f in mine._fields.values():
        if f.codec is not None and hasattr(f.codec, '_spark_type'):
            f.codec._spark_type.simpleString()  # usable with the installed pyspark
print('ok')
"#;

#[test]
fn python_loads_pickles_equal_to_upstream() {
    let python = python();
    let dir = temp_dir("pickle");
    let fixture = |name: &str| fixtures().join(format!("petastorm-0.13.1/{name}/_common_metadata"));
    let many_fields: Vec<String> = (0..300)
        .map(|i| format!(r#"{{"name": "f{i}_{}", "dtype": "float32", "shape": [70000, 3000000000, null], "codec": {{"type": "ndarray"}}}}"#, "x".repeat(i)))
        .collect();
    let big = format!(r#"{{"name": "Big", "fields": [{}]}}"#, many_fields.join(","));
    let cases = [
        (HELLO_FIXTURE.to_string(), fixture("hello").display().to_string()),
        (MNIST_FIXTURE.to_string(), fixture("mnist").display().to_string()),
        (PHOTO.to_string(), fixture("jpeg").display().to_string()),
        (common::HELLO_WORLD.to_string(), "-".to_string()),
        (big, "-".to_string()),
    ];
    let mut args = vec!["-c".to_string(), CHECK.to_string(), dir.join("stubs").display().to_string()];
    for (i, (json, fixture)) in cases.iter().enumerate() {
        let path = dir.join(format!("{i}.pickle"));
        std::fs::write(&path, to_pickle(&Unischema::from_json(json).unwrap())).unwrap();
        args.extend([path.display().to_string(), fixture.clone()]);
    }
    let out = Command::new(python).args(&args).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
    let _ = std::fs::remove_dir_all(dir);
}
