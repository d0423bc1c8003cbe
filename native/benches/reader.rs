//! Reader throughput on the Petastorm 0.13.1 fixtures: every dataset read for 50 epochs
//! with a decode pool of 2 workers; prints rows/s and decoded MB/s.
//! Run: `cargo bench --bench reader` (`READER_BENCH_EPOCHS` overrides the epoch count).

use std::path::PathBuf;
use std::time::Instant;

use arrow::array::Array;
use petastorm_native::dataset::options::ReaderOptions;
use petastorm_native::dataset::reader::Reader;

fn main() {
    let epochs: u64 = std::env::var("READER_BENCH_EPOCHS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/petastorm-0.13.1");
    for name in ["hello", "mnist", "jpeg"] {
        let dir = root.join(name);
        if !dir.exists() {
            eprintln!("skipping {name}: {} not found", dir.display());
            continue;
        }
        let options = serde_json::json!({
            "dataset_url": dir.display().to_string(),
            "num_epochs": epochs,
            "workers_count": 2,
            "results_queue_size": 8,
            "seed": 0,
        });
        let options = ReaderOptions::from_json(&options.to_string()).expect("options");
        let started = Instant::now();
        let reader = Reader::open(&options).expect("open");
        let (mut rows, mut bytes) = (0usize, 0usize);
        while let Some(batch) = reader.next().expect("next") {
            rows += batch.num_rows();
            bytes += batch.columns().iter().map(|c| c.get_array_memory_size()).sum::<usize>();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "reader/{name:<6} {epochs} epochs: {rows:>7} rows in {secs:6.2} s = {:>9.0} rows/s, {:>7.1} MB/s decoded",
            rows as f64 / secs,
            bytes as f64 / secs / 1e6
        );
    }
}
