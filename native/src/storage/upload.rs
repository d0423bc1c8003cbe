//! Writing one object of unknown size as a multipart upload from synchronous code (the part-file
//! writer): bytes are buffered into parts, each uploaded when full; the object appears only when
//! [`Upload::complete`] succeeds, and an upload dropped before that is aborted.

use std::io::{self, Write};

use object_store::{MultipartUpload, PutPayload};

use super::{block_on, Location};
use crate::error::{Error, Result};

/// Bytes per uploaded part (S3 needs at least 5 MiB for every part but the last).
pub const PART_BYTES: usize = 16 << 20;

/// An object being written (see the module doc).
pub struct Upload {
    location: Location,
    upload: Option<Box<dyn MultipartUpload>>,
    buffer: Vec<u8>,
    parts: usize,
}

impl Upload {
    /// Starts the upload of the object at `location`.
    pub fn start(location: Location) -> Result<Upload> {
        let upload = block_on(location.store.put_multipart(&location.path))
            .map_err(|e| Error::io(format!("starting the upload of '{}': {e}", location.url)))?;
        Ok(Upload { location, upload: Some(upload), buffer: Vec::with_capacity(PART_BYTES), parts: 0 })
    }

    fn send_part(&mut self) -> io::Result<()> {
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_BYTES));
        let upload = self.upload.as_mut().ok_or_else(|| io::Error::other("the upload is finished"))?;
        let part = upload.put_part(PutPayload::from(data));
        self.parts += 1;
        block_on(part).map_err(|e| io::Error::other(format!("uploading a part of '{}': {e}", self.location.url)))
    }

    /// Uploads what is buffered and completes the upload: the object is visible from now on.
    pub fn complete(&mut self) -> Result<()> {
        if !self.buffer.is_empty() || self.parts == 0 {
            self.send_part().map_err(|e| Error::io(e.to_string()))?;
        }
        let mut upload = self.upload.take().ok_or_else(|| Error::io("the upload is finished"))?;
        block_on(upload.complete())
            .map(drop)
            .map_err(|e| Error::io(format!("completing the upload of '{}': {e}", self.location.url)))
    }
}

impl Write for Upload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= PART_BYTES {
            self.send_part()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            if let Err(e) = block_on(upload.abort()) {
                log::warn!("aborting the upload of '{}': {e}", self.location.url);
            }
        }
    }
}
