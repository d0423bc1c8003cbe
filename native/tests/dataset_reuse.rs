//! A binding asks for a dataset's schema, then opens its reader: the listing, `_common_metadata`
//! and footers are read once (`discovery::dataset_schema` then `discovery::open_shared`).

mod common;

use petastorm_native::dataset::discovery::{dataset_schema, open_shared};

#[test]
fn the_reader_after_a_schema_request_reuses_its_dataset_once() {
    let dir = common::temp_dir("dataset-reuse");
    let source = common::fixtures().join("petastorm-0.13.1/mnist");
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        if path.extension().is_some_and(|e| e == "parquet") {
            parts.push(path);
        }
    }
    let url = dir.display().to_string();
    let urls = [url.clone()];
    let schema = dataset_schema(&url, &[]).unwrap();
    // A file added after the schema request is not seen by the reader that follows it (the same
    // listing), only by the next one.
    std::fs::copy(&parts[0], dir.join("part-99999-added.parquet")).unwrap();
    let first = open_shared(&urls, &[], None).unwrap();
    assert_eq!(first.schema, schema);
    assert_eq!(first.files.len(), parts.len());
    assert_eq!(open_shared(&urls, &[], None).unwrap().files.len(), parts.len() + 1);

    dataset_schema(&url, &[]).unwrap();
    std::fs::remove_file(dir.join("part-99999-added.parquet")).unwrap();
    let other_options = [("timeout".to_string(), "5s".to_string())];
    assert_eq!(
        open_shared(&urls, &other_options, None).unwrap().files.len(),
        parts.len(),
        "other options: opened anew"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
