//! Reading a row group from its column chunks fetched up front, with page locations found by
//! walking the page headers: given an offset index, the `parquet` crate slices each page out of
//! the fetched chunk, where without one it copies every compressed page into a fresh, zeroed
//! buffer first (a copy and a memset of every stored byte, before decompression's own).

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataBuilder, RowGroupMetaData};
use parquet::file::page_index::offset_index::OffsetIndexMetaData;
use parquet::format::PageLocation;

use super::thrift::{Compact, I32, STRUCT};
use crate::error::Error;

// Parquet `PageType`s.
const DATA_PAGE: i32 = 0;
const DICTIONARY_PAGE: i32 = 2;
const DATA_PAGE_V2: i32 = 3;

/// Column chunks of one row group, fetched: serves any byte range inside one of them as a slice.
pub struct Fetched {
    chunks: Vec<(Range<u64>, Bytes)>,
}

impl Fetched {
    pub fn new(chunks: Vec<(Range<u64>, Bytes)>) -> Self {
        Fetched { chunks }
    }

    fn slice(&self, range: &Range<u64>) -> parquet::errors::Result<Bytes> {
        self.chunks
            .iter()
            .find(|(r, _)| r.start <= range.start && range.end <= r.end)
            .map(|(r, bytes)| bytes.slice((range.start - r.start) as usize..(range.end - r.start) as usize))
            .ok_or_else(|| parquet::errors::ParquetError::General(format!("bytes {range:?} were not fetched")))
    }
}

impl AsyncFileReader for Fetched {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let bytes = self.slice(&range);
        async move { bytes }.boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        let bytes = ranges.iter().map(|r| self.slice(r)).collect();
        async move { bytes }.boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async { Err(parquet::errors::ParquetError::General("the footer is read separately".into())) }.boxed()
    }
}

/// `row_group` alone, as the metadata of a file of one row group, with the offset index of the
/// columns `leaves` (leaf column indices; their fetched chunks in `fetched`, in that order)
/// found from their page headers. `None` when a chunk holds anything but a dictionary page then
/// data pages, or a page header cannot be read: the caller reads as usual (and the `parquet`
/// crate reports what is wrong).
pub fn with_page_locations(
    footer: &ParquetMetaData,
    row_group: &RowGroupMetaData,
    leaves: &[usize],
    fetched: &[Bytes],
) -> Option<ParquetMetaData> {
    let mut index = vec![
        OffsetIndexMetaData { page_locations: Vec::new(), unencoded_byte_array_data_bytes: None };
        row_group.num_columns()
    ];
    for (&leaf, chunk) in leaves.iter().zip(fetched) {
        let start = row_group.column(leaf).byte_range().0;
        index[leaf].page_locations = page_locations(chunk, start)?;
    }
    let builder = ParquetMetaDataBuilder::new(footer.file_metadata().clone()).add_row_group(row_group.clone());
    Some(builder.set_offset_index(Some(vec![index])).build())
}

/// The data pages of a column chunk starting at file offset `start` (an optional dictionary
/// page first, then data pages; never a repeated column: rows are values), or `None`.
fn page_locations(chunk: &[u8], start: u64) -> Option<Vec<PageLocation>> {
    let mut locations = Vec::new();
    let (mut pos, mut rows) = (0usize, 0i64);
    while pos < chunk.len() {
        let mut r = Compact::new(&chunk[pos..], "page header", Error::decode);
        let (kind, size, values) = page_header(&mut r).ok()?;
        let len = r.pos.checked_add(size)?;
        match (kind, values) {
            (DICTIONARY_PAGE, _) if pos == 0 => {}
            (DATA_PAGE | DATA_PAGE_V2, Some(values)) => {
                let offset = i64::try_from(start.checked_add(pos as u64)?).ok()?;
                locations.push(PageLocation {
                    offset,
                    compressed_page_size: i32::try_from(len).ok()?,
                    first_row_index: rows,
                });
                rows = rows.checked_add(values)?;
            }
            _ => return None,
        }
        pos = pos.checked_add(len).filter(|&end| end <= chunk.len())?;
    }
    Some(locations)
}

/// `(type, compressed_page_size, num_values of its data page header)` of a thrift `PageHeader`.
fn page_header(r: &mut Compact<'_>) -> crate::error::Result<(i32, usize, Option<i64>)> {
    let (mut kind, mut size, mut values, mut last) = (None, None, None, 0);
    while let Some((id, ty)) = r.field_header(&mut last)? {
        match (id, ty) {
            (1, I32) => kind = Some(r.i32()?),
            (3, I32) => size = usize::try_from(r.i32()?).ok(),
            // DataPageHeader and DataPageHeaderV2 both start with num_values (field 1).
            (5 | 8, STRUCT) => values = Some(num_values(r)?),
            _ => r.skip(ty, 1)?,
        }
    }
    match (kind, size) {
        (Some(kind), Some(size)) => Ok((kind, size, values)),
        _ => Err(r.corrupt("no type or compressed_page_size")),
    }
}

/// Field 1 (`num_values`) of a data page header struct, the rest skipped.
fn num_values(r: &mut Compact<'_>) -> crate::error::Result<i64> {
    let (mut values, mut last) = (None, 0);
    while let Some((id, ty)) = r.field_header(&mut last)? {
        match (id, ty) {
            (1, I32) => values = Some(i64::from(r.i32()?)),
            _ => r.skip(ty, 2)?,
        }
    }
    values.ok_or_else(|| r.corrupt("no num_values"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, BinaryArray, Int64Array};
    use arrow::record_batch::RecordBatch;
    use futures::TryStreamExt;
    use parquet::arrow::arrow_reader::ArrowReaderMetadata;
    use parquet::arrow::{ArrowWriter, ParquetRecordBatchStreamBuilder};
    use parquet::file::properties::WriterProperties;

    /// A file of two row groups with small pages, a binary column falling back from
    /// dictionary to plain pages and a column with nulls; the writer's own offset index.
    fn file() -> (Bytes, RecordBatch) {
        let cells: Vec<Option<Vec<u8>>> = (0..300u32).map(|i| (i % 7 != 3).then(|| vec![i as u8; 50])).collect();
        let batch = RecordBatch::try_from_iter([
            ("b", Arc::new(cells.iter().map(|c| c.as_deref()).collect::<BinaryArray>()) as ArrayRef),
            ("i", Arc::new(Int64Array::from_iter_values(0..300)) as ArrayRef),
        ])
        .unwrap();
        let props = WriterProperties::builder()
            .set_dictionary_page_size_limit(1024)
            .set_data_page_row_count_limit(16)
            .set_write_batch_size(16)
            .set_max_row_group_size(200)
            .build();
        let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        (Bytes::from(writer.into_inner().unwrap()), batch)
    }

    #[test]
    fn page_locations_match_the_writers_offset_index() {
        let (file, _) = file();
        let options = ArrowReaderOptions::new().with_page_index(true);
        let written = ArrowReaderMetadata::load(&file, options).unwrap();
        let index = written.metadata().offset_index().expect("the writer's offset index");
        let mut pages = 0;
        for (g, group) in written.metadata().row_groups().iter().enumerate() {
            for (c, column) in group.columns().iter().enumerate() {
                let (start, len) = column.byte_range();
                let chunk = &file[start as usize..(start + len) as usize];
                let found = page_locations(chunk, start).expect("pages found");
                assert_eq!(found, index[g][c].page_locations, "row group {g}, column {c}");
                pages += found.len();
                assert!(page_locations(&chunk[..chunk.len() - 1], start).is_none(), "a truncated chunk");
            }
        }
        assert!(pages > 8, "small pages: {pages}");
    }

    #[test]
    fn a_row_group_reads_the_same_from_its_sliced_pages() {
        let (file, batch) = file();
        let footer = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).unwrap();
        assert!(footer.metadata().offset_index().is_none());
        let group = footer.metadata().row_group(1);
        let chunks: Vec<Bytes> = (0..2)
            .map(|c| {
                let (start, len) = group.column(c).byte_range();
                file.slice(start as usize..(start + len) as usize)
            })
            .collect();
        let narrowed = with_page_locations(footer.metadata(), group, &[0, 1], &chunks).expect("flat columns");
        assert_eq!(narrowed.num_row_groups(), 1);
        let metadata = ArrowReaderMetadata::try_new(Arc::new(narrowed), ArrowReaderOptions::new()).unwrap();
        // Row group 0 of the narrowed metadata is the file's second one, its pages sliced out of
        // the fetched chunks (no other byte of the file is there to read).
        let ranges = (0..2).map(|c| {
            let (start, len) = group.column(c).byte_range();
            start..start + len
        });
        let fetched = Fetched::new(ranges.zip(chunks).collect());
        let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(fetched, metadata).build().unwrap();
        let got: Vec<RecordBatch> = crate::storage::block_on(stream.try_collect()).unwrap();
        let got = arrow::compute::concat_batches(&batch.schema(), &got).unwrap();
        assert_eq!(got, batch.slice(200, 100));
    }
}
