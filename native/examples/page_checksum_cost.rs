//! Prints what verifying page CRCs costs the reader: reads one Parquet file (written with page
//! checksums, e.g. pyarrow's `write_page_checksum=True`) with `verify_page_checksums` on and
//! off, one decode thread, and reports the best of `REPS` passes.
//!
//! `cargo run --release -p petastorm-native --example page_checksum_cost -- FILE.parquet`

use std::time::Instant;

use petastorm_native::dataset::options::ReaderOptions;
use petastorm_native::dataset::reader::Reader;

const REPS: usize = 5;

fn main() {
    let path = std::env::args().nth(1).expect("usage: page_checksum_cost FILE.parquet");
    let bytes = std::fs::metadata(&path).expect("the file").len() as f64;
    for verify in [false, true, false, true] {
        let options = serde_json::json!({
            "dataset_url": path, "batch_mode": true, "workers_count": 1, "shuffle_row_groups": false,
            "verify_page_checksums": verify,
        });
        let options = ReaderOptions::from_json(&options.to_string()).expect("options");
        let mut best = f64::MAX;
        for _ in 0..REPS {
            let start = Instant::now();
            let reader = Reader::open(&options).expect("open");
            while reader.next().expect("a batch").is_some() {}
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!(
            "verify_page_checksums={verify:<5}  best of {REPS}: {:.1} ms  ({:.0} MB/s)",
            best * 1e3,
            bytes / best / 1e6
        );
    }
}
