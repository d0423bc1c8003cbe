//! A store wrapper that counts the read requests a reader makes and the bytes they return, for
//! `Reader.diagnostics` (`io_requests`, `io_bytes`, and `cache_hits`/`cache_misses` of the
//! local-disk cache) and the remote-read benchmark.

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{GetOptions, GetResult, ObjectMeta, ObjectStore, Result};

/// Read requests and bytes returned, shared by the stores of one reader.
#[derive(Debug, Default)]
pub struct IoStats {
    requests: AtomicU64,
    bytes: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
}

impl IoStats {
    /// `(requests, bytes)` so far.
    pub fn snapshot(&self) -> (u64, u64) {
        (self.requests.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed))
    }

    /// `(hits, misses)` of the local-disk cache so far.
    pub fn cache_snapshot(&self) -> (u64, u64) {
        (self.cache_hits.load(Ordering::Relaxed), self.cache_misses.load(Ordering::Relaxed))
    }

    pub(super) fn add_cache(&self, hit: bool) {
        let counter = if hit { &self.cache_hits } else { &self.cache_misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn add(&self, requests: u64, bytes: u64) {
        self.requests.fetch_add(requests, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// `inner`, counting into `stats`. Ranged reads of remote stores go through `get_opts` (one
/// request each, after object_store's default coalescing of nearby ranges); local stores keep
/// their own `get_ranges`, counted per range.
pub struct Counted {
    inner: Arc<dyn ObjectStore>,
    stats: Arc<IoStats>,
    local: bool,
}

impl Counted {
    pub fn new(inner: Arc<dyn ObjectStore>, stats: Arc<IoStats>, local: bool) -> Self {
        Counted { inner, stats, local }
    }
}

impl fmt::Debug for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counted({})", self.inner)
    }
}

impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

wrapping_store!(Counted {
    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let result = self.inner.get_opts(location, options).await?;
        self.stats.add(1, result.range.end - result.range.start);
        Ok(result)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        if !self.local {
            return object_store::coalesce_ranges(
                ranges,
                |r| self.get_range(location, r),
                object_store::OBJECT_STORE_COALESCE_DEFAULT,
            )
            .await;
        }
        let out = self.inner.get_ranges(location, ranges).await?;
        self.stats.add(out.len() as u64, out.iter().map(|b| b.len() as u64).sum());
        Ok(out)
    }

    async fn head(&self, location: &Path) -> Result<ObjectMeta> {
        self.inner.head(location).await
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.stats.add(1, 0);
        self.inner.list(prefix)
    }
});
