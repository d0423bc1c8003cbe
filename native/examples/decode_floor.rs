//! The decode floor: what decoding a dataset's codec cells costs with no reader around it.
//!
//! `cargo run --release -p petastorm-native --example decode_floor -- URL [--threads N] [--seconds S] [--parquet]`
//!
//! Opens the dataset as the reader does (its Unischema from `_common_metadata` or the footers),
//! loads every cell of its binary-codec fields into memory once, then decodes all of them with
//! the reader's own per-cell decoder ([`CellDecoder`]; fixed-size numeric tensors in place into a
//! values buffer, as the reader does) on N threads (default: all cores), pass after pass for S
//! seconds (default 3). With `--parquet` a pass also reads those columns from the Parquet files
//! (held in memory) with the `parquet` crate's synchronous reader, a row group per task: an
//! estimate of what decoding the pages adds, not a strict floor (the reader's own, asynchronous
//! path has measured cheaper per CPU-second on hello-world).
//! Prints one JSON line: the best pass's rows/s, the sustained rows/s (every pass over the whole
//! window, as a reader is timed), rows per CPU-second over all passes (Linux), the threads, the
//! cells decoded per pass and the fields.

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
    parquet: bool,
}

fn parse_args() -> Result<Args> {
    let usage = || Error::value("usage: decode_floor URL [--threads N] [--seconds S] [--parquet]");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut args = Args { url: String::new(), threads: cores, seconds: 3.0, parquet: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--threads" => {
                args.threads = it.next().and_then(|v| v.parse().ok()).filter(|n| *n > 0).ok_or_else(usage)?
            }
            "--seconds" => args.seconds = it.next().and_then(|v| v.parse().ok()).ok_or_else(usage)?,
            "--parquet" => args.parquet = true,
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

/// One row group of a data file held in memory.
struct Group {
    file: Bytes,
    rel: String,
    index: usize,
}

/// Every row group of every data file of `dataset`, the files read into memory.
fn load_groups(dataset: &Dataset) -> Result<Vec<Group>> {
    let mut groups = Vec::new();
    for file in &dataset.files {
        let bytes = storage::read_optional(&file.location)?
            .ok_or_else(|| Error::io(format!("file '{}' disappeared", file.rel)))?;
        let file_bytes = Bytes::from(bytes);
        let builder = ParquetRecordBatchReaderBuilder::try_new(file_bytes.clone()).map_err(parquet_error)?;
        for index in 0..builder.metadata().num_row_groups() {
            groups.push(Group { file: file_bytes.clone(), rel: file.rel.clone(), index });
        }
    }
    Ok(groups)
}

/// The binary columns `names` of one row group, read as the reader reads them (one batch).
fn read_group(group: &Group, names: &[&str]) -> Result<Vec<BinaryArray>> {
    let place = |e: &dyn std::fmt::Display| Error::io(format!("file '{}', row group {}: {e}", group.rel, group.index));
    let builder = ParquetRecordBatchReaderBuilder::try_new(group.file.clone()).map_err(parquet_error)?;
    let rows = builder.metadata().row_group(group.index).num_rows();
    let mask = ProjectionMask::columns(builder.parquet_schema(), names.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_row_groups(vec![group.index])
        .with_batch_size(usize::try_from(rows).unwrap_or(1).max(1))
        .build()
        .map_err(parquet_error)?;
    let mut columns = Vec::with_capacity(names.len());
    for batch in reader {
        let batch = batch.map_err(|e| place(&e))?;
        for name in names {
            let array = batch.column_by_name(name).ok_or_else(|| place(&format!("no column '{name}'")))?;
            let binary = cast(array, &DataType::Binary).map_err(|e| place(&format!("column '{name}': {e}")))?;
            columns.push(binary.as_binary::<i32>().clone());
        }
    }
    Ok(columns)
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

/// The CPU time (user + system) of this process so far, from `/proc/self/stat` (Linux).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // after the command name in parentheses: state is field 3, utime and stime fields 14 and 15
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ
}

/// One pass on `threads` threads: the cells split by rows within each row group, or with
/// `parquet`, whole row groups read from the in-memory files and then decoded, per thread.
fn pass(
    decoders: &[CellDecoder],
    groups: &[Group],
    cells: &[Vec<BinaryArray>],
    parquet: Option<&[&str]>,
    buffers: &mut [Vec<Vec<u8>>],
) -> Result<()> {
    let threads = buffers.len();
    std::thread::scope(|scope| {
        let running: Vec<_> = buffers
            .iter_mut()
            .enumerate()
            .map(|(t, own)| {
                scope.spawn(move || match parquet {
                    None => decode_share(decoders, cells, (t, threads), own),
                    Some(names) => groups
                        .iter()
                        .skip(t)
                        .step_by(threads)
                        .try_for_each(|group| decode_share(decoders, &[read_group(group, names)?], (0, 1), own)),
                })
            })
            .collect();
        running.into_iter().try_for_each(|r| r.join().expect("a decode thread panicked"))
    })
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let dataset = Dataset::open(std::slice::from_ref(&args.url), &[])?;
    let fields = codec_fields(&dataset.schema);
    if fields.is_empty() {
        return Err(Error::value(format!("dataset '{}' has no binary-codec field", args.url)));
    }
    let names: Vec<&str> = fields.iter().map(|&i| dataset.schema.fields()[i].name.as_str()).collect();
    let groups = load_groups(&dataset)?;
    let cells = groups.iter().map(|g| read_group(g, &names)).collect::<Result<Vec<_>>>()?;
    let decoders = fields.iter().map(|&i| CellDecoder::new(&dataset.schema, i)).collect::<Result<Vec<_>>>()?;
    let rows: usize = cells.iter().map(|g| g.first().map_or(0, |c| c.len())).sum();
    let mut buffers: Vec<Vec<Vec<u8>>> = (0..args.threads).map(|_| vec![Vec::new(); fields.len()]).collect();
    let (deadline, mut best, mut passes) = (Instant::now() + Duration::from_secs_f64(args.seconds), Duration::MAX, 0);
    let (cpu_start, window_start) = (cpu_seconds(), Instant::now());
    loop {
        let start = Instant::now();
        pass(&decoders, &groups, &cells, args.parquet.then_some(&names[..]), &mut buffers)?;
        best = best.min(start.elapsed());
        passes += 1;
        if Instant::now() >= deadline {
            break;
        }
    }
    // rows per second of CPU time, less sensitive than rows/s to other processes on the machine
    let per_cpu_s = cpu_start.zip(cpu_seconds()).map(|(a, b)| (rows * passes) as f64 / (b - a));
    let sustained = (rows * passes) as f64 / window_start.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "rows_per_s": rows as f64 / best.as_secs_f64(),
        "rows_per_s_sustained": sustained,
        "threads": args.threads,
        "rows_per_cpu_s": per_cpu_s,
        "parquet": args.parquet,
        "rows": rows,
        "cells": rows * fields.len(),
        "fields": names,
        "best_pass_s": best.as_secs_f64(),
    });
    println!("{out}");
    Ok(())
}
