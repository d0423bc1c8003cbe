//! Where a part file's bytes go: chunks the caller drains, a local file, or an object store upload.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::storage::{self, Family, Upload};

/// Chunks are allocated with this capacity (a row group of hundreds of MiB is handed out in
/// pieces of about this size, never as one buffer).
const CHUNK_BYTES: usize = 4 << 20;
/// A local file is written in pieces of this size (parquet-rs writes through an 8 KiB buffer).
const FILE_BUFFER_BYTES: usize = 1 << 20;

/// The output of a [`PartWriter`](super::PartWriter).
pub enum Sink {
    /// Bytes not yet taken, oldest first.
    Chunks(VecDeque<Vec<u8>>),
    File(BufWriter<File>),
    /// Visible in the store once the writer finished (an unfinished upload is aborted).
    Store(Upload),
}

impl Sink {
    pub fn chunks() -> Sink {
        Sink::Chunks(VecDeque::new())
    }

    /// A new file at `path` (an `Io` error naming it when it cannot be created).
    pub fn file(path: &Path) -> Result<Sink> {
        let file = File::create(path).map_err(|e| Error::io(format!("cannot create '{}': {e}", path.display())))?;
        Ok(Sink::File(BufWriter::with_capacity(FILE_BUFFER_BYTES, file)))
    }

    /// A new file at `url` on any store: a local file (its directory created), else an upload.
    pub fn at(url: &str, storage_options: &[(String, String)]) -> Result<Sink> {
        let location = storage::open(url, storage_options)?;
        if location.family != Family::Local {
            return Ok(Sink::Store(Upload::start(location)?));
        }
        let (_, parsed) = storage::canonical(url)?;
        let path = parsed.to_file_path().map_err(|()| Error::value(format!("'{url}' is not a local path")))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("cannot create '{}': {e}", parent.display())))?;
        }
        Sink::file(&path)
    }

    /// The oldest chunk not yet taken; empty when there is none (always, for a file).
    pub fn take_chunk(&mut self) -> Vec<u8> {
        match self {
            Sink::Chunks(chunks) => chunks.pop_front().unwrap_or_default(),
            Sink::File(_) | Sink::Store(_) => Vec::new(),
        }
    }

    /// Flushes a file sink to the operating system and completes an upload (nothing for chunks).
    pub(super) fn finish_output(&mut self) -> Result<()> {
        match self {
            Sink::Store(upload) => upload.complete(),
            _ => self.flush().map_err(|e| Error::io(format!("writing Parquet: {e}"))),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::File(f) => f.write(buf),
            Sink::Store(upload) => upload.write(buf),
            Sink::Chunks(chunks) => {
                match chunks.back_mut() {
                    Some(last) if last.capacity() - last.len() >= buf.len() => last.extend_from_slice(buf),
                    _ => {
                        let mut chunk = Vec::with_capacity(CHUNK_BYTES.max(buf.len()));
                        chunk.extend_from_slice(buf);
                        chunks.push_back(chunk);
                    }
                }
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::File(f) => f.flush(),
            Sink::Store(_) | Sink::Chunks(_) => Ok(()),
        }
    }
}
