//! The decode floor: what decoding a dataset's codec cells costs with no reader around it.
//!
//! `cargo run --release -p petastorm-native --example decode_floor -- URL [--threads N] [--seconds S]`
//!
//! Opens the dataset as the reader does (its Unischema from `_common_metadata` or the footers),
//! loads every cell of its binary-codec fields into memory once, then decodes all of them with
//! the reader's own per-cell decoder ([`CellDecoder`]; fixed-size numeric tensors in place into a
//! values buffer, as the reader does) on N threads (default: all cores), pass after pass for S
//! seconds (default 3). Prints one JSON line: the best pass's rows/s, the threads, the cells
//! decoded per pass and the fields.

use std::time::{Duration, Instant};

use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use petastorm_native::arrow::array::{Array, AsArray, BinaryArray};
use petastorm_native::arrow::compute::cast;
use petastorm_native::arrow::datatypes::DataType;
use petastorm_native::dataset::discovery::{parquet_error, Dataset};
use petastorm_native::dataset::CellDecoder;
use petastorm_native::schema::Codec;
use petastorm_native::{storage, Error, Result, Unischema};

struct Args {
    url: String,
    threads: usize,
    seconds: f64,
}

fn parse_args() -> Result<Args> {
    let usage = || Error::value("usage: decode_floor URL [--threads N] [--seconds S]");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut args = Args { url: String::new(), threads: cores, seconds: 3.0 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--threads" => {
                args.threads = it.next().and_then(|v| v.parse().ok()).filter(|n| *n > 0).ok_or_else(usage)?
            }
            "--seconds" => args.seconds = it.next().and_then(|v| v.parse().ok()).ok_or_else(usage)?,
            _ if args.url.is_empty() && !arg.starts_with("--") => args.url = arg,
            _ => return Err(usage()),
        }
    }
    match args.url.is_empty() {
        true => Err(usage()),
        false => Ok(args),
    }
}

/// The binary-codec fields the reader decodes natively (custom codecs decode in Python).
fn codec_fields(schema: &Unischema) -> Vec<usize> {
    (0..schema.fields().len())
        .filter(|&i| {
            matches!(
                schema.fields()[i].codec,
                Some(Codec::Ndarray | Codec::CompressedNdarray | Codec::CompressedImage { .. })
            )
        })
        .collect()
}

/// Every row group of every data file: one binary column per field of `fields`, in that order.
fn load_cells(dataset: &Dataset, fields: &[usize]) -> Result<Vec<Vec<BinaryArray>>> {
    let names: Vec<&str> = fields.iter().map(|&i| dataset.schema.fields()[i].name.as_str()).collect();
    let mut groups = Vec::new();
    for file in &dataset.files {
        let bytes = storage::read_optional(&file.location)?
            .ok_or_else(|| Error::io(format!("file '{}' disappeared", file.rel)))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes)).map_err(parquet_error)?;
        let mask = ProjectionMask::columns(builder.parquet_schema(), names.iter().copied());
        // one batch per row group, as the reader reads them
        let group_rows = builder.metadata().row_groups().iter().map(|g| g.num_rows()).max().unwrap_or(1);
        let batch_size = usize::try_from(group_rows).unwrap_or(1).max(1);
        let reader = builder.with_projection(mask).with_batch_size(batch_size).build().map_err(parquet_error)?;
        for batch in reader {
            let batch = batch.map_err(|e| Error::io(format!("file '{}': {e}", file.rel)))?;
            let column = |name: &&str| -> Result<BinaryArray> {
                let array = batch
                    .column_by_name(name)
                    .ok_or_else(|| Error::value(format!("file '{}' has no column '{name}'", file.rel)))?;
                let binary = cast(array, &DataType::Binary).map_err(|e| Error::value(format!("'{name}': {e}")))?;
                Ok(binary.as_binary::<i32>().clone())
            };
            groups.push(names.iter().map(column).collect::<Result<Vec<_>>>()?);
        }
    }
    Ok(groups)
}

/// A thread's share of a pass: rows `[start, end)` of every row group, each field decoded
/// with the reader's decoder into a values buffer the thread keeps between passes.
fn decode_share(
    decoders: &[CellDecoder],
    groups: &[Vec<BinaryArray>],
    share: (usize, usize),
    buffers: &mut [Vec<u8>],
) -> Result<()> {
    for columns in groups {
        let rows = columns.first().map_or(0, |c| c.len());
        let (start, end) = (rows * share.0 / share.1, rows * (share.0 + 1) / share.1);
        for ((decoder, cells), buffer) in decoders.iter().zip(columns).zip(buffers.iter_mut()) {
            let cell_len = decoder.fixed_len();
            if let Some(len) = cell_len {
                buffer.resize(len * (end - start), 0);
            }
            for i in (start..end).filter(|&i| cells.is_valid(i)) {
                match cell_len {
                    Some(len) => decoder.decode_into(cells.value(i), &mut buffer[(i - start) * len..][..len])?,
                    None => drop(decoder.decode(cells.value(i))?),
                }
            }
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let dataset = Dataset::open(std::slice::from_ref(&args.url), &[])?;
    let fields = codec_fields(&dataset.schema);
    if fields.is_empty() {
        return Err(Error::value(format!("dataset '{}' has no binary-codec field", args.url)));
    }
    let groups = load_cells(&dataset, &fields)?;
    let decoders = fields.iter().map(|&i| CellDecoder::new(&dataset.schema, i)).collect::<Result<Vec<_>>>()?;
    let rows: usize = groups.iter().map(|g| g[0].len()).sum();
    let mut buffers: Vec<Vec<Vec<u8>>> = (0..args.threads).map(|_| vec![Vec::new(); fields.len()]).collect();
    let (deadline, mut best) = (Instant::now() + Duration::from_secs_f64(args.seconds), Duration::MAX);
    loop {
        let start = Instant::now();
        std::thread::scope(|scope| {
            let (decoders, groups, threads) = (&decoders, &groups, args.threads);
            let running: Vec<_> = buffers
                .iter_mut()
                .enumerate()
                .map(|(t, own)| scope.spawn(move || decode_share(decoders, groups, (t, threads), own)))
                .collect();
            running.into_iter().try_for_each(|r| r.join().expect("a decode thread panicked"))
        })?;
        best = best.min(start.elapsed());
        if Instant::now() >= deadline {
            break;
        }
    }
    let names: Vec<&str> = fields.iter().map(|&i| dataset.schema.fields()[i].name.as_str()).collect();
    let out = serde_json::json!({
        "rows_per_s": rows as f64 / best.as_secs_f64(),
        "threads": args.threads,
        "rows": rows,
        "cells": rows * fields.len(),
        "fields": names,
        "best_pass_s": best.as_secs_f64(),
    });
    println!("{out}");
    Ok(())
}
