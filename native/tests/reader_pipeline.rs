//! The reader engine on a synthetic Petastorm dataset written here: decoding, epochs,
//! shards, seeded order, field selection, predicates, filters, stop/reset, bounded queue,
//! and errors.

mod reader_util;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, BinaryArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field as ArrowField, Schema};
use petastorm_native::schema::Unischema;
use petastorm_native::ErrorKind;
use reader_util::*;
use serde_json::json;

fn url(dir: &std::path::Path) -> String {
    format!("file://{}", dir.display())
}

#[test]
fn reads_every_row_once_and_decodes_every_layout() {
    let dir = synthetic_dataset("all");
    let reader = open(json!({"dataset_url": url(&dir), "workers_count": 3})).unwrap();
    let batches = drain(&reader);
    let ids: BTreeSet<i64> = ints(&batches, "id").into_iter().collect();
    assert_eq!(ids.len(), TOTAL);
    assert_eq!(ints(&batches, "id").len(), TOTAL);
    check_synthetic(&batches);

    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "id8", "label", "matrix", "var", "names", "emb", "part"]);
    let matrix = schema.field_with_name("matrix").unwrap();
    assert_eq!(matrix.extension_type_name(), Some("arrow.fixed_shape_tensor"));
    assert_eq!(matrix.extension_type_metadata(), Some(r#"{"shape":[4,3]}"#));
    assert!(matches!(matrix.data_type(), DataType::FixedSizeList(item, 12) if item.data_type() == &DataType::Float32));
    assert!(matches!(schema.field_with_name("var").unwrap().data_type(), DataType::Struct(_)));
    assert_eq!(schema.field_with_name("label").unwrap().data_type(), &DataType::Utf8);
    assert_eq!(schema.field_with_name("part").unwrap().data_type(), &DataType::Utf8);

    let info: serde_json::Value = serde_json::from_str(&reader.info_json().unwrap()).unwrap();
    assert_eq!(info["row_groups"], PARTS * FILES * GROUPS);
    assert_eq!(info["rows"], TOTAL);
    assert_eq!(info["files"].as_array().unwrap().len(), PARTS * FILES);
    assert_eq!(info["schema_source"], "metadata");
    assert_eq!(reader.schema().fields().len(), 8);
    // After the end: still the end.
    assert!(reader.next().unwrap().is_none());
}

#[test]
fn epochs_repeat_and_reset_restarts() {
    let dir = synthetic_dataset("epochs");
    let reader = open(json!({"dataset_url": url(&dir), "num_epochs": 3, "schema_fields": ["id"]})).unwrap();
    let ids = ints(&drain(&reader), "id");
    assert_eq!(ids.len(), 3 * TOTAL);
    let first: BTreeSet<i64> = ids[..TOTAL].iter().copied().collect();
    assert_eq!(first.len(), TOTAL);
    reader.reset().unwrap();
    assert_eq!(ints(&drain(&reader), "id").len(), 3 * TOTAL);
}

#[test]
fn shards_are_disjoint_and_cover() {
    let dir = synthetic_dataset("shards");
    let mut all = Vec::new();
    for cur in 0..4 {
        let reader =
            open(json!({"dataset_url": url(&dir), "cur_shard": cur, "shard_count": 4, "schema_fields": ["id"]}))
                .unwrap();
        all.extend(ints(&drain(&reader), "id"));
    }
    all.sort_unstable();
    assert_eq!(all, (0..TOTAL as i64).collect::<Vec<_>>());

    let groups = PARTS * FILES * GROUPS;
    let e = open(json!({"dataset_url": url(&dir), "cur_shard": groups, "shard_count": groups + 1})).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::NoData, "{e}");
    assert!(e.message().contains("shard"), "{e}");
}

#[test]
fn same_seed_same_order_other_seed_other_order() {
    let dir = synthetic_dataset("seeds");
    let order = |seed: u64, rows: bool| {
        let options = json!({"dataset_url": url(&dir), "seed": seed, "shuffle_rows": rows, "schema_fields": ["id"],
                             "workers_count": 4, "num_epochs": 2});
        ints(&drain(&open(options).unwrap()), "id")
    };
    assert_eq!(order(1, false), order(1, false));
    assert_ne!(order(1, false), order(2, false));
    assert_eq!(order(5, true), order(5, true));
    assert_ne!(order(5, true), order(5, false));
    let epochs = order(1, false);
    assert_ne!(epochs[..TOTAL], epochs[TOTAL..], "each epoch is shuffled anew");
    let unshuffled = ints(
        &drain(&open(json!({"dataset_url": url(&dir), "shuffle_row_groups": false, "schema_fields": ["id"]})).unwrap()),
        "id",
    );
    assert_eq!(unshuffled, (0..TOTAL as i64).collect::<Vec<_>>());
}

#[test]
fn the_same_seed_gives_the_same_order_whatever_workers_count() {
    let dir = synthetic_dataset("seeds-workers");
    let order = |workers: usize, rows: bool| {
        let options = json!({"dataset_url": url(&dir), "seed": 7, "shuffle_rows": rows, "schema_fields": ["id"],
                             "workers_count": workers, "num_epochs": 2});
        ints(&drain(&open(options).unwrap()), "id")
    };
    for rows in [false, true] {
        let one = order(1, rows);
        assert_eq!(one.len(), 2 * TOTAL);
        for workers in [2, 3, 8] {
            assert_eq!(order(workers, rows), one, "workers_count {workers}, shuffle_rows {rows}");
        }
    }
}

#[test]
fn row_drop_partitions_split_row_groups() {
    let dir = synthetic_dataset("rowdrop");
    let reader =
        open(json!({"dataset_url": url(&dir), "shuffle_row_drop_partitions": 3, "schema_fields": ["id", "matrix"]}))
            .unwrap();
    let batches = drain(&reader);
    assert_eq!(batches.len(), PARTS * FILES * GROUPS * 3);
    assert!(batches.iter().all(|b| b.num_rows() <= ROWS / 3 + 1));
    let mut ids = ints(&batches, "id");
    ids.sort_unstable();
    assert_eq!(ids, (0..TOTAL as i64).collect::<Vec<_>>());
    check_synthetic(&batches);
}

#[test]
fn schema_fields_take_names_and_regexes() {
    let dir = synthetic_dataset("fields");
    let reader = open(json!({"dataset_url": url(&dir), "schema_fields": ["id", "ma.*", "na[a-z]es"]})).unwrap();
    let names: Vec<String> = reader.schema().fields().iter().map(|f| f.name.clone()).collect();
    assert_eq!(names, ["id", "matrix", "names"]);
    let batches = drain(&reader);
    assert_eq!(batches[0].num_columns(), 3);
    check_synthetic(&batches);
    // Regexes match whole names only.
    let e = open(json!({"dataset_url": url(&dir), "schema_fields": ["matr"]})).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Value);
}

#[test]
fn named_fields_come_first_and_predicate_fields_travel_outside_the_view() {
    let dir = synthetic_dataset("view");
    let options = json!({"dataset_url": format!("{}/", url(&dir)), "schema_field_names": ["names", "id"],
                         "schema_fields": ["ma.*", "id"], "predicate_fields": ["label", "id"], "reader_pool_type": "dummy"});
    let reader = open(options).unwrap();
    let view: Vec<&str> = reader.schema().fields().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(view, ["names", "id", "matrix"]);
    assert!(reader.schema().name().ends_with("_view"), "{}", reader.schema().name());
    let batch: Vec<&str> = reader.batch_schema().fields().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(batch, ["names", "id", "matrix", "label"]);
    let batches = drain(&reader);
    let columns: Vec<String> = batches[0].schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(columns, batch);
    assert_eq!(ints(&batches, "id").len(), TOTAL);
    check_synthetic(&batches);

    let error = |options: serde_json::Value| open(options).err().unwrap().to_string();
    let e = error(json!({"dataset_url": url(&dir), "schema_field_names": ["nope"]}));
    assert!(e.contains("field ['nope'] does not belong to the schema"), "{e}");
    let e = error(json!({"dataset_url": url(&dir), "predicate_fields": ["nope", "id"]}));
    assert!(e.contains("column names requested by the predicate (nope) are not valid schema names"), "{e}");
    let e = error(json!({"dataset_url": url(&dir), "predicate_fields": []}));
    assert!(e.contains("At least one field name"), "{e}");
    let e = error(json!({"dataset_url": url(&dir), "reader_pool_type": "gpu"}));
    assert!(e.contains("Unknown reader_pool_type: 'gpu'"), "{e}");
    let e = error(json!({"dataset_url": url(&dir), "workers_count": "many"}));
    assert!(e.contains("invalid reader option workers_count = \"many\""), "{e}");
    let e = error(json!({"dataset_url": ["", url(&dir)]}));
    assert!(e.contains("dataset url must be a non-empty string"), "{e}");
}

#[test]
fn predicates_filter_rows() {
    let dir = synthetic_dataset("predicates");
    let read = |predicate: serde_json::Value, fields: serde_json::Value| {
        let options = json!({"dataset_url": url(&dir), "predicate": predicate, "schema_fields": fields, "shuffle_row_groups": false});
        drain(&open(options).unwrap())
    };
    let batches = read(json!({"in_set": {"field": "id", "values": [3, 77, 150, 1000]}}), json!(["id", "matrix"]));
    assert_eq!(ints(&batches, "id"), [3, 77, 150]);
    check_synthetic(&batches);
    // The predicate field is read but not returned when not selected.
    let batches = read(json!({"in_set": {"field": "label", "values": ["L1"]}}), json!(["id"]));
    assert_eq!(batches[0].num_columns(), 1);
    assert_eq!(ints(&batches, "id"), (0..TOTAL as i64).filter(|i| i % 4 == 1).collect::<Vec<_>>());
    // Negation, reduction, intersection with a string tensor.
    let batches = read(
        json!({"in_reduce": {"op": "all", "predicates": [
            {"in_negate": {"in_set": {"field": "label", "values": ["L0", "L1"]}}},
            {"in_intersection": {"field": "names", "values": ["a2", "a3", "a6"]}}]}}),
        json!(["id", "names"]),
    );
    let expected = (0..TOTAL as i64).filter(|i| [2, 3, 6].contains(&(i % 100)) && ![0, 1].contains(&(i % 4)));
    assert_eq!(ints(&batches, "id"), expected.collect::<Vec<_>>());
    // A predicate on the partition key prunes files.
    let reader =
        open(json!({"dataset_url": url(&dir), "predicate": {"in_set": {"field": "part", "values": ["p1"]}}})).unwrap();
    let info: serde_json::Value = serde_json::from_str(&reader.info_json().unwrap()).unwrap();
    assert_eq!(info["row_groups"], FILES * GROUPS);
    let ids = ints(&drain(&reader), "id");
    assert_eq!(ids.len(), FILES * GROUPS * ROWS);
    // Pseudorandom split: the subsets partition the rows.
    let mut total = 0;
    for subset in 0..3 {
        let p = json!({"in_pseudorandom_split": {"field": "id", "fractions": [0.2, 0.3, 0.5], "subset_index": subset}});
        let ids = ints(&read(p, json!(["id"])), "id");
        assert!(!ids.is_empty());
        total += ids.len();
    }
    assert_eq!(total, TOTAL);
    // A predicate on an unknown field is an error at open.
    let e = open(json!({"dataset_url": url(&dir), "predicate": {"in_set": {"field": "nope", "values": [1]}}}))
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::Value);
}

#[test]
fn filters_prune_partitions_and_filter_rows() {
    let dir = synthetic_dataset("filters");
    let reader = open(
        json!({"dataset_url": url(&dir), "filters": [["part", "in", ["p0", "p2"]]], "schema_fields": ["id", "part"]}),
    )
    .unwrap();
    let info: serde_json::Value = serde_json::from_str(&reader.info_json().unwrap()).unwrap();
    assert_eq!(info["row_groups"], 2 * FILES * GROUPS);
    let parts: BTreeSet<String> = strings(&drain(&reader), "part").into_iter().collect();
    assert_eq!(parts, ["p0".to_string(), "p2".to_string()].into());

    // DNF: (part = p1 and id < 70) or (id >= 175).
    let filters = json!([[["part", "=", "p1"], ["id", "<", 70]], [["id", ">=", 175]]]);
    let reader = open(
        json!({"dataset_url": url(&dir), "filters": filters, "schema_fields": ["id"], "shuffle_row_groups": false}),
    )
    .unwrap();
    let ids = ints(&drain(&reader), "id");
    assert_eq!(ids, (60..70).chain(175..180).collect::<Vec<i64>>());
    let e = open(json!({"dataset_url": url(&dir), "filters": [["id", "like", 3]]})).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Value);
}

#[test]
fn row_groups_are_piece_indices_over_every_file() {
    // Pieces in path order: part=p0/file0 row groups 0..3 are pieces 0..3 (ids 0..30), and so on.
    let dir = synthetic_dataset("row-groups");
    let read = |extra: serde_json::Value| {
        let mut options = json!({"dataset_url": url(&dir), "schema_fields": ["id"], "shuffle_row_groups": false});
        options.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        open(options).map(|reader| ints(&drain(&reader), "id"))
    };
    let ids = read(json!({"row_groups": [17, 1, 7]})).unwrap();
    assert_eq!(ids, (10..20).chain(70..80).chain(170..180).collect::<Vec<i64>>());
    // Pruned files keep their numbers: only piece 7 is in partition p1 (pieces 6..12).
    let ids = read(json!({"row_groups": [1, 7], "filters": [["part", "=", "p1"]]})).unwrap();
    assert_eq!(ids, (70..80).collect::<Vec<i64>>());
    let e = read(json!({"row_groups": [PARTS * FILES * GROUPS]})).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Value, "{e}");
    assert!(e.message().contains("has 18"), "{e}");
    assert_eq!(read(json!({"row_groups": []})).unwrap_err().kind(), ErrorKind::NoData);
}

#[test]
fn stop_returns_promptly_during_an_endless_read() {
    let dir = synthetic_dataset("stop");
    let reader = Arc::new(open(json!({"dataset_url": url(&dir), "num_epochs": null, "workers_count": 2})).unwrap());
    for _ in 0..5 {
        assert!(reader.next().unwrap().is_some());
    }
    let consumer = {
        let reader = Arc::clone(&reader);
        std::thread::spawn(move || {
            let mut n = 0;
            while reader.next().unwrap().is_some() {
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    reader.stop().unwrap();
    assert!(started.elapsed() < Duration::from_secs(1), "stop took {:?}", started.elapsed());
    let n = consumer.join().unwrap();
    assert!(n > 0);
    assert!(reader.next().unwrap().is_none());
    reader.stop().unwrap();
    // Reset after stop reads again; dropping a running reader returns promptly too.
    reader.reset().unwrap();
    assert!(reader.next().unwrap().is_some());
    let started = Instant::now();
    drop(Arc::try_unwrap(reader).ok().unwrap());
    assert!(started.elapsed() < Duration::from_secs(2), "drop took {:?}", started.elapsed());
}

#[test]
fn queue_holds_at_most_results_queue_size_batches() {
    let dir = synthetic_dataset("bounded");
    let reader =
        open(json!({"dataset_url": url(&dir), "results_queue_size": 2, "workers_count": 4, "num_epochs": 2})).unwrap();
    let mut n = 0;
    while let Some(_batch) = reader.next().unwrap() {
        std::thread::sleep(Duration::from_millis(15));
        n += 1;
    }
    assert_eq!(n, 2 * PARTS * FILES * GROUPS);
    assert!(reader.max_buffered() <= 2, "held {}", reader.max_buffered());
    assert!(reader.max_buffered() >= 1);
}

/// Reads two epochs with a slow consumer: (batches, largest batch bytes, most batches held,
/// most bytes held).
fn read_slowly(dir: &std::path::Path, results_queue_bytes: u64) -> (usize, usize, usize, usize) {
    let options = json!({"dataset_url": url(dir), "results_queue_size": 50, "results_queue_bytes": results_queue_bytes,
                         "workers_count": 2, "num_epochs": 2});
    let reader = open(options).unwrap();
    let (mut n, mut largest) = (0, 0);
    while let Some(batch) = reader.next().unwrap() {
        std::thread::sleep(Duration::from_millis(15));
        largest = largest.max(batch.get_array_memory_size());
        n += 1;
    }
    (n, largest, reader.max_buffered(), reader.max_buffered_bytes())
}

#[test]
fn decoded_batches_ahead_stay_within_results_queue_bytes() {
    let dir = synthetic_dataset("budget");
    let items = 2 * PARTS * FILES * GROUPS;
    // Unbounded by bytes, a slow consumer lets the count bound fill up.
    let (n, largest, held, _) = read_slowly(&dir, u64::MAX);
    assert_eq!(n, items);
    assert!(held > 4, "held only {held} batches without a byte budget");
    // A budget of three batches: decoding stops while that much waits (the two running items
    // may still finish), and every batch is still read.
    let budget = 3 * largest;
    let (n, _, _, held_bytes) = read_slowly(&dir, budget as u64);
    assert_eq!(n, items);
    assert!(held_bytes <= budget + 2 * largest, "held {held_bytes} bytes for a budget of {budget}");
    // A budget below one batch still reads (one at a time ahead, plus the running items).
    let (n, _, held, _) = read_slowly(&dir, 1);
    assert_eq!(n, items);
    assert!((1..=2).contains(&held), "held {held} batches for a 1-byte budget");
}

#[test]
fn a_corrupt_cell_is_a_decode_error_naming_field_file_and_row_group_and_reading_goes_on() {
    let dir = temp_dir("corrupt");
    let schema = Unischema::from_json(
        r#"{"name": "S", "fields": [
         {"name": "id", "dtype": "int64", "shape": [], "codec": {"type": "scalar", "spark_type": "long"}},
         {"name": "matrix", "dtype": "float32", "shape": [2, 2], "codec": {"type": "ndarray"}}]}"#,
    )
    .unwrap();
    let cells: Vec<Vec<u8>> = (0..12)
        .map(|i| {
            let cell = encode(&schema, "matrix", "<f4", &[2, 2], &f32_bytes([i as f32; 4]));
            if i == 5 {
                cell[..cell.len() - 3].to_vec() // truncated NPY
            } else {
                cell
            }
        })
        .collect();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            ArrowField::new("id", DataType::Int64, false),
            ArrowField::new("matrix", DataType::Binary, false),
        ])),
        vec![
            Arc::new(Int64Array::from((0..12).collect::<Vec<i64>>())) as ArrayRef,
            Arc::new(BinaryArray::from_iter_values(cells.iter())),
        ],
    )
    .unwrap();
    write_parquet(&dir, "bad.parquet", &batch, 4);
    write_metadata(&dir, &schema);
    let reader = open(json!({"dataset_url": url(&dir), "shuffle_row_groups": false, "workers_count": 1})).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().num_rows(), 4);
    let e = reader.next().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    for part in ["field 'matrix'", "file 'bad.parquet'", "row group 1"] {
        assert!(e.message().contains(part), "{part} not in: {e}");
    }
    // the middle row group failed alone: the next call returns the row group after it
    let after = reader.next().unwrap().expect("the row group after the failed one");
    assert_eq!(ints(&[after], "id"), (8..12).collect::<Vec<i64>>());
    assert!(reader.next().unwrap().is_none());
}

#[test]
fn bad_options_and_urls_are_errors() {
    let e = open(json!({"dataset_url": "/nonexistent/petastorm/dataset"})).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::NoData, "{e}");
    let e = open(json!({"dataset_url": "hdfs://nn/x"})).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Value, "{e}");
    for bad in [
        json!({"dataset_url": "/x", "num_epochs": 0}),
        json!({"dataset_url": "/x", "cur_shard": 1}),
        json!({"dataset_url": "/x", "bogus": 1}),
    ] {
        assert_eq!(open(bad).err().unwrap().kind(), ErrorKind::Value);
    }
}

#[test]
fn a_list_of_file_urls_reads_those_files() {
    let dir = synthetic_dataset("urls");
    let files = [dir.join("part=p0/file1.parquet"), dir.join("part=p2/file0.parquet")];
    let urls: Vec<String> = files.iter().map(|p| url(p)).collect();
    let reader = open(json!({"dataset_url": urls, "schema_fields": ["id"], "shuffle_row_groups": false})).unwrap();
    let ids = ints(&drain(&reader), "id");
    let per_file = (GROUPS * ROWS) as i64;
    assert_eq!(ids, (per_file..2 * per_file).chain(4 * per_file..5 * per_file).collect::<Vec<_>>());
}
