//! Compressed ndarrays: a zip as `numpy.savez_compressed(buf, arr=value)` writes it.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::{npy, Expect, Tensor, TensorRef};
use crate::error::{Error, Result};

/// The member name `numpy.savez_compressed(buf, arr=value)` uses.
const MEMBER: &str = "arr.npy";
/// Room for the NPY header on top of the data when the field fixes the data size.
const HEADER_SLACK: usize = 64 << 10;
/// Cap on a member's size when the field does not fix it.
const UNBOUNDED_LIMIT: usize = 1 << 30;
/// Deflate cannot expand data by more than about 1032×; bounds the up-front allocation.
const MAX_DEFLATE_RATIO: usize = 1032;

/// Encodes `t` as a zip with one deflated member `arr.npy`.
pub fn encode(t: &TensorRef) -> Result<Vec<u8>> {
    let npy = npy::encode(t)?;
    let zip_error = |e: zip::result::ZipError| Error::internal(format!("writing NPZ: {e}"));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(npy.len() as u64 >= u64::from(u32::MAX));
    let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(npy.len() / 2 + 256)));
    writer.start_file(MEMBER, options).map_err(zip_error)?;
    writer.write_all(&npy)?;
    Ok(writer.finish().map_err(zip_error)?.into_inner())
}

/// Decodes the `arr` member (or the only member) of an NPZ archive.
///
/// The member's declared uncompressed size is checked against what `expect` allows before
/// anything is read (exactly the data size plus header room when the field fixes dtype and
/// shape, 1 GiB otherwise), and reading stops at that limit whatever the zip claims.
pub fn decode(bytes: &[u8], expect: &Expect) -> Result<Tensor> {
    let corrupt = |e: zip::result::ZipError| Error::decode(format!("invalid NPZ (zip) data: {e}"));
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    let index = match (archive.index_for_name(MEMBER), archive.len()) {
        (Some(index), _) => index,
        (None, 1) => 0,
        (None, n) => {
            let names: Vec<&str> = archive.file_names().take(10).collect();
            return Err(Error::decode(format!("NPZ has {n} members and none is '{MEMBER}': {names:?}")));
        }
    };
    let limit = expect.fixed_byte_len().map_or(UNBOUNDED_LIMIT, |n| n.saturating_add(HEADER_SLACK));
    let member = archive.by_index(index).map_err(corrupt)?;
    let declared = usize::try_from(member.size()).unwrap_or(usize::MAX);
    if declared > limit {
        return Err(Error::decode(format!(
            "NPZ member '{}' declares {declared} bytes, more than the {limit} the field allows",
            member.name()
        )));
    }
    let bound = bytes.len().saturating_mul(MAX_DEFLATE_RATIO).saturating_add(1024);
    let mut npy = Vec::with_capacity(declared.min(bound));
    // Reading one byte past the limit tells an oversized member apart, and reading to the
    // end of the member lets the zip reader verify the CRC.
    member
        .take(limit as u64 + 1)
        .read_to_end(&mut npy)
        .map_err(|e| Error::decode(format!("invalid NPZ (zip) data: {e}")))?;
    if npy.len() > limit {
        return Err(Error::decode(format!("NPZ member holds more than the {limit} bytes the field allows")));
    }
    npy::decode(&npy, expect)
}

/// The data size announced by the NPY header inside an NPZ archive, for memory budgets: only
/// that header is inflated (a header longer than the slack a field allows counts as unknown).
/// `None` when it cannot be read (decoding then reports why).
pub fn announced_len(bytes: &[u8]) -> Option<usize> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).ok()?;
    let index = archive.index_for_name(MEMBER).or((archive.len() == 1).then_some(0))?;
    let mut member = archive.by_index(index).ok()?.take(HEADER_SLACK as u64);
    let mut prefix = vec![0; npy::PREAMBLE_MAX];
    member.read_exact(&mut prefix).ok()?;
    let end = npy::header_end(&prefix)?;
    member.take(end.saturating_sub(prefix.len()) as u64).read_to_end(&mut prefix).ok()?;
    npy::announced_len(&prefix)
}
