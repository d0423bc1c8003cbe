//! Damaged datasets: a data file listed in `_common_metadata` but deleted, files and row groups
//! that cannot be read, and pages whose bytes no longer match their CRC. Each is an error
//! naming the file (and row group, column) by default; `skip_unreadable_row_groups` skips and
//! counts the unreadable parts instead.

mod common;
mod reader_util;

use std::collections::BTreeSet;
use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use petastorm_native::ErrorKind;
use reader_util::*;
use serde_json::{json, Value};

fn url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

fn info(reader: &petastorm_native::dataset::reader::Reader) -> Value {
    serde_json::from_str(&reader.info_json().unwrap()).unwrap()
}

/// The ids of `part=p{part}/file{file}.parquet` of the synthetic dataset.
fn ids_of(part: usize, file: usize) -> BTreeSet<i64> {
    let first = ((part * FILES + file) * GROUPS * ROWS) as i64;
    (first..first + (GROUPS * ROWS) as i64).collect()
}

fn all_ids() -> BTreeSet<i64> {
    (0..TOTAL as i64).collect()
}

#[test]
fn a_listed_file_that_is_gone_fails_the_open_naming_it() {
    let dir = synthetic_dataset("missing");
    std::fs::remove_file(dir.join("part=p1/file0.parquet")).unwrap();
    std::fs::remove_file(dir.join("part=p2/file1.parquet")).unwrap();
    let e = open(json!({"dataset_url": url(&dir)})).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.message().contains("2 data file(s) listed in _common_metadata are missing"), "{e}");
    assert!(e.message().contains("part=p1/file0.parquet, part=p2/file1.parquet"), "{e}");

    let reader = open(json!({"dataset_url": url(&dir), "skip_unreadable_row_groups": true})).unwrap();
    let ids: BTreeSet<i64> = ints(&drain(&reader), "id").into_iter().collect();
    let expected: BTreeSet<i64> = &(&all_ids() - &ids_of(1, 0)) - &ids_of(2, 1);
    assert_eq!(ids, expected);
    let info = info(&reader);
    assert_eq!(info["skipped_row_groups"], 2 * GROUPS);
    assert_eq!(info["skipped_files"], json!(["part=p1/file0.parquet", "part=p2/file1.parquet"]));
}

#[test]
fn an_unreadable_file_fails_its_row_groups_or_is_skipped() {
    let dir = synthetic_dataset("garbage");
    std::fs::write(dir.join("part=p0/file1.parquet"), b"not a parquet file at all").unwrap();
    let reader = open(json!({"dataset_url": url(&dir), "shuffle_row_groups": false, "schema_fields": ["id"]})).unwrap();
    let mut errors = Vec::new();
    let mut ids = BTreeSet::new();
    for _ in 0..PARTS * FILES * GROUPS {
        match reader.next() {
            Ok(Some(batch)) => ids.extend(ints(&[batch], "id")),
            Ok(None) => break,
            Err(e) => errors.push(e),
        }
    }
    assert_eq!(errors.len(), GROUPS);
    for (group, e) in errors.iter().enumerate() {
        assert_eq!(e.kind(), ErrorKind::Metadata, "{e}");
        assert!(e.message().starts_with(&format!("file 'part=p0/file1.parquet', row group {group}: ")), "{e}");
    }
    assert_eq!(ids, &all_ids() - &ids_of(0, 1));

    let reader =
        open(json!({"dataset_url": url(&dir), "schema_fields": ["id"], "skip_unreadable_row_groups": true})).unwrap();
    let ids: BTreeSet<i64> = ints(&drain(&reader), "id").into_iter().collect();
    assert_eq!(ids, &all_ids() - &ids_of(0, 1));
    assert_eq!(info(&reader)["skipped_row_groups"], GROUPS);
    assert_eq!(info(&reader)["rows"], Value::Null);
}

#[test]
fn without_metadata_an_unreadable_footer_fails_the_open_or_skips_the_file() {
    let dir = synthetic_dataset("garbage-footer");
    std::fs::remove_file(dir.join("_common_metadata")).unwrap();
    std::fs::write(dir.join("part=p2/file1.parquet"), b"PAR1 truncated").unwrap();
    let e = open(json!({"dataset_url": url(&dir)})).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Metadata, "{e}");
    assert!(e.message().contains("file 'part=p2/file1.parquet'"), "{e}");

    let reader = open(json!({"dataset_url": url(&dir), "skip_unreadable_row_groups": true})).unwrap();
    let ids: BTreeSet<i64> = ints(&drain(&reader), "id").into_iter().collect();
    assert_eq!(ids, &all_ids() - &ids_of(2, 1));
    let info = info(&reader);
    assert_eq!(info["skipped_files"], json!(["part=p2/file1.parquet"]));
    assert_eq!(info["rows"], TOTAL - GROUPS * ROWS);
}

/// Writes `crc.parquet` with pyarrow (page CRCs on, uncompressed, 3 row groups of 100 rows:
/// `id` and a 2 KB `blob` per row, `blob[i]` = bytes of `i % 251`) and prints the byte offset
/// of the middle of row group 1's `blob` chunk.
const WRITE_WITH_CRC: &str = r#"
import sys, pyarrow as pa, pyarrow.parquet as pq
path = sys.argv[1] + '/crc.parquet'
ids = list(range(300))
table = pa.table({'id': pa.array(ids, pa.int64()), 'blob': pa.array([bytes([i % 251]) * 2000 for i in ids], pa.binary())})
pq.write_table(table, path, row_group_size=100, compression='none', write_page_checksum=True, use_dictionary=False)
chunk = pq.read_metadata(path).row_group(1).column(1)
print(chunk.data_page_offset + chunk.total_compressed_size // 2)
"#;

/// The ids and blobs of every batch.
fn rows(batches: &[RecordBatch]) -> Vec<(i64, Vec<u8>)> {
    let ids = ints(batches, "id");
    let blobs = batches
        .iter()
        .flat_map(|b| b.column_by_name("blob").unwrap().as_binary::<i32>().iter().map(|v| v.unwrap().to_vec()));
    ids.into_iter().zip(blobs).collect()
}

#[test]
fn a_flipped_byte_in_a_checksummed_page_is_a_decode_error_naming_column_file_and_row_group() {
    let dir = temp_dir("crc");
    let offset: usize = common::run_python(WRITE_WITH_CRC, &[&dir]).trim().parse().unwrap();
    let path = dir.join("crc.parquet");
    let options = |extra: Value| {
        let mut o = json!({"dataset_url": url(&path), "shuffle_row_groups": false, "workers_count": 1});
        o.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        o
    };
    let expected: Vec<(i64, Vec<u8>)> = (0..300).map(|i| (i, vec![(i % 251) as u8; 2000])).collect();
    // Intact: the CRCs check out.
    assert_eq!(rows(&drain(&open(options(json!({}))).unwrap())), expected);

    let mut bytes = std::fs::read(&path).unwrap();
    bytes[offset] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let reader = open(options(json!({}))).unwrap();
    assert_eq!(rows(&[reader.next().unwrap().unwrap()]), expected[..100]);
    let e = reader.next().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert!(e.message().starts_with("file 'crc.parquet', row group 1: column 'blob': page "), "{e}");
    assert!(e.message().contains("checksum mismatch"), "{e}");
    assert_eq!(rows(&[reader.next().unwrap().unwrap()]), expected[200..]);
    assert!(reader.next().unwrap().is_none());

    // Skipped when asked; and with verification off the damage goes through unnoticed.
    let reader = open(options(json!({"skip_unreadable_row_groups": true}))).unwrap();
    assert_eq!(rows(&drain(&reader)), [&expected[..100], &expected[200..]].concat());
    assert_eq!(info(&reader)["skipped_row_groups"], 1);
    let unchecked = rows(&drain(&open(options(json!({"verify_page_checksums": false}))).unwrap()));
    assert_eq!(unchecked.len(), 300);
    assert_ne!(unchecked, expected);
    let _ = std::fs::remove_dir_all(dir);
}
