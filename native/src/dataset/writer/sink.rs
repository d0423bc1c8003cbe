//! Where a part file's bytes go: chunks the caller drains, or a local file.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

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

    /// The oldest chunk not yet taken; empty when there is none (always, for a file).
    pub fn take_chunk(&mut self) -> Vec<u8> {
        match self {
            Sink::Chunks(chunks) => chunks.pop_front().unwrap_or_default(),
            Sink::File(_) => Vec::new(),
        }
    }

    /// Flushes a file sink to the operating system (nothing for chunks).
    pub(super) fn flush_file(&mut self) -> Result<()> {
        self.flush().map_err(|e| Error::io(format!("writing Parquet: {e}")))
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::File(f) => f.write(buf),
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
            Sink::Chunks(_) => Ok(()),
        }
    }
}
