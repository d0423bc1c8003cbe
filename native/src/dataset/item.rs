//! Reading one plan item: fetch the needed columns of a row group (or of a part of its
//! rows), add Hive partition columns, filter rows by predicate and filters, decode the
//! output columns and optionally shuffle the rows.

use std::ops::Range;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{new_null_array, ArrayRef, BooleanArray, StringArray, UInt32Array};
use arrow::compute::{concat_batches, filter, take};
use arrow::datatypes::{DataType, FieldRef, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use futures::TryStreamExt;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, RowSelection, RowSelector};
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::file::metadata::ParquetMetaData;

use super::checksum::{read_error, ChecksumReader};
use super::damage::Skips;
use super::decode::{decode_column, decodes_cells, Budget, Column};
use super::discovery::{DataFile, Dataset};
use super::ngram::NGramOptions;
use super::pages;
use super::plan::{shuffle, Item, SplitMix64};
use super::predicate::{Filters, Predicate};
use super::values::cell;
use crate::error::{Error, Result};
use crate::storage;

/// A row group that takes longer than this to read and decode is logged at info.
const SLOW_ITEM: Duration = Duration::from_secs(2);

/// What every item reads, and how.
pub struct ReadSpec {
    pub dataset: Arc<Dataset>,
    /// Indices (into the dataset schema) of the batch columns, in their order.
    pub output: Vec<usize>,
    /// Indices of fields that predicates or filters read but the output does not hold.
    pub extra: Vec<usize>,
    pub predicate: Option<Predicate>,
    pub filters: Option<Filters>,
    pub batch_mode: bool,
    /// Output image fields as channel planes (`planar_images`); predicate fields never.
    pub planar_images: bool,
    pub shuffle_rows: bool,
    /// Batches of NGram windows: rows in timestamp order and the window starts.
    pub ngram: Option<NGramOptions>,
    pub verify_page_checksums: bool,
    /// Bytes the tensor columns of one item may decode to.
    pub decode_memory_limit: u64,
    /// Whether a row group that cannot be fetched fails the read or is skipped.
    pub skips: Arc<Skips>,
}

impl ReadSpec {
    /// Reads and decodes `item`; `None` when no row is left (or the row group cannot be
    /// fetched and is skipped). Errors name the file and row group.
    pub fn read(&self, item: &Item, rows_seed: u64, stop: &AtomicBool) -> Result<Option<RecordBatch>> {
        let file = &self.dataset.files[item.file];
        let place = |e: Error| e.context(format_args!("file '{}', row group {}", file.rel, item.row_group));
        let schema = &self.dataset.schema;
        let stored: Vec<&str> = self
            .output
            .iter()
            .chain(&self.extra)
            .map(|&i| schema.fields()[i].name.as_str())
            .filter(|name| file.partition(name).is_none())
            .collect();
        let start = Instant::now();
        let mut fetched = Fetched::default();
        let overlap = self.ngram.as_ref().map_or(0, NGramOptions::part_overlap);
        let cells: Vec<&str> =
            stored.iter().copied().filter(|name| schema.field_by_name(name).is_some_and(decodes_cells)).collect();
        let batch = match fetch(file, item, (&stored, &cells), self.verify_page_checksums, overlap, &mut fetched) {
            Ok(raw) => self.decode(file, raw, rows_seed, stop).map_err(place)?,
            Err(e) => return self.skips.unreadable_row_group(place(e)),
        };
        log_read(file, item, &fetched, batch.as_ref().map_or(0, |b| b.num_rows()), start.elapsed());
        Ok(batch)
    }

    /// Filters and decodes the fetched columns of one item.
    fn decode(
        &self,
        file: &DataFile,
        raw: RecordBatch,
        rows_seed: u64,
        stop: &AtomicBool,
    ) -> Result<Option<RecordBatch>> {
        let schema = &self.dataset.schema;
        let rows = raw.num_rows();
        let raw_column = |index: usize| -> Result<ArrayRef> {
            let field = &schema.fields()[index];
            match file.partition(&field.name) {
                Some(value) => partition_column(&field.name, value, field.dtype, rows),
                None => Ok(Arc::clone(raw.column_by_name(&field.name).expect("fetched"))),
            }
        };

        let mut budget = Budget::new(self.decode_memory_limit);
        // Predicate and filter fields first: decode them, keep the passing rows.
        let mut decoded: Vec<(usize, Column)> = Vec::new();
        let mut names = self.predicate.as_ref().map(|p| p.fields()).unwrap_or_default();
        names.extend(self.filters.as_ref().map(|f| f.columns()).unwrap_or_default());
        for name in &names {
            let index = schema.fields().iter().position(|f| &f.name == name).expect("checked at open");
            decoded.push((
                index,
                decode_column(schema, index, &raw_column(index)?, self.batch_mode, false, &mut budget, stop)?,
            ));
        }
        let mask = self.row_mask(&decoded, rows)?;
        let kept = mask.as_ref().map_or(rows, |m| m.true_count());
        if kept == 0 {
            return Ok(None);
        }
        let select = |array: &ArrayRef| -> Result<ArrayRef> {
            match &mask {
                Some(m) => filter(array.as_ref(), m).map_err(|e| Error::internal(format!("filtering rows: {e}"))),
                None => Ok(Arc::clone(array)),
            }
        };

        let mut columns = Vec::with_capacity(self.output.len());
        for &index in &self.output {
            let column = match decoded.iter().position(|(i, _)| *i == index) {
                Some(at) => {
                    let Column { field, array } = &decoded[at].1;
                    Column { field: Arc::clone(field), array: select(array)? }
                }
                None => decode_column(
                    schema,
                    index,
                    &select(&raw_column(index)?)?,
                    self.batch_mode,
                    self.planar_images,
                    &mut budget,
                    stop,
                )?,
            };
            columns.push(column);
        }
        if let Some(ngram) = &self.ngram {
            return ngram.batch(columns, kept, self.shuffle_rows.then_some(rows_seed));
        }
        let mut arrays: Vec<ArrayRef> = columns.iter().map(|c| Arc::clone(&c.array)).collect();
        if self.shuffle_rows && kept > 1 {
            let mut order: Vec<u32> = (0..kept as u32).collect();
            shuffle(&mut order, &mut SplitMix64::new(rows_seed));
            let indices = UInt32Array::from(order);
            arrays = arrays
                .iter()
                .map(|a| take(a.as_ref(), &indices, None).map_err(|e| Error::internal(format!("shuffling rows: {e}"))))
                .collect::<Result<_>>()?;
        }
        let schema = Arc::new(Schema::new(columns.into_iter().map(|c| c.field).collect::<Vec<_>>()));
        let options = RecordBatchOptions::new().with_row_count(Some(kept));
        RecordBatch::try_new_with_options(schema, arrays, &options)
            .map(Some)
            .map_err(|e| Error::internal(format!("assembling the batch: {e}")))
    }

    /// Which rows pass the predicate and filters (`None`: all of them), from the decoded
    /// columns of their fields.
    fn row_mask(&self, decoded: &[(usize, Column)], rows: usize) -> Result<Option<BooleanArray>> {
        if self.predicate.is_none() && self.filters.is_none() {
            return Ok(None);
        }
        let fields = self.dataset.schema.fields();
        let lookup = |row: usize| {
            move |name: &str| {
                let (_, column) = decoded.iter().find(|(i, _)| fields[*i].name == name).expect("decoded");
                cell(&column.array, row)
            }
        };
        let keep = (0..rows)
            .map(|row| {
                let get = lookup(row);
                let by_predicate = match &self.predicate {
                    Some(p) => p.include(&get)?,
                    None => true,
                };
                Ok(by_predicate && self.filters.as_ref().is_none_or(|f| f.include(&get)))
            })
            .collect::<Result<Vec<bool>>>()?;
        Ok((!keep.iter().all(|k| *k)).then(|| BooleanArray::from(keep)))
    }
}

/// The rows of part `part` of `parts` of a row group of `rows` rows (contiguous, like upstream).
pub fn part_range(rows: usize, part: u32, parts: u32) -> std::ops::Range<usize> {
    let (part, parts) = (part as usize, parts as usize);
    rows * part / parts..rows * (part + 1) / parts
}

/// What one item read from storage.
#[derive(Default)]
struct Fetched {
    rows: usize,
    /// Compressed bytes of the column chunks read.
    bytes: u64,
}

/// A debug record per item read (info when it was slow); `kept` rows are returned.
fn log_read(file: &DataFile, item: &Item, fetched: &Fetched, kept: usize, took: Duration) {
    let level = if took >= SLOW_ITEM { log::Level::Info } else { log::Level::Debug };
    if !log::log_enabled!(level) {
        return;
    }
    let part = match item.parts {
        1 => String::new(),
        parts => format!(" (part {} of {parts})", item.part + 1),
    };
    log::log!(
        level,
        "{}file '{}', row group {}{part}: {} rows read, {kept} kept, {} bytes, {} ms",
        if level == log::Level::Info { "slow row group: " } else { "" },
        file.rel,
        item.row_group,
        fetched.rows,
        fetched.bytes,
        took.as_millis()
    );
}

/// Reads the stored columns `names` of the item's row group (or its part of the rows, plus the
/// `overlap` rows after it), verifying page checksums when asked. Those among `cells` (codec
/// columns) come as `BinaryView`: see [`view_schema`].
fn fetch(
    file: &DataFile,
    item: &Item,
    (names, cells): (&[&str], &[&str]),
    verify_checksums: bool,
    overlap: usize,
    fetched: &mut Fetched,
) -> Result<RecordBatch> {
    let footer = file.footer()?;
    let arrow_schema = footer.schema();
    let mut roots = Vec::with_capacity(names.len());
    for name in names {
        let index = arrow_schema
            .index_of(name)
            .map_err(|_| Error::metadata(format!("field '{name}' has no column in this file")))?;
        roots.push(index);
    }
    let row_groups = footer.metadata().num_row_groups();
    if item.row_group >= row_groups {
        return Err(Error::metadata(format!("the file has {row_groups} row groups")));
    }
    let row_group = footer.metadata().row_group(item.row_group);
    let rows = row_group.num_rows() as usize;
    fetched.bytes = row_group
        .columns()
        .iter()
        .filter(|c| c.column_path().parts().first().is_some_and(|root| names.contains(&root.as_str())))
        .map(|c| c.compressed_size().max(0) as u64)
        .sum();
    let mask = ProjectionMask::roots(footer.parquet_schema(), roots);
    let checked = verify_checksums.then(|| footer.metadata().row_group(item.row_group));
    let mut reader = ChecksumReader::new(file.reader(), checked);
    let schema = view_schema(footer.schema(), cells);
    let (reader, footer, index) = match sliced_pages(&mut reader, footer, &schema, item.row_group, &mask)? {
        Some((fetched, metadata)) => (Box::new(fetched) as Box<dyn AsyncFileReader>, metadata, 0),
        None if Arc::ptr_eq(&schema, footer.schema()) => (Box::new(reader) as _, footer.clone(), item.row_group),
        None => (Box::new(reader) as _, supplied(Arc::clone(footer.metadata()), schema)?, item.row_group),
    };
    let mut builder = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, footer)
        .with_row_groups(vec![index])
        .with_projection(mask)
        .with_batch_size(rows.max(1));
    if item.parts > 1 {
        let range = part_range(rows, item.part, item.parts);
        let range = range.start..(range.end + overlap).min(rows);
        let selection =
            vec![RowSelector::skip(range.start), RowSelector::select(range.len()), RowSelector::skip(rows - range.end)];
        builder = builder.with_row_selection(RowSelection::from(selection)).with_batch_size(range.len().max(1));
    }
    let stream = builder.build().map_err(read_error)?;
    let projected = Arc::clone(stream.schema());
    let batches: Vec<RecordBatch> = storage::block_on(stream.try_collect()).map_err(read_error)?;
    fetched.rows = batches.iter().map(RecordBatch::num_rows).sum();
    if batches.len() == 1 {
        return Ok(batches.into_iter().next().expect("one batch"));
    }
    concat_batches(&projected, &batches).map_err(|e| Error::internal(format!("concatenating batches: {e}")))
}

/// The projected column chunks of row group `index`, fetched through `reader`, and `footer`
/// narrowed to that row group with the page locations found in them (see [`pages`]), read as
/// `schema`, when the file has no offset index and no projected column is repeated; else `None`.
fn sliced_pages(
    reader: &mut ChecksumReader,
    footer: &ArrowReaderMetadata,
    schema: &SchemaRef,
    index: usize,
    mask: &ProjectionMask,
) -> Result<Option<(pages::Fetched, ArrowReaderMetadata)>> {
    let metadata = footer.metadata();
    let row_group = metadata.row_group(index);
    let leaves: Vec<usize> = (0..row_group.num_columns()).filter(|&i| mask.leaf_included(i)).collect();
    let repeated = leaves.iter().any(|&i| row_group.column(i).column_descr().max_rep_level() > 0);
    if metadata.offset_index().is_some() || repeated || leaves.is_empty() {
        return Ok(None);
    }
    let ranges: Vec<Range<u64>> = leaves
        .iter()
        .map(|&i| {
            let (start, len) = row_group.column(i).byte_range();
            start..start.saturating_add(len)
        })
        .collect();
    let chunks = storage::block_on(reader.get_byte_ranges(ranges.clone())).map_err(read_error)?;
    let Some(narrowed) = pages::with_page_locations(metadata, row_group, &leaves, &chunks) else {
        return Ok(None);
    };
    let narrowed = supplied(Arc::new(narrowed), Arc::clone(schema))?;
    Ok(Some((pages::Fetched::new(ranges.into_iter().zip(chunks).collect()), narrowed)))
}

/// `metadata` read as `schema` (the footer's Arrow schema with some column types changed).
fn supplied(metadata: Arc<ParquetMetaData>, schema: SchemaRef) -> Result<ArrowReaderMetadata> {
    ArrowReaderMetadata::try_new(metadata, ArrowReaderOptions::new().with_schema(schema)).map_err(read_error)
}

/// `schema` with the `Binary` columns among `names` (codec columns) typed `BinaryView`: each
/// cell stays in the decompressed page it was stored in (plain pages) or in the decoded
/// dictionary page (dictionary-encoded ones), where a `Binary` column copies every cell into one
/// growing buffer, and a dictionary-typed one, on a chunk that fell back to plain pages, copies
/// the cells out and hashes them back into a dictionary. `schema` itself when there is no such column.
fn view_schema(schema: &SchemaRef, names: &[&str]) -> SchemaRef {
    let chosen = |f: &FieldRef| f.data_type() == &DataType::Binary && names.contains(&f.name().as_str());
    if !schema.fields().iter().any(chosen) {
        return Arc::clone(schema);
    }
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .map(|f| match chosen(f) {
            true => Arc::new(f.as_ref().clone().with_data_type(DataType::BinaryView)),
            false => Arc::clone(f),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// A partition key as a column: the directory value, typed as the field declares.
fn partition_column(name: &str, value: &str, dtype: crate::schema::FieldDType, rows: usize) -> Result<ArrayRef> {
    let strings: ArrayRef = Arc::new(StringArray::from(vec![value; rows]));
    let target = match super::decode::arrow_type(dtype) {
        Some(t) if t != DataType::Utf8 => t,
        _ => return Ok(strings),
    };
    if value == "__HIVE_DEFAULT_PARTITION__" {
        return Ok(new_null_array(&target, rows));
    }
    let options = arrow::compute::CastOptions { safe: false, ..Default::default() };
    arrow::compute::cast_with_options(&strings, &target, &options)
        .map_err(|e| Error::decode(format!("field '{name}': partition value '{value}' is not a {}: {e}", dtype.name())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_columns_are_read_as_views_of_their_pages() {
        use arrow::array::{Array, AsArray, BinaryArray, Int32Array};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::arrow::ArrowWriter;
        use parquet::basic::Encoding;
        use parquet::file::properties::WriterProperties;

        let cells: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 100 + i as usize]).collect();
        let batch = RecordBatch::try_from_iter([
            ("b", Arc::new(BinaryArray::from_iter_values(&cells)) as ArrayRef),
            ("i", Arc::new(Int32Array::from_iter_values(0..64)) as ArrayRef),
        ])
        .unwrap();
        // Dictionary pages falling back to plain ones after 2 KiB, as pyarrow writes large cells.
        let props = WriterProperties::builder().set_dictionary_page_size_limit(2048).set_data_page_row_count_limit(8);
        let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props.build())).unwrap();
        writer.write(&batch).unwrap();
        let file = bytes::Bytes::from(writer.into_inner().unwrap());
        let footer = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).unwrap();
        let encodings = footer.metadata().row_group(0).column(0).encodings().to_vec();
        assert!(encodings.contains(&Encoding::RLE_DICTIONARY) && encodings.contains(&Encoding::PLAIN), "{encodings:?}");

        let schema = view_schema(footer.schema(), &["b"]);
        assert!(!Arc::ptr_eq(&schema, footer.schema()), "b is binary");
        let read = supplied(Arc::clone(footer.metadata()), schema).unwrap();
        let types: Vec<&DataType> = read.schema().fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(types, [&DataType::BinaryView, &DataType::Int32]);
        let got = ParquetRecordBatchReaderBuilder::new_with_metadata(file, read).build().unwrap().next().unwrap();
        let views = got.unwrap().column(0).as_binary_view().clone();
        assert_eq!(views.iter().map(|c| c.unwrap().to_vec()).collect::<Vec<_>>(), cells);
        assert!(Arc::ptr_eq(&view_schema(footer.schema(), &["i"]), footer.schema()), "not binary");
        assert!(Arc::ptr_eq(&view_schema(footer.schema(), &[]), footer.schema()), "no codec column");
        assert!(views.len() == 64 && views.null_count() == 0);
    }

    #[test]
    fn parts_cover_the_rows() {
        let ranges: Vec<_> = (0..3).map(|p| part_range(10, p, 3)).collect();
        assert_eq!(ranges, vec![0..3, 3..6, 6..10]);
        assert_eq!(part_range(2, 2, 3), 1..2);
    }
}
