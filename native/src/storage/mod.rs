//! The storage layer: dataset URLs → object stores (local files, S3, GCS, Azure, HTTP(S), HDFS),
//! credentials and endpoints from the environment and `storage_options`, bounded retries, and
//! the file operations both bindings call (list, read, atomic write, recursive delete).
//!
//! Stores are built once per (scheme, authority, options) and shared by every reader of the
//! process; the cache and the tokio runtime that drives their I/O are rebuilt after a `fork()`.

#[macro_use]
mod wrapper;
mod counted;
mod disk_cache;
mod options;
mod registry;
mod upload;
mod url;

use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, PutPayload};
use tokio::runtime::Runtime;

pub use self::counted::IoStats;
pub use self::disk_cache::CacheSettings;
pub use self::options::{
    translate, StoreSettings, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_RETRY_TIMEOUT, DEFAULT_TIMEOUT,
};
pub use self::upload::Upload;
pub use self::url::{canonical, existing_dir_url, normalize_dir_url, Family};
use crate::error::{Error, Result};

/// A location in a store: the store, the path of the URL inside it, and the URL as given.
#[derive(Clone)]
pub struct Location {
    pub store: Arc<dyn ObjectStore>,
    pub path: Path,
    /// The URL as given, for messages.
    pub url: String,
    pub family: Family,
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({})", self.url)
    }
}

impl Location {
    /// The location of `name` inside this (directory) location.
    pub fn child(&self, name: &str) -> Location {
        let path = Path::from_iter(self.path.parts().chain(std::iter::once(name.into())));
        let url = format!("{}/{name}", self.url.trim_end_matches('/'));
        Location { store: Arc::clone(&self.store), path, url, family: self.family }
    }

    /// The location of `rel` (a `/`-separated relative path) inside this (directory) location.
    pub fn join(&self, rel: &str) -> Location {
        rel.split('/').filter(|p| !p.is_empty()).fold(self.clone(), |l, part| l.child(part))
    }

    fn io(&self, action: &str, e: object_store::Error) -> Error {
        Error::io(format!("{action} '{}': {e}", self.url))
    }
}

/// Parses a URL (or a plain local path) into its store and path; see [`canonical`] for the URL
/// forms and [`translate`] for `storage_options`.
pub fn open(url: &str, storage_options: &[(String, String)]) -> Result<Location> {
    let (family, parsed) = canonical(url)?;
    let (store, path) = registry::store_for(family, &parsed, storage_options)
        .map_err(|e| e.context(format_args!("opening '{url}'")))?;
    Ok(Location { store, path, url: url.to_string(), family })
}

/// `location` with its reads counted into `stats`.
pub fn counted(location: Location, stats: &Arc<IoStats>) -> Location {
    let local = location.family == Family::Local;
    let store = Arc::new(counted::Counted::new(location.store, Arc::clone(stats), local));
    Location { store, ..location }
}

/// `location` with whole objects read through a local-disk cache (hits and misses counted
/// into `stats`); wrap a [`counted`] location so `stats` counts only the source's reads.
pub fn disk_cached(location: Location, settings: &CacheSettings, stats: &Arc<IoStats>) -> Result<Location> {
    let (_, url) = canonical(&location.url)?;
    let origin = format!("{}://{}", url.scheme(), url.authority());
    let cache = disk_cache::DiskCache::new(location.store, origin, settings.clone(), Arc::clone(stats));
    Ok(Location { store: Arc::new(cache), ..location })
}

/// Every object under the location (recursively), or the object it names when it is a file.
pub fn list(location: &Location) -> Result<Vec<ObjectMeta>> {
    block_on(async {
        let listed: Vec<ObjectMeta> =
            location.store.list(Some(&location.path)).try_collect().await.map_err(|e| location.io("listing", e))?;
        if !listed.is_empty() {
            return Ok(listed);
        }
        match location.store.head(&location.path).await {
            Ok(meta) => Ok(vec![meta]),
            Err(object_store::Error::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(location.io("listing", e)),
        }
    })
}

/// The whole object, or `None` when there is none.
pub fn read_optional(location: &Location) -> Result<Option<Vec<u8>>> {
    block_on(async {
        match location.store.get(&location.path).await {
            Ok(found) => found.bytes().await.map(|b| Some(b.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    })
    .map_err(|e| location.io("reading", e))
}

/// Writes `data` so that readers see the old object or the new one, never a part: one PUT on
/// object stores, a temporary file renamed over the target on local disks and HDFS.
pub fn write_atomically(location: &Location, data: Vec<u8>) -> Result<()> {
    block_on(location.store.put(&location.path, PutPayload::from(data)))
        .map(|_| ())
        .map_err(|e| location.io("writing", e))
}

/// Deletes everything under the location (a directory) or the object it names; `false` when
/// nothing was there.
pub fn delete_recursive(location: &Location) -> Result<bool> {
    if location.family == Family::Local {
        return delete_local(location);
    }
    let objects = list(location)?;
    if objects.is_empty() {
        return Ok(false);
    }
    block_on(async {
        let paths = futures::stream::iter(objects.into_iter().map(|m| Ok(m.location)));
        location.store.delete_stream(Box::pin(paths)).try_collect::<Vec<_>>().await
    })
    .map_err(|e| location.io("deleting", e))?;
    Ok(true)
}

/// Local stores keep directories (empty ones too): remove the tree or file itself.
fn delete_local(location: &Location) -> Result<bool> {
    let (_, url) = canonical(&location.url)?;
    let path = url.to_file_path().map_err(|()| Error::value(format!("'{}' is not a local path", location.url)))?;
    let removed = match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&path),
        Ok(_) => std::fs::remove_file(&path),
    };
    removed.map(|()| true).map_err(|e| Error::io(format!("deleting '{}': {e}", location.url)))
}

/// The parts of `path` below `root`, percent-decoded (file system names), joined by `/`.
pub fn relative(root: &Path, path: &Path) -> String {
    let parts: Vec<String> = match path.prefix_match(root) {
        Some(parts) => parts.map(|p| percent_decode(p.as_ref())).collect(),
        None => path.parts().map(|p| percent_decode(p.as_ref())).collect(),
    };
    if parts.is_empty() {
        // The URL is the file itself.
        return path.filename().map(percent_decode).unwrap_or_default();
    }
    parts.join("/")
}

/// Decodes `%XX` escapes (as object_store and Hive write them); invalid escapes stay as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The process's tokio runtime, built on first use and again after a `fork()` (the parent's
/// worker threads do not exist in the child; its runtime is leaked, never joined).
pub(crate) fn runtime() -> Arc<Runtime> {
    static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((owner, rt)) = slot.as_ref() {
        if *owner == pid {
            return Arc::clone(rt);
        }
    }
    if let Some((_, stale)) = slot.take() {
        std::mem::forget(stale);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("petastorm-io")
        .enable_all()
        .build()
        .expect("building the I/O runtime");
    let rt = Arc::new(rt);
    *slot = Some((pid, Arc::clone(&rt)));
    rt
}

/// Runs `future` to completion on the I/O runtime, from a thread outside it.
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%3Ab%20c"), "a:b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn local_write_read_delete() {
        let dir = std::env::temp_dir().join(format!("pst-storage-{}", std::process::id()));
        let root = open(dir.to_str().unwrap(), &[]).unwrap();
        let file = root.child("a=1").child("part-0.parquet");
        write_atomically(&file, b"abc".to_vec()).unwrap();
        assert_eq!(read_optional(&file).unwrap().as_deref(), Some(&b"abc"[..]));
        assert_eq!(relative(&root.path, &list(&root).unwrap()[0].location), "a=1/part-0.parquet");
        assert!(delete_recursive(&root).unwrap());
        assert!(!dir.exists());
        assert!(!delete_recursive(&root).unwrap());
        assert_eq!(read_optional(&file).unwrap(), None);
    }
}
