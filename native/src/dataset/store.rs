//! Dataset URLs → object stores, and the per-process tokio runtime that drives their I/O.
//!
//! `file://` URLs and plain paths use `LocalFileSystem`. Other schemes (`s3://`, `gs://`,
//! `az://`, `http(s)://`) go through `object_store::parse_url_opts`, so they only need the
//! matching `object_store` feature enabled; without it they fail with a clear `Value` error.

use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};
use tokio::runtime::Runtime;
use url::Url;

use crate::error::{Error, Result};

/// A dataset location: the store, and the path of the URL inside it.
#[derive(Clone)]
pub struct Location {
    pub store: Arc<dyn ObjectStore>,
    pub path: Path,
    /// The URL as given, for messages.
    pub url: String,
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({})", self.url)
    }
}

/// Parses a dataset URL (or a plain local path) into its store and path.
pub fn open(url: &str, storage_options: &[(String, String)]) -> Result<Location> {
    let parsed = to_url(url)?;
    let (store, path) = object_store::parse_url_opts(&parsed, storage_options.iter().map(|(k, v)| (k, v.clone())))
        .map_err(|e| match e {
            object_store::Error::Generic { .. } | object_store::Error::NotImplemented => {
                Error::value(format!("unsupported dataset URL '{url}': {e}"))
            }
            e => Error::value(format!("unsupported dataset URL '{url}' (scheme '{}'): {e}", parsed.scheme())),
        })?;
    Ok(Location { store: Arc::from(store), path, url: url.to_string() })
}

/// A URL for `url`: parsed as is when it has a scheme, else a local path made absolute.
pub(crate) fn to_url(url: &str) -> Result<Url> {
    let invalid = |e: &dyn std::fmt::Display| Error::value(format!("invalid dataset URL '{url}': {e}"));
    if url.is_empty() {
        return Err(Error::value("dataset URL is empty"));
    }
    if url.contains("://") {
        return Url::parse(url).map_err(|e| invalid(&e));
    }
    let path = std::path::Path::new(url);
    let absolute = match path.is_absolute() {
        true => path.to_path_buf(),
        false => std::env::current_dir()?.join(path),
    };
    // Resolve `.` and `..` lexically (object store paths may not hold them).
    let mut normal = std::path::PathBuf::new();
    for component in absolute.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    Url::from_file_path(&normal).map_err(|()| invalid(&"not an absolute path"))
}

/// Every object under `path` (recursively), or the object at `path` when it is a file.
pub fn list(location: &Location) -> Result<Vec<ObjectMeta>> {
    let io = |e: object_store::Error| Error::io(format!("listing '{}': {e}", location.url));
    block_on(async {
        let listed: Vec<ObjectMeta> = location.store.list(Some(&location.path)).try_collect().await.map_err(io)?;
        if !listed.is_empty() {
            return Ok(listed);
        }
        match location.store.head(&location.path).await {
            Ok(meta) => Ok(vec![meta]),
            Err(object_store::Error::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(io(e)),
        }
    })
}

/// The whole object at `path`, or `None` when there is none.
pub fn read_optional(store: &Arc<dyn ObjectStore>, path: &Path) -> Result<Option<Vec<u8>>> {
    block_on(async {
        match store.get(path).await {
            Ok(found) => found.bytes().await.map(|b| Some(b.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    })
    .map_err(|e| Error::io(format!("reading '{path}': {e}")))
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
fn runtime() -> Arc<Runtime> {
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
    fn plain_paths_become_file_urls() {
        assert_eq!(to_url("/tmp/x y").unwrap().as_str(), "file:///tmp/x%20y");
        assert_eq!(to_url("/tmp/a/../b/./c").unwrap().as_str(), "file:///tmp/b/c");
        assert!(to_url("").is_err());
    }
}
