//! Per-cell encode/decode rates of the codecs on real Petastorm cells
//! (`../shared/fixtures/petastorm-0.13.1`). Run: `cargo bench -p petastorm-native --bench codecs`.
//! `codecs_reference.py` prints the same figures for OpenCV and NumPy.
//! Rates are single-threaded; MB/s counts the decoded array's bytes.

use std::fs::File;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::ImageEncoder;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use petastorm_native::codec::{image as img, npy, npz, pixels, Expect, ImageFormat, Tensor};
use petastorm_native::dtype::{ArrayDType, Kind};

/// The first non-null cell of `column` in the first Parquet file of `dataset`.
fn first_cell(dataset: &str, column: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/petastorm-0.13.1").join(dataset);
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "parquet"));
    files.sort();
    let mut reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&files[0]).unwrap()).unwrap().build().unwrap();
    let batch = reader.next().unwrap().unwrap();
    let cells = batch.column_by_name(column).unwrap().as_binary::<i32>();
    (0..cells.len()).find(|i| !cells.is_null(*i)).map(|i| cells.value(i).to_vec()).unwrap()
}

/// Runs `f` repeatedly for about half a second and prints cells/s and MB/s.
fn rate(label: &str, array_bytes: usize, mut f: impl FnMut()) {
    f();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_millis(500) {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    let per_s = n as f64 / start.elapsed().as_secs_f64();
    println!("{label:<44} {per_s:>11.0} cells/s {:>9.1} MB/s", per_s * array_bytes as f64 / 1e6);
}

/// Benchmarks decoding `cell` and re-encoding the result with `encode`.
fn bench(
    name: &str,
    cell: &[u8],
    expect: &Expect,
    decode: fn(&[u8], &Expect) -> petastorm_native::Result<Tensor>,
    encode: impl Fn(&Tensor) -> Vec<u8>,
) -> Tensor {
    let t = decode(cell, expect).unwrap();
    rate(&format!("{name} decode"), t.data.len(), || {
        black_box(decode(black_box(cell), expect).unwrap());
    });
    rate(&format!("{name} encode"), t.data.len(), || {
        black_box(encode(black_box(&t)));
    });
    t
}

/// The PNG compression choice: `Fast` (used) against `Default`, on `t`'s pixels.
fn png_compression_choice(label: &str, t: &Tensor) {
    let (h, w) = (t.shape[0] as u32, t.shape[1] as u32);
    let png_with = |compression| {
        let mut out = Vec::new();
        PngEncoder::new_with_quality(&mut out, compression, FilterType::Adaptive)
            .write_image(&t.data, w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    };
    for (name, compression) in [("Fast", CompressionType::Fast), ("Default", CompressionType::Default)] {
        let size = png_with(compression).len();
        rate(&format!("  PNG {label} encode, {name}: {size} B"), t.data.len(), || {
            black_box(png_with(compression));
        });
    }
}

/// What placing a decoded RGB cell in its column costs: the plain copy, and the split into
/// channel planes of reader option `planar_images` (compare with the cell's decode rate).
fn placement(name: &str, t: &Tensor) {
    let mut out = vec![0; t.data.len()];
    rate(&format!("{name} copy out"), t.data.len(), || {
        black_box(&mut out).copy_from_slice(black_box(&t.data));
    });
    rate(&format!("{name} split into planes"), t.data.len(), || {
        pixels::to_planar::<1>(black_box(&t.data), black_box(&mut out));
    });
}

fn main() {
    let u8_expect = |shape: &'static [Option<usize>]| Expect { kind: Kind::UInt, itemsize: Some(1), shape };

    let png_cell = first_cell("hello", "image1");
    let png = bench("PNG 128x256x3 u8", &png_cell, &u8_expect(&[Some(128), Some(256), Some(3)]), img::decode, |t| {
        img::encode(&t.view(), ImageFormat::Png, 0).unwrap()
    });
    println!("  PNG as OpenCV wrote it: {} B", png_cell.len());

    let jpeg_cell = first_cell("jpeg", "image");
    let jpeg =
        bench("JPEG 224x224x3 q90", &jpeg_cell, &u8_expect(&[Some(224), Some(224), Some(3)]), img::decode, |t| {
            img::encode(&t.view(), ImageFormat::Jpeg, 90).unwrap()
        });
    println!(
        "  JPEG sizes: ours {} B, OpenCV-written {} B",
        img::encode(&jpeg.view(), ImageFormat::Jpeg, 90).unwrap().len(),
        jpeg_cell.len()
    );
    placement("PNG 128x256x3 u8", &png);
    placement("JPEG 224x224x3", &jpeg);
    png_compression_choice("128x256x3 noise", &png);
    png_compression_choice("224x224x3 photo", &jpeg);

    let npy_encode = |t: &Tensor| npy::encode(&t.view()).unwrap();
    bench("NPY 28x28 u8", &first_cell("mnist", "image"), &u8_expect(&[Some(28), Some(28)]), npy::decode, npy_encode);

    let data = (0..128 * 128 * 30).map(|i| (i % 251) as u8).collect();
    let big =
        Tensor { dtype: ArrayDType::native(Kind::UInt, 1), shape: vec![128, 128, 30], fortran_order: false, data };
    bench("NPY 128x128x30 u8", &npy_encode(&big), &u8_expect(&[None, Some(128), Some(30)]), npy::decode, npy_encode);

    let f4 = Expect { kind: Kind::Float, itemsize: Some(4), shape: &[Some(128)] };
    bench("NPZ f4 (128,)", &first_cell("jpeg", "embedding"), &f4, npz::decode, |t| npz::encode(&t.view()).unwrap());
}
