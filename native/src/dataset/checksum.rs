//! Page checksums. A Parquet page header may carry a CRC-32 of the page's stored (compressed)
//! bytes; parquet-mr (Spark) and pyarrow (`write_page_checksum=True`) write one. The reader
//! fetches column chunks through [`ChecksumReader`], which checks every page of each whole
//! chunk it fetches before parquet-rs decodes it, so a flipped byte is a `Decode` error naming
//! the column (the caller adds file and row group) instead of silently different data.
//! parquet-rs 56 only checks CRCs behind its `crc` feature, as an unnamed "general" error.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetObjectReader};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};

use super::discovery::parquet_error;
use super::thrift::{Compact, I32};
use crate::error::{Error, Result};

/// An async file reader that verifies the page checksums of the column chunks it fetches.
pub struct ChecksumReader {
    inner: ParquetObjectReader,
    /// Byte range and column path of each column chunk of the row group being read.
    chunks: Vec<(Range<u64>, String)>,
}

impl ChecksumReader {
    /// Checks the chunks of `row_group` (fetches of other ranges pass through unchecked);
    /// `None` checks nothing.
    pub fn new(inner: ParquetObjectReader, row_group: Option<&RowGroupMetaData>) -> Self {
        let chunks = row_group
            .map_or(&[][..], |g| g.columns())
            .iter()
            .map(|c| {
                let (start, len) = c.byte_range();
                (start..start.saturating_add(len), c.column_path().string())
            })
            .collect();
        ChecksumReader { inner, chunks }
    }

    fn verify(&self, range: &Range<u64>, bytes: &Bytes) -> parquet::errors::Result<()> {
        match self.chunks.iter().find(|(r, _)| r == range) {
            Some((_, column)) => verify_pages(bytes, column).map_err(|e| ParquetError::External(Box::new(e))),
            None => Ok(()),
        }
    }
}

impl AsyncFileReader for ChecksumReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            let bytes = self.inner.get_bytes(range.clone()).await?;
            self.verify(&range, &bytes)?;
            Ok(bytes)
        }
        .boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let fetched = self.inner.get_byte_ranges(ranges.clone()).await?;
            for (range, bytes) in ranges.iter().zip(&fetched) {
                self.verify(range, bytes)?;
            }
            Ok(fetched)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        self.inner.get_metadata(options)
    }
}

/// Our error when a read failed on a page checksum, else [`parquet_error`]'s mapping.
pub fn read_error(e: ParquetError) -> Error {
    match e {
        ParquetError::External(inner) => match inner.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => parquet_error(ParquetError::External(other)),
        },
        e => parquet_error(e),
    }
}

/// Walks the pages of one column chunk and checks each page's CRC where its header has one.
pub fn verify_pages(chunk: &[u8], column: &str) -> Result<()> {
    let mut pos = 0;
    let mut page = 0;
    while pos < chunk.len() {
        let mut header = Compact::new(&chunk[pos..], "page header", Error::decode);
        let (size, crc) =
            page_header(&mut header).map_err(|e| e.context(format_args!("column '{column}': page {page}")))?;
        let start = pos + header.pos;
        let end = start.checked_add(size).filter(|&end| end <= chunk.len()).ok_or_else(|| {
            Error::decode(format!("column '{column}': page {page}: the page runs past its column chunk"))
        })?;
        if let Some(stored) = crc {
            let computed = crc32(&chunk[start..end]);
            if computed != stored {
                return Err(Error::decode(format!(
                    "column '{column}': page {page}: checksum mismatch (the page header says CRC {stored:08x}, \
                     the page's bytes give {computed:08x}): the file is corrupt"
                )));
            }
        }
        pos = end;
        page += 1;
    }
    Ok(())
}

/// `(compressed_page_size, crc)` of a thrift `PageHeader` (fields 3 and 4).
fn page_header(r: &mut Compact<'_>) -> Result<(usize, Option<u32>)> {
    let (mut size, mut crc, mut last) = (None, None, 0);
    while let Some((id, ty)) = r.field_header(&mut last)? {
        match (id, ty) {
            (3, I32) => size = Some(usize::try_from(r.i32()?).map_err(|_| r.corrupt("negative page size"))?),
            (4, I32) => crc = Some(r.i32()? as u32),
            _ => r.skip(ty, 1)?,
        }
    }
    Ok((size.ok_or_else(|| r.corrupt("no compressed_page_size"))?, crc))
}

/// CRC-32 (IEEE, as zlib and Parquet use), slicing by 8 bytes.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        crc = CRC_TABLES[7][(lo & 0xff) as usize]
            ^ CRC_TABLES[6][((lo >> 8) & 0xff) as usize]
            ^ CRC_TABLES[5][((lo >> 16) & 0xff) as usize]
            ^ CRC_TABLES[4][(lo >> 24) as usize]
            ^ CRC_TABLES[3][c[4] as usize]
            ^ CRC_TABLES[2][c[5] as usize]
            ^ CRC_TABLES[1][c[6] as usize]
            ^ CRC_TABLES[0][c[7] as usize];
    }
    for &b in chunks.remainder() {
        crc = CRC_TABLES[0][((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// `CRC_TABLES[k][b]`: the CRC of byte `b` followed by `k` zero bytes.
static CRC_TABLES: [[u32; 256]; 8] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = t[0][(prev & 0xff) as usize] ^ (prev >> 8);
            i += 1;
        }
        k += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        let long: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let bytewise = long.iter().fold(!0u32, |c, &b| CRC_TABLES[0][((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8));
        assert_eq!(crc32(&long), !bytewise);
    }

    /// A page header (type 0, sizes `size`, optional crc) followed by `body`.
    fn page(body: &[u8], crc: Option<u32>) -> Vec<u8> {
        let zigzag = |v: i32| ((v << 1) ^ (v >> 31)) as u32;
        let varint = |mut v: u32, out: &mut Vec<u8>| loop {
            if v < 0x80 {
                out.push(v as u8);
                break;
            }
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        };
        let mut out = vec![0x15, 0]; // field 1, i32: type 0
        for _ in 0..2 {
            out.push(0x15); // fields 2 and 3: the sizes
            varint(zigzag(body.len() as i32), &mut out);
        }
        if let Some(crc) = crc {
            out.push(0x15);
            varint(zigzag(crc as i32), &mut out);
        }
        out.push(0);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn pages_with_a_good_crc_or_none_pass_and_a_flipped_byte_fails() {
        let body = b"some page bytes";
        let mut chunk = page(body, Some(crc32(body)));
        chunk.extend(page(b"no crc here", None));
        verify_pages(&chunk, "c").unwrap();
        let at = chunk.len() - 30;
        chunk[at] ^= 1;
        let e = verify_pages(&chunk, "image").unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Decode);
        assert!(e.message().starts_with("column 'image': page 0: checksum mismatch"), "{e}");
    }

    #[test]
    fn truncated_chunks_are_decode_errors_not_panics() {
        let chunk = page(b"0123456789", Some(crc32(b"0123456789")));
        for end in 1..chunk.len() {
            let e = verify_pages(&chunk[..end], "c").unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Decode, "{e}");
        }
    }
}
