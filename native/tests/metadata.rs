//! `_common_metadata` and the writer's Hadoop settings.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow::array::{BinaryArray, Int32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use common::{fixtures, python, temp_dir};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use petastorm_native::dataset::metadata::{
    common_metadata, key_value_metadata, parquet_footer_len, schema_from_metadata, with_key_value, writer_hadoop_conf,
    ROW_GROUPS_PER_FILE_KEY, UNISCHEMA_JSON_KEY, UNISCHEMA_PICKLE_KEY,
};
use petastorm_native::dataset::summary::set_common_metadata_value;
use petastorm_native::schema::{pickle::to_pickle, Unischema};
use petastorm_native::storage;
use petastorm_native::ErrorKind;

const HELLO_FIXTURE: &str = r#"{"name": "HelloWorldSchema", "fields": [
 {"name": "id", "dtype": "int32", "shape": [], "codec": {"type": "scalar", "spark_type": "integer"}},
 {"name": "image1", "dtype": "uint8", "shape": [128, 256, 3], "codec": {"type": "compressed_image", "format": "png"}},
 {"name": "array_4d", "dtype": "uint8", "shape": [null, 128, 30, null], "codec": {"type": "ndarray"}}]}"#;

/// The footer of a Parquet file: its last `footer_len + 8` bytes.
fn footer(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let len = parquet_footer_len(&bytes[bytes.len() - 8..]).unwrap() as usize;
    bytes[bytes.len() - len - 8..].to_vec()
}

/// `(relative path, footer)` of every `.parquet` file under `dir`, sorted.
fn footers(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push((path.strip_prefix(root).unwrap().display().to_string(), footer(&path)));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn summarize(schema: &Unischema, files: &[(String, Vec<u8>)]) -> petastorm_native::Result<Vec<u8>> {
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, f)| (p.as_str(), f.as_slice())).collect();
    common_metadata(schema, &files)
}

fn value(kv: &[(String, Vec<u8>)], key: &str) -> Option<String> {
    kv.iter().find(|(k, _)| k == key).map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

#[test]
fn hadoop_conf() {
    let conf = writer_hadoop_conf(Some(256));
    assert_eq!(conf[0], ("parquet.block.size".to_string(), (256 * 1024 * 1024).to_string()));
    let without = writer_hadoop_conf(None);
    assert_eq!(&conf[1..], &without[..]);
    let keys: Vec<&str> = without.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "parquet.summary.metadata.level",
            "parquet.enable.summary-metadata",
            "parquet.summary.metadata.propagate-errors",
            "parquet.block.size.row.check.min",
            "parquet.row-group.size.row.check.min"
        ]
    );
    assert_eq!(without[0].1, "NONE");
    assert_eq!(without[1].1, "false");
}

#[test]
fn footer_len_needs_the_magic() {
    assert_eq!(parquet_footer_len(b"\x10\x02\0\0PAR1").unwrap(), 0x210);
    assert_eq!(parquet_footer_len(b"xx\x10\x02\0\0PAR1").unwrap(), 0x210);
    assert_eq!(parquet_footer_len(b"\x10\x02\0\0PAR2").unwrap_err().kind(), ErrorKind::Metadata);
    assert_eq!(parquet_footer_len(b"PAR1").unwrap_err().kind(), ErrorKind::Metadata);
}

#[test]
fn common_metadata_of_the_hello_fixture() {
    let schema = Unischema::from_json(HELLO_FIXTURE).unwrap();
    let files = footers(&fixtures().join("petastorm-0.13.1/hello"));
    assert_eq!(files.len(), 2);
    let bytes = summarize(&schema, &files).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));

    assert_eq!(schema_from_metadata(&bytes).unwrap(), schema);
    let kv = key_value_metadata(&bytes).unwrap();
    let pickle = kv.iter().find(|(k, _)| k == UNISCHEMA_PICKLE_KEY).unwrap();
    assert_eq!(pickle.1, to_pickle(&schema));
    let counts: serde_json::Value = serde_json::from_str(&value(&kv, ROW_GROUPS_PER_FILE_KEY).unwrap()).unwrap();
    let expected: serde_json::Value =
        files.iter().map(|(p, _)| (p.clone(), serde_json::Value::from(1))).collect::<serde_json::Map<_, _>>().into();
    assert_eq!(counts, expected);
    // The first footer's keys are kept; the Arrow schema is embedded.
    assert!(value(&kv, "org.apache.spark.sql.parquet.row.metadata").unwrap().contains(r#""name":"array_4d""#));
    assert!(value(&kv, "ARROW:schema").is_some());
    assert!(value(&kv, UNISCHEMA_JSON_KEY).is_some());
    let keys: Vec<&str> = kv.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys.iter().filter(|k| **k == "ARROW:schema").count(), 1, "{keys:?}");
}

#[test]
fn upstream_metadata_holds_only_a_pickle() {
    let bytes = std::fs::read(fixtures().join("petastorm-0.13.1/jpeg/_common_metadata")).unwrap();
    // Only upstream's pickle: read through the allow-list pickle reader.
    let schema = schema_from_metadata(&bytes).unwrap();
    assert_eq!(schema, Unischema::from_json(common::PHOTO).unwrap());
    let part = footers(&fixtures().join("petastorm-0.13.1/jpeg")).remove(0).1;
    let e = schema_from_metadata(&part).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Metadata);
    assert_eq!(schema_from_metadata(b"garbage").unwrap_err().kind(), ErrorKind::Metadata);
}

const PARTITIONED: &str = r#"{"name": "P", "fields": [
 {"name": "id", "dtype": "int32", "shape": [], "codec": {"type": "scalar", "spark_type": "integer"}},
 {"name": "matrix", "dtype": "float32", "shape": [2, 2], "nullable": true, "codec": {"type": "ndarray"}},
 {"name": "partition_key", "dtype": "str", "shape": [], "codec": {"type": "scalar", "spark_type": "string"}}]}"#;

/// A Hive-partitioned dataset written with the parquet crate: `partition_key=p_{i}/part-{i}.parquet`,
/// file `i` holding `i + 1` row groups of 2 rows.
fn write_partitioned(dir: &Path) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("matrix", DataType::Binary, true),
    ]));
    for i in 0..3 {
        let part = dir.join(format!("partition_key=p_{i}"));
        std::fs::create_dir_all(&part).unwrap();
        let file = std::fs::File::create(part.join(format!("part-{i}.parquet"))).unwrap();
        let props = WriterProperties::builder().set_max_row_group_size(2).build();
        let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props)).unwrap();
        let rows = 2 * (i + 1);
        let ids = Int32Array::from_iter_values(0..rows);
        let matrices = BinaryArray::from_iter((0..rows).map(|r| (r % 2 == 0).then_some(&b"npy"[..])));
        w.write(&RecordBatch::try_new(schema.clone(), vec![Arc::new(ids), Arc::new(matrices)]).unwrap()).unwrap();
        w.close().unwrap();
    }
}

#[test]
fn partitioned_dataset_counts_row_groups_per_file() {
    let dir = temp_dir("metadata");
    write_partitioned(&dir);
    let schema = Unischema::from_json(PARTITIONED).unwrap();
    let files = footers(&dir);
    let bytes = summarize(&schema, &files).unwrap();
    std::fs::write(dir.join("_common_metadata"), &bytes).unwrap();
    assert_eq!(schema_from_metadata(&bytes).unwrap(), schema);
    let kv = key_value_metadata(&bytes).unwrap();
    assert_eq!(
        value(&kv, ROW_GROUPS_PER_FILE_KEY).unwrap(),
        r#"{"partition_key=p_0/part-0.parquet":1,"partition_key=p_1/part-1.parquet":2,"partition_key=p_2/part-2.parquet":3}"#
    );
    {
        let check = r#"
import sys, pyarrow.parquet as pq
m = pq.read_metadata(sys.argv[1] + '/_common_metadata')
assert m.num_row_groups == 0 and m.num_columns == 2, m
kv = m.metadata
assert kv[b'dataset-toolkit.unischema.v1'].startswith(b'\x80\x04'), kv
assert b'dataset-toolkit.unischema.json.v1' in kv and b'ARROW:schema' in kv
assert pq.read_schema(sys.argv[1] + '/_common_metadata').names == ['id', 'matrix']
print('ok')
"#;
        let out = Command::new(python()).args(["-c", check, &dir.display().to_string()]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn common_metadata_errors() {
    let schema = Unischema::from_json(PARTITIONED).unwrap();
    let e = summarize(&schema, &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Metadata);

    let dir = temp_dir("metadata-errors");
    write_partitioned(&dir);
    let mut files = footers(&dir);
    // Without the partition directories, `partition_key` has no column.
    let flat: Vec<(String, Vec<u8>)> =
        files.iter().map(|(p, f)| (p.rsplit('/').next().unwrap().to_string(), f.clone())).collect();
    let e = summarize(&schema, &flat).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Metadata);
    assert!(e.message().contains("field 'partition_key'"), "{e}");

    // A footer of the right length whose thrift does not decode.
    files[1].1 = b"garbage\x07\0\0\0PAR1".to_vec();
    let e = summarize(&schema, &files).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Metadata);
    assert!(e.message().contains("file 'partition_key=p_1/part-1.parquet'"), "{e}");
    files[1].1 = b"PAR1".to_vec();
    assert!(summarize(&schema, &files).unwrap_err().message().contains("part-1.parquet"));
    let _ = std::fs::remove_dir_all(dir);
}

const INDEX_KEY: &str = "dataset-toolkit.rowgroups_index.v1";

#[test]
fn a_key_is_added_or_replaced_keeping_schema_and_other_keys() {
    let schema = Unischema::from_json(PARTITIONED).unwrap();
    let dir = temp_dir("metadata-key");
    write_partitioned(&dir);
    let bytes = summarize(&schema, &footers(&dir)).unwrap();
    let before = key_value_metadata(&bytes).unwrap();
    let binary = b"\x80\x05\xff\x00 not utf-8".to_vec();
    let added = with_key_value(&bytes, INDEX_KEY, &binary).unwrap();
    let after = key_value_metadata(&added).unwrap();
    let keys = |kv: &[(String, Vec<u8>)]| kv.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&after), [keys(&before), vec![INDEX_KEY.to_string()]].concat());
    assert!(before.iter().all(|entry| entry.0 == "ARROW:schema" || after.contains(entry)), "{after:?}");
    assert_eq!(after.last().unwrap().1, binary);
    assert_eq!(schema_from_metadata(&added).unwrap(), schema);
    // Replaced in place, not appended twice.
    let replaced = key_value_metadata(&with_key_value(&added, INDEX_KEY, b"v2").unwrap()).unwrap();
    assert_eq!(keys(&replaced), keys(&after));
    assert_eq!(replaced.last().unwrap().1, b"v2");
    assert_eq!(with_key_value(b"garbage", INDEX_KEY, b"v").unwrap_err().kind(), ErrorKind::Metadata);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn setting_a_key_rewrites_common_metadata_or_starts_one_from_a_footer() {
    let schema = Unischema::from_json(PARTITIONED).unwrap();
    let dir = temp_dir("metadata-set");
    write_partitioned(&dir);
    let root = storage::open(&format!("file://{}", dir.display()), &[]).unwrap();
    // No summary yet: one is made from the first data file's footer.
    set_common_metadata_value(&root, INDEX_KEY, b"first").unwrap();
    let kv = key_value_metadata(&std::fs::read(dir.join("_common_metadata")).unwrap()).unwrap();
    assert_eq!(value(&kv, INDEX_KEY).unwrap(), "first");
    assert!(value(&kv, UNISCHEMA_JSON_KEY).is_none());

    std::fs::write(dir.join("_common_metadata"), summarize(&schema, &footers(&dir)).unwrap()).unwrap();
    std::fs::write(dir.join("._common_metadata.crc"), b"stale").unwrap();
    set_common_metadata_value(&root, INDEX_KEY, b"second").unwrap();
    let bytes = std::fs::read(dir.join("_common_metadata")).unwrap();
    let kv = key_value_metadata(&bytes).unwrap();
    assert_eq!(value(&kv, INDEX_KEY).unwrap(), "second");
    assert!(value(&kv, ROW_GROUPS_PER_FILE_KEY).unwrap().contains("part-2.parquet\":3"));
    assert_eq!(schema_from_metadata(&bytes).unwrap(), schema);
    assert!(!dir.join("._common_metadata.crc").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 4, "{leftovers:?}"); // three partitions and _common_metadata
    let _ = std::fs::remove_dir_all(dir);
}
