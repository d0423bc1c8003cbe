//! A store wrapper that keeps whole objects in a local directory (`cache_type='local-disk'`).
//! The first read of an object fetches it once into the cache (a temporary file renamed into
//! place, so processes sharing the directory never see a part); every read is then served from
//! the local copy. Files are named by a hash of the object's URL, size and etag (or
//! modification time), so a changed object is fetched again. Past the size limit the least
//! recently used files (modification time, touched on each hit) are evicted.
//! Listings are kept too (`listing-<hash>.json`), so a later reader of the same dataset makes no
//! request at all; as with upstream's cache, a dataset changed after it was cached needs
//! `Reader.cleanup_cache()` (or another `cache_location`).

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use futures::lock::Mutex as AsyncMutex;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{Attributes, GetOptions, GetRange, GetResult, GetResultPayload, ObjectMeta, ObjectStore, Result};
use sha2::{Digest, Sha256};

use super::counted::IoStats;

/// Where the cache lives and how large it may grow.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    pub dir: PathBuf,
    /// Bytes; the files of the cache are evicted down to this after each fill.
    pub size_limit: u64,
}

/// `inner` with its objects cached under `settings.dir`; hits and misses counted into `stats`.
pub struct DiskCache {
    inner: Arc<dyn ObjectStore>,
    /// Scheme and authority of the store's URLs, part of each cache key.
    origin: String,
    settings: CacheSettings,
    stats: Arc<IoStats>,
    /// Objects seen in listings, so a read needs no HEAD request for the key.
    metas: Arc<Mutex<HashMap<Path, ObjectMeta>>>,
    /// One lock per key being filled: threads of this process fetch an object once.
    filling: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

fn io_error(action: &str, path: &FsPath, e: std::io::Error) -> object_store::Error {
    object_store::Error::Generic { store: "DiskCache", source: format!("{action} '{}': {e}", path.display()).into() }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl DiskCache {
    pub fn new(inner: Arc<dyn ObjectStore>, origin: String, settings: CacheSettings, stats: Arc<IoStats>) -> Self {
        DiskCache { inner, origin, settings, stats, metas: Arc::default(), filling: Mutex::default() }
    }

    async fn meta(&self, location: &Path) -> Result<ObjectMeta> {
        if let Some(meta) = lock(&self.metas).get(location) {
            return Ok(meta.clone());
        }
        let meta = self.inner.head(location).await?;
        lock(&self.metas).insert(location.clone(), meta.clone());
        Ok(meta)
    }

    fn key(&self, meta: &ObjectMeta) -> String {
        let version = meta.e_tag.clone().unwrap_or_else(|| meta.last_modified.to_rfc3339());
        let digest = Sha256::digest(format!("{}/{}\n{}\n{version}", self.origin, meta.location, meta.size));
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The local copy of `location` (opened, so a later eviction cannot take it from this read)
    /// and its metadata; fetched into the cache first on a miss.
    async fn local_copy(&self, location: &Path) -> Result<(File, ObjectMeta)> {
        let meta = self.meta(location).await?;
        let key = self.key(&meta);
        let path = self.settings.dir.join(&key);
        if let Some(file) = touch(&path) {
            self.hit(location);
            return Ok((file, meta));
        }
        let gate = Arc::clone(lock(&self.filling).entry(key.clone()).or_default());
        let guard = gate.lock().await;
        let result = match touch(&path) {
            Some(file) => {
                self.hit(location);
                Ok(file)
            }
            None => self.fill(location, &meta, &key, &path).await,
        };
        drop(guard);
        lock(&self.filling).remove(&key);
        result.map(|file| (file, meta))
    }

    fn hit(&self, location: &Path) {
        self.stats.add_cache(true);
        log::debug!("disk cache hit: {}/{location}", self.origin);
    }

    /// Fetches the whole object into a temporary file, renames it to `path`, then evicts.
    async fn fill(&self, location: &Path, meta: &ObjectMeta, key: &str, path: &FsPath) -> Result<File> {
        static FILLS: AtomicU64 = AtomicU64::new(0);
        self.stats.add_cache(false);
        log::debug!("disk cache miss: {}/{location} ({} bytes)", self.origin, meta.size);
        let dir = &self.settings.dir;
        std::fs::create_dir_all(dir).map_err(|e| io_error("creating cache directory", dir, e))?;
        let n = FILLS.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{key}.{}.{n}.tmp", std::process::id()));
        let filled = self.write_object(location, meta, &tmp).await;
        let renamed = filled
            .and_then(|file| std::fs::rename(&tmp, path).map(|()| file).map_err(|e| io_error("renaming", &tmp, e)));
        if renamed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        let file = renamed?;
        self.evict(path);
        Ok(file)
    }

    async fn write_object(&self, location: &Path, meta: &ObjectMeta, tmp: &FsPath) -> Result<File> {
        let mut file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(tmp)
            .map_err(|e| io_error("creating", tmp, e))?;
        let mut stream = self.inner.get(location).await?.into_stream();
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            file.write_all(&chunk).map_err(|e| io_error("writing", tmp, e))?;
            written += chunk.len() as u64;
        }
        if written != meta.size {
            let msg = format!("'{location}' changed while cached: {written} bytes read, {} listed", meta.size);
            return Err(object_store::Error::Generic { store: "DiskCache", source: msg.into() });
        }
        Ok(file)
    }

    /// Removes the least recently used files until the cache is within its limit, never `keep`.
    fn evict(&self, keep: &FsPath) {
        let Ok(entries) = std::fs::read_dir(&self.settings.dir) else { return };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| {
                let meta = e.metadata().ok().filter(|m| m.is_file())?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|(_, size, _)| size).sum();
        files.sort();
        for (_, size, path) in files {
            if total <= self.settings.size_limit {
                break;
            }
            if path != keep && std::fs::remove_file(&path).is_ok() {
                total -= size;
                log::debug!("disk cache evicted {} ({size} bytes)", path.display());
            }
        }
    }
}

/// The cached file at `path`, its modification time set to now (least recently used order).
fn touch(path: &FsPath) -> Option<File> {
    let file = File::open(path).ok()?;
    let _ = file.set_modified(SystemTime::now());
    Some(file)
}

fn read_range(file: &File, range: &Range<u64>) -> Result<Bytes> {
    let mut buf = vec![0; (range.end - range.start) as usize];
    file.read_exact_at(&mut buf, range.start).map_err(|e| object_store::Error::Generic {
        store: "DiskCache",
        source: format!("reading bytes {range:?} of a cached copy: {e}").into(),
    })?;
    Ok(buf.into())
}

fn resolve(range: Option<&GetRange>, size: u64) -> Range<u64> {
    match range {
        None => 0..size,
        Some(GetRange::Bounded(r)) => r.start.min(size)..r.end.min(size),
        Some(GetRange::Offset(o)) => (*o).min(size)..size,
        Some(GetRange::Suffix(n)) => size.saturating_sub(*n)..size,
    }
}

impl fmt::Debug for DiskCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DiskCache({}, {})", self.inner, self.settings.dir.display())
    }
}

impl fmt::Display for DiskCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

wrapping_store!(DiskCache {
    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if options.head {
            return self.inner.get_opts(location, options).await;
        }
        let (file, meta) = self.local_copy(location).await?;
        options.check_preconditions(&meta)?;
        let range = resolve(options.range.as_ref(), meta.size);
        let data = read_range(&file, &range)?;
        let payload = GetResultPayload::Stream(futures::stream::once(async move { Ok(data) }).boxed());
        Ok(GetResult { payload, meta, range, attributes: Attributes::default() })
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let (file, _) = self.local_copy(location).await?;
        ranges.iter().map(|r| read_range(&file, r)).collect()
    }

    async fn head(&self, location: &Path) -> Result<ObjectMeta> {
        self.meta(location).await
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let metas = Arc::clone(&self.metas);
        let remember = move |found: Vec<ObjectMeta>| {
            let mut known = lock(&metas);
            known.extend(found.iter().map(|meta| (meta.location.clone(), meta.clone())));
            futures::stream::iter(found.into_iter().map(Ok))
        };
        let prefix_name = prefix.map(|p| p.to_string()).unwrap_or_default();
        let digest = Sha256::digest(format!("{}/{prefix_name}\nlisting", self.origin));
        let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let file = self.settings.dir.join(format!("listing-{name}.json"));
        if let Some(found) = listing::read(&file) {
            log::debug!("disk cache hit: listing of {}/{prefix_name}", self.origin);
            return remember(found).boxed();
        }
        let listed = self.inner.list(prefix);
        futures::stream::once(async move {
            let found: Vec<ObjectMeta> = listed.try_collect().await?;
            listing::write(&file, &found);
            Ok::<_, object_store::Error>(remember(found))
        })
        .try_flatten()
        .boxed()
    }
});

/// Listings as JSON files: written to a temporary file and renamed into place (best effort: a
/// listing that cannot be stored is fetched again next time), read back only when whole.
mod listing {
    use std::path::Path as FsPath;

    use chrono::DateTime;
    use object_store::path::Path;
    use object_store::ObjectMeta;
    use serde_json::{json, Value};

    pub fn read(file: &FsPath) -> Option<Vec<ObjectMeta>> {
        let entries: Vec<Value> = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
        let _ = std::fs::File::open(file).and_then(|f| f.set_modified(std::time::SystemTime::now()));
        entries
            .iter()
            .map(|e| {
                Some(ObjectMeta {
                    location: Path::parse(e["location"].as_str()?).ok()?,
                    last_modified: DateTime::parse_from_rfc3339(e["last_modified"].as_str()?).ok()?.to_utc(),
                    size: e["size"].as_u64()?,
                    e_tag: e["e_tag"].as_str().map(str::to_owned),
                    version: e["version"].as_str().map(str::to_owned),
                })
            })
            .collect()
    }

    pub fn write(file: &FsPath, found: &[ObjectMeta]) {
        let entries: Vec<Value> = found
            .iter()
            .map(|m| {
                json!({"location": m.location.as_ref(), "last_modified": m.last_modified.to_rfc3339(),
                       "size": m.size, "e_tag": m.e_tag, "version": m.version})
            })
            .collect();
        let tmp = file.with_file_name(format!(
            ".{}.{}.tmp",
            file.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        let stored = file.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| {
            std::fs::write(&tmp, serde_json::to_vec(&entries).unwrap_or_default())?;
            std::fs::rename(&tmp, file)
        });
        if let Err(e) = stored {
            let _ = std::fs::remove_file(&tmp);
            log::debug!("disk cache: listing not stored in {}: {e}", file.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use object_store::local::LocalFileSystem;

    use super::super::counted::Counted;
    use super::*;
    use crate::storage::block_on;

    /// A source directory with `names` (100 bytes each), its counted store, and a cache over it.
    fn setup(test: &str, names: &[&str], size_limit: u64) -> (PathBuf, Arc<IoStats>, Arc<DiskCache>) {
        let root = std::env::temp_dir().join(format!("pst-disk-cache-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("src")).unwrap();
        for (i, name) in names.iter().enumerate() {
            std::fs::write(root.join("src").join(name), vec![i as u8; 100]).unwrap();
        }
        let source = Arc::new(LocalFileSystem::new_with_prefix(root.join("src")).unwrap());
        let stats = Arc::new(IoStats::default());
        let counted = Arc::new(Counted::new(source, Arc::clone(&stats), false));
        let settings = CacheSettings { dir: root.join("cache"), size_limit };
        let cache = Arc::new(DiskCache::new(counted, "file://".into(), settings, Arc::clone(&stats)));
        (root, stats, cache)
    }

    fn cached_files(root: &FsPath) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(root.join("cache"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_miss_fetches_once_and_hits_read_no_source() {
        let (root, stats, cache) = setup("hit", &["a.parquet"], u64::MAX);
        let path = Path::from("a.parquet");
        let first = block_on(cache.get_range(&path, 10..20)).unwrap();
        let second = block_on(cache.get_ranges(&path, &[0..5, 95..100])).unwrap();
        let whole = block_on(async { cache.get(&path).await?.bytes().await }).unwrap();
        assert_eq!(first.as_ref(), &[0u8; 10]);
        assert_eq!(second.iter().map(|b| b.len()).collect::<Vec<_>>(), [5, 5]);
        assert_eq!(whole.len(), 100);
        assert_eq!(stats.snapshot(), (1, 100), "one whole-object read from the source");
        assert_eq!(stats.cache_snapshot(), (2, 1));
        assert_eq!(cached_files(&root).len(), 1);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn least_recently_used_files_are_evicted_past_the_limit() {
        let (root, stats, cache) = setup("evict", &["a", "b", "c"], 250);
        let read = |name: &str| block_on(cache.get_range(&Path::from(name), 0..1)).unwrap();
        for name in ["a", "b", "a", "c"] {
            read(name);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // "b" was used least recently when "c" pushed the total to 300 bytes.
        assert_eq!(cached_files(&root).len(), 2);
        assert_eq!(stats.cache_snapshot(), (1, 3));
        read("a");
        read("c");
        assert_eq!(stats.cache_snapshot(), (3, 3), "a and c stayed");
        read("b");
        assert_eq!(stats.cache_snapshot(), (3, 4), "b was evicted");
        assert_eq!(cached_files(&root).len(), 2);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_listing_is_served_from_the_cache_the_second_time() {
        let (root, stats, cache) = setup("listing", &["a.parquet", "b.parquet"], u64::MAX);
        let list = |cache: &DiskCache| {
            let mut found: Vec<(String, u64)> = block_on(cache.list(None).try_collect::<Vec<_>>())
                .unwrap()
                .into_iter()
                .map(|m| (m.location.to_string(), m.size))
                .collect();
            found.sort();
            found
        };
        let first = list(&cache);
        assert_eq!(first, [("a.parquet".to_string(), 100), ("b.parquet".to_string(), 100)]);
        assert_eq!(stats.snapshot(), (1, 0), "one listing request");
        // A new cache object (another reader) over the same directory: no request at all.
        let settings = cache.settings.clone();
        let again = DiskCache::new(Arc::clone(&cache.inner), "file://".into(), settings, Arc::clone(&stats));
        assert_eq!(list(&again), first);
        block_on(again.get_range(&Path::from("a.parquet"), 0..10)).unwrap();
        assert_eq!(stats.snapshot(), (2, 100), "the read after a cached listing needs no HEAD either");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn two_threads_filling_one_object_fetch_it_once() {
        let (root, stats, cache) = setup("concurrent", &["a"], u64::MAX);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let cache = Arc::clone(&cache);
                std::thread::spawn(move || block_on(cache.get_range(&Path::from("a"), 0..100)).unwrap())
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap().as_ref(), &[0u8; 100]);
        }
        assert_eq!(stats.snapshot().0, 1, "fetched once");
        assert_eq!(stats.cache_snapshot(), (1, 1));
        let files = cached_files(&root);
        assert_eq!(files.len(), 1, "no temporary files left: {files:?}");
        std::fs::remove_dir_all(root).unwrap();
    }
}
