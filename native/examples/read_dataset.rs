//! Reads a Petastorm dataset with the Rust API and prints its Unischema and each batch's tensors.
//!
//! `cargo run --release -p petastorm-native --example read_dataset [URL]`; the default URL is
//! the MNIST dataset upstream Petastorm wrote, `../shared/fixtures/petastorm-0.13.1/mnist`.

use std::path::Path;

use petastorm_native::arrow::datatypes::{Int64Type, UInt8Type};
use petastorm_native::{tensors, Reader, ReaderOptions};

fn main() -> petastorm_native::Result<()> {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/petastorm-0.13.1/mnist");
    let url = std::env::args().nth(1).unwrap_or_else(|| format!("file://{}", default.display()));
    let mut options = ReaderOptions::for_url(&url);
    options.schema_fields = Some(vec!["idx".into(), "digit".into(), "image".into()]);
    options.shuffle_row_groups = false;
    let reader = Reader::open(&options)?;
    println!("schema: {}", reader.schema().to_json());
    let mut rows = 0;
    for batch in reader.batches() {
        let batch = batch?;
        let images = tensors::column_view::<UInt8Type>(&batch, "image")?;
        let digits = tensors::column_view::<Int64Type>(&batch, "digit")?;
        let mean = images.iter().map(|&p| f64::from(p)).sum::<f64>() / images.len().max(1) as f64;
        println!("batch: images {:?}, digits {:?}, mean pixel {mean:.2}", images.shape(), digits.shape());
        rows += batch.num_rows();
    }
    println!("{rows} rows");
    Ok(())
}
