//! The native Parquet part-file writer: schema, values, row groups, codecs, errors.

mod common;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding};
use parquet::file::metadata::ParquetMetaData;
use petastorm_native::dataset::writer::{unsupported_field, PartWriter, SharedPartWriter, Sink};
use petastorm_native::schema::column::ImageStruct;
use petastorm_native::schema::{decode_cell, encode_cell, Unischema};
use petastorm_native::{ErrorKind, Result};

/// Hello-world-like codec fields, then a scalar column of every supported type.
const SCHEMA: &str = r#"{"name": "WriterSchema", "fields": [
 {"name": "id", "dtype": "int32", "shape": [], "codec": {"type": "scalar", "spark_type": "integer"}},
 {"name": "image1", "dtype": "uint8", "shape": [8, 16, 3], "codec": {"type": "compressed_image", "format": "png"}},
 {"name": "other_data", "dtype": "uint8", "shape": [null, 4], "codec": {"type": "ndarray"}},
 {"name": "flag", "dtype": "bool", "shape": [], "nullable": true, "codec": {"type": "scalar", "spark_type": "boolean"}},
 {"name": "b", "dtype": "int8", "shape": [], "nullable": true, "codec": {"type": "scalar", "spark_type": "byte"}},
 {"name": "s", "dtype": "int16", "shape": [], "codec": {"type": "scalar", "spark_type": "short"}},
 {"name": "l", "dtype": "int64", "shape": [], "codec": null},
 {"name": "f", "dtype": "float32", "shape": [], "nullable": true, "codec": {"type": "scalar", "spark_type": "float"}},
 {"name": "d", "dtype": "float64", "shape": [], "codec": {"type": "scalar", "spark_type": "double"}},
 {"name": "label", "dtype": "str", "shape": [], "nullable": true, "codec": {"type": "scalar", "spark_type": "string"}},
 {"name": "raw", "dtype": "bytes", "shape": [], "nullable": true, "codec": {"type": "scalar", "spark_type": "binary"}}]}"#;

/// Everything a sink still holds, as one buffer.
fn drained(mut sink: Sink) -> Vec<u8> {
    let mut all = Vec::new();
    loop {
        let chunk = sink.take_chunk();
        if chunk.is_empty() {
            return all;
        }
        all.extend_from_slice(&chunk);
    }
}

fn schema() -> Unischema {
    Unischema::from_json(SCHEMA).unwrap()
}

/// Deterministic pseudo-random bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

fn pixels(i: usize) -> Vec<u8> {
    noise(i as u64, 8 * 16 * 3)
}

fn matrix(i: usize) -> Vec<u8> {
    noise(1000 + i as u64, (i % 5) * 4)
}

/// Row `i`: every third row has nulls in the nullable scalars (`f` and `raw` left out, the
/// others put as null).
fn put_row(w: &mut PartWriter, s: &Unischema, i: usize) -> Result<()> {
    w.put_long(0, i as i64)?;
    w.put_values(1, Some("|u1"), Some(&[8, 16, 3]), &pixels(i))?;
    w.put_bytes(2, &encode_cell(s, 2, "|u1", &[i % 5, 4], false, &matrix(i)).unwrap())?;
    w.put_long(5, -(i as i64))?;
    w.put_long(6, i as i64 * 1_000_000_000_000)?;
    w.put_double(8, i as f64 / 3.0)?;
    if i.is_multiple_of(3) {
        w.put_null(3)?;
        w.put_null(4)?;
        w.put_null(9)?;
    } else {
        w.put_bool(3, i.is_multiple_of(2))?;
        w.put_long(4, (i % 256) as i64 - 128)?;
        w.put_double(7, i as f64 + 0.5)?;
        w.put_str(9, &format!("row {i}"))?;
        w.put_bytes(10, &[i as u8; 3])?;
    }
    w.end_row()
}

fn read(file: Vec<u8>) -> (RecordBatch, std::sync::Arc<ParquetMetaData>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file)).unwrap();
    let (schema, meta) = (builder.schema().clone(), builder.metadata().clone());
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    (concat_batches(&schema, &batches).unwrap(), meta)
}

#[test]
fn rows_round_trip_with_spark_types_and_row_groups() {
    let s = schema();
    let mut w = PartWriter::new(s.clone(), 4096, "ZSTD").unwrap();
    let mut file = Vec::new();
    let n = 300;
    for i in 0..n {
        put_row(&mut w, &s, i).unwrap();
        if i % 50 == 0 {
            file.extend(w.take_output());
        }
    }
    let (rest, rows, row_groups) = w.finish().unwrap();
    file.extend(drained(rest));
    assert_eq!(rows, n as u64);

    let (batch, meta) = read(file);
    let file_schema = batch.schema();
    let types: Vec<(&str, DataType, bool)> =
        file_schema.fields().iter().map(|f| (f.name().as_str(), f.data_type().clone(), f.is_nullable())).collect();
    use DataType::*;
    assert_eq!(
        types,
        [
            ("id", Int32, false),
            ("image1", Binary, false),
            ("other_data", Binary, false),
            ("flag", Boolean, true),
            ("b", Int8, true),
            ("s", Int16, false),
            ("l", Int64, false),
            ("f", Float32, true),
            ("d", Float64, false),
            ("label", Utf8, true),
            ("raw", Binary, true),
        ]
    );
    assert_eq!(batch.num_rows(), n);
    let col = |name: &str| batch.column_by_name(name).unwrap().clone();
    let (id, image, other) = (col("id"), col("image1"), col("other_data"));
    let (flag, b, sh, l, f, d, label, raw) =
        (col("flag"), col("b"), col("s"), col("l"), col("f"), col("d"), col("label"), col("raw"));
    for i in 0..n {
        assert_eq!(id.as_primitive::<Int32Type>().value(i), i as i32);
        assert_eq!(decode_cell(&s, 1, image.as_binary::<i32>().value(i)).unwrap().data, pixels(i));
        let m = decode_cell(&s, 2, other.as_binary::<i32>().value(i)).unwrap();
        assert_eq!((m.shape, m.data), (vec![i % 5, 4], matrix(i)));
        assert_eq!(sh.as_primitive::<Int16Type>().value(i), -(i as i16));
        assert_eq!(l.as_primitive::<Int64Type>().value(i), i as i64 * 1_000_000_000_000);
        assert_eq!(d.as_primitive::<Float64Type>().value(i), i as f64 / 3.0);
        let nulls = [&flag, &b, &f, &label, &raw].map(|c| c.is_null(i));
        if i.is_multiple_of(3) {
            assert_eq!(nulls, [true; 5], "row {i}");
        } else {
            assert_eq!(nulls, [false; 5], "row {i}");
            assert_eq!(flag.as_boolean().value(i), i.is_multiple_of(2));
            assert_eq!(b.as_primitive::<Int8Type>().value(i), ((i % 256) as i64 - 128) as i8);
            assert_eq!(f.as_primitive::<Float32Type>().value(i), i as f32 + 0.5);
            assert_eq!(label.as_string::<i32>().value(i), format!("row {i}"));
            assert_eq!(raw.as_binary::<i32>().value(i), [i as u8; 3]);
        }
    }

    // Spark's schema of the rows, where Spark keeps it.
    let kv = meta.file_metadata().key_value_metadata().unwrap();
    let spark = kv.iter().find(|kv| kv.key == "org.apache.spark.sql.parquet.row.metadata").unwrap();
    assert_eq!(spark.value.as_deref(), Some(s.spark_schema_json().unwrap().as_str()));

    // Several row groups of whole rows, cut by size.
    assert!(row_groups > 1, "{row_groups} row groups");
    assert_eq!(meta.num_row_groups(), row_groups);
    let group_rows: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
    assert_eq!(group_rows.iter().sum::<i64>(), n as i64);
    for g in meta.row_groups() {
        for c in g.columns() {
            let path = c.column_path().string();
            // PNG cells are compressed already: stored as they are.
            match path.as_str() {
                "image1" => assert_eq!(c.compression(), Compression::UNCOMPRESSED),
                _ => assert!(matches!(c.compression(), Compression::ZSTD(_)), "{path}: {:?}", c.compression()),
            }
            let dictionary =
                c.encodings().iter().any(|e| matches!(e, Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY));
            let codec_column = matches!(path.as_str(), "image1" | "other_data");
            // Codec columns: no dictionary; other byte arrays and numbers: parquet-rs's default.
            if codec_column || matches!(path.as_str(), "label" | "raw" | "id") {
                assert_eq!(dictionary, !codec_column, "{path}");
            }
            assert_eq!(c.statistics().is_some(), !codec_column, "{}", c.column_path());
        }
    }
}

#[test]
fn large_rows_cut_batches_and_row_groups_by_bytes() {
    let s = Unischema::from_json(
        r#"{"name": "Big", "fields": [
         {"name": "id", "dtype": "int32", "shape": [], "codec": {"type": "scalar", "spark_type": "integer"}},
         {"name": "m", "dtype": "uint8", "shape": [null], "codec": {"type": "ndarray"}}]}"#,
    )
    .unwrap();
    let mut w = PartWriter::new(s, 3 << 20, "none").unwrap();
    let blob = noise(7, 1 << 20);
    for i in 0..20 {
        w.put_long(0, i).unwrap();
        w.put_bytes(1, &blob).unwrap();
        w.end_row().unwrap();
    }
    let (file, rows, row_groups) = w.finish().unwrap();
    // Batches of a row group's worth (3 MiB): each batch fills a row group.
    assert_eq!((rows, row_groups), (20, 7));
    let (batch, meta) = read(drained(file));
    let group_rows: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
    assert_eq!(group_rows, [3, 3, 3, 3, 3, 3, 2]);
    assert_eq!(batch.column(1).as_binary::<i32>().value(19), blob.as_slice());
}

#[test]
fn compression_names_are_sparks() {
    let s = common::hello_world();
    for (name, expected) in [
        ("snappy", "SNAPPY"),
        ("ZStd", "ZSTD"),
        ("gzip", "GZIP"),
        ("lz4", "LZ4_RAW"),
        ("none", "UNCOMPRESSED"),
        ("uncompressed", "UNCOMPRESSED"),
    ] {
        let mut w = PartWriter::new(s.clone(), 1 << 20, name).unwrap();
        w.put_long(0, 1).unwrap();
        w.put_values(1, None, None, &vec![9; 128 * 256 * 3]).unwrap();
        w.put_values(2, None, Some(&[1, 128, 30, 1]), &[1; 128 * 30]).unwrap();
        w.end_row().unwrap();
        let (_, meta) = read(drained(w.finish().unwrap().0));
        let codec = format!("{:?}", meta.row_group(0).column(0).compression());
        assert!(codec.starts_with(expected), "{name}: {codec}");
    }
    let e = PartWriter::new(s, 1, "brotli").err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Value);
    assert!(e.message().contains("'brotli'"), "{}", e.message());
}

#[test]
fn image_structs_are_encoded_into_the_row() {
    let s = Unischema::from_json(
        r#"{"name": "I", "fields": [
         {"name": "img", "dtype": "uint8", "shape": [1, 2, 3], "codec": {"type": "compressed_image", "format": "png"}}]}"#,
    )
    .unwrap();
    let mut w = PartWriter::new(s.clone(), 1 << 20, "snappy").unwrap();
    let image = ImageStruct { height: 1, width: 2, channels: 3, mode: 16, data: &[10, 20, 30, 40, 50, 60] };
    w.put_image_struct(0, image).unwrap();
    w.end_row().unwrap();
    let (batch, _) = read(drained(w.finish().unwrap().0));
    let t = decode_cell(&s, 0, batch.column(0).as_binary::<i32>().value(0)).unwrap();
    assert_eq!(t.data, [30, 20, 10, 60, 50, 40]);
}

fn err<T>(r: Result<T>) -> (ErrorKind, String) {
    let e = r.err().expect("an error");
    (e.kind(), e.message().to_string())
}

#[test]
fn bad_cells_are_errors_naming_the_field_and_discard_the_row() {
    let s = schema();
    let mut w = PartWriter::new(s.clone(), 1 << 20, "snappy").unwrap();
    let value = |m: &str| (ErrorKind::Value, m.to_string());
    put_row(&mut w, &s, 0).unwrap();

    // Missing non-nullable field.
    w.put_long(0, 100).unwrap();
    assert_eq!(err(w.end_row()), value("field 'image1' is not nullable, but the row has no value for it"));
    // Wrong kind.
    let (kind, m) = err(w.put_str(0, "x"));
    assert_eq!(
        (kind, m.as_str()),
        (ErrorKind::Type, "field 'id': cannot store a string value in a column of type integer")
    );
    assert_eq!(err(w.put_double(3, 1.0)).0, ErrorKind::Type);
    assert_eq!(err(w.put_bytes(9, b"x")).0, ErrorKind::Type);
    // Out of range.
    assert_eq!(err(w.put_long(4, 300)), value("field 'b': value 300 out of range for byte"));
    assert_eq!(err(w.put_long(0, 1 << 40)), value("field 'id': value 1099511627776 out of range for integer"));
    // Twice in one row: the second put fails and the row is gone, so the next put starts afresh.
    w.put_long(0, 101).unwrap();
    assert_eq!(err(w.put_long(0, 102)), value("field 'id' was already put in this row"));
    // Null into a non-nullable field; a bad index; a cell the codec rejects.
    assert_eq!(err(w.put_null(0)), value("field 'id' is not nullable, but got a null value"));
    assert_eq!(err(w.put_null(11)).0, ErrorKind::Value);
    let (kind, m) = err(w.put_values(1, Some("|u1"), Some(&[2, 2, 3]), &[0; 12]));
    assert!(kind == ErrorKind::Value && m.starts_with("field 'image1': Unexpected dimensions"), "{m}");

    // A half-put row, failed: its cells are dropped, the writer goes on.
    w.put_long(0, 103).unwrap();
    w.put_values(1, None, None, &pixels(1)).unwrap();
    w.put_long(5, 7).unwrap();
    assert!(w.put_long(5, 8).is_err());
    put_row(&mut w, &s, 2).unwrap();

    let (file, rows, _) = w.finish().unwrap();
    assert_eq!(rows, 2);
    let (batch, _) = read(drained(file));
    let ids = batch.column(0).as_primitive::<Int32Type>();
    assert_eq!(ids.values().to_vec(), [0, 2]);
    assert_eq!(batch.column(5).as_primitive::<Int16Type>().values().to_vec(), [0, -2]);
}

#[test]
fn date_timestamp_and_decimal_fields_are_unsupported() {
    assert_eq!(unsupported_field(&schema()), None);
    assert_eq!(unsupported_field(&common::hello_world()), None);
    for (dtype, spark_type) in [("int64", "timestamp"), ("int32", "date"), ("decimal", "decimal(10,2)")] {
        let s = Unischema::from_json(&format!(
            r#"{{"name": "T", "fields": [
             {{"name": "id", "dtype": "int32", "shape": [], "codec": {{"type": "scalar", "spark_type": "integer"}}}},
             {{"name": "ts", "dtype": "{dtype}", "shape": [], "codec": {{"type": "scalar", "spark_type": "{spark_type}"}}}}]}}"#
        ))
        .unwrap();
        let expected = format!("field 'ts': the native Parquet writer does not write {spark_type} columns");
        assert_eq!(unsupported_field(&s).as_deref(), Some(expected.as_str()));
        assert_eq!(err(PartWriter::new(s, 1, "snappy")), (ErrorKind::Value, expected));
    }
}

#[test]
fn an_unended_row_fails_finish() {
    let mut w = PartWriter::new(common::hello_world(), 1, "snappy").unwrap();
    w.put_long(0, 1).unwrap();
    assert!(err(w.finish()).1.contains("not ended"));
}

#[test]
fn zero_rows_make_a_valid_file_with_the_schema() {
    let (file, rows, row_groups) = PartWriter::new(schema(), 1, "snappy").unwrap().finish().unwrap();
    assert_eq!((rows, row_groups), (0, 0));
    let (batch, meta) = read(drained(file));
    assert_eq!((batch.num_rows(), meta.num_row_groups()), (0, 0));
    assert_eq!(batch.schema().fields().len(), 11);
    assert_eq!(batch.schema().field(1).data_type(), &DataType::Binary);
}

#[test]
fn a_shared_writer_keeps_the_rest_after_finish_and_refuses_puts() {
    let s = schema();
    // Row groups of 1 byte: every row is a row group of its own.
    let w = SharedPartWriter::new(PartWriter::new(s.clone(), 1, "snappy").unwrap());
    let mut file = Vec::new();
    for i in 0..100 {
        w.with(|w| put_row(w, &s, i)).unwrap();
        file.extend(w.take_output().unwrap());
    }
    assert!(!file.is_empty());
    assert_eq!(w.finish().unwrap(), (100, 100));
    let (kind, m) = err(w.with(|w| w.put_long(0, 1)));
    assert_eq!((kind, m.as_str()), (ErrorKind::Value, "the Parquet writer is finished"));
    assert!(w.finish().is_err());
    loop {
        let chunk = w.take_output().unwrap();
        if chunk.is_empty() {
            break;
        }
        file.extend(chunk);
    }
    let (batch, meta) = read(file);
    assert_eq!((batch.num_rows(), meta.num_row_groups()), (100, 100));
}

#[test]
fn a_file_sink_writes_the_file_itself() {
    let s = schema();
    let dir = std::env::temp_dir().join(format!("petastorm-writer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("part.parquet");
    let mut w = PartWriter::to_file(s.clone(), &path, 4096, "snappy").unwrap();
    for i in 0..40 {
        put_row(&mut w, &s, i).unwrap();
        assert!(w.take_output().is_empty());
    }
    let (mut rest, rows, row_groups) = w.finish().unwrap();
    assert!(rest.take_chunk().is_empty());
    assert_eq!(rows, 40);
    let (batch, meta) = read(std::fs::read(&path).unwrap());
    assert_eq!((batch.num_rows(), meta.num_row_groups()), (40, row_groups));
    std::fs::remove_dir_all(&dir).unwrap();

    let missing = dir.join("no-such-dir").join("part.parquet");
    let (kind, message) = err(PartWriter::to_file(s, &missing, 1, "snappy"));
    assert_eq!(kind, ErrorKind::Io);
    assert!(message.contains("no-such-dir"), "{message}");
}

#[test]
fn compressed_cells_are_stored_without_a_second_codec() {
    let s = common::hello_world();
    let mut w = PartWriter::new(s.clone(), 1 << 20, "snappy").unwrap();
    w.put_long(0, 1).unwrap();
    w.put_values(1, None, None, &vec![9; 128 * 256 * 3]).unwrap();
    w.put_values(2, None, Some(&[1, 128, 30, 1]), &[1; 128 * 30]).unwrap();
    w.end_row().unwrap();
    let (_, meta) = read(drained(w.finish().unwrap().0));
    let codecs: Vec<String> = meta.row_group(0).columns().iter().map(|c| format!("{:?}", c.compression())).collect();
    assert_eq!(codecs, ["SNAPPY", "UNCOMPRESSED", "SNAPPY"], "id, PNG image1, NPY other_data");
}
